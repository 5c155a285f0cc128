using Dermag.TokenRotation;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// The three rotation contenders, shared by <see cref="RotationScenario"/> (loopback) and
/// <see cref="RotationLatencyScenario"/> (through a latency proxy): the library
/// (<see cref="IRefreshTokenManager.RefreshAsync"/>: validate the JWT, one statement, sign a new pair); the floor (raw
/// Npgsql running the library's own one-statement rotation SQL, no JWT work at all); the naive approach of the original
/// (SELECT, UPDATE, INSERT in a transaction; raw Npgsql, also without JWT work). Each client rotates its own session.
/// </summary>
internal static class RotationContenders
{
    public const int Library = 0;
    public const int Floor = 1;
    public const int Naive = 2;

    private static readonly PostgresSql Sql = new("\"public\"", "text");

    /// <summary>
    /// Gives each of <paramref name="clients"/> clients a session per contender (the library's through
    /// <paramref name="service"/>, the others through <paramref name="dataSource"/>), then measures the three side by
    /// side; the result is indexed by <see cref="Library"/>, <see cref="Floor"/>, <see cref="Naive"/>. With
    /// <paramref name="cpu"/>, each measurement also records where the CPU went.
    /// </summary>
    public static async Task<IReadOnlyList<Measurement>> CompareAsync(BenchmarkRun run, IRefreshTokenManager service, NpgsqlDataSource dataSource, int clients, string label = "", CpuMeter? cpu = null) =>
        await Harness.CompareAsync(clients, run.RoundDuration, run.Rounds, betweenRounds: null, cpu, await PrepareAsync(service, dataSource, clients, label));

    /// <summary>The three contenders, indexed as <see cref="Library"/>, <see cref="Floor"/>, <see cref="Naive"/>, each client with its own fresh session.</summary>
    public static async Task<(string Name, Func<int, Task> Operation)[]> PrepareAsync(IRefreshTokenManager service, NpgsqlDataSource dataSource, int clients, string label)
    {
        var libraryTokens = new string[clients];
        var floorTokens = new (Guid Token, Guid Session)[clients];
        var naiveTokens = new Guid[clients];
        for (var c = 0; c < clients; c++)
        {
            libraryTokens[c] = (await service.IssueAsync($"lib{label}-{clients}-{c}")).RefreshToken;
            floorTokens[c] = await CreateSessionAsync(dataSource, Sql.CreateSession, $"floor{label}-{clients}-{c}");
            naiveTokens[c] = (await CreateSessionAsync(dataSource, Sql.CreateSession, $"naive{label}-{clients}-{c}")).Token;
        }

        return
        [
            ("library RefreshAsync", async c =>
            {
                var result = await service.RefreshAsync(libraryTokens[c]);
                libraryTokens[c] = result.Succeeded ? result.Tokens.RefreshToken : throw new InvalidOperationException("refresh failed: " + result.Status);
            }),
            ("floor: raw Npgsql, the library's one statement", async c => floorTokens[c] = (await FloorRotateAsync(dataSource, Sql.Rotate, floorTokens[c].Token, floorTokens[c].Session), floorTokens[c].Session)),
            ("naive: SELECT, UPDATE, INSERT in a transaction", async c => naiveTokens[c] = await NaiveRotateAsync(dataSource, naiveTokens[c])),
        ];
    }

    /// <summary>A session as the library creates it (session row, first token, audit row), through its own statement.</summary>
    private static async Task<(Guid Token, Guid Session)> CreateSessionAsync(NpgsqlDataSource dataSource, string sql, string userId)
    {
        var tokenId = Guid.NewGuid();
        var sessionId = Guid.NewGuid();
        var now = Seconds(TimeProvider.System.GetUtcNow());
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = sessionId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now.AddDays(7) });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now.AddDays(30) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "{}" });
        await command.ExecuteNonQueryAsync();
        return (tokenId, sessionId);
    }

    /// <summary>The library's rotation statement with the same parameters it sends.</summary>
    private static async Task<Guid> FloorRotateAsync(NpgsqlDataSource dataSource, string sql, Guid tokenId, Guid sessionId)
    {
        var successor = Guid.NewGuid();
        var now = TimeProvider.System.GetUtcNow();
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = successor });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = Seconds(now) });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = Seconds(now).AddDays(7) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = sessionId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? successor : throw new InvalidOperationException("floor rotation found no active token");
    }

    /// <summary>What the original did: read the token, mark it used, insert the successor, in one transaction.</summary>
    private static async Task<Guid> NaiveRotateAsync(NpgsqlDataSource dataSource, Guid tokenId)
    {
        var successor = Guid.NewGuid();
        var now = TimeProvider.System.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string userId;
        Guid sessionId;
        DateTimeOffset sessionCreated, sessionExpires;
        await using (var select = new NpgsqlCommand("""
            SELECT user_id, session_id, session_created_at, session_expires_at, revoked, expires_at
            FROM refresh_tokens WHERE token_id = $1
            """, connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
            await using var reader = await select.ExecuteReaderAsync();
            if (!await reader.ReadAsync() || reader.GetBoolean(4) || reader.GetFieldValue<DateTimeOffset>(5) <= now)
            {
                throw new InvalidOperationException("naive rotation found no active token");
            }

            userId = reader.GetString(0);
            sessionId = reader.GetGuid(1);
            sessionCreated = reader.GetFieldValue<DateTimeOffset>(2);
            sessionExpires = reader.GetFieldValue<DateTimeOffset>(3);
        }

        await using (var update = new NpgsqlCommand(
            "UPDATE refresh_tokens SET revoked = true, revoked_at = $2, revoked_by_token_id = $3, revoke_reason = 'rotated' WHERE token_id = $1", connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = successor });
            await update.ExecuteNonQueryAsync();
        }

        await using (var insert = new NpgsqlCommand("""
            INSERT INTO refresh_tokens (token_id, user_id, session_id, parent_token_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at)
            VALUES ($1, $2, $3, $4, $5, LEAST($6, $8), $7, $8, $5)
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = successor });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = sessionId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = Seconds(now) });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = Seconds(now).AddDays(7) });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = sessionCreated });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = sessionExpires });
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return successor;
    }

    private static DateTimeOffset Seconds(DateTimeOffset value) => new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
