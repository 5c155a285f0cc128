namespace Dermag.TokenRotation;

/// <summary>An access token and the refresh token that renews it.</summary>
/// <param name="AccessToken">The short-lived JWT for API calls.</param>
/// <param name="AccessTokenExpiresAt">When the access token expires.</param>
/// <param name="RefreshToken">The single-use JWT that yields the next pair; send it only to the refresh endpoint.</param>
/// <param name="RefreshTokenExpiresAt">When the refresh token expires.</param>
/// <param name="UserId">The user (<c>sub</c>).</param>
/// <param name="SessionId">The session (<c>sid</c>), stable across rotations.</param>
/// <param name="SessionExpiresAt">When the session ends whatever happens (absolute lifetime).</param>
public sealed record TokenPair(
    string AccessToken,
    DateTimeOffset AccessTokenExpiresAt,
    string RefreshToken,
    DateTimeOffset RefreshTokenExpiresAt,
    string UserId,
    Guid SessionId,
    DateTimeOffset SessionExpiresAt)
{
    /// <summary>Returns the ids and expiry times only; tokens never appear in strings or logs.</summary>
    public override string ToString() => $"TokenPair {{ UserId = {UserId}, SessionId = {SessionId}, AccessTokenExpiresAt = {AccessTokenExpiresAt:O}, RefreshTokenExpiresAt = {RefreshTokenExpiresAt:O} }}";
}
