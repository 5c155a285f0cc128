using System.Globalization;
using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Reliability.Tests;

/// <summary>
/// Lets <see cref="PgBouncer.PgBouncerTests"/> start this assembly as separate migrator processes:
/// <c>dotnet Dermag.Reliability.Tests.dll migrate &lt;connection string&gt; &lt;schema&gt;</c> applies the migrations of both
/// libraries (one shared history table) and prints how many scripts this process applied.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["migrate", var connectionString, var schema])
        {
            await Console.Error.WriteLineAsync("usage: migrate <connection string> <schema>");
            return 2;
        }

        var services = new ServiceCollection();
        services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = "migrator";
            o.Audience = "migrator";
            o.AccessSigningKeys.Add(new Dermag.TokenRotation.TokenSigningKey("a", new byte[32]));
            o.RefreshSigningKeys.Add(new Dermag.TokenRotation.TokenSigningKey("r", Enumerable.Repeat((byte)1, 32).ToArray()));
        }).UsePostgres(connectionString, o => o.Schema = schema);
        services.AddBomTriggers().UsePostgres(connectionString, o => o.Schema = schema);
        await using var provider = services.BuildServiceProvider();
        var results = await provider.GetRequiredService<DermagMigrations>().MigrateAsync();
        Console.WriteLine(results.Sum(r => r.Applied.Count).ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}
