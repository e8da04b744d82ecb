using Chuda.Storage.Postgres;
using Chuda.Storage.Sqlite;
using Chuda.Testing;
using Xunit;

namespace Chuda.Storage.Tests;

public sealed class StoreFactoryTests
{
    [Fact]
    public async Task No_connection_string_means_sqlite_in_the_data_directory_which_is_created()
    {
        using var temp = new TempDirectory();
        var directory = Path.Combine(temp.Path, "nested", "data");
        await using var store = await StoreFactory.OpenAsync(new StoreOptions(null, directory), CancellationToken.None);
        Assert.IsType<SqliteStore>(store);
        Assert.True(File.Exists(Path.Combine(directory, "chuda.db")));
        Assert.Empty(await store.GetAppliedMigrationsAsync(CancellationToken.None)); // opening does not migrate
    }

    [Fact]
    public async Task A_data_source_connection_string_means_sqlite_at_that_path()
    {
        using var temp = new TempDirectory();
        var file = Path.Combine(temp.Path, "custom.db");
        await using var store = await StoreFactory.OpenAsync(new StoreOptions($"Data Source={file}", "ignored"), CancellationToken.None);
        Assert.Equal("sqlite", store.Kind);
        Assert.True(File.Exists(file));
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Username=x;Database=y")]
    [InlineData("host=localhost;database=chuda")]
    public async Task A_host_means_postgresql_and_opening_does_not_connect(string connectionString)
    {
        await using var store = await StoreFactory.OpenAsync(new StoreOptions(connectionString, "ignored") { MaxPartitions = 3 }, CancellationToken.None);
        Assert.IsType<PostgresStore>(store);
        Assert.Equal(3, store.MaxWriterPartitions);
    }

    [Fact]
    public async Task PostgreSQL_defaults_to_one_writer_partition_per_processor()
    {
        await using var store = await StoreFactory.OpenAsync(new StoreOptions("Host=localhost", "ignored"), CancellationToken.None);
        Assert.Equal(Environment.ProcessorCount, store.MaxWriterPartitions);
    }

    [Fact]
    public async Task An_unrecognised_connection_string_is_rejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => StoreFactory.OpenAsync(new StoreOptions("Server=x;Database=y", "d"), CancellationToken.None));
    }
}
