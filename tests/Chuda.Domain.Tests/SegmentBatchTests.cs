using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using static Chuda.Domain.Tests.SegmentParserTests;

namespace Chuda.Domain.Tests;

public class SegmentBatchTests
{
    private static void HasError(ParseResult r, string field, bool tooLarge = false)
    {
        Assert.False(r.IsValid);
        Assert.Empty(r.Messages);
        Assert.Contains(r.Errors, e => e.Field == field && e.TooLarge == tooLarge);
    }

    [Fact]
    public void Batch_parses_every_type()
    {
        var r = Batch("""
            {"writeKey":"wk","batch":[
              {"type":"identify","userId":"u","traits":{"email":"a@b.co"}},
              {"type":"track","userId":"u","event":"E"},
              {"type":"page","userId":"u","name":"P"},
              {"type":"screen","userId":"u","name":"S"},
              {"type":"group","userId":"u","groupId":"g"},
              {"type":"alias","userId":"u","previousId":"p"}]}
            """);
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        Assert.Equal("wk", r.WriteKey);
        Assert.Equal(
            [MessageType.Identify, MessageType.Track, MessageType.Page, MessageType.Screen, MessageType.Group, MessageType.Alias],
            r.Messages.Select(m => m.Type));
        Assert.Equal(["gen-0", "gen-1", "gen-2", "gen-3", "gen-4", "gen-5"], r.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public void Empty_batch_is_valid() => Assert.Empty(Batch("""{"batch":[]}""").Messages);

    [Fact]
    public void Batch_errors_name_the_item_and_all_are_collected()
    {
        var r = Batch("""
            {"batch":[
              {"type":"track","userId":"u","event":"ok"},
              {"type":"track","userId":"u"},
              {"type":"wat","userId":"u"},
              {"userId":"u"},
              {"type":"identify","userId":"u","context":{"timezone":"Mars/Base"}},
              "nope"]}
            """);
        HasError(r, "batch[1].event");
        HasError(r, "batch[2].type");
        HasError(r, "batch[3].type");
        HasError(r, "batch[4].context.timezone");
        HasError(r, "batch[5]");
        Assert.Equal(5, r.Errors.Count);
    }

    [Fact]
    public void Batch_must_be_an_array()
    {
        HasError(Batch("""{"sentAt":"2026-05-01T12:00:00Z"}"""), "batch");
        HasError(Batch("""{"batch":{}}"""), "batch");
        HasError(Batch("""{"batch":[],"writeKey":5}"""), "writeKey");
    }

    [Fact]
    public void Batch_context_is_merged_under_message_context()
    {
        var r = Batch("""
            {"context":{"library":{"name":"analytics-go","version":"1"},"locale":"en-US","timezone":"Europe/Paris",
                        "device":{"token":"tok"}},
             "batch":[
              {"type":"identify","userId":"u","context":{"locale":"zh-CN","library":{"version":"2"},"device":{"type":"ios"}}},
              {"type":"identify","userId":"v"}]}
            """);
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        var a = r.Messages[0];
        Assert.Equal("zh-CN", a.Locale);
        Assert.Equal("Europe/Paris", a.Timezone);
        Assert.Equal("analytics-go", a.Context.GetProperty("library").GetProperty("name").GetString());
        Assert.Equal("2", a.Context.GetProperty("library").GetProperty("version").GetString());
        Assert.Equal([new IdentityKey("push:ios", "tok")], a.Identities);
        var b = r.Messages[1];
        Assert.Equal("en-US", b.Locale);
        Assert.Equal("1", b.Context.GetProperty("library").GetProperty("version").GetString());
        Assert.Equal([new IdentityKey("push:unknown", "tok")], b.Identities);
        Assert.Equal("zh-CN", JsonDocument.Parse(a.Json).RootElement.GetProperty("context").GetProperty("locale").GetString());
    }

    [Fact]
    public void Batch_context_faults_are_named_at_the_top()
    {
        HasError(Batch("""{"context":{"timezone":"Mars/Base"},"batch":[{"type":"identify","userId":"u"}]}"""), "context.timezone");
        HasError(Batch("""{"context":[],"batch":[]}"""), "context");
    }

    [Fact]
    public void Batch_sentAt_applies_when_the_message_has_none()
    {
        var r = Batch("""
            {"sentAt":"2026-05-01T12:10:00Z","batch":[
              {"type":"track","userId":"u","event":"E","timestamp":"2026-05-01T12:05:00Z"},
              {"type":"track","userId":"u","event":"E","timestamp":"2026-05-01T12:05:00Z","sentAt":"2026-05-01T12:05:00Z"}]}
            """);
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 11, 55, 0, TimeSpan.Zero), r.Messages[0].Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 12, 10, 0, TimeSpan.Zero), r.Messages[0].SentAt);
        Assert.Equal("2026-05-01T12:10:00Z", JsonDocument.Parse(r.Messages[0].Json).RootElement.GetProperty("sentAt").GetString());
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero), r.Messages[1].Timestamp);
        HasError(Batch("""{"sentAt":"soon","batch":[]}"""), "sentAt");
    }

    [Fact]
    public void Batch_over_the_event_count_is_413()
    {
        var sb = new StringBuilder("""{"batch":[""");
        for (var i = 0; i <= IngestLimits.MaxBatchEvents; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("{}");
        }

        HasError(Batch(sb.Append("]}").ToString()), "batch", tooLarge: true);
    }

    [Fact]
    public void Batch_over_the_byte_limit_is_413()
    {
        var big = new string('x', IngestLimits.MaxBatchBytes);
        HasError(Batch($$"""{"batch":[],"pad":"{{big}}"}"""), "body", tooLarge: true);
    }

    [Fact]
    public void Batch_item_over_the_event_limit_is_413()
    {
        var big = new string('x', IngestLimits.MaxEventBytes);
        var r = Batch($$"""{"batch":[{"type":"track","userId":"u","event":"E"},{"type":"track","userId":"u","event":"{{big}}"}]}""");
        HasError(r, "batch[1]", tooLarge: true);
        Assert.Single(r.Errors);
    }

    [Fact]
    public void A_batch_with_exactly_the_limit_of_small_events_is_fine()
    {
        var sb = new StringBuilder("""{"batch":[""");
        for (var i = 0; i < IngestLimits.MaxBatchEvents; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("""{"type":"page","anonymousId":"a"}""");
        }

        Assert.Equal(IngestLimits.MaxBatchEvents, Batch(sb.Append("]}").ToString()).Messages.Count);
    }

    [Fact]
    public void Import_lines_need_a_type_and_use_the_prefix()
    {
        var ok = SegmentParser.ParseLine("""{"type":"track","userId":"u","event":"E"}"""u8, Now, () => "x", "line 3");
        Assert.Equal(MessageType.Track, Assert.Single(ok.Messages).Type);

        var r = SegmentParser.ParseLine("""{"userId":"u","event":"E"}"""u8, Now, () => "x", "line 3");
        HasError(r, "line 3.type");
        HasError(SegmentParser.ParseLine("""{"type":"track","event":"E"}"""u8, Now, () => "x", "line 3"), "line 3.userId");
        HasError(SegmentParser.ParseLine("not json"u8, Now, () => "x", "line 3"), "line 3");
        HasError(SegmentParser.ParseLine("""{"type":"track"}"""u8, Now, () => "x", ""), "event");
        var big = Encoding.UTF8.GetBytes($$"""{"type":"track","userId":"u","event":"{{new string('x', IngestLimits.MaxEventBytes)}}"}""");
        HasError(SegmentParser.ParseLine(big, Now, () => "x", "line 3"), "line 3", tooLarge: true);
    }
}
