using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Deletes 1,000,000 expired refresh tokens (100,000 with --quick) among 20,000 live ones with the library's batched
/// cleanup, timing every statement it sends (each statement is its own transaction, so its duration bounds how long it
/// holds row locks). For the record, the one-statement <c>cleanup_expired_refresh_tokens(30)</c> on the same data.
/// </summary>
internal static class CleanupScenario
{
    public static async Task RunAsync(BenchmarkRun run)
    {
        var expired = run.Quick ? 100_000 : 1_000_000;
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("cleanup");
        await using var provider = await TokenHost.StartAsync(connectionString);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(dataSource)}");
        var service = provider.GetRequiredService<IRefreshTokenManager>();

        await FillAsync(dataSource, expired);
        var statements = new ConcurrentBag<TimeSpan>();
        using (var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith("Npgsql", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => statements.Add(a.Duration),
        })
        {
            ActivitySource.AddActivityListener(listener);
            var started = Stopwatch.StartNew();
            var deleted = (await service.CleanupAsync()).Tokens;
            var elapsed = started.Elapsed;
            listener.ActivityStopped = null;
            var longest = statements.Max();
            var sorted = statements.Select(s => s.TotalMicroseconds).Order().ToArray();

            Console.WriteLine();
            Console.WriteLine("## cleanup: expired refresh tokens deleted by IRefreshTokenManager.CleanupAsync (batches of 1,000)");
            Console.WriteLine("| contender | rows deleted | seconds | rows/s | statements | p50 statement ms | p99 statement ms | longest statement ms |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| library batched cleanup | {deleted:N0} | {elapsed.TotalSeconds:0.00} | {deleted / elapsed.TotalSeconds:N0} | {statements.Count:N0} | {Harness.Percentile(sorted, 0.5) / 1000:0.0} | {Harness.Percentile(sorted, 0.99) / 1000:0.0} | {longest.TotalMilliseconds:0.0} |"));

            var remaining = await ScalarAsync(dataSource, "SELECT count(*) FROM refresh_tokens");
            BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture, $"cleanup: {remaining:N0} live tokens remain (20,000 expected)"));

            // For the record: the DBA function deletes everything in one statement (one transaction, one long lock).
            await FillAsync(dataSource, expired);
            var single = Stopwatch.StartNew();
            var singleDeleted = await ScalarAsync(dataSource, "SELECT cleanup_expired_refresh_tokens(30)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| for the record: SELECT cleanup_expired_refresh_tokens(30), one statement | {singleDeleted:N0} | {single.Elapsed.TotalSeconds:0.00} | {singleDeleted / single.Elapsed.TotalSeconds:N0} | 1 | | | {single.Elapsed.TotalMilliseconds:0.0} |"));

            deleted.Should(expired);
            run.Goals.AtMost("cleanup.longest_statement_seconds", longest.TotalSeconds, 1.0);
        }
    }

    private static void Should(this int deleted, int expected)
    {
        if (deleted != expected)
        {
            throw new InvalidOperationException($"cleanup deleted {deleted} rows, expected {expected}");
        }
    }

    /// <summary>Expired tokens (expired 31 to 90 days ago, past the 30-day retention) plus 20,000 live ones, in chunks of 100,000.</summary>
    private static async Task FillAsync(NpgsqlDataSource dataSource, int expired)
    {
        await using (var truncate = dataSource.CreateCommand("TRUNCATE refresh_tokens"))
        {
            await truncate.ExecuteNonQueryAsync();
        }

        for (var offset = 0; offset < expired; offset += 100_000)
        {
            await using var command = dataSource.CreateCommand("""
                INSERT INTO refresh_tokens (token_id, user_id, session_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at, revoked, revoked_at)
                SELECT gen_random_uuid(), 'user-' || (i % 5000), gen_random_uuid(), e - interval '7 days', e, e - interval '7 days', e, e - interval '7 days', i % 2 = 0, CASE WHEN i % 2 = 0 THEN e - interval '1 day' END
                FROM generate_series($1, $2) AS i, LATERAL (SELECT now() - interval '31 days' - (i % 86400) * interval '1 minute' AS e) AS x
                """);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Min(expired, offset + 100_000) - 1 });
            await command.ExecuteNonQueryAsync();
        }

        await using var live = dataSource.CreateCommand("""
            INSERT INTO refresh_tokens (token_id, user_id, session_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at)
            SELECT gen_random_uuid(), 'user-' || i, gen_random_uuid(), now(), now() + interval '7 days', now(), now() + interval '30 days', now()
            FROM generate_series(1, 20000) AS i
            """);
        await live.ExecuteNonQueryAsync();
        await using var vacuum = dataSource.CreateCommand("VACUUM ANALYZE refresh_tokens");
        vacuum.CommandTimeout = 600;
        await vacuum.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.CommandTimeout = 600;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
