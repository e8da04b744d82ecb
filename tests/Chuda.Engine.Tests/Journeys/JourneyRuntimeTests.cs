using System.Net;
using System.Text.Json;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Engine.Journeys;
using Chuda.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using static Chuda.Engine.Tests.Journeys.JourneyTestKit;

namespace Chuda.Engine.Tests.Journeys;

/// <summary>Runtime guarantees: durable timers, long waits, lifecycle, versions, re-entry, caps, API idempotency, webhooks.</summary>
public sealed class JourneyRuntimeTests
{
    private const string TwoWaits = """
        {"name":"Two waits","trigger":{"type":"event","event":"Go"},
         "steps":[{"id":"w1","type":"wait","duration":"PT1H","next":"s1"},
                  {"id":"s1","type":"send","template":"first","channel":"email","next":"w2"},
                  {"id":"w2","type":"wait","duration":"P7D","next":"s2"},
                  {"id":"s2","type":"send","template":"second","channel":"email"}]}
        """;

    [Fact]
    public async Task Timers_survive_a_restart_and_fire_once()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir, durable: true);
        await h.PublishJourneyAsync("two", TwoWaits);
        for (var i = 0; i < 20; i++) await h.SendAsync(Track("r" + i, "Go"));
        await h.RestartAsync();
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(2));
        Assert.Equal(20, (await h.SendsAsync()).Count);
        await h.RestartAsync();
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(30));
        var sends = await h.SendsAsync();
        Assert.Equal(40, sends.Count);
        Assert.Equal(40, sends.Select(s => s.IdempotencyKey).Distinct().Count());
        Assert.All(sends.Where(s => s.Template == "second"), s => Assert.Equal(T0 + TimeSpan.FromHours(1) + TimeSpan.FromDays(7), s.ScheduledFor));
    }

    [Fact]
    public async Task A_timer_delivered_twice_advances_once()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("two", TwoWaits);
        await h.SendAsync(Track("dup", "Go"));
        h.Time.SetUtcNow(T0 + TimeSpan.FromHours(1));
        var due = await h.Store.GetDueJourneyTimersAsync(h.Time.GetUtcNow(), 10, null, 0, CancellationToken.None);
        var fire = due.Select(t => (Chuda.Engine.Profiles.ProfileCommand)new FireJourneyTimer(t.WorkspaceId, t.InstanceId, t.ProfileId, t.RoutingHash, t.DueAt)).ToList();
        // Two schedulers (or a re-delivery after a crash) hand over the same timer: the second is stale and does nothing.
        await h.Partitions.SubmitAsync(fire, CancellationToken.None);
        await h.Partitions.SubmitAsync(fire, CancellationToken.None);
        await h.Partitions.SubmitAsync([.. fire, .. fire], CancellationToken.None);
        Assert.Equal(["first"], (await h.SendsAsync()).Templates());
    }

    [Fact]
    public async Task A_timer_read_before_a_merge_fires_for_the_survivor()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("b", """
            {"name":"B","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"w","type":"wait","duration":"PT1H","next":"vip?"},
                      {"id":"vip?","type":"branch","branches":[{"when":{"profile":{"trait":"vip","op":"eq","value":true}},"next":"vip"}],"else":"plain"},
                      {"id":"vip","type":"send","template":"vip","channel":"email"},{"id":"plain","type":"send","template":"plain","channel":"email"}]}
            """);
        await h.SendAsync("""{"type":"identify","userId":"known-9","traits":{"vip":true}}""");
        await h.SendAsync("""{"type":"track","anonymousId":"anon-9","event":"Go"}""");
        h.Time.SetUtcNow(T0 + TimeSpan.FromHours(1));
        var due = await h.Store.GetDueJourneyTimersAsync(h.Time.GetUtcNow(), 10, null, 0, CancellationToken.None);
        // The visitor logs in (and is a VIP) after the timer was read, before it is handed over.
        await h.SendAsync("""{"type":"identify","anonymousId":"anon-9","userId":"known-9","traits":{}}""");
        Assert.NotEqual(due[0].ProfileId, await h.ProfileIdAsync("known-9")); // merged into the known profile
        await h.Partitions.SubmitAsync([.. due.Select(t => (Chuda.Engine.Profiles.ProfileCommand)new FireJourneyTimer(t.WorkspaceId, t.InstanceId, t.ProfileId, t.RoutingHash, t.DueAt))],
            CancellationToken.None);
        await h.Timers.FireDueAsync(CancellationToken.None);
        Assert.Equal(["vip"], (await h.SendsAsync("known-9")).Templates());
    }

    [Fact]
    public async Task The_longest_accepted_wait_fires()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("long", """
            {"name":"Ten years","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"w","type":"wait","duration":"P3660D","next":"s"},{"id":"s","type":"send","template":"later","channel":"email"}]}
            """);
        await h.SendAsync(Track("x", "Go"));
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(3660) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await h.SendsAsync());
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(3661));
        Assert.Equal(T0 + TimeSpan.FromDays(3660), Assert.Single(await h.SendsAsync()).ScheduledFor);
    }

    [Fact]
    public async Task Downtime_backlog_restarts_the_next_wait_from_now_not_from_the_missed_due_time()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("two", TwoWaits);
        await h.SendAsync(Track("d", "Go"));
        // Down for three days: the 1-hour timer fires late; the 7-day wait then starts from the late firing.
        await h.AdvanceToAsync(T0 + TimeSpan.FromDays(3));
        var first = Assert.Single(await h.SendsAsync());
        Assert.Equal(T0 + TimeSpan.FromDays(3), first.ScheduledFor);
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(20));
        Assert.Equal(T0 + TimeSpan.FromDays(10), (await h.SendsAsync())[1].ScheduledFor);
    }

    [Fact]
    public async Task Pause_holds_everyone_resume_releases_archive_ends()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("two", TwoWaits);
        await h.SendAsync(Track("p", "Go"));
        var ws = h.Workspace.Id;
        await h.JourneyService.PauseAsync(ws, "two", "k1", CancellationToken.None);
        await h.SendAsync(Track("q", "Go")); // paused: no entry
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(5));
        Assert.Empty(await h.SendsAsync());
        await h.JourneyService.ResumeAsync(ws, "two", "k1", CancellationToken.None);
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(5));
        Assert.Equal(["first"], (await h.SendsAsync()).Templates());
        Assert.Equal(T0 + TimeSpan.FromHours(5), (await h.SendsAsync())[0].ScheduledFor);
        await h.JourneyService.ArchiveAsync(ws, "two", "k1", CancellationToken.None);
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(30));
        Assert.Single(await h.SendsAsync());
        var instance = Assert.Single(await h.Store.GetProfileJourneyInstancesAsync(ws, await h.ProfileIdAsync("p"), 10, CancellationToken.None));
        Assert.Equal(("archived", InstanceStatus.Exited), (instance.EndReason, instance.Status));
        var audit = await h.Store.GetAuditAsync(ws, 0, 100, CancellationToken.None);
        Assert.Equal(["journey.created", "journey.published", "journey.paused", "journey.resumed", "journey.archived"], audit.Select(a => a.Action));
        await Assert.ThrowsAsync<JourneyStateException>(() => h.JourneyService.PublishAsync(ws, "two", null, false, "k1", CancellationToken.None));
    }

    [Fact]
    public async Task A_new_version_leaves_profiles_inside_on_theirs_unless_migration_is_asked()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        var ws = h.Workspace.Id;
        await h.PublishJourneyAsync("two", TwoWaits);
        await h.SendAsync(Track("old1", "Go"));
        await h.SendAsync(Track("old2", "Go"));
        using var v2 = JsonDocument.Parse(TwoWaits.Replace("\"first\"", "\"first-v2\"", StringComparison.Ordinal));
        await h.JourneyService.UpdateAsync(ws, "two", v2.RootElement, null, "k", CancellationToken.None);
        await h.JourneyService.PublishAsync(ws, "two", null, migrate: false, "k", CancellationToken.None);
        await h.SendAsync(Track("new", "Go"));
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(2));
        Assert.Equal(["first"], (await h.SendsAsync("old1")).Templates());
        Assert.Equal(["first-v2"], (await h.SendsAsync("new")).Templates());
        Assert.Equal(1, (await h.SendsAsync("old1"))[0].Version);

        using var v3 = JsonDocument.Parse(TwoWaits.Replace("\"second\"", "\"second-v3\"", StringComparison.Ordinal));
        await h.JourneyService.UpdateAsync(ws, "two", v3.RootElement, null, "k", CancellationToken.None);
        var published = await h.JourneyService.PublishAsync(ws, "two", null, migrate: true, "k", CancellationToken.None);
        Assert.Equal(3, published.Migrated);
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(10));
        Assert.Equal(["first", "second-v3"], (await h.SendsAsync("old2")).Templates());
    }

    [Theory]
    [InlineData("""{"policy":"once"}""", 1)]
    [InlineData("""{"policy":"not_while_active"}""", 2)]
    [InlineData("""{"policy":"after_cooldown","cooldown":"P3D"}""", 1)]
    public async Task Re_entry_policies(string policy, int expectedEntries)
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("re", $$"""
            {"name":"Re","trigger":{"type":"event","event":"Go"},"re_entry":{{policy}},
             "steps":[{"id":"w","type":"wait","duration":"P1D","next":"s"},{"id":"s","type":"send","template":"t","channel":"email"}]}
            """);
        await h.SendAsync(Track("x", "Go"));
        await h.SendAsync(Track("x", "Go")); // active: refused by every policy
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(2));
        await h.SendAsync(Track("x", "Go")); // ended 1 day ago, entered 2 days ago
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(5));
        var stats = await h.JourneyService.StatsAsync(h.Workspace.Id, "re", CancellationToken.None);
        Assert.Equal(expectedEntries, stats.Entered);
    }

    [Fact]
    public async Task Entry_cap_and_entry_filter()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("cap", """
            {"name":"Cap","trigger":{"type":"event","event":"Go"},"entry_cap":3,
             "entry_filter":{"profile":{"trait":"vip","op":"eq","value":true},"entry":[{"property":"amount","op":"gte","value":100}]},
             "steps":[{"id":"s","type":"send","template":"t","channel":"email"}]}
            """);
        for (var i = 0; i < 6; i++)
        {
            await h.SendAsync(Identify("c" + i, i == 5 ? """{"vip":false}""" : """{"vip":true}"""));
            await h.SendAsync(Track("c" + i, "Go", """{"amount":150}"""));
        }
        await h.SendAsync(Identify("small", """{"vip":true}"""));
        await h.SendAsync(Track("small", "Go", """{"amount":50}"""));
        Assert.Equal(3, (await h.SendsAsync()).Count);
        Assert.Equal(3, (await h.Store.GetJourneyAsync(h.Workspace.Id, "cap", CancellationToken.None))!.Entries);
    }

    [Fact]
    public async Task Api_trigger_is_idempotent_per_key_and_refuses_a_changed_body()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("api", """
            {"name":"Api","trigger":{"type":"api"},"re_entry":{"policy":"not_while_active"},
             "steps":[{"id":"s","type":"send","template":"receipt","channel":"email","category":"transactional"}]}
            """);
        await h.SendAsync(Identify("buyer", "{}"));
        var ws = h.Workspace.Id;
        var first = await h.JourneyService.TriggerAsync(ws, "api", "buyer", """{"order":"o1"}""", "key-1", "hash-a", CancellationToken.None);
        var again = await h.JourneyService.TriggerAsync(ws, "api", "buyer", """{"order":"o1"}""", "key-1", "hash-a", CancellationToken.None);
        var changed = await h.JourneyService.TriggerAsync(ws, "api", "buyer", """{"order":"o2"}""", "key-1", "hash-b", CancellationToken.None);
        Assert.Equal("entered", first!.Result);
        Assert.Equal(("replayed", first.InstanceId), (again!.Result, again.InstanceId));
        Assert.Equal("idempotency_mismatch", changed!.Result);
        var send = Assert.Single(await h.SendsAsync());
        Assert.Contains("\"order\":\"o1\"", send.ContextJson);
        Assert.Null(await h.JourneyService.TriggerAsync(ws, "api", "nobody", null, null, "h", CancellationToken.None) is { } o && o.Result == "entered" ? o : null);
    }

    [Fact]
    public async Task Webhook_step_is_signed_retried_and_delivered_once_to_an_allow_listed_listener()
    {
        var received = new List<(string Id, string Signature, string Timestamp, string Body)>();
        var calls = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/hook", async (HttpContext c) =>
        {
            using var reader = new StreamReader(c.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref calls) == 1) return Results.StatusCode(503); // first attempt fails
            lock (received) received.Add((c.Request.Headers["webhook-id"]!, c.Request.Headers["webhook-signature"]!, c.Request.Headers["webhook-timestamp"]!, body));
            return Results.Ok();
        });
        await app.StartAsync();
        var url = app.Urls.First() + "/hook";

        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("hook", $$$"""
            {"name":"Hook","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"call","type":"webhook","url":"{{{url}}}","headers":{"x-team":"crm"}}]}
            """);
        await h.SendAsync(Track("wh", "Go", """{"deal":"d1"}"""));
        Assert.Equal(1, await h.Webhooks.DispatchDueAsync(CancellationToken.None));
        var pending = Assert.Single(await h.Store.GetWebhooksAsync(h.Workspace.Id, null, 0, 10, CancellationToken.None));
        Assert.Equal(("pending", 1, 503), (pending.Status, pending.Attempts, pending.LastStatusCode));
        h.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(1, await h.Webhooks.DispatchDueAsync(CancellationToken.None));
        Assert.Equal(0, await h.Webhooks.DispatchDueAsync(CancellationToken.None));
        var done = Assert.Single(await h.Store.GetWebhooksAsync(h.Workspace.Id, null, 0, 10, CancellationToken.None));
        Assert.Equal(("delivered", 2), (done.Status, done.Attempts));
        var (id, signature, timestamp, body) = Assert.Single(received);
        Assert.Equal(done.IdempotencyKey, id);
        Assert.Contains("\"deal\":\"d1\"", body);
        var secret = await h.Webhooks.SecretAsync(h.Workspace.Id, CancellationToken.None);
        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, id, timestamp, signature,
            System.Text.Encoding.UTF8.GetBytes(body), h.Time.GetUtcNow(), TimeSpan.FromDays(1)));
    }

    [Fact]
    public async Task Webhook_to_a_private_address_is_refused_without_retries_unless_allow_listed()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        h.JourneyOptions = new JourneyOptionsForTests().Default; // nothing allow-listed
        await h.RestartAsync();
        await h.PublishJourneyAsync("hook", """
            {"name":"Hook","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"call","type":"webhook","url":"http://127.0.0.1:9/x"}]}
            """);
        await h.SendAsync(Track("wh", "Go"));
        await h.Webhooks.DispatchDueAsync(CancellationToken.None);
        var failed = Assert.Single(await h.Store.GetWebhooksAsync(h.Workspace.Id, null, 0, 10, CancellationToken.None));
        Assert.Equal(("failed", 1), (failed.Status, failed.Attempts));
        Assert.Contains("loopback", failed.LastError, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class JourneyOptionsForTests
    {
        public Chuda.Engine.Journeys.JourneyOptions Default { get; } = new();
    }

    [Fact]
    public async Task Anonymous_entry_follows_the_person_when_they_log_in()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("cart", Sample("abandoned-cart"));
        await h.SendAsync("""{"type":"track","anonymousId":"anon-1","event":"Product Added","properties":{"cart_id":"c9"}}""");
        await h.SendAsync("""{"type":"identify","anonymousId":"anon-1","userId":"known-1","traits":{}}""");
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(1));
        var send = Assert.Single(await h.SendsAsync());
        Assert.Equal(await h.ProfileIdAsync("known-1"), send.ProfileId);
        Assert.Single(await h.Store.GetProfileJourneyInstancesAsync(h.Workspace.Id, send.ProfileId, 10, CancellationToken.None));
        _ = IdentityKinds.UserId;
    }
}

