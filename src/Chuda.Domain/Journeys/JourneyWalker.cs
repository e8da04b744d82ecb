using System.Text.Json;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Journeys;

/// <summary>What a walk needs to know about (and may change in) the profile. The engine implements it over the
/// partition's in-transaction state; <c>chuda simulate</c> and tests over the same.</summary>
public interface IJourneyProfile
{
    /// <summary>The profile's IANA zone, if it has one.</summary>
    string? TimeZone { get; }

    /// <summary>The stable key random splits hash (the user id, else the first anonymous id).</summary>
    string BucketKey { get; }

    /// <summary>The current traits object.</summary>
    JsonElement Traits { get; }

    /// <summary>Whether a segment rule holds for the profile now (may read events and memberships).</summary>
    bool Holds(SegmentRule rule, DateTimeOffset now);

    /// <summary>Applies an update step to the profile (traits and tags), within the same transaction.</summary>
    void Update(UpdateProfileStep step);
}

/// <summary>Why <see cref="JourneyWalker.Walk"/> was called.</summary>
public enum WalkCause
{
    /// <summary>The profile just entered: walk from the start step.</summary>
    Entered,
    /// <summary>The timer of the waiting step came due.</summary>
    TimerDue,
    /// <summary>The event a wait_for_event step waits for arrived.</summary>
    EventArrived,
}

/// <summary>Where a walk stands: the step, when the profile arrived there, and the count of side effects so far
/// (each side effect's idempotency key is the instance plus this sequence number).</summary>
public sealed record WalkPosition(string StepId, DateTimeOffset StepEnteredAt, int Seq);

/// <summary>A side effect a step produced; it is written in the same transaction as the new position.</summary>
public abstract record JourneyEffect(string StepId, int Seq, DateTimeOffset At);

public sealed record SendEffect(string StepId, int Seq, DateTimeOffset At, SendStep Step) : JourneyEffect(StepId, Seq, At);

public sealed record WebhookEffect(string StepId, int Seq, DateTimeOffset At, WebhookStep Step) : JourneyEffect(StepId, Seq, At);

public sealed record TaskEffect(string StepId, int Seq, DateTimeOffset At, TaskStep Step, string Assignee, bool FromQueue, DateTimeOffset DueAt)
    : JourneyEffect(StepId, Seq, At);

public sealed record UpdateEffect(string StepId, int Seq, DateTimeOffset At, UpdateProfileStep Step) : JourneyEffect(StepId, Seq, At);

/// <summary>A funnel count: a profile <c>entered</c> / <c>completed</c> a step, or its walk ended there (<c>exited:reason</c>).</summary>
public readonly record struct StepCount(string StepId, string Kind);

/// <summary>The result of a walk: where it waits now (or why it ended), what it did, and the funnel counts.</summary>
/// <param name="WaitingFor">The wait_for_event step's matcher when waiting for an event.</param>
/// <param name="EndReason">Set when the walk ended: <c>completed</c> (a path ran out), <c>exit_step</c>, <c>holdout</c>, <c>too_many_steps</c>.</param>
public sealed record WalkResult(
    WalkPosition Position,
    DateTimeOffset? DueAt,
    WaitForEventStep? WaitingFor,
    string? EndReason,
    IReadOnlyList<JourneyEffect> Effects,
    IReadOnlyList<StepCount> Counts,
    IReadOnlyList<string> Passed,
    IReadOnlyDictionary<string, string> Variants);

/// <summary>
/// Walks a profile through a journey definition from one waiting point to the next (pure: no I/O, no clock). Every
/// non-waiting step runs within the walk; the walk stops at a wait (with its due time), at a wait for an event, or at
/// the end. Local-time waits are computed from the profile's zone at the moment they are evaluated, and re-computed
/// when their timer fires, so a profile that changed zone meanwhile still gets its local time.
/// </summary>
public static class JourneyWalker
{
    /// <summary>The queue of a task whose assignee trait is empty and whose step names no queue.</summary>
    public const string UnassignedQueue = "unassigned";

    /// <summary>Most steps one walk may run (the validator already refuses loops without a wait).</summary>
    public const int MaxStepsPerWalk = 1000;

    /// <param name="at">The logical time of this transition (the due time of a fired timer, else now).</param>
    /// <param name="entryProperties">The entry event's properties (Undefined when not entered by an event).</param>
    /// <param name="variants">Split variants chosen earlier in this walk (step id → variant name).</param>
    public static WalkResult Walk(JourneyDefinition definition, WalkPosition position, WalkCause cause, DateTimeOffset at,
        IJourneyProfile profile, JsonElement entryProperties, IReadOnlyDictionary<string, string> variants)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(position);
        ArgumentNullException.ThrowIfNull(profile);
        var effects = new List<JourneyEffect>();
        var counts = new List<StepCount>();
        var passed = new List<string>();
        var chosen = new Dictionary<string, string>(variants, StringComparer.Ordinal);
        var seq = position.Seq;
        var stepId = position.StepId;
        var enteredAt = position.StepEnteredAt;
        var arriving = cause == WalkCause.Entered;

        WalkResult End(string step, string reason)
        {
            counts.Add(new StepCount(step, "exited:" + reason));
            return new WalkResult(new WalkPosition(step, enteredAt, seq), null, null, reason, effects, counts, passed, chosen);
        }

        WalkResult Wait(string step, DateTimeOffset due, WaitForEventStep? waitingFor) =>
            new(new WalkPosition(step, enteredAt, seq), due, waitingFor, null, effects, counts, passed, chosen);

