using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Chuda.Channels.Providers;

namespace Chuda.Channels.WeChat;

/// <summary>A WeChat / WeCom API answer: the JSON body and its <c>errcode</c> / <c>errmsg</c> (a missing <c>errcode</c> is 0),
/// or a transport failure (no answer, a non-2xx status, a body that is not JSON), which is a provider-level failure.</summary>
public sealed record WeChatApiResponse(JsonElement Body, int ErrCode, string ErrMsg, ProviderResult? TransportFailure)
{
    public string? GetString(string name) => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v)
        ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        }
        : null;

    public long? GetInt64(string name) => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v)
        ? v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetInt64(out var n) => n,
            JsonValueKind.String when long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
            _ => null,
        }
        : null;
}

/// <summary>
/// HTTP calls to <c>api.weixin.qq.com</c> / <c>qyapi.weixin.qq.com</c> (or a configured endpoint) through one shared
/// <see cref="HttpClient"/> (connection pooling), each bounded by a timeout on the injected <see cref="TimeProvider"/>.
/// The request URL carries the access token or the app secret, so it never appears in a result's detail.
/// </summary>
public sealed class WeChatHttp(HttpClient client, TimeProvider time)
{
    private const int MaxResponseBytes = 1 << 20;

    public TimeProvider Time => time;

    public static HttpClient CreateClient(HttpMessageHandler? handler = null) =>
        new(handler ?? new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    public Task<WeChatApiResponse> GetAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, url, null, timeout, cancellationToken);

    public Task<WeChatApiResponse> PostJsonAsync(Uri url, byte[] json, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, url, json, timeout, cancellationToken);

    private async Task<WeChatApiResponse> SendAsync(HttpMethod method, Uri url, byte[]? json, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using var request = new HttpRequestMessage(method, url);
            if (json is not null)
            {
                request.Content = new ByteArrayContent(json);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var status = (int)response.StatusCode;
            if (status is < 200 or > 299)
                return Failed($"{HostOf(url)} answered HTTP {status}");
            var body = await ReadLimitedAsync(response.Content, linked.Token);
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(body);
                root = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                return Failed($"{HostOf(url)} answered HTTP {status} with a body that is not JSON");
            }
            if (root.ValueKind != JsonValueKind.Object) return Failed($"{HostOf(url)} answered with JSON that is not an object");
            var code = root.TryGetProperty("errcode", out var c) && c.TryGetInt32(out var n) ? n : 0;
            var message = root.TryGetProperty("errmsg", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : "";
            return new WeChatApiResponse(root, code, message, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed($"{HostOf(url)} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return Failed($"{HostOf(url)} could not be reached: {ex.Message}");
        }
        catch (IOException ex)
        {
            return Failed($"{HostOf(url)}: connection failed: {ex.Message}");
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes) throw new HttpRequestException("response body larger than 1 MiB");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string HostOf(Uri url) => url.IsDefaultPort ? url.Host : $"{url.Host}:{url.Port}";

    private static WeChatApiResponse Failed(string detail) =>
        new(default, 0, "", new ProviderResult(ProviderOutcome.TransientFailure, detail, ProviderDown: true));
}
