using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Profiles;
using Chuda.Engine.Segments;
using Chuda.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Chuda.Bench;

/// <summary>
/// Scenario <c>segments</c> (issue 3): seeds N profiles × K events of a web-shop vocabulary straight through the store,
/// then measures (a) the full recompute of a 4-condition behavioural segment (SegmentService.PreviewAsync exact) against
/// the equivalent hand-written SQL over the same data, (b) events/s through the in-process pipeline with 100 active
/// segments and with none, (c) the process's peak RSS while 100 segments are backfilled.
/// </summary>
public static class Segments
{
    public const string RecomputeRule = """
        {"and":[{"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"/pricing"}],"count":{"op":"at_least","value":3},"within":"P7D"},{"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M","match":"cart_id"}},{"trait":"plan","op":"eq","value":"trial"},{"trait":"country","op":"in","value":["CN","DE"]}]}
        """;

    private static readonly string[] Paths = ["/", "/pricing", "/pricing", "/docs", "/blog", "/features", "/about", "/signup", "/login", "/cart", "/checkout"];
    private static readonly string[] Countries = ["CN", "DE", "US", "GB", "FR", "JP", "BR", "IN", "CN", "DE"];
    private static readonly string[] OtherTracks = ["Signed Up", "Searched", "Clicked Button", "Logged In", "Product Viewed"];

    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var profiles = args.Int("profiles", 100_000);
        var perProfile = args.Int("events-per-profile", 20);
        var part = args.Get("part", "all");
        var incrementalEvents = args.Int("incremental-events", 200_000);
        var submitters = args.Int("submitters", 16);
        var segmentCount = args.Int("segments", 100);
        if (part is not ("all" or "recompute" or "incremental" or "membership"))
            throw new ArgumentException("--part is recompute, incremental, membership or all.");
        var scale = $"{profiles / 1_000_000.0:0.###}M_profiles_{(long)profiles * perProfile / 1_000_000.0:0.###}M_events";
        Report.Line($"segments: store={kind} profiles={profiles} events/profile={perProfile} part={part}");

