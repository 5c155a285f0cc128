using System.Net;
using System.Text.Json;
using Dermag.Samples.Tests.Infrastructure;

namespace Dermag.Samples.Tests;

public sealed class HostTests(SampleHostFactory factory) : IClassFixture<SampleHostFactory>
{
    [Fact]
    public async Task OpenApiDocument_DescribesEveryEndpoint()
    {
        using var client = factory.CreateClient();
        var json = await client.GetStringAsync("/openapi/v1.json");
        using var document = JsonDocument.Parse(json);
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        paths.Should().Contain(
        [
            "/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/logout/all", "/api/auth/sessions",
            "/api/bom-triggers", "/api/bom-triggers/{id}", "/api/bom-triggers/{id}/toggle", "/api/bom-triggers/{id}/test",
            "/api/bom-triggers/{id}/logs", "/api/bom-triggers/events", "/api/bom-triggers/actions",
            "/api/tasks", "/api/tasks/{id}", "/api/tasks/{id}/status", "/api/tasks/{id}/materials", "/api/tasks/{id}/materials/{lineId}",
        ]);
        document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString().Should().Be("bearer");
    }

    [Fact]
    public async Task BrowserPage_IsServedAtTheRoot()
    {
        using var client = factory.CreateClient();
        var response = await client.GetAsync("/");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("Dermag sample host").And.Contain("app.js");
        (await client.GetAsync("/app.js")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task BrowserPage_IsServedWithAContentSecurityPolicy_WithoutInlineScriptOrStyle()
    {
        using var client = factory.CreateClient();
        var response = await client.GetAsync("/");

        var policy = response.Headers.GetValues("Content-Security-Policy").Should().ContainSingle().Subject;
        policy.Should().Contain("default-src 'self'").And.Contain("script-src 'self'").And.Contain("style-src 'self'").And.Contain("frame-ancestors 'none'");
        policy.Should().NotContain("unsafe-inline").And.NotContain("unsafe-eval");
        response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");

        // The page itself has nothing the policy would block (BrowserTests proves it in Chromium).
        var html = await response.Content.ReadAsStringAsync();
        html.Should().NotMatchRegex("<script(?![^>]*\\bsrc=)[^>]*>", "no inline script").And.NotContain("<style").And.NotContain(" style=");
        html.Should().NotMatchRegex("\\son[a-z]+=", "no inline event handlers");
    }
}
