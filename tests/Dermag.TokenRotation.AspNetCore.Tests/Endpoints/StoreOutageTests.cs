using System.Net;
using Dermag.Testing;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Npgsql;

namespace Dermag.TokenRotation.AspNetCore.Tests.Endpoints;

/// <summary>
/// The token store's database goes away under a running app: the token endpoints answer 503 with Retry-After, not a bare
/// 500 (and not a 401, which clients take as "log the user out").
/// </summary>
public sealed class StoreOutageTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task DatabaseGone_TokenEndpointsAnswer503WithRetryAfter_AndLogIt()
    {
        var connectionString = await database.CreateDatabaseAsync("aspnetcoreoutage");
        await using var app = await TestApp.StartAsync(o => o.PostgresConnectionString = connectionString);
        var (_, tokens) = await app.LoginAsync("user-outage");
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using (var drop = database.DataSource.CreateCommand($"DROP DATABASE \"{name}\" WITH (FORCE)"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() })),
            () => client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() })),
            () => client.GetAsync("/auth/sessions"),
        })
        {
            using var response = await request();
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
            var body = await TestApp.Json(response);
            body.GetProperty("code").GetString().Should().Be("TOKEN_SERVICE_UNAVAILABLE");
            body.ToString().Should().NotContain(tokens.GetProperty("refreshToken").GetString()!).And.NotContain("Npgsql");
        }

        app.Logs.Entries.Where(e => e.EventId.Id == 3107).Should().HaveCount(3, "each refusal is logged at Error with its cause");
    }
}
