using System.Buffers.Binary;
using System.Net;
using Dermag.SampleHost.Demo;
using Dermag.Samples.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dermag.Samples.Tests;

/// <summary>The sample's login: same work for unknown users as for wrong passwords, hashes at OWASP strength, rate limits.</summary>
public sealed class AuthHardeningTests
{
    [Fact]
    public async Task Login_UnknownUser_DoesTheSameHashingWorkAsAWrongPassword()
    {
        var hasher = new CountingHasher();
        await using var factory = new SampleHostFactory().WithServices(s => s.Replace(ServiceDescriptor.Singleton<IPasswordHasher<DemoUser>>(hasher)));
        using var api = factory.Api();
        await api.GetAsync("/api/auth/sessions"); // start the host and build the user store

        var counts = new List<int>();
        foreach (var (username, password) in new[] { ("admin", "wrong"), ("nobody", "wrong"), ("", "wrong"), ("admin", Demo.AdminPassword) })
        {
            var before = hasher.Verifications;
            await api.PostAsync("/api/auth/login", new { username, password });
            counts.Add(hasher.Verifications - before);
        }

        counts.Should().Equal([1, 1, 1, 1], "every login verifies exactly one hash, whether or not the user exists");
    }

    [Fact]
    public async Task PasswordHashes_ArePbkdf2HmacSha512_AtOwaspIterations()
    {
        await using var factory = new SampleHostFactory();
        using var api = factory.Api();
        await api.GetAsync("/api/auth/sessions");
        var hash = Convert.FromBase64String(factory.Services.GetRequiredService<DemoUserStore>().HashOf("admin")!);

        // ASP.NET Core Identity format v3: 0x01, PRF (2 = HMAC-SHA512), iteration count, salt length, salt, subkey; big-endian.
        hash[0].Should().Be(0x01);
        BinaryPrimitives.ReadUInt32BigEndian(hash.AsSpan(1)).Should().Be(2u, "HMAC-SHA512");
        BinaryPrimitives.ReadUInt32BigEndian(hash.AsSpan(5)).Should().BeGreaterThanOrEqualTo(210_000u, "OWASP: PBKDF2-HMAC-SHA512 at 210,000 iterations");
        BinaryPrimitives.ReadUInt32BigEndian(hash.AsSpan(9)).Should().BeGreaterThanOrEqualTo(16u, "a salt of 128 bits or more");
    }

    [Fact]
    public async Task Login_BeyondTheLimit_Is429RateLimited()
    {
        await using var factory = new SampleHostFactory().WithSetting("Dermag:RateLimits:Login:PermitLimit", "2");
        using var api = factory.Api();

        (await api.PostAsync("/api/auth/login", new { username = "admin", password = "wrong" })).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await api.PostAsync("/api/auth/login", new { username = "admin", password = "wrong" })).Status.Should().Be(HttpStatusCode.Unauthorized);
        var limited = await api.PostAsync("/api/auth/login", new { username = "admin", password = Demo.AdminPassword });

        limited.Status.Should().Be(HttpStatusCode.TooManyRequests);
        limited.Code.Should().Be("RATE_LIMITED");
    }

    [Fact]
    public async Task Refresh_BeyondTheLimit_Is429RateLimited()
    {
        await using var factory = new SampleHostFactory().WithSetting("Dermag:RateLimits:Refresh:PermitLimit", "1");
        using var api = factory.Api();
        var (_, refresh) = await api.LoginAsync("admin", Demo.AdminPassword);

        (await api.PostAsync("/api/auth/refresh", new { refreshToken = refresh })).Status.Should().Be(HttpStatusCode.OK);
        var limited = await api.PostAsync("/api/auth/refresh", new { refreshToken = refresh });

        limited.Status.Should().Be(HttpStatusCode.TooManyRequests);
        limited.Code.Should().Be("RATE_LIMITED");
    }

    [Fact]
    public async Task RevokeOneSession_ThroughThePackageEndpoint_InTheEnvelope()
    {
        await using var factory = new SampleHostFactory();
        using var api = factory.Api();
        var (_, other) = await api.LoginAsync("manager", Demo.ManagerPassword);
        await api.LoginAsync("manager", Demo.ManagerPassword);
        var sessions = await api.GetAsync("/api/auth/sessions");
        var otherId = sessions.Data.GetProperty("sessions").EnumerateArray().Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("sessionId").GetString();

        var revoked = await api.DeleteAsync($"/api/auth/sessions/{otherId}");
        revoked.Success.Should().BeTrue();
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = other })).Code.Should().Be("TOKEN_REVOKED");
        (await api.DeleteAsync($"/api/auth/sessions/{otherId}")).Code.Should().Be("SESSION_NOT_FOUND");
    }

    private sealed class CountingHasher : IPasswordHasher<DemoUser>
    {
        private readonly PasswordHasher<DemoUser> _inner = new(Options.Create(new PasswordHasherOptions { IterationCount = 1000 }));
        private int _verifications;

        public int Verifications => Volatile.Read(ref _verifications);

        public string HashPassword(DemoUser user, string password) => _inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(DemoUser user, string hashedPassword, string providedPassword)
        {
            Interlocked.Increment(ref _verifications);
            return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}
