using System.Data;
using Npgsql;

namespace Dermag.Postgres;

/// <summary>
/// Closes a listener's connection without handing a listening session to the next user of the pool. Compiled into both
/// libraries from this one file, as <see cref="ListenerProbe"/> is.
/// </summary>
/// <remarks>
/// <c>LISTEN</c> is session state, and a data source built from a store's connection string does not reset the
/// connections it takes back (<c>No Reset On Close</c>; see <c>PostgresStoreDataSource</c>): the listener ends it first.
/// A host's own data source may not reset them either. When <c>UNLISTEN</c> cannot run (the connection failed, which is
/// also how a listener usually ends), the pool is cleared, so this connection is closed rather than pooled.
/// </remarks>
internal static class ListenerConnection
{
    public static async ValueTask CloseAsync(NpgsqlConnection connection)
    {
        try
        {
            if (connection.FullState == ConnectionState.Open)
            {
                await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection) { CommandTimeout = 5 };
                await unlisten.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
        {
            NpgsqlConnection.ClearPool(connection);
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
