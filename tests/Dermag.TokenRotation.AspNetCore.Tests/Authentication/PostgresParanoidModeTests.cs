using System.Diagnostics;
using System.Net;
using Dermag.Testing;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;

namespace Dermag.TokenRotation.AspNetCore.Tests.Authentication;

/// <summary>
/// Paranoid mode on PostgreSQL with two app instances: a logout through one instance makes the other refuse the access token,
/// although the other had cached the session as active (its fake clock never expires that answer: only the library's
/// LISTEN/NOTIFY revocation can).
/// </summary>
public sealed class PostgresParanoidModeTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task LogoutOnOneInstance_AccessTokenRefusedOnTheOther()
    {
        var connectionString = await database.CreateDatabaseAsync("aspnetcoreparanoid");
        await using var a = await TestApp.StartAsync(o => Configure(o, connectionString));
        await using var b = await TestApp.StartAsync(o => Configure(o, connectionString));
        var (_, tokens) = await a.LoginAsync("user-pg");
        using var clientA = a.Client();
        using var clientB = b.Client(tokens.GetProperty("accessToken").GetString());
        (await clientB.GetAsync("/me")).StatusCode.Should().Be(HttpStatusCode.OK, "instance B sees the session and caches it as active");

        (await clientA.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }))).IsSuccessStatusCode.Should().BeTrue();

        var watch = Stopwatch.StartNew();
        HttpResponseMessage response;
        do
        {
            response = await clientB.GetAsync("/me");
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                break;
            }

            await Task.Delay(50); // waiting for the notification to arrive, not for time to pass on the clock under test
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(10));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("TOKEN_REVOKED");
    }

    private static void Configure(TestAppOptions options, string connectionString)
    {
        options.PostgresConnectionString = connectionString;
        options.Bearer = b => b.ParanoidMode = true;
    }
}
