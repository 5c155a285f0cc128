using Dermag.Testing;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>The original's setup: integer user ids referencing <c>users</c> with ON DELETE CASCADE; plus uuid ids.</summary>
public sealed class PostgresUserIdTypeTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task IntegerUserIdWithUsersForeignKey_DeletingTheUser_EndsTheirSessions()
    {
        await Execute("CREATE SCHEMA app; CREATE TABLE app.users (id SERIAL PRIMARY KEY, email text NOT NULL)");
        var options = new PostgresTokenStoreOptions { Schema = "app", UserIdType = UserIdColumnType.Integer, UsersTable = "users" };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        var alice = await Scalar<int>("INSERT INTO app.users (email) VALUES ('alice@example.com') RETURNING id");
        var bob = await Scalar<int>("INSERT INTO app.users (email) VALUES ('bob@example.com') RETURNING id");
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, options), TestSetup.Clock());
        var alicePair = await service.IssueAsync(alice.ToString());
        var bobPair = await service.IssueAsync(bob.ToString());
        var rotated = await service.RefreshAsync(alicePair.RefreshToken);
        rotated.Tokens!.UserId.Should().Be(alice.ToString());

        await Execute($"DELETE FROM app.users WHERE id = {alice}");

        (await Scalar<long>($"SELECT count(*) FROM app.refresh_tokens WHERE user_id = {alice}")).Should().Be(0);
        (await service.RefreshAsync(rotated.Tokens.RefreshToken)).Status.Should().Be(RefreshStatus.Invalid);
        (await service.ListSessionsAsync(bob.ToString())).Should().ContainSingle().Which.SessionId.Should().Be(bobPair.SessionId);
        (await Scalar<long>($"SELECT count(*) FROM app.audit_logs WHERE user_id = {alice} AND event_type = 'LOGIN'")).Should().Be(1, "audit rows outlive the user");
    }

    [Fact]
    public async Task IntegerUserId_NonNumericId_IsRejectedAsArgument()
    {
        await Execute("CREATE SCHEMA ints");
        var options = new PostgresTokenStoreOptions { Schema = "ints", UserIdType = UserIdColumnType.Integer };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, options), TestSetup.Clock());

        foreach (var id in new[] { "not-a-number", "+5", "05", " 5" })
        {
            var act = () => service.IssueAsync(id);
            await act.Should().ThrowAsync<ArgumentException>().WithMessage("*Integer*canonical form*", $"'{id}' would come back from PostgreSQL as another string");
        }

        (await service.IssueAsync("-5")).UserId.Should().Be("-5");
    }

    [Fact]
    public async Task UuidUserId_NonCanonicalForm_IsRejectedAsArgument()
    {
        await Execute("CREATE SCHEMA uuidforms");
        var options = new PostgresTokenStoreOptions { Schema = "uuidforms", UserIdType = UserIdColumnType.Uuid };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, options), TestSetup.Clock());
        var id = Guid.NewGuid();

        foreach (var form in new[] { id.ToString("D").ToUpperInvariant(), id.ToString("B"), id.ToString("N"), "{0x00000000,0x0000,0x0000,{0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00}}" })
        {
            var act = () => service.IssueAsync(form);
            await act.Should().ThrowAsync<ArgumentException>().WithMessage("*Uuid*canonical form*");
        }
    }

    [Fact]
    public async Task UuidUserId_RoundTripsThroughRotationAndListing()
    {
        await Execute("CREATE SCHEMA uuids");
        var options = new PostgresTokenStoreOptions { Schema = "uuids", UserIdType = UserIdColumnType.Uuid };
        await TokenRotationMigrations.CreateRunner(database.DataSource, options).MigrateAsync();
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, options), TestSetup.Clock());
        var user = Guid.NewGuid().ToString();

        var pair = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(pair.RefreshToken);

        rotated.Tokens!.UserId.Should().Be(user);
        (await service.ListSessionsAsync(user)).Should().ContainSingle();
        (await service.RevokeAllSessionsAsync(user)).Should().Be(1);
    }

    private async Task<T> Scalar<T>(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task Execute(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
