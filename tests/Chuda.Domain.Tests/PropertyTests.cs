using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Chuda.Domain.Tests;

public class PropertyTests
{
    private static readonly Gen<string> Keys = Gen.Elements("a", "b", "c", "名", "d");

    private static Gen<string> JsonValue(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.Constant("null"),
            Gen.Choose(-5, 5).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Elements("\"x\"", "\"上海\"", "true", "[1,null]", "[]"));
        return depth <= 0 ? scalar : Gen.Frequency((3, scalar), (2, JsonObject(depth - 1)));
    }

    private static Gen<string> JsonObject(int depth) =>
        Gen.ListOf(Gen.Zip(Keys, JsonValue(depth)), 4)
            .Select(pairs =>
            {
                var seen = new HashSet<string>();
                var parts = new List<string>();
                foreach (var (k, v) in pairs)
                {
                    if (seen.Add(k))
                    {
                        parts.Add($"\"{k}\":{v}");
                    }
                }

                return "{" + string.Join(",", parts) + "}";
            });

    [Property(MaxTest = 300)]
    public Property Trait_merge_is_idempotent() =>
        Prop.ForAll(Gen.Zip(JsonObject(3), JsonObject(3)).ToArbitrary(), pair =>
        {
            var (a, b) = pair;
            var incoming = JsonDocument.Parse(b).RootElement;
            var once = TraitMerge.Merge(a, incoming);
            return TraitMerge.Merge(once, incoming) == once;
        });

    [Property(MaxTest = 300)]
    public Property Merge_objects_is_idempotent_and_into_wins() =>
        Prop.ForAll(Gen.Zip(JsonObject(3), JsonObject(3)).ToArbitrary(), pair =>
        {
            var (a, b) = pair;
            var once = TraitMerge.MergeObjects(a, b);
            var ok = TraitMerge.MergeObjects(once, b) == once;
            foreach (var prop in JsonDocument.Parse(a).RootElement.EnumerateObject())
            {
                if (prop.Value.ValueKind != JsonValueKind.Object)
                {
                    ok &= JsonDocument.Parse(once).RootElement.GetProperty(prop.Name).GetRawText() == prop.Value.GetRawText();
                }
            }

            return ok;
        });

    private static readonly Gen<string> Separators = Gen.Elements("", " ", "-", ".", " - ");

    [Property(MaxTest = 300)]
    public Property Formatted_phone_normalises_like_its_plain_form() =>
        Prop.ForAll(
            Gen.Zip(
                Gen.Zip(Gen.Elements("+", "00", ""), Gen.ListOf(Gen.Choose(0, 9), 11)),
                Gen.Zip(Separators, Gen.Elements(true, false))).ToArbitrary(),
            t =>
            {
                var ((prefix, digits), (sep, parens)) = t;
                var plain = prefix + string.Concat(digits);
                var sb = new StringBuilder(prefix);
                for (var i = 0; i < digits.Count; i++)
                {
                    if (parens && i == 2)
                    {
                        sb.Append('(');
                    }

                    sb.Append(digits[i]);
                    if (parens && i == 4)
                    {
                        sb.Append(')');
                    }

                    if (i % 3 == 2)
                    {
                        sb.Append(sep);
                    }
                }

                var a = Normalization.TryNormalizePhone(plain, "44", out var pa);
                var b = Normalization.TryNormalizePhone(sb.ToString(), "44", out var pb);
                return a == b && pa == pb;
            });

    [Property(MaxTest = 300)]
    public Property Skew_correction_shifts_by_receivedAt_minus_sentAt() =>
        Prop.ForAll(
            Gen.Zip(Gen.Choose(-86_400, 86_400), Gen.Zip(Gen.Choose(-100_000, 100_000), Gen.Choose(0, 999))).ToArbitrary(),
            t =>
            {
                var (baseOffset, (skewSeconds, ms)) = t;
                var received = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
                var sent = received.AddSeconds(skewSeconds).AddMilliseconds(ms);
                var baseTime = sent.AddSeconds(-Math.Abs(baseOffset));
                var body = $$"""{"userId":"u","timestamp":"{{baseTime:O}}","sentAt":"{{sent:O}}"}""";
                var r = SegmentParser.ParseSingle(Encoding.UTF8.GetBytes(body), MessageType.Identify, received, () => "id");
                var m = Assert.Single(r.Messages);
                return m.Timestamp - baseTime == received - sent;
            });
}
