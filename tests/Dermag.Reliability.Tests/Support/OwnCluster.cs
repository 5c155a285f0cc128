using System.Globalization;
using Dermag.Testing;
using static Dermag.Testing.PostgresBinaries;

namespace Dermag.Reliability.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster that one test class owns and may restart (<c>pg_ctl restart -m fast</c>), started from
/// the server binaries (as the <c>postgres</c> OS user when running as root), never the shared test server. Without the
/// binaries the tests fail under <c>CI=true</c> and pass through with a message otherwise (<see cref="Missing"/>).
/// </summary>
public sealed class OwnCluster : IAsyncLifetime
{
    private string? _bin;
    private string? _root;
    private string? _user;

    /// <summary>Admin connection string (database <c>postgres</c>).</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Why the cluster could not be started (binaries missing outside CI), else null.</summary>
    public string? Missing { get; private set; }

    private string Data => Path.Combine(_root!, "data");

    public async Task InitializeAsync()
    {
        _bin = PostgresBinaries.SearchDirectories().FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
        if (_bin is null)
        {
            var message = "The PostgreSQL server binaries (initdb, pg_ctl) are not installed, so no cluster of its own can be restarted.";
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci && !ci.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(message + " CI is set, so these tests fail instead of passing through.");
            }

            Missing = message + " The tests pass through without running (they fail when CI=true).";
            return;
        }

        _user = ServerUser;
        _root = Directory.CreateTempSubdirectory("dermag-own-pg-").FullName;
        if (_user is not null)
        {
            await RunAsync("chown", ["postgres:postgres", _root], null);
        }

        var port = FreePort();
        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", Data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], _user);
        await File.AppendAllTextAsync(Path.Combine(Data, "postgresql.conf"), string.Create(CultureInfo.InvariantCulture,
            $"\nport = {port}\nunix_socket_directories = '{_root}'\nlisten_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\nshared_buffers = 32MB\n"));
        await PgCtlAsync("start");
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Maximum Pool Size=40;Timeout=5";
    }

    /// <summary><c>pg_ctl restart -m fast</c>: every backend is terminated (57P01), the server shuts down and starts again.</summary>
    public Task RestartAsync() => PgCtlAsync("restart", "-m", "fast");

    public async Task DisposeAsync()
    {
        if (_root is null || _bin is null)
        {
            return;
        }

        try
        {
            await PgCtlAsync("stop", "-m", "immediate");
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private Task PgCtlAsync(params string[] arguments) =>
        RunAsync(Path.Combine(_bin!, "pg_ctl"), ["-D", Data, "-l", Path.Combine(_root!, "server.log"), "-w", .. arguments], _user);


}