        for (var n = 0; ; n++)
        {
            if (n >= MaxStepsPerWalk) return End(stepId, "too_many_steps");
            var step = definition.Step(stepId) ?? throw new InvalidOperationException($"Step '{stepId}' does not exist in the definition.");
            string? next;
            if (arriving)
            {
                counts.Add(new StepCount(step.Id, "entered"));
                passed.Add(step.Id);
                enteredAt = at;
                switch (step)
                {
                    case WaitDurationStep w:
                        return Wait(step.Id, at + w.Duration, null);
                    case WaitUntilTimeStep w:
                        return Wait(step.Id, LocalTimes.NextLocalTime(at, w.At, Zone(definition, profile), w.Days), null);
                    case WaitUntilTraitStep w:
                        if (TraitDue(definition, w, profile) is { } due && due > at) return Wait(step.Id, due, null);
                        next = w.Then; // no such date, or it has passed: go on
                        break;
                    case WaitForEventStep w:
                        return Wait(step.Id, at + w.Timeout, w);
                    case BranchStep b:
                        next = b.Else;
                        foreach (var arm in b.Arms)
                        {
                            if (!Holds(arm.When, profile, entryProperties, at)) continue;
                            next = arm.Then;
                            break;
                        }
                        break;
                    case SplitStep s:
                    {
                        var variant = Pick(s, profile.BucketKey);
                        chosen[s.Id] = variant.Name;
                        if (ReferenceEquals(variant, s.Holdout) && variant.Then is null)
                        {
                            counts.Add(new StepCount(step.Id, "completed"));
                            return End(step.Id, "holdout");
                        }
                        next = variant.Then;
                        break;
                    }
                    case SendStep s:
                        effects.Add(new SendEffect(s.Id, ++seq, at, s));
                        next = s.Then;
                        break;
                    case WebhookStep w:
                        effects.Add(new WebhookEffect(w.Id, ++seq, at, w));
                        next = w.Then;
                        break;
                    case TaskStep t:
                    {
                        var owner = t.AssigneeTrait is not null && SegmentEvaluator.TryGetPath(profile.Traits, t.AssigneeTrait, out var v)
                            && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } o ? o : null;
                        // No owner and no queue: the task still exists, as "unassigned", for whoever triages the list.
                        effects.Add(new TaskEffect(t.Id, ++seq, at, t, owner ?? t.Queue ?? UnassignedQueue, owner is null, at + t.DueIn));
                        next = t.Then;
                        break;
                    }
                    case UpdateProfileStep u:
                        profile.Update(u);
                        effects.Add(new UpdateEffect(u.Id, ++seq, at, u));
                        next = u.Then;
                        break;
                    case ExitStep:
                        counts.Add(new StepCount(step.Id, "completed"));
                        return End(step.Id, "exit_step");
                    default:
                        throw new InvalidOperationException($"Unknown step type {step.GetType().Name}.");
                }
            }
            else
            {
                // Resuming a waiting step.
                switch (step)
                {
                    case WaitDurationStep w:
                        next = w.Then;
                        break;
                    case WaitUntilTimeStep w:
                    {
                        // Resolved again now: if the profile moved to another zone, its local time has not come yet.
                        var due = LocalTimes.NextLocalTime(enteredAt, w.At, Zone(definition, profile), w.Days);
                        if (due > at) return Wait(step.Id, due, null);
                        next = w.Then;
                        break;
                    }
                    case WaitUntilTraitStep w:
                        if (TraitDue(definition, w, profile) is { } tdue && tdue > at) return Wait(step.Id, tdue, null);
                        next = w.Then;
                        break;
                    case WaitForEventStep w:
                        next = cause == WalkCause.EventArrived ? w.OnEvent : w.OnTimeout;
                        if (cause != WalkCause.EventArrived) counts.Add(new StepCount(step.Id, "timed_out"));
                        break;
                    default:
                        throw new InvalidOperationException($"Step '{step.Id}' ({step.Type}) does not wait.");
                }
            }
            counts.Add(new StepCount(step.Id, "completed"));
            if (next is null) return End(step.Id, "completed");
            stepId = next;
            arriving = true;
        }
    }

    /// <summary>The zone local-time waits use for this profile.</summary>
    public static TimeZoneInfo Zone(JourneyDefinition definition, IJourneyProfile profile) =>
        LocalTimes.ZoneFor(profile.TimeZone, definition.TimeZone);

    private static DateTimeOffset? TraitDue(JourneyDefinition definition, WaitUntilTraitStep w, IJourneyProfile profile)
    {
        if (!SegmentEvaluator.TryGetPath(profile.Traits, w.Trait, out var v) || v.ValueKind != JsonValueKind.String) return null;
        return LocalTimes.FromDateTrait(v.GetString(), w.Offset, w.At, Zone(definition, profile));
    }

    /// <summary>Whether a branch condition (or entry filter) holds: the profile rule and every entry-property filter.</summary>
    public static bool Holds(BranchCondition condition, IJourneyProfile profile, JsonElement entryProperties, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(profile);
        if (condition.Entry.Count > 0 && !SegmentEvaluator.PassesFilters(condition.Entry, entryProperties, now)) return false;
        return condition.Profile is null || profile.Holds(condition.Profile, now);
    }

    /// <summary>The split variant of a profile: stable per (step, bucket key), by weight.</summary>
    public static SplitVariant Pick(SplitStep split, string bucketKey)
    {
        ArgumentNullException.ThrowIfNull(split);
        var all = split.Holdout is null ? split.Variants : [.. split.Variants, split.Holdout];
        var total = all.Sum(v => v.Weight);
        var position = Bucketing.Position("split:" + split.Id, bucketKey) * (long)total / Bucketing.Positions;
        foreach (var v in all)
        {
            if (position < v.Weight) return v;
            position -= v.Weight;
        }
        return all[^1];
    }
}
