using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Segments;

/// <summary>A create or edit request. <paramref name="Id"/> is only read on create (generated when absent).</summary>
public sealed record SegmentInput(string? Id, string? Name, string? Description, JsonElement Rule);

/// <summary>The request was invalid; every fault is listed with its JSON path (rule faults as <c>$.rule...</c>).</summary>
public sealed class SegmentValidationException(IReadOnlyList<RuleError> errors)
    : Exception(errors.Count == 0 ? "Invalid segment." : errors[0].ToString())
{
    public IReadOnlyList<RuleError> Errors { get; } = errors;
}

/// <summary>The segment is referenced by others and cannot be deleted.</summary>
public sealed class SegmentInUseException(string id, IReadOnlyList<string> referencedBy)
    : Exception($"Segment '{id}' is used by {string.Join(", ", referencedBy)}.")
{
    public IReadOnlyList<string> ReferencedBy { get; } = referencedBy;
}

/// <summary>The segment changed since the caller read it (optimistic concurrency on edits).</summary>
public sealed class SegmentVersionConflictException(string id, int expected, int actual)
    : Exception($"Segment '{id}' is at version {actual}, not {expected}.")
{
    public int Actual { get; } = actual;
}

/// <summary>The result of a preview.</summary>
/// <param name="Estimate">True when <see cref="Count"/> is extrapolated from a random sample of profiles.</param>
/// <param name="Count">Members (exact) or the estimated number of members.</param>
/// <param name="Low">With an estimate, the lower end of the 95% interval (Wilson score); otherwise equal to Count.</param>
/// <param name="High">With an estimate, the upper end of the 95% interval; otherwise equal to Count.</param>
/// <param name="Evaluated">Profiles evaluated.</param>
/// <param name="Matched">Of those, members.</param>
/// <param name="Total">Profiles in the workspace.</param>
/// <param name="Sample">Up to 10 members found (user ids, or null for anonymous profiles) with their profile ids.</param>
public sealed record PreviewResult(bool Estimate, long Count, long Low, long High, long Evaluated, long Matched, long Total,
    IReadOnlyList<SegmentMember> Sample, TimeSpan Took);

/// <summary>Saving, editing, deleting and previewing segments. Saving validates, stores and reloads the catalog, which
/// makes live evaluation use the rule immediately and starts the backfill.</summary>
public sealed partial class SegmentService(IChudaStore store, SegmentCatalog catalog, TimeProvider time, SegmentOptions options)
{

    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex IdPattern();

    public async Task<SegmentDefinition> CreateAsync(long workspaceId, SegmentInput input, CancellationToken ct)
    {
        var id = input.Id ?? "seg_" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N")[^12..];
        var errors = new List<RuleError>();
        if (!IdPattern().IsMatch(id)) errors.Add(new RuleError("$.id", RuleErrorCodes.InvalidValue, "id is 1-64 of a-z, 0-9, _ and -, starting with a letter or digit"));
        var (name, ruleJson, _) = Validate(workspaceId, id, input, await SchemaAsync(workspaceId, ct), errors);
        if (errors.Count > 0) throw new SegmentValidationException(errors);
        var now = Now();
        var profiles = await store.CountProfilesAsync(workspaceId, ct);
        try
        {
            var saved = await store.CreateSegmentAsync(new SegmentDefinition(workspaceId, id, 0, name!, input.Description, ruleJson!, 1,
                SegmentStatus.Backfilling, now, now, 0, 0, profiles, now, null), ct);
            await catalog.RefreshAsync(ct);
            return saved;
        }
        catch (DuplicateNameException)
        {
            throw new SegmentValidationException([new RuleError("$.id", "duplicate_id", $"a segment with id '{id}' already exists")]);
        }
    }

