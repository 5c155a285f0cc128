using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers.Dashboard;

/// <summary>The HTML shell and the embedded assets (read once from the assembly; no file system, no CDN).</summary>
internal static class DashboardPage
{
    private sealed record Asset(byte[] Content, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    public static void Map(RouteGroupBuilder group)
    {
        // Routing treats "/prefix" and "/prefix/" alike; the page needs the slash so its relative asset and API URLs resolve under the prefix.
        group.MapGet("/", (HttpContext context, IOptions<BomTriggersDashboardOptions> options) =>
        {
            if (!context.Request.Path.Value!.EndsWith('/'))
            {
                return Results.Redirect(context.Request.PathBase + context.Request.Path + "/" + context.Request.QueryString);
            }

            var html = System.Text.Encoding.UTF8.GetString(Assets["index.html"].Content)
                .Replace("{{title}}", WebUtility.HtmlEncode(options.Value.Title), StringComparison.Ordinal);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Content(html, "text/html; charset=utf-8");
        }).ExcludeFromDescription();

        group.MapGet("/assets/{name}", (string name, HttpContext context) =>
        {
            if (!Assets.TryGetValue(name, out var asset) || name == "index.html")
            {
                return Results.NotFound();
            }

            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers.ETag = asset.ETag;
            if (context.Request.Headers.IfNoneMatch == asset.ETag)
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }

            return Results.Bytes(asset.Content, asset.ContentType);
        }).ExcludeFromDescription();
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        const string Prefix = "Dermag.BomTriggers.Dashboard.wwwroot.";
        var assembly = typeof(DashboardPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var name = resource[Prefix.Length..];
            var type = Path.GetExtension(name) switch
            {
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                ".html" => "text/html; charset=utf-8",
                _ => "application/octet-stream",
            };
            assets[name] = new Asset(content, type, "\"" + Convert.ToHexString(SHA256.HashData(content))[..16] + "\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
