using Dermag.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;

using Dermag.TokenRotation.EntityFrameworkCore;

namespace Dermag.TokenRotation.Tests.EntityFrameworkCore;

public sealed class EfCoreMappingTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task MapTokenRotationTables_IntegerUserIds_QueriesSessionsAndAuditRowsWithLinq()
    {
        var options = new PostgresTokenStoreOptions { Schema = "auth", UserIdType = UserIdColumnType.Integer };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, options), TestSetup.Clock());
        var pair = await service.IssueAsync("42");
        await service.IssueAsync("42");
        await service.IssueAsync("43");
        await service.RefreshAsync(pair.RefreshToken);
        await service.RefreshAsync(pair.RefreshToken);
        await using var context = new IntegerIdContext(database.ConnectionString);

        var revokedForUser = await context.RefreshTokens.Where(t => t.UserId == "42" && t.Revoked).CountAsync();
        var attacks = await context.AuditLogs.Where(a => a.EventType == AuditEventTypes.TokenReuseAttack).ToListAsync();
        var firstToken = await context.RefreshTokens.Where(t => t.SessionId == pair.SessionId).OrderBy(t => t.Id).FirstAsync();

        revokedForUser.Should().Be(3, "the first token was rotated, then the reuse response revoked both sessions");
        attacks.Should().ContainSingle().Which.UserId.Should().Be("42");
        attacks[0].Details.Should().Contain(pair.SessionId.ToString());
        firstToken.RevokeReason.Should().Be(RevokeReasons.Rotated);
        firstToken.RevokedByTokenId.Should().NotBeNull();
        firstToken.CreatedAt.Should().Be(TestSetup.Start);
        (await context.RefreshTokens.CountAsync(t => t.UserId == "43" && !t.Revoked)).Should().Be(1);
    }

    [Fact]
    public void MapTokenRotationTables_ExcludesBothTablesFromEfMigrations()
    {
        using var context = new TextIdContext(database.ConnectionString);

        var model = context.GetService<IDesignTimeModel>().Model;
        var tokens = model.FindEntityType(typeof(RefreshTokenEntity))!;
        var audit = model.FindEntityType(typeof(AuditLogEntity))!;

        tokens.GetTableName().Should().Be("refresh_tokens");
        tokens.IsTableExcludedFromMigrations().Should().BeTrue();
        audit.GetTableName().Should().Be("audit_logs");
        audit.IsTableExcludedFromMigrations().Should().BeTrue();
    }

    // EF caches one model per context type, so each mapping gets its own type.
    private sealed class IntegerIdContext(string connectionString) : AppDbContext(connectionString, "auth", UserIdColumnType.Integer);

    private sealed class TextIdContext(string connectionString) : AppDbContext(connectionString, "public", UserIdColumnType.Text);

    private abstract class AppDbContext(string connectionString, string schema, UserIdColumnType userIdType) : DbContext
    {
        public DbSet<RefreshTokenEntity> RefreshTokens => Set<RefreshTokenEntity>();

        public DbSet<AuditLogEntity> AuditLogs => Set<AuditLogEntity>();

        protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) => optionsBuilder.UseNpgsql(connectionString);

        protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.MapTokenRotationTables(schema, userIdType);
    }
}