    /// <summary>Replaces name, description and rule. With <paramref name="expectedVersion"/> the edit applies only to that version.</summary>
    public async Task<SegmentDefinition?> UpdateAsync(long workspaceId, string id, SegmentInput input, int? expectedVersion, CancellationToken ct)
    {
        var current = await store.GetSegmentAsync(workspaceId, id, ct);
        if (current is null) return null;
        if (expectedVersion is { } v && v != current.Version) throw new SegmentVersionConflictException(id, v, current.Version);
        var errors = new List<RuleError>();
        if (input.Id is not null && input.Id != id) errors.Add(new RuleError("$.id", RuleErrorCodes.InvalidValue, "the id of a segment cannot change"));
        var (name, ruleJson, _) = Validate(workspaceId, id, input, await SchemaAsync(workspaceId, ct), errors);
        if (errors.Count > 0) throw new SegmentValidationException(errors);
        var now = Now();
        var ruleChanged = !JsonEquals(ruleJson!, current.RuleJson);
        var profiles = await store.CountProfilesAsync(workspaceId, ct);
        var next = current with
        {
            Name = name!,
            Description = input.Description,
            RuleJson = ruleJson!,
            Version = current.Version + 1,
            UpdatedAt = now,
        };
        if (ruleChanged)
        {
            next = next with
            {
                Status = SegmentStatus.Backfilling, BackfillCursor = 0, BackfillDone = 0, BackfillTotal = profiles,
                BackfillStartedAt = now, BackfillCompletedAt = null,
            };
        }
        if (!await store.UpdateSegmentAsync(next, current.Version, ct))
        {
            var again = await store.GetSegmentAsync(workspaceId, id, ct);
            if (again is null) return null;
            throw new SegmentVersionConflictException(id, current.Version, again.Version);
        }
        await catalog.RefreshAsync(ct);
        return next;
    }

    public async Task<bool> DeleteAsync(long workspaceId, string id, CancellationToken ct)
    {
        var current = await store.GetSegmentAsync(workspaceId, id, ct);
        if (current is null) return false;
        var users = (await store.ListSegmentsAsync(workspaceId, ct))
            .Where(s => s.Id != id && RuleParser.Parse(s.RuleJson).Rule is { } r && RuleDependencies.Of(r).Segments.Contains(id))
            .Select(s => s.Id).ToList();
        if (users.Count > 0) throw new SegmentInUseException(id, users);
        var deleted = await store.DeleteSegmentAsync(workspaceId, current.Key, ct);
        await catalog.RefreshAsync(ct);
        return deleted;
    }

    /// <summary>Checks a rule as it would be saved under <paramref name="id"/> (null for a preview).</summary>
    public async Task<SegmentRule> ParseRuleAsync(long workspaceId, string? id, JsonElement rule, CancellationToken ct, string path = "$.rule")
    {
        var errors = new List<RuleError>();
        var parsed = CheckRule(workspaceId, id ?? "\u0000preview", rule, await SchemaAsync(workspaceId, ct), path, errors);
        if (errors.Count > 0 || parsed is null) throw new SegmentValidationException(errors);
        return parsed;
    }

    /// <summary>The workspace's trait kinds, inferred from its most recent profiles (a few milliseconds; saves and
    /// previews are rare enough not to cache it, so a new trait is known at once).</summary>
    private Task<TraitSchema> SchemaAsync(long workspaceId, CancellationToken ct) =>
        TraitSchema.InferAsync(store, workspaceId, options.TraitSchemaSample, ct);

    private (string? Name, string? RuleJson, SegmentRule? Rule) Validate(long workspaceId, string id, SegmentInput input, TraitSchema schema, List<RuleError> errors)
    {
        var name = input.Name?.Trim();
        if (string.IsNullOrEmpty(name)) errors.Add(new RuleError("$.name", RuleErrorCodes.MissingKey, "name is required"));
        else if (name.Length > MaxNameLength) errors.Add(new RuleError("$.name", RuleErrorCodes.InvalidValue, $"name is at most {MaxNameLength} characters"));
        if (input.Description is { Length: > MaxDescriptionLength })
            errors.Add(new RuleError("$.description", RuleErrorCodes.InvalidValue, $"description is at most {MaxDescriptionLength} characters"));
        var rule = CheckRule(workspaceId, id, input.Rule, schema, "$.rule", errors);
        return (name, rule is null ? null : input.Rule.GetRawText(), rule);
    }

