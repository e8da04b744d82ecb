using Chuda.Domain.Ingestion;
namespace Chuda.Server.Api;

/// <summary>One fault of a request, named by its JSON path.</summary>
public sealed record ProblemField(string Field, string Message);

/// <summary>RFC 7807 problem+json bodies. Every 4xx names the field at fault when there is one.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    public static IResult Validation(IReadOnlyList<FieldError> errors)
    {
        var tooLarge = errors.Any(e => e.TooLarge);
        var status = tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
        var shown = (tooLarge ? errors.Where(e => e.TooLarge) : errors).Take(100).Select(e => new ProblemField(e.Field, e.Message)).ToList();
        return Create(status, tooLarge ? "Payload too large" : "Invalid request",
            shown.Count == 1 ? $"{shown[0].Field}: {shown[0].Message}" : $"{shown.Count} fields are invalid; the first is {shown[0].Field}: {shown[0].Message}",
            shown);
    }

    public static IResult Field(string field, string message, int status = StatusCodes.Status400BadRequest) =>
        Create(status, status == 413 ? "Payload too large" : "Invalid request", $"{field}: {message}", [new ProblemField(field, message)]);

    public static IResult Unauthorized(string detail) => Create(StatusCodes.Status401Unauthorized, "Unauthorized", detail, null);

    public static IResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, "Forbidden", detail, null);

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "Not found", detail, null);

    public static IResult Conflict(string field, string detail) =>
        Create(StatusCodes.Status409Conflict, "Conflict", detail, [new ProblemField(field, detail)]);

    /// <summary>A problem of any status naming the field at fault, with optional extra members (e.g. the current revision).</summary>
    public static IResult Named(int status, string title, string field, string detail, IReadOnlyDictionary<string, object?>? more = null) =>
        Create(status, title, detail, [new ProblemField(field, detail)], more);

    public static IResult Unavailable(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "Service unavailable", detail, null);

    private static IResult Create(int status, string title, string detail, IReadOnlyList<ProblemField>? errors,
        IReadOnlyDictionary<string, object?>? more = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (errors is { Count: > 0 }) extensions["errors"] = errors;
        foreach (var (name, value) in more ?? new Dictionary<string, object?>()) extensions[name] = value;
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: $"urn:chuda:problem:{status}", extensions: extensions);
    }
}
