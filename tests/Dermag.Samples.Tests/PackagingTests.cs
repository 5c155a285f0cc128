using Dermag.BomTriggers;
using System.IO.Compression;
using Dermag.Samples.Tests.Infrastructure;

namespace Dermag.Samples.Tests;

/// <summary>
/// Packs the three src projects once per run (unique version, separate artifacts folder so the repo's bin/obj are
/// untouched) into a local feed that the packaging tests share.
/// </summary>
public sealed class PackageFeed : IAsyncLifetime
{
    public static readonly string[] Packages =
        ["Dermag.Migrations", "Dermag.TokenRotation", "Dermag.BomTriggers", "Dermag.TokenRotation.EntityFrameworkCore", "Dermag.BomTriggers.EntityFrameworkCore",
         "Dermag.TokenRotation.AspNetCore", "Dermag.BomTriggers.Dashboard"];

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "dermag-packaging-" + Guid.NewGuid().ToString("N")[..12]);

    public string Feed => Path.Combine(Root, "feed");

    public string Version { get; } = $"1.0.0-proof.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public string RepoRoot { get; } = FindRepoRootFrom(AppContext.BaseDirectory);

    /// <summary>The commit being packed (SourceLink and the nuspec's repository element name it).</summary>
    public string Commit { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        var (gitExit, head) = await ProcessRunner.RunAsync("git", ["rev-parse", "HEAD"], RepoRoot, TimeSpan.FromSeconds(30));
        gitExit.Should().Be(0, "the repository's HEAD names the packed commit:\n" + head);
        Commit = head.Trim();
        var solution = Path.Combine(Root, "pack.slnx");
        var projects = Packages.Select(p => $"  <Project Path=\"{Path.Combine(RepoRoot, "src", p, p + ".csproj")}\" />");
        await File.WriteAllTextAsync(solution, "<Solution>\n" + string.Join("\n", projects) + "\n</Solution>\n");

        var (exitCode, output) = await ProcessRunner.RunAsync(
            "dotnet",
            ["pack", solution, "-c", "Release", $"-p:Version={Version}", $"-p:PackageOutputPath={Feed}", "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(Root, "artifacts")}"],
            Root,
            TimeSpan.FromMinutes(4));
        exitCode.Should().Be(0, "dotnet pack must succeed:\n" + output);
    }

    public Task DisposeAsync()
    {
        // The proof restores the unique version into the global packages folder; remove it again.
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Packages)
        {
            TryDelete(Path.Combine(globalPackages, package.ToLowerInvariant(), Version));
        }

        TryDelete(Root);
        return Task.CompletedTask;
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static string FindRepoRootFrom(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dermag.Libraries.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Dermag.Libraries.sln not found above " + start);
    }
}

