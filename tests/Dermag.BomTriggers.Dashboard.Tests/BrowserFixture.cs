using Microsoft.Playwright;

namespace Dermag.BomTriggers.Dashboard.Tests;

/// <summary>
/// Headless Chromium (Debian's <c>/usr/bin/chromium</c>, driven by Playwright through <c>ExecutablePath</c>; no
/// <c>playwright install</c>), one per test class. Fails with a clear message when the browser is missing.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"The dashboard browser tests need Chromium at {ChromiumPath} (Debian package 'chromium'; CI installs it). They drive it through Playwright's ExecutablePath; 'playwright install' is not used.");
        }

        // Assertions wait on their own clock (5 s by default), not the page timeout; a loaded CI machine needs the same 15 s.
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>The repository's docs folder, where the test run writes the README's screenshots.</summary>
    public static string DocsDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dermag.Libraries.sln")))
                {
                    return Path.Combine(dir.FullName, "docs");
                }
            }

            throw new InvalidOperationException("Dermag.Libraries.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
