using System.Diagnostics;
using System.Globalization;
using Dermag.Testing;
using Npgsql;
using static Dermag.Testing.PostgresBinaries;

namespace Dermag.Reliability.Tests.Support;

/// <summary>
/// A primary and a streaming standby started from the PostgreSQL server binaries on this machine (as the
/// <c>postgres</c> OS user when running as root, since <c>initdb</c> refuses root), each on its own free port under one
/// temp folder owned by that user; both are stopped and the folder deleted on dispose. The primary is initialised with
/// <c>wal_level=replica</c> and a <c>pg_hba.conf</c> that permits replication from 127.0.0.1; the standby is a
/// <c>pg_basebackup -R</c> of it. With <c>synchronous</c> the primary names the standby in
/// <c>synchronous_standby_names</c> (set after the base backup, so the promoted standby does not inherit it) and runs
/// <c>synchronous_commit=on</c>: a commit returns only after the standby has flushed its WAL.
/// Independent of the shared test server (<see cref="PostgresServer"/>): a failover test needs binaries it can stop.
/// </summary>
public sealed class ReplicatedPostgres : IAsyncDisposable
{
    public const string Database = "dermag";
    private const string StandbyName = "dermag_standby";

    private readonly string _binaries;
    private readonly string _root;
    private readonly string? _user;
    private bool _primaryStopped;

    private ReplicatedPostgres(string binaries, string root, string? user, int primaryPort, int standbyPort, bool synchronous)
    {
        _binaries = binaries;
        _root = root;
        _user = user;
        PrimaryPort = primaryPort;
        StandbyPort = standbyPort;
        Synchronous = synchronous;
    }

    public int PrimaryPort { get; }

    public int StandbyPort { get; }

    public bool Synchronous { get; }

    /// <summary>
    /// Both servers, primary first, in Npgsql's multi-host syntax, asking for the primary
    /// (<c>Target Session Attributes=primary</c>): what an app that should survive a failover configures.
    /// </summary>
    public string MultiHostConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = $"127.0.0.1:{PrimaryPort},127.0.0.1:{StandbyPort}",
        Username = "postgres",
        Database = Database,
        TargetSessionAttributes = "primary",
    }.ConnectionString;

    /// <summary>The standby alone (the new primary after <see cref="PromoteStandbyAsync"/>), unpooled, for checks.</summary>
    public string StandbyConnectionString => Single(StandbyPort);

    public string PrimaryConnectionString => Single(PrimaryPort);

    /// <summary>The directory holding <c>initdb</c>, <c>pg_ctl</c> and <c>pg_basebackup</c>, or null.</summary>
    public static string? FindBinaries() => PostgresBinaries.SearchDirectories().FirstOrDefault(d =>
        File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")) && File.Exists(Path.Combine(d, "pg_basebackup")));

    public static async Task<ReplicatedPostgres> StartAsync(string binaries, bool synchronous)
    {
        var asRoot = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), $"dermag-failover-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(root);
        var user = ServerUser;
        if (asRoot)
        {
            await RunAsync("chown", ["postgres:postgres", root], null);
        }

        var primaryPort = FreePort();
        var standbyPort = FreePort();
        while (standbyPort == primaryPort)
        {
            standbyPort = FreePort();
        }

        var cluster = new ReplicatedPostgres(binaries, root, user, primaryPort, standbyPort, synchronous);
        AppDomain.CurrentDomain.ProcessExit += cluster.OnProcessExit;
        try
        {
            await cluster.InitializeAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Simulates the loss of the primary: <c>pg_ctl stop -m immediate</c> (no shutdown checkpoint, clients cut off).</summary>
    public async Task StopPrimaryAsync()
    {
        _primaryStopped = true;
        await PgCtlAsync(["-D", PrimaryData, "-m", "immediate", "-w", "stop"]);
    }

    /// <summary><c>pg_ctl promote -w</c>: returns when the standby accepts writes.</summary>
    public Task PromoteStandbyAsync() => PgCtlAsync(["-D", StandbyData, "-w", "promote"]);

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var data in new[] { StandbyData, PrimaryData })
        {
            if (File.Exists(Path.Combine(data, "postmaster.pid")) && !(data == PrimaryData && _primaryStopped))
            {
                try
                {
                    await PgCtlAsync(["-D", data, "-m", "immediate", "-w", "stop"]);
                }
                catch (InvalidOperationException)
                {
                    // Already stopped.
                }
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: it is a temp folder.
        }
    }

    // A test process that ends without disposing (a crash, a killed run) still stops both servers.
    private void OnProcessExit(object? sender, EventArgs e) => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private string PrimaryData => Path.Combine(_root, "primary");

    private string StandbyData => Path.Combine(_root, "standby");

    private static string Single(int port, string database = Database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Username = "postgres",
        Database = database,
        Pooling = false,
    }.ConnectionString;

    private async Task InitializeAsync()
    {
        await RunAsync(Path.Combine(_binaries, "initdb"), ["-D", PrimaryData, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], _user);

        // initdb's pg_hba.conf already allows replication from 127.0.0.1 under --auth=trust; say so explicitly rather than rely on it.
        await File.AppendAllTextAsync(Path.Combine(PrimaryData, "pg_hba.conf"), "\nhost replication postgres 127.0.0.1/32 trust\n");

        // fsync off keeps the run short on shared cores; it changes nothing here, since no OS crashes: the standby still
        // acknowledges only WAL it has received and written, and the primary is killed as a process.
        var common = "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 -c shared_buffers=32MB -c wal_level=replica -c max_wal_senders=5 -c wal_keep_size=256MB -c synchronous_commit=on";
        await PgCtlAsync(["-D", PrimaryData, "-o", $"-p {PrimaryPort} -k {_root} {common}", "-l", Path.Combine(_root, "primary.log"), "-w", "start"]);
        await ExecuteAsync(Single(PrimaryPort, "postgres"), $"CREATE DATABASE {Database}");

        await RunAsync(Path.Combine(_binaries, "pg_basebackup"),
            ["-h", "127.0.0.1", "-p", PrimaryPort.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-D", StandbyData, "-R", "-X", "stream", "-c", "fast", "--no-sync"], _user);

        // The walreceiver reports cluster_name as its application_name, which synchronous_standby_names names.
        await PgCtlAsync(["-D", StandbyData, "-o", $"-p {StandbyPort} -k {_root} -c cluster_name={StandbyName} {common}", "-l", Path.Combine(_root, "standby.log"), "-w", "start"]);

        if (Synchronous)
        {
            await ExecuteAsync(PrimaryConnectionString, $"ALTER SYSTEM SET synchronous_standby_names = '{StandbyName}'");
            await ExecuteAsync(PrimaryConnectionString, "SELECT pg_reload_conf()");
        }

        // Ready when the standby streams (and, synchronous, is the sync standby).
        var expected = Synchronous ? "sync" : "async";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var connection = new NpgsqlConnection(PrimaryConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StandbyName });
            if (await command.ExecuteScalarAsync() as string == expected)
            {
                return;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"The standby did not reach streaming/{expected} within 30 s; see {_root}/standby.log.");
            }

            await Task.Delay(50);
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private Task PgCtlAsync(string[] arguments) => RunAsync(Path.Combine(_binaries, "pg_ctl"), arguments, _user);


}
