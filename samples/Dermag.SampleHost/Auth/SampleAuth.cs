using System.Globalization;
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

/// <summary>Rate limits per client IP address (section <c>Dermag:RateLimits</c>), for example <c>Dermag__RateLimits__Login__PermitLimit=5</c>.</summary>
public sealed class SampleRateLimits
{
    /// <summary>Logins: password guessing is what this slows down.</summary>
    public FixedWindow Login { get; set; } = new() { PermitLimit = 10, Window = TimeSpan.FromMinutes(1) };

    /// <summary>Refreshes: a client refreshes once per access token lifetime; a burst is a broken or hostile client.</summary>
    public FixedWindow Refresh { get; set; } = new() { PermitLimit = 30, Window = TimeSpan.FromMinutes(1) };

    public sealed class FixedWindow
    {
        public int PermitLimit { get; set; }

        public TimeSpan Window { get; set; }
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

    /// <summary>A fixed window per client IP address (behind a proxy, run UseForwardedHeaders first so this is the client's).</summary>
    private static RateLimitPartition<string> PerClientIp(HttpContext http, Func<SampleRateLimits, SampleRateLimits.FixedWindow> pick)
    {
        var limits = pick(http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<SampleRateLimits>>().CurrentValue);
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return RateLimitPartition.GetFixedWindowLimiter(ip, _ => new FixedWindowRateLimiterOptions
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
