namespace Dermag.TokenRotation;

/// <summary>One active session of a user (a login and all its rotations), as listed by <see cref="IRefreshTokenManager.ListSessionsAsync"/>.</summary>
/// <param name="SessionId">The session id (the <c>sid</c> claim of its tokens).</param>
/// <param name="IpAddress">The IP address of the latest login or refresh.</param>
/// <param name="UserAgent">The user agent of the latest login or refresh.</param>
/// <param name="DeviceFingerprint">The device fingerprint of the latest login or refresh.</param>
/// <param name="CreatedAt">When the user logged in.</param>
/// <param name="LastUsedAt">When the session was last refreshed (the login time if never).</param>
/// <param name="ExpiresAt">When the current refresh token expires unless it is rotated.</param>
/// <param name="AbsoluteExpiresAt">When the session ends whatever happens; rotation never extends it.</param>
public sealed record SessionInfo(
    Guid SessionId,
    string? IpAddress,
    string? UserAgent,
    string? DeviceFingerprint,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset AbsoluteExpiresAt);
