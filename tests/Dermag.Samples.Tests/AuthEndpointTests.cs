using System.Net;
using Dermag.Samples.Tests.Infrastructure;

namespace Dermag.Samples.Tests;

public sealed class AuthEndpointTests(SampleHostFactory factory) : IClassFixture<SampleHostFactory>
{
    [Fact]
    public async Task Login_WithDemoPassword_ReturnsTokenPairInEnvelope()
    {
        using var api = factory.Api();
        var result = await api.PostAsync("/api/auth/login", new { username = "admin", password = Demo.AdminPassword });

        result.Status.Should().Be(HttpStatusCode.OK);
        result.Success.Should().BeTrue();
        result.Code.Should().BeNull();
        result.Data.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
        result.Data.GetProperty("refreshToken").GetString().Should().NotBeNullOrEmpty();
        result.Data.GetProperty("tokenType").GetString().Should().Be("Bearer");
        result.Data.GetProperty("user").GetProperty("role").GetString().Should().Be("admin");
    }

    [Theory]
    [InlineData("admin", "wrong")]
    [InlineData("nobody", "Admin123!")]
    [InlineData("", "")]
    public async Task Login_WithWrongCredentials_Is401InvalidCredentials(string username, string password)
    {
        using var api = factory.Api();
        var result = await api.PostAsync("/api/auth/login", new { username, password });

        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Success.Should().BeFalse();
        result.Code.Should().Be("INVALID_CREDENTIALS");
    }

