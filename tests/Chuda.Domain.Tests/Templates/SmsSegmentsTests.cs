using Chuda.Domain.Templates;

namespace Chuda.Domain.Tests.Templates;

public class SmsSegmentsTests
{
    private static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(160, 1)]
    [InlineData(161, 2)]
    [InlineData(306, 2)]
    [InlineData(307, 3)]
    [InlineData(459, 3)]
    [InlineData(460, 4)]
    public void Gsm7_boundaries(int length, int segments)
    {
        var text = Repeat("a", length);
        Assert.Equal(new SmsMeasure("GSM-7", length, segments), SmsSegments.Measure(text));
        Assert.Equal(segments, SmsSegments.Split(text).Count);
    }

    [Theory]
    [InlineData(70, 1)]
    [InlineData(71, 2)]
    [InlineData(134, 2)]
    [InlineData(135, 3)]
    [InlineData(201, 3)]
    [InlineData(202, 4)]
    public void Ucs2_boundaries(int length, int segments)
    {
        var text = Repeat("你", length);
        Assert.Equal(new SmsMeasure("UCS-2", length, segments), SmsSegments.Measure(text));
        Assert.Equal(segments, SmsSegments.Split(text).Count);
    }

    [Fact]
    public void The_whole_gsm_alphabet_is_one_septet_each_and_extensions_two()
    {
        const string basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        Assert.Equal(127, basic.Length);
        Assert.Equal(new SmsMeasure("GSM-7", 127, 1), SmsSegments.Measure(basic));
        const string extension = "^{}\\[~]|€\f";
        Assert.Equal(new SmsMeasure("GSM-7", 20, 1), SmsSegments.Measure(extension));
        Assert.Equal(new SmsMeasure("GSM-7", 160, 1), SmsSegments.Measure(Repeat("a", 158) + "€"));
        Assert.Equal(new SmsMeasure("GSM-7", 161, 2), SmsSegments.Measure(Repeat("a", 159) + "€"));
    }

    [Theory]
    [InlineData("ç")]      // only the capital Ç is in the alphabet
    [InlineData("á")]
    [InlineData("`")]
    [InlineData("你")]
    [InlineData("😀")]
    [InlineData("\t")]
    public void One_character_outside_gsm7_makes_the_message_ucs2(string odd)
    {
        var m = SmsSegments.Measure("Hello " + odd);
        Assert.Equal("UCS-2", m.Encoding);
        Assert.Equal(6 + odd.Length, m.Length);
    }

    [Fact]
    public void Emoji_count_two_units()
    {
        Assert.Equal(new SmsMeasure("UCS-2", 70, 1), SmsSegments.Measure(Repeat("😀", 35)));
        Assert.Equal(new SmsMeasure("UCS-2", 72, 2), SmsSegments.Measure(Repeat("😀", 36)));
    }

    [Fact]
    public void An_extension_character_is_not_split_at_a_segment_boundary()
    {
        // 152 septets then '€' (2): it does not fit the first 153-septet part, so it starts the second.
        var text = Repeat("a", 152) + "€" + Repeat("b", 10);
        var m = SmsSegments.Measure(text);
        Assert.Equal(new SmsMeasure("GSM-7", 164, 2), m);
        var parts = SmsSegments.Split(text);
        Assert.Equal(Repeat("a", 152), parts[0]);
        Assert.Equal("€" + Repeat("b", 10), parts[1]);

        // Exactly filling 153 with the escape pair last is fine.
        var exact = Repeat("a", 151) + "€" + Repeat("b", 10);
        Assert.Equal([Repeat("a", 151) + "€", Repeat("b", 10)], SmsSegments.Split(exact));

        // 306 septets counted naively, but the pair at 152/153 pushes one septet into a third part.
        var pushed = Repeat("a", 152) + "{" + Repeat("a", 152);
        Assert.Equal(306, SmsSegments.Measure(pushed).Length);
        Assert.Equal(3, SmsSegments.Measure(pushed).Segments);
        Assert.Equal(3, SmsSegments.Split(pushed).Count);
    }

    [Fact]
    public void A_surrogate_pair_is_not_split_at_a_segment_boundary()
    {
        var text = Repeat("你", 66) + "😀" + Repeat("你", 10);
        var m = SmsSegments.Measure(text);
        Assert.Equal(new SmsMeasure("UCS-2", 78, 2), m);
        var parts = SmsSegments.Split(text);
        Assert.Equal(Repeat("你", 66), parts[0]);
        Assert.Equal("😀" + Repeat("你", 10), parts[1]);
        Assert.All(parts, p => Assert.False(char.IsHighSurrogate(p[^1])));

        var pushed = Repeat("你", 66) + "😀" + Repeat("你", 66);
        Assert.Equal(134, SmsSegments.Measure(pushed).Length);
        Assert.Equal(3, SmsSegments.Measure(pushed).Segments);
    }

    [Fact]
    public void Parts_concatenate_to_the_text_and_respect_the_limits()
    {
        foreach (var text in new[] { Repeat("a€", 200), Repeat("ab😀", 90), Repeat("x", 1000), "short" })
        {
            var parts = SmsSegments.Split(text);
            Assert.Equal(text, string.Concat(parts));
            var gsm = SmsSegments.IsGsm7(text);
            foreach (var part in parts)
            {
                Assert.True(SmsSegments.Measure(part).Length <= (parts.Count == 1 ? (gsm ? 160 : 70) : (gsm ? 153 : 67)));
            }
        }
    }
}
