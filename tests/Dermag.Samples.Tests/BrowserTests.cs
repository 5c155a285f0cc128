using Dermag.Samples.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dermag.Samples.Tests;

/// <summary>
/// The browser page in real headless Chromium (Debian's <c>chromium</c>, driven by Playwright through
/// <c>ExecutablePath</c>; no <c>playwright install</c>). The host runs on Kestrel at a free 127.0.0.1 port, because a
/// browser cannot reach the in-memory TestServer.
/// </summary>
public sealed class BrowserTests : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private readonly SampleHostFactory _factory = new();
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private string _baseUrl = string.Empty;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"The browser test needs Chromium at {ChromiumPath} (Debian package 'chromium'; .ci/run installs it).");
        }

        _factory.UseKestrel();
        _factory.StartServer();
        _baseUrl = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        // Assertions wait on their own clock (5 s by default), not the page timeout; a loaded CI machine needs the same 15 s.
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task Page_LogIn_CreateLanTask_ShowsCableInBom_ThenReplayIsCaught()
    {
        var page = await _browser!.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add(message.Text);
                }
            }
        };

        // Every Content-Security-Policy violation of the page, as the browser reports it (the init script is injected by
        // the test tool, so the policy does not apply to it).
        await page.AddInitScriptAsync("""
            window.__cspViolations = [];
            document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
            """);

        await page.GotoAsync(_baseUrl);
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", "Admin123!");
        await page.ClickAsync("#login-btn");
        await Expect(page.Locator("#current-user")).ToHaveTextAsync("admin");

        // The seed triggers are listed once logged in.
        await Expect(page.Locator("#triggers-table tbody")).ToContainTextAsync("Auto-add UTP cable to LAN tasks");

        await page.FillAsync("#task-title", "Browser LAN task");
        await page.SelectOptionAsync("#task-type", "LAN");
        await page.ClickAsync("#create-task-btn");

        var cableRow = page.Locator("#task-bom tbody tr", new PageLocatorOptions { HasText = "Kabel UTP Cat6" });
        await Expect(cableRow).ToHaveCountAsync(1);
        await Expect(cableRow.Locator("td").Nth(2)).ToHaveTextAsync("100");
        await Expect(cableRow.Locator("td").Nth(3)).ToHaveTextAsync("m");
        await Expect(page.Locator("#task-cost-value")).ToHaveTextAsync("280.00");
        await Expect(page.Locator("#task-runs tbody")).ToContainTextAsync("Executed");
        if (Environment.GetEnvironmentVariable("DERMAG_SCREENSHOT_DIR") is { Length: > 0 } screenshots)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "sample-lan-task.png"), FullPage = true });
        }

        // An invalid trigger is refused with the path of every error.
        await page.FillAsync("#trigger-condition", "{\"taskTypeCode\": 5}");
        await page.FillAsync("#trigger-config", "{\"defaultQuantity\": -1}");
        await page.ClickAsync("#create-trigger-btn");
        await Expect(page.Locator("#trigger-result")).ToContainTextAsync("/triggerCondition/taskTypeCode");
        await Expect(page.Locator("#trigger-result")).ToContainTextAsync("/actionConfig/materialName");

        // Simulate a stolen refresh token being replayed after the user rotated it.
        await page.ClickAsync("#replay-btn");
        await Expect(page.Locator("#auth-result")).ToContainTextAsync("TOKEN_REUSE_ATTACK");
        await Expect(page.Locator("#whoami")).ToHaveTextAsync("Not logged in.");

        errors.Should().BeEmpty();
        (await page.EvaluateAsync<string[]>("window.__cspViolations")).Should().BeEmpty("the page works under its Content-Security-Policy");
        lock (consoleErrors)
        {
            consoleErrors.Should().NotContain(m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
        }

        // The policy is enforced (so the empty list above means something): an inline style attribute is refused.
        await page.EvaluateAsync("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">inline</div>')");
        await page.WaitForFunctionAsync("window.__cspViolations.length > 0");
        (await page.EvaluateAsync<string[]>("window.__cspViolations")).Should().ContainSingle().Which.Should().StartWith("style-src");
    }

    [Theory]
    [InlineData("manager", "Manager123!", "can edit")]
    [InlineData("bom_editor", "Editor123!", "read-only")]
    public async Task Page_DashboardLink_OpensTheMountedDashboard_EditOrReadOnlyByRole(string user, string password, string mode)
    {
        var page = await _browser!.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        // Without logging in, the link explains instead of navigating; the dashboard itself sends the browser back.
        await page.GotoAsync(_baseUrl);
        await page.ClickAsync("#dashboard-link");
        await Expect(page.Locator("#auth-result")).ToContainTextAsync("Log in first");
        var direct = await page.GotoAsync(_baseUrl.TrimEnd('/') + "/bom-triggers/");
        direct!.Url.Should().NotContain("/bom-triggers");

        await page.FillAsync("#username", user);
        await page.FillAsync("#password", password);
        await page.ClickAsync("#login-btn");
        await Expect(page.Locator("#current-user")).ToHaveTextAsync(user);
        await page.ClickAsync("#dashboard-link");

        await Expect(page.Locator("#mode")).ToHaveTextAsync(mode);
        await Expect(page.Locator("#triggers-table tbody")).ToContainTextAsync("Auto-add UTP cable to LAN tasks");
        await Expect(page.Locator("#triggers-table tbody .toggle").First).ToBeEnabledAsync(new() { Enabled = mode == "can edit" });
        errors.Should().BeEmpty();
    }
}
