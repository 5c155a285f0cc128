using Dermag.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>
/// Revocation racing a client that refreshes in a loop, with no injected delay, for hundreds of rounds per kind of
/// revocation. A round "survives" when the session still has an active token after the revocation returned; the
/// answer must be zero every time. <c>DERMAG_STRESS_ROUNDS</c> raises the count for a soak.
/// </summary>
public sealed class RevocationStressTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("DERMAG_STRESS_ROUNDS"), out var r) ? r : 200;
    private readonly string _schema = "stress_" + Guid.NewGuid().ToString("N")[..12];
    private readonly FakeTimeProvider _time = TestSetup.Clock();
    private PostgresRefreshTokenStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await TestSetup.MigratedStoreAsync(database.DataSource, _schema);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(Revocation.LogoutWithRotatingToken)]
    [InlineData(Revocation.RevokeSession)]
    [InlineData(Revocation.RevokeAllSessions)]
    [InlineData(Revocation.ReuseRevokeAllUserSessions)]
    [InlineData(Revocation.ReuseRevokeSession)]
    public async Task RefreshLoop_RacingRevocation_NoSessionSurvives(Revocation revocation)
    {
        var policy = revocation == Revocation.ReuseRevokeSession ? TokenReusePolicy.RevokeSession : TokenReusePolicy.RevokeAllUserSessions;
        var service = TestSetup.Service(_store, _time, o => o.ReusePolicy = policy);
        var survivors = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var user = "stress-" + Guid.NewGuid().ToString("N")[..8];
            var first = await service.IssueAsync(user);
            var stolen = first.RefreshToken;
            var latest = first.RefreshToken;
            var rotatedOnce = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stop = false;

            // The attacker (or a busy client) refreshes as fast as it can until the session is dead.
            var loop = Task.Run(async () =>
            {
                var token = first.RefreshToken;
                while (!Volatile.Read(ref stop))
                {
                    var result = await service.RefreshAsync(token);
                    if (!result.Succeeded)
                    {
                        rotatedOnce.TrySetResult();
                        return;
                    }

                    token = result.Tokens.RefreshToken;
                    Volatile.Write(ref latest, token);
                    rotatedOnce.TrySetResult();
                }
            });

            await rotatedOnce.Task;
            switch (revocation)
            {
                case Revocation.LogoutWithRotatingToken:
                    await service.LogoutAsync(Volatile.Read(ref latest));
                    break;
                case Revocation.RevokeSession:
                    await service.RevokeSessionAsync(user, first.SessionId);
                    break;
                case Revocation.RevokeAllSessions:
                    await service.RevokeAllSessionsAsync(user);
                    break;
                default:
                    (await service.RefreshAsync(stolen)).Status.Should().BeOneOf(RefreshStatus.ReuseDetected, RefreshStatus.Revoked);
                    break;
            }

            // A refresh still in flight may finish; one that starts now must fail. Either way nothing may stay active.
            Volatile.Write(ref stop, true);
            await loop;
            if (await CountActiveAsync(first.SessionId) > 0)
            {
                survivors++;
            }
        }

        survivors.Should().Be(0, $"no session may survive a revocation that returned ({Rounds} rounds of {revocation})");
    }

    private Task<long> CountActiveAsync(Guid sessionId) => TestSetup.CountActiveTokensAsync(database.DataSource, _schema, sessionId);
}
