using System.Globalization;
using System.Net.Sockets;
using Npgsql;
using Testcontainers.PostgreSql;
using static Dermag.Testing.PostgresBinaries;

namespace Dermag.Testing;

/// <summary>
/// The one PostgreSQL server a test process uses, found in this order: the <c>DERMAG_TEST_POSTGRES</c> connection
/// string; a Testcontainers container when a Docker engine answers; a throwaway cluster started from the PostgreSQL
/// server binaries on the machine (as the <c>postgres</c> OS user when running as root), stopped at process exit.
/// </summary>
public sealed class PostgresServer
{
    /// <summary>The environment variable holding an admin connection string to an existing server.</summary>
    public const string EnvironmentVariable = "DERMAG_TEST_POSTGRES";

    private static readonly Lazy<Task<PostgresServer>> Shared = new(async () => await (await StartAsync()).WithPoolBudgetAsync(), LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_databaseCounter;

    private PostgresServer(string connectionString, string source)
    {
        AdminConnectionString = connectionString;
        Source = source;
    }

    /// <summary>
    /// The most connections one data source of a test may open on this server. Test processes run in parallel (one per
    /// test project) and every test class has its own pools, so on a stock server (<c>max_connections</c> 100) a pool of
    /// 100 per class would exhaust it; the budget scales with the server's limit, and idle connections are closed
    /// within seconds so finished classes give theirs back.
    /// </summary>
    public int PoolBudget { get; private set; } = 100;

    /// <summary>A connection string with rights to create databases.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Where the server came from (environment, container, local cluster).</summary>
    public string Source { get; }

    /// <summary>The server for this test process, started on first use.</summary>
    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string? nameHint = null)
    {
        var hint = new string((nameHint ?? "test").ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray());
        var name = string.Create(CultureInfo.InvariantCulture, $"dermag_{hint}_{Environment.ProcessId}_{Interlocked.Increment(ref s_databaseCounter)}_{Guid.NewGuid():N}");
        name = name[..Math.Min(name.Length, 63)];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", connection);
            await command.ExecuteNonQueryAsync();
        }

        return Limit(new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString);
    }

    /// <summary>
    /// <paramref name="connectionString"/> with at most <paramref name="maxPoolSize"/> (and never more than
    /// <see cref="PoolBudget"/>) pooled connections, idle ones closed after a second or two.
    /// </summary>
    public string Limit(string connectionString, int maxPoolSize = int.MaxValue)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.MaxPoolSize = Math.Min(Math.Min(builder.MaxPoolSize, maxPoolSize), PoolBudget);
        builder.MinPoolSize = 0;
        builder.ConnectionIdleLifetime = 2;
        builder.ConnectionPruningInterval = 1;
        return builder.ConnectionString;
    }

    /// <summary>Reads <c>max_connections</c> and sets <see cref="PoolBudget"/> from it.</summary>
    private async Task<PostgresServer> WithPoolBudgetAsync()
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(AdminConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('max_connections')::int", connection);
        var maxConnections = (int)(await command.ExecuteScalarAsync())!;

        // Up to six test processes with a few live pools each share the server; keep a margin for admin connections.
        PoolBudget = Math.Clamp((maxConnections - 20) / 16, 4, 100);
        return this;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return new PostgresServer(fromEnvironment, EnvironmentVariable);
        }

        var problems = new List<string>();
        if (DockerAnswers())
        {
            try
            {
                var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
                await container.StartAsync();
                AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
                return new PostgresServer(container.GetConnectionString(), "Testcontainers");
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                problems.Add("Testcontainers: " + ex.Message);
            }
        }
        else
        {
            problems.Add("Testcontainers: no Docker engine answered");
        }

        var binaries = FindPostgresBinaries();
        if (binaries is not null)
        {
            try
            {
                return await LocalCluster.StartAsync(binaries);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                problems.Add($"local cluster from {binaries}: {ex.Message}");
            }
        }
        else
        {
            problems.Add("local cluster: no initdb/pg_ctl found (looked in PATH and /usr/lib/postgresql/*/bin)");
        }

        throw new InvalidOperationException(
            "The PostgreSQL tests need a server and none was found. Either set " + EnvironmentVariable
            + " to an admin connection string, or run a Docker engine for Testcontainers, or install the PostgreSQL server binaries (initdb, pg_ctl). Tried: "
            + string.Join("; ", problems));
    }

    private static bool DockerAnswers()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(host) || host.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = string.IsNullOrEmpty(host) ? "/var/run/docker.sock" : host["unix://".Length..];
            if (!File.Exists(path))
            {
                return false;
            }

            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(path));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    private static string? FindPostgresBinaries() =>
        PostgresBinaries.SearchDirectories().FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));

    private static class LocalCluster
    {
        public static async Task<PostgresServer> StartAsync(string binaries)
        {
            var asRoot = Environment.UserName == "root";
            var root = Path.Combine(Path.GetTempPath(), $"dermag-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
            Directory.CreateDirectory(root);
            if (asRoot)
            {
                await RunAsync("chown", ["postgres:postgres", root], asUser: null);
            }

            var data = Path.Combine(root, "data");
            var port = FreePort();
            var user = ServerUser;
            await RunAsync(Path.Combine(binaries, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], user);
            var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB";
            await RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(root, "server.log"), "-w", "start"], user);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"], user).GetAwaiter().GetResult();
                    Directory.Delete(root, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
                {
                    // Best effort: the cluster lives in a temp folder.
                }
            };

            var connectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=200";
            return new PostgresServer(connectionString, $"local cluster on port {port}");
        }


    }
}
