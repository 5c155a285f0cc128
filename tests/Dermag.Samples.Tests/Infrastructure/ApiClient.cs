using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Dermag.Samples.Tests.Infrastructure;

/// <summary>An envelope as the API returns it, plus the HTTP status.</summary>
public sealed record ApiResult(HttpStatusCode Status, bool Success, JsonElement Data, string? Message, string? Code)
{
    public override string ToString() => $"{(int)Status} {Code} {Message} {Data}";
}

/// <summary>A thin HTTP client speaking the sample's envelope.</summary>
public sealed class ApiClient(HttpClient http) : IDisposable
{
    public HttpClient Http { get; } = http;

    public ApiClient As(string? accessToken)
    {
        Http.DefaultRequestHeaders.Authorization = accessToken is null ? null : new AuthenticationHeaderValue("Bearer", accessToken);
        return this;
    }

    public Task<ApiResult> GetAsync(string url) => SendAsync(HttpMethod.Get, url, null);

    public Task<ApiResult> PostAsync(string url, object? body = null) => SendAsync(HttpMethod.Post, url, body ?? new { });

    public Task<ApiResult> PutAsync(string url, object body) => SendAsync(HttpMethod.Put, url, body);

    public Task<ApiResult> PatchAsync(string url) => SendAsync(HttpMethod.Patch, url, null);

    public Task<ApiResult> DeleteAsync(string url) => SendAsync(HttpMethod.Delete, url, null);

    public async Task<ApiResult> SendAsync(HttpMethod method, string url, object? body)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is string raw)
        {
            request.Content = new StringContent(raw, System.Text.Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (string.IsNullOrEmpty(text))
        {
            return new ApiResult(response.StatusCode, false, default, null, null);
        }

        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        return new ApiResult(
            response.StatusCode,
            root.TryGetProperty("success", out var success) && success.GetBoolean(),
            root.TryGetProperty("data", out var data) ? data.Clone() : default,
            root.TryGetProperty("message", out var message) ? message.GetString() : null,
            root.TryGetProperty("code", out var code) ? code.GetString() : null);
    }

    /// <summary>Logs in and returns (access token, refresh token), asserting success.</summary>
    public async Task<(string Access, string Refresh)> LoginAsync(string username, string password)
    {
        var result = await PostAsync("/api/auth/login", new { username, password });
        result.Status.Should().Be(HttpStatusCode.OK, result.ToString());
        var tokens = (result.Data.GetProperty("accessToken").GetString()!, result.Data.GetProperty("refreshToken").GetString()!);
        As(tokens.Item1);
        return tokens;
    }

    public void Dispose() => Http.Dispose();
}

/// <summary>The demo users' passwords, as README lists them.</summary>
public static class Demo
{
    public const string AdminPassword = "Admin123!";
    public const string ManagerPassword = "Manager123!";
    public const string EditorPassword = "Editor123!";
    public const string TechnicianPassword = "Tech123!";

    public static string PasswordOf(string username) => username switch
    {
        "admin" => AdminPassword,
        "manager" => ManagerPassword,
        "bom_editor" => EditorPassword,
        "technician" => TechnicianPassword,
        _ => throw new ArgumentOutOfRangeException(nameof(username)),
    };
}
