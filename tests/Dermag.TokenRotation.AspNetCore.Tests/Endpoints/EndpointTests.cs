using System.Net;
using System.Text.Json;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.TokenRotation.AspNetCore.Tests.Endpoints;

/// <summary>Each endpoint's success and error paths, in both error formats.</summary>
public sealed class EndpointTests
{
    public static TheoryData<TokenRotationErrorFormat> Formats => [TokenRotationErrorFormat.ProblemDetails, TokenRotationErrorFormat.Envelope];

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Refresh_RotatesThenReplayIsReuseAttack_AndRevokesTheSuccessor(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        var (_, tokens) = await app.LoginAsync();
        var first = tokens.GetProperty("refreshToken").GetString();
        using var client = app.Client();

        var rotated = await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = first }));
        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        var pair = Data(format, await TestApp.Json(rotated));
        var second = pair.GetProperty("refreshToken").GetString();
        second.Should().NotBe(first);
        pair.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
        pair.GetProperty("tokenType").GetString().Should().Be("Bearer");

        var replay = await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = first }));
        await ShouldBeErrorAsync(format, replay, HttpStatusCode.Unauthorized, "TOKEN_REUSE_ATTACK");
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = second })), HttpStatusCode.Unauthorized, "TOKEN_REVOKED");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Refresh_Garbage_Missing_Expired_AndMalformed(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        using var client = app.Client();

        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "garbage" })), HttpStatusCode.Unauthorized, "INVALID_TOKEN");
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", TestApp.Body(new { })), HttpStatusCode.Unauthorized, "INVALID_TOKEN");
        var none = await client.PostAsync("/auth/refresh", null);
        (await none.Content.ReadAsStringAsync()).Should().Contain("No refresh token was sent", "a missing token says what to send, under the same code");
        await ShouldBeErrorAsync(format, none, HttpStatusCode.Unauthorized, "INVALID_TOKEN");
        var noLogout = await client.PostAsync("/auth/logout", TestApp.Body(new { }));
        (await noLogout.Content.ReadAsStringAsync()).Should().Contain("No refresh token was sent");
        await ShouldBeErrorAsync(format, noLogout, HttpStatusCode.Unauthorized, "INVALID_TOKEN");
        using var malformed = new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json");
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", malformed), HttpStatusCode.BadRequest, "INVALID_REQUEST");

        var (_, tokens) = await app.LoginAsync();
        app.Clock.Advance(TimeSpan.FromDays(8));
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() })), HttpStatusCode.Unauthorized, "TOKEN_EXPIRED");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Logout_WithRefreshToken_EndsThatSession_GarbageIsInvalid_RotatedAwayIsReuse(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        var (_, a) = await app.LoginAsync();
        var (_, b) = await app.LoginAsync();
        using var client = app.Client(b.GetProperty("accessToken").GetString());

        var logout = await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = a.GetProperty("refreshToken").GetString() }));
        logout.IsSuccessStatusCode.Should().BeTrue();
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = a.GetProperty("refreshToken").GetString() })), HttpStatusCode.Unauthorized, "TOKEN_REVOKED");
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = "garbage" })), HttpStatusCode.Unauthorized, "INVALID_TOKEN");

        // b was not touched: rotate it, then log out with the rotated-away token.
        var rotated = await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = b.GetProperty("refreshToken").GetString() }));
        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = b.GetProperty("refreshToken").GetString() })), HttpStatusCode.Unauthorized, "TOKEN_REUSE_ATTACK");
    }

    [Fact]
    public async Task Logout_WithOnlyAnAccessToken_EndsTheAccessTokensSession()
    {
        await using var app = await StartAsync(TokenRotationErrorFormat.ProblemDetails);
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        (await client.PostAsync("/auth/logout", null)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        await ShouldBeErrorAsync(TokenRotationErrorFormat.ProblemDetails, await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() })), HttpStatusCode.Unauthorized, "TOKEN_REVOKED");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task LogoutAll_KeepCurrent_ThenAll_ReturnsRevokedCount(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        await app.LoginAsync("multi");
        await app.LoginAsync("multi");
        var (_, current) = await app.LoginAsync("multi");
        using var client = app.Client(current.GetProperty("accessToken").GetString());

        var kept = await client.PostAsync("/auth/logout/all?keepCurrent=true", null);
        kept.StatusCode.Should().Be(HttpStatusCode.OK);
        Data(format, await TestApp.Json(kept)).GetProperty("revokedCount").GetInt32().Should().Be(2);
        var sessions = Data(format, await TestApp.Json(await client.GetAsync("/auth/sessions")));
        sessions.GetProperty("count").GetInt32().Should().Be(1);
        sessions.GetProperty("sessions")[0].GetProperty("current").GetBoolean().Should().BeTrue();

        var all = await client.PostAsync("/auth/logout/all", TestApp.Body(new { }));
        Data(format, await TestApp.Json(all)).GetProperty("revokedCount").GetInt32().Should().Be(1);
        Data(format, await TestApp.Json(await client.GetAsync("/auth/sessions"))).GetProperty("count").GetInt32().Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task SessionEndpoints_WithoutToken_Are401NoToken(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        using var client = app.Client();

        await ShouldBeErrorAsync(format, await client.GetAsync("/auth/sessions"), HttpStatusCode.Unauthorized, "NO_TOKEN");
        await ShouldBeErrorAsync(format, await client.PostAsync("/auth/logout/all", null), HttpStatusCode.Unauthorized, "NO_TOKEN");
        await ShouldBeErrorAsync(format, await client.DeleteAsync($"/auth/sessions/{Guid.NewGuid()}"), HttpStatusCode.Unauthorized, "NO_TOKEN");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task RevokeSession_Own_Succeeds_AnotherUsersOrUnknown_Is404(TokenRotationErrorFormat format)
    {
        await using var app = await StartAsync(format);
        var (_, mine) = await app.LoginAsync("alice");
        var (_, myOther) = await app.LoginAsync("alice");
        var (_, theirs) = await app.LoginAsync("bob");
        using var client = app.Client(mine.GetProperty("accessToken").GetString());

        var own = await client.DeleteAsync($"/auth/sessions/{myOther.GetProperty("sessionId").GetString()}");
        own.IsSuccessStatusCode.Should().BeTrue();
        var manager = app.Services.GetRequiredService<IRefreshTokenManager>();
        (await manager.IsSessionActiveAsync(myOther.GetProperty("sessionId").GetGuid())).Should().BeFalse();

        await ShouldBeErrorAsync(format, await client.DeleteAsync($"/auth/sessions/{theirs.GetProperty("sessionId").GetString()}"), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
        (await manager.IsSessionActiveAsync(theirs.GetProperty("sessionId").GetGuid())).Should().BeTrue("another user's session is never touched");
        await ShouldBeErrorAsync(format, await client.DeleteAsync($"/auth/sessions/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
    }

    [Theory]
    [InlineData("/auth/refresh")]
    [InlineData("/auth/logout")]
    [InlineData("/auth/logout/all")]
    public async Task JsonBody_WithAnUnknownCharset_Is400InvalidRequest(string path)
    {
        await using var app = await StartAsync(TokenRotationErrorFormat.ProblemDetails);
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        using var content = new StringContent("""{"refreshToken":"x"}""");
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/json; charset=bogus");

        var response = await client.PostAsync(path, content);

        await ShouldBeErrorAsync(TokenRotationErrorFormat.ProblemDetails, response, HttpStatusCode.BadRequest, "INVALID_REQUEST");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task TokenResponses_AndTheSessionsList_AreNeverCached(TokenRotationErrorFormat format)
    {
        // RFC 6749 section 5.1: a response with tokens carries Cache-Control: no-store and Pragma: no-cache.
        await using var app = await StartAsync(format);
        var (login, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        var refresh = await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }));
        refresh.StatusCode.Should().Be(HttpStatusCode.OK);
        var sessions = await client.GetAsync("/auth/sessions");
        sessions.StatusCode.Should().Be(HttpStatusCode.OK);

        foreach (var response in new[] { login, refresh, sessions })
        {
            response.Headers.CacheControl?.NoStore.Should().BeTrue(response.RequestMessage!.RequestUri!.AbsolutePath);
            response.Headers.Pragma.Select(p => p.Name).Should().Contain("no-cache");
        }
    }

    [Fact]
    public async Task ProblemDetails_UseTheAppsProblemDetailsService()
    {
        await using var app = await TestApp.StartAsync(o => o.Services = s => s.AddProblemDetails(p => p.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["traceId"] = "from-app"));
        using var client = app.Client();

        var response = await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "garbage" }));

        var problem = await TestApp.Json(response);
        problem.GetProperty("traceId").GetString().Should().Be("from-app");
        problem.GetProperty("code").GetString().Should().Be("INVALID_TOKEN");
    }

    private static Task<TestApp> StartAsync(TokenRotationErrorFormat format) =>
        TestApp.StartAsync(o =>
        {
            o.Endpoints = e => e.ErrorFormat = format;
            o.Bearer = b => b.ErrorFormat = format;
        });

    private static JsonElement Data(TokenRotationErrorFormat format, JsonElement body)
    {
        if (format == TokenRotationErrorFormat.Envelope)
        {
            body.GetProperty("success").GetBoolean().Should().BeTrue();
            return body.GetProperty("data");
        }

        return body;
    }

    internal static async Task ShouldBeErrorAsync(TokenRotationErrorFormat format, HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        var body = JsonDocument.Parse(text).RootElement;
        body.GetProperty("code").GetString().Should().Be(code);
        if (format == TokenRotationErrorFormat.Envelope)
        {
            body.GetProperty("success").GetBoolean().Should().BeFalse();
            body.GetProperty("message").GetString().Should().NotBeNullOrEmpty();
        }
        else
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            body.GetProperty("status").GetInt32().Should().Be((int)status);
            body.GetProperty("title").GetString().Should().NotBeNullOrEmpty();
            body.GetProperty("detail").GetString().Should().NotBeNullOrEmpty();
        }
    }
}
