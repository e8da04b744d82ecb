using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Chuda.Channels.Push;

/// <summary>HTTP helpers shared by the push providers.</summary>
internal static class PushHttp
{
    /// <summary>The wait a response asks for (<c>Retry-After</c> as seconds or as a date), or null.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header is null) return null;
        if (header.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    /// <summary>The start of a response body for a result's detail (at most 300 characters, one line).</summary>
    public static string Excerpt(string body)
    {
        var text = body.ReplaceLineEndings(" ").Trim();
        return text.Length <= 300 ? text : text[..300] + "…";
    }

    /// <summary>Reads a response body as text, at most <paramref name="limit"/> characters' worth; never throws for I/O.</summary>
    public static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken, int limit = 16 * 1024)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return text.Length > limit ? text[..limit] : text;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return "";
        }
    }

    /// <summary>Parses a JSON object body, or returns default when it is not one.</summary>
    public static JsonElement ParseObject(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return default;
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : default;
        }
        catch (JsonException)
        {
            return default;
        }
    }

    public static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static MediaTypeHeaderValue Json { get; } = new("application/json") { CharSet = "utf-8" };

    /// <summary>Whether an exception from <c>SendAsync</c> means the service could not be reached (refused, reset, DNS, timeout).</summary>
    public static bool IsConnectionFailure(Exception ex) => ex is HttpRequestException or IOException or TaskCanceledException or WebException;
}