    private SegmentRule? CheckRule(long workspaceId, string id, JsonElement json, TraitSchema schema, string path, List<RuleError> errors)
    {
        if (json.ValueKind == JsonValueKind.Undefined)
        {
            errors.Add(new RuleError(path, RuleErrorCodes.MissingKey, "rule is required"));
            return null;
        }
        var parsed = RuleParser.Parse(json, new RuleParserOptions { TraitKinds = schema.KindOf });
        if (parsed.Rule is null)
        {
            errors.AddRange(parsed.Errors.Select(e => e with { Path = Rebase(e.Path, path) }));
            return null;
        }
        var segments = catalog.For(workspaceId);
        var refs = RuleValidator.CheckReferences(id, parsed.Rule, other => segments.ById.TryGetValue(other, out var s) ? s.Rule : null);
        errors.AddRange(refs.Select(e => e with { Path = Rebase(e.Path, path) }));
        return refs.Count == 0 ? parsed.Rule : null;
    }

    private static string Rebase(string rulePath, string prefix) => rulePath == "$" ? prefix : prefix + rulePath[1..];

    /// <summary>The clock at the store's precision (milliseconds), so what an edit returns equals what a read returns.</summary>
    private DateTimeOffset Now() => SegmentStage.TruncateToMillisecond(time.GetUtcNow());

