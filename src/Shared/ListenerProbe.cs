using System.Diagnostics;
using Npgsql;

namespace Dermag.Postgres;

/// <summary>
/// Proves that a <c>LISTEN</c> connection hears what other sessions notify. Compiled into both libraries from this one
/// file (it is internal, so neither exposes it): each listener owns one instance.
/// </summary>
/// <remarks>
/// The ping goes out on another connection of the store's data source, the path every real NOTIFY takes: sent on the
/// listening connection itself, it would be heard even through PgBouncer in transaction mode, whose LIFO pool hands the
/// ping the very server connection that ran LISTEN while notifications from every other session are lost. It is matched
/// by a unique payload, never by "some message arrived" (the session's own notification may come before the reply to
/// the command that sent it, and other instances ping the same channel). A dropped connection fails here too.
/// </remarks>
internal sealed class ListenerProbe
{
    /// <summary>The prefix of every ping's payload (followed by a unique id), which listeners ignore.</summary>
    public const string Prefix = "ping";

    private string? _expected;
    private int _heard;

    /// <summary>How many pings this listener sent.</summary>
    public int Sent { get; private set; }

    /// <summary>True when <paramref name="payload"/> is a ping (this listener's or another's), which the listener then ignores.</summary>
    public bool IsPing(string payload)
    {
        if (!payload.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (payload == Volatile.Read(ref _expected))
        {
            Volatile.Write(ref _heard, 1);
        }

        return true;
    }

    /// <summary>
    /// Waits for notifications on <paramref name="listening"/> (they reach its <c>Notification</c> handlers) until the
    /// connection fails or <paramref name="cancellationToken"/> stops it: proves right away that other sessions'
    /// notifications arrive, and again after every <paramref name="keepAlive"/> in which nothing arrived.
    /// </summary>
    public async Task ListenAsync(NpgsqlConnection listening, NpgsqlDataSource sender, string channel, TimeSpan keepAlive, TimeSpan timeout, Func<Exception> notHeard, CancellationToken cancellationToken)
    {
        for (var proven = false; ; proven = true)
        {
            if (!proven || !await listening.WaitAsync((int)keepAlive.TotalMilliseconds, cancellationToken).ConfigureAwait(false))
            {
                await ProveAsync(listening, sender, channel, timeout, notHeard, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends a ping on <paramref name="channel"/> from <paramref name="sender"/> and waits for <paramref name="listening"/> to hear it.</summary>
    /// <exception cref="Exception">The one <paramref name="notHeard"/> builds, when the ping was not heard within <paramref name="timeout"/>.</exception>
    private async Task ProveAsync(NpgsqlConnection listening, NpgsqlDataSource sender, string channel, TimeSpan timeout, Func<Exception> notHeard, CancellationToken cancellationToken)
    {
        var ping = Prefix + ":" + Guid.NewGuid().ToString("N");
        Volatile.Write(ref _expected, ping);
        Volatile.Write(ref _heard, 0);
        await using (var other = await sender.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", other))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ping });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Sent++;
        }

        var sent = Stopwatch.GetTimestamp(); // a network deadline: real time, whatever the app's clock
        while (Volatile.Read(ref _heard) == 0)
        {
            var left = timeout - Stopwatch.GetElapsedTime(sent);
            if ((left <= TimeSpan.Zero || !await listening.WaitAsync((int)Math.Ceiling(left.TotalMilliseconds), cancellationToken).ConfigureAwait(false))
                && Volatile.Read(ref _heard) == 0)
            {
                throw notHeard();
            }
        }
    }
}
