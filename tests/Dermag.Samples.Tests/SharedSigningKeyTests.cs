using System.Net;
using System.Security.Cryptography;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;

namespace Dermag.Samples.Tests;

/// <summary>Several instances behind one database (the sample README's recipe): they accept each other's tokens only with the same signing keys.</summary>
public sealed class SharedSigningKeyTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private readonly string _accessKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _refreshKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private SampleHostFactory Instance(bool sharedKeys)
    {
        var host = new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", database.ConnectionString);
        return sharedKeys ? host.WithSetting("Dermag:AccessSigningKey", _accessKey).WithSetting("Dermag:RefreshSigningKey", _refreshKey) : host;
    }

    [Fact]
    public async Task TwoInstances_WithTheSameKeys_AcceptAndRefreshEachOthersTokens()
    {
        await using var a = Instance(sharedKeys: true);
        await using var b = Instance(sharedKeys: true);
        using var onA = a.Api();
        using var onB = b.Api();
        var (access, refresh) = await onA.LoginAsync("admin", Demo.AdminPassword);

        (await onB.As(access).GetAsync("/api/auth/sessions")).Status.Should().Be(HttpStatusCode.OK, "B validates A's access token");
        var rotated = await onB.PostAsync("/api/auth/refresh", new { refreshToken = refresh });
        rotated.Success.Should().BeTrue(rotated.ToString());

        var accessFromB = rotated.Data.GetProperty("accessToken").GetString();
        (await onA.As(accessFromB).GetAsync("/api/auth/sessions")).Status.Should().Be(HttpStatusCode.OK, "A validates B's access token");
        (await onA.PostAsync("/api/auth/refresh", new { refreshToken = refresh })).Code.Should().Be("TOKEN_REUSE_ATTACK", "A sees B's rotation in the database");
    }

    [Fact]
    public async Task TwoInstances_WithGeneratedKeys_RejectEachOthersTokens()
    {
        await using var a = Instance(sharedKeys: false);
        await using var b = Instance(sharedKeys: false);
        using var onA = a.Api();
        using var onB = b.Api();
        var (access, refresh) = await onA.LoginAsync("admin", Demo.AdminPassword);

        (await onB.As(access).GetAsync("/api/auth/sessions")).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await onB.As(null).PostAsync("/api/auth/refresh", new { refreshToken = refresh })).Code.Should().Be("INVALID_TOKEN");
    }
}
