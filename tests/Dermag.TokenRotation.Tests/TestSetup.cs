using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.TokenRotation.Tests;

internal static class TestSetup
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    public static TokenSigningKey Key(string id, byte seed) => new(id, [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + seed))]);

    public static RefreshTokenRotationOptions Options(Action<RefreshTokenRotationOptions>? configure = null)
    {
        var options = new RefreshTokenRotationOptions { Issuer = "der-mag-platform", Audience = "der-mag-api" };
        options.AccessSigningKeys.Add(Key("access-1", 1));
        options.RefreshSigningKeys.Add(Key("refresh-1", 101));
        configure?.Invoke(options);
        return options;
    }

    public static RefreshTokenManager Service(IRefreshTokenStore store, TimeProvider time, Action<RefreshTokenRotationOptions>? configure = null) =>
        new(store, Microsoft.Extensions.Options.Options.Create(Options(configure)), time, new TokenRotationMetrics());

    public static FakeTimeProvider Clock() => new(Start);

    /// <summary>The PostgreSQL store on a freshly migrated schema of its own.</summary>
    public static async Task<PostgresRefreshTokenStore> MigratedStoreAsync(Npgsql.NpgsqlDataSource dataSource, string schema)
    {
        var options = new PostgresTokenStoreOptions { Schema = schema };
        await TokenRotationMigrations.CreateRunner(dataSource, options).MigrateAsync();
        return new PostgresRefreshTokenStore(dataSource, options);
    }

    /// <summary>How many unrevoked tokens the session has in <paramref name="schema"/> (0 once it is ended).</summary>
    public static async Task<long> CountActiveTokensAsync(Npgsql.NpgsqlDataSource dataSource, string schema, Guid sessionId)
    {
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM \"{schema}\".refresh_tokens WHERE session_id = $1 AND NOT revoked");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<Guid> { TypedValue = sessionId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>A store that fails the test if anything reaches it.</summary>
internal sealed class UntouchableStore : IRefreshTokenStore
{
    public int Calls { get; private set; }

    public Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken) => Fail<object>();

    public Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken) => Fail<RotationOutcome>();

    public Task<LogoutOutcome> LogoutAsync(LogoutRequest request, CancellationToken cancellationToken) => Fail<LogoutOutcome>();

    public Task<RevocationOutcome> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken) => Fail<RevocationOutcome>();

    public Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) => Fail<IReadOnlyList<SessionInfo>>();

    public Task<DateTimeOffset?> GetSessionActiveUntilAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken) => Fail<DateTimeOffset?>();

    public Task<int> DeleteExpiredAsync(CleanupTarget target, DateTimeOffset before, int batchSize, CancellationToken cancellationToken) => Fail<int>();

    private Task<T> Fail<T>()
    {
        Calls++;
        throw new InvalidOperationException("The store must not be called.");
    }
}
