using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Chuda.Server.Cli;

/// <summary>What an import did.</summary>
public sealed record ImportSummary(int Lines, int Applied, int Duplicates, int Rejected, string? ReportPath);

/// <summary>
/// <c>chuda import FILE</c>: Segment JSONL events or a CSV of profiles, through the same parser, validation and
/// partitioned pipeline as the HTTP API. Lines without a messageId get one derived from their content, so running
/// the same import twice adds nothing.
/// </summary>
public static class ImportCommand
{
    private const int Chunk = 2000;

    internal static async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        if (options.Positional.Count != 1) throw new UsageException("import takes exactly one FILE.");
        var file = options.Positional[0];
        if (!File.Exists(file)) throw new UsageException($"No file '{file}'.");
        var serve = options.ToServeOptions();
        var workspaceName = options.Get("workspace") ?? WorkspaceDirectory.DefaultWorkspace;
        var report = options.Get("report") ?? file + ".rejected.txt";

        await using var store = await StoreFactory.OpenAsync(new StoreOptions(serve.Store, serve.DataDirectory), cancellationToken);
        await store.MigrateAsync(cancellationToken);
        var directory = new WorkspaceDirectory(store, serve.Time, serve.Engine);
        var issued = await directory.BootstrapAsync(serve.WriteKey, serve.AdminKey, cancellationToken);
        if (issued is not null)
            Console.WriteLine($"Created workspace 'default'. write key: {issued.WriteKey}  admin key: {issued.AdminKey} (shown once)");

        var workspace = await directory.FindAsync(workspaceName, cancellationToken);
        if (workspace is null)
        {
            await Console.Error.WriteLineAsync($"No workspace is named '{workspaceName}'.");
            return 2;
        }

        // Imported history updates segment membership like live events; time-based re-checks it schedules are stored
        // and fired by the next `chuda serve`.
        var segments = new SegmentCatalog(store);
        await segments.RefreshAsync(cancellationToken);
        var partitions = new ProfilePartitions(store, directory, serve.Engine, NullLogger<ProfilePartitions>.Instance, serve.Time, segments);
        await partitions.StartAsync(cancellationToken);
        ImportSummary summary;
        try
        {
            var total = new FileInfo(file).Length;
            summary = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(Path.GetFileName(file), maxValue: Math.Max(1, total));
                    return await ImportAsync(file, workspace.Id, partitions, serve.Time, report, read => task.Value = read, cancellationToken);
                });
        }
        finally
        {
            await partitions.StopAsync(CancellationToken.None);
        }

        Console.WriteLine($"{summary.Lines} line(s): {summary.Applied} applied, {summary.Duplicates} already present, {summary.Rejected} rejected.");
        if (summary.ReportPath is not null) Console.WriteLine($"Rejected lines and reasons: {summary.ReportPath}");
        return summary.Rejected == 0 ? 0 : 1;
    }

    /// <summary>Imports a file into a workspace through running partitions. Used by the command and by tests.</summary>
    public static async Task<ImportSummary> ImportAsync(
        string file, long workspaceId, ProfilePartitions partitions, TimeProvider time, string reportPath,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        var csv = file.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        var rejected = new List<string>();
        var pending = new List<ProfileCommand>(Chunk);
        int lines = 0, applied = 0, duplicates = 0;

        async Task FlushAsync()
        {
            if (pending.Count == 0) return;
            foreach (var outcome in await partitions.SubmitAsync(pending, cancellationToken))
            {
                if (outcome is DuplicateOutcome) duplicates++;
                else applied++;
            }
            pending.Clear();
        }

        await using var stream = File.OpenRead(file);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string[]? header = null;
        var lineNumber = 0;
        while (await ReadRecordAsync(reader, csv, cancellationToken) is { } record)
        {
            var startLine = lineNumber + 1;
            lineNumber += record.Lines;
            var line = record.Text;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (csv && header is null)
            {
                header = CsvFields(line).Select(h => h.Trim()).ToArray();
                if (!header.Contains("userId") && !header.Contains("user_id"))
                {
                    rejected.Add($"line {startLine}: header: a 'userId' (or 'user_id') column is required");
                    break;
                }
                continue;
            }
            lines++;
            byte[] json;
            if (csv)
            {
                var fields = CsvFields(line);
                if (fields.Count != header!.Length)
                {
                    rejected.Add($"line {startLine}: has {fields.Count} field(s); the header has {header.Length}");
                    continue;
                }
                json = CsvRowToIdentify(header, fields, line);
            }
            else
            {
                json = Encoding.UTF8.GetBytes(line);
            }
            var derivedId = "import-" + Convert.ToHexStringLower(SHA256.HashData(json))[..32];
            var parsed = SegmentParser.ParseLine(json, time.GetUtcNow(), () => derivedId, "");
            if (!parsed.IsValid)
            {
                rejected.Add($"line {startLine}: " + string.Join("; ", parsed.Errors.Select(e => $"{e.Field}: {e.Message}")));
                continue;
            }
            foreach (var message in parsed.Messages) pending.Add(new IngestMessage(workspaceId, message));
            if (pending.Count >= Chunk)
            {
                await FlushAsync();
                progress?.Invoke(stream.Position);
            }
        }
        await FlushAsync();
        progress?.Invoke(stream.Length);

        string? report = null;
        if (rejected.Count > 0)
        {
            await File.WriteAllLinesAsync(reportPath, rejected, cancellationToken);
            report = reportPath;
        }
        return new ImportSummary(lines, applied, duplicates, rejected.Count, report);
    }

    private sealed record Record(string Text, int Lines);

    /// <summary>One JSONL line, or one CSV record (which may span lines inside quotes).</summary>
    private static async Task<Record?> ReadRecordAsync(StreamReader reader, bool csv, CancellationToken ct)
    {
        var line = await reader.ReadLineAsync(ct);
        if (line is null) return null;
        if (!csv) return new Record(line, 1);
        var count = 1;
        var text = line;
        while (text.Count(c => c == '"') % 2 == 1)
        {
            var more = await reader.ReadLineAsync(ct);
            if (more is null) break;
            text += "\n" + more;
            count++;
        }
        return new Record(text, count);
    }

    /// <summary>RFC 4180 fields of one record.</summary>
    internal static List<string> CsvFields(string record)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < record.Length; i++)
        {
            var c = record[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < record.Length && record[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields;
    }

    /// <summary>A CSV row as a Segment identify message: the userId column, the others as traits (empty cells skipped).</summary>
    private static byte[] CsvRowToIdentify(string[] header, List<string> fields, string rawLine)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "identify");
            w.WriteString("messageId", "csv-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rawLine)))[..32]);
            w.WriteStartObject("traits");
            string? userId = null;
            for (var i = 0; i < header.Length; i++)
            {
                if (header[i] is "userId" or "user_id") { userId = fields[i].Trim(); continue; }
                if (fields[i].Length == 0 || header[i].Length == 0) continue;
                w.WriteString(header[i], fields[i]);
            }
            w.WriteEndObject();
            if (!string.IsNullOrEmpty(userId)) w.WriteString("userId", userId);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
