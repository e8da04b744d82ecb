using Chuda.Domain.Delivery;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Xunit;

namespace Chuda.Storage.Tests;

// The console part of the storage contract: sign-in sessions, dashboard counts, profile search.
public abstract partial class StoreComplianceTests
{
    private static ConsoleSession Session(long workspaceId, string tokenHash, DateTimeOffset? expiresAt = null) =>
        new(tokenHash, workspaceId, KeyHash: "keyhash-" + tokenHash, CsrfToken: "csrf-" + tokenHash, CreatedAt: T0, LastSeenAt: T0,
            ExpiresAt: expiresAt ?? T0.AddHours(12));

    [Fact]
    public async Task Console_sessions_are_stored_touched_deleted_and_purged()
    {
        var ws = await NewWorkspaceAsync();
        var a = Session(ws.Id, "aaa");
        await Store.AddConsoleSessionAsync(a, Ct);
        await Store.AddConsoleSessionAsync(Session(ws.Id, "bbb", T0.AddHours(1)), Ct);
        await Assert.ThrowsAsync<DuplicateNameException>(() => Store.AddConsoleSessionAsync(a, Ct));
        Assert.Equal(a, await Store.FindConsoleSessionAsync("aaa", Ct));
        Assert.Null(await Store.FindConsoleSessionAsync("zzz", Ct));

        Assert.True(await Store.TouchConsoleSessionAsync("aaa", T0.AddMinutes(5), T0.AddHours(12).AddMinutes(5), Ct));
        Assert.Equal(a with { LastSeenAt = T0.AddMinutes(5), ExpiresAt = T0.AddHours(12).AddMinutes(5) }, await Store.FindConsoleSessionAsync("aaa", Ct));
        Assert.False(await Store.TouchConsoleSessionAsync("zzz", T0, T0, Ct));

        // Expiry at or before now is purged; the other stays.
        Assert.Equal(1, await Store.DeleteExpiredConsoleSessionsAsync(T0.AddHours(1), Ct));
        Assert.Null(await Store.FindConsoleSessionAsync("bbb", Ct));
        Assert.NotNull(await Store.FindConsoleSessionAsync("aaa", Ct));

        Assert.True(await Store.DeleteConsoleSessionAsync("aaa", Ct));
        Assert.False(await Store.DeleteConsoleSessionAsync("aaa", Ct));
        Assert.Null(await Store.FindConsoleSessionAsync("aaa", Ct));
    }

    [Fact]
    public async Task Console_sessions_survive_reopening_the_store()
    {
        var ws = await NewWorkspaceAsync();
        await Store.AddConsoleSessionAsync(Session(ws.Id, "durable"), Ct);
        await using var reopened = await OpenStoreAsync();
        Assert.Equal(Session(ws.Id, "durable"), await reopened.FindConsoleSessionAsync("durable", Ct));
    }