public sealed class JourneyTaskEdgeTests
{
    [Fact]
    public async Task A_task_without_owner_or_queue_goes_to_unassigned_instead_of_failing_the_batch()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("t", """
            {"name":"T","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"w","type":"wait","duration":"PT1M","next":"task"},{"id":"task","type":"task","title":"Call","assignee_trait":"owner","due_in":"PT1H"}]}
            """);
        await h.SendAsync(Track("no-owner", "Go"));
        await h.RunUntilAsync(T0 + TimeSpan.FromMinutes(2));
        var task = Assert.Single(await h.Store.GetTasksAsync(h.Workspace.Id, null, null, null, null, 0, 10, CancellationToken.None));
        Assert.Equal((JourneyWalker.UnassignedQueue, true), (task.Assignee, task.FromQueue));
    }
}

public sealed class JourneyZoneChangeTests
{
    [Fact]
    public async Task A_profile_that_moves_to_an_earlier_zone_gets_its_new_local_time_not_the_old_instant()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir); // 2026-03-02 09:00Z
        await h.PublishJourneyAsync("ten", """
            {"name":"Ten","trigger":{"type":"event","event":"Go"},
             "steps":[{"id":"w","type":"wait","until_time":"10:00","next":"s"},{"id":"s","type":"send","template":"t","channel":"email"}]}
            """);
        await h.SendAsync("""{"type":"identify","userId":"mover","traits":{},"context":{"timezone":"Asia/Shanghai"}}""");
        await h.SendAsync(Track("mover", "Go")); // 17:00 in Shanghai: due at 10:00 there, 02:00Z tomorrow
        await h.SendAsync("""{"type":"identify","userId":"mover","traits":{},"context":{"timezone":"America/New_York"}}"""); // 04:00 there: 10:00 is 15:00Z today
        await h.SendAsync("""{"type":"identify","userId":"stayer","traits":{},"context":{"timezone":"Europe/Berlin"}}""");
        await h.SendAsync(Track("stayer", "Go")); // 10:00 Berlin = 09:00Z today, just passed: tomorrow 09:00Z
        await h.RunUntilAsync(T0 + TimeSpan.FromDays(2));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 15, 0, 0, TimeSpan.Zero), Assert.Single(await h.SendsAsync("mover")).ScheduledFor);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero), Assert.Single(await h.SendsAsync("stayer")).ScheduledFor);
    }
}
