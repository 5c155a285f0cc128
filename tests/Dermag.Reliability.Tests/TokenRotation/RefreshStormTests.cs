using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Dermag.TokenRotation;

namespace Dermag.Reliability.Tests.TokenRotation;

/// <summary>
/// 200 parallel refreshes of one refresh token on real threads against PostgreSQL. Without a grace window exactly one
/// caller rotates and the rest are reuse; with a grace window every caller gets the very same successor. Either way no
/// session ever has two active tokens and no token is rotated away without its successor stored.
/// </summary>
public sealed class RefreshStormTests(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private static readonly int Callers = Scale.Pick(200, 1_000);

    [Fact]
    public async Task Storm_without_grace_window_rotates_exactly_once()
    {
        await using var host = await TokenHost.StartAsync(database.ConnectionString);
        var pair = await host.Service.IssueAsync("storm-user-" + Guid.NewGuid().ToString("N")[..8]);

        var results = await StormAsync(host.Service, pair.RefreshToken);

        results.Count(r => r.Status == RefreshStatus.Rotated).Should().Be(1);
        results.Where(r => r.Status != RefreshStatus.Rotated).Should().OnlyContain(r => r.Status == RefreshStatus.ReuseDetected || r.Status == RefreshStatus.Revoked);
        (await host.CountAsync("SELECT count(*) FROM refresh_tokens WHERE session_id = $1", pair.SessionId)).Should().Be(2, "one rotation stored one successor");
        await host.AssertInvariantsAsync();
        Figures.Report(output, $"storm without grace: {Callers} callers, {results.Count(r => r.Succeeded)} Rotated, {results.Count(r => r.Status == RefreshStatus.ReuseDetected)} ReuseDetected, {results.Count(r => r.Status == RefreshStatus.Revoked)} Revoked; invariants hold");
    }

    [Fact]
    public async Task Storm_with_grace_window_gives_every_caller_the_same_successor()
    {
        await using var host = await TokenHost.StartAsync(database.ConnectionString, o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var pair = await host.Service.IssueAsync("storm-grace-" + Guid.NewGuid().ToString("N")[..8]);

        var results = await StormAsync(host.Service, pair.RefreshToken);

        results.Should().OnlyContain(r => r.Status == RefreshStatus.Rotated);
        results.Select(r => r.Tokens!.RefreshToken).Distinct().Should().ContainSingle("every caller gets the same successor");
        results.Select(r => r.Tokens!.SessionId).Distinct().Should().Equal(pair.SessionId);
        (await host.CountAsync("SELECT count(*) FROM refresh_tokens WHERE session_id = $1", pair.SessionId)).Should().Be(2, "one rotation stored one successor");
        (await host.CountAsync("SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND NOT revoked", pair.SessionId)).Should().Be(1);

        // The shared successor is a working token.
        (await host.Service.RefreshAsync(results[0].Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        await host.AssertInvariantsAsync();
        Figures.Report(output, $"storm with grace: {Callers} callers, all Rotated to 1 distinct successor; invariants hold");
    }

    private static async Task<RefreshResult[]> StormAsync(IRefreshTokenManager service, string token)
    {
        // Real threads released together, so the requests really race in the database.
        using var start = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Callers).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.Wait();
                return service.RefreshAsync(token).GetAwaiter().GetResult();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        start.Set();
        return await Task.WhenAll(threads);
    }
}
