using Chuda.Engine.Profiles;
using Chuda.Engine.Workspaces;
using Chuda.Server.Cli;
using Chuda.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chuda.Server.Tests;

/// <summary><c>chuda import</c>: JSONL events and CSV profiles through the same validation as the API.</summary>
public sealed class ImportTests : IAsyncLifetime
{
    private readonly TempDirectory _files = new();
    private ChudaServer _server = null!;

    public async Task InitializeAsync() => _server = await ChudaServer.StartAsync(null);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _files.Dispose();
    }

    private async Task<ImportSummary> ImportAsync(string file)
    {
        var services = _server.App.Services;
        var directory = services.GetRequiredService<WorkspaceDirectory>();
        var workspace = await directory.FindAsync(WorkspaceDirectory.DefaultWorkspace, CancellationToken.None);
        return await ImportCommand.ImportAsync(file, workspace!.Id, services.GetRequiredService<ProfilePartitions>(),
            TimeProvider.System, file + ".rejected.txt", null, CancellationToken.None);
    }

    [Fact]
    public async Task Jsonl_import_is_validated_idempotent_and_reports_rejected_lines()
    {
        var file = Path.Combine(_files.Path, "events.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"type":"identify","userId":"imp-1","traits":{"email":"imp1@example.com"},"messageId":"i-1"}""",
            """{"type":"track","userId":"imp-1","event":"Order Completed","properties":{"total":5}}""",
            "",
            """{"type":"track","userId":"imp-2"}""",
            """not json""",
            """{"type":"page","anonymousId":"imp-anon","name":"Home"}""",
        ]);

        var first = await ImportAsync(file);
        Assert.Equal(5, first.Lines);
        Assert.Equal(3, first.Applied);
        Assert.Equal(2, first.Rejected);
        var report = await File.ReadAllLinesAsync(first.ReportPath!);
        Assert.Collection(report,
            l => Assert.StartsWith("line 4: ", l, StringComparison.Ordinal),
            l => Assert.StartsWith("line 5: ", l, StringComparison.Ordinal));
        Assert.Contains("event", report[0], StringComparison.Ordinal);

        var second = await ImportAsync(file);
        Assert.Equal(0, second.Applied);
        Assert.Equal(3, second.Duplicates);
        Assert.Equal(2, (await _server.EventsAsync("imp-1")).Count);
    }

    [Fact]
    public async Task Csv_import_creates_profiles_from_the_header_and_is_idempotent()
    {
        var file = Path.Combine(_files.Path, "profiles.csv");
        await File.WriteAllTextAsync(file, "userId,email,phone,city,note\n"
            + "c-1,c1@example.com,13800138002,上海,\"said \"\"hi\"\", then left\"\n"
            + "c-2,,,\"Beijing\",\"two\nlines\"\n"
            + ",nouser@example.com,,,\n"
            + "c-4,too,many,fields,here,extra\n");

        var first = await ImportAsync(file);
        Assert.Equal(2, first.Applied);
        Assert.Equal(2, first.Rejected);
        var report = await File.ReadAllLinesAsync(first.ReportPath!);
        Assert.Contains(report, l => l.StartsWith("line 5: ", StringComparison.Ordinal) && l.Contains("userId", StringComparison.Ordinal));
        Assert.Contains(report, l => l.StartsWith("line 6: ", StringComparison.Ordinal));

        var c1 = (await _server.ProfileAsync("c-1"))!.Value;
        Assert.Equal("上海", c1.GetProperty("traits").GetProperty("city").GetString());
        Assert.Equal("said \"hi\", then left", c1.GetProperty("traits").GetProperty("note").GetString());
        Assert.Equal("c-1", (await _server.GetJsonAsync("/api/v1/profiles?phone=%2B8613800138002")).GetProperty("userId").GetString());
        Assert.Equal("two\nlines", (await _server.ProfileAsync("c-2"))!.Value.GetProperty("traits").GetProperty("note").GetString());

        var second = await ImportAsync(file);
        Assert.Equal(0, second.Applied);
        Assert.Equal(2, second.Duplicates);
        Assert.Single(await _server.EventsAsync("c-1"));
    }
}
