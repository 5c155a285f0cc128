using System.Net;
using Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
