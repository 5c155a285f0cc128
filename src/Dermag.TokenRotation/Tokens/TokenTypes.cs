namespace Dermag.TokenRotation;

/// <summary>The JWT <c>typ</c> header values and claim names this library writes and requires.</summary>
public static class TokenTypes
{
    /// <summary>The <c>typ</c> of access tokens (RFC 9068).</summary>
    public const string AccessToken = "at+jwt";

    /// <summary>The <c>typ</c> of refresh tokens; an access token presented as a refresh token is rejected by it (and by its separate keys).</summary>
    public const string RefreshToken = "rt+jwt";

    /// <summary>The only signing algorithm issued or accepted.</summary>
    public const string Algorithm = "HS256";

    /// <summary>The claim carrying the session id in access and refresh tokens.</summary>
    public const string SessionIdClaim = "sid";
}
