using System.Globalization;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Refresh throughput at 1, 8 and 32 clients, each client rotating its own session:
/// the library (<see cref="IRefreshTokenManager.RefreshAsync"/>: validate the JWT, one statement, sign a new pair);
/// the floor (raw Npgsql running the library's own one-statement rotation SQL, no JWT work at all);
/// the naive approach of the original (SELECT, UPDATE, INSERT in a transaction; raw Npgsql, also without JWT work).
/// </summary>
internal static class RotationScenario
{
    private static readonly string Quoted = "\"public\"";

    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("rotation");
        await using var provider = await TokenHost.StartAsync(connectionString);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(dataSource)}");
        var service = provider.GetRequiredService<IRefreshTokenManager>();
        var sql = new PostgresSql(Quoted, "text");

        var rows = new List<Measurement>();
        var at8 = Array.Empty<Measurement>();
        foreach (var clients in new[] { 1, 8, 32 })
        {
            var libraryTokens = new string[clients];
            var floorTokens = new (Guid Token, Guid Session)[clients];
            var naiveTokens = new Guid[clients];
            for (var c = 0; c < clients; c++)
            {
                libraryTokens[c] = (await service.IssueAsync($"lib-{clients}-{c}")).RefreshToken;
                floorTokens[c] = await CreateSessionAsync(dataSource, sql.CreateSession, $"floor-{clients}-{c}");
                naiveTokens[c] = (await CreateSessionAsync(dataSource, sql.CreateSession, $"naive-{clients}-{c}")).Token;
            }

            var measured = await Harness.CompareAsync(clients, run.RoundDuration, run.Rounds,
                ("library RefreshAsync", async c =>
                {
                    var result = await service.RefreshAsync(libraryTokens[c]);
                    libraryTokens[c] = result.Succeeded ? result.Tokens.RefreshToken : throw new InvalidOperationException("refresh failed: " + result.Status);
                }),
                ("floor: raw Npgsql, the library's one statement", async c => floorTokens[c] = (await FloorRotateAsync(dataSource, sql.Rotate, floorTokens[c].Token, floorTokens[c].Session), floorTokens[c].Session)),
                ("naive: SELECT, UPDATE, INSERT in a transaction", async c => naiveTokens[c] = await NaiveRotateAsync(dataSource, naiveTokens[c])));
            rows.AddRange(measured);
            if (clients == 8)
            {
                at8 = [.. measured];
            }
        }

        Harness.PrintTable("rotation: refreshes per second, each client rotating its own session", rows);
        run.Goals.AtLeast("rotation.library_over_floor_at_8", at8[0].Throughput / at8[1].Throughput, 0.85);
        run.Goals.AtLeast("rotation.library_over_naive_at_8", at8[0].Throughput / at8[2].Throughput, 2.0);
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

    internal static string Format(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}
