using System.Buffers.Binary;
using System.Net;
using Dermag.SampleHost.Demo;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
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
    public async Task Login_FromAddressesOfOneIpv6Slash64_SharesOneLimit_AnotherSlash64HasItsOwn()
    {
        // One subscriber's /64 offers a host 2^64 addresses: partitioned by full address, the limit would not limit.
        await using var factory = new SampleHostFactory()
            .WithSetting("Dermag:RateLimits:Login:PermitLimit", "2")
            .WithServices(s => s.AddSingleton<IStartupFilter, ClientAddressFromTestHeader>());
        using var api = factory.Api();

        async Task<HttpStatusCode> LoginFrom(string address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = System.Net.Http.Json.JsonContent.Create(new { username = "admin", password = "wrong" }) };
            request.Headers.Add(ClientAddressFromTestHeader.Header, address);
            return (await api.Http.SendAsync(request)).StatusCode;
        }

        (await LoginFrom("2001:db8:1:2::1")).Should().Be(HttpStatusCode.Unauthorized);
        (await LoginFrom("2001:db8:1:2:aaaa::2")).Should().Be(HttpStatusCode.Unauthorized);
        (await LoginFrom("2001:db8:1:2:ffff:ffff:ffff:3")).Should().Be(HttpStatusCode.TooManyRequests, "the same /64");
        (await LoginFrom("2001:db8:1:3::1")).Should().Be(HttpStatusCode.Unauthorized, "another /64 is another client");
        (await LoginFrom("192.0.2.1")).Should().Be(HttpStatusCode.Unauthorized);
        (await LoginFrom("::ffff:192.0.2.1")).Should().Be(HttpStatusCode.Unauthorized, "the IPv4-mapped form is the same IPv4 client");
        (await LoginFrom("192.0.2.1")).Should().Be(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Login_BeyondTheGlobalConcurrencyLimit_Is429_WhileOtherLoginsHash()
    {
        // PBKDF2 at 210,000 iterations is a CPU cost any client can make the server pay: at most N hash at once, from all clients.
        var hasher = new BlockingHasher();
        await using var factory = new SampleHostFactory()
            .WithSetting("Dermag:RateLimits:LoginConcurrency:PermitLimit", "1")
            .WithSetting("Dermag:RateLimits:LoginConcurrency:QueueLimit", "0")
            .WithServices(s => s.Replace(ServiceDescriptor.Singleton<IPasswordHasher<DemoUser>>(hasher)));
        using var first = factory.Api();
        using var second = factory.Api();
        await first.GetAsync("/api/auth/sessions"); // start the host and hash the demo users' passwords before blocking
        hasher.Block();
        try
        {
            var hashing = first.PostAsync("/api/auth/login", new { username = "admin", password = "wrong" });
            (await hasher.Entered.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();

            var limited = await second.PostAsync("/api/auth/login", new { username = "manager", password = "wrong" }).WaitAsync(TimeSpan.FromSeconds(30));

            limited.Status.Should().Be(HttpStatusCode.TooManyRequests);
            limited.Code.Should().Be("RATE_LIMITED");
            hasher.Release();
            (await hashing).Status.Should().Be(HttpStatusCode.Unauthorized);
        }
        finally
        {
            hasher.Release();
        }

        (await second.PostAsync("/api/auth/login", new { username = "manager", password = "wrong" })).Status.Should().Be(HttpStatusCode.Unauthorized, "the permit is back");
    }

    [Theory]
    [InlineData("Development", true)]
    [InlineData("Production", false)]
    public async Task StartupLog_ShowsDemoPasswords_OnlyInDevelopment(string environment, bool shown)
    {
        var logs = new CapturedLogs();
        await using var factory = new SampleHostFactory();
        await using var host = factory.WithWebHostBuilder(b =>
        {
            b.UseEnvironment(environment);
            b.ConfigureLogging(l => l.AddProvider(logs));
        });
        using var client = host.CreateClient();
        await client.GetAsync("/api/auth/sessions");

        var started = logs.Entries.Select(e => e.Message).Should().ContainSingle(l => l.Contains("Demo users:", StringComparison.Ordinal)).Which;
        started.Should().Contain("admin");
        if (shown)
        {
            started.Should().Contain(Demo.AdminPassword, "the README's quick start reads them from the console");
        }
        else
        {
            DemoUserStore.Accounts.Should().AllSatisfy(a => started.Should().NotContain(a.Password));
        }
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

    /// <summary>TestServer has no client address: take it from a test header, before the app's middleware (the rate limiter).</summary>
    private sealed class ClientAddressFromTestHeader : IStartupFilter
    {
        public const string Header = "X-Test-Client-Address";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (IPAddress.TryParse(context.Request.Headers[Header].ToString(), out var address))
                {
                    context.Connection.RemoteIpAddress = address;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>A cheap hasher whose verifications can be held, to keep a login "hashing" while another arrives.</summary>
    private sealed class BlockingHasher : IPasswordHasher<DemoUser>
    {
        private readonly PasswordHasher<DemoUser> _inner = new(Options.Create(new PasswordHasherOptions { IterationCount = 1000 }));
        private readonly ManualResetEventSlim _gate = new(initialState: true);
        private readonly SemaphoreSlim _entered = new(0);

        public Task<bool> Entered => _entered.WaitAsync(Timeout.InfiniteTimeSpan).ContinueWith(_ => true, TaskScheduler.Default);

        public void Block() => _gate.Reset();

        public void Release() => _gate.Set();

        public string HashPassword(DemoUser user, string password) => _inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(DemoUser user, string hashedPassword, string providedPassword)
        {
            _entered.Release();
            _gate.Wait(TimeSpan.FromSeconds(60));
            return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}
