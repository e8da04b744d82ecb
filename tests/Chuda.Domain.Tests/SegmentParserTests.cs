using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;

namespace Chuda.Domain.Tests;

public class SegmentParserTests
{
    internal static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    internal static ParseResult Single(string json, MessageType type, SegmentParseOptions? options = null) =>
        SegmentParser.ParseSingle(Encoding.UTF8.GetBytes(json), type, Now, () => "generated-id",
            options ?? SegmentParseOptions.Default);

    internal static ParseResult Batch(string json)
    {
        var n = 0;
        return SegmentParser.ParseBatch(Encoding.UTF8.GetBytes(json), Now, () => $"gen-{n++}");
    }

    internal static SegmentMessage One(ParseResult r)
    {
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        return Assert.Single(r.Messages);
    }

    private static void HasError(ParseResult r, string field, bool tooLarge = false)
    {
        Assert.False(r.IsValid);
        Assert.Empty(r.Messages);
        Assert.Contains(r.Errors, e => e.Field == field && e.TooLarge == tooLarge);
    }

    // ---------- each type ----------

    [Fact]
    public void Identify_parses_traits_and_identities()
    {
        var m = One(Single("""
            {"userId":"u1","anonymousId":"a1","traits":{"email":" Ann@Example.com ","phone":"+86 138 0013 8000","name":"安"},
             "context":{"timezone":"Asia/Shanghai","locale":"zh-CN"}}
            """, MessageType.Identify));
        Assert.Equal(MessageType.Identify, m.Type);
        Assert.Equal("identify", m.TypeName);
        Assert.Equal("u1", m.UserId);
        Assert.Equal("a1", m.AnonymousId);
        Assert.Equal("generated-id", m.MessageId);
        Assert.Equal("安", m.Traits.GetProperty("name").GetString());
        Assert.Equal(" Ann@Example.com ", m.Traits.GetProperty("email").GetString());
        Assert.Equal("Asia/Shanghai", m.Timezone);
        Assert.Equal("zh-CN", m.Locale);
        Assert.Equal(
            [new IdentityKey("email", "ann@example.com"), new IdentityKey("phone", "+8613800138000")],
            m.Identities);
        Assert.Equal(JsonValueKind.Undefined, m.Properties.ValueKind);
        Assert.Equal(Now, m.Timestamp);
        Assert.Equal(Now, m.ReceivedAt);
    }

    [Fact]
    public void Track_parses_event_and_properties()
    {
        var m = One(Single("""{"anonymousId":"a1","event":"Order Completed","properties":{"total":9.5},"messageId":"m-1"}""",
            MessageType.Track));
        Assert.Equal("Order Completed", m.Event);
        Assert.Null(m.Name);
        Assert.Equal("m-1", m.MessageId);
        Assert.Equal(9.5, m.Properties.GetProperty("total").GetDouble());
        Assert.Equal(JsonValueKind.Undefined, m.Traits.ValueKind);
        Assert.Null(m.UserId);
    }

    [Theory]
    [InlineData(MessageType.Page)]
    [InlineData(MessageType.Screen)]
    public void Page_and_screen_take_the_name(MessageType type)
    {
        var m = One(Single("""{"userId":"u","name":"Home","properties":{"path":"/"},"event":"ignored"}""", type));
        Assert.Equal(type, m.Type);
        Assert.Equal("Home", m.Name);
        Assert.Null(m.Event);
    }

    [Fact]
    public void Page_name_is_optional() => Assert.Null(One(Single("""{"userId":"u"}""", MessageType.Page)).Name);

    [Fact]
    public void Group_needs_groupId_and_keeps_group_traits()
    {
        var m = One(Single("""
            {"userId":"u","groupId":"g1","traits":{"name":"Acme","email":"sales@acme.com"},
             "context":{"traits":{"email":"ann@acme.com"}}}
            """, MessageType.Group));
        Assert.Equal("g1", m.GroupId);
        Assert.Equal("Acme", m.Traits.GetProperty("name").GetString());
        // Group traits describe the group: the person's identities come from context.traits.
        Assert.Equal([new IdentityKey("email", "ann@acme.com")], m.Identities);
        HasError(Single("""{"userId":"u","traits":{}}""", MessageType.Group), "groupId");
        HasError(Single("""{"userId":"u","groupId":""}""", MessageType.Group), "groupId");
    }

