using Chuda.Storage.Internal;
using Npgsql;

namespace Chuda.Storage.Postgres;

/// <summary>
/// Hands out ids of one named counter in the <c>sequences</c> table from a chunk that was taken from the counter row in
/// its own autocommit statement (on another connection than any batch), so the ids stay taken whatever happens to the
/// batch that asked for them, and no batch holds the counter row's lock until it commits.
/// </summary>
internal sealed class IdBlocks(NpgsqlDataSource dataSource, string name, int chunk)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _next;  // guarded by _gate: [_next, _limit) is persisted as used, not yet handed out
    private long _limit;

    /// <summary>Reserves <paramref name="count"/> consecutive ids and returns the first.</summary>
    public async Task<long> ReserveAsync(int count, CancellationToken cancellationToken)
    {
        StoreValues.ValidateReservation(count);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_limit - _next < count)
            {
                var size = Math.Max(count, chunk);
                await using var command = dataSource.CreateCommand(
                    "UPDATE sequences SET next_value = next_value + $1 WHERE name = $2 RETURNING next_value");
                command.Parameters.Add(PostgresStore.P((long)size));
                command.Parameters.Add(PostgresStore.P(name));
                var limit = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
                var start = limit - size;
                if (start != _limit) _next = start; // not contiguous: skip what was left (never reuse)
                _limit = limit;
            }
            var first = _next;
            _next += count;
            return first;
        }
        finally
        {
            _gate.Release();
        }
    }
}