/// <summary>The packages work for an app that knows nothing of this repository: <c>dotnet add package</c>, one call each, run.</summary>
public sealed class PackagingTests(PackageFeed feed) : IClassFixture<PackageFeed>
{
    [Theory]
    [InlineData("Dermag.TokenRotation")]
    [InlineData("Dermag.BomTriggers")]
    [InlineData("Dermag.Migrations")]
    [InlineData("Dermag.TokenRotation.EntityFrameworkCore")]
    [InlineData("Dermag.BomTriggers.EntityFrameworkCore")]
    [InlineData("Dermag.TokenRotation.AspNetCore")]
    [InlineData("Dermag.BomTriggers.Dashboard")]
    public async Task Package_CarriesReadmeLicenseXmlDocsAndSymbols(string id)
    {
        var nupkg = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");
        File.Exists(nupkg).Should().BeTrue($"{nupkg} should have been packed");
        File.Exists(Path.ChangeExtension(nupkg, ".snupkg")).Should().BeTrue("a symbols package is produced");

        using var zip = ZipFile.OpenRead(nupkg);
        var entries = zip.Entries.Select(e => e.FullName).ToList();
        entries.Should().Contain("README.md");
        entries.Should().Contain($"lib/net10.0/{id}.dll");
        entries.Should().Contain($"lib/net10.0/{id}.xml");

        using var reader = new StreamReader(zip.GetEntry($"{id}.nuspec")!.Open());
        var nuspec = await reader.ReadToEndAsync();
        nuspec.Should().Contain("<license type=\"expression\">MIT</license>");
        nuspec.Should().Contain("<readme>README.md</readme>");
        nuspec.Should().MatchRegex("<description>.{20,}</description>");
        if (id is "Dermag.TokenRotation" or "Dermag.BomTriggers")
        {
            nuspec.Should().Contain($"<dependency id=\"Dermag.Migrations\" version=\"{feed.Version}\"");
            nuspec.Should().NotContain("Microsoft.EntityFrameworkCore", "EF Core support is its own package");
        }

        if (id.EndsWith(".EntityFrameworkCore", StringComparison.Ordinal))
        {
            nuspec.Should().Contain($"<dependency id=\"{id[..^".EntityFrameworkCore".Length]}\" version=\"{feed.Version}\"");
            nuspec.Should().Contain("<dependency id=\"Microsoft.EntityFrameworkCore.Relational\" version=\"10.0.0\"", "the lower bound is the lowest EF Core the packaging test builds with");
        }

        if (id == "Dermag.TokenRotation.AspNetCore")
        {
            nuspec.Should().Contain($"<dependency id=\"Dermag.TokenRotation\" version=\"{feed.Version}\"");
            nuspec.Should().Contain("<frameworkReference name=\"Microsoft.AspNetCore.App\"");
        }

        if (id == "Dermag.BomTriggers.Dashboard")
        {
            nuspec.Should().Contain($"<dependency id=\"Dermag.BomTriggers\" version=\"{feed.Version}\"");
            nuspec.Should().Contain("<frameworkReference name=\"Microsoft.AspNetCore.App\" />", "the app needs no package for ASP.NET Core itself");
            entries.Should().NotContain(e => e.StartsWith("contentFiles/", StringComparison.Ordinal) || e.StartsWith("staticwebassets/", StringComparison.Ordinal), "the UI is embedded in the assembly");
        }

        using var symbols = ZipFile.OpenRead(Path.ChangeExtension(nupkg, ".snupkg"));
        symbols.Entries.Select(e => e.FullName).Should().Contain($"lib/net10.0/{id}.pdb");
        SourceLinkOf(symbols.GetEntry($"lib/net10.0/{id}.pdb")!).Should().Contain(
            $"\"https://raw.githubusercontent.com/dermag/dermag-libraries/{feed.Commit}/*\"",
            "every build maps its sources to the canonical repository at the packed commit, whatever the clone's remote");
    }

    /// <summary>The SourceLink JSON stored in a portable PDB (custom debug information CC110556-A091-4D38-9FEC-25AB9A351A6A).</summary>
    private static string SourceLinkOf(ZipArchiveEntry pdb)
    {
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        using var buffer = new MemoryStream();
        using (var stream = pdb.Open())
        {
            stream.CopyTo(buffer);
        }

        buffer.Position = 0;
        using var provider = System.Reflection.Metadata.MetadataReaderProvider.FromPortablePdbStream(buffer);
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.CustomDebugInformation)
        {
            var info = reader.GetCustomDebugInformation(handle);
            if (reader.GetGuid(info.Kind) == sourceLinkKind)
            {
                return System.Text.Encoding.UTF8.GetString(reader.GetBlobBytes(info.Value));
            }
        }

