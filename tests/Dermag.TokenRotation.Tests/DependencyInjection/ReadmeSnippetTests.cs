using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dermag.TokenRotation.Tests.DependencyInjection;

/// <summary>The README's usage snippet, compiled and run; keep the two in sync.</summary>
public sealed class ReadmeSnippetTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task ReadmeSnippet_LoginRefreshReuseLogout_Works()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var connectionString = database.ConnectionString;
        var accessKeyBase64 = Convert.ToBase64String(TestSetup.Key("k", 1).Key);
        var refreshKeyBase64 = Convert.ToBase64String(TestSetup.Key("k", 2).Key);

        // README: begin
        builder.Services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = "der-mag-platform";
            o.Audience = "der-mag-api";
            o.AccessSigningKeys.Add(TokenSigningKey.FromBase64("access-2025-01", accessKeyBase64));
            o.RefreshSigningKeys.Add(TokenSigningKey.FromBase64("refresh-2025-01", refreshKeyBase64));
            o.ReuseGracePeriod = TimeSpan.FromSeconds(10);
        })
        .UsePostgres(connectionString, pg => pg.UserIdType = UserIdColumnType.Integer)
        .AddPeriodicCleanup();

        using var host = builder.Build();
        await host.StartAsync(); // applies the migrations, fails fast on bad options

        var tokens = host.Services.GetRequiredService<IRefreshTokenManager>();
        var pair = await tokens.IssueAsync("42", new SessionContext("203.0.113.7", "Firefox"));
        var result = await tokens.RefreshAsync(pair.RefreshToken);
        if (result.Succeeded)
        {
            pair = result.Tokens; // else answer 401 with result.ErrorCode (TOKEN_REUSE_ATTACK, TOKEN_REVOKED, ...)
        }

        var sessions = await tokens.ListSessionsAsync("42");
        var revokedCount = await tokens.RevokeAllSessionsAsync("42", exceptSessionId: pair.SessionId);
        await tokens.LogoutAsync(pair.RefreshToken);
        // README: end

        result.Status.Should().Be(RefreshStatus.Rotated);
        sessions.Should().ContainSingle();
        revokedCount.Should().Be(0);
        (await tokens.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse();
        await host.StopAsync();
    }
}
