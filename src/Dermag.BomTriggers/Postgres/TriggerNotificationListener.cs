using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.BomTriggers;

/// <summary>
/// Keeps one connection in <c>LISTEN</c> on the schema's two channels: <c>triggers</c> (a trigger changed in any instance:
/// reload the snapshot) and <c>jobs</c> (a job was enqueued: wake the workers). The connection is opened on
/// <see cref="PostgresTriggerStoreOptions.NotificationConnectionString"/> when set (LISTEN needs a direct or session-pooled
/// connection, which PgBouncer in transaction mode is not), else on the store's data source. Every (re)connect reloads the
/// snapshot and wakes the workers, because notifications sent meanwhile are lost; while disconnected, instances poll.
/// </summary>
internal sealed class TriggerNotificationListener(
    PostgresTriggerStore store,
    TriggerSnapshotProvider snapshots,
    JobSignal jobs,
    IOptionsMonitor<PostgresTriggerStoreOptions> options,
    TimeProvider timeProvider,
    ILogger<TriggerNotificationListener>? logger = null) : BackgroundService
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);

    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _isListening;
    private int _refreshQueued;
    private string _triggersChannel = string.Empty;
    private string _jobsChannel = string.Empty;
    private CancellationToken _stopping;
    private readonly Dermag.Postgres.ListenerProbe _probe = new();
    private readonly Dermag.Postgres.ListenerLoop _loop = new();

    /// <summary>How long the connection may stay silent before the listener proves it still hears (15 s; shorter in tests).</summary>
    internal TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many times the listener connected; more than one means it lost its connection and came back.</summary>
    internal int Connections { get; private set; }

    /// <summary>How many of its connections the listener has closed (or handed back to the pool, no longer listening).</summary>
    internal int ConnectionsClosed => _loop.ConnectionsClosed;

    /// <summary>How many keep-alive pings the listener sent.</summary>
    internal int PingsSent => _probe.Sent;

    /// <summary>Completes when the listener is (again) listening; for tests and health checks.</summary>
    public Task Listening => Volatile.Read(ref _listening).Task;

    /// <summary>True while the LISTEN connection is established.</summary>
    public bool IsListening
    {
        get => Volatile.Read(ref _isListening);
        private set => Volatile.Write(ref _isListening, value);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        return _loop.RunAsync(
            options.CurrentValue.NotificationConnectionString,
            store.DataSource,
            ListenAsync,
            () => Connections,
            Lost,
            (delay, ex) => Log.ListenerLost(Logger, _triggersChannel, delay, ex),
            timeProvider,
            stoppingToken);
    }

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        await using (var names = new NpgsqlCommand($"SELECT {store.ChannelFunction}('triggers'), {store.ChannelFunction}('jobs')", connection))
        {
            await using var reader = await names.ExecuteReaderAsync(stoppingToken).ConfigureAwait(false);
            await reader.ReadAsync(stoppingToken).ConfigureAwait(false);
            _triggersChannel = reader.GetString(0);
            _jobsChannel = reader.GetString(1);
        }

        connection.Notification += OnNotification;
        await using (var listen = new NpgsqlCommand($"LISTEN \"{_triggersChannel}\"; LISTEN \"{_jobsChannel}\"", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
        }

        // Whatever was announced before LISTEN took effect was not heard: catch up now.
        Connections++;
        IsListening = true;
        QueueRefresh();
        jobs.Wake();
        Volatile.Read(ref _listening).TrySetResult();
        Log.ListenerListening(Logger, _triggersChannel);
        await _probe.ListenAsync(connection, store.DataSource, _jobsChannel, KeepAliveInterval, PingTimeout, () => new BomTriggerException(
            $"The trigger listener sent a notification on channel {_jobsChannel} and did not receive it within {PingTimeout.TotalSeconds} s: the connection hangs (a network partition, a frozen server) "
            + "or does not support LISTEN (PgBouncer in transaction mode; then set PostgresTriggerStoreOptions.NotificationConnectionString to a direct connection). It reconnects."), stoppingToken).ConfigureAwait(false);
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (_probe.IsPing(e.Payload))
        {
            return;
        }

        if (string.Equals(e.Channel, _jobsChannel, StringComparison.Ordinal))
        {
            jobs.Wake();
        }
        else if (string.Equals(e.Channel, _triggersChannel, StringComparison.Ordinal)
            && !(long.TryParse(e.Payload, System.Globalization.CultureInfo.InvariantCulture, out var revision) && snapshots.Current?.Revision >= revision))
        {
            QueueRefresh();
        }
    }

    /// <summary>Reloads the snapshot off the notification thread; notifications arriving meanwhile coalesce into one more reload.</summary>
    private void QueueRefresh()
    {
        if (Interlocked.Exchange(ref _refreshQueued, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            Volatile.Write(ref _refreshQueued, 0);
            try
            {
                await snapshots.RefreshIfStaleAsync(_stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The revision poll picks the change up.
                Log.SnapshotRefreshFailed(Logger, ex);
            }
        });
    }

    private void Lost()
    {
        if (IsListening)
        {
            IsListening = false;
            Interlocked.Exchange(ref _listening, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }
}
