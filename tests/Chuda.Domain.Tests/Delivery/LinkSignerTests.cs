using System.Security.Cryptography;
using System.Text;
using Chuda.Domain.Delivery;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Chuda.Domain.Tests.Delivery;

public class LinkSignerTests
{
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly LinkSigner Signer = new(Key);
    private static readonly string[] Parts = ["m_42", "3", "https://shop.example/sale?x=1"];

    /// <summary>The signature computed independently: HMAC-SHA256 over purpose and parts joined by U+001F, first 16 bytes, base64url.</summary>
    private static string Expected(byte[] key, string purpose, params string[] parts)
    {
        // Each field length-prefixed ("5:click3:abc…"), so no re-split of the parts signs the same.
        var payload = string.Concat(((string[])[purpose, .. parts]).Select(p => p.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + p));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(payload));
        return Convert.ToBase64String(mac, 0, 16).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    // ---- link signatures ---------------------------------------------------------------------------

    [Fact]
    public void A_signature_is_16_bytes_of_hmac_sha256_in_base64url()
    {
        var sig = Signer.Sign("click", Parts);
        Assert.Equal(Expected(Key, "click", Parts), sig);
        Assert.Equal(22, sig.Length);
        Assert.All(sig, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"'{c}' is not URL-safe"));
        Assert.Equal(16, LinkSigner.FromBase64Url(sig)!.Length);
    }

    [Fact]
    public void Signing_is_deterministic_and_verifies()
    {
        Assert.Equal(Signer.Sign("click", Parts), new LinkSigner(Key).Sign("click", Parts));
        Assert.True(Signer.Verify(Signer.Sign("click", Parts), "click", Parts));
        Assert.True(Signer.Verify(Signer.Sign("open"), "open"));
        Assert.True(Signer.Verify(Signer.Sign("unsubscribe", "ünïcødé", "上海"), "unsubscribe", "ünïcødé", "上海"));
    }

    [Fact]
    public void Another_purpose_fails()
    {
        var sig = Signer.Sign("click", Parts);
        Assert.False(Signer.Verify(sig, "open", Parts));
        Assert.False(Signer.Verify(sig, "Click", Parts));
        Assert.False(Signer.Verify(sig, "", Parts));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Changing_any_part_fails(int index)
    {
        var sig = Signer.Sign("click", Parts);
        foreach (var changed in new[] { Parts[index] + "x", "", Parts[index].ToUpperInvariant(), Parts[index][..^1] })
        {
            if (changed == Parts[index]) continue;
            var parts = (string[])Parts.Clone();
            parts[index] = changed;
            Assert.False(Signer.Verify(sig, "click", parts), $"part {index} changed to '{changed}' still verifies");
        }
    }

    [Fact]
    public void Adding_removing_or_reordering_parts_fails()
    {
        var sig = Signer.Sign("click", Parts);
        Assert.False(Signer.Verify(sig, "click", [.. Parts, ""]));
        Assert.False(Signer.Verify(sig, "click", Parts[..2]));
        Assert.False(Signer.Verify(sig, "click", [Parts[1], Parts[0], Parts[2]]));
        Assert.False(Signer.Verify(sig, "click"));
        Assert.NotEqual(Signer.Sign("p"), Signer.Sign("p", ""));
    }

    [Fact]
    public void Moving_a_part_boundary_fails()
    {
        var sig = Signer.Sign("click", "m_42", "https://a.example");
        Assert.False(Signer.Verify(sig, "click", "m_42\u001fhttps://a.example"));
        Assert.False(Signer.Verify(sig, "click\u001fm_42", "https://a.example"));
    }

    [Fact]
    public void A_tampered_signature_fails()
    {
        var sig = Signer.Sign("click", Parts);
        for (var i = 0; i < sig.Length; i++)
        {
            var chars = sig.ToCharArray();
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            Assert.False(Signer.Verify(new string(chars), "click", Parts), $"changed at {i}");
        }
        Assert.False(Signer.Verify(sig[..^1], "click", Parts));
        Assert.False(Signer.Verify(sig + "A", "click", Parts));
        Assert.False(Signer.Verify(sig + "==", "click", Parts));
        var letter = sig.IndexOfAny([.. "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]);
        var swapped = sig[..letter] + (char.IsUpper(sig[letter]) ? char.ToLowerInvariant(sig[letter]) : char.ToUpperInvariant(sig[letter])) + sig[(letter + 1)..];
        Assert.False(Signer.Verify(swapped, "click", Parts)); // base64url is case-sensitive
        Assert.False(Signer.Verify(Expected(Key, "click", Parts).Replace('-', '+').Replace('_', '/') + "x", "click", Parts));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void A_missing_signature_fails(string? signature) => Assert.False(Signer.Verify(signature, "click", Parts));

    [Fact]
    public void An_overlong_signature_fails() => Assert.False(Signer.Verify(new string('A', 65), "click", Parts));

    [Fact]
    public void Another_key_fails()
    {
        var other = (byte[])Key.Clone();
        other[31] ^= 1;
        var sig = Signer.Sign("click", Parts);
        Assert.False(new LinkSigner(other).Verify(sig, "click", Parts));
        Assert.NotEqual(sig, new LinkSigner(other).Sign("click", Parts));
        Assert.False(new LinkSigner(new byte[32]).Verify(sig, "click", Parts));
    }

    [Fact]
    public void The_key_is_copied()
    {
        var key = (byte[])Key.Clone();
        var signer = new LinkSigner(key);
        var before = signer.Sign("click", Parts);
        key[0] ^= 0xff;
        Assert.Equal(before, signer.Sign("click", Parts));
    }

    // ---- user tokens -----------------------------------------------------------------------------

    [Fact]
    public void A_user_token_is_the_lower_case_hex_hmac_of_the_user_id()
    {
        var token = LinkSigner.UserToken("inbox-secret", "user-1");
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("inbox-secret"), Encoding.UTF8.GetBytes("user-1")));
        Assert.Equal(expected, token);
        Assert.Equal(64, token.Length);
        Assert.Equal(token.ToLowerInvariant(), token);
    }

    [Fact]
    public void A_user_token_verifies_for_its_user_and_secret_only()
    {
        var token = LinkSigner.UserToken("inbox-secret", "user-1");
        Assert.True(LinkSigner.VerifyUserToken("inbox-secret", "user-1", token));
        Assert.True(LinkSigner.VerifyUserToken("inbox-secret", "user-1", token.ToUpperInvariant())); // hex is case-insensitive
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-2", token));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "User-1", token));
        Assert.False(LinkSigner.VerifyUserToken("other-secret", "user-1", token));
        Assert.True(LinkSigner.VerifyUserToken("s", "用户", LinkSigner.UserToken("s", "用户")));
    }

    [Fact]
    public void A_malformed_user_token_fails()
    {
        var token = LinkSigner.UserToken("inbox-secret", "user-1");
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", null));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", ""));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", token[..63]));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", token + "0"));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", token[..62] + "  "));
        var flipped = token[..^1] + (token[^1] == '0' ? '1' : '0');
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", flipped));
        Assert.False(LinkSigner.VerifyUserToken("inbox-secret", "user-1", new string('0', 64)));
    }

    // ---- base64url -------------------------------------------------------------------------------

    [Theory]
    [InlineData(new byte[0], "")]
    [InlineData(new byte[] { 0xfb }, "-w")]
    [InlineData(new byte[] { 0xff, 0xff }, "__8")]
    [InlineData(new byte[] { 0xfb, 0xff, 0xbf }, "-_-_")]
    [InlineData(new byte[] { 1, 2, 3, 4 }, "AQIDBA")]
    public void Base64url_has_no_padding_and_url_safe_characters(byte[] bytes, string text)
    {
        Assert.Equal(text, LinkSigner.Base64Url(bytes));
        Assert.Equal(bytes, LinkSigner.FromBase64Url(text));
    }

    [Theory]
    [InlineData("A")]       // a length of 1 mod 4 is never valid
    [InlineData("AAAAA")]
    [InlineData("AB$D")]
    [InlineData("ab=c")]
    [InlineData("é")]
    public void Invalid_base64url_is_null(string text) => Assert.Null(LinkSigner.FromBase64Url(text));

    [Property(MaxTest = 500)]
    public Property Base64url_round_trips() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            var text = LinkSigner.Base64Url(bytes);
            var back = LinkSigner.FromBase64Url(text);
            return (back is not null && back.AsSpan().SequenceEqual(bytes)
                    && !text.Contains('=', StringComparison.Ordinal) && !text.Contains('+', StringComparison.Ordinal)
                    && !text.Contains('/', StringComparison.Ordinal))
                .Label($"{Convert.ToHexString(bytes)} → {text}");
        });

    [Property(MaxTest = 300)]
    public Property Signatures_verify_and_any_change_of_a_part_fails() =>
        Prop.ForAll(
            (from purpose in Gen.Elements("click", "open", "unsubscribe", "prefs")
             from parts in Gen.ArrayOf(ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get.Replace('\u001f', ' ')))
             from index in Gen.Choose(0, 100)
             from extra in Gen.Elements("x", "0", " ", "é")
             select (purpose, parts, index, extra)).ToArbitrary(),
            c =>
            {
                var sig = Signer.Sign(c.purpose, c.parts);
                if (!Signer.Verify(sig, c.purpose, c.parts)) return false.Label("does not verify");
                if (c.parts.Length == 0) return (!Signer.Verify(sig, c.purpose + c.extra)).Label("a changed purpose still verifies");
                var changed = (string[])c.parts.Clone();
                var i = c.index % changed.Length;
                changed[i] += c.extra;
                return (!Signer.Verify(sig, c.purpose, changed)).Label($"part {i} changed still verifies");
            });
}