    [Fact]
    public void Alias_needs_userId_and_previousId()
    {
        var m = One(Single("""{"userId":"u","previousId":"anon-9"}""", MessageType.Alias));
        Assert.Equal("anon-9", m.PreviousId);
        var r = Single("""{"anonymousId":"a"}""", MessageType.Alias);
        HasError(r, "userId");
        HasError(r, "previousId");
        Assert.Equal(2, r.Errors.Count);
    }

    [Fact]
    public void Non_identify_traits_come_from_context_traits()
    {
        var m = One(Single("""{"userId":"u","event":"E","context":{"traits":{"email":"x@y.io","plan":"pro"}}}""",
            MessageType.Track));
        Assert.Equal("pro", m.Traits.GetProperty("plan").GetString());
        Assert.Equal([new IdentityKey("email", "x@y.io")], m.Identities);
    }

    // ---------- validation ----------

    [Fact]
    public void Malformed_json_is_a_body_error()
    {
        HasError(Single("{\"userId\":", MessageType.Identify), "body");
        HasError(Single("", MessageType.Identify), "body");
        HasError(Batch("{\"batch\":[}"), "body");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"x\"")]
    [InlineData("null")]
    public void Body_must_be_an_object(string body)
    {
        HasError(Single(body, MessageType.Track), "body");
        HasError(Batch(body), "body");
    }

    [Fact]
    public void UserId_or_anonymousId_is_required()
    {
        HasError(Single("""{"traits":{}}""", MessageType.Identify), "userId");
        HasError(Single("""{"userId":"","anonymousId":""}""", MessageType.Identify), "userId");
        HasError(Single("""{"userId":null}""", MessageType.Identify), "userId");
    }

    [Fact]
    public void Numeric_ids_become_strings()
    {
        var m = One(Single("""{"userId":12345,"anonymousId":6.5}""", MessageType.Identify));
        Assert.Equal("12345", m.UserId);
        Assert.Equal("6.5", m.AnonymousId);
        Assert.Equal("12345", JsonDocument.Parse(m.Json).RootElement.GetProperty("userId").GetString());
    }

    [Fact]
    public void Wrong_types_are_all_reported_together()
    {
        var r = Single("""
            {"userId":true,"anonymousId":{},"messageId":5,"event":7,"traits":[],"properties":"x","context":3,
             "timestamp":"yesterday","sentAt":1,"originalTimestamp":"2024-13-01T00:00:00Z"}
            """, MessageType.Track);
        foreach (var field in new[] { "userId", "anonymousId", "messageId", "event", "traits", "properties", "context",
                     "timestamp", "sentAt", "originalTimestamp" })
        {
            HasError(r, field);
        }
    }

    [Theory]
    [InlineData("name")]
    [InlineData("previousId")]
    [InlineData("groupId")]
    public void Other_string_fields_must_be_strings(string field) =>
        HasError(Single($$"""{"userId":"u","{{field}}":["x"]}""", MessageType.Page), field);

    [Fact]
    public void Ids_are_limited_to_255_characters()
    {
        var ok = new string('a', 255);
        var tooLong = new string('a', 256);
        One(Single($$"""{"userId":"{{ok}}","messageId":"{{ok}}"}""", MessageType.Identify));
        var r = Single($$"""{"userId":"{{tooLong}}","anonymousId":"{{tooLong}}","messageId":"{{tooLong}}"}""",
            MessageType.Identify);
        HasError(r, "userId");
        HasError(r, "anonymousId");
        HasError(r, "messageId");
    }

    [Fact]
    public void Track_needs_a_non_empty_event()
    {
        HasError(Single("""{"userId":"u"}""", MessageType.Track), "event");
        HasError(Single("""{"userId":"u","event":""}""", MessageType.Track), "event");
        HasError(Single("""{"userId":"u","event":"  "}""", MessageType.Track), "event");
    }

    [Fact]
    public void Type_in_body_must_match_the_endpoint()
    {
        One(Single("""{"type":"track","userId":"u","event":"E"}""", MessageType.Track));
        HasError(Single("""{"type":"identify","userId":"u","event":"E"}""", MessageType.Track), "type");
        HasError(Single("""{"type":"bogus","userId":"u"}""", MessageType.Track), "type");
        HasError(Single("""{"type":3,"userId":"u"}""", MessageType.Track), "type");
    }

    [Theory]
    [InlineData("Asia/Shanghai", "Asia/Shanghai")]
    [InlineData("America/New_York", "America/New_York")]
    [InlineData("asia/shanghai", "Asia/Shanghai")]
    public void Timezone_is_validated_and_canonical(string given, string canonical)
    {
        var m = One(Single($$$"""{"userId":"u","context":{"timezone":"{{{given}}}"}}""", MessageType.Identify));
        Assert.Equal(canonical, m.Timezone);
        Assert.Equal(given, m.Context.GetProperty("timezone").GetString());
    }

    [Theory]
    [InlineData("\"Mars/Base\"")]
    [InlineData("\"China Standard Time\"")]
    [InlineData("8")]
    public void Bad_timezones_are_rejected(string value) =>
        HasError(Single($$$"""{"userId":"u","context":{"timezone":{{{value}}}}}""", MessageType.Identify), "context.timezone");

    [Fact]
    public void Locale_must_be_a_string() =>
        HasError(Single("""{"userId":"u","context":{"locale":["zh"]}}""", MessageType.Identify), "context.locale");

    [Theory]
    [InlineData("2026-05-01T10:00:00.123Z")]
    [InlineData("2026-05-01T18:00:00.123+08:00")]
    [InlineData("2026-05-01T10:00:00.123")]
    public void Iso_timestamps_are_accepted_offsetless_ones_are_utc(string ts)
    {
        var m = One(Single($$"""{"userId":"u","timestamp":"{{ts}}"}""", MessageType.Identify));
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 10, 0, 0, 123, TimeSpan.Zero), m.Timestamp);
    }

    [Theory]
    [InlineData("\"yesterday\"")]
    [InlineData("\"2026-05-01 10:00:00\"")]
    [InlineData("\"05/01/2026\"")]
    [InlineData("\"\"")]
    [InlineData("1714557600")]
    public void Garbage_timestamps_are_rejected(string value) =>
        HasError(Single($$"""{"userId":"u","timestamp":{{value}}}""", MessageType.Identify), "timestamp");

    [Fact]
    public void Size_limits_on_single_messages_are_413()
    {
        var big = new string('x', IngestLimits.MaxEventBytes);
        HasError(Single($$$"""{"userId":"u","traits":{"blob":"{{{big}}}"}}""", MessageType.Identify), "body", tooLarge: true);
    }

    // ---------- clock skew ----------

    [Fact]
    public void Skew_is_corrected_with_sentAt()
    {
        // Device clock 1h fast: sent at 13:00 device time, received at 12:00 server time.
        var m = One(Single("""{"userId":"u","timestamp":"2026-05-01T12:30:00Z","sentAt":"2026-05-01T13:00:00Z"}""",
            MessageType.Identify));
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 11, 30, 0, TimeSpan.Zero), m.Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 13, 0, 0, TimeSpan.Zero), m.SentAt);
        Assert.Null(m.OriginalTimestamp);
        var root = JsonDocument.Parse(m.Json).RootElement;
        Assert.Equal("2026-05-01T11:30:00.000Z", root.GetProperty("timestamp").GetString());
        Assert.Equal("2026-05-01T13:00:00Z", root.GetProperty("sentAt").GetString());
        Assert.Equal("2026-05-01T12:00:00.000Z", root.GetProperty("receivedAt").GetString());
    }

    [Fact]
    public void OriginalTimestamp_is_the_base_when_timestamp_is_absent()
    {
        var m = One(Single("""{"userId":"u","originalTimestamp":"2026-05-01T11:59:00Z","sentAt":"2026-05-01T11:59:30Z"}""",
            MessageType.Identify));
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 11, 59, 30, TimeSpan.Zero), m.Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 11, 59, 0, TimeSpan.Zero), m.OriginalTimestamp);
    }

    [Fact]
    public void Timestamp_without_sentAt_is_taken_as_is_and_no_timestamp_means_receivedAt()
    {
        Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
            One(Single("""{"userId":"u","timestamp":"2020-01-01T00:00:00Z"}""", MessageType.Identify)).Timestamp);
        Assert.Equal(Now, One(Single("""{"userId":"u","sentAt":"2020-01-01T00:00:00Z"}""", MessageType.Identify)).Timestamp);
    }

    // ---------- identities ----------

    [Fact]
    public void Invalid_contact_traits_give_no_identity_but_stay_traits()
    {
        var m = One(Single("""{"userId":"u","traits":{"email":"not-an-email","phone":"555-1234"}}""", MessageType.Identify));
        Assert.Empty(m.Identities);
        Assert.Equal("not-an-email", m.Traits.GetProperty("email").GetString());
    }

    [Fact]
    public void Default_country_code_option_normalises_national_phones()
    {
        var m = One(Single("""{"userId":"u","traits":{"phone":"(415) 555-2671"}}""", MessageType.Identify,
            new SegmentParseOptions("1")));
        Assert.Equal([new IdentityKey("phone", "+14155552671")], m.Identities);
    }

    [Theory]
    [InlineData("""{"device":{"token":"tok","type":"iOS"}}""", "push:ios")]
    [InlineData("""{"device":{"token":"tok"},"os":{"name":"Android"}}""", "push:android")]
    [InlineData("""{"device":{"token":"tok"}}""", "push:unknown")]
    public void Push_tokens_come_from_the_device(string context, string kind)
    {
        var m = One(Single($$"""{"anonymousId":"a","event":"Open","context":{{context}}}""", MessageType.Track));
        Assert.Equal([new IdentityKey(kind, "tok")], m.Identities);
    }

    [Fact]
    public void WeChat_traits_and_external_ids_become_identities_deduplicated()
    {
        var m = One(Single("""
            {"userId":"u","traits":{"wechat_openid":"oABC","wechat_unionid":"uXYZ","email":"a@b.co"},
             "context":{"externalIds":[
               {"id":"crm-1","type":"crm_id","collection":"users","encoding":"none"},
               {"id":"oABC","type":"wechat_openid"},
               {"id":"A@B.co","type":"email"},
               {"id":"13800138000","type":"phone"},
               {"id":42,"type":"shop_id"}]}}
            """, MessageType.Identify));
        Assert.Equal(
            [
                new IdentityKey("email", "a@b.co"),
                new IdentityKey("wechat_openid", "oABC"),
                new IdentityKey("wechat_unionid", "uXYZ"),
                new IdentityKey("external:crm_id", "crm-1"),
                new IdentityKey("phone", "+8613800138000"),
                new IdentityKey("external:shop_id", "42"),
            ],
            m.Identities);
        Assert.DoesNotContain(m.Identities, k => k.Kind is IdentityKinds.UserId or IdentityKinds.AnonymousId);
    }

    [Fact]
    public void Malformed_external_ids_are_reported()
    {
        var r = Single("""{"userId":"u","context":{"externalIds":[{"type":"crm"},{"id":"x"},"s",{"id":"y","type":"t","collection":1}]}}""",
            MessageType.Identify);
        HasError(r, "context.externalIds[0].id");
        HasError(r, "context.externalIds[1].type");
        HasError(r, "context.externalIds[2]");
        HasError(r, "context.externalIds[3].collection");
        HasError(Single("""{"userId":"u","context":{"externalIds":{}}}""", MessageType.Identify), "context.externalIds");
    }

    // ---------- JSON ----------

    [Fact]
    public void Json_is_the_normalised_message_without_writeKey()
    {
        var r = Single("""
            {"writeKey":"wk","userId":"u","event":"买了","properties":{"商品":"茶"},"integrations":{"All":true},
             "receivedAt":"1999-01-01T00:00:00Z","context":{"ip":"1.2.3.4"}}
            """, MessageType.Track);
        Assert.Equal("wk", r.WriteKey);
        var m = One(r);
        Assert.DoesNotContain("writeKey", m.Json, StringComparison.Ordinal);
        Assert.Contains("买了", m.Json, StringComparison.Ordinal); // not \u-escaped
        var root = JsonDocument.Parse(m.Json).RootElement;
        Assert.Equal("track", root.GetProperty("type").GetString());
        Assert.Equal("generated-id", root.GetProperty("messageId").GetString());
        Assert.Equal("买了", root.GetProperty("event").GetString());
        Assert.Equal("茶", root.GetProperty("properties").GetProperty("商品").GetString());
        Assert.True(root.GetProperty("integrations").GetProperty("All").GetBoolean());
        Assert.Equal("1.2.3.4", root.GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("2026-05-01T12:00:00.000Z", root.GetProperty("receivedAt").GetString());
        Assert.Equal("2026-05-01T12:00:00.000Z", root.GetProperty("timestamp").GetString());
        Assert.Equal("买了", m.Event);
    }

    [Fact]
    public void Escaped_chinese_input_round_trips()
    {
        var m = One(Single("""{"userId":"\u5f20\u4e09","traits":{"name":"\u5f20\u4e09"}}""", MessageType.Identify));
        Assert.Equal("张三", m.UserId);
        Assert.Equal("张三", m.Traits.GetProperty("name").GetString());
        Assert.Contains("张三", m.Json, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_elements_stay_valid_after_the_buffer_is_reused()
    {
        var body = Encoding.UTF8.GetBytes("""{"userId":"u","traits":{"k":"v"}}""");
        var r = SegmentParser.ParseSingle(body, MessageType.Identify, Now, () => "id");
        Array.Clear(body);
        Assert.Equal("v", One(r).Traits.GetProperty("k").GetString());
        Assert.Equal(JsonValueKind.Object, One(r).Context.ValueKind);
    }
}

public class SegmentJsonShapeTests
{
    [Fact]
    public void Pretty_printed_input_is_stored_compact()
    {
        var m = SegmentParserTests.One(SegmentParserTests.Single("""
            {
              "userId" : "u",
              "traits" : { "name" : "A B", "nested" : [ 1, 2 ] },
              "context" : { "ip" : "1.2.3.4" }
            }
            """, Chuda.Domain.Ingestion.MessageType.Identify));
        Assert.DoesNotContain("\n", m.Json, StringComparison.Ordinal);
        Assert.Contains("\"traits\":{\"name\":\"A B\",\"nested\":[1,2]}", m.Json, StringComparison.Ordinal);
        Assert.Contains("\"context\":{\"ip\":\"1.2.3.4\"}", m.Json, StringComparison.Ordinal);
    }

    [Fact]
    public void Escaped_field_names_are_recognised()
    {
        var r = SegmentParserTests.Single("""{"user\u0049d":"u","context":{"time\u007Aone":"Mars/Base"}}""",
            Chuda.Domain.Ingestion.MessageType.Identify);
        Assert.Contains(r.Errors, e => e.Field == "context.timezone");
        var m = SegmentParserTests.One(SegmentParserTests.Single("""{"user\u0049d":"u"}""", Chuda.Domain.Ingestion.MessageType.Identify));
        Assert.Equal("u", m.UserId);
    }

    [Fact]
    public void Trailing_content_after_the_body_is_malformed() =>
        Assert.Contains(SegmentParserTests.Single("""{"userId":"u"} {}""", Chuda.Domain.Ingestion.MessageType.Identify).Errors,
            e => e.Field == "body");
}
