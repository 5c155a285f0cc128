using Npgsql;
using Xunit;

namespace Dermag.Testing;

/// <summary>Checks that a stopped LISTEN listener left no listening session in its data source's pool.</summary>
public static class PooledListenerCheck
{
    /// <summary>The backend that ran the listener's <c>LISTEN</c> (its last statement while it waits for notifications).</summary>
    public static async Task<int> ListeningBackendAsync(NpgsqlDataSource dataSource, string applicationName)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var find = dataSource.CreateCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND query LIKE 'LISTEN%'");
        find.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
        return (int)(await find.ExecuteScalarAsync() ?? throw new InvalidOperationException($"no backend of '{applicationName}' is listening"));
    }

    /// <summary>
    /// Opens two connections (the pool's size in these tests) and checks that neither listens, and that the listener's
    /// backend is one of them or closed, so the check covered it.
    /// </summary>
    public static async Task AssertNoPooledConnectionListensAsync(NpgsqlDataSource dataSource, int listenerBackend)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var first = await dataSource.OpenConnectionAsync();
        await using var second = await dataSource.OpenConnectionAsync();
        foreach (var connection in new[] { first, second })
        {
            await using var channels = new NpgsqlCommand("SELECT count(*) FROM pg_listening_channels()", connection);
            Assert.Equal(0L, await channels.ExecuteScalarAsync()); // no pooled connection may still be listening
        }

        if (first.ProcessID != listenerBackend && second.ProcessID != listenerBackend)
        {
            await using var alive = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first);
            alive.Parameters.Add(new NpgsqlParameter<int> { TypedValue = listenerBackend });
            Assert.Equal(0L, await alive.ExecuteScalarAsync()); // the listener's backend was handed out again (and checked) or closed
        }
    }
}
