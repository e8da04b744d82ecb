using Chuda.Domain.Profiles;

namespace Chuda.Domain.Tests;

public class NormalizationTests
{
    [Theory]
    [InlineData("+86 138-0013-8000", null, "+8613800138000")]
    [InlineData("13800138000", null, "+8613800138000")]
    [InlineData("138 0013 8000", null, "+8613800138000")]
    [InlineData("008613800138000", null, "+8613800138000")]
    [InlineData("+1 (415) 555-2671", null, "+14155552671")]
    [InlineData("+44 20.7946.0958", null, "+442079460958")]
    [InlineData("020 7946 0958", "44", "+442079460958")]
    [InlineData("(415) 555-2671", "+1", "+14155552671")]
    [InlineData(" 4155552671 ", "1", "+14155552671")]
    public void Phone_numbers_normalise_to_E164(string raw, string? cc, string expected)
    {
        Assert.True(Normalization.TryNormalizePhone(raw, cc, out var e164));
        Assert.Equal(expected, e164);
    }

    [Theory]
    [InlineData("4155552671", null)] // national, no default country
    [InlineData("12800138000", null)] // 11 digits but 12x is not a Chinese mobile
    [InlineData("+0123456789", null)] // first digit 0
    [InlineData("+1234567", null)] // 7 digits: too short
    [InlineData("+1234567890123456", null)] // 16 digits: too long
    [InlineData("+86 138 0013 8000 ext 5", null)]
    [InlineData("call me", null)]
    [InlineData("", null)]
    [InlineData("+", null)]
    [InlineData("1+2345678901", null)]
    [InlineData("4155552671", "abc")]
    public void Bad_phone_numbers_are_rejected(string raw, string? cc) =>
        Assert.False(Normalization.TryNormalizePhone(raw, cc, out _));

    [Theory]
    [InlineData("  Alice@Example.COM ", "alice@example.com")]
    [InlineData("bob.smith+tag@mail.example.co.uk", "bob.smith+tag@mail.example.co.uk")]
    [InlineData("张三@例子.中国", "张三@例子.中国")]
    public void Emails_are_trimmed_and_lower_cased(string raw, string expected)
    {
        Assert.True(Normalization.TryNormalizeEmail(raw, out var email));
        Assert.Equal(expected, email);
    }

    [Theory]
    [InlineData("not an email")]
    [InlineData("alice")]
    [InlineData("alice@")]
    [InlineData("@example.com")]
    [InlineData("alice@example")]
    [InlineData("a@b@example.com")]
    [InlineData("alice@.example.com")]
    [InlineData("alice@example..com")]
    [InlineData("al ice@example.com")]
    [InlineData("")]
    public void Bad_emails_are_rejected(string raw) => Assert.False(Normalization.TryNormalizeEmail(raw, out _));

    [Theory]
    [InlineData("Asia/Shanghai", "Asia/Shanghai")]
    [InlineData("America/New_York", "America/New_York")]
    [InlineData("asia/shanghai", "Asia/Shanghai")]
    [InlineData("UTC", "UTC")]
    [InlineData("Etc/GMT+8", "Etc/GMT+8")]
    [InlineData("Europe/London", "Europe/London")]
    public void Iana_zones_are_valid(string id, string canonical)
    {
        Assert.True(Normalization.IsValidTimeZone(id, out var c));
        Assert.Equal(canonical, c);
    }

    [Theory]
    [InlineData("Mars/Base")]
    [InlineData("China Standard Time")] // Windows id: .NET resolves it, but it is not IANA
    [InlineData("")]
    [InlineData("../etc/passwd")]
    [InlineData("/Asia/Shanghai")]
    [InlineData(" Asia/Shanghai")]
    [InlineData("+08:00")]
    public void Other_zone_ids_are_rejected(string id) => Assert.False(Normalization.IsValidTimeZone(id, out _));
}
