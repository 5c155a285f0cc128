using System.Security.Cryptography;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dermag.Benchmarks.Scenarios;

internal static class TokenHost
{
    /// <summary>A provider with the token service on PostgreSQL (schema public of <paramref name="connectionString"/>), migrated, logging off.</summary>
    public static async Task<ServiceProvider> StartAsync(string connectionString, Action<RefreshTokenRotationOptions>? configure = null, Action<PostgresTokenStoreOptions>? postgres = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.None));
        services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = "der-mag-platform";
            o.Audience = "der-mag-api";
            o.AccessSigningKeys.Add(new TokenSigningKey("access-1", RandomNumberGenerator.GetBytes(32)));
            o.RefreshSigningKeys.Add(new TokenSigningKey("refresh-1", RandomNumberGenerator.GetBytes(32)));
            configure?.Invoke(o);
        }).UsePostgres(connectionString, o => postgres?.Invoke(o));
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<Dermag.Migrations.DermagMigrations>().MigrateAsync();
        return provider;
    }
}
