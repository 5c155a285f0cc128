using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>The original system's envelope.</summary>
internal sealed record EnvelopeBody(
    bool Success,
    object? Data,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message,
    string? Code);

/// <summary>The token pair as the refresh endpoint (and <see cref="TokenRotationResults.Tokens"/>) returns it.</summary>
internal sealed record TokenBody(
    string AccessToken,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken,
    string TokenType,
    DateTimeOffset AccessTokenExpiresAt,
    DateTimeOffset RefreshTokenExpiresAt,
    Guid SessionId)
{
    public static TokenBody From(TokenPair pair, bool includeRefreshToken) =>
        new(pair.AccessToken, includeRefreshToken ? pair.RefreshToken : null, "Bearer", pair.AccessTokenExpiresAt, pair.RefreshTokenExpiresAt, pair.SessionId);
}

/// <summary>Success and error results in the configured format. Bodies carry codes and messages, never a token, hash or secret.</summary>
internal static class HttpResponses
{
    public static IResult Ok(TokenRotationErrorFormat format, object? data, string? message) =>
        format == TokenRotationErrorFormat.Envelope
            ? Results.Json(new EnvelopeBody(true, data, message, null))
            : data is null ? Results.NoContent() : Results.Json(data);

    public static IResult Error(TokenRotationErrorFormat format, int status, string code, string title, string detail)
    {
        if (format == TokenRotationErrorFormat.Envelope)
        {
            return Results.Json(new EnvelopeBody(false, null, detail, code), statusCode: status);
        }

        return TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["code"] = code });
    }

    /// <summary>
    /// RFC 6749 section 5.1: a response that carries tokens (or, here, the sessions list) must not be stored by any cache, the
    /// browser's included: <c>Cache-Control: no-store</c>, and <c>Pragma: no-cache</c> for HTTP/1.0 caches.
    /// </summary>
    public static void NoStore(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
    }
}
