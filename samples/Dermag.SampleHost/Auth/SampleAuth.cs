using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Dermag.SampleHost.Api;
using Dermag.SampleHost.Demo;
using Dermag.TokenRotation.AspNetCore;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;

namespace Dermag.SampleHost.Auth;

/// <summary>Host settings of the sample (section <c>Dermag</c>).</summary>
public sealed class SampleHostOptions
{
    /// <summary>Check on every request that the access token's session is still active (the original's "paranoid mode").</summary>
    public bool ParanoidMode { get; set; }
}

/// <summary>
/// Rate limits per client (section <c>Dermag:RateLimits</c>), for example <c>Dermag__RateLimits__Login__PermitLimit=5</c>.
/// A client is its IPv4 address, or its IPv6 /64 (one subscriber's network: a host there can pick any of 2^64 addresses).
/// </summary>
public sealed class SampleRateLimits
{
    /// <summary>Logins: password guessing is what this slows down.</summary>
    public FixedWindow Login { get; set; } = new() { PermitLimit = 10, Window = TimeSpan.FromMinutes(1) };

    /// <summary>Refreshes: a client refreshes once per access token lifetime; a burst is a broken or hostile client.</summary>
    public FixedWindow Refresh { get; set; } = new() { PermitLimit = 30, Window = TimeSpan.FromMinutes(1) };

    /// <summary>
    /// Logins hashing a password at once, from all clients together: PBKDF2 at 210,000 iterations costs a core about a tenth
    /// of a second, so many clients (each within its own limit) could otherwise keep every core busy. Beyond the permits,
    /// logins wait in a queue; beyond the queue, <c>429 RATE_LIMITED</c>.
    /// </summary>
    public Concurrency LoginConcurrency { get; set; } = new() { PermitLimit = Math.Max(1, Environment.ProcessorCount / 2), QueueLimit = 32 };

    public sealed class FixedWindow
    {
        public int PermitLimit { get; set; }

        public TimeSpan Window { get; set; }
    }

    public sealed class Concurrency
    {
        public int PermitLimit { get; set; }

        public int QueueLimit { get; set; }
    }
}

/// <summary>
/// The sample's authentication: JwtBearer wired to Dermag.TokenRotation by <c>UseTokenRotation()</c> (no hand-written bearer
/// options), the demo users with ASP.NET Core Identity's password hasher, and rate limits on login and refresh.
/// </summary>
public static class SampleAuth
{
    public const string LoginRateLimit = "login";
    public const string RefreshRateLimit = "refresh";

    /// <summary>Endpoint metadata of the endpoints that hash a password (login): the global concurrency limit applies to them.</summary>
    public static readonly object HashesPasswords = new HashesPasswordsMetadata();

    public static WebApplicationBuilder AddSampleAuth(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.Configure<SampleHostOptions>(configuration.GetSection("Dermag"));
        services.Configure<PasswordHasherOptions>(o => o.IterationCount = DemoUserStore.PasswordHashIterations);
        services.AddSingleton<IPasswordHasher<DemoUser>, PasswordHasher<DemoUser>>();
        services.AddSingleton<DemoUserStore>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(o => o.Events = new JwtBearerEvents { OnTokenValidated = AddDemoUserClaimsAsync })
            .UseTokenRotation(o =>
            {
                o.ParanoidMode = configuration.GetValue<bool>("Dermag:ParanoidMode");
                o.ErrorFormat = TokenRotationErrorFormat.Envelope;
            });

        services.Configure<SampleRateLimits>(configuration.GetSection("Dermag:RateLimits"));
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(LoginRateLimit, http => PerClientIp(http, l => l.Login));
            o.AddPolicy(RefreshRateLimit, http => PerClientIp(http, l => l.Refresh));
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.GetEndpoint()?.Metadata.GetMetadata<HashesPasswordsMetadata>() is null
                    ? RateLimitPartition.GetNoLimiter(string.Empty)
                    : RateLimitPartition.GetConcurrencyLimiter("password-hashing", _ =>
                    {
                        var limits = Limits(http).LoginConcurrency;
                        return new ConcurrencyLimiterOptions
                        {
                            PermitLimit = limits.PermitLimit,
                            QueueLimit = limits.QueueLimit,
                            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                        };
                    }));
            o.OnRejected = async (context, ct) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                await context.HttpContext.Response.WriteAsJsonAsync(ApiResponse.Fail(ErrorCodes.RateLimited, "Too many requests; try again later."), ct);
            };
        });
        return builder;
    }

    /// <summary>
    /// The partition of a client address: an IPv4 address as it is; an IPv6 address by its /64, the network one subscriber
    /// gets (partitioning by the full address would give a single host 2^64 buckets); an IPv4-mapped IPv6 address as IPv4.
    /// </summary>
    internal static string ClientPartitionKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }

    private static SampleRateLimits Limits(HttpContext http) =>
        http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<SampleRateLimits>>().CurrentValue;

    /// <summary>
    /// A fixed window per client (<see cref="ClientPartitionKey"/>). Behind a reverse proxy, run <c>UseForwardedHeaders</c>
    /// first, with <c>KnownProxies</c>/<c>KnownNetworks</c> naming the proxy, so this is the client's address, not the proxy's
    /// (one bucket for everyone), and not whatever <c>X-Forwarded-For</c> a client sends (a bucket per request).
    /// </summary>
    private static RateLimitPartition<string> PerClientIp(HttpContext http, Func<SampleRateLimits, SampleRateLimits.FixedWindow> pick)
    {
        var limits = pick(Limits(http));
        var client = ClientPartitionKey(http.Connection.RemoteIpAddress);
        return RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limits.PermitLimit,
            Window = limits.Window,
            QueueLimit = 0,
        });
    }

    /// <summary>Roles come from the user store on every request, so a role change applies without a new token.</summary>
    private static Task AddDemoUserClaimsAsync(TokenValidatedContext context)
    {
        var principal = context.Principal!;
        var users = context.HttpContext.RequestServices.GetRequiredService<DemoUserStore>();
        var user = int.TryParse(principal.FindFirstValue("sub"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? users.Find(id) : null;
        if (user is null)
        {
            context.Fail("Unknown user.");
            return Task.CompletedTask;
        }

        principal.AddIdentity(new ClaimsIdentity([new Claim("name", user.Username), new Claim("role", user.Role)], "demo-users", "name", "role"));
        return Task.CompletedTask;
    }
}

/// <summary>See <see cref="SampleAuth.HashesPasswords"/>.</summary>
internal sealed class HashesPasswordsMetadata;
