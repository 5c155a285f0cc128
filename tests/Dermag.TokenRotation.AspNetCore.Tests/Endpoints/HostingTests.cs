using System.Net;
using System.Text.Json;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore.Tests.Endpoints;

/// <summary>Rate limiting, startup validation, logging hygiene and package alignment.</summary>
public sealed class HostingTests
{
    [Fact]
    public async Task Refresh_WithRateLimiterPolicy_IsLimitedWith429()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Services = s => s.AddRateLimiter(r =>
            {
                r.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                r.AddFixedWindowLimiter("refresh", w =>
                {
                    w.PermitLimit = 2;
                    w.Window = TimeSpan.FromHours(1);
                });
            });
            o.BeforeEndpoints = a => a.UseRateLimiter();
            o.Endpoints = e => e.RateLimiterPolicy = "refresh";
        });
        using var client = app.Client();

        (await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await client.GetAsync("/auth/sessions")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "only the refresh endpoint is limited");
    }

    [Fact]
    public async Task Logout_WithARefreshToken_IsLimitedByTheSamePolicy()
    {
        // Logout with a rotated-away refresh token applies the reuse policy (it revokes the user's sessions): it must not
        // be an unlimited oracle next to a limited refresh.
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Services = s => s.AddRateLimiter(r =>
            {
                r.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                r.AddFixedWindowLimiter("tokens", w =>
                {
                    w.PermitLimit = 2;
                    w.Window = TimeSpan.FromHours(1);
                });
            });
            o.BeforeEndpoints = a => a.UseRateLimiter();
            o.Endpoints = e => e.RateLimiterPolicy = "tokens";
        });
        using var client = app.Client();

        (await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = "x" }))).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
    }

    [Theory]
    [InlineData("Content-Type")]
    [InlineData("accept")]
    [InlineData("Accept-Language")]
    [InlineData("Content-Language")]
    [InlineData("Range")]
    [InlineData("Cookie")]
    [InlineData("Origin")]
    [InlineData("Host")]
    [InlineData("Referer")]
    [InlineData("User-Agent")]
    [InlineData("Authorization")]
    [InlineData("Content-Length")]
    [InlineData("Connection")]
    [InlineData("Sec-Fetch-Site")]
    [InlineData("Proxy-Anything")]
    public async Task CsrfHeaderName_AHeaderABrowserOrFormSendsByItself_FailsAtStartup(string header)
    {
        var start = () => TestApp.StartAsync(o => o.Endpoints = e =>
        {
            e.RefreshTokenTransport = RefreshTokenTransport.Cookie;
            e.CsrfHeaderName = header;
        });

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Message.Should().Contain("TokenRotationEndpointOptions.CsrfHeaderName").And.Contain(header);
    }

    [Theory]
    [InlineData("https://app.example.com/")]
    [InlineData("https://app.example.com/spa")]
    [InlineData("app.example.com")]
    [InlineData("ftp://app.example.com")]
    [InlineData("null")]
    public async Task AllowedOrigins_NotAnExactOrigin_FailsAtStartup_NamingTheOption(string origin)
    {
        var start = () => TestApp.StartAsync(o => o.Endpoints = e => e.AllowedOrigins.Add(origin));

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Message.Should().Contain("TokenRotationEndpointOptions.AllowedOrigins").And.Contain(origin);
    }

    [Fact]
    public async Task Map_WithInvalidOptions_FailsAtStartup_NamingEachOption()
    {
        var start = () => TestApp.StartAsync(o => o.Endpoints = e =>
        {
            e.CookieName = "bad name";
            e.CsrfHeaderName = string.Empty;
            e.CookiePath = "auth";
        });

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Message.Should().Contain("TokenRotationEndpointOptions.CookieName")
            .And.Contain("TokenRotationEndpointOptions.CsrfHeaderName")
            .And.Contain("TokenRotationEndpointOptions.CookiePath");
    }

    [Fact]
    public async Task ContainerEndpointOptions_Invalid_FailAtStartup_NamingTheOption()
    {
        var start = () => TestApp.StartAsync(o => o.Services = s => s.Configure<TokenRotationEndpointOptions>(e => e.ErrorFormat = (TokenRotationErrorFormat)7));

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Message.Should().Contain("TokenRotationEndpointOptions.ErrorFormat");
    }

    [Fact]
    public async Task BearerOptions_Invalid_FailHostStart_NamingTheOption()
    {
        var start = () => TestApp.StartAsync(o => o.Bearer = b => b.ErrorFormat = (TokenRotationErrorFormat)9);

        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Message.Should().Contain("TokenRotationBearerOptions.ErrorFormat");
    }

    [Fact]
    public async Task LogsAndErrorBodies_NeverContainATokenOrItsParts()
    {
        await using var app = await TestApp.StartAsync(o => o.Bearer = b => b.ParanoidMode = true);
        var (_, tokens) = await app.LoginAsync();
        var access = tokens.GetProperty("accessToken").GetString()!;
        var refresh = tokens.GetProperty("refreshToken").GetString()!;
        using var client = app.Client(access);
        var rotated = await TestApp.Json(await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = refresh })));
        var errors = new List<string>
        {
            await (await client.PostAsync("/auth/refresh", TestApp.Body(new { refreshToken = refresh }))).Content.ReadAsStringAsync(), // reuse
            await (await client.GetAsync("/me")).Content.ReadAsStringAsync(), // revoked session
        };
        app.Clock.Advance(TimeSpan.FromHours(1));
        errors.Add(await (await client.GetAsync("/me")).Content.ReadAsStringAsync()); // expired
        errors.Add(await (await client.PostAsync("/auth/logout", TestApp.Body(new { refreshToken = "garbage" + refresh }))).Content.ReadAsStringAsync());

        var secrets = new[] { access, refresh, rotated.GetProperty("accessToken").GetString()!, rotated.GetProperty("refreshToken").GetString()! }
            .SelectMany(t => t.Split('.').Skip(1)) // payload and signature of each token
            .ToList();
        errors.Should().AllSatisfy(body => secrets.Should().NotContain(secret => body.Contains(secret, StringComparison.Ordinal), "an error body must not echo a token"));
        app.Logs.Lines.Should().NotBeEmpty();
        foreach (var entry in app.Logs.Lines)
        {
            secrets.Should().NotContain(s => entry.Contains(s, StringComparison.Ordinal), $"a log entry must not carry a token: {entry[..Math.Min(200, entry.Length)]}");
        }
    }

    [Fact]
    public void IdentityModelPackages_ResolveToOneVersion()
    {
        // JwtBearer 10 brings the protocols packages at an older 8.x than the token packages Dermag.TokenRotation names;
        // mixed versions of this family break at run time, so the package lifts them all to one.
        var depsFile = Path.Combine(AppContext.BaseDirectory, "Dermag.TokenRotation.AspNetCore.Tests.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        var family = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Select(l => l.Name.Split('/'))
            .Where(n => n[0].StartsWith("Microsoft.IdentityModel.", StringComparison.Ordinal) || n[0].StartsWith("System.IdentityModel.", StringComparison.Ordinal))
            .ToList();

        family.Select(n => n[0]).Should().Contain(["Microsoft.IdentityModel.Tokens", "Microsoft.IdentityModel.Protocols.OpenIdConnect", "System.IdentityModel.Tokens.Jwt"]);
        family.Select(n => n[1]).Distinct().Should().ContainSingle($"every IdentityModel package must have one version: {string.Join(", ", family.Select(n => string.Join('/', n)))}");
    }
}
