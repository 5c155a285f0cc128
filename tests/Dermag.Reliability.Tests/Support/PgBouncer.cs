using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Dermag.Testing;
using Npgsql;
using static Dermag.Testing.PostgresBinaries;

namespace Dermag.Reliability.Tests.Support;

/// <summary>
/// PgBouncer in transaction pooling mode in front of the test PostgreSQL server, started by the fixture from a temp ini
/// file on a free port of 127.0.0.1 (as the <c>postgres</c> OS user when the tests run as root). The fixture installs
/// nothing: CI installs the Debian package <c>pgbouncer</c> in <c>.ci/run</c>. When the binary is missing the tests fail
/// under <c>CI=true</c> and pass through with a message otherwise (<see cref="Missing"/>).
/// </summary>
public sealed class PgBouncerFixture : IAsyncLifetime
{
    private Process? _process;
    private string? _root;

    /// <summary>A database of its own on the test server.</summary>
    public string DirectConnectionString { get; private set; } = string.Empty;

    /// <summary>
    /// The same database through PgBouncer, with the settings Npgsql's documentation asks for behind transaction pooling:
    /// <c>No Reset On Close=true</c> (no <c>DISCARD ALL</c> when a connection goes back to Npgsql's pool) and
    /// <c>Max Auto Prepare=0</c> (no automatic server-side prepared statements; 0 is Npgsql's default, stated explicitly).
    /// </summary>
    public string BouncerConnectionString { get; private set; } = string.Empty;

    /// <summary>Why PgBouncer could not be started (binary missing outside CI), else null.</summary>
    public string? Missing { get; private set; }

    /// <summary>The pgbouncer binary, when found.</summary>
    public static string? Binary { get; } = new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer" }
        .Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "pgbouncer")))
        .FirstOrDefault(File.Exists);

    /// <summary>The pool PgBouncer keeps per database and user (server connections).</summary>
    public const int ServerPoolSize = 10;

    public async Task InitializeAsync()
    {
        if (Binary is null)
        {
            var message = "pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it).";
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci && !ci.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(message + " CI is set, so the PgBouncer tests fail instead of passing through.");
            }

            Missing = message + " The PgBouncer tests pass through without running (they fail when CI=true).";
            return;
        }

        var server = await PostgresServer.GetAsync();
        DirectConnectionString = await server.CreateDatabaseAsync("pgbouncer");
        var direct = new NpgsqlConnectionStringBuilder(DirectConnectionString);
        var asRoot = Environment.UserName == "root";
        _root = Directory.CreateTempSubdirectory("dermag-pgbouncer-").FullName;
        var port = FreePort();
        var password = string.IsNullOrEmpty(direct.Password) ? string.Empty : $" password={direct.Password}";
        var ini = string.Create(CultureInfo.InvariantCulture, $"""
            [databases]
            * = host={direct.Host} port={direct.Port} user={direct.Username}{password}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = any
            pool_mode = transaction
            default_pool_size = {ServerPoolSize}
            max_client_conn = 1000
            max_db_connections = {ServerPoolSize}
            server_reset_query =
            ignore_startup_parameters = extra_float_digits
            logfile = {_root}/pgbouncer.log
            pidfile = {_root}/pgbouncer.pid
            """);
        await File.WriteAllTextAsync(Path.Combine(_root, "pgbouncer.ini"), ini);
        if (asRoot)
        {
            Run("chown", "-R", "postgres:postgres", _root);
        }

        var start = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (asRoot)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
        }

        start.ArgumentList.Add(Path.Combine(_root, "pgbouncer.ini"));
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start pgbouncer.");
        BouncerConnectionString = new NpgsqlConnectionStringBuilder(server.Limit(DirectConnectionString))
        {
            Port = port,
            NoResetOnClose = true,
            MaxAutoPrepare = 0,
        }.ConnectionString;

        // Wait until it accepts connections and reaches the server.
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(BouncerConnectionString) { Pooling = false }.ConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (NpgsqlException) when (watch.Elapsed < TimeSpan.FromSeconds(10) && !_process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException)
            {
                var log = File.Exists(Path.Combine(_root, "pgbouncer.log")) ? await File.ReadAllTextAsync(Path.Combine(_root, "pgbouncer.log")) : string.Empty;
                throw new InvalidOperationException($"pgbouncer did not come up on port {port}: {ex.Message}\n{log}", ex);
            }
        }
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        if (_root is not null)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }


    private static void Run(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)) ?? throw new InvalidOperationException($"Could not start {file}.");
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}.");
        }
    }
}
