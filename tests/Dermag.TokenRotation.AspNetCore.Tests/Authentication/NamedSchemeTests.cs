using System.Net;
using System.Security.Cryptography;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.TokenRotation.AspNetCore.Tests.Authentication;

public sealed class NamedSchemeTests
{
    [Fact]
    public async Task UseTokenRotation_OnANamedScheme_ConfiguresThatSchemeOnly()
    {
        await using var app = await TestApp.StartAsync(o => o.Services = s => s.AddAuthentication()
            .AddJwtBearer("partner", jwt => jwt.Authority = null)
            .AddJwtBearer("ours-too")
            .UseTokenRotation("ours-too", b => b.ParanoidMode = true));
        var monitor = app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>();
        var expected = app.Services.GetRequiredService<IRefreshTokenManager>().CreateAccessTokenValidationParameters();

        monitor.Get("partner").TokenValidationParameters.ValidIssuer.Should().BeNull("a scheme UseTokenRotation was not called for is left alone");
        monitor.Get("partner").Events.Should().NotBeOfType<TokenRotationBearerEvents>();
        monitor.Get("ours-too").TokenValidationParameters.ValidIssuer.Should().Be(expected.ValidIssuer);
        monitor.Get("ours-too").MapInboundClaims.Should().BeFalse();
        monitor.Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters.IssuerSigningKeys.Should().HaveCount(1);
        app.Services.GetRequiredService<IOptionsMonitor<TokenRotationBearerOptions>>().Get("ours-too").ParanoidMode.Should().BeTrue();
        app.Services.GetRequiredService<IOptionsMonitor<TokenRotationBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme).ParanoidMode.Should().BeFalse();
    }

    [Fact]
    public async Task AppEventsType_IsResolvedPerRequest_AndStillRuns()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.JwtBearer = jwt => jwt.EventsType = typeof(CountingEvents);
            o.Services = s => s.AddSingleton<CountingEvents>();
        });
        var (_, tokens) = await app.LoginAsync();
        using var client = app.Client(tokens.GetProperty("accessToken").GetString());

        (await client.GetAsync("/me")).StatusCode.Should().Be(HttpStatusCode.OK);

        app.Services.GetRequiredService<CountingEvents>().Validated.Should().Be(1);
    }

    [Fact]
    public async Task PartnerSchemeToken_WithTheLocalUsersSubAndSid_CannotListOrRevokeTheirSessions()
    {
        // The app accepts a partner identity provider's tokens too (its default policy names both schemes); the partner's
        // user "42" is not the token service's user "42".
        var partnerKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32));
        await using var app = await TestApp.StartAsync(o => o.Services = s =>
        {
            s.AddAuthentication().AddJwtBearer("partner", j => j.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = "https://partner-idp",
                ValidAudience = "test-api",
                IssuerSigningKey = partnerKey,
            });
            s.AddAuthorization(a => a.DefaultPolicy = new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme, "partner")
                .RequireAuthenticatedUser().Build());
        });
        var (_, first) = await app.LoginAsync("42");
        var (_, second) = await app.LoginAsync("42");
        var victimSession = first.GetProperty("sessionId").GetGuid();
        var now = app.Clock.GetUtcNow().UtcDateTime;
        var partnerToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://partner-idp",
            Audience = "test-api",
            Claims = new Dictionary<string, object> { ["sub"] = "42", ["sid"] = victimSession.ToString() },
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(partnerKey, SecurityAlgorithms.HmacSha256),
        });
        using var partner = app.Client(partnerToken);
        (await partner.GetAsync("/me")).StatusCode.Should().Be(HttpStatusCode.OK, "the app's own endpoints accept the partner's token");

        (await partner.GetAsync("/auth/sessions")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await partner.PostAsync("/auth/logout/all", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await partner.DeleteAsync($"/auth/sessions/{victimSession}")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await partner.PostAsync("/auth/logout", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "logout without a refresh token ends only a session of the token service's own access token");

        var manager = app.Services.GetRequiredService<IRefreshTokenManager>();
        (await manager.IsSessionActiveAsync(victimSession)).Should().BeTrue();
        (await manager.IsSessionActiveAsync(second.GetProperty("sessionId").GetGuid())).Should().BeTrue();
        using var local = app.Client(second.GetProperty("accessToken").GetString());
        (await local.GetAsync("/auth/sessions")).StatusCode.Should().Be(HttpStatusCode.OK, "the token service's own token still works");
    }

    [Fact]
    public async Task MapTokenRotationEndpoints_WithoutUseTokenRotation_FailsAtStartup_NamingIt()
    {
        var start = () => TestApp.StartAsync(o => o.UseTokenRotation = false);

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("UseTokenRotation()");
    }

    internal sealed class CountingEvents : JwtBearerEvents
    {
        public int Validated { get; private set; }

        public override Task TokenValidated(TokenValidatedContext context)
        {
            Validated++;
            return Task.CompletedTask;
        }
    }
}
