using System.Net;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.TokenRotation.AspNetCore.Tests.Endpoints;

/// <summary>The refresh token in an HttpOnly cookie (browser apps), with the CSRF check.</summary>
public sealed class CookieTests
{
    private const string CookieName = "__Secure-Dermag-Refresh";

    [Fact]
    public async Task Login_SetsHttpOnlySecureStrictCookieScopedToTheEndpoints_AndNoRefreshTokenInTheBody()
    {
        await using var app = await StartAsync();
        var (response, tokens) = await app.LoginAsync();

        var cookie = SetCookie(response);
        cookie.Should().StartWith(CookieName + "=").And.Contain("; path=/auth").And.Contain("; secure").And.Contain("; samesite=strict").And.Contain("; httponly").And.Contain("; expires=");
        tokens.TryGetProperty("refreshToken", out _).Should().BeFalse("the refresh token travels only in the cookie");
        tokens.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Refresh_WithCookieAndCsrfHeader_RotatesTheCookie()
    {
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        var first = CookieValue(SetCookie(login));
        using var client = app.Client();

        var response = await client.SendAsync(Refresh(first, csrf: true));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var second = CookieValue(SetCookie(response));
        second.Should().NotBe(first);
        (await TestApp.Json(response)).TryGetProperty("refreshToken", out _).Should().BeFalse();

        var replay = await client.SendAsync(Refresh(first, csrf: true));
        replay.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await TestApp.Json(replay)).GetProperty("code").GetString().Should().Be("TOKEN_REUSE_ATTACK");
        SetCookie(replay).Should().Contain("expires=Thu, 01 Jan 1970", "a refused cookie is cleared");
    }

    [Theory]
    [InlineData("no-header")]
    [InlineData("cross-origin")]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    public async Task Refresh_WithCookie_FailingTheCsrfCheck_Is403AndRotatesNothing(string attack)
    {
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        var token = CookieValue(SetCookie(login));
        using var client = app.Client();
        using var request = Refresh(token, csrf: attack != "no-header");
        switch (attack)
        {
            case "cross-origin":
                request.Headers.Add("Origin", "https://evil.example");
                break;
            case "cross-site":
                request.Headers.Add("Sec-Fetch-Site", "cross-site");
                break;
            case "same-site":
                request.Headers.Add("Sec-Fetch-Site", "same-site");
                break;
        }

        var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("CSRF_CHECK_FAILED");
        (await client.SendAsync(Refresh(token, csrf: true))).StatusCode.Should().Be(HttpStatusCode.OK, "the refused request did not use the token up");
    }

