using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Domain.Delivery;
using Chuda.Domain.Templates;
using Chuda.Storage;

namespace Chuda.Engine.Delivery;

/// <summary>The content of a message on one channel, or why there is none.</summary>
public sealed record Composition(ChannelContent? Content, string? Error, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Renders a message for its channel: the template version (compiled once and cached), the data (profile traits,
/// event properties, journey context, system values such as the unsubscribe link, digest items), then the channel's
/// additions — for e-mail the <c>List-Unsubscribe</c> headers of marketing mail and, when tracking is on, signed click
/// links and an open pixel.
/// </summary>
public sealed partial class MessageComposer(IChudaStore store, DeliveryOptions options)
{
    private readonly ConcurrentDictionary<(long Workspace, string Template, int Version), CompiledTemplate> _compiled = new();
    private readonly ConcurrentDictionary<(long Workspace, string Template), (int Latest, int? Approved, DateTimeOffset At)> _latest = new();

    /// <summary>Forgets what is cached about a template (after it changed).</summary>
    public void Invalidate(long workspaceId, string templateId) => _latest.TryRemove((workspaceId, templateId), out _);

    public async Task<Composition> ComposeAsync(OutboundMessage m, Recipient recipient, WorkspaceDelivery w, string channel, DateTimeOffset now,
        CancellationToken ct)
    {
        var template = await TemplateForAsync(m, w, now, ct);
        if (template.Error is not null) return new Composition(null, template.Error, Empty);

        var system = SystemValues(m, w);
        var data = await DataAsync(m, recipient, system, ct);
        var result = template.Compiled!.Render(channel, m.Locale ?? recipient.State.Locale, data, RenderOptions.Default);
        if (!result.Ok || result.Content is null)
        {
            var problems = result.Problems.Where(p => p.Severity == RenderSeverity.Error).Select(p => p.ToString()).ToList();
            return new Composition(null, "render failed: " + (problems.Count > 0 ? string.Join("; ", problems) : $"the template has no {channel} content"), Empty);
        }

        var content = result.Content;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var marketing = !Categories.IsTransactional(m.Category);
        if (content is EmailContent email)
        {
            if (marketing)
            {
                headers["List-Unsubscribe"] = "<" + system["unsubscribe_url"] + ">";
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
            }
            headers["X-Chuda-Message-Id"] = m.PublicId;
            if (options.TrackEmail && email.Html is not null) content = email with { Html = Track(email.Html, m, w) };
        }
        return new Composition(content, null, headers);
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private async Task<(CompiledTemplate? Compiled, string? Error)> TemplateForAsync(OutboundMessage m, WorkspaceDelivery w, DateTimeOffset now, CancellationToken ct)
    {
        if (m.InlineTemplateJson is { } inline)
        {
            var parsed = TemplateParser.Parse(inline);
            return parsed.Definition is null
                ? (null, "inline content is invalid: " + string.Join("; ", parsed.Errors.Select(e => e.Path + ": " + e.Message)))
                : (CompiledTemplate.Compile(parsed.Definition), null);
        }
        if (m.TemplateId is not { } id) return (null, "the message names no template and has no content");

        if (!_latest.TryGetValue((m.WorkspaceId, id), out var latest) || now - latest.At > options.CatalogRefresh)
        {
            var record = await store.GetTemplateAsync(m.WorkspaceId, id, ct);
            if (record is null) return (null, $"template '{id}' does not exist");
            _latest[(m.WorkspaceId, id)] = latest = (record.LatestVersion, record.ApprovedVersion, now);
        }
        int version;
        if (w.TemplateApprovals)
        {
            if (latest.Approved is not { } approved) return (null, $"template '{id}' has no approved version (the workspace requires approval)");
            version = approved;
        }
        else
        {
            version = latest.Latest;
        }
        if (_compiled.TryGetValue((m.WorkspaceId, id, version), out var compiled)) return (compiled, null);
        var stored = await store.GetTemplateVersionAsync(m.WorkspaceId, id, version, ct);
        if (stored is null) return (null, $"template '{id}' version {version} does not exist");
        var result = TemplateParser.Parse(stored.DefinitionJson);
        if (result.Definition is null) return (null, $"template '{id}' version {version} is invalid");
        compiled = CompiledTemplate.Compile(result.Definition);
        _compiled[(m.WorkspaceId, id, version)] = compiled;
        return (compiled, null);
    }

    /// <summary>The message's system values: its id and the signed unsubscribe and preference links.</summary>
    public Dictionary<string, string> SystemValues(OutboundMessage m, WorkspaceDelivery w)
    {
        var ws = m.WorkspaceId.ToString(CultureInfo.InvariantCulture);
        var id = m.Id.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["message_id"] = m.PublicId,
            ["unsubscribe_url"] = Url($"u/{ws}/{id}?s={w.Links.Sign("u", ws, id)}"),
            ["preferences_url"] = Url($"p/{ws}/{id}?s={w.Links.Sign("p", ws, id)}"),
        };
    }

    /// <summary>A signed click-tracking link for <paramref name="target"/>.</summary>
    public string ClickUrl(OutboundMessage m, WorkspaceDelivery w, string target)
    {
        var ws = m.WorkspaceId.ToString(CultureInfo.InvariantCulture);
        var id = m.Id.ToString(CultureInfo.InvariantCulture);
        return Url($"t/c/{ws}/{id}?u={Uri.EscapeDataString(target)}&s={w.Links.Sign("c", ws, id, target)}");
    }

    public string OpenUrl(OutboundMessage m, WorkspaceDelivery w)
    {
        var ws = m.WorkspaceId.ToString(CultureInfo.InvariantCulture);
        var id = m.Id.ToString(CultureInfo.InvariantCulture);
        return Url($"t/o/{ws}/{id}.gif?s={w.Links.Sign("o", ws, id)}");
    }

    private string Url(string path) => new Uri(options.PublicBaseUrl, path).ToString();

    [GeneratedRegex("""href\s*=\s*"(https?://[^"]+)"|href\s*=\s*'(https?://[^']+)'""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Href();

    private string Track(string html, OutboundMessage m, WorkspaceDelivery w)
    {
        var own = options.PublicBaseUrl.ToString();
        var tracked = Href().Replace(html, match =>
        {
            var raw = match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
            var target = System.Net.WebUtility.HtmlDecode(raw);
            if (target.StartsWith(own, StringComparison.OrdinalIgnoreCase)) return match.Value; // our own unsubscribe / preference links
            return "href=\"" + System.Net.WebUtility.HtmlEncode(ClickUrl(m, w, target)) + "\"";
        });
        var pixel = $"<img src=\"{System.Net.WebUtility.HtmlEncode(OpenUrl(m, w))}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";
        var body = tracked.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        return body >= 0 ? tracked.Insert(body, pixel) : tracked + pixel;
    }

    private async Task<TemplateData> DataAsync(OutboundMessage m, Recipient r, Dictionary<string, string> system, CancellationToken ct)
    {
        var profile = TemplateData.ProfileObject(r.Profile?.TraitsJson, r.Profile?.UserId, r.Email, r.Phone);
        using var doc = JsonDocument.Parse(m.DataJson);
        var root = doc.RootElement;
        JsonElement? Part(string name) => root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Object ? e.Clone() : null;

        JsonElement? items = null;
        if (m.Source == "digest")
        {
            var list = await store.GetDigestItemsAsync(m.WorkspaceId, m.Id, ct);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    using var itemDoc = JsonDocument.Parse(item.DataJson);
                    writer.WriteStartObject();
                    foreach (var p in itemDoc.RootElement.EnumerateObject()) p.WriteTo(writer);
                    writer.WriteString("message_id", item.PublicId);
                    writer.WriteString("queued_at", item.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            using var itemsDoc = JsonDocument.Parse(buffer.ToArray());
            items = itemsDoc.RootElement.Clone();
        }

        var message = new Dictionary<string, string>(system, StringComparer.Ordinal);
        if (items is { } it) message["item_count"] = it.GetArrayLength().ToString(CultureInfo.InvariantCulture);
        using var messageDoc = JsonDocument.Parse(JsonSerializer.Serialize(message, DeliveryEngineJson.Default.DictionaryStringString));
        return new TemplateData
        {
            Profile = profile,
            Event = Part("event"),
            Journey = Part("journey"),
            Message = messageDoc.RootElement.Clone(),
            Items = items,
            TimeZone = r.State.TimeZone,
            Locale = m.Locale ?? r.State.Locale,
        };
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class DeliveryEngineJson : System.Text.Json.Serialization.JsonSerializerContext;
