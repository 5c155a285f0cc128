using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Dermag.BomTriggers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers.Dashboard.Tests;

/// <summary>
/// An app that mounts the dashboard the way the README shows, on Kestrel at a free 127.0.0.1 port (a browser cannot reach
/// an in-memory TestServer), with in-memory stores. Who the caller is comes from the <c>test-user</c> cookie or the
/// <c>X-Test-User</c> header (admin, manager, bom_editor, technician); the role is the user name.
/// </summary>
public sealed class DashboardHost : IAsyncDisposable
{
    private DashboardHost(WebApplication app, string baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
    }

    public WebApplication App { get; }

    /// <summary>The server root, for example http://127.0.0.1:41234 (no trailing slash).</summary>
    public string BaseUrl { get; }

    public string DashboardUrl => BaseUrl + "/bom-triggers/";

    public IBomTriggerManager Manager => App.Services.GetRequiredService<IBomTriggerManager>();

    public IBomTriggerEngine Engine => App.Services.GetRequiredService<IBomTriggerEngine>();

    public IBomTriggerJobManager Jobs => App.Services.GetRequiredService<IBomTriggerJobManager>();

    public static async Task<DashboardHost> StartAsync(Action<BomTriggersBuilder>? configure = null, Action<BomTriggersDashboardOptions>? dashboard = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<FakeBom>();
        builder.Services.AddSingleton<IBomEditor>(sp => sp.GetRequiredService<FakeBom>());
        builder.Services.AddSingleton<IBomCostCalculator>(sp => sp.GetRequiredService<FakeBom>());
        builder.Services.AddSingleton<IBomNotificationSender>(sp => sp.GetRequiredService<FakeBom>());
        builder.Services.AddSingleton<IBomEventDataProvider>(sp => sp.GetRequiredService<FakeBom>());
        var triggers = builder.Services.AddBomTriggers(o => o.WorkerCount = 1).UseInMemoryStore();
        configure?.Invoke(triggers);
        builder.Services.AddAuthentication("test").AddScheme<AuthenticationSchemeOptions, TestUserHandler>("test", null);
        if (dashboard is not null)
        {
            builder.Services.Configure(dashboard);
        }

        // What the package README shows (ReadmeSnippetTests checks it is copied from here): one services call, one mount line.
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy("bom-triggers:view", p => p.RequireRole("admin", "manager", "bom_editor"))
            .AddPolicy("bom-triggers:manage", p => p.RequireRole("admin", "manager"));
        builder.Services.AddBomTriggersDashboard(options => options.EditPolicy = "bom-triggers:manage");

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapBomTriggersDashboard("/bom-triggers").RequireAuthorization("bom-triggers:view");

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardHost(app, address.TrimEnd('/'));
    }

    /// <summary>A client that keeps cookies (the antiforgery cookie) and sends <paramref name="user"/> as the caller.</summary>
    public HttpClient Client(string? user)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        var client = new HttpClient(handler) { BaseAddress = new Uri(DashboardUrl) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Add("X-Test-User", user);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private sealed class TestUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers["X-Test-User"].FirstOrDefault() ?? Request.Cookies["test-user"];
            if (string.IsNullOrEmpty(user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, user), new Claim(ClaimTypes.Role, user), new Claim(ClaimTypes.NameIdentifier, (user.Length + 100).ToString(System.Globalization.CultureInfo.InvariantCulture))],
                Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}

/// <summary>The host's BOM: remembers what actions did; a material named "explode" fails.</summary>
public sealed class FakeBom : IBomEditor, IBomCostCalculator, IBomNotificationSender, IBomEventDataProvider
{
    public Task<System.Text.Json.JsonElement?> GetCurrentDataAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken) =>
        Task.FromResult<System.Text.Json.JsonElement?>(triggerEvent.Data);

    public List<string> Calls { get; } = [];

    public Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken)
    {
        if (request.MaterialName == "explode")
        {
            throw new InvalidOperationException("The BOM refused the material 'explode'.");
        }

        lock (Calls)
        {
            Calls.Add($"add {request.MaterialName} to {request.TaskId}");
        }

        return Task.CompletedTask;
    }

    public Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new QuantityChange(null, request.Quantity ?? 0));

    public Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add($"cost {request.TaskId}");
        }

        return Task.FromResult(10m);
    }

    public Task SendAsync(BomNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;
}