    [Fact]
    public async Task Refresh_SameOriginBrowserRequest_Passes()
    {
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        using var client = app.Client();
        using var request = Refresh(CookieValue(SetCookie(login)), csrf: true);
        request.Headers.Add("Origin", "https://localhost");
        request.Headers.Add("Sec-Fetch-Site", "same-origin");

        (await client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("HTTPS://LOCALHOST")]
    [InlineData("https://localhost:443")]
    [InlineData("https://LocalHost:443")]
    public async Task Refresh_SameOriginSpelledDifferently_Passes(string origin)
    {
        // RFC 6454: scheme and host compare without case and the default port is the same origin as none.
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        using var client = app.Client();
        using var request = Refresh(CookieValue(SetCookie(login)), csrf: true);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Sec-Fetch-Site", "same-origin");

        (await client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("https://localhost:8443")]
    [InlineData("http://localhost")]
    [InlineData("null")]
    [InlineData("https://localhost.evil.example")]
    public async Task Refresh_OriginDifferingInSchemePortOrHost_IsRefused(string origin)
    {
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        using var client = app.Client();
        using var request = Refresh(CookieValue(SetCookie(login)), csrf: true);
        request.Headers.Add("Origin", origin);

        var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await TestApp.Json(response)).GetProperty("code").GetString().Should().Be("CSRF_CHECK_FAILED");
    }

    [Theory]
    [InlineData("https://app.example.com", "same-site", HttpStatusCode.OK)]
    [InlineData("HTTPS://APP.EXAMPLE.COM:443", "same-site", HttpStatusCode.OK)]
    [InlineData("https://app.example.com:8443", "same-site", HttpStatusCode.Forbidden)]
    [InlineData("http://app.example.com", "same-site", HttpStatusCode.Forbidden)]
    [InlineData("https://evil.example.com", "same-site", HttpStatusCode.Forbidden)]
    [InlineData(null, "same-site", HttpStatusCode.Forbidden)]
    public async Task Refresh_FromAnAllowedOtherOrigin_Passes_OnlyThatExactOrigin(string? origin, string site, HttpStatusCode expected)
    {
        await using var app = await TestApp.StartAsync(o => o.Endpoints = e =>
        {
            e.RefreshTokenTransport = RefreshTokenTransport.Cookie;
            e.AllowedOrigins.Add("https://app.example.com");
        });
        var (login, _) = await app.LoginAsync();
        using var client = app.Client();
        using var request = Refresh(CookieValue(SetCookie(login)), csrf: true);
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        request.Headers.Add("Sec-Fetch-Site", site);

        (await client.SendAsync(request)).StatusCode.Should().Be(expected);
    }

    [Fact]
    public async Task CsrfRefusal_IsLoggedBelowWarning_WithoutTheRawSecFetchSiteValue()
    {
        // Anyone can send these requests: a refusal is not an incident, and its header values are the sender's text.
        await using var app = await StartAsync();
        var (login, _) = await app.LoginAsync();
        using var client = app.Client();
        using var request = Refresh(CookieValue(SetCookie(login)), csrf: true);
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site-injected-text-0123456789");

        (await client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var entry = app.Logs.Lines.Single(e => e.Contains("[3102]", StringComparison.Ordinal));
        entry.Should().NotStartWith("Warning").And.NotStartWith("Error");
        entry.Should().NotContain("injected-text");
    }

    [Fact]
    public async Task Logout_WithCookie_EndsTheSessionAndClearsTheCookie()
    {
        await using var app = await StartAsync();
        var (login, tokens) = await app.LoginAsync();
        var token = CookieValue(SetCookie(login));
        using var client = app.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/logout");
        request.Headers.Add("Cookie", $"{CookieName}={token}");
        request.Headers.Add("X-Dermag-CSRF", "1");

        var response = await client.SendAsync(request);

        response.IsSuccessStatusCode.Should().BeTrue();
        SetCookie(response).Should().Contain("expires=Thu, 01 Jan 1970").And.Contain("path=/auth");
        (await app.Services.GetRequiredService<IRefreshTokenManager>().IsSessionActiveAsync(tokens.GetProperty("sessionId").GetGuid())).Should().BeFalse();
    }

    [Fact]
    public async Task TokensResult_OutsideTheGroup_UsesTheMappedGroupsCookieSettings()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Endpoints = e => e.RefreshTokenTransport = RefreshTokenTransport.Cookie;
            o.BeforeEndpoints = a => a.MapPost("/elsewhere/login", async (IRefreshTokenManager m) => TokenRotationResults.Tokens(await m.IssueAsync("u")));
        });
        using var client = app.Client();

        var response = await client.PostAsync("/elsewhere/login", null);

        SetCookie(response).Should().Contain("path=/auth", "the refresh cookie is scoped to the token endpoints wherever the login is");
    }

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(o => o.Endpoints = e => e.RefreshTokenTransport = RefreshTokenTransport.Cookie);

    private static HttpRequestMessage Refresh(string token, bool csrf)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/auth/refresh");
        request.Headers.Add("Cookie", $"{CookieName}={token}");
        if (csrf)
        {
            request.Headers.Add("X-Dermag-CSRF", "1");
        }

        return request;
    }

    private static string SetCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.Single(v => v.StartsWith(CookieName, StringComparison.Ordinal)) : string.Empty;

    private static string CookieValue(string setCookie) => setCookie[(CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)];
}
