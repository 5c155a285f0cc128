using Dermag.Migrations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.TokenRotation;

/// <summary>
/// Keeps one connection in <c>LISTEN</c> on the schema's revocation channel and drops the cached paranoid-mode answer of
/// every session another instance revokes. The connection is opened on
/// <see cref="PostgresTokenStoreOptions.NotificationConnectionString"/> when set (LISTEN needs a session-pooled or direct
/// connection, which PgBouncer in transaction mode is not), else on the store's data source. While it is not listening,
/// cached answers live at most <see cref="RefreshTokenRotationOptions.SessionCheckCacheDuration"/>; every loss and every
/// (re)connect clears the whole cache, because notifications sent meanwhile are lost.
/// </summary>
internal sealed class RevocationListener : BackgroundService
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);

    private readonly PostgresStoreDataSource<PostgresTokenStoreOptions> _storeDataSource;
    private readonly PostgresTokenStoreOptions _options;
    private readonly SessionActivityCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _channel;
    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _isListening;
    private readonly Dermag.Postgres.ListenerProbe _probe = new();
    private readonly Dermag.Postgres.ListenerLoop _loop = new();

    public RevocationListener(
        PostgresStoreDataSource<PostgresTokenStoreOptions> storeDataSource,
        IOptionsMonitor<PostgresTokenStoreOptions> options,
        SessionActivityCache cache,
        TimeProvider timeProvider,
        ILogger<RevocationListener>? logger = null)
    {
        _storeDataSource = storeDataSource;
        _options = options.CurrentValue;
        _cache = cache;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _channel = RevocationChannel.For(_options.Schema);
    }

    /// <summary>How long the connection may stay silent before the listener proves it still hears (15 s; shorter in tests).</summary>
    internal TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many times the listener connected; more than one means it lost its connection and came back.</summary>
    internal int Connections { get; private set; }

    /// <summary>How many of its connections the listener has closed (or handed back to the pool, no longer listening).</summary>
    internal int ConnectionsClosed => _loop.ConnectionsClosed;

    /// <summary>How many keep-alive pings the listener sent.</summary>
    internal int PingsSent => _probe.Sent;

    /// <summary>True while the LISTEN connection is established.</summary>
    public bool IsListening
    {
        get => Volatile.Read(ref _isListening);
        private set => Volatile.Write(ref _isListening, value);
    }

    /// <summary>Completes when the listener is (again) listening; for tests and health checks.</summary>
    public Task Listening => Volatile.Read(ref _listening).Task;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _loop.RunAsync(
            _options.NotificationConnectionString,
            _storeDataSource.DataSource,
            ListenAsync,
            () => Connections,
            Lost,
            (delay, ex) => Log.RevocationListenerLost(_logger, _channel, delay, ex),
            _time,
            stoppingToken);

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        connection.Notification += OnNotification;
        await using (var listen = new NpgsqlCommand($"LISTEN {SqlIdentifier.Quote(_channel, nameof(PostgresTokenStoreOptions.Schema))}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
        }

        // Revocations published before LISTEN took effect were not seen: forget everything cached until now.
        _cache.Clear();
        Connections++;
        IsListening = true;
        Volatile.Read(ref _listening).TrySetResult();
        Log.RevocationListenerListening(_logger, _channel);
        await _probe.ListenAsync(connection, _storeDataSource.DataSource, _channel, KeepAliveInterval, PingTimeout, () => new TokenRotationException(
            $"The revocation listener sent a notification on channel {_channel} and did not receive it within {PingTimeout.TotalSeconds} s: the connection hangs (a network partition, a frozen server) "
            + "or does not support LISTEN (PgBouncer in transaction mode; then set PostgresTokenStoreOptions.NotificationConnectionString to a direct connection). It reconnects."), stoppingToken).ConfigureAwait(false);
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (!string.Equals(e.Channel, _channel, StringComparison.Ordinal))
        {
            return;
        }

        if (_probe.IsPing(e.Payload))
        {
            return;
        }

        if (RevocationChannel.TryParse(e.Payload, out var sessionIds))
        {
            _cache.Invalidate(sessionIds);
        }
        else
        {
            _cache.Clear();
        }
    }

    private void Lost()
    {
        _cache.Clear();
        if (IsListening)
        {
            IsListening = false;
            Interlocked.Exchange(ref _listening, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }
}