    private static bool JsonEquals(string a, string b)
    {
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);
        return JsonElement.DeepEquals(x.RootElement, y.RootElement);
    }

    // ---------- preview ----------

    /// <summary>
    /// Evaluates a rule now. Exact: over every profile of the workspace. Otherwise, when the workspace has more profiles
    /// than the sample size, over a random sample (short runs of consecutive profile ids from random starting points) and the
    /// count is extrapolated, with a 95% interval.
    /// </summary>
    public async Task<PreviewResult> PreviewAsync(long workspaceId, SegmentRule rule, bool exact, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var deps = RuleDependencies.Of(rule);
        var total = await store.CountProfilesAsync(workspaceId, ct);
        var now = time.GetUtcNow();
        var sample = new List<SegmentMember>();
        long evaluated = 0, matched = 0;
        var segments = catalog.For(workspaceId);

        async Task EvaluatePageAsync(IReadOnlyList<ProfileRecord> page)
        {
            var ids = page.Select(p => p.Id).ToList();
            var kinds = deps.Reachability.Count == 0 ? new Dictionary<long, IReadOnlySet<string>>()
                : await store.GetIdentityKindsAsync(workspaceId, ids, ct);
            var allMemberships = deps.Segments.Count == 0 ? null : await store.GetMembershipsAsync(workspaceId, ids, ct);
            var undecided = new List<(ProfileRecord Profile, Func<string, bool> IsMemberOf)>();
            foreach (var profile in page)
            {
                var memberships = allMemberships?.GetValueOrDefault(profile.Id);
                bool IsMemberOf(string id) => memberships is not null && segments.ById.TryGetValue(id, out var s) && memberships.Contains(s.Key);
                // Traits, tags and the like first: most profiles are decided without reading their history.
                var decided = SegmentEvaluator.EvaluateWithoutEvents(rule, SegmentFacts.Build(profile, kinds.GetValueOrDefault(profile.Id), (IEnumerable<EventFact>)[]), now, IsMemberOf);
                if (decided is { } member) Count(profile, member);
                else undecided.Add((profile, IsMemberOf));
            }
            if (undecided.Count == 0) return;
            var events = (await store.GetEventsForProfilesAsync(workspaceId, [.. undecided.Select(u => u.Profile.Id)], EventNameFilter.For(deps.Events), ct))
                .GroupBy(e => e.ProfileId).ToDictionary(g => g.Key, g => (IEnumerable<EventRow>)g);
            foreach (var (profile, isMemberOf) in undecided)
            {
                var facts = SegmentFacts.Build(profile, kinds.GetValueOrDefault(profile.Id), events.GetValueOrDefault(profile.Id) ?? []);
                Count(profile, SegmentEvaluator.Evaluate(rule, facts, now, isMemberOf));
            }
        }

        var gate = new object();
        void Count(ProfileRecord profile, bool member)
        {
            lock (gate)
            {
                evaluated++;
                if (!member) return;
                matched++;
                sample.Add(new SegmentMember(profile.Id, profile.UserId, now));
                if (sample.Count > 10) sample.Remove(sample.MaxBy(m => m.ProfileId)!); // keep the 10 lowest ids
            }
        }

        if (exact || total <= options.PreviewSampleSize)
        {
            // Every profile, in id order; on a large workspace the id range is split between one reader per core so
            // reading (SQLite runs in this process) and evaluating use both.
            var idRange = await store.GetProfileIdRangeAsync(workspaceId, ct);
            if (idRange is { } ids)
            {
                var workers = total < options.PreviewParallelThreshold ? 1 : Math.Clamp(Environment.ProcessorCount, 2, 4);
                var width = (ids.Max - ids.Min) / workers + 1;
                await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
                {
                    long after = ids.Min - 1 + w * width, last = Math.Min(ids.Max, ids.Min - 1 + (w + 1) * width);
                    while (after < last)
                    {
                        var page = await store.GetProfilesAsync(workspaceId, after, 1000, ct);
                        var mine = page.Where(p => p.Id <= last).ToList();
                        if (mine.Count == 0) break;
                        await EvaluatePageAsync(mine);
                        after = mine[^1].Id;
                    }
                }, ct)));
            }
            sample.Sort((a, b) => a.ProfileId.CompareTo(b.ProfileId));
            return new PreviewResult(false, matched, matched, matched, evaluated, matched, total, sample, time.GetElapsedTime(started));
        }

        var range = await store.GetProfileIdRangeAsync(workspaceId, ct);
        if (range is not { } r) return new PreviewResult(false, 0, 0, 0, 0, 0, 0, [], time.GetElapsedTime(started));
        // Short runs of consecutive ids from random starting points: cheap to read (one range scan each), and short
        // enough that profiles created together (an import, a campaign) do not cluster the sample and make the
        // interval, which assumes independent draws, too narrow.
        const int run = 4;
        var runs = Math.Max(1, options.PreviewSampleSize / run);
        var seen = new HashSet<long>();
        var random = new Random(HashCode.Combine(workspaceId, now.UtcTicks));
        var picked = new List<ProfileRecord>();
        for (var i = 0; i < runs; i++)
        {
            var start = random.NextInt64(r.Min - 1, r.Max);
            foreach (var p in await store.GetProfilesAsync(workspaceId, start, run, ct))
            {
                if (seen.Add(p.Id)) picked.Add(p);
            }
        }
        foreach (var chunk in picked.Chunk(500)) await EvaluatePageAsync(chunk);
        var share = evaluated == 0 ? 0 : (double)matched / evaluated;
        var (low, high) = Wilson(matched, evaluated);
        return new PreviewResult(true, (long)Math.Round(share * total), (long)Math.Floor(low * total), (long)Math.Ceiling(high * total),
            evaluated, matched, total, sample, time.GetElapsedTime(started));
    }

    private static (double Low, double High) Wilson(long k, long n)
    {
        if (n == 0) return (0, 1);
        const double z = 1.96;
        var p = (double)k / n;
        var denom = 1 + z * z / n;
        var centre = (p + z * z / (2 * n)) / denom;
        var half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denom;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
