using System.Diagnostics;
using System.Globalization;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Cross-instance revocation: two service instances (two DI containers, each with its own paranoid-mode cache and
/// listener) on one database. Each of 8 clients logs in on A, has B cache "active", revokes the session on A and polls B
/// until it answers "revoked". Measured from the start of the revoke call on A. The baseline is the same two instances
/// without notifications, where only the cache expiry (1 s here; 5 s by default) ends the stale answer.
/// </summary>
internal static class RevocationScenario
{
    private const int Clients = 8;

    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("revocation");
        var notified = await MeasureAsync(connectionString, notifications: true, cache: TimeSpan.FromMinutes(5), perClient: run.Quick ? 25 : 100);
        var polled = await MeasureAsync(connectionString, notifications: false, cache: TimeSpan.FromSeconds(1), perClient: run.Quick ? 2 : 4);

        Console.WriteLine();
        Console.WriteLine("## revocation: revoke on instance A until IsSessionActiveAsync == false on instance B (8 clients)");
        Console.WriteLine("| contender | samples | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("LISTEN/NOTIFY (cache 5 min, only the notification can end it)", notified);
        Row("baseline: no notifications, cache 1 s", polled);
        var p99 = Harness.Percentile(notified, 0.99);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture, $"revocation: baseline p50 / notified p50 = {Harness.Percentile(polled, 0.5) / Harness.Percentile(notified, 0.5):0.0}x"));
        run.Goals.AtMost("revocation.propagation_p99_ms", p99, 100);
    }

    private static void Row(string contender, double[] sorted) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {contender} | {sorted.Length:N0} | {Harness.Percentile(sorted, 0.5):0.0} | {Harness.Percentile(sorted, 0.99):0.0} | {sorted[^1]:0.0} |"));

    private static async Task<double[]> MeasureAsync(string connectionString, bool notifications, TimeSpan cache, int perClient)
    {
        await using var a = await StartAsync(connectionString, notifications, cache);
        await using var b = await StartAsync(connectionString, notifications, cache);
        var serviceA = a.GetRequiredService<IRefreshTokenManager>();
        var serviceB = b.GetRequiredService<IRefreshTokenManager>();
        if (notifications)
        {
            // Not measured: the first revocation to reach B proves B's listener is up.
            var warmUp = await serviceA.IssueAsync("revocation-warm-up");
            await serviceB.IsSessionActiveAsync(warmUp.SessionId);
            await serviceA.RevokeSessionAsync("revocation-warm-up", warmUp.SessionId);
            var deadline = Stopwatch.StartNew();
            while (await serviceB.IsSessionActiveAsync(warmUp.SessionId))
            {
                await Task.Delay(10);
                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new InvalidOperationException("instance B never heard a revocation: its listener did not start");
                }
            }
        }

        var samples = new double[Clients][];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            samples[client] = new double[perClient];
            for (var i = 0; i < perClient; i++)
            {
                var user = $"revocation-{notifications}-{client}-{i}";
                var pair = await serviceA.IssueAsync(user);
                if (!await serviceB.IsSessionActiveAsync(pair.SessionId))
                {
                    throw new InvalidOperationException("B must see the new session");
                }

                var started = Stopwatch.GetTimestamp();
                await serviceA.RevokeSessionAsync(user, pair.SessionId);
                while (await serviceB.IsSessionActiveAsync(pair.SessionId))
                {
                    await Task.Delay(1);
                }

                samples[client][i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        return [.. samples.SelectMany(s => s).Order()];
    }

    private static async Task<ServiceProvider> StartAsync(string connectionString, bool notifications, TimeSpan cache)
    {
        var provider = await TokenHost.StartAsync(connectionString, o => o.SessionCheckCacheDuration = cache, pg => pg.RevocationNotifications = notifications);
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return provider;
    }
}