        await using var db = await BenchDatabase.CreateAsync(kind, args, "segments");
        await using var pipeline = await Pipeline.StartAsync(db, segments: true);
        var store = pipeline.Store;
        var ws = pipeline.WorkspaceId;
        var catalog = pipeline.Catalog!;
        var now = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());

        var t0 = Stopwatch.GetTimestamp();
        var seeded = await SeedAsync(store, ws, profiles, perProfile, now);
        var seedS = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Report.Line($"  seeded {Report.F(profiles)} profiles, {Report.F(seeded)} events through the store in {seedS:0.0} s ({Report.F(seeded / seedS)} events/s)");
        if (kind == "postgres") await AnalyzeAsync(db);

        if (part is "all" or "recompute")
        {
            // The rule is evaluated at a fixed instant, the same one the SQL gets, so window edges cannot drift apart.
            var service = new SegmentService(store, catalog, new FixedClock(now), new SegmentOptions());
            using var doc = JsonDocument.Parse(RecomputeRule);
            var rule = await service.ParseRuleAsync(ws, null, doc.RootElement, CancellationToken.None);
            var passes = args.Int("recompute-passes", 1);
            for (var pass = 0; pass < passes; pass++)
            {
                var tc = Stopwatch.GetTimestamp();
                var preview = await service.PreviewAsync(ws, rule, exact: true, CancellationToken.None);
                var chudaS = Stopwatch.GetElapsedTime(tc).TotalSeconds;
                var ts = Stopwatch.GetTimestamp();
                var sqlCount = await SqlCountAsync(db, ws, now);
                var sqlS = Stopwatch.GetElapsedTime(ts).TotalSeconds;
                Report.Line($"  recompute: Chuda {preview.Count} members of {preview.Evaluated} profiles in {chudaS:0.000} s; " +
                    $"SQL reference {sqlCount} members in {sqlS:0.000} s; Chuda/SQL time {chudaS / sqlS:0.00}x");
                if (preview.Count != sqlCount || preview.Estimate)
                    throw new InvalidOperationException($"Chuda counts {preview.Count} members, the SQL reference {sqlCount}.");
                var atScale = profiles >= 1_000_000 && perProfile >= 20;
                Report.Result("segments", kind, $"recompute_s_{scale}", chudaS, "s", sqlS, "<= 10 s at 1M profiles / 20M events",
                    atScale ? chudaS <= 10 : null);
                Report.Result("segments", kind, $"recompute_sql_s_{scale}", sqlS, "s");
                Report.Result("segments", kind, $"recompute_members_{scale}", preview.Count, "profiles");

                // The preview endpoint's default: a sampled estimate (target: within 1 s at 1 M profiles).
                var te = Stopwatch.GetTimestamp();
                var estimate = await service.PreviewAsync(ws, rule, exact: false, CancellationToken.None);
                var estimateS = Stopwatch.GetElapsedTime(te).TotalSeconds;
                Report.Line($"  preview estimate: {estimate.Count} (95% {estimate.Low}-{estimate.High}) from {estimate.Evaluated} sampled profiles in {estimateS:0.000} s; exact {preview.Count}");
                Report.Result("segments", kind, $"preview_estimate_s_{scale}", estimateS, "s", null, "<= 1 s at 1M profiles",
                    profiles >= 1_000_000 ? estimateS <= 1 : null);
            }
        }

        if (part is "all" or "incremental" or "membership")
        {
            var template = new BodyTemplate(IngestTemplate());
            var perBody = template.Events;
            var bodies = Math.Max(1, incrementalEvents / perBody);
            var run = Guid.NewGuid().ToString("N")[..8];
            Pipeline.LoadResult? none = null;
            if (part is "all" or "incremental")
            {
                await pipeline.LoadAsync(template, 50, submitters, (_, _, r) => r.NextInt64(profiles), "w0" + run + "-");
                none = await pipeline.LoadAsync(template, bodies, submitters, (_, _, r) => r.NextInt64(profiles), "n" + run + "-");
                Report.Line($"  ingest, 0 segments: {Report.F(none.EventsPerSecond)} events/s ({Report.F(none.Events)} events in {none.Elapsed.TotalSeconds:0.0} s, p99 body {Report.Percentile(none.SubmitMs, 99):0.0} ms)");
            }

            var service = new SegmentService(store, catalog, TimeProvider.System, new SegmentOptions());
            var tCreate = Stopwatch.GetTimestamp();
            foreach (var (id, json) in Rules(segmentCount))
            {
                using var doc = JsonDocument.Parse(json);
                await service.CreateAsync(ws, new SegmentInput(id, id, null, doc.RootElement.Clone()), CancellationToken.None);
            }
            Report.Line($"  created {segmentCount} segments in {Stopwatch.GetElapsedTime(tCreate).TotalSeconds:0.0} s");

            // Backfill first: the incremental rate is measured on active (backfilled, exact) segments, the steady state.
            if (part is "all" or "membership" or "incremental")
            {
                var backfill = new SegmentBackfill(store, pipeline.Partitions, catalog, TimeProvider.System, NullLogger<SegmentBackfill>.Instance, new SegmentOptions());
                var before = Proc();
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect();
                ResetPeak();
                var afterReset = Proc();
                var tb = Stopwatch.GetTimestamp();
                await backfill.RunPendingAsync(CancellationToken.None);
                var backfillS = Stopwatch.GetElapsedTime(tb).TotalSeconds;
                var after = Proc();
                long members = 0;
                foreach (var s in catalog.For(ws).InOrder)
                {
                    if (s.Definition.Status != Chuda.Domain.Segments.SegmentStatus.Ready)
                        throw new InvalidOperationException($"Segment {s.Id} is {s.Definition.Status} after the backfill.");
                    members += await store.CountSegmentMembersAsync(ws, s.Key, CancellationToken.None);
                }
                Report.Line($"  backfill of {segmentCount} segments over {Report.F(profiles)} profiles: {backfillS:0.0} s " +
                    $"({Report.F((double)profiles * segmentCount / backfillS)} profile-segment evaluations/s); {Report.F(members)} membership rows");
                Report.Line($"  RSS: before backfill {before.Rss:0} MiB (process peak so far {before.Hwm:0} MiB, incl. seeding); after GC + peak reset {afterReset.Rss:0} MiB " +
                    $"(peak reset {(afterReset.Hwm <= afterReset.Rss + 1 ? "ok" : "not supported: peak below includes seeding")}); " +
                    $"peak during/after backfill {after.Hwm:0} MiB; at end {after.Rss:0} MiB; managed heap {GC.GetTotalMemory(false) / 1048576.0:0} MiB");
                var atScale = profiles >= 1_000_000;
                Report.Result("segments", kind, $"membership_peak_rss_mib_{scale}_{segmentCount}_segments", after.Hwm, "MiB",
                    target: "<= 1024 MiB at 1M profiles", met: atScale ? after.Hwm <= 1024 : null);
                Report.Result("segments", kind, $"backfill_s_{scale}_{segmentCount}_segments", backfillS, "s");
                Report.Result("segments", kind, $"membership_rows_{scale}_{segmentCount}_segments", members, "rows");
            }

            if (part is "all" or "incremental")
            {
                await pipeline.LoadAsync(template, 50, submitters, (_, _, r) => r.NextInt64(profiles), "w1" + run + "-");
                var with = await pipeline.LoadAsync(template, bodies, submitters, (_, _, r) => r.NextInt64(profiles), "s" + run + "-");
                var changes = await store.GetSegmentChangesAsync(ws, null, 0, 1, CancellationToken.None);
                Report.Line($"  ingest, {segmentCount} segments (backfilled, live evaluation): {Report.F(with.EventsPerSecond)} events/s " +
                    $"({Report.F(with.Events)} events in {with.Elapsed.TotalSeconds:0.0} s, p99 body {Report.Percentile(with.SubmitMs, 99):0.0} ms); " +
                    $"{Report.F(with.EventsPerSecond / none!.EventsPerSecond * 100)}% of the rate without segments; membership changes recorded: {(changes.Count > 0 ? "yes" : "none")}");
                Report.Result("segments", kind, $"ingest_events_per_s_{segmentCount}_segments", with.EventsPerSecond, "events/s", none.EventsPerSecond,
                    ">= 50,000 events/s", with.EventsPerSecond >= 50_000);
                Report.Result("segments", kind, "ingest_events_per_s_0_segments", none.EventsPerSecond, "events/s");
            }
        }
        return 0;
    }

    // ---------- data ----------

    /// <summary>Writes profiles (traits plan, country; some tags), their user-id identities and K events each, straight
    /// through <see cref="IProfileTransaction"/> in transactions of 2,000 profiles. Events lie in the last 30 days before
    /// <paramref name="now"/>.</summary>
    private static async Task<long> SeedAsync(IChudaStore store, long ws, int profiles, int perProfile, DateTimeOffset now)
    {
        const int chunk = 2_000;
        long events = 0;
        var window = TimeSpan.FromDays(30).TotalMilliseconds;
        var nowMs = now.ToUnixTimeMilliseconds();
        var sb = new StringBuilder(256);
        for (var start = 0; start < profiles; start += chunk)
        {
            var n = Math.Min(chunk, profiles - start);
            await using var tx = await store.BeginAsync(CancellationToken.None);
            var first = await tx.ReserveProfileIdsAsync(n, CancellationToken.None);
            var records = new List<ProfileRecord>(n);
            var identities = new List<IdentityRow>(n);
            var rows = new List<EventRow>(n * perProfile);
            for (var i = 0; i < n; i++)
            {
                var user = start + i;
                var id = first + i;
                var r = new Random(user * 31 + 7);
                var userId = "user-" + user.ToString(CultureInfo.InvariantCulture);
                var plan = r.Next(10) switch { < 3 => "trial", < 8 => "free", _ => "pro" };
                var country = Countries[r.Next(Countries.Length)];
                var tags = r.Next(10) switch { 0 => (string[])["vip"], 1 => ["beta"], 2 => ["beta", "vip"], _ => [] };
                var firstSeen = DateTimeOffset.FromUnixTimeMilliseconds(nowMs - (long)window);
                records.Add(new ProfileRecord(ws, id, userId, StableHash.RoutingHash(ws, "u:" + userId),
                    $$"""{"plan":"{{plan}}","country":"{{country}}","email":"{{userId}}@example.com"}""", tags, null, null, false,
                    firstSeen, now, 1));
                identities.Add(new IdentityRow(ws, new IdentityKey(IdentityKinds.UserId, userId), id, firstSeen));
                for (var k = 0; k < perProfile; k++)
                {
                    var mid = "seed-" + user.ToString(CultureInfo.InvariantCulture) + "-" + k.ToString(CultureInfo.InvariantCulture);
                    // Up to 30 days old, at least 31 minutes old (so a cart's order, ≤ 29 min later, is still in the past).
                    var at = nowMs - 31 * 60_000L - (long)(r.NextDouble() * (window - 31 * 60_000));
                    var ts = DateTimeOffset.FromUnixTimeMilliseconds(at);
                    var kindRoll = r.Next(100);
                    if (kindRoll < 55)
                    {
                        var path = Paths[r.Next(Paths.Length)];
                        var name = path == "/" ? "Home" : char.ToUpperInvariant(path[1]) + path[2..];
                        rows.Add(Event(ws, id, mid, "page", name, ts, now, sb.Clear()
                            .Append("""{"type":"page","name":""").Append(Quote(name)).Append(""","properties":{"path":""").Append(Quote(path))
                            .Append(""","title":""").Append(Quote(name)).Append("""},"userId":""").Append(Quote(userId)).Append(""","messageId":""")
                            .Append(Quote(mid)).Append('}').ToString()));
                    }
                    else if (kindRoll < 75 && k + 1 < perProfile)
                    {
                        var cart = "cart-" + user.ToString(CultureInfo.InvariantCulture) + "-" + k.ToString(CultureInfo.InvariantCulture);
                        rows.Add(Event(ws, id, mid, "track", "Added To Cart", ts, now, Track("Added To Cart", userId, mid, cart)));
                        if (r.Next(2) == 0)
                        {
                            k++;
                            var mid2 = "seed-" + user.ToString(CultureInfo.InvariantCulture) + "-" + k.ToString(CultureInfo.InvariantCulture);
                            var order = ts.AddMilliseconds(r.Next(60_000, 29 * 60_000));
                            rows.Add(Event(ws, id, mid2, "track", "Order Completed", order, now, Track("Order Completed", userId, mid2, cart)));
                        }
                    }
                    else
                    {
                        var name = OtherTracks[r.Next(OtherTracks.Length)];
                        rows.Add(Event(ws, id, mid, "track", name, ts, now, Track(name, userId, mid, null)));
                    }
                }
            }
            await tx.UpsertProfilesAsync(records, CancellationToken.None);
            await tx.PutIdentitiesAsync(identities, CancellationToken.None);
            await tx.AppendEventsAsync(rows, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
            events += rows.Count;
        }
        return events;
    }

    private static EventRow Event(long ws, long profile, string mid, string type, string name, DateTimeOffset at, DateTimeOffset received, string payload) =>
        new(ws, profile, 0, mid, type, name, at, received, payload);

    private static string Track(string name, string userId, string mid, string? cart) =>
        cart is null
            ? $$"""{"type":"track","event":{{Quote(name)}},"properties":{"source":"web"},"userId":{{Quote(userId)}},"messageId":{{Quote(mid)}}}"""
            : $$"""{"type":"track","event":{{Quote(name)}},"properties":{"cart_id":{{Quote(cart)}},"value":42.5},"userId":{{Quote(userId)}},"messageId":{{Quote(mid)}}}""";

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    /// <summary>100 events per body over the same vocabulary, timestamped on arrival (no timestamp field).</summary>
    private static string IngestTemplate()
    {
        var sb = new StringBuilder("""{"batch":[""");
        for (var i = 0; i < 100; i++)
        {
            if (i > 0) sb.Append(',');
            var roll = i % 20;
            if (roll < 10)
            {
                var path = Paths[i % Paths.Length];
                sb.Append($$$"""{"type":"page","messageId":"@M@","userId":"user-@U@","name":"Page","properties":{"path":"{{{path}}}","title":"Page"}}""");
            }
            else if (roll < 13) sb.Append("""{"type":"track","messageId":"@M@","userId":"user-@U@","event":"Added To Cart","properties":{"cart_id":"live-@V@","value":42.5}}""");
            else if (roll < 15) sb.Append("""{"type":"track","messageId":"@M@","userId":"user-@U@","event":"Order Completed","properties":{"cart_id":"live-@V@","value":42.5}}""");
            else if (roll < 19) sb.Append($$$"""{"type":"track","messageId":"@M@","userId":"user-@U@","event":"{{{OtherTracks[i % OtherTracks.Length]}}}","properties":{"source":"web"}}""");
            else sb.Append($$$"""{"type":"identify","messageId":"@M@","userId":"user-@U@","traits":{"plan":"{{{(i % 3 == 0 ? "pro" : "trial")}}}","country":"{{{Countries[i % Countries.Length]}}}"}}""");
        }
        sb.Append("""],"context":{"library":{"name":"analytics-node","version":"3.1.0"}}}""");
        return sb.ToString();
    }

    /// <summary>N varied rules over the seeded vocabulary: event counts in windows (with and without property filters),
    /// sequences, not-performed, last/first-performed, traits, tags, and combinations.</summary>
    public static IEnumerable<(string Id, string Json)> Rules(int count)
    {
        string[] events = ["Viewed Page", "Added To Cart", "Order Completed", "Signed Up", "Searched", "Clicked Button", "Logged In", "Product Viewed"];
        string[] windows = ["PT1H", "P1D", "P3D", "P7D", "P14D", "P30D"];
        string[] plans = ["trial", "free", "pro"];
        for (var i = 0; i < count; i++)
        {
            var e = events[i % events.Length];
            var w = windows[i / 3 % windows.Length];
            var path = Paths[i % Paths.Length];
            var plan = plans[i % plans.Length];
            var c1 = Countries[i % Countries.Length];
            var c2 = Countries[(i + 3) % Countries.Length];
            var n = 1 + i % 4;
            var json = (i % 10) switch
            {
                0 => $$$"""{"event":"{{{e}}}","count":{"op":"at_least","value":{{{n}}}},"within":"{{{w}}}"}""",
                1 => $$$"""{"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"{{{path}}}"}],"count":{"op":"at_least","value":{{{n}}}},"within":"{{{w}}}"}""",
                2 => $$$"""{"sequence":{"first":{"event":"Added To Cart"},"{{{(i % 20 < 10 ? "not_followed_by" : "followed_by")}}}":{"event":"Order Completed"},"within":"{{{(i % 3 == 0 ? "PT30M" : "PT1H")}}}","match":"cart_id"}}""",
                3 => $$"""{"trait":"plan","op":"eq","value":"{{plan}}"}""",
                4 => $$"""{"and":[{"trait":"country","op":"in","value":["{{c1}}","{{c2}}"]},{"event":"{{e}}","within":"{{w}}"}]}""",
                5 => $$"""{"tag":"{{(i % 20 < 10 ? "vip" : "beta")}}"}""",
                6 => $$"""{"not_performed":"{{e}}","within":"{{w}}"}""",
                7 => $$"""{"last_performed":"{{e}}","op":"within_last","value":"{{w}}"}""",
                8 => $$$"""{"or":[{"and":[{"trait":"plan","op":"eq","value":"{{{plan}}}"},{"tag":"vip","op":"absent"}]},{"event":"Order Completed","count":{"op":"at_least","value":{{{n}}}},"within":"{{{w}}}"}]}""",
                _ => RecomputeRule.Trim().Replace("\"/pricing\"", $"\"{path}\"", StringComparison.Ordinal),
            };
            yield return ("seg-" + i.ToString("000", CultureInfo.InvariantCulture), json);
        }
    }

    // ---------- the SQL reference ----------

    public const string SqliteReference = """
        SELECT count(*) FROM profiles p
        WHERE p.workspace_id = $ws
          AND json_extract(p.traits, '$.plan') = 'trial'
          AND json_extract(p.traits, '$.country') IN ('CN', 'DE')
          AND (SELECT count(*) FROM events e
               WHERE e.workspace_id = $ws AND e.profile_id = p.id AND e.type = 'page'
                 AND e.occurred_at > $now - 604800000 AND e.occurred_at <= $now
                 AND json_extract(e.payload, '$.properties.path') = '/pricing') >= 3
          AND EXISTS (SELECT 1 FROM events a
               WHERE a.workspace_id = $ws AND a.profile_id = p.id AND a.type = 'track' AND a.name = 'Added To Cart'
                 AND a.occurred_at <= $now - 1800000
                 AND NOT EXISTS (SELECT 1 FROM events b
                      WHERE b.workspace_id = $ws AND b.profile_id = p.id AND b.type = 'track' AND b.name = 'Order Completed'
                        AND b.occurred_at >= a.occurred_at AND b.occurred_at < a.occurred_at + 1800000
                        AND json_extract(b.payload, '$.properties.cart_id') = json_extract(a.payload, '$.properties.cart_id')))
        """;

    public const string PostgresReference = """
        SELECT count(*) FROM profiles p
        WHERE p.workspace_id = @ws
          AND p.traits ->> 'plan' = 'trial'
          AND p.traits ->> 'country' IN ('CN', 'DE')
          AND (SELECT count(*) FROM events e
               WHERE e.workspace_id = @ws AND e.profile_id = p.id AND e.type = 'page'
                 AND e.occurred_at > @now - interval '7 days' AND e.occurred_at <= @now
                 AND e.payload -> 'properties' ->> 'path' = '/pricing') >= 3
          AND EXISTS (SELECT 1 FROM events a
               WHERE a.workspace_id = @ws AND a.profile_id = p.id AND a.type = 'track' AND a.name = 'Added To Cart'
                 AND a.occurred_at <= @now - interval '30 minutes'
                 AND NOT EXISTS (SELECT 1 FROM events b
                      WHERE b.workspace_id = @ws AND b.profile_id = p.id AND b.type = 'track' AND b.name = 'Order Completed'
                        AND b.occurred_at >= a.occurred_at AND b.occurred_at < a.occurred_at + interval '30 minutes'
                        AND (b.payload -> 'properties' -> 'cart_id')::jsonb = (a.payload -> 'properties' -> 'cart_id')::jsonb))
        """;

    private static async Task<long> SqlCountAsync(BenchDatabase db, long ws, DateTimeOffset now)
    {
        if (db.ConnectionString is { } cs)
        {
            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(PostgresReference, connection) { CommandTimeout = 3600 };
            command.Parameters.AddWithValue("ws", ws);
            command.Parameters.AddWithValue("now", now);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        var file = Path.Combine(db.Directory, "chuda.db");
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteReference;
            command.CommandTimeout = 3600;
            command.Parameters.AddWithValue("$ws", ws);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
    }

    private static async Task AnalyzeAsync(BenchDatabase db)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("ANALYZE", connection) { CommandTimeout = 3600 };
        await command.ExecuteNonQueryAsync();
    }

    // ---------- process memory ----------

    private static (double Rss, double Hwm) Proc()
    {
        double rss = 0, hwm = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line) / 1024.0;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kib(line) / 1024.0;
        }
        return (rss, hwm);

        static double Kib(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Resets the kernel's peak-RSS counter (VmHWM) of this process to the current RSS (Linux: clear_refs 5).</summary>
    private static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A clock standing still at one instant (the recompute and the SQL evaluate at the same now).</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