    [Fact]
    public async Task Dashboard_counts_events_messages_and_conversions_per_bucket()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var p = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "u1"));
        var q = await CreateProfileAsync(other.Id, new IdentityKey(IdentityKinds.UserId, "u1"));
        // Event(...) is received one second after its timestamp; the dashboard counts by receive time.
        await AppendAsync(
            Event(ws.Id, p.Id, "m1", T0.AddSeconds(-1)),               // received T0: bucket 0
            Event(ws.Id, p.Id, "m2", T0.AddMinutes(59)),               // received 0:59:01: bucket 0
            Event(ws.Id, p.Id, "m3", T0.AddHours(2)),                  // bucket 2
            Event(ws.Id, p.Id, "m4", T0.AddHours(-2)),                 // before the range
            Event(ws.Id, p.Id, "m5", T0.AddHours(3).AddSeconds(-1)),   // received exactly at 'to': excluded
            Event(other.Id, q.Id, "m6", T0));                          // another workspace
        await InsertOutboundAsync(
            Outbound(ws.Id, "k1", p.Id, status: MessageStatuses.Sent, createdAt: T0.AddMinutes(1)) with { Channel = ChannelNames.Email },
            Outbound(ws.Id, "k2", p.Id, status: MessageStatuses.Sent, createdAt: T0.AddMinutes(2)) with { Channel = ChannelNames.Email },
            Outbound(ws.Id, "k3", p.Id, status: MessageStatuses.Queued, createdAt: T0.AddMinutes(3)),
            Outbound(ws.Id, "k4", p.Id, status: MessageStatuses.Sent, createdAt: T0.AddHours(1)) with { Channel = "sms" },
            Outbound(ws.Id, "k5", p.Id, createdAt: T0.AddHours(5)),
            Outbound(other.Id, "k6", q.Id, createdAt: T0));
        await WriteEffectsAsync(conversions:
        [
            new JourneyConversion(ws.Id, 1, 1, 10, p.Id, T0.AddMinutes(30), "send", "{}"),
            new JourneyConversion(ws.Id, 1, 1, 11, p.Id, T0.AddHours(2).AddMinutes(1), "send", "{}"),
            new JourneyConversion(ws.Id, 1, 1, 12, p.Id, T0.AddHours(2).AddMinutes(2), "send", "{}"),
            new JourneyConversion(other.Id, 1, 1, 13, q.Id, T0, "send", "{}"),
        ]);

        var counts = await Store.GetDashboardCountsAsync(ws.Id, T0, T0.AddHours(3), TimeSpan.FromHours(1), Ct);

        Assert.Equal([new TimeBucketCount(T0, 2), new TimeBucketCount(T0.AddHours(2), 1)], counts.Events);
        Assert.Equal(
        [
            new MessageBucketCount(T0, null, MessageStatuses.Queued, 1),
            new MessageBucketCount(T0, ChannelNames.Email, MessageStatuses.Sent, 2),
            new MessageBucketCount(T0.AddHours(1), "sms", MessageStatuses.Sent, 1),
        ], counts.Messages);
        Assert.Equal([new TimeBucketCount(T0, 1), new TimeBucketCount(T0.AddHours(2), 2)], counts.Conversions);

        // Buckets start at 'from' even when it is not on the hour (to the millisecond).
        var from = T0.AddMinutes(-30).AddMilliseconds(250);
        var shifted = await Store.GetDashboardCountsAsync(ws.Id, from, T0.AddHours(3), TimeSpan.FromHours(1), Ct);
        Assert.Equal([new TimeBucketCount(from, 1), new TimeBucketCount(from.AddHours(1), 1), new TimeBucketCount(from.AddHours(2), 1)], shifted.Events);

        var empty = await Store.GetDashboardCountsAsync(ws.Id, T0.AddDays(10), T0.AddDays(11), TimeSpan.FromHours(1), Ct);
        Assert.Empty(empty.Events);
        Assert.Empty(empty.Messages);
        Assert.Empty(empty.Conversions);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetDashboardCountsAsync(ws.Id, T0, T0.AddHours(1), TimeSpan.Zero, Ct));
    }

    [Fact]
    public async Task Profile_search_matches_prefixes_of_user_id_email_and_phone_newest_first()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        async Task<ProfileRecord> Person(long workspaceId, DateTimeOffset lastSeen, string traits, params IdentityKey[] ids)
        {
            ProfileRecord? profile = null;
            await InTxAsync(async tx =>
            {
                var id = await tx.ReserveProfileIdsAsync(1, Ct);
                var userId = ids.FirstOrDefault(i => i.Kind == IdentityKinds.UserId).Value;
                profile = Profile(workspaceId, id, traits: traits, userId: userId, lastSeen: lastSeen);
                await tx.UpsertProfilesAsync([profile], Ct);
                await tx.PutIdentitiesAsync(ids.Select(k => new IdentityRow(workspaceId, k, id, T0)).ToArray(), Ct);
            });
            return profile!;
        }
        var ann = await Person(ws.Id, T0.AddHours(1), """{"name":"Ann"}""", new IdentityKey(IdentityKinds.UserId, "ann-1"),
            new IdentityKey(IdentityKinds.Email, "ann@example.com"), new IdentityKey(IdentityKinds.Email, "a.lee@example.com"), new IdentityKey(IdentityKinds.Phone, "+8613800138000"));
        var andy = await Person(ws.Id, T0.AddHours(3), "{}", new IdentityKey(IdentityKinds.UserId, "andy"), new IdentityKey(IdentityKinds.Email, "andy@example.org"));
        var bob = await Person(ws.Id, T0.AddHours(2), "{}", new IdentityKey(IdentityKinds.UserId, "bob"), new IdentityKey(IdentityKinds.Phone, "+14155550100"),
            new IdentityKey(IdentityKinds.Email, "ANNE-not-lowered@x"));
        var anon = await Person(ws.Id, T0, "{}", new IdentityKey(IdentityKinds.AnonymousId, "an-anonymous"));
        await Person(other.Id, T0.AddHours(9), "{}", new IdentityKey(IdentityKinds.UserId, "ann-other"));

        async Task<long[]> Search(string? q, int limit = 20) => [.. (await Store.SearchProfilesAsync(ws.Id, q, limit, Ct)).Select(h => h.ProfileId)];

        Assert.Equal([andy.Id, ann.Id], await Search("an"));              // user ids ann-1, andy (anonymous ids are not searched)
        Assert.Equal([andy.Id, ann.Id], await Search("AN"));              // e-mails ann@, andy@ (lower-cased); user ids are case-sensitive
        Assert.Equal([ann.Id], await Search("a.lee@"));
        Assert.Equal([ann.Id], await Search("+86138"));
        Assert.Equal([bob.Id], await Search("+1"));
        Assert.Equal([ann.Id], await Search("86138"));                    // digits also match E.164 with '+'
        Assert.Empty(await Search("zzz"));
        Assert.Equal([andy.Id, bob.Id, ann.Id, anon.Id], await Search(null));
        Assert.Equal([andy.Id, bob.Id], await Search("", limit: 2));

        var hit = (await Store.SearchProfilesAsync(ws.Id, "ann-", 5, Ct)).Single();
        Assert.Equal(new ProfileSearchHit(ann.Id, "ann-1", "a.lee@example.com", "+8613800138000", """{"name":"Ann"}""", T0.AddHours(1)), hit);
    }
}