        return "(no SourceLink in the PDB)";
    }

    [Fact]
    public async Task DotnetAddPackage_ThrowawayConsoleApp_IssuesRotatesAndDispatches()
    {
        var app = await CreateAppAsync("ProofApp", ProofProgram);

        await DotnetAsync(app, "add", "package", "Microsoft.Extensions.Hosting", "--version", "10.0.5", "--no-restore");
        await DotnetAsync(app, "add", "package", "Dermag.TokenRotation", "--version", feed.Version);
        await DotnetAsync(app, "add", "package", "Dermag.BomTriggers", "--version", feed.Version);
        var csproj = await File.ReadAllTextAsync(Path.Combine(app, "ProofApp.csproj"));
        csproj.Should().Contain($"Include=\"Dermag.TokenRotation\" Version=\"{feed.Version}\"").And.Contain($"Include=\"Dermag.BomTriggers\" Version=\"{feed.Version}\"");

        var output = await DotnetAsync(app, "run", "--no-restore");
        output.Should().Contain("issued: session ");
        output.Should().Contain("refresh: Rotated");
        output.Should().Contain("replay: ReuseDetected TOKEN_REUSE_ATTACK");
        output.Should().Contain("bom: added 100 m of Kabel UTP Cat6 to task 42");
        output.Should().Contain("cost: recalculated for task 42");
        output.Should().MatchRegex(@"dispatch: \d+ outcome\(s\), 2 executed");
        output.Should().Contain("done");
    }

    [Fact]
    public async Task DotnetAddPackage_AppOnEfCore10_0_0_RestoresWithoutDowngradeAndDispatchesInItsDbContext()
    {
        var app = await CreateAppAsync("EfProofApp", EfProofProgram);

        // An app pinned to the first EF Core 10 release: a higher lower bound in our packages would fail restore with NU1605.
        await DotnetAsync(app, "add", "package", "Microsoft.EntityFrameworkCore.InMemory", "--version", "10.0.0", "--no-restore");
        await DotnetAsync(app, "add", "package", "Microsoft.EntityFrameworkCore.Relational", "--version", "10.0.0", "--no-restore");
        await DotnetAsync(app, "add", "package", "Dermag.BomTriggers.EntityFrameworkCore", "--version", feed.Version, "--no-restore");
        await DotnetAsync(app, "add", "package", "Dermag.TokenRotation.EntityFrameworkCore", "--version", feed.Version, "--no-restore");
        await DotnetAsync(app, "restore");

        var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"));
        assets.Should().Contain("\"Microsoft.EntityFrameworkCore.Relational/10.0.0\"", "the app keeps the EF Core it chose");
        var output = await DotnetAsync(app, "run", "--no-restore");
        output.Should().Contain("enlisted dispatch: Executed").And.Contain("done");
    }

    [Fact]
    public async Task DotnetAddPackage_WebApp_UsesBearerAndEndpointsWithoutHandWrittenOptions_AndRefreshes()
    {
        var app = await CreateAppAsync("WebProofApp", WebProofProgram, sdk: "Microsoft.NET.Sdk.Web");

        await DotnetAsync(app, "add", "package", "Dermag.TokenRotation.AspNetCore", "--version", feed.Version);

        // JwtBearer 10 brings older IdentityModel packages than Dermag.TokenRotation; the app must end up with one version of the family.
        var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"));
        var identityModel = System.Text.RegularExpressions.Regex.Matches(assets, "\"((?:Microsoft|System)\\.IdentityModel\\.[A-Za-z.]+)/(\\d+\\.\\d+\\.\\d+)\"")
            .Select(m => (Name: m.Groups[1].Value, Version: m.Groups[2].Value))
            .Distinct()
            .ToList();
        identityModel.Select(p => p.Name).Should().Contain("Microsoft.IdentityModel.Protocols.OpenIdConnect");
        identityModel.Select(p => p.Version).Distinct().Should().ContainSingle($"one IdentityModel version: {string.Join(", ", identityModel)}");

        var output = await DotnetAsync(app, "run", "--no-restore");
        output.Should().Contain("no token: 401 NO_TOKEN");
        output.Should().Contain("me: 200 user-1");
        output.Should().Contain("refresh: 200 rotated");
        output.Should().Contain("me after refresh: 200 user-1");
        output.Should().Contain("replay: 401 TOKEN_REUSE_ATTACK");
        output.Should().Contain("tampered: 401 INVALID_TOKEN");
        output.Should().Contain("done");
    }

    // A web app a new user writes with Dermag.TokenRotation.AspNetCore: no JwtBearer options, no middleware of its own;
    // its login is the only endpoint it writes. It calls itself over HTTP on a free port.
    private const string WebProofProgram = """
        using System.Net.Http.Headers;
        using System.Net.Http.Json;
        using System.Security.Cryptography;
        using System.Text.Json;
        using Dermag.TokenRotation;
        using Dermag.TokenRotation.AspNetCore;
        using Microsoft.AspNetCore.Hosting.Server;
        using Microsoft.AspNetCore.Hosting.Server.Features;

        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = "web-proof";
            o.Audience = "web-proof-api";
            o.AccessSigningKeys.Add(new TokenSigningKey("access-1", RandomNumberGenerator.GetBytes(32)));
            o.RefreshSigningKeys.Add(new TokenSigningKey("refresh-1", RandomNumberGenerator.GetBytes(32)));
        }).UseInMemoryStore();
        builder.Services.AddAuthentication().AddJwtBearer().UseTokenRotation(o => o.ParanoidMode = true);
        builder.Services.AddAuthorization();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        var auth = app.MapTokenRotationEndpoints("/auth");
        auth.MapPost("/login", async (IRefreshTokenManager tokens, HttpContext http) => TokenRotationResults.Tokens(await tokens.IssueAsync("user-1", http.GetSessionContext())));
        app.MapGet("/me", (HttpContext http) => http.User.FindFirst("sub")?.Value).RequireAuthorization();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var noToken = await http.GetAsync("/me");
        Console.WriteLine($"no token: {(int)noToken.StatusCode} {await Code(noToken)}");

        var login = await (await http.PostAsync("/auth/login", null)).Content.ReadFromJsonAsync<JsonElement>();
        var me = await Get("/me", login.GetProperty("accessToken").GetString()!);
        Console.WriteLine($"me: {(int)me.StatusCode} {await me.Content.ReadAsStringAsync()}");

        var refresh = await http.PostAsJsonAsync("/auth/refresh", new { refreshToken = login.GetProperty("refreshToken").GetString() });
        var rotated = await refresh.Content.ReadFromJsonAsync<JsonElement>();
        var changed = rotated.GetProperty("refreshToken").GetString() != login.GetProperty("refreshToken").GetString();
        Console.WriteLine($"refresh: {(int)refresh.StatusCode} {(changed ? "rotated" : "same")}");
        var meAfter = await Get("/me", rotated.GetProperty("accessToken").GetString()!);
        Console.WriteLine($"me after refresh: {(int)meAfter.StatusCode} {await meAfter.Content.ReadAsStringAsync()}");

        var replay = await http.PostAsJsonAsync("/auth/refresh", new { refreshToken = login.GetProperty("refreshToken").GetString() });
        Console.WriteLine($"replay: {(int)replay.StatusCode} {await Code(replay)}");

        var tampered = await Get("/me", rotated.GetProperty("accessToken").GetString()! + "x");
        Console.WriteLine($"tampered: {(int)tampered.StatusCode} {await Code(tampered)}");

        await app.StopAsync();
        Console.WriteLine("done");

        async Task<HttpResponseMessage> Get(string path, string accessToken)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            return await http.SendAsync(request);
        }

        static async Task<string?> Code(HttpResponseMessage response) =>
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        """;

    [Fact]
    public async Task DotnetAddPackage_WebApp_MountsTheDashboardInOneLine_ServesPageAssetsAndApi()
    {
        var app = await CreateAppAsync("DashboardProofApp", DashboardProofProgram);

        await DotnetAsync(app, "add", "package", "Dermag.BomTriggers.Dashboard", "--version", feed.Version);
        var output = await DotnetAsync(app, "run", "--no-restore");

        output.Should().Contain("page: 200 text/html");
        output.Should().Contain("csp: default-src 'none'; script-src 'self'");
        output.Should().Contain("script: 200 text/javascript");
        output.Should().Contain("triggers: 200 {\"total\":3,");
        output.Should().Contain("anonymous: 401");
        output.Should().Contain("done");
    }

    // A web app a new user writes: AddBomTriggers, AddBomTriggersDashboard, one mount line behind its own policy.
    private const string DashboardProofProgram = """
        using System.Security.Claims;
        using System.Text.Encodings.Web;
        using Microsoft.AspNetCore.Authentication;
        using Microsoft.AspNetCore.Builder;
        using Microsoft.AspNetCore.Hosting;
        using Microsoft.AspNetCore.Hosting.Server;
        using Microsoft.AspNetCore.Hosting.Server.Features;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Logging;
        using Microsoft.Extensions.Options;

        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddBomTriggers().UseInMemoryStore().AddExampleTriggers();
        builder.Services.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, HeaderAuth>("header", null);
        builder.Services.AddAuthorizationBuilder().AddPolicy("bom-admin", p => p.RequireRole("admin"));
        builder.Services.AddBomTriggersDashboard(options => options.EditPolicy = "bom-admin");

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapBomTriggersDashboard("/bom-triggers").RequireAuthorization("bom-admin");
        await app.StartAsync();

        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(url + "/bom-triggers/") };
        http.DefaultRequestHeaders.Add("X-User", "admin");
        var page = await http.GetAsync("");
        Console.WriteLine($"page: {(int)page.StatusCode} {page.Content.Headers.ContentType?.MediaType}");
        Console.WriteLine($"csp: {page.Headers.GetValues("Content-Security-Policy").Single()}");
        var script = await http.GetAsync("assets/dashboard.js");
        Console.WriteLine($"script: {(int)script.StatusCode} {script.Content.Headers.ContentType?.MediaType}");
        var triggers = await http.GetAsync("api/triggers");
        Console.WriteLine($"triggers: {(int)triggers.StatusCode} {await triggers.Content.ReadAsStringAsync()}");
        using var anonymous = new HttpClient { BaseAddress = new Uri(url + "/bom-triggers/") };
        Console.WriteLine($"anonymous: {(int)(await anonymous.GetAsync("api/meta")).StatusCode}");
        await app.StopAsync();
        Console.WriteLine("done");

        internal sealed class HeaderAuth(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
            : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
        {
            protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
                Task.FromResult(Request.Headers["X-User"].FirstOrDefault() is { Length: > 0 } user
                    ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim(ClaimTypes.Role, user)], "header")), "header"))
                    : AuthenticateResult.NoResult());
        }
        """;

    // An EF Core app: the action reaches the caller's DbContext through the enlistment.
    private const string EfProofProgram = """
        using System.Text.Json;
        using System.Text.Json.Nodes;
        using Dermag.BomTriggers;
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;

        var services = new ServiceCollection();
        services.AddBomTriggers().UseInMemoryStore().AddAction<CountingAction>("COUNT_IN_DBCONTEXT");
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<IBomTriggerManager>();
        var saved = await manager.CreateAsync(new BomTriggerDefinition
        {
            Name = "count",
            TriggerEvent = BomTriggerEvents.TaskCreate,
            ActionType = "COUNT_IN_DBCONTEXT",
        });
        Console.WriteLine($"saved: {saved.Succeeded}");

        await using var db = new AppDb(new DbContextOptionsBuilder<AppDb>().UseInMemoryDatabase("proof").Options);
        var report = await provider.GetRequiredService<IBomTriggerEngine>().DispatchAsync(db, BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 7, null, new JsonObject()));
        Console.WriteLine($"enlisted dispatch: {report.Outcomes.Single().Kind} {report.Outcomes.Single().Error}");
        Console.WriteLine("done");

        internal sealed class AppDb(DbContextOptions<AppDb> options) : DbContext(options);

        internal sealed class CountingAction : IBomTriggerAction, IBomActionDescription
        {
            public static string Description => "Uses the caller's DbContext.";
            public static IReadOnlyList<ActionConfigField> ConfigFields => [];
            public static IReadOnlyList<string> CausedEvents => [];
            public void ValidateConfig(JsonElement config, ActionConfigValidationContext context) { }
            public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
            {
                _ = context.GetDbContext<AppDb>();
                return Task.FromResult(ActionResult.Empty);
            }
        }
        """;

    /// <summary>A console app a new user would create: the local feed first, then nuget.org; warnings are errors.</summary>
    private async Task<string> CreateAppAsync(string name, string program, string sdk = "Microsoft.NET.Sdk")
    {
        var app = Path.Combine(feed.Root, name);
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, name + ".csproj"), $$"""
            <Project Sdk="{{sdk}}">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        return app;
    }

    private static async Task<string> DotnetAsync(string workingDirectory, params string[] arguments)
    {
        var (exitCode, output) = await ProcessRunner.RunAsync("dotnet", arguments, workingDirectory, TimeSpan.FromMinutes(3));
        exitCode.Should().Be(0, $"dotnet {string.Join(' ', arguments)} must succeed:\n{output}");
        return output;
    }

    // The whole app a new user writes: one call per library, the in-memory stores, three small host interfaces.
    private const string ProofProgram = """
        using System.Security.Cryptography;
        using System.Text.Json.Nodes;
        using Dermag.BomTriggers;
        using Dermag.TokenRotation;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Microsoft.Extensions.Logging;

        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.ClearProviders();

        builder.Services.AddRefreshTokenRotation(options =>
        {
            options.Issuer = "proof-app";
            options.Audience = "proof-api";
            options.AccessSigningKeys.Add(new TokenSigningKey("access-1", RandomNumberGenerator.GetBytes(32)));
            options.RefreshSigningKeys.Add(new TokenSigningKey("refresh-1", RandomNumberGenerator.GetBytes(32)));
        }).UseInMemoryStore();

        builder.Services.AddBomTriggers().UseInMemoryStore().AddExampleTriggers();
        builder.Services.AddSingleton<ConsoleBom>();
        builder.Services.AddSingleton<IBomEditor>(sp => sp.GetRequiredService<ConsoleBom>());
        builder.Services.AddSingleton<IBomCostCalculator>(sp => sp.GetRequiredService<ConsoleBom>());

        using var host = builder.Build();
        await host.StartAsync();

        var tokens = host.Services.GetRequiredService<IRefreshTokenManager>();
        var pair = await tokens.IssueAsync("user-1", new SessionContext("127.0.0.1", "proof"));
        Console.WriteLine($"issued: session {pair.SessionId}");
        var refreshed = await tokens.RefreshAsync(pair.RefreshToken);
        Console.WriteLine($"refresh: {refreshed.Status}");
        var replay = await tokens.RefreshAsync(pair.RefreshToken);
        Console.WriteLine($"replay: {replay.Status} {replay.ErrorCode}");

        var engine = host.Services.GetRequiredService<IBomTriggerEngine>();
        var report = await engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 42, 1, new JsonObject { ["taskTypeCode"] = "LAN" }));
        Console.WriteLine($"dispatch: {report.Outcomes.Count} outcome(s), {report.OfKind(TriggerOutcomeKind.Executed).Count()} executed");

        await host.StopAsync();
        Console.WriteLine("done");

        internal sealed class ConsoleBom : IBomEditor, IBomCostCalculator
        {
            public Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken)
            {
                Console.WriteLine($"bom: added {request.Quantity} {request.Unit} of {request.MaterialName} to task {request.TaskId}");
                return Task.CompletedTask;
            }

            public Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken) =>
                Task.FromResult(new QuantityChange(null, request.Quantity ?? 0));

            public Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken) => Task.FromResult(0);

            public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken)
            {
                Console.WriteLine($"cost: recalculated for task {request.TaskId}");
                return Task.FromResult(280m);
            }
        }
        """;
}
