using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Samples.Tests.Infrastructure;

/// <summary>The sample host in memory (TestServer), configured like a plain <c>dotnet run</c> unless a test adds settings.</summary>
public class SampleHostFactory : WebApplicationFactory<Program>
{
    // Every test of a class shares one client address (TestServer has none): lift the sample's per-IP login and refresh
    // limits out of the way; AuthHardeningTests set low ones to prove 429.
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Dermag:RateLimits:Login:PermitLimit"] = "100000",
        ["Dermag:RateLimits:Refresh:PermitLimit"] = "100000",
    };
    private readonly List<Action<IServiceCollection>> _services = [];

    /// <summary>Adds a configuration setting (for example <c>ConnectionStrings:Dermag</c>) before the host starts.</summary>
    public SampleHostFactory WithSetting(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    /// <summary>Replaces services before the host starts.</summary>
    public SampleHostFactory WithServices(Action<IServiceCollection> configure)
    {
        _services.Add(configure);
        return this;
    }

    /// <summary>An API client for this host.</summary>
    public ApiClient Api() => new(CreateClient());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("urls", "http://127.0.0.1:0");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            foreach (var configure in _services)
            {
                configure(services);
            }
        });
    }
}
