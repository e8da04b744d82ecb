using System.Text;
using System.Text.Json;

namespace Chuda.Channels.Sms.Http;

/// <summary>How a gateway's answer to a send is read.</summary>
public sealed record HttpSmsResponseMapping(
    IReadOnlySet<int>? SuccessStatus,
    SimpleJsonPath? MessageIdPath,
    SimpleJsonPath? ErrorCodePath,
    SimpleJsonPath? ErrorMessagePath,
    IReadOnlySet<string> SuccessCodes,
    IReadOnlySet<string> PermanentCodes,
    IReadOnlySet<string> InvalidNumberCodes,
    IReadOnlySet<string> TransientCodes);

/// <summary>How a gateway's callbacks (delivery reports, inbound messages) are read.</summary>
public sealed record HttpSmsCallbackMapping(
    HmacSignatureSpec Signature,
    SimpleJsonPath? MessageIdPath,
    SimpleJsonPath? StatusPath,
    IReadOnlySet<string> DeliveredValues,
    IReadOnlySet<string> FailedValues,
    IReadOnlySet<string> UndeliverableValues,
    SimpleJsonPath? InboundFromPath,
    SimpleJsonPath? InboundTextPath);

/// <summary>A parsed, valid generic HTTP SMS gateway configuration (see <see cref="Providers.HttpSmsProviderFactory"/>).</summary>
public sealed record HttpSmsConfig(
    HttpMethod Method,
    PlaceholderTemplate Url,
    IReadOnlyList<(string Name, PlaceholderTemplate Value)> Headers,
    PlaceholderTemplate? Body,
    string BodyType,
    IReadOnlyDictionary<string, string> Secrets,
    HmacSignatureSpec? Signature,
    HttpSmsResponseMapping Response,
    HttpSmsCallbackMapping? Callback)
{
    private static readonly string[] Known = ["method", "url", "headers", "body", "bodyType", "secrets", "signature", "response", "callback"];
    private static readonly string[] KnownResponse =
        ["successStatus", "messageIdPath", "errorCodePath", "errorMessagePath", "successCodes", "permanentCodes", "invalidNumberCodes", "transientCodes"];
    private static readonly string[] KnownCallback =
        ["messageIdPath", "statusPath", "deliveredValues", "failedValues", "undeliverableValues", "signature", "inbound"];

    public PlaceholderEscape BodyEscape => BodyType switch { "json" => PlaceholderEscape.Json, "form" => PlaceholderEscape.Form, _ => PlaceholderEscape.None };

    public string ContentType => BodyType switch
    {
        "json" => "application/json; charset=utf-8",
        "form" => "application/x-www-form-urlencoded; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };

    /// <summary>Parses <paramref name="config"/>; null when it has problems, which are added to <paramref name="errors"/>.</summary>
    public static HttpSmsConfig? Parse(JsonElement config, List<(string Path, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"url\": …, \"body\": …, \"response\": {…}}"));
            return null;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (config.TryGetProperty("secrets", out var secretsElement))
        {
            if (secretsElement.ValueKind != JsonValueKind.Object) errors.Add(("$.config.secrets", "expected an object of name → string"));
            else
            {
                foreach (var s in secretsElement.EnumerateObject())
                {
                    if (s.Value.ValueKind != JsonValueKind.String || s.Value.GetString()!.Length == 0) errors.Add(($"$.config.secrets.{s.Name}", "expected a non-empty string"));
                    else secrets[s.Name] = s.Value.GetString()!;
                }
            }
        }
        var method = HttpMethod.Post;
        if (config.TryGetProperty("method", out var m))
        {
            switch (m.ValueKind == JsonValueKind.String ? m.GetString() : null)
            {
                case "GET": method = HttpMethod.Get; break;
                case "POST": method = HttpMethod.Post; break;
                case "PUT": method = HttpMethod.Put; break;
                default: errors.Add(("$.config.method", "expected GET, POST or PUT")); break;
            }
        }
        PlaceholderTemplate? url = null;
        if (!config.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String) errors.Add(("$.config.url", "required: the gateway's URL (placeholders allowed)"));
        else
        {
            var count = errors.Count;
            url = PlaceholderTemplate.Parse(u.GetString()!, "$.config.url", secrets.Keys, errors);
            if (errors.Count == count && (!Uri.TryCreate(url.Render(Sample(secrets), PlaceholderEscape.Url), UriKind.Absolute, out var rendered) || rendered.Scheme is not ("http" or "https")))
                errors.Add(("$.config.url", "expected an absolute http(s) URL"));
        }
        var headers = new List<(string, PlaceholderTemplate)>();
        if (config.TryGetProperty("headers", out var h))
        {
            if (h.ValueKind != JsonValueKind.Object) errors.Add(("$.config.headers", "expected an object of header name → value"));
            else
            {
                foreach (var header in h.EnumerateObject())
                {
                    var path = $"$.config.headers.{header.Name}";
                    if (header.Name.Length == 0 || header.Name.Any(c => c is <= ' ' or > '~' or ':')) errors.Add((path, "not a header name"));
                    if (header.Value.ValueKind != JsonValueKind.String) errors.Add((path, "expected a string"));
                    else headers.Add((header.Name, PlaceholderTemplate.Parse(header.Value.GetString()!, path, secrets.Keys, errors)));
                }
            }
        }
        var bodyType = "json";
        if (config.TryGetProperty("bodyType", out var bt))
        {
            bodyType = bt.ValueKind == JsonValueKind.String ? bt.GetString()! : "";
            if (bodyType is not ("json" or "form" or "text")) errors.Add(("$.config.bodyType", "expected json, form or text"));
        }
        PlaceholderTemplate? body = null;
        if (config.TryGetProperty("body", out var b))
        {
            if (b.ValueKind != JsonValueKind.String) errors.Add(("$.config.body", "expected a string (a template)"));
            else if (method == HttpMethod.Get) errors.Add(("$.config.body", "a GET request has no body; put the placeholders in the URL"));
            else
            {
                var count = errors.Count;
                body = PlaceholderTemplate.Parse(b.GetString()!, "$.config.body", secrets.Keys, errors);
                if (errors.Count == count && bodyType == "json")
                {
                    // Rendered with awkward sample values, the body must still be JSON: the placeholders sit inside strings.
                    try
                    {
                        using var _ = JsonDocument.Parse(body.Render(Sample(secrets), PlaceholderEscape.Json));
                    }
                    catch (JsonException ex)
                    {
                        errors.Add(("$.config.body", "not valid JSON once placeholders are filled in (put them inside quotes): " + ex.Message));
                    }
                }
            }
        }
        HmacSignatureSpec? signature = null;
        if (config.TryGetProperty("signature", out var sig)) signature = HmacSignatureSpec.Parse(sig, "$.config.signature", errors);
        var response = ParseResponse(config, errors);
        HttpSmsCallbackMapping? callback = null;
        if (config.TryGetProperty("callback", out var cb)) callback = ParseCallback(cb, errors);
        if (errors.Count > before) return null;
        return new HttpSmsConfig(method, url!, headers, body, bodyType, secrets, signature, response!, callback);
    }

    /// <summary>Values that exercise escaping, for validating templates.</summary>
    private static PlaceholderValues Sample(IReadOnlyDictionary<string, string> secrets) =>
        new("+8613800138000", "a \"quoted\" \\ line\nnext & + 中文 🙂", "m_sample", "k_sample", secrets);

    private static HttpSmsResponseMapping? ParseResponse(JsonElement config, List<(string, string)> errors)
    {
        var empty = new HashSet<string>(StringComparer.Ordinal);
        if (!config.TryGetProperty("response", out var r)) return new HttpSmsResponseMapping(null, null, null, null, empty, empty, empty, empty);
        if (r.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config.response", "expected an object"));
            return null;
        }
        foreach (var p in r.EnumerateObject())
        {
            if (!KnownResponse.Contains(p.Name)) errors.Add(($"$.config.response.{p.Name}", $"unknown property; expected {string.Join(", ", KnownResponse)}"));
        }
        HashSet<int>? statuses = null;
        if (r.TryGetProperty("successStatus", out var ss))
        {
            if (ss.ValueKind != JsonValueKind.Array || ss.GetArrayLength() == 0
                || ss.EnumerateArray().Any(s => !s.TryGetInt32(out var n) || n is < 200 or > 299))
                errors.Add(("$.config.response.successStatus", "expected a non-empty array of 2xx status codes"));
            else statuses = [.. ss.EnumerateArray().Select(s => s.GetInt32())];
        }
        return new HttpSmsResponseMapping(
            statuses,
            Path(r, "messageIdPath", "$.config.response", errors),
            Path(r, "errorCodePath", "$.config.response", errors),
            Path(r, "errorMessagePath", "$.config.response", errors),
            Strings(r, "successCodes", "$.config.response", errors),
            Strings(r, "permanentCodes", "$.config.response", errors),
            Strings(r, "invalidNumberCodes", "$.config.response", errors),
            Strings(r, "transientCodes", "$.config.response", errors));
    }

    private static HttpSmsCallbackMapping? ParseCallback(JsonElement c, List<(string, string)> errors)
    {
        if (c.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config.callback", "expected an object"));
            return null;
        }
        foreach (var p in c.EnumerateObject())
        {
            if (!KnownCallback.Contains(p.Name)) errors.Add(($"$.config.callback.{p.Name}", $"unknown property; expected {string.Join(", ", KnownCallback)}"));
        }
        HmacSignatureSpec? signature = null;
        if (!c.TryGetProperty("signature", out var s)) errors.Add(("$.config.callback.signature", "required: callbacks are accepted only when signed"));
        else
        {
            var count = errors.Count;
            signature = HmacSignatureSpec.Parse(s, "$.config.callback.signature", errors);
            if (signature is null && errors.Count == count) errors.Add(("$.config.callback.signature.scheme", "callbacks must be signed: expected hmac-sha256"));
        }
        SimpleJsonPath? from = null, text = null;
        if (c.TryGetProperty("inbound", out var inbound))
        {
            if (inbound.ValueKind != JsonValueKind.Object) errors.Add(("$.config.callback.inbound", "expected {\"fromPath\": …, \"textPath\": …}"));
            else
            {
                foreach (var p in inbound.EnumerateObject())
                {
                    if (p.Name is not ("fromPath" or "textPath")) errors.Add(($"$.config.callback.inbound.{p.Name}", "unknown property; expected fromPath, textPath"));
                }
                from = Path(inbound, "fromPath", "$.config.callback.inbound", errors);
                text = Path(inbound, "textPath", "$.config.callback.inbound", errors);
                if (from is null) errors.Add(("$.config.callback.inbound.fromPath", "required"));
                if (text is null) errors.Add(("$.config.callback.inbound.textPath", "required"));
            }
        }
        var status = Path(c, "statusPath", "$.config.callback", errors);
        var messageId = Path(c, "messageIdPath", "$.config.callback", errors);
        if (status is not null && messageId is null) errors.Add(("$.config.callback.messageIdPath", "required with statusPath"));
        if (status is null && from is null) errors.Add(("$.config.callback", "expected statusPath (delivery reports) or inbound (replies), or both"));
        if (signature is null) return null;
        return new HttpSmsCallbackMapping(signature, messageId, status,
            Strings(c, "deliveredValues", "$.config.callback", errors), Strings(c, "failedValues", "$.config.callback", errors),
            Strings(c, "undeliverableValues", "$.config.callback", errors), from, text);
    }

    private static SimpleJsonPath? Path(JsonElement parent, string name, string at, List<(string, string)> errors)
    {
        if (!parent.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String)
        {
            errors.Add(($"{at}.{name}", "expected a path such as $.data.id"));
            return null;
        }
        if (SimpleJsonPath.TryParse(v.GetString(), out var path, out var error)) return path;
        errors.Add(($"{at}.{name}", error));
        return null;
    }

    private static HashSet<string> Strings(JsonElement parent, string name, string at, List<(string, string)> errors)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!parent.TryGetProperty(name, out var v)) return set;
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)))
        {
            errors.Add(($"{at}.{name}", "expected an array of strings"));
            return set;
        }
        foreach (var e in v.EnumerateArray()) set.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText());
        return set;
    }
}

/// <summary>Reads a callback body as JSON (an object or an array of them), or a form as an object of its fields.</summary>
public static class CallbackBody
{
    public static JsonDocument? Parse(ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && trimmed[0] is (byte)'{' or (byte)'[')
        {
            try
            {
                return JsonDocument.Parse(body.ToArray());
            }
            catch (JsonException)
            {
                return null;
            }
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var fields = FormEncoding.ToDictionary(FormEncoding.Parse(text));
        return JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(fields));
    }
}
