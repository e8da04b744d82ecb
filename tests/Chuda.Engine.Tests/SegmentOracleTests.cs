using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Storage;
using Chuda.Testing;
using Xunit.Abstractions;

namespace Chuda.Engine.Tests;

/// <summary>
/// The correctness oracle of issue 3: random segments, profiles, events, trait and tag edits, merges and clock moves
/// are driven through the real engine (partitions, segment stage, durable re-checks, backfill) on a real store, and
/// after every step the stored membership of every profile must equal a from-scratch evaluation of every rule at
/// that instant. Clock moves include stepping to one tick before the next durable re-check (nothing may have flipped
/// yet) and then onto it (the flip happens exactly then), across the US and EU daylight-saving changes of 2026.
/// </summary>
public sealed class SegmentOracleTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Cases per run; <c>CHUDA_ORACLE_CASES</c> overrides (the soak uses more).</summary>
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("CHUDA_ORACLE_CASES"), CultureInfo.InvariantCulture, out var n) ? n : 2000;

    private static readonly DateTimeOffset[] Starts =
    [
        new(2026, 3, 8, 5, 0, 0, TimeSpan.Zero),   // 2 h before New York springs forward (07:00 UTC)
        new(2026, 3, 28, 23, 30, 0, TimeSpan.Zero), // 1.5 h before Berlin springs forward (01:00 UTC)
        new(2026, 10, 25, 0, 0, 0, TimeSpan.Zero),  // 1 h before Berlin falls back
        new(2026, 11, 1, 4, 0, 0, TimeSpan.Zero),   // 2 h before New York falls back (06:00 UTC)
    ];

    private readonly TempDirectory _data = new(Directory.Exists("/dev/shm") ? "/dev/shm/chuda-oracle" : "chuda-oracle");
    private readonly FakeTimeProvider _time = new(Starts[0]);
    private SegmentHarness _h = null!;
    private int _messages;
    private IReadOnlyList<SegmentChange> _lastChanges = [];
    private readonly Dictionary<string, int> _causes = new(StringComparer.Ordinal);

    public async Task InitializeAsync() => _h = await SegmentHarness.StartAsync(_data.Path, _time, durable: false);

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task Incremental_membership_equals_evaluation_from_scratch()
    {
        var steps = 0;
        for (var c = 0; c < Cases; c++)
        {
            var seed = 7919 * (c + 1);
            var log = new List<string>();
            try
            {
                steps += await RunCaseAsync(seed, log);
            }
            catch (Exception ex)
            {
                output.WriteLine($"Case {c} (seed {seed}) failed after:\n  " + string.Join("\n  ", log));
                throw new InvalidOperationException($"Oracle case {c} (seed {seed}) failed: {ex.Message}\n" + string.Join("\n", log), ex);
            }
        }
        output.WriteLine($"{Cases} cases, {steps} checked steps; membership changes by cause: " +
            string.Join(", ", _causes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        // The generator must exercise every path, or the oracle proves little.
        foreach (var cause in new[] { ChangeCauses.Event, ChangeCauses.Time, ChangeCauses.Created, ChangeCauses.Backfill, ChangeCauses.Traits, ChangeCauses.Tags, ChangeCauses.Merge })
            Assert.True(_causes.GetValueOrDefault(cause) > 0 || Cases < 200, $"no membership change was caused by '{cause}'");
    }

    private async Task<int> RunCaseAsync(int seed, List<string> log)
    {
        var random = new Random(seed);
        // Cases start near a daylight-saving change (one year later every four cases, as the clock only moves forward).
        var start = Starts[(seed / 7919 - 1) % Starts.Length].AddYears((seed / 7919 - 1) / Starts.Length).AddMinutes(random.Next(-90, 90));
        if (start > _time.GetUtcNow()) _time.SetUtcNow(start);
        var ws = (await _h.Directory.CreateAsync("o" + seed.ToString(CultureInfo.InvariantCulture), false, null, null, CancellationToken.None)).Workspace;
        var gen = new RuleGen(random);

        // Some segments exist before any data (live path only); more are added mid-way (backfill path).
        var segmentCount = random.Next(2, 5);
        var created = 0;
        async Task AddSegmentAsync()
        {
            var id = "s" + created.ToString(CultureInfo.InvariantCulture);
            var rule = gen.Rule(2, created == 0 ? [] : [.. Enumerable.Range(0, created).Select(i => "s" + i.ToString(CultureInfo.InvariantCulture))]);
            log.Add($"segment {id}: {rule}");
            using var doc = JsonDocument.Parse(rule);
            await _h.Service.CreateAsync(ws.Id, new SegmentInput(id, id, null, doc.RootElement.Clone()), CancellationToken.None);
            created++;
        }
        var upfront = random.Next(1, segmentCount + 1);
        for (var i = 0; i < upfront; i++) await AddSegmentAsync();

        var checkedSteps = 0;
        var operations = random.Next(6, 16);
        for (var op = 0; op < operations; op++)
        {
            var choice = random.Next(100);
            if (created < segmentCount && choice < 8)
            {
                await AddSegmentAsync();
                log.Add("backfill");
                await _h.Backfill.RunPendingAsync(CancellationToken.None);
            }
            else if (choice < 50)
            {
                await SendAsync(ws, gen.Message(_time.GetUtcNow(), ++_messages), log);
            }
            else if (choice < 60)
            {
                var user = gen.User();
                var tag = random.Next(2) == 0 ? "vip" : "churned";
                var add = random.Next(2) == 0;
                log.Add($"{(add ? "tag" : "untag")} {user} {tag}");
                await _h.Partitions.SubmitAsync([new ChangeTags(ws.Id, new IdentityKey(IdentityKinds.UserId, user), add ? [tag] : [], add ? [] : [tag])], CancellationToken.None);
            }
            else if (choice < 75)
            {
                // Step to one tick before the next re-check: nothing may have changed yet. Then onto it.
                var next = await _h.Store.GetNextSegmentCheckDueAsync(CancellationToken.None);
                if (next is { } due && due > _time.GetUtcNow() && due - _time.GetUtcNow() < TimeSpan.FromDays(30))
                {
                    _time.SetUtcNow(due - TimeSpan.FromTicks(1));
                    log.Add($"clock → {_time.GetUtcNow():O} (one tick before a re-check)");
                    await _h.Scheduler.FireDueAsync(CancellationToken.None);
                    await VerifyAsync(ws, log);
                    checkedSteps++;
                    _time.SetUtcNow(due);
                    log.Add($"clock → {due:O} (re-check due)");
                }
                await _h.Scheduler.FireDueAsync(CancellationToken.None);
            }
            else
            {
                var by = gen.Advance();
                _time.Advance(by);
                log.Add($"clock +{by} → {_time.GetUtcNow():O}");
                await _h.Scheduler.FireDueAsync(CancellationToken.None);
            }
            await VerifyAsync(ws, log);
            checkedSteps++;
        }
        foreach (var change in _lastChanges)
            _causes[change.Cause] = _causes.GetValueOrDefault(change.Cause) + 1;
        _lastChanges = [];
        // Keep the catalog small for the next cases (deleting also checks that a referenced segment goes last).
        for (var i = created - 1; i >= 0; i--)
            Assert.True(await _h.Service.DeleteAsync(ws.Id, "s" + i.ToString(CultureInfo.InvariantCulture), CancellationToken.None));
        return checkedSteps;
    }

    private async Task SendAsync(Workspace ws, string json, List<string> log)
    {
        log.Add("send " + json);
        var parsed = SegmentParser.ParseLine(Encoding.UTF8.GetBytes(json), _time.GetUtcNow(), () => "unused", "");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        await _h.Partitions.SubmitAsync([new IngestMessage(ws.Id, Assert.Single(parsed.Messages))], CancellationToken.None);
    }

    /// <summary>Every profile's stored membership equals every rule evaluated from scratch on the stored data now.</summary>
    private async Task VerifyAsync(Workspace ws, List<string> log)
    {
        var ct = CancellationToken.None;
        var now = _time.GetUtcNow();
        await _h.Catalog.RefreshAsync(ct);
        var segments = _h.Catalog.For(ws.Id);
        var profiles = await _h.Store.GetProfilesAsync(ws.Id, 0, 1000, ct);
        if (profiles.Count == 0) return;
        var ids = profiles.Select(p => p.Id).ToList();
        var all = EventNameFilter.For(["A", "B", "C"]);
        var events = (await _h.Store.GetEventsForProfilesAsync(ws.Id, ids, all, ct)).GroupBy(e => e.ProfileId).ToDictionary(g => g.Key, g => g.ToList());
        var kinds = await _h.Store.GetIdentityKindsAsync(ws.Id, ids, ct);
        foreach (var profile in profiles)
        {
            var facts = SegmentFacts.Build(profile, kinds.GetValueOrDefault(profile.Id), events.GetValueOrDefault(profile.Id) ?? []);
            var expected = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var s in segments.InOrder)
                expected[s.Id] = SegmentEvaluator.Evaluate(s.Rule, facts, now, other => expected[other]);
            var stored = (await _h.Store.GetProfileMembershipsAsync(ws.Id, profile.Id, ct)).Select(m => m.SegmentKey).ToHashSet();
            foreach (var s in segments.InOrder)
            {
                var actual = stored.Contains(s.Key);
                if (actual != expected[s.Id])
                {
                    Assert.Fail($"At {now:O} profile {profile.UserId ?? "(anonymous)"} #{profile.Id}: segment {s.Id} is stored as " +
                        $"{(actual ? "member" : "not a member")}, but evaluating from scratch says {(expected[s.Id] ? "member" : "not a member")}. Rule: {s.Definition.RuleJson}");
                }
            }
        }
        // Every recorded change of a profile that still exists is consistent: entries − exits = membership (0 or 1).
        var changes = await _h.Store.GetSegmentChangesAsync(ws.Id, null, 0, 100_000, ct);
        _lastChanges = changes;
        foreach (var g in changes.Where(c => ids.Contains(c.ProfileId)).GroupBy(c => (c.SegmentKey, c.ProfileId)))
        {
            var balance = g.Sum(c => c.Entered ? 1 : -1);
            var member = (await _h.Store.GetProfileMembershipsAsync(ws.Id, g.Key.ProfileId, ct)).Any(m => m.SegmentKey == g.Key.SegmentKey);
            Assert.True(balance == (member ? 1 : 0), $"changes of segment {g.Key.SegmentKey} for profile {g.Key.ProfileId} do not add up to its membership");
        }
    }

    /// <summary>Random rules (as the JSON a user would save) and messages over a small vocabulary, so conditions collide often.</summary>
    private sealed class RuleGen(Random random)
    {
        private static readonly string[] Windows = ["PT10M", "PT30M", "PT1H", "PT2H", "P1D"];
        private static readonly string[] Users = ["u1", "u2", "u3"];

        private T Pick<T>(params T[] items) => items[random.Next(items.Length)];

        public string User() => Pick(Users);

        public TimeSpan Advance() => Pick(
            TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(31),
            TimeSpan.FromHours(1), TimeSpan.FromHours(2.5), TimeSpan.FromHours(9), TimeSpan.FromDays(1), TimeSpan.FromDays(1.5));

        public string Rule(int depth, IReadOnlyList<string> earlier)
        {
            if (depth > 0 && random.Next(3) == 0)
            {
                return random.Next(3) switch
                {
                    0 => $$"""{"and":[{{Rule(depth - 1, earlier)}},{{Rule(depth - 1, earlier)}}]}""",
                    1 => $$"""{"or":[{{Rule(depth - 1, earlier)}},{{Rule(depth - 1, earlier)}}]}""",
                    _ => $$"""{"not":{{Rule(depth - 1, earlier)}}}""",
                };
            }
            var n = random.Next(earlier.Count > 0 ? 15 : 14);
            return n switch
            {
                0 => $$$"""{"event":"{{{Pick("A", "B")}}}","within":"{{{Pick(Windows)}}}","count":{"op":"{{{Pick("at_least", "exactly", "at_most")}}}","value":{{{random.Next(1, 3)}}}}}""",
                1 => $$"""{"event":"A","where":[{"property":"k","op":"eq","value":{{random.Next(1, 3)}}}]}""",
                2 => $$"""{"not_performed":"{{Pick("B", "C")}}","within":"{{Pick(Windows)}}"}""",
                3 => $$$"""{"sequence":{"first":{"event":"A"},"{{{Pick("not_followed_by", "followed_by")}}}":{"event":"B"},"within":"{{{Pick("PT30M", "PT1H")}}}"{{{(random.Next(2) == 0 ? ",\"match\":\"k\"" : "")}}}}}""",
                4 => $$"""{"last_performed":"{{Pick("A", "C")}}","op":"{{Pick("more_than_ago", "within_last")}}","value":"{{Pick(Windows)}}"}""",
                5 => $$"""{"first_performed":"A","op":"within_last","value":"{{Pick(Windows)}}"}""",
                6 => $$"""{"trait":"plan","op":"eq","value":"{{Pick("pro", "free")}}"}""",
                7 => $$"""{"trait":"score","op":"{{Pick("gt", "lte")}}","value":{{random.Next(0, 4)}}}""",
                8 => $$"""{"trait":"trial_ends_at","op":"{{Pick("within_next", "more_than_ago", "within_last", "more_than_ahead")}}","value":"{{Pick(Windows)}}"}""",
                9 => $$"""{"tag":"{{Pick("vip", "churned")}}"{{(random.Next(2) == 0 ? ",\"op\":\"absent\"" : "")}}}""",
                10 => $$"""{"reachable":"{{Pick("email", "phone")}}"}""",
                11 => $$$"""{"bucket":{"salt":"s{{{random.Next(3)}}}","percent":{{{Pick(10, 50, 90)}}}}}""",
                12 => Pick("""{"trait":"address.city","op":"eq","value":"Berlin"}""", """{"trait":"address.city","op":"exists"}""", """{"trait":"address","op":"not_exists"}"""),
                13 => $$$"""{"event":"C","count":{"op":"at_most","value":{{{random.Next(0, 2)}}}}}""",
                _ => $$"""{"member_of":"{{Pick([.. earlier])}}"}""",
            };
        }

        public string Message(DateTimeOffset now, int seq)
        {
            var id = "m" + seq.ToString(CultureInfo.InvariantCulture);
            // Mostly "now"; some late arrivals (up to 3 h old) and a few from slightly in the future.
            var at = random.Next(10) switch
            {
                < 6 => now,
                < 9 => now - TimeSpan.FromMinutes(random.Next(1, 180)),
                _ => now + TimeSpan.FromMinutes(random.Next(1, 20)),
            };
            // Some timestamps finer than the store keeps (milliseconds): the engine must evaluate what is stored.
            if (random.Next(4) == 0) at = at.AddTicks(random.Next(1, 10_000));
            var ts = at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
            var who = random.Next(6) == 0 ? "\"anonymousId\":\"a1\"" : $"\"userId\":\"{User()}\"";
            switch (random.Next(10))
            {
                case < 6:
                    return $$"""{"type":"track",{{who}},"event":"{{Pick("A", "A", "B", "C")}}","properties":{"k":{{random.Next(1, 3)}}},"timestamp":"{{ts}}","messageId":"{{id}}"}""";
                case < 8:
                {
                    // Dates with offsets on both sides of the daylight-saving changes.
                    var trial = (now + TimeSpan.FromMinutes(random.Next(-1500, 1500))).ToOffset(TimeSpan.FromHours(Pick(-5, -4, 1, 2, 8)));
                    var traits = random.Next(4) switch
                    {
                        0 => $$"""{"plan":"{{Pick("pro", "free")}}","score":{{random.Next(0, 4)}}}""",
                        1 => $$"""{"trial_ends_at":"{{trial.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}}"}""",
                        2 => $$"""{"address":{"city":"{{Pick("Berlin", "Paris")}}"},"email":"{{User()}}@example.com"}""",
                        _ => $$"""{"address":null,"phone":"+1 212 555 01{{random.Next(10, 99)}}"}""",
                    };
                    return $$"""{"type":"identify",{{who}},"traits":{{traits}},"timestamp":"{{ts}}","messageId":"{{id}}"}""";
                }
                case 8:
                    // Links the anonymous visitor to a user: merges a1's profile into it when both exist.
                    return $$"""{"type":"identify","userId":"{{User()}}","anonymousId":"a1","timestamp":"{{ts}}","messageId":"{{id}}"}""";
                default:
                    return $$"""{"type":"alias","userId":"{{User()}}","previousId":"a1","timestamp":"{{ts}}","messageId":"{{id}}"}""";
            }
        }
    }
}