    [Fact]
    public async Task Login_Refresh_ReplayOldToken_IsReuseAttackAndRevokesEverySession()
    {
        using var api = factory.Api();
        var (_, first) = await api.LoginAsync("manager", Demo.ManagerPassword);
        var (otherDeviceAccess, otherDeviceRefresh) = await api.LoginAsync("manager", Demo.ManagerPassword);

        var rotated = await api.PostAsync("/api/auth/refresh", new { refreshToken = first });
        rotated.Status.Should().Be(HttpStatusCode.OK, rotated.ToString());
        var second = rotated.Data.GetProperty("refreshToken").GetString()!;
        second.Should().NotBe(first);
        api.As(rotated.Data.GetProperty("accessToken").GetString());
        (await api.GetAsync("/api/auth/sessions")).Data.GetProperty("count").GetInt32().Should().Be(2);

        // An attacker replays the token the user already rotated away.
        var replay = await api.PostAsync("/api/auth/refresh", new { refreshToken = first });
        replay.Status.Should().Be(HttpStatusCode.Unauthorized);
        replay.Success.Should().BeFalse();
        replay.Code.Should().Be("TOKEN_REUSE_ATTACK");

        // Every session of the user is gone: the legitimate current token and the other device's token.
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = second })).Code.Should().Be("TOKEN_REVOKED");
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = otherDeviceRefresh })).Code.Should().Be("TOKEN_REVOKED");
        var sessions = await api.As(otherDeviceAccess).GetAsync("/api/auth/sessions");
        sessions.Data.GetProperty("count").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Refresh_WithGarbage_IsInvalidToken()
    {
        using var api = factory.Api();
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = "not-a-token" })).Code.Should().Be("INVALID_TOKEN");
        (await api.PostAsync("/api/auth/refresh", new { })).Code.Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task Refresh_WithAccessToken_IsInvalidToken()
    {
        using var api = factory.Api();
        var (access, _) = await api.LoginAsync("admin", Demo.AdminPassword);
        var result = await api.PostAsync("/api/auth/refresh", new { refreshToken = access });
        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task Logout_RevokesThatSessionOnly()
    {
        using var api = factory.Api();
        var (_, refreshA) = await api.LoginAsync("bom_editor", Demo.EditorPassword);
        var (_, refreshB) = await api.LoginAsync("bom_editor", Demo.EditorPassword);

        var logout = await api.PostAsync("/api/auth/logout", new { refreshToken = refreshA });
        logout.Status.Should().Be(HttpStatusCode.OK);
        logout.Success.Should().BeTrue();

        (await api.PostAsync("/api/auth/refresh", new { refreshToken = refreshA })).Code.Should().Be("TOKEN_REVOKED");
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = refreshB })).Success.Should().BeTrue();
    }

    [Fact]
    public async Task LogoutAll_ReturnsRevokedCount_AndSessionsAreEmpty()
    {
        using var api = factory.Api();
        await api.LoginAsync("technician", Demo.TechnicianPassword);
        await api.LoginAsync("technician", Demo.TechnicianPassword);
        var (access, refresh) = await api.LoginAsync("technician", Demo.TechnicianPassword);

        var sessions = await api.GetAsync("/api/auth/sessions");
        sessions.Status.Should().Be(HttpStatusCode.OK);
        sessions.Data.GetProperty("count").GetInt32().Should().BeGreaterThanOrEqualTo(3);
        sessions.Data.GetProperty("sessions").EnumerateArray().Count(s => s.GetProperty("current").GetBoolean()).Should().Be(1);

        var all = await api.PostAsync("/api/auth/logout/all");
        all.Status.Should().Be(HttpStatusCode.OK, all.ToString());
        all.Data.GetProperty("revokedCount").GetInt32().Should().BeGreaterThanOrEqualTo(3);

        (await api.As(access).GetAsync("/api/auth/sessions")).Data.GetProperty("count").GetInt32().Should().Be(0);
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = refresh })).Code.Should().Be("TOKEN_REVOKED");
    }

    [Theory]
    [InlineData("GET", "/api/auth/sessions")]
    [InlineData("POST", "/api/auth/logout/all")]
    [InlineData("GET", "/api/bom-triggers")]
    [InlineData("POST", "/api/bom-triggers")]
    [InlineData("GET", "/api/tasks")]
    [InlineData("POST", "/api/tasks")]
    public async Task ProtectedEndpoints_WithoutToken_Are401NoToken(string method, string url)
    {
        using var api = factory.Api();
        var result = await api.SendAsync(new HttpMethod(method), url, method == "GET" ? null : new { });

        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Success.Should().BeFalse();
        result.Code.Should().Be("NO_TOKEN");
    }

    [Fact]
    public async Task ProtectedEndpoint_WithTamperedToken_Is401InvalidToken()
    {
        using var api = factory.Api();
        var (access, _) = await api.LoginAsync("admin", Demo.AdminPassword);
        var tampered = access[..^4] + (access[^4] == 'A' ? "BBBB" : "AAAA");

        var result = await api.As(tampered).GetAsync("/api/auth/sessions");
        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task ProtectedEndpoint_WithRefreshTokenAsBearer_Is401InvalidToken()
    {
        using var api = factory.Api();
        var (_, refresh) = await api.LoginAsync("admin", Demo.AdminPassword);

        var result = await api.As(refresh).GetAsync("/api/auth/sessions");
        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("INVALID_TOKEN");
    }

    [Fact]
    public async Task LogoutAll_KeepCurrentSession_RevokesOnlyTheOthers()
    {
        using var api = factory.Api();
        var (_, other) = await api.LoginAsync("admin", Demo.AdminPassword);
        var (_, current) = await api.LoginAsync("admin", Demo.AdminPassword);

        var result = await api.PostAsync("/api/auth/logout/all", new { keepCurrentSession = true });
        result.Data.GetProperty("revokedCount").GetInt32().Should().BeGreaterThanOrEqualTo(1);

        (await api.PostAsync("/api/auth/refresh", new { refreshToken = other })).Code.Should().Be("TOKEN_REVOKED");
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = current })).Success.Should().BeTrue();
    }

    [Fact]
    public async Task LogoutAll_WithoutBody_Works()
    {
        using var api = factory.Api();
        await api.LoginAsync("manager", Demo.ManagerPassword);

        var result = await api.SendAsync(HttpMethod.Post, "/api/auth/logout/all", null);
        result.Status.Should().Be(HttpStatusCode.OK, result.ToString());
        result.Data.GetProperty("revokedCount").GetInt32().Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Login_WithMalformedJson_Is400InEnvelope()
    {
        using var api = factory.Api();
        var result = await api.SendAsync(HttpMethod.Post, "/api/auth/login", "{ not json");

        result.Status.Should().Be(HttpStatusCode.BadRequest);
        result.Success.Should().BeFalse();
        result.Code.Should().Be("VALIDATION_ERROR");
    }

    [Fact]
    public async Task Logout_WithRotatedAwayToken_Is401TokenReuseAttackAndEndsTheLiveChain()
    {
        using var api = factory.Api();
        var (_, stolen) = await api.LoginAsync("technician", Demo.TechnicianPassword);
        var rotated = await api.PostAsync("/api/auth/refresh", new { refreshToken = stolen });
        var live = rotated.Data.GetProperty("refreshToken").GetString();

        var logout = await api.PostAsync("/api/auth/logout", new { refreshToken = stolen });

        logout.Status.Should().Be(HttpStatusCode.Unauthorized);
        logout.Code.Should().Be("TOKEN_REUSE_ATTACK");
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = live })).Code.Should().Be("TOKEN_REVOKED");
    }

    [Fact]
    public async Task Logout_WithInvalidToken_Is401InvalidToken()
    {
        using var api = factory.Api();
        var result = await api.PostAsync("/api/auth/logout", new { refreshToken = "garbage" });

        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("INVALID_TOKEN");
    }
}
