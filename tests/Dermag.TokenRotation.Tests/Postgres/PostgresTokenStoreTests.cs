using System.Text.Json;
using Dermag.Testing;
using Dermag.TokenRotation.Tests.Storage;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>The store contract against PostgreSQL: one database for the class, a fresh migrated schema per test.</summary>
public sealed class PostgresTokenStoreTests(PostgresDatabase database) : TokenStoreContractTests, IClassFixture<PostgresDatabase>
{
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N")[..16];

    private protected override async Task<IRefreshTokenStore> CreateStoreAsync()
    {
        var options = new PostgresTokenStoreOptions { Schema = _schema };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        return new PostgresRefreshTokenStore(database.DataSource, options);
    }

    protected override async Task<IReadOnlyList<AuditRow>> ReadAuditAsync(string userId)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT event_type, user_id::text, ip_address, details::text FROM \"{_schema}\".audit_logs WHERE user_id::text = $1 ORDER BY id");
        command.Parameters.AddWithValue(userId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<AuditRow>();
        while (await reader.ReadAsync())
        {
            using var details = JsonDocument.Parse(reader.GetString(3));
            rows.Add(new AuditRow(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                details.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.ToString())));
        }

        return rows;
    }

    protected override async Task<IReadOnlyList<TokenRow>> ReadTokensAsync()
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT token_id, user_id::text, session_id, parent_token_id, revoked, revoke_reason, revoked_by_token_id FROM \"{_schema}\".refresh_tokens");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<TokenRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new TokenRow(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.GetGuid(2),
                reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.GetBoolean(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6)));
        }

        return rows;
    }
}
