using Dermag.BomTriggers;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Dermag.Migrations;
using Dermag.SampleHost.Api;
using Dermag.SampleHost.Auth;
using Dermag.SampleHost.Dashboard;
using Dermag.SampleHost.Demo;
using Dermag.SampleHost.Hosting;
using Dermag.SampleHost.Tasks;
using Dermag.SampleHost.Triggers;
using Dermag.TokenRotation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;

// DBA path: `dotnet run --project samples/Dermag.SampleHost -- export-sql dermag.sql` writes both libraries' migrations
// as one psql script for the configured PostgreSQL schema (nothing is connected); apply it with psql -v ON_ERROR_STOP=1 -f.
var exportSqlTo = args is ["export-sql", var exportPath, ..] ? exportPath : null;
var builder = WebApplication.CreateBuilder(exportSqlTo is null ? args : args[2..]);
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://localhost:5080");
}

// No connection string: everything in memory. ConnectionStrings__Dermag set: PostgreSQL, migrations applied at startup.
var connectionString = builder.Configuration.GetConnectionString("Dermag");
var keys = SigningKeys.FromConfiguration(builder.Configuration);

// On PostgreSQL: create the database when it is missing, or stop here with one line saying why it cannot be reached.
if (connectionString is not null && exportSqlTo is null && !await SampleDatabase.EnsureAsync(connectionString, Console.Out, Console.Error))
{
    return 1;
}

// ----- Dermag.TokenRotation -----
var tokenRotation = builder.Services.AddRefreshTokenRotation(options =>
{
    options.Issuer = builder.Configuration["Dermag:Issuer"] ?? "der-mag-platform";
    options.Audience = builder.Configuration["Dermag:Audience"] ?? "der-mag-api";
    options.AccessSigningKeys.Add(keys.Access);
    options.RefreshSigningKeys.Add(keys.Refresh);
    builder.Configuration.GetSection("Dermag:TokenRotation").Bind(options); // e.g. Dermag__TokenRotation__ReuseGracePeriod=00:00:10
});
if (connectionString is null)
{
    tokenRotation.UseInMemoryStore();
}
else
{
    tokenRotation.UsePostgres(connectionString);
}

// ----- Dermag.BomTriggers -----
var bomTriggers = builder.Services.AddBomTriggers().AddExampleTriggers();
if (connectionString is null)
{
    bomTriggers.UseInMemoryStore();
}
else
{
    bomTriggers.UsePostgres(connectionString);
}

// The demo's cost recalculation runs queued: a durable job that a worker (in any instance) picks up at once.
builder.Services.AddHostedService<QueuedCostDemo>();

// The host's task/BOM domain implements the interfaces the built-in actions call: in memory, or on PostgreSQL in the
// app's own EF Core DbContext, with each request's trigger dispatch enlisted in its transaction (Tasks/).
builder.Services.AddSampleTasks(connectionString);

// Nothing here uses DataProtection (no cookies): an in-memory key ring, explained in Hosting/DataProtectionSetup.cs.
builder.Services.AddSampleDataProtection();

// ----- ASP.NET Core: JwtBearer through Dermag.TokenRotation.AspNetCore, role policies, JSON, OpenAPI -----
builder.AddSampleAuth(); // Auth/SampleAuth.cs: AddJwtBearer().UseTokenRotation(), demo users, rate limits
builder.Services.AddAuthorizationBuilder().AddSamplePolicies();
builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddOpenApi(options => options.AddDocumentTransformer<BearerSecurityTransformer>());
builder.Services.AddSampleDashboard(); // Dermag.BomTriggers.Dashboard at /bom-triggers (Dashboard/SampleDashboard.cs)

var app = builder.Build();

app.UseExceptionHandler(error => error.Run(async context =>
{
    var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
    var (status, code, message) = exception is BadHttpRequestException bad
        ? (bad.StatusCode, ErrorCodes.ValidationFailed, "The request body could not be read: " + bad.Message)
        : (StatusCodes.Status500InternalServerError, "INTERNAL_ERROR", "An unexpected error occurred.");
    context.Response.StatusCode = status;
    await context.Response.WriteAsJsonAsync(ApiResponse.Fail(code, message));
}));
app.UseSampleSecurityHeaders();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapOpenApi();
app.MapAuthEndpoints();
app.MapTriggerEndpoints();
app.MapJobEndpoints();
app.MapTaskEndpoints();
app.MapSampleDashboard();

if (exportSqlTo is not null)
{
    if (connectionString is null)
    {
        Console.Error.WriteLine("export-sql needs ConnectionStrings__Dermag: the script follows the app's PostgreSQL configuration (schema, options); nothing is connected.");
        return 2;
    }

    await File.WriteAllTextAsync(exportSqlTo, app.Services.GetRequiredService<DermagMigrations>().ExportScript());
    Console.WriteLine($"Wrote {exportSqlTo}. Apply it with: psql -v ON_ERROR_STOP=1 -f {exportSqlTo}");
    return 0;
}

if (keys.Generated)
{
    app.Logger.LogWarning(
        "WARNING: no signing keys configured (Dermag:AccessSigningKey, Dermag:RefreshSigningKey, base64, 32+ bytes). "
        + "Generated development keys for this run only: tokens stop working when the app restarts{AndOtherInstances}. Never run like this in production.",
        connectionString is null ? "" : ", and other instances on this database reject them as INVALID_TOKEN (give every instance the same keys)");
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    var url = addresses.FirstOrDefault() ?? "http://localhost:5080";
    var store = connectionString is null ? "in-memory stores" : "PostgreSQL";

    // Passwords go to the console only on a developer's machine; anywhere else logs are shipped and kept.
    var users = app.Environment.IsDevelopment()
        ? string.Join(", ", DemoUserStore.Accounts.Select(a => $"{a.Username} / {a.Password}"))
        : string.Join(", ", DemoUserStore.Accounts.Select(a => a.Username)) + " (passwords in the sample's README)";
    app.Logger.LogInformation("Dermag sample host started ({Store}). Open {Url} in a browser. Demo users: {Users}", store, url, users);
});

await app.RunAsync();
return 0;

/// <summary>The sample's entry point (public so the integration tests can host it).</summary>
public partial class Program;

/// <summary>The two signing keys, from configuration or generated for a development run.</summary>
internal sealed record SigningKeys(TokenSigningKey Access, TokenSigningKey Refresh, bool Generated)
{
    public static SigningKeys FromConfiguration(IConfiguration configuration)
    {
        var access = configuration["Dermag:AccessSigningKey"];
        var refresh = configuration["Dermag:RefreshSigningKey"];
        if (!string.IsNullOrEmpty(access) && !string.IsNullOrEmpty(refresh))
        {
            return new(TokenSigningKey.FromBase64("access-1", access), TokenSigningKey.FromBase64("refresh-1", refresh), Generated: false);
        }

        return new(
            new TokenSigningKey("dev-access", RandomNumberGenerator.GetBytes(32)),
            new TokenSigningKey("dev-refresh", RandomNumberGenerator.GetBytes(32)),
            Generated: true);
    }
}
