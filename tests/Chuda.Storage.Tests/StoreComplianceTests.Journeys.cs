using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Xunit;

namespace Chuda.Storage.Tests;

// The journey part of the storage contract: journeys and versions, instances (the timers) and their hold while a
// journey is paused, outgoing requests, counters, conversions, API-trigger idempotency, the audit log, settings, and
// how merges, erasure and rollbacks treat journey rows. Every timestamp is whole milliseconds, the stored precision.
public abstract partial class StoreComplianceTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    protected static JourneyRecord Journey(long workspaceId, string id, string name = "Journey", JourneyStatus status = JourneyStatus.Draft,
        DateTimeOffset? at = null, long revision = 1) =>
        new(workspaceId, Key: 0, id, name, status, LatestVersion: 1, LiveVersion: null, PendingVersion: null, PendingBy: null, Entries: 0,
            TriggerType: "event", NextRunAt: null, RunCursor: 0, CreatedAt: at ?? T0, UpdatedAt: at ?? T0, revision);

    protected static JourneyVersionRecord JourneyVersion(long workspaceId, int version, string definition = """{"steps":[{"id":"start"}]}""",
        DateTimeOffset? at = null, string? by = "key-admin") =>
        new(workspaceId, JourneyKey: 0, version, definition, at ?? T0, by);

    protected async Task<JourneyRecord> CreateJourneyAsync(long workspaceId, string id) =>
        await Store.CreateJourneyAsync(Journey(workspaceId, id), JourneyVersion(workspaceId, 1), Ct);

    protected static JourneyInstance Instance(long workspaceId, long id, long journeyKey, long profileId, InstanceStatus status = InstanceStatus.Active,
        DateTimeOffset? due = null, string? entryKey = null, long revision = 1, DateTimeOffset? enteredAt = null, string step = "start", int version = 1) =>
        new(workspaceId, id, journeyKey, version, profileId, RoutingHash: unchecked((int)(profileId * 31)), status, step,
            EnteredAt: enteredAt ?? T0, StepEnteredAt: enteredAt ?? T0, Seq: 0, DueAt: due, WaitEvent: null, EntryKey: entryKey ?? $"entry-{id}",
            ContextJson: "{}", EndReason: null, EndedAt: null, UpdatedAt: enteredAt ?? T0, revision);

    protected Task SaveInstancesAsync(params JourneyInstance[] instances) => InTxAsync(tx => tx.SaveJourneyInstancesAsync(instances, Ct));

    protected Task WriteEffectsAsync(SendRequest[]? sends = null, JourneyTask[]? tasks = null, WebhookRequest[]? webhooks = null,
        JourneyConversion[]? conversions = null, JourneyStatDelta[]? stats = null) =>
        InTxAsync(tx => tx.WriteJourneyEffectsAsync(sends ?? [], tasks ?? [], webhooks ?? [], conversions ?? [], stats ?? [], Ct));

    protected static SendRequest Send(long workspaceId, long profileId, long journeyKey, long instanceId, int seq, string template = "welcome",
        DateTimeOffset? at = null) =>
        new(workspaceId, Id: 0, profileId, journeyKey, Version: 1, instanceId, StepId: "send", seq, IdempotencyKey: $"j{instanceId}-{seq}", template,
            ChannelsJson: """["email","sms"]""", Category: "marketing", DedupKey: null, ContextJson: """{"event":"Signed Up"}""",
            ScheduledFor: at ?? T0, CreatedAt: at ?? T0, Status: "pending");

    protected static JourneyTask TaskRow(long workspaceId, long profileId, long journeyKey, long instanceId, int seq, string assignee, DateTimeOffset due,
        string status = "open") =>
        new(workspaceId, Id: 0, profileId, journeyKey, instanceId, StepId: "task", seq, Title: $"Call {profileId}", Note: null, assignee,
            FromQueue: false, due, status, CreatedAt: T0, DoneAt: null);

    protected static WebhookRequest Webhook(long workspaceId, long profileId, long journeyKey, long instanceId, int seq, DateTimeOffset? next,
        string status = "pending") =>
        new(workspaceId, Id: 0, profileId, journeyKey, instanceId, StepId: "hook", seq, IdempotencyKey: $"j{instanceId}-{seq}",
            Url: "https://example.com/hook", Method: "POST", HeadersJson: """{"X-Chuda":"1"}""", Body: """{"id":1}""", status, Attempts: 0,
            NextAttemptAt: next, LastStatusCode: null, LastError: null, CreatedAt: T0, UpdatedAt: T0);

    private static IEnumerable<long> Ids(IEnumerable<JourneyInstance> instances) => instances.Select(i => i.Id);

    // ---- journeys --------------------------------------------------------------------------------

    [Fact]
    public async Task A_journey_is_created_with_a_store_assigned_key_and_its_first_version()
    {
        var ws = await NewWorkspaceAsync();
        var journey = new JourneyRecord(ws.Id, Key: 999_999, "onboarding", "Onboarding", JourneyStatus.Published, LatestVersion: 1, LiveVersion: 1,
            PendingVersion: 2, PendingBy: "key-7", Entries: 5, TriggerType: "segment_entry", NextRunAt: T0.AddHours(1), RunCursor: 42,
            CreatedAt: T0.AddTicks(1_234_567), UpdatedAt: T0.AddSeconds(1), Revision: 1);
        var version = new JourneyVersionRecord(ws.Id, JourneyKey: 888_888, 1, """{"steps": [ {"id":"a"} ]}""", T0, null);

        var created = await Store.CreateJourneyAsync(journey, version, Ct);
        Assert.True(created.Key > 0);
        Assert.Equal(journey with { Key = created.Key, CreatedAt = T0.AddMilliseconds(123) }, created);
        Assert.Equal(created, await Store.GetJourneyAsync(ws.Id, "onboarding", Ct));
        Assert.Equal(created, await Store.GetJourneyByKeyAsync(ws.Id, created.Key, Ct));
        Assert.Equal([version with { JourneyKey = created.Key }], await Store.ListJourneyVersionsAsync(ws.Id, created.Key, Ct));

        var second = await CreateJourneyAsync(ws.Id, "second");
        Assert.NotEqual(created.Key, second.Key);

        // The id is unique per workspace; a duplicate writes nothing, not even its version.
        await Assert.ThrowsAsync<DuplicateNameException>(() =>
            Store.CreateJourneyAsync(Journey(ws.Id, "onboarding", name: "Again"), JourneyVersion(ws.Id, 1, "{}"), Ct));
        Assert.Equal("Onboarding", (await Store.GetJourneyAsync(ws.Id, "onboarding", Ct))!.Name);
        Assert.Single(await Store.ListJourneyVersionsAsync(ws.Id, created.Key, Ct));
        var other = await NewWorkspaceAsync("other");
        var elsewhere = await CreateJourneyAsync(other.Id, "onboarding");
        Assert.NotEqual(created.Key, elsewhere.Key);

        Assert.Null(await Store.GetJourneyAsync(ws.Id, "missing", Ct));
        Assert.Null(await Store.GetJourneyAsync(ws.Id, "Onboarding", Ct));
        Assert.Null(await Store.GetJourneyByKeyAsync(other.Id, created.Key, Ct));
        Assert.Empty(await Store.ListJourneyVersionsAsync(other.Id, created.Key, Ct));
    }

    [Fact]
    public async Task Journeys_are_listed_by_workspace_then_id_in_ordinal_order()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        foreach (var id in new[] { "b", "é", "B", "a-2", "a" }) await CreateJourneyAsync(a.Id, id);
        foreach (var id in new[] { "z", "A" }) await CreateJourneyAsync(b.Id, id);

        Assert.Equal(["B", "a", "a-2", "b", "é"], (await Store.ListJourneysAsync(a.Id, Ct)).Select(j => j.Id));
        Assert.Equal(["A", "z"], (await Store.ListJourneysAsync(b.Id, Ct)).Select(j => j.Id));
        Assert.Equal(
            [(a.Id, "B"), (a.Id, "a"), (a.Id, "a-2"), (a.Id, "b"), (a.Id, "é"), (b.Id, "A"), (b.Id, "z")],
            (await Store.ListJourneysAsync(null, Ct)).Select(j => (j.WorkspaceId, j.Id)));
        Assert.Empty(await Store.ListJourneysAsync(a.Id + b.Id + 100, Ct));
    }

    [Fact]
    public async Task A_journey_update_checks_the_revision_and_adds_the_new_version_with_it()
    {
        var ws = await NewWorkspaceAsync();
        var created = await CreateJourneyAsync(ws.Id, "j");
        await InTxAsync(async tx => Assert.Equal(3, await tx.ReserveJourneyEntriesAsync(ws.Id, created.Key, 3, null, Ct)));

        // Every mutable field is replaced; key, id, created_at and entries are not; the revision becomes expected + 1.
        var edited = created with
        {
            Id = "renamed", Name = "Edited", Status = JourneyStatus.PendingApproval, LatestVersion = 2, LiveVersion = 1, PendingVersion = 2,
            PendingBy = "key-2", Entries = 100, TriggerType = "api", NextRunAt = T0.AddDays(1), RunCursor = 9, CreatedAt = T0.AddDays(-1),
            UpdatedAt = T0.AddMinutes(5), Revision = 77,
        };
        var v2 = JourneyVersion(ws.Id, 2, """{"v":2}""", T0.AddMinutes(5)) with { JourneyKey = 555 };
        Assert.True(await Store.UpdateJourneyAsync(edited, 1, v2, Ct));
        var stored = await Store.GetJourneyByKeyAsync(ws.Id, created.Key, Ct);
        Assert.Equal(edited with { Id = "j", CreatedAt = T0, Entries = 3, Revision = 2 }, stored);
        Assert.Equal([1, 2], (await Store.ListJourneyVersionsAsync(ws.Id, created.Key, Ct)).Select(v => v.Version));
        Assert.Equal(v2 with { JourneyKey = created.Key }, await Store.GetJourneyVersionAsync(ws.Id, created.Key, 2, Ct));

        // A stale revision writes nothing: neither the fields nor the version.
        Assert.False(await Store.UpdateJourneyAsync(edited with { Name = "Stale" }, 1, JourneyVersion(ws.Id, 3), Ct));
        Assert.Equal(stored, await Store.GetJourneyByKeyAsync(ws.Id, created.Key, Ct));
        Assert.Null(await Store.GetJourneyVersionAsync(ws.Id, created.Key, 3, Ct));

        // Without a version only the journey changes.
        Assert.True(await Store.UpdateJourneyAsync(stored! with { Status = JourneyStatus.Published, PendingVersion = null, PendingBy = null, NextRunAt = null }, 2, null, Ct));
        var published = await Store.GetJourneyByKeyAsync(ws.Id, created.Key, Ct);
        Assert.Equal(stored with { Status = JourneyStatus.Published, PendingVersion = null, PendingBy = null, NextRunAt = null, Revision = 3 }, published);
        Assert.Equal(2, (await Store.ListJourneyVersionsAsync(ws.Id, created.Key, Ct)).Count);

        // Gone, or another workspace's key: false.
        Assert.False(await Store.UpdateJourneyAsync(published! with { Key = created.Key + 1000 }, 3, null, Ct));
        var other = await NewWorkspaceAsync("other");
        Assert.False(await Store.UpdateJourneyAsync(published with { WorkspaceId = other.Id }, 3, JourneyVersion(other.Id, 3), Ct));
        Assert.Equal(published, await Store.GetJourneyByKeyAsync(ws.Id, created.Key, Ct));
        Assert.Null(await Store.GetJourneyVersionAsync(ws.Id, created.Key, 3, Ct));
    }

    [Fact]
    public async Task Journey_versions_are_listed_ascending_and_read_one_by_one()
    {
        var ws = await NewWorkspaceAsync();
        var j = await CreateJourneyAsync(ws.Id, "j");
        var other = await CreateJourneyAsync(ws.Id, "other");
        for (var v = 2; v <= 4; v++)
        {
            var current = (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!;
            Assert.True(await Store.UpdateJourneyAsync(current with { LatestVersion = v }, current.Revision,
                JourneyVersion(ws.Id, v, $$"""{"v":{{v}}}""", T0.AddMinutes(v), by: v == 3 ? null : "key-1"), Ct));
        }

        var versions = await Store.ListJourneyVersionsAsync(ws.Id, j.Key, Ct);
        Assert.Equal([1, 2, 3, 4], versions.Select(v => v.Version));
        Assert.All(versions, v => Assert.Equal(j.Key, v.JourneyKey));
        Assert.Equal(new JourneyVersionRecord(ws.Id, j.Key, 3, """{"v":3}""", T0.AddMinutes(3), null), await Store.GetJourneyVersionAsync(ws.Id, j.Key, 3, Ct));
        Assert.Null(await Store.GetJourneyVersionAsync(ws.Id, j.Key, 5, Ct));
        Assert.Null(await Store.GetJourneyVersionAsync(ws.Id + 1, j.Key, 1, Ct));
        Assert.Equal([1], (await Store.ListJourneyVersionsAsync(ws.Id, other.Key, Ct)).Select(v => v.Version));
        Assert.Equal(4, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Revision);
    }

    [Fact]
    public async Task Journey_runs_are_due_by_their_next_run_across_workspaces()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var ja = await CreateJourneyAsync(a.Id, "broadcast");
        var jb = await CreateJourneyAsync(b.Id, "activation");
        var idle = await CreateJourneyAsync(a.Id, "idle");
        Assert.Empty(await Store.GetDueJourneyRunsAsync(T0.AddYears(1), Ct));

        await Store.SetJourneyRunAsync(a.Id, ja.Key, 0, T0.AddMinutes(2), Ct);
        await Store.SetJourneyRunAsync(b.Id, jb.Key, 17, T0.AddMinutes(1), Ct);
        await Store.SetJourneyRunAsync(b.Id, idle.Key, 5, T0, Ct); // wrong workspace: nothing happens

        Assert.Empty(await Store.GetDueJourneyRunsAsync(T0.AddMinutes(1).AddMilliseconds(-1), Ct));
        Assert.Equal([jb.Key], (await Store.GetDueJourneyRunsAsync(T0.AddMinutes(1), Ct)).Select(j => j.Key));
        var due = await Store.GetDueJourneyRunsAsync(T0.AddHours(1), Ct);
        Assert.Equal([jb.Key, ja.Key], due.Select(j => j.Key));
        Assert.Equal(jb with { RunCursor = 17, NextRunAt = T0.AddMinutes(1) }, due[0]); // no revision bump

        await Store.SetJourneyRunAsync(b.Id, jb.Key, 40, null, Ct);
        Assert.Equal([ja.Key], (await Store.GetDueJourneyRunsAsync(T0.AddHours(1), Ct)).Select(j => j.Key));
        var stopped = (await Store.GetJourneyByKeyAsync(b.Id, jb.Key, Ct))!;
        Assert.Equal((40L, (DateTimeOffset?)null, 1L), (stopped.RunCursor, stopped.NextRunAt, stopped.Revision));
        Assert.Equal(idle, await Store.GetJourneyByKeyAsync(a.Id, idle.Key, Ct));
    }

    // ---- instances -------------------------------------------------------------------------------

    [Fact]
    public async Task Instances_are_inserted_at_revision_one_and_updated_from_the_stored_revision()
    {
        var ws = await NewWorkspaceAsync();
        var j = await CreateJourneyAsync(ws.Id, "j");
        var first = new JourneyInstance(ws.Id, 101, j.Key, 1, 7, RoutingHash: -12345, InstanceStatus.Active, "wait-1",
            EnteredAt: T0.AddTicks(9_999), StepEnteredAt: T0.AddSeconds(1), Seq: 2, DueAt: T0.AddDays(1), WaitEvent: "Order Completed",
            EntryKey: "msg-1", ContextJson: """{"event":{"name":"Signed Up"},"variants":{}}""", EndReason: null, EndedAt: null,
            UpdatedAt: T0.AddSeconds(1), Revision: 1);
        await SaveInstancesAsync(first);
        Assert.Equal(first with { EnteredAt = T0 }, await Store.GetJourneyInstanceAsync(ws.Id, 101, Ct));
        Assert.Null(await Store.GetJourneyInstanceAsync(ws.Id + 1, 101, Ct));
        Assert.Null(await Store.GetJourneyInstanceAsync(ws.Id, 102, Ct));

        var second = first with
        {
            EnteredAt = T0.AddHours(3), Version = 2, Status = InstanceStatus.Completed, StepId = "exit", StepEnteredAt = T0.AddDays(1), Seq = 5, DueAt = null,
            WaitEvent = null, ContextJson = """{"done":true}""", EndReason = "completed", EndedAt = T0.AddDays(1), UpdatedAt = T0.AddDays(1), Revision = 2,
        };
        await SaveInstancesAsync(second);
        Assert.Equal(second, await Store.GetJourneyInstanceAsync(ws.Id, 101, Ct)); // entered_at too: a scheduled entry starts later

        // A revision that does not follow the stored one, an existing id, a missing instance, another workspace: conflicts.
        foreach (var bad in new[]
        {
            second with { StepId = "stale" },
            second with { StepId = "skipped", Revision = 4 },
            first with { StepId = "again" },
            Instance(ws.Id, 555, j.Key, 7, revision: 2),
            second with { WorkspaceId = ws.Id + 1, Revision = 3 },
        })
        {
            await using var tx = await Store.BeginAsync(Ct);
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.SaveJourneyInstancesAsync([bad], Ct));
        }
        Assert.Equal(second, await Store.GetJourneyInstanceAsync(ws.Id, 101, Ct));
        Assert.Null(await Store.GetJourneyInstanceAsync(ws.Id, 555, Ct));
    }

    [Fact]
    public async Task Writes_of_one_instance_in_one_save_apply_in_order()
    {
        var ws = await NewWorkspaceAsync();
        var i = Instance(ws.Id, 1, 1, 1, due: T0);
        await SaveInstancesAsync(Instance(ws.Id, 2, 1, 2), i, i with { StepId = "b", Revision = 2 }, i with { StepId = "c", DueAt = null, Revision = 3 });
        Assert.Equal(i with { StepId = "c", DueAt = null, Revision = 3 }, await Store.GetJourneyInstanceAsync(ws.Id, 1, Ct));
        Assert.NotNull(await Store.GetJourneyInstanceAsync(ws.Id, 2, Ct));
    }

    [Fact]
    public async Task A_profile_enters_a_journey_once_per_entry_key()
    {
        var ws = await NewWorkspaceAsync();
        await SaveInstancesAsync(Instance(ws.Id, 1, 10, 100, entryKey: "msg-1"));

        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.SaveJourneyInstancesAsync([Instance(ws.Id, 2, 10, 100, entryKey: "msg-1")], Ct));
        await using (var tx = await Store.BeginAsync(Ct)) // two new ones in one save
        {
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
                tx.SaveJourneyInstancesAsync([Instance(ws.Id, 3, 10, 100, entryKey: "msg-2"), Instance(ws.Id, 4, 10, 100, entryKey: "msg-2")], Ct));
        }
        // Another profile, another journey, another key: fine.
        await SaveInstancesAsync(Instance(ws.Id, 5, 10, 101, entryKey: "msg-1"), Instance(ws.Id, 6, 11, 100, entryKey: "msg-1"),
            Instance(ws.Id, 7, 10, 100, entryKey: "MSG-1", status: InstanceStatus.Completed));

        await using var check = await Store.BeginAsync(Ct);
        Assert.True(await check.JourneyEntryExistsAsync(ws.Id, 10, 100, "msg-1", Ct));
        Assert.True(await check.JourneyEntryExistsAsync(ws.Id, 10, 100, "MSG-1", Ct)); // any status
        Assert.False(await check.JourneyEntryExistsAsync(ws.Id, 10, 100, "msg-2", Ct));
        Assert.False(await check.JourneyEntryExistsAsync(ws.Id, 10, 102, "msg-1", Ct));
        Assert.False(await check.JourneyEntryExistsAsync(ws.Id, 12, 100, "msg-1", Ct));
        await check.SaveJourneyInstancesAsync([Instance(ws.Id, 8, 12, 100, entryKey: "msg-1")], Ct);
        Assert.True(await check.JourneyEntryExistsAsync(ws.Id, 12, 100, "msg-1", Ct)); // the transaction's own write
    }

    [Fact]
    public async Task Concurrent_batches_writing_one_instance_or_one_entry_conflict()
    {
        var ws = await NewWorkspaceAsync();
        var i = Instance(ws.Id, 1, 10, 100);
        await SaveInstancesAsync(i);

        var a = await Store.BeginAsync(Ct);
        await a.SaveJourneyInstancesAsync([i with { StepId = "a", Revision = 2 }, Instance(ws.Id, 2, 10, 100, entryKey: "k")], Ct);
        var b = Task.Run(async () =>
        {
            await using var tx = await Store.BeginAsync(Ct);
            var update = await Record.ExceptionAsync(() => tx.SaveJourneyInstancesAsync([i with { StepId = "b", Revision = 2 }], Ct));
            var entry = await Record.ExceptionAsync(() => tx.SaveJourneyInstancesAsync([Instance(ws.Id, 3, 10, 100, entryKey: "k")], Ct));
            return (update, entry);
        }, Ct);
        await Task.WhenAny(b, Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System));
        await a.CommitAsync(Ct);
        await a.DisposeAsync();
        var (updateError, entryError) = await b.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        Assert.IsType<ConcurrencyConflictException>(updateError);
        Assert.IsType<ConcurrencyConflictException>(entryError);
        Assert.Equal("a", (await Store.GetJourneyInstanceAsync(ws.Id, 1, Ct))!.StepId);
        Assert.Null(await Store.GetJourneyInstanceAsync(ws.Id, 3, Ct));
    }

    // ---- timers ----------------------------------------------------------------------------------

    [Fact]
    public async Task Due_timers_come_in_due_then_id_order_after_the_cursor_across_workspaces()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        Assert.Empty(await Store.GetDueJourneyTimersAsync(T0.AddYears(1), 10, null, 0, Ct));
        Assert.Null(await Store.GetNextJourneyTimerDueAsync(Ct));
        await SaveInstancesAsync(
            Instance(a.Id, 5, 1, 50, due: T0.AddMinutes(1)),
            Instance(b.Id, 3, 2, 30, due: T0.AddMinutes(1)),
            Instance(a.Id, 9, 1, 90, due: T0, status: InstanceStatus.Scheduled),
            Instance(a.Id, 4, 1, 40, due: T0.AddMinutes(2)),
            Instance(b.Id, 8, 2, 80, due: T0.AddMinutes(1)),
            Instance(a.Id, 6, 1, 60, due: T0.AddMinutes(3)),
            Instance(a.Id, 7, 1, 70),
            // Closed instances are not timers, whatever their due time says.
            Instance(a.Id, 2, 1, 20, due: T0.AddSeconds(-1), status: InstanceStatus.Completed),
            Instance(a.Id, 1, 1, 10, due: T0.AddSeconds(-1), status: InstanceStatus.Exited));

        Assert.Equal(T0, await Store.GetNextJourneyTimerDueAsync(Ct));
        var now = T0.AddMinutes(2);
        var all = await Store.GetDueJourneyTimersAsync(now, 100, null, 0, Ct);
        Assert.Equal([9L, 3, 5, 8, 4], all.Select(t => t.InstanceId));
        Assert.Equal(new JourneyTimer(b.Id, 3, 30, 30 * 31, T0.AddMinutes(1)), all[1]);
        Assert.Equal(new JourneyTimer(a.Id, 9, 90, 90 * 31, T0), all[0]);

        var page1 = await Store.GetDueJourneyTimersAsync(now, 2, null, 0, Ct);
        Assert.Equal([9L, 3], page1.Select(t => t.InstanceId));
        var page2 = await Store.GetDueJourneyTimersAsync(now, 2, page1[^1].DueAt, page1[^1].InstanceId, Ct);
        Assert.Equal([5L, 8], page2.Select(t => t.InstanceId));
        var page3 = await Store.GetDueJourneyTimersAsync(now, 2, page2[^1].DueAt, page2[^1].InstanceId, Ct);
        Assert.Equal([4L], page3.Select(t => t.InstanceId));
        Assert.Empty(await Store.GetDueJourneyTimersAsync(now, 2, page3[^1].DueAt, page3[^1].InstanceId, Ct));
        // The cursor is (due, id): a smaller id at a later due still comes.
        Assert.Equal([3L, 5, 8, 4], (await Store.GetDueJourneyTimersAsync(now, 10, T0, 100, Ct)).Select(t => t.InstanceId));
        Assert.Empty(await Store.GetDueJourneyTimersAsync(T0.AddMilliseconds(-1), 10, null, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetDueJourneyTimersAsync(now, 0, null, 0, Ct));

        // Clearing the due time (the engine moved the instance on) removes the timer.
        await SaveInstancesAsync(Instance(a.Id, 9, 1, 90, status: InstanceStatus.Active, revision: 2));
        Assert.Equal(T0.AddMinutes(1), await Store.GetNextJourneyTimerDueAsync(Ct));
    }

    [Fact]
    public async Task A_paused_journey_holds_its_timers_until_it_resumes()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        const long J = 1, K = 2;
        await SaveInstancesAsync(
            Instance(ws.Id, 1, J, 10, due: T0.AddMinutes(1)),                                     // past at resume
            Instance(ws.Id, 2, J, 20, due: T0.AddMinutes(20), status: InstanceStatus.Scheduled),   // future at resume
            Instance(ws.Id, 3, J, 30),                                                            // no timer
            Instance(ws.Id, 4, J, 40, due: T0.AddMinutes(2)),                                     // updated while held, with a due
            Instance(ws.Id, 5, J, 50, due: T0.AddMinutes(3)),                                     // updated while held, without
            Instance(ws.Id, 6, K, 60, due: T0.AddMinutes(4)));                                    // another journey

        Assert.Equal(0, await Store.HoldJourneyTimersAsync(other.Id, J, true, T0, Ct));
        Assert.Equal(4, await Store.HoldJourneyTimersAsync(ws.Id, J, true, T0, Ct));
        Assert.Equal(0, await Store.HoldJourneyTimersAsync(ws.Id, J, true, T0, Ct));
        var far = T0.AddYears(1);
        Assert.Equal([6L], (await Store.GetDueJourneyTimersAsync(far, 10, null, 0, Ct)).Select(t => t.InstanceId));
        Assert.Equal(T0.AddMinutes(4), await Store.GetNextJourneyTimerDueAsync(Ct));
        Assert.Null((await Store.GetJourneyInstanceAsync(ws.Id, 1, Ct))!.DueAt);

        // An update with a due time keeps it held; one without drops the held time.
        await SaveInstancesAsync(
            Instance(ws.Id, 4, J, 40, due: T0.AddMinutes(30), revision: 2) with { StepId = "next" },
            Instance(ws.Id, 5, J, 50, revision: 2) with { StepId = "moved-on" });
        Assert.Equal([6L], (await Store.GetDueJourneyTimersAsync(far, 10, null, 0, Ct)).Select(t => t.InstanceId));
        Assert.Null((await Store.GetJourneyInstanceAsync(ws.Id, 4, Ct))!.DueAt);
        Assert.Equal("next", (await Store.GetJourneyInstanceAsync(ws.Id, 4, Ct))!.StepId);

        // Resuming puts them back; a time already past moves to resumeAt.
        var resumeAt = T0.AddMinutes(10);
        Assert.Equal(0, await Store.HoldJourneyTimersAsync(other.Id, J, false, resumeAt, Ct));
        Assert.Equal(3, await Store.HoldJourneyTimersAsync(ws.Id, J, false, resumeAt, Ct));
        Assert.Equal(0, await Store.HoldJourneyTimersAsync(ws.Id, J, false, resumeAt, Ct));
        var timers = await Store.GetDueJourneyTimersAsync(far, 10, null, 0, Ct);
        Assert.Equal([(6L, T0.AddMinutes(4)), (1L, resumeAt), (2L, T0.AddMinutes(20)), (4L, T0.AddMinutes(30))],
            timers.Select(t => (t.InstanceId, t.DueAt)));
        Assert.Null((await Store.GetJourneyInstanceAsync(ws.Id, 5, Ct))!.DueAt);
        Assert.Null((await Store.GetJourneyInstanceAsync(ws.Id, 3, Ct))!.DueAt);
        Assert.Equal(resumeAt, (await Store.GetJourneyInstanceAsync(ws.Id, 1, Ct))!.DueAt);
        Assert.Equal(T0.AddMinutes(4), await Store.GetNextJourneyTimerDueAsync(Ct));

        // After the resume, updates write the due time as usual.
        await SaveInstancesAsync(Instance(ws.Id, 4, J, 40, due: T0.AddMinutes(40), revision: 3));
        Assert.Equal(T0.AddMinutes(40), (await Store.GetJourneyInstanceAsync(ws.Id, 4, Ct))!.DueAt);
    }

    [Fact]
    public async Task Open_instances_of_a_journey_are_paged_by_id()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        await SaveInstancesAsync(
            Instance(ws.Id, 7, 1, 1), Instance(ws.Id, 3, 1, 2, status: InstanceStatus.Scheduled), Instance(ws.Id, 5, 1, 3, status: InstanceStatus.Completed),
            Instance(ws.Id, 9, 1, 4, status: InstanceStatus.Exited), Instance(ws.Id, 4, 1, 5, status: InstanceStatus.Converted), Instance(ws.Id, 11, 1, 6),
            Instance(ws.Id, 2, 2, 7), Instance(other.Id, 1, 1, 8));

        Assert.Equal([3L, 7, 11], Ids(await Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 0, 10, Ct)));
        Assert.Equal([3L, 7], Ids(await Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 0, 2, Ct)));
        Assert.Equal([11L], Ids(await Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 7, 2, Ct)));
        Assert.Empty(await Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 11, 2, Ct));
        Assert.Equal([2L], Ids(await Store.GetOpenJourneyInstancesAsync(ws.Id, 2, 0, 10, Ct)));
        Assert.Equal([1L], Ids(await Store.GetOpenJourneyInstancesAsync(other.Id, 1, 0, 10, Ct)));
        Assert.Equal(Instance(ws.Id, 3, 1, 2, status: InstanceStatus.Scheduled), (await Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 0, 1, Ct))[0]);
    }

    [Fact]
    public async Task A_profiles_instances_are_listed_newest_entry_first()
    {
        var ws = await NewWorkspaceAsync();
        await SaveInstancesAsync(
            Instance(ws.Id, 1, 1, 100, enteredAt: T0, status: InstanceStatus.Completed),
            Instance(ws.Id, 2, 2, 100, enteredAt: T0.AddHours(2)),
            Instance(ws.Id, 3, 1, 100, enteredAt: T0.AddHours(1), status: InstanceStatus.Exited),
            Instance(ws.Id, 4, 3, 100, enteredAt: T0.AddHours(1), status: InstanceStatus.Scheduled),
            Instance(ws.Id, 5, 1, 200, enteredAt: T0.AddHours(5)));

        Assert.Equal([2L, 4, 3, 1], Ids(await Store.GetProfileJourneyInstancesAsync(ws.Id, 100, 10, Ct)));
        Assert.Equal([2L, 4], Ids(await Store.GetProfileJourneyInstancesAsync(ws.Id, 100, 2, Ct)));
        Assert.Empty(await Store.GetProfileJourneyInstancesAsync(ws.Id + 1, 100, 10, Ct));
        Assert.Empty(await Store.GetProfileJourneyInstancesAsync(ws.Id, 300, 10, Ct));
    }

    [Fact]
    public async Task A_batch_loads_open_instances_of_its_profiles_and_instances_by_id()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var saved = new[]
        {
            Instance(ws.Id, 8, 1, 100), Instance(ws.Id, 2, 2, 100, status: InstanceStatus.Scheduled, due: T0.AddDays(1)),
            Instance(ws.Id, 5, 3, 100, status: InstanceStatus.Completed), Instance(ws.Id, 4, 1, 200), Instance(ws.Id, 6, 1, 300),
            Instance(other.Id, 3, 1, 100),
        };
        await SaveInstancesAsync(saved);

        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal([2L, 4, 8], Ids(await tx.LoadOpenJourneyInstancesAsync(ws.Id, [200, 100, 999, 100], Ct)));
        Assert.Equal(saved[1], (await tx.LoadOpenJourneyInstancesAsync(ws.Id, [100], Ct))[0]);
        Assert.Empty(await tx.LoadOpenJourneyInstancesAsync(ws.Id, [], Ct));

        var byId = await tx.LoadJourneyInstancesAsync(ws.Id, [5, 8, 3, 77], Ct);
        Assert.Equal([5L, 8], byId.Keys.Order());
        Assert.Equal(saved[2], byId[5]);
        Assert.Empty(await tx.LoadJourneyInstancesAsync(ws.Id, [], Ct));

        // The transaction's own writes.
        await tx.SaveJourneyInstancesAsync([Instance(ws.Id, 9, 4, 200), saved[3] with { Status = InstanceStatus.Exited, Revision = 2 }], Ct);
        Assert.Equal([9L], Ids(await tx.LoadOpenJourneyInstancesAsync(ws.Id, [200], Ct)));
        var reloaded = await tx.LoadJourneyInstancesAsync(ws.Id, [4, 9], Ct);
        Assert.Equal(InstanceStatus.Exited, reloaded[4].Status);
        Assert.Equal(Instance(ws.Id, 9, 4, 200), reloaded[9]);
    }

    [Fact]
    public async Task Journey_entries_are_the_latest_entry_and_whether_one_is_active()
    {
        var ws = await NewWorkspaceAsync();
        await SaveInstancesAsync(
            Instance(ws.Id, 1, 1, 100, enteredAt: T0, status: InstanceStatus.Completed),
            Instance(ws.Id, 2, 1, 100, enteredAt: T0.AddHours(1)),
            Instance(ws.Id, 3, 2, 100, enteredAt: T0.AddHours(2), status: InstanceStatus.Converted),
            Instance(ws.Id, 4, 2, 100, enteredAt: T0, status: InstanceStatus.Exited),
            Instance(ws.Id, 5, 3, 100, enteredAt: T0.AddHours(9), status: InstanceStatus.Scheduled),
            Instance(ws.Id, 6, 1, 200, enteredAt: T0.AddHours(5), status: InstanceStatus.Scheduled),
            Instance(ws.Id, 7, 1, 200, enteredAt: T0, status: InstanceStatus.Completed),
            Instance(ws.Id, 8, 1, 300));

        await using var tx = await Store.BeginAsync(Ct);
        var entries = await tx.LoadJourneyEntriesAsync(ws.Id, [100, 200, 400], Ct);
        Assert.Equal(3, entries.Count);
        Assert.Equal((T0.AddHours(1), true), entries[(1, 100)]);
        Assert.Equal((T0.AddHours(2), false), entries[(2, 100)]);
        Assert.Equal((T0, false), entries[(1, 200)]); // a scheduled entry has not happened
        Assert.Empty(await tx.LoadJourneyEntriesAsync(ws.Id + 1, [100], Ct));
        Assert.Empty(await tx.LoadJourneyEntriesAsync(ws.Id, [], Ct));

        await tx.SaveJourneyInstancesAsync([Instance(ws.Id, 9, 3, 100, enteredAt: T0.AddHours(3))], Ct);
        Assert.Equal((T0.AddHours(3), true), (await tx.LoadJourneyEntriesAsync(ws.Id, [100], Ct))[(3, 100)]);
    }

    // ---- counters and conversions ----------------------------------------------------------------

    [Fact]
    public async Task Waiting_counts_are_per_version_step_and_kind()
    {
        var ws = await NewWorkspaceAsync();
        await SaveInstancesAsync(
            Instance(ws.Id, 1, 1, 1, step: "wait", version: 2),
            Instance(ws.Id, 2, 1, 2, step: "wait", version: 2),
            Instance(ws.Id, 3, 1, 3, step: "wait", version: 2, status: InstanceStatus.Scheduled),
            Instance(ws.Id, 4, 1, 4, step: "Wait", version: 2),
            Instance(ws.Id, 5, 1, 5, step: "wait", version: 1),
            Instance(ws.Id, 6, 1, 6, step: "start", version: 1, status: InstanceStatus.Scheduled),
            Instance(ws.Id, 7, 1, 7, step: "wait", version: 1, status: InstanceStatus.Completed),
            Instance(ws.Id, 8, 2, 8, step: "wait", version: 1));

        Assert.Equal(
            [new JourneyStat(1, "start", "scheduled", 1), new JourneyStat(1, "wait", "waiting", 1), new JourneyStat(2, "Wait", "waiting", 1),
             new JourneyStat(2, "wait", "scheduled", 1), new JourneyStat(2, "wait", "waiting", 2)],
            await Store.GetJourneyWaitingAsync(ws.Id, 1, Ct));
        Assert.Empty(await Store.GetJourneyWaitingAsync(ws.Id + 1, 1, Ct));
    }

    [Fact]
    public async Task Funnel_counters_are_summed_over_shards()
    {
        var ws = await NewWorkspaceAsync();
        await WriteEffectsAsync(stats:
        [
            new(ws.Id, 1, 1, "start", "entered", 0, 3), new(ws.Id, 1, 1, "start", "entered", 0, 2), new(ws.Id, 1, 1, "start", "entered", 1, 4),
            new(ws.Id, 1, 1, "send", "sent", 1, 1), new(ws.Id, 1, 2, "start", "entered", 0, 1), new(ws.Id, 2, 1, "start", "entered", 0, 50),
        ]);
        await WriteEffectsAsync(stats: [new(ws.Id, 1, 1, "start", "entered", 1, 10), new(ws.Id, 1, 1, "start", "exited", 2, 1), new(ws.Id, 1, 1, "Send", "sent", 0, 1)]);

        Assert.Equal(
            [new JourneyStat(1, "Send", "sent", 1), new JourneyStat(1, "send", "sent", 1), new JourneyStat(1, "start", "entered", 19),
             new JourneyStat(1, "start", "exited", 1), new JourneyStat(2, "start", "entered", 1)],
            await Store.GetJourneyStatsAsync(ws.Id, 1, Ct));
        Assert.Equal([new JourneyStat(1, "start", "entered", 50)], await Store.GetJourneyStatsAsync(ws.Id, 2, Ct));
        Assert.Empty(await Store.GetJourneyStatsAsync(ws.Id + 1, 1, Ct));
    }

    [Fact]
    public async Task Conversions_are_kept_once_per_instance_and_paged_by_instance_id()
    {
        var ws = await NewWorkspaceAsync();
        JourneyConversion Conversion(long instance, string lastStep = "send") =>
            new(ws.Id, 1, 2, instance, instance * 10, T0.AddMinutes(instance), lastStep, """{"split-1":"B"}""");
        await WriteEffectsAsync(conversions: [Conversion(30), Conversion(10), Conversion(20)]);
        await WriteEffectsAsync(conversions: [Conversion(10, "again"), Conversion(40), new(ws.Id, 2, 1, 50, 500, T0, "x", "{}")]);

        Assert.Equal([Conversion(10), Conversion(20), Conversion(30), Conversion(40)], await Store.GetJourneyConversionsAsync(ws.Id, 1, 0, 10, Ct));
        Assert.Equal([20L, 30], (await Store.GetJourneyConversionsAsync(ws.Id, 1, 10, 2, Ct)).Select(c => c.InstanceId));
        Assert.Empty(await Store.GetJourneyConversionsAsync(ws.Id, 1, 40, 2, Ct));
        Assert.Single(await Store.GetJourneyConversionsAsync(ws.Id, 2, 0, 10, Ct));
        Assert.Empty(await Store.GetJourneyConversionsAsync(ws.Id + 1, 1, 0, 10, Ct));
    }

    // ---- outgoing requests -----------------------------------------------------------------------

    [Fact]
    public async Task Send_requests_get_ids_in_order_and_a_repeated_instance_seq_is_ignored()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var full = Send(ws.Id, 100, 1, 11, 1) with { DedupKey = "weekly", ScheduledFor = T0.AddMinutes(5), CreatedAt = T0.AddMinutes(6) };
        await WriteEffectsAsync(sends: [full, Send(ws.Id, 200, 1, 12, 1), Send(ws.Id, 100, 2, 13, 1), Send(ws.Id, 100, 1, 11, 1, "duplicate")]);
        await WriteEffectsAsync(sends: [Send(ws.Id, 100, 1, 11, 1, "replayed"), Send(ws.Id, 100, 1, 11, 2), Send(other.Id, 100, 1, 14, 1)]);

        var all = await Store.GetSendRequestsAsync(ws.Id, null, null, 0, 10, Ct);
        Assert.Equal([(11L, 1), (12L, 1), (13L, 1), (11L, 2)], all.Select(s => (s.InstanceId, s.Seq)));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.Equal(full with { Id = all[0].Id }, all[0]);

        Assert.Equal([11L, 13, 11], (await Store.GetSendRequestsAsync(ws.Id, 100, null, 0, 10, Ct)).Select(s => s.InstanceId));
        Assert.Equal([11L, 12, 11], (await Store.GetSendRequestsAsync(ws.Id, null, 1, 0, 10, Ct)).Select(s => s.InstanceId));
        Assert.Equal([(11L, 1), (11L, 2)], (await Store.GetSendRequestsAsync(ws.Id, 100, 1, 0, 10, Ct)).Select(s => (s.InstanceId, s.Seq)));
        Assert.Equal([all[1].Id, all[2].Id], (await Store.GetSendRequestsAsync(ws.Id, null, null, all[0].Id, 2, Ct)).Select(s => s.Id));
        Assert.Equal([all[2].Id], (await Store.GetSendRequestsAsync(ws.Id, 100, null, all[0].Id, 1, Ct)).Select(s => s.Id));
        Assert.Equal([14L], (await Store.GetSendRequestsAsync(other.Id, null, null, 0, 10, Ct)).Select(s => s.InstanceId));
    }

    [Fact]
    public async Task Tasks_are_filtered_and_paged_by_due_then_id_and_completed_once()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var full = TaskRow(ws.Id, 100, 1, 10, 1, "ann", T0.AddHours(2)) with { Note = "VIP", FromQueue = true };
        await WriteEffectsAsync(tasks:
        [
            full,                                                  // ann, +2h
            TaskRow(ws.Id, 100, 1, 11, 1, "bob", T0.AddHours(1)),  // bob, +1h
            TaskRow(ws.Id, 200, 1, 12, 1, "ann", T0.AddHours(1)),  // ann, +1h
            TaskRow(ws.Id, 200, 1, 13, 1, "ann", T0.AddHours(3), status: "done"),
            TaskRow(ws.Id, 200, 1, 12, 1, "zed", T0),              // repeated (instance, seq): ignored
            TaskRow(other.Id, 300, 1, 14, 1, "ann", T0),
        ]);

        var all = await Store.GetTasksAsync(ws.Id, null, null, null, null, 0, 10, Ct);
        Assert.Equal([11L, 12, 10, 13], all.Select(t => t.InstanceId));
        Assert.Equal(full with { Id = all[2].Id }, all[2]);
        Assert.Equal([12L, 10, 13], (await Store.GetTasksAsync(ws.Id, "ann", null, null, null, 0, 10, Ct)).Select(t => t.InstanceId));
        Assert.Equal([12L, 10], (await Store.GetTasksAsync(ws.Id, "ann", null, "open", null, 0, 10, Ct)).Select(t => t.InstanceId));
        Assert.Equal([11L, 12], (await Store.GetTasksAsync(ws.Id, null, T0.AddHours(2), null, null, 0, 10, Ct)).Select(t => t.InstanceId));
        Assert.Equal([12L], (await Store.GetTasksAsync(ws.Id, "ann", T0.AddHours(2), "open", null, 0, 10, Ct)).Select(t => t.InstanceId));
        Assert.Equal([13L], (await Store.GetTasksAsync(ws.Id, null, null, "done", null, 0, 10, Ct)).Select(t => t.InstanceId));
        Assert.Empty(await Store.GetTasksAsync(ws.Id, "zed", null, null, null, 0, 10, Ct));

        // The (due, id) cursor.
        var page1 = await Store.GetTasksAsync(ws.Id, null, null, null, null, 0, 2, Ct);
        Assert.Equal([11L, 12], page1.Select(t => t.InstanceId));
        var page2 = await Store.GetTasksAsync(ws.Id, null, null, null, page1[^1].DueAt, page1[^1].Id, 2, Ct);
        Assert.Equal([10L, 13], page2.Select(t => t.InstanceId));
        Assert.Empty(await Store.GetTasksAsync(ws.Id, null, null, null, page2[^1].DueAt, page2[^1].Id, 2, Ct));
        Assert.Equal([12L, 10, 13], (await Store.GetTasksAsync(ws.Id, null, null, null, all[0].DueAt, all[0].Id, 10, Ct)).Select(t => t.InstanceId));
        Assert.Equal([10L, 13], (await Store.GetTasksAsync(ws.Id, "ann", null, null, page1[^1].DueAt.AddHours(1), 0, 10, Ct)).Select(t => t.InstanceId));

        // Completing: once, and only an open task of this workspace.
        Assert.False(await Store.CompleteTaskAsync(other.Id, all[0].Id, T0.AddHours(5), Ct));
        Assert.True(await Store.CompleteTaskAsync(ws.Id, all[0].Id, T0.AddHours(5), Ct));
        Assert.False(await Store.CompleteTaskAsync(ws.Id, all[0].Id, T0.AddHours(6), Ct));
        Assert.False(await Store.CompleteTaskAsync(ws.Id, all[3].Id, T0.AddHours(6), Ct));
        Assert.False(await Store.CompleteTaskAsync(ws.Id, all[3].Id + 1000, T0.AddHours(6), Ct));
        var done = (await Store.GetTasksAsync(ws.Id, "bob", null, null, null, 0, 10, Ct)).Single();
        Assert.Equal(all[0] with { Status = "done", DoneAt = T0.AddHours(5) }, done);
        Assert.Equal([12L, 10], (await Store.GetTasksAsync(ws.Id, null, null, "open", null, 0, 10, Ct)).Select(t => t.InstanceId));
    }

    [Fact]
    public async Task Due_webhooks_come_oldest_first_and_record_their_attempts()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        Assert.Null(await Store.GetNextWebhookDueAsync(Ct));
        await WriteEffectsAsync(webhooks:
        [
            Webhook(a.Id, 1, 1, 10, 1, T0.AddMinutes(2)),
            Webhook(b.Id, 2, 2, 20, 1, T0.AddMinutes(1)),
            Webhook(a.Id, 1, 1, 11, 1, T0.AddMinutes(1)),
            Webhook(a.Id, 1, 1, 12, 1, null),
            Webhook(a.Id, 1, 1, 13, 1, T0, status: "delivered"),
            Webhook(a.Id, 1, 1, 10, 1, T0.AddMinutes(-5)), // repeated (instance, seq): ignored
        ]);

        Assert.Equal(T0.AddMinutes(1), await Store.GetNextWebhookDueAsync(Ct));
        var due = await Store.GetDueWebhooksAsync(T0.AddMinutes(5), 10, Ct);
        Assert.Equal([20L, 11, 10], due.Select(w => w.InstanceId));
        Assert.Equal(Webhook(b.Id, 2, 2, 20, 1, T0.AddMinutes(1)) with { Id = due[0].Id }, due[0]);
        Assert.Equal([20L], (await Store.GetDueWebhooksAsync(T0.AddMinutes(1), 1, Ct)).Select(w => w.InstanceId));
        Assert.Empty(await Store.GetDueWebhooksAsync(T0, 10, Ct));

        // A failed attempt schedules the next one; delivery ends it.
        var retry = due[1] with { Attempts = 1, NextAttemptAt = T0.AddMinutes(30), LastStatusCode = 503, LastError = "Service Unavailable", UpdatedAt = T0.AddMinutes(1) };
        await Store.UpdateWebhookAsync(retry, Ct);
        var delivered = due[0] with { Status = "delivered", Attempts = 1, NextAttemptAt = null, LastStatusCode = 200, UpdatedAt = T0.AddMinutes(1) };
        await Store.UpdateWebhookAsync(delivered, Ct);
        Assert.Equal([10L, 11], (await Store.GetDueWebhooksAsync(T0.AddHours(1), 10, Ct)).Select(w => w.InstanceId));
        Assert.Equal(T0.AddMinutes(2), await Store.GetNextWebhookDueAsync(Ct));

        var ofA = await Store.GetWebhooksAsync(a.Id, null, 0, 10, Ct);
        Assert.Equal([10L, 11, 12, 13], ofA.Select(w => w.InstanceId));
        Assert.Equal(retry, ofA[1]);
        Assert.Equal([delivered], await Store.GetWebhooksAsync(b.Id, 2, 0, 10, Ct));
        Assert.Empty(await Store.GetWebhooksAsync(b.Id, 1, 0, 10, Ct));
        Assert.Equal([11L, 12], (await Store.GetWebhooksAsync(a.Id, 1, ofA[0].Id, 2, Ct)).Select(w => w.InstanceId));
    }

    // ---- triggers, audit, settings ---------------------------------------------------------------

    [Fact]
    public async Task An_api_trigger_key_is_recorded_once_and_seen_by_its_own_transaction_first()
    {
        var ws = await NewWorkspaceAsync();
        var trigger = new JourneyTriggerRecord(ws.Id, 1, "idem-1", "sha256:abc", "entered", 42, T0);
        await using (var tx = await Store.BeginAsync(Ct))
        {
            Assert.Null(await tx.FindJourneyTriggerAsync(ws.Id, 1, "idem-1", Ct));
            await tx.RecordJourneyTriggerAsync(trigger, Ct);
            Assert.Equal(trigger, await tx.FindJourneyTriggerAsync(ws.Id, 1, "idem-1", Ct));
            Assert.Null(await Store.FindJourneyTriggerAsync(ws.Id, 1, "idem-1", Ct));
            await tx.CommitAsync(Ct);
        }
        Assert.Equal(trigger, await Store.FindJourneyTriggerAsync(ws.Id, 1, "idem-1", Ct));

        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.RecordJourneyTriggerAsync(trigger with { BodyHash = "other" }, Ct));
        var skipped = new JourneyTriggerRecord(ws.Id, 2, "idem-1", "sha256:def", "not_eligible", null, T0.AddMinutes(1));
        await InTxAsync(tx => tx.RecordJourneyTriggerAsync(skipped, Ct));
        Assert.Equal(skipped, await Store.FindJourneyTriggerAsync(ws.Id, 2, "idem-1", Ct));
        Assert.Equal(trigger, await Store.FindJourneyTriggerAsync(ws.Id, 1, "idem-1", Ct));
        Assert.Null(await Store.FindJourneyTriggerAsync(ws.Id + 1, 1, "idem-1", Ct));
        Assert.Null(await Store.FindJourneyTriggerAsync(ws.Id, 1, "IDEM-1", Ct));
    }

    [Fact]
    public async Task Audit_entries_get_ascending_seqs_and_are_paged_per_workspace()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        await Store.AppendAuditAsync(new AuditEntry(a.Id, 999, T0, "key-1", "journey.create", "journey", "onboarding", """{"version":1}"""), Ct);
        await Store.AppendAuditAsync(new AuditEntry(b.Id, 0, T0.AddMinutes(1), "key-2", "journey.publish", "journey", "x", null), Ct);
        await Store.AppendAuditAsync(new AuditEntry(a.Id, 0, T0.AddMinutes(2), "key-1", "journey.pause", "journey", "onboarding", null), Ct);
        await Store.AppendAuditAsync(new AuditEntry(a.Id, 0, T0.AddMinutes(3), "key-3", "settings.set", "workspace", "a", "{}"), Ct);

        var all = await Store.GetAuditAsync(a.Id, 0, 10, Ct);
        Assert.Equal(["journey.create", "journey.pause", "settings.set"], all.Select(e => e.Action));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Seq < p.Second.Seq));
        Assert.Equal(new AuditEntry(a.Id, all[0].Seq, T0, "key-1", "journey.create", "journey", "onboarding", """{"version":1}"""), all[0]);
        Assert.Null(all[1].DetailJson);
        Assert.Equal(["journey.pause"], (await Store.GetAuditAsync(a.Id, all[0].Seq, 1, Ct)).Select(e => e.Action));
        Assert.Empty(await Store.GetAuditAsync(a.Id, all[^1].Seq, 10, Ct));
        Assert.Equal(["journey.publish"], (await Store.GetAuditAsync(b.Id, 0, 10, Ct)).Select(e => e.Action));
    }

    [Fact]
    public async Task Workspace_settings_are_set_overwritten_and_removed()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        Assert.Empty(await Store.GetWorkspaceSettingsAsync(a.Id, Ct));
        await Store.SetWorkspaceSettingAsync(a.Id, "approvals", "required", Ct);
        await Store.SetWorkspaceSettingAsync(a.Id, "quiet_hours", """{"from":"21:00","to":"08:00"}""", Ct);
        await Store.SetWorkspaceSettingAsync(b.Id, "approvals", "off", Ct);
        await Store.SetWorkspaceSettingAsync(a.Id, "approvals", "off", Ct);
        await Store.SetWorkspaceSettingAsync(a.Id, "missing", null, Ct);

        var settings = await Store.GetWorkspaceSettingsAsync(a.Id, Ct);
        Assert.Equal(2, settings.Count);
        Assert.Equal("off", settings["approvals"]);
        Assert.Equal("""{"from":"21:00","to":"08:00"}""", settings["quiet_hours"]);
        Assert.False(settings.ContainsKey("Approvals"));

        await Store.SetWorkspaceSettingAsync(a.Id, "approvals", null, Ct);
        Assert.Equal(["quiet_hours"], (await Store.GetWorkspaceSettingsAsync(a.Id, Ct)).Keys);
        Assert.Equal("off", (await Store.GetWorkspaceSettingsAsync(b.Id, Ct))["approvals"]);
    }

    // ---- reservations ----------------------------------------------------------------------------

    [Fact]
    public async Task Entries_are_reserved_under_the_cap()
    {
        var ws = await NewWorkspaceAsync();
        var j = await CreateJourneyAsync(ws.Id, "capped");
        await using (var tx = await Store.BeginAsync(Ct))
        {
            Assert.Equal(3, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 3, 5, Ct));
            Assert.Equal(2, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 4, 5, Ct)); // partly
            Assert.Equal(0, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 1, 5, Ct)); // full
            Assert.Equal(0, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 0, 5, Ct));
            Assert.Equal(0, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key + 1000, 1, null, Ct)); // no such journey
            Assert.Equal(0, await tx.ReserveJourneyEntriesAsync(ws.Id + 1, j.Key, 1, null, Ct));
            await tx.CommitAsync(Ct);
        }
        Assert.Equal(5, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Entries);

        // A rolled-back batch gives its reservation back; no cap grants everything; a lower cap grants nothing.
        await using (var tx = await Store.BeginAsync(Ct))
            Assert.Equal(1, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 1, 6, Ct));
        Assert.Equal(5, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Entries);
        await InTxAsync(async tx =>
        {
            Assert.Equal(7, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 7, null, Ct));
            Assert.Equal(0, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 7, 3, Ct));
        });
        Assert.Equal(12, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Entries);
        Assert.Equal(1, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Revision); // not an edit
    }

    [Fact]
    public async Task Concurrent_entry_reservations_never_exceed_the_cap()
    {
        var ws = await NewWorkspaceAsync();
        var j = await CreateJourneyAsync(ws.Id, "capped");
        var a = await Store.BeginAsync(Ct);
        Assert.Equal(3, await a.ReserveJourneyEntriesAsync(ws.Id, j.Key, 3, 5, Ct));
        var b = Task.Run(async () =>
        {
            await using var tx = await Store.BeginAsync(Ct);
            var granted = await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 3, 5, Ct);
            await tx.CommitAsync(Ct);
            return granted;
        }, Ct);
        var finished = await Task.WhenAny(b, Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System));
        Assert.NotSame(b, finished); // waits for a
        await a.CommitAsync(Ct);
        await a.DisposeAsync();
        Assert.Equal(2, await b.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));
        Assert.Equal(5, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Entries);
    }

    [Fact]
    public async Task Instance_ids_are_unique_across_batches_and_never_reused()
    {
        var ranges = await Task.WhenAll(Enumerable.Range(1, 6).Select(n => Task.Run(async () =>
        {
            await using var tx = await Store.BeginAsync(Ct);
            var first = await tx.ReserveJourneyInstanceIdsAsync(n * 700, Ct);
            var second = await tx.ReserveJourneyInstanceIdsAsync(3, Ct);
            await tx.CommitAsync(Ct);
            return new[] { (first, (long)n * 700), (second, 3L) };
        }, Ct)));
        var ids = ranges.SelectMany(r => r).SelectMany(r => Enumerable.Range(0, (int)r.Item2).Select(i => r.Item1 + i)).ToList();
        Assert.All(ids, id => Assert.True(id > 0));
        Assert.Equal(ids.Count, ids.Distinct().Count());

        // Ids handed to a batch that rolled back are not handed out again.
        long rolledBack;
        await using (var tx = await Store.BeginAsync(Ct))
            rolledBack = await tx.ReserveJourneyInstanceIdsAsync(5, Ct);
        long next;
        await using (var tx = await Store.BeginAsync(Ct))
            next = await tx.ReserveJourneyInstanceIdsAsync(5, Ct);
        Assert.True(next >= rolledBack + 5 || next + 5 <= rolledBack);
        Assert.DoesNotContain(next, ids);

        await using var any = await Store.BeginAsync(Ct);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => any.ReserveJourneyInstanceIdsAsync(0, Ct));
    }

    // ---- merge, erasure, rollback ----------------------------------------------------------------

    [Fact]
    public async Task Merging_moves_journey_rows_to_the_survivor()
    {
        var ws = await NewWorkspaceAsync();
        var survivor = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "known"));
        var merged = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon"));
        var bystander = await CreateProfileAsync(ws.Id);
        var mergedOpen = Instance(ws.Id, 1, 1, merged.Id, due: T0.AddMinutes(5), entryKey: "msg-1");
        var mergedBroadcast = Instance(ws.Id, 2, 2, merged.Id, status: InstanceStatus.Completed, entryKey: "broadcast-7");
        var survivorBroadcast = Instance(ws.Id, 3, 2, survivor.Id, due: T0.AddMinutes(9), entryKey: "broadcast-7");
        var other = Instance(ws.Id, 4, 1, bystander.Id, entryKey: "msg-1");
        await SaveInstancesAsync(mergedOpen, mergedBroadcast, survivorBroadcast, other);
        await WriteEffectsAsync(
            sends: [Send(ws.Id, merged.Id, 1, 1, 1), Send(ws.Id, bystander.Id, 1, 4, 1)],
            tasks: [TaskRow(ws.Id, merged.Id, 1, 1, 2, "ann", T0)],
            webhooks: [Webhook(ws.Id, merged.Id, 1, 1, 3, T0)],
            conversions: [new JourneyConversion(ws.Id, 2, 1, 2, merged.Id, T0, "send", "{}")]);

        await InTxAsync(async tx =>
        {
            await tx.MergeProfilesAsync(ws.Id, merged.Id, merged.Version, survivor.Id, Ct);
            // The batch sees the moved instances under the survivor.
            Assert.Equal([1L, 3], Ids(await tx.LoadOpenJourneyInstancesAsync(ws.Id, [survivor.Id, merged.Id], Ct)));
        });

        Assert.Empty(await Store.GetProfileJourneyInstancesAsync(ws.Id, merged.Id, 10, Ct));
        var moved = await Store.GetProfileJourneyInstancesAsync(ws.Id, survivor.Id, 10, Ct);
        Assert.Equal([3L, 2, 1], Ids(moved));
        // The timer now routes to the survivor's home.
        Assert.Equal(
            [new JourneyTimer(ws.Id, 1, survivor.Id, survivor.RoutingHash, T0.AddMinutes(5)), new JourneyTimer(ws.Id, 3, survivor.Id, survivor.RoutingHash, T0.AddMinutes(9))],
            await Store.GetDueJourneyTimersAsync(T0.AddHours(1), 10, null, 0, Ct));
        Assert.Equal(mergedOpen with { ProfileId = survivor.Id, RoutingHash = survivor.RoutingHash }, moved.Single(i => i.Id == 1));
        // Both entered the same broadcast: the survivor keeps its entry key, the moved instance gets a unique one.
        Assert.Equal("broadcast-7", moved.Single(i => i.Id == 3).EntryKey);
        Assert.Equal("broadcast-7#merged:2", moved.Single(i => i.Id == 2).EntryKey);
        await using (var tx = await Store.BeginAsync(Ct))
        {
            Assert.True(await tx.JourneyEntryExistsAsync(ws.Id, 2, survivor.Id, "broadcast-7", Ct));
            Assert.False(await tx.JourneyEntryExistsAsync(ws.Id, 2, merged.Id, "broadcast-7", Ct));
            Assert.Equal((T0, true), (await tx.LoadJourneyEntriesAsync(ws.Id, [survivor.Id], Ct))[(2, survivor.Id)]);
        }

        Assert.Equal([1L], (await Store.GetSendRequestsAsync(ws.Id, survivor.Id, null, 0, 10, Ct)).Select(s => s.InstanceId));
        Assert.Empty(await Store.GetSendRequestsAsync(ws.Id, merged.Id, null, 0, 10, Ct));
        Assert.Equal([4L], (await Store.GetSendRequestsAsync(ws.Id, bystander.Id, null, 0, 10, Ct)).Select(s => s.InstanceId));
        Assert.Equal(survivor.Id, (await Store.GetTasksAsync(ws.Id, "ann", null, null, null, 0, 10, Ct)).Single().ProfileId);
        Assert.Equal(survivor.Id, (await Store.GetWebhooksAsync(ws.Id, null, 0, 10, Ct)).Single().ProfileId);
        Assert.Equal(survivor.Id, (await Store.GetJourneyConversionsAsync(ws.Id, 2, 0, 10, Ct)).Single().ProfileId);
        Assert.Equal(other, await Store.GetJourneyInstanceAsync(ws.Id, 4, Ct));
    }

    [Fact]
    public async Task Erasure_deletes_the_profiles_journey_rows_only()
    {
        var ws = await NewWorkspaceAsync();
        var victim = await CreateProfileAsync(ws.Id);
        var bystander = await CreateProfileAsync(ws.Id);
        await SaveInstancesAsync(Instance(ws.Id, 1, 1, victim.Id, due: T0), Instance(ws.Id, 2, 1, victim.Id, status: InstanceStatus.Converted),
            Instance(ws.Id, 3, 1, bystander.Id, due: T0));
        await WriteEffectsAsync(
            sends: [Send(ws.Id, victim.Id, 1, 1, 1), Send(ws.Id, bystander.Id, 1, 3, 1)],
            tasks: [TaskRow(ws.Id, victim.Id, 1, 1, 2, "ann", T0), TaskRow(ws.Id, bystander.Id, 1, 3, 2, "ann", T0)],
            webhooks: [Webhook(ws.Id, victim.Id, 1, 1, 3, T0), Webhook(ws.Id, bystander.Id, 1, 3, 3, T0)],
            conversions: [new JourneyConversion(ws.Id, 1, 1, 2, victim.Id, T0, "send", "{}"), new JourneyConversion(ws.Id, 1, 1, 3, bystander.Id, T0, "send", "{}")],
            stats: [new JourneyStatDelta(ws.Id, 1, 1, "start", "entered", 0, 3)]);
        await InTxAsync(tx => tx.RecordJourneyTriggerAsync(new JourneyTriggerRecord(ws.Id, 1, "idem", "h", "entered", 1, T0), Ct));

        await InTxAsync(tx => tx.EraseProfileAsync(ws.Id, victim.Id, [], Ct));

        Assert.Empty(await Store.GetProfileJourneyInstancesAsync(ws.Id, victim.Id, 10, Ct));
        Assert.Equal([3L], (await Store.GetDueJourneyTimersAsync(T0, 10, null, 0, Ct)).Select(t => t.InstanceId));
        Assert.Equal([bystander.Id], (await Store.GetSendRequestsAsync(ws.Id, null, null, 0, 10, Ct)).Select(s => s.ProfileId));
        Assert.Equal([bystander.Id], (await Store.GetTasksAsync(ws.Id, null, null, null, null, 0, 10, Ct)).Select(t => t.ProfileId));
        Assert.Equal([bystander.Id], (await Store.GetWebhooksAsync(ws.Id, null, 0, 10, Ct)).Select(w => w.ProfileId));
        Assert.Equal([bystander.Id], (await Store.GetJourneyConversionsAsync(ws.Id, 1, 0, 10, Ct)).Select(c => c.ProfileId));
        // Aggregates and the idempotency record hold no personal data and stay.
        Assert.Equal([new JourneyStat(1, "start", "entered", 3)], await Store.GetJourneyStatsAsync(ws.Id, 1, Ct));
        Assert.NotNull(await Store.FindJourneyTriggerAsync(ws.Id, 1, "idem", Ct));
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Empty(await tx.LoadJourneyEntriesAsync(ws.Id, [victim.Id], Ct));
    }

    [Fact]
    public async Task A_rolled_back_batch_leaves_no_journey_rows()
    {
        var ws = await NewWorkspaceAsync();
        var j = await CreateJourneyAsync(ws.Id, "j");
        await using (var tx = await Store.BeginAsync(Ct))
        {
            Assert.Equal(1, await tx.ReserveJourneyEntriesAsync(ws.Id, j.Key, 1, null, Ct));
            await tx.SaveJourneyInstancesAsync([Instance(ws.Id, 1, j.Key, 100, due: T0)], Ct);
            await tx.WriteJourneyEffectsAsync([Send(ws.Id, 100, j.Key, 1, 1)], [TaskRow(ws.Id, 100, j.Key, 1, 2, "ann", T0)],
                [Webhook(ws.Id, 100, j.Key, 1, 3, T0)], [new JourneyConversion(ws.Id, j.Key, 1, 1, 100, T0, "send", "{}")],
                [new JourneyStatDelta(ws.Id, j.Key, 1, "start", "entered", 0, 1)], Ct);
            await tx.RecordJourneyTriggerAsync(new JourneyTriggerRecord(ws.Id, j.Key, "idem", "h", "entered", 1, T0), Ct);
            Assert.Single(await tx.LoadJourneyInstancesAsync(ws.Id, [1], Ct));
        }

        Assert.Equal(0, (await Store.GetJourneyByKeyAsync(ws.Id, j.Key, Ct))!.Entries);
        Assert.Null(await Store.GetJourneyInstanceAsync(ws.Id, 1, Ct));
        Assert.Null(await Store.GetNextJourneyTimerDueAsync(Ct));
        Assert.Empty(await Store.GetSendRequestsAsync(ws.Id, null, null, 0, 10, Ct));
        Assert.Empty(await Store.GetTasksAsync(ws.Id, null, null, null, null, 0, 10, Ct));
        Assert.Empty(await Store.GetWebhooksAsync(ws.Id, null, 0, 10, Ct));
        Assert.Empty(await Store.GetJourneyConversionsAsync(ws.Id, j.Key, 0, 10, Ct));
        Assert.Empty(await Store.GetJourneyStatsAsync(ws.Id, j.Key, Ct));
        Assert.Null(await Store.FindJourneyTriggerAsync(ws.Id, j.Key, "idem", Ct));
        // The instance can be written again.
        await SaveInstancesAsync(Instance(ws.Id, 1, j.Key, 100, due: T0));
    }

    [Fact]
    public async Task Journey_listings_reject_a_limit_below_one()
    {
        var ws = await NewWorkspaceAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetProfileJourneyInstancesAsync(ws.Id, 1, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetOpenJourneyInstancesAsync(ws.Id, 1, 0, -1, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetJourneyConversionsAsync(ws.Id, 1, 0, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetSendRequestsAsync(ws.Id, null, null, 0, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetTasksAsync(ws.Id, null, null, null, null, 0, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetDueWebhooksAsync(T0, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetWebhooksAsync(ws.Id, null, 0, 0, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetAuditAsync(ws.Id, 0, 0, Ct));
        await using var tx = await Store.BeginAsync(Ct);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => tx.ReserveJourneyEntriesAsync(ws.Id, 1, -1, null, Ct));
    }
}
