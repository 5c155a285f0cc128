using System.Diagnostics;
using Dermag.Testing;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>Counts the commands Npgsql sends (its ActivitySource emits one activity per command).</summary>
public sealed class PostgresRoundTripTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task RefreshAsync_SuccessPath_IsOneDatabaseCommand()
    {
        await TokenRotationMigrations.CreateRunner(database.DataSource).MigrateAsync();
        var service = TestSetup.Service(new PostgresRefreshTokenStore(database.DataSource, new PostgresTokenStoreOptions()), TestSetup.Clock());
        var pair = await service.IssueAsync("round-trip-user");
        var commands = new List<string>();
        using var testSource = new ActivitySource("Dermag.TokenRotation.Tests.RoundTrip");
        string? rootId = null;
        using var listener = new ActivityListener
        {
            // Other test classes run in parallel: count only commands under this test's root activity.
            ShouldListenTo = source => source.Name is "Npgsql" or "Dermag.TokenRotation.Tests.RoundTrip",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name != "Npgsql" || activity.RootId != rootId)
                {
                    return;
                }

                lock (commands)
                {
                    commands.Add(activity.OperationName + ": " + activity.GetTagItem("db.query.text") + activity.GetTagItem("db.statement"));
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        RefreshResult result;
        using (var root = testSource.StartActivity("refresh-under-test")!)
        {
            rootId = root.RootId;
            result = await service.RefreshAsync(pair.RefreshToken);
        }

        result.Status.Should().Be(RefreshStatus.Rotated);
        lock (commands)
        {
            commands.Where(c => !c.StartsWith("connect", StringComparison.OrdinalIgnoreCase)).Should()
                .ContainSingle(string.Join(Environment.NewLine, commands))
                .Which.Should().Contain("rotate_refresh_token(");
        }
    }
}
