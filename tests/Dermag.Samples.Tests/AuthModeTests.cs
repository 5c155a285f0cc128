using System.Net;
using Dermag.Samples.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.Samples.Tests;

public sealed class AuthModeTests
{
    [Fact]
    public async Task ParanoidMode_AccessTokenOfLoggedOutSession_Is401TokenRevoked()
    {
        await using var factory = new SampleHostFactory().WithSetting("Dermag:ParanoidMode", "true");
        using var api = factory.Api();
        var (access, refresh) = await api.LoginAsync("admin", Demo.AdminPassword);

        (await api.PostAsync("/api/auth/logout", new { refreshToken = refresh })).Success.Should().BeTrue();

        var result = await api.As(access).GetAsync("/api/tasks");
        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("TOKEN_REVOKED");
    }

    [Fact]
    public async Task ParanoidMode_ActiveSession_IsAllowed()
    {
        await using var factory = new SampleHostFactory().WithSetting("Dermag:ParanoidMode", "true");
        using var api = factory.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);

        (await api.GetAsync("/api/tasks")).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task WithoutParanoidMode_AccessTokenStaysValidUntilItExpires()
    {
        await using var factory = new SampleHostFactory();
        using var api = factory.Api();
        var (access, refresh) = await api.LoginAsync("admin", Demo.AdminPassword);
        await api.PostAsync("/api/auth/logout", new { refreshToken = refresh });

        (await api.As(access).GetAsync("/api/tasks")).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ExpiredAccessToken_Is401TokenExpired()
    {
        // The library issues and validates tokens on the injected clock: 16 minutes later the access token has expired.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new SampleHostFactory().WithServices(s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        using var api = factory.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);
        (await api.GetAsync("/api/tasks")).Status.Should().Be(HttpStatusCode.OK);
        clock.Advance(TimeSpan.FromMinutes(16));

        var result = await api.GetAsync("/api/tasks");
        result.Status.Should().Be(HttpStatusCode.Unauthorized);
        result.Code.Should().Be("TOKEN_EXPIRED");
    }
}
