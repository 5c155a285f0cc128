using System.Net;
using System.Reflection;
using System.Security.Claims;
using System.Security.Cryptography;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

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

    [Theory]
    [InlineData("our kid, wrong key")]
    [InlineData("unknown kid")]
    public async Task ForgedToken_PastItsExpiry_Is401InvalidToken_NotTokenExpired(string forgery)
    {
        // A client told TOKEN_EXPIRED refreshes; only a token the service really signed may be called expired.
        await using var app = await TestApp.StartAsync();
        var now = app.Clock.GetUtcNow().ToUnixTimeSeconds();
        var header = forgery == "unknown kid" ? """{"alg":"HS256","kid":"nope","typ":"at+jwt"}""" : """{"alg":"HS256","kid":"access-1","typ":"at+jwt"}""";
        var forged = HandMadeJwt.Create(header, HandMadeJwt.AccessPayload("admin", Guid.NewGuid(), now - 4000, now - 3000), RandomNumberGenerator.GetBytes(32));

        using var client = app.Client(forged);
        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().NotContain("expired");
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task GenuineTokenPastItsExpiry_SignedWithOurKey_IsTokenExpired()
    {
        await using var app = await TestApp.StartAsync();
        var now = app.Clock.GetUtcNow().ToUnixTimeSeconds();
        var expired = HandMadeJwt.Create("""{"alg":"HS256","kid":"access-1","typ":"at+jwt"}""", HandMadeJwt.AccessPayload("u", Guid.NewGuid(), now - 4000, now - 3000), HandMadeJwt.AccessKey);

        using var client = app.Client(expired);
        var response = await client.GetAsync("/me");

        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("TOKEN_EXPIRED");
    }

    [Fact]
    public async Task AppHandler_AssignedToTheWrappingEventsByALaterPostConfigure_StillRuns()
    {
        // An app (or another library) that sets options.Events.OnTokenValidated after UseTokenRotation's post-configure
        // sets it on the package's events object; it must run, not be dropped.
        await using var app = await TestApp.StartAsync(o => o.Services = s =>
            s.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, j =>
            {
                j.Events.OnMessageReceived = context =>
                {
                    context.HttpContext.Items["message-received"] = true;
                    return Task.CompletedTask;
                };
                j.Events.OnTokenValidated = context =>
                {
                    context.Fail("tenant check failed");
                    return Task.CompletedTask;
                };
            }));
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the app's OnTokenValidated failed the request");
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task ParanoidMode_SessionStoreDown_Is503SessionCheckUnavailable_AndAnonymousEndpointsStillWork()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Bearer = b => b.ParanoidMode = true;
            o.Services = SessionCheckThrows;
            o.BeforeEndpoints = a => a.MapGet("/anonymous", () => "hello");
        });
        var (_, tokens) = await app.LoginAsync();
        var access = tokens.GetProperty("accessToken").GetString()!;
        using var client = app.Client(access);

        var response = await client.GetAsync("/me");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a 401 would make clients log the user out during an outage");
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5), "the client may try again shortly");
        response.Headers.WwwAuthenticate.Should().BeEmpty("an unavailable check is no verdict on the token");
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("SESSION_CHECK_UNAVAILABLE");
        var anonymous = await client.GetAsync("/anonymous");
        anonymous.StatusCode.Should().Be(HttpStatusCode.OK);
        (await anonymous.Content.ReadAsStringAsync()).Should().Be("hello");
        var logged = app.Logs.Lines.Where(e => e.StartsWith("Error ", StringComparison.Ordinal) && e.Contains("store down", StringComparison.Ordinal)).ToList();
        logged.Should().NotBeEmpty();
        logged.Should().AllSatisfy(e => e.Should().NotContain(access.Split('.')[2]).And.NotContain(access.Split('.')[1]));
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

    /// <summary>Replaces the token service with one whose session check throws, as it does when its store is down.</summary>
    private static void SessionCheckThrows(IServiceCollection services)
    {
        var real = services.Last(d => d.ServiceType == typeof(IRefreshTokenManager));
        services.Replace(ServiceDescriptor.Singleton<IRefreshTokenManager>(sp =>
        {
            var proxy = DispatchProxy.Create<IRefreshTokenManager, SessionCheckThrowsProxy>();
            ((SessionCheckThrowsProxy)(object)proxy).Inner = (IRefreshTokenManager)(real.ImplementationFactory?.Invoke(sp)
                ?? real.ImplementationInstance
                ?? ActivatorUtilities.CreateInstance(sp, real.ImplementationType!));
            return proxy;
        }));
    }

    public class SessionCheckThrowsProxy : DispatchProxy
    {
        public IRefreshTokenManager Inner { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(IRefreshTokenManager.IsSessionActiveAsync)
                ? throw new InvalidOperationException("store down")
                : targetMethod.Invoke(Inner, args);
    }
}
