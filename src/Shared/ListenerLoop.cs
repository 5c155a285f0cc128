using Npgsql;

namespace Dermag.Postgres;

/// <summary>
/// A LISTEN listener's life until the host stops: listen on a connection until it fails, report the loss, wait, listen
/// again. The wait starts at 200 ms and doubles up to 30 s (each with ±20 % jitter, so instances that lost the same server
/// do not come back at the same instant), and starts again at 200 ms after a connection that listened. Compiled into both
/// libraries from this one file, as <see cref="ListenerProbe"/> is. The loop opens each connection and closes it: a
/// failure reports the listener down first, then closes (<c>UNLISTEN</c> on a hung connection may take its full timeout).
/// </summary>
internal sealed class ListenerLoop
{
    private int _connectionsClosed;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>How many of its connections the listener has closed (or handed back to the pool, no longer listening).</summary>
    public int ConnectionsClosed => Volatile.Read(ref _connectionsClosed);

    /// <summary>Runs the listener until <paramref name="stoppingToken"/> is cancelled.</summary>
    /// <param name="notificationConnectionString">The listener's own connection string (a direct connection when the store's goes through a transaction pooler), or null to listen on <paramref name="storeSource"/>.</param>
    /// <param name="storeSource">The store's data source.</param>
    /// <param name="listen">Listens on the open connection it is given until the connection fails (it throws) or the host stops.</param>
    /// <param name="connections">How many times the listener has connected so far: more after a failure means it had listened.</param>
    /// <param name="lost">Reports the listener down; called after every failure and once when it stops.</param>
    /// <param name="logLost">Logs a failure with the delay before the next attempt.</param>
    /// <param name="time">The clock the retry delay runs on.</param>
    /// <param name="stoppingToken">The host's stopping token.</param>
    public async Task RunAsync(
        string? notificationConnectionString,
        NpgsqlDataSource storeSource,
        Func<NpgsqlConnection, CancellationToken, Task> listen,
        Func<int> connections,
        Action lost,
        Action<TimeSpan, Exception> logLost,
        TimeProvider time,
        CancellationToken stoppingToken)
    {
        NpgsqlDataSource? owned = notificationConnectionString is { } cs ? NpgsqlDataSource.Create(cs) : null;
        var source = owned ?? storeSource;
        var delay = FirstRetryDelay;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var before = connections();
                try
                {
                    await ListenOnceAsync(source, listen, lost, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    if (connections() > before)
                    {
                        delay = FirstRetryDelay;
                    }

                    lost();
                    logLost(delay, ex);
                    await Task.Delay(delay * (0.8 + (Random.Shared.NextDouble() * 0.4)), time, stoppingToken).ConfigureAwait(false);
                    delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            lost();
            if (owned is not null)
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ListenOnceAsync(NpgsqlDataSource source, Func<NpgsqlConnection, CancellationToken, Task> listen, Action lost, CancellationToken stoppingToken)
    {
        var connection = await source.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
        try
        {
            await listen(connection, stoppingToken).ConfigureAwait(false);
        }
        catch
        {
            // Down from this moment: health (and a cache that relies on the listener) must not wait for the bounded
            // UNLISTEN below.
            lost();
            throw;
        }
        finally
        {
            await ListenerConnection.CloseAsync(connection, source).ConfigureAwait(false);
            Interlocked.Increment(ref _connectionsClosed);
        }
    }
}
