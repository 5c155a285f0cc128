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
    public async Task DatabaseUnreachable_TokenEndpointsAnswer503WithRetryAfter_AndLogIt()
    {
        // The app reaches its database through a relay that the test cuts: broken connections, then refused ones, as when
        // the server goes down or the network fails.
        var connectionString = await database.CreateDatabaseAsync("aspnetcoreoutage");
        var direct = new NpgsqlConnectionStringBuilder(connectionString);
        await using var relay = new TcpRelay(direct.Host!, direct.Port);
        var relayed = new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = relay.Port, Timeout = 3 }.ConnectionString;
        await using var app = await TestApp.StartAsync(o => o.PostgresConnectionString = relayed);
        var (_, tokens) = await app.LoginAsync("user-outage");

        relay.Cut();

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

    [Fact]
    public async Task DatabaseError_ThatRetryingCannotCure_StaysA500()
    {
        // A dropped rotation function is a deployment defect: a 503 would have clients retry forever while alerting stays quiet.
        var connectionString = await database.CreateDatabaseAsync("aspnetcorebroken");
        await using var app = await TestApp.StartAsync(o => o.PostgresConnectionString = connectionString);
        var (_, tokens) = await app.LoginAsync("user-broken");
        await using (var admin = NpgsqlDataSource.Create(connectionString))
        await using (var drop = admin.CreateCommand("DROP FUNCTION public.rotate_refresh_token(uuid, uuid, timestamptz, timestamptz, timestamptz, text, text, text, uuid)"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        using var client = app.Client();
        var act = () => client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }));

        (await act.Should().ThrowAsync<PostgresException>("the test server rethrows what the app did not handle")).Which.SqlState.Should().Be("42883");
        app.Logs.Entries.Should().NotContain(e => e.EventId.Id == 3107);
    }
}
