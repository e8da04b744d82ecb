using System.Buffers;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Profiles;
using Chuda.Engine.Workspaces;

namespace Chuda.Server.Api;

/// <summary>The Segment HTTP Tracking API: <c>/v1/identify</c>, <c>/v1/track</c>, ... and <c>/v1/batch</c>.</summary>
public static class IngestionApi
{
    private static readonly byte[] Success = """{"success":true}"""u8.ToArray();

    public static IEndpointRouteBuilder MapIngestionApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Ingestion");
        foreach (var (path, type) in new[]
        {
            ("identify", MessageType.Identify), ("track", MessageType.Track), ("page", MessageType.Page),
            ("screen", MessageType.Screen), ("group", MessageType.Group), ("alias", MessageType.Alias),
        })
        {
            group.MapPost(path, (HttpContext context, WorkspaceDirectory directory, ProfilePartitions partitions, TimeProvider time) =>
                    IngestAsync(context, directory, partitions, time, type))
                .WithName("ingest-" + path)
                .WithSummary($"Segment {path} call")
                .Accepts<object>("application/json")
                .Produces(StatusCodes.Status200OK)
                .ProducesProblem(StatusCodes.Status400BadRequest)
                .ProducesProblem(StatusCodes.Status401Unauthorized)
                .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        }
        foreach (var path in new[] { "batch", "import" })
        {
            group.MapPost(path, (HttpContext context, WorkspaceDirectory directory, ProfilePartitions partitions, TimeProvider time) =>
                    IngestAsync(context, directory, partitions, time, null))
                .WithName("ingest-" + path)
                .WithSummary("Segment batch: up to 2,500 events and 500 KB; rejected whole if any event is invalid")
                .Accepts<object>("application/json")
                .Produces(StatusCodes.Status200OK)
                .ProducesProblem(StatusCodes.Status400BadRequest)
                .ProducesProblem(StatusCodes.Status401Unauthorized)
                .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        }
        return app;
    }

    private static async Task<IResult> IngestAsync(
        HttpContext context, WorkspaceDirectory directory, ProfilePartitions partitions, TimeProvider time, MessageType? type)
    {
        var ct = context.RequestAborted;
        var receivedAt = time.GetUtcNow();
        var limit = type is null ? IngestLimits.MaxBatchBytes : IngestLimits.MaxEventBytes;
        if (context.Request.ContentLength > limit)
            return Problems.Field("body", $"The body is {context.Request.ContentLength} bytes; the limit is {limit}.", StatusCodes.Status413PayloadTooLarge);

        var body = await ReadBodyAsync(context.Request, limit, ct);
        if (body is null)
            return Problems.Field("body", $"The body exceeds the limit of {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
        ParseResult parsed;
        try
        {
            parsed = type is { } t
                ? SegmentParser.ParseSingle(body.Value.Bytes, t, receivedAt, NewMessageId)
                : SegmentParser.ParseBatch(body.Value.Bytes, receivedAt, NewMessageId);
        }
        finally
        {
            body.Value.Return();
        }

        var key = Auth.BasicUser(context.Request) ?? parsed.WriteKey;
        if (string.IsNullOrEmpty(key))
            return Problems.Unauthorized("Send the write key as the Basic-auth user name (or as 'writeKey' in the body).");
        var caller = await directory.AuthenticateAsync(key, ct);
        if (caller is null) return Problems.Unauthorized("The write key is unknown or revoked.");
        if (caller.Kind != ApiKeyKind.Write) return Problems.Forbidden("Send events with a write key, not an admin key.");
        if (!parsed.IsValid) return Problems.Validation(parsed.Errors);

        var commands = new ProfileCommand[parsed.Messages.Count];
        for (var i = 0; i < commands.Length; i++) commands[i] = new IngestMessage(caller.Workspace.Id, parsed.Messages[i]);
        try
        {
            await partitions.SubmitAsync(commands, ct);
        }
        catch (OverloadedException ex)
        {
            context.Response.Headers.RetryAfter = "1";
            return Problems.Unavailable(ex.Message);
        }
        return Results.Bytes(Success, "application/json");
    }

    private static string NewMessageId() => "chuda-" + Guid.CreateVersion7().ToString("N");

    /// <summary>A pooled copy of the body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<PooledBody?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, limit) + 1);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > limit)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct);
            if (read == 0) break;
            length += read;
            if (length > limit)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return null;
            }
        }
        return new PooledBody(buffer, length);
    }

    private readonly record struct PooledBody(byte[] Buffer, int Length)
    {
        public ReadOnlySpan<byte> Bytes => new(Buffer, 0, Length);
        public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
    }
}
