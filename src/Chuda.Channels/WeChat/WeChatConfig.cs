using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chuda.Channels.WeChat;

/// <summary>Reading and checking the JSON configuration of the WeChat and WeCom providers.</summary>
public static class WeChatConfig
{
    public static string? Str(JsonElement config, string name) =>
        config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Bool(JsonElement config, string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static int Int(JsonElement config, string name, int fallback) =>
        config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;

    /// <summary>The endpoint as a base URI ending in <c>/</c> (so relative API paths keep any path prefix of a proxy).</summary>
    public static Uri Endpoint(JsonElement config, string fallback)
    {
        var text = Str(config, "endpoint") ?? fallback;
        return new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute);
    }

    public static void Unknown(JsonElement config, IReadOnlyCollection<string> known, List<(string, string)> errors)
    {
        foreach (var p in config.EnumerateObject())
        {
            if (!known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", known)}"));
        }
    }

    public static void RequiredString(JsonElement config, string name, string what, List<(string, string)> errors)
    {
        if (!config.TryGetProperty(name, out var v)) errors.Add(($"$.config.{name}", "required: " + what));
        else if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString())) errors.Add(($"$.config.{name}", "expected a non-empty string: " + what));
    }

    public static void Endpoint(JsonElement config, List<(string, string)> errors)
    {
        if (!config.TryGetProperty("endpoint", out var v)) return;
        if (v.ValueKind != JsonValueKind.String || !Uri.TryCreate(v.GetString(), UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http") ||
            !string.IsNullOrEmpty(u.Query) || !string.IsNullOrEmpty(u.Fragment))
            errors.Add(("$.config.endpoint", "expected an absolute https base URL without query, e.g. https://api.weixin.qq.com"));
        // The secret travels in the token request: plain http only to this machine (a local proxy, a test double).
        else if (u.Scheme == "http" && !u.IsLoopback)
            errors.Add(("$.config.endpoint", "expected https (plain http only for a loopback address)"));
    }

    public static void Range(JsonElement config, string name, int min, int max, List<(string, string)> errors)
    {
        if (config.TryGetProperty(name, out var v) && (!v.TryGetInt32(out var n) || n < min || n > max))
            errors.Add(($"$.config.{name}", string.Create(CultureInfo.InvariantCulture, $"expected an integer {min}-{max}")));
    }

    public static void Boolean(JsonElement config, string name, List<(string, string)> errors)
    {
        if (config.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            errors.Add(($"$.config.{name}", "expected true or false"));
    }

    /// <summary>A cache key that does not keep the secret itself.</summary>
    public static string CacheKey(params string[] parts)
    {
        var text = string.Join('\n', parts);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
