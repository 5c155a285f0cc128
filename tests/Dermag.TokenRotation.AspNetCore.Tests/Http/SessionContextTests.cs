using System.Net;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.TokenRotation.AspNetCore.Tests.Http;

/// <summary>What an app's login passes to IssueAsync, so a session lists its client from the first request on.</summary>
public sealed class SessionContextTests
{
    [Fact]
    public void GetSessionContext_TakesTheClientsAddressAndUserAgent()
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        http.Request.Headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

        var context = http.GetSessionContext();

        context.Should().Be(new SessionContext("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"));
    }

    [Fact]
    public void GetSessionContext_NoAddressAndNoUserAgent_LeavesThemUnset()
    {
        new DefaultHttpContext().GetSessionContext().Should().Be(new SessionContext(null, null));
    }

    [Fact]
    public async Task Login_WithGetSessionContext_ListsTheClientInTheSession()
    {
        await using var app = await TestApp.StartAsync(o => o.BeforeEndpoints = a => a.MapPost("/login-from-request", async (HttpContext http, IRefreshTokenManager tokens) =>
            TokenRotationResults.Tokens(await tokens.IssueAsync("user-ctx", http.GetSessionContext()))));
        using var client = app.Client();
        client.DefaultRequestHeaders.UserAgent.ParseAdd("ShopApp/2.1");
        var tokens = await TestApp.Json(await client.PostAsync("/login-from-request", null));

        var session = (await app.Services.GetRequiredService<IRefreshTokenManager>().ListSessionsAsync("user-ctx")).Should().ContainSingle().Subject;

        session.SessionId.Should().Be(Guid.Parse(tokens.GetProperty("sessionId").GetString()!));
        session.UserAgent.Should().Be("ShopApp/2.1");
    }
}
