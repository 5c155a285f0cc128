using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dermag.Testing;
using Dermag.TokenRotation.AspNetCore;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;

/// <summary>What a test host is made of; every part has the plain default a new app would have.</summary>
internal sealed class TestAppOptions
{
    public Action<TokenRotationBearerOptions>? Bearer { get; set; }

    public Action<TokenRotationEndpointOptions>? Endpoints { get; set; }

    public Action<JwtBearerOptions>? JwtBearer { get; set; }

    public Action<IServiceCollection>? Services { get; set; }

    public Action<WebApplication>? BeforeEndpoints { get; set; }

    public string? PostgresConnectionString { get; set; }

    public FakeTimeProvider? Clock { get; set; }

    /// <summary>Whether the JwtBearer scheme is wired with <c>UseTokenRotation()</c>; an app that forgets it is a test case.</summary>
    public bool UseTokenRotation { get; set; } = true;
}

/// <summary>
/// A minimal app on TestServer written the way the package means it: AddJwtBearer().UseTokenRotation(), MapTokenRotationEndpoints()
/// and a login of its own on the returned group. <c>GET /me</c> is a protected endpoint.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, FakeTimeProvider clock, CapturedLogs logs)
    {
        App = app;
        Clock = clock;
        Logs = logs;
    }

    public WebApplication App { get; }

    public FakeTimeProvider Clock { get; }

    /// <summary>Every log entry of the host, at every level: message and each structured value, for asserting that no token is ever logged.</summary>
    public CapturedLogs Logs { get; }

    public IServiceProvider Services => App.Services;

    public static async Task<TestApp> StartAsync(Action<TestAppOptions>? configure = null)
    {
        var options = new TestAppOptions();
        configure?.Invoke(options);
        var clock = options.Clock ?? new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new CapturedLogs();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs);
        builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
        var tokens = builder.Services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = "test-issuer";
            o.Audience = "test-api";
            o.AccessSigningKeys.Add(new TokenSigningKey("access-1", HandMadeJwt.AccessKey));
            o.RefreshSigningKeys.Add(new TokenSigningKey("refresh-1", [.. Enumerable.Range(0, 32).Select(i => (byte)(i + 101))]));
        });
        if (options.PostgresConnectionString is { } connectionString)
        {
            tokens.UsePostgres(connectionString);
        }
        else
        {
            tokens.UseInMemoryStore();
        }

        var authentication = builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme);
        if (options.JwtBearer is { } jwt)
        {
            authentication.AddJwtBearer(jwt);
        }
        else
        {
            authentication.AddJwtBearer();
        }

        if (options.UseTokenRotation)
        {
            authentication.UseTokenRotation(options.Bearer);
        }

        builder.Services.AddAuthorization();
        options.Services?.Invoke(builder.Services);

        var app = builder.Build();
        options.BeforeEndpoints?.Invoke(app);
        app.UseAuthentication();
        app.UseAuthorization();
        var group = app.MapTokenRotationEndpoints("/auth", options.Endpoints);
        group.MapPost("/login", async (HttpContext http, IRefreshTokenManager manager) =>
        {
            var user = http.Request.Query["user"].ToString();
            return TokenRotationResults.Tokens(await manager.IssueAsync(user, new SessionContext("127.0.0.1", "tests")), "Logged in.");
        });
        app.MapGet("/me", (HttpContext http) => new { sub = http.User.FindFirst("sub")?.Value, sid = http.User.FindFirst("sid")?.Value }).RequireAuthorization();
        app.MapGet("/admin", () => "secret").RequireAuthorization(p => p.RequireRole("admin"));
        await app.StartAsync();
        return new TestApp(app, clock, logs);
    }

    public HttpClient Client(string? accessToken = null)
    {
        var client = App.GetTestClient();
        client.BaseAddress = new Uri("https://localhost");
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    /// <summary>Logs <paramref name="user"/> in through the app's own login and returns the response body (the token pair).</summary>
    public async Task<(HttpResponseMessage Response, JsonElement Tokens)> LoginAsync(string user = "user-1")
    {
        using var client = Client();
        var response = await client.PostAsync($"/auth/login?user={user}", null);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await Json(response);
        return (response, body.TryGetProperty("data", out var data) ? data : body);
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static JsonContent Body(object value) => JsonContent.Create(value);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
