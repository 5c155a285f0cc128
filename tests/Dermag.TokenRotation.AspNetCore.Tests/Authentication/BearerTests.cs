using System.Net;
using System.Security.Claims;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore.Tests.Authentication;

public sealed class BearerTests
{
    [Fact]
    public async Task ValidAccessToken_Authenticates_WithSubAndSidAsIssued()
    {
        await using var app = await TestApp.StartAsync();
        var (_, tokens) = await app.LoginAsync("user-7");

        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var me = await TestApp.Json(response);
        me.GetProperty("sub").GetString().Should().Be("user-7");
        me.GetProperty("sid").GetString().Should().Be(tokens.GetProperty("sessionId").GetString());
    }

    [Fact]
    public async Task NoToken_Is401NoToken_AsProblemDetails_WithPlainBearerChallenge()
    {
        await using var app = await TestApp.StartAsync();
        using var client = app.Client();

        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
        var problem = await TestApp.Json(response);
        problem.GetProperty("status").GetInt32().Should().Be(401);
        problem.GetProperty("code").GetString().Should().Be("NO_TOKEN");
        problem.GetProperty("title").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task ExpiredAccessToken_Is401TokenExpired_DistinctFromInvalid()
    {
        await using var app = await TestApp.StartAsync();
        var (_, tokens) = await app.LoginAsync();
        app.Clock.Advance(TimeSpan.FromMinutes(16));

        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer error=\"invalid_token\", error_description=\"The access token expired; refresh it.\"");
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("TOKEN_EXPIRED");
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("refresh-as-bearer")]
    [InlineData("garbage")]
    public async Task InvalidAccessToken_Is401InvalidToken(string kind)
    {
        await using var app = await TestApp.StartAsync();
        var (_, tokens) = await app.LoginAsync();
        var access = tokens.GetProperty("accessToken").GetString()!;
        var presented = kind switch
        {
            "tampered" => access[..^4] + (access[^4] == 'A' ? "BBBB" : "AAAA"),
            "refresh-as-bearer" => tokens.GetProperty("refreshToken").GetString()!,
            _ => "not-a-jwt",
        };

        using var client = app.Client(presented);
        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer error=\"invalid_token\"").And.NotContain("expired");
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task ParanoidMode_AccessTokenOfLoggedOutSession_IsRefusedOnTheNextRequest()
    {
        await using var app = await TestApp.StartAsync(o => o.Bearer = b => b.ParanoidMode = true);
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());
        (await client.GetAsync("/me")).StatusCode.Should().Be(HttpStatusCode.OK);

        (await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }))).IsSuccessStatusCode.Should().BeTrue();

        var response = await client.GetAsync("/me");
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("TOKEN_REVOKED");
    }

    [Fact]
    public async Task WithoutParanoidMode_AccessTokenOfLoggedOutSession_StaysValidUntilItExpires()
    {
        await using var app = await TestApp.StartAsync();
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }));

        (await client.GetAsync("/me")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task EnvelopeFormat_ChallengeBodyIsTheEnvelope()
    {
        await using var app = await TestApp.StartAsync(o => o.Bearer = b => b.ErrorFormat = TokenRotationErrorFormat.Envelope);
        using var client = app.Client();

        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var body = await TestApp.Json(response);
        body.GetProperty("success").GetBoolean().Should().BeFalse();
        body.GetProperty("code").GetString().Should().Be("NO_TOKEN");
        body.GetProperty("message").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Forbidden_Is403WithCode()
    {
        await using var app = await TestApp.StartAsync();
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        var response = await client.GetAsync("/admin");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("FORBIDDEN");
    }

    [Fact]
    public async Task AppEvents_StillRun_AfterTheParanoidCheck_AndAnAppChallengeWins()
    {
        var validated = 0;
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Bearer = b => b.ParanoidMode = true;
            o.JwtBearer = jwt => jwt.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    Interlocked.Increment(ref validated);
                    context.Principal!.AddIdentity(new ClaimsIdentity([new Claim("role", "admin")], "app", "name", "role"));
                    return Task.CompletedTask;
                },
                OnChallenge = async context =>
                {
                    if (context.Request.Headers.ContainsKey("X-App-Challenge"))
                    {
                        context.HandleResponse();
                        context.Response.StatusCode = 401;
                        await context.Response.WriteAsync("app challenge");
                    }
                },
            };
        });
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        (await client.GetAsync("/admin")).StatusCode.Should().Be(HttpStatusCode.OK, "the app's OnTokenValidated added the role");
        validated.Should().Be(1);

        await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = tokens.GetProperty("refreshToken").GetString() }));
        var before = validated;
        (await TestApp.Json(await client.GetAsync("/me"))).GetProperty("code").GetString().Should().Be("TOKEN_REVOKED");
        validated.Should().Be(before, "a revoked session fails before the app's handler runs");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
        request.Headers.Add("X-App-Challenge", "1");
        var appAnswer = await client.SendAsync(request);
        (await appAnswer.Content.ReadAsStringAsync()).Should().Be("app challenge");
    }
}
