using System.Data;
using Npgsql;

namespace Dermag.Postgres;

/// <summary>
/// Closes a listener's connection without handing a listening session to the next user of the pool. Compiled into both
/// libraries from this one file, as <see cref="ListenerProbe"/> is.
/// </summary>
/// <remarks>
/// <c>LISTEN</c> is session state, and a data source built from a store's connection string does not reset the
/// connections it takes back (<c>No Reset On Close</c>; see <c>PostgresStoreOptions.StoreLeavesNoSessionState</c>): the
/// listener ends it first. A host's own data source may not reset them either. A broken connection is never pooled; when
/// <c>UNLISTEN</c> fails on one that is not broken (a timeout the server cancelled, for one), the data source is cleared,
/// so this connection is closed instead of pooled. A failure to close is not thrown: it would replace the error that
/// ended the listener.
/// </remarks>
internal static class ListenerConnection
{
    /// <summary>How long <c>UNLISTEN</c> may take; short, because a listener that failed reconnects after this.</summary>
    private const int UnlistenTimeoutSeconds = 2;

    public static async ValueTask CloseAsync(NpgsqlConnection connection, NpgsqlDataSource source)
    {
        if (connection.FullState is not ConnectionState.Closed and not ConnectionState.Broken)
        {
            try
            {
                await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection) { CommandTimeout = UnlistenTimeoutSeconds };
                await unlisten.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                source.Clear();
            }
        }

        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
        {
            // Closing a connection that already failed: the listener's own error, thrown on from its finally, is the one
            // worth reporting, and this connection is gone either way.
        }
    }
}
