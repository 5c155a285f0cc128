using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Dermag.TokenRotation;

/// <summary>The outcome of <see cref="IRefreshTokenManager.RefreshAsync"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RefreshStatus>))]
public enum RefreshStatus
{
    /// <summary>The token was valid and active; <see cref="RefreshResult.Tokens"/> holds the new pair.</summary>
    Rotated = 0,

    /// <summary>The refresh token (or its session) has expired; the user must log in again.</summary>
    Expired = 1,

    /// <summary>The token was revoked by a logout, a session revocation or an earlier reuse response; nothing else happened.</summary>
    Revoked = 2,

    /// <summary>
    /// The token had already been rotated away: likely stolen. The reuse policy was applied and a
    /// <c>TOKEN_REUSE_ATTACK</c> audit row written; the user must log in again.
    /// </summary>
    ReuseDetected = 3,

    /// <summary>Not a refresh token of this service (garbage, tampered, wrong key, issuer, audience or type, unknown id).</summary>
    Invalid = 4,
}

/// <summary>The result of a refresh: a new pair, or why there is none. Expected outcomes are results, not exceptions.</summary>
public sealed class RefreshResult
{
    private static readonly RefreshResult ExpiredResult = new(RefreshStatus.Expired, null);
    private static readonly RefreshResult RevokedResult = new(RefreshStatus.Revoked, null);
    private static readonly RefreshResult ReuseDetectedResult = new(RefreshStatus.ReuseDetected, null);
    private static readonly RefreshResult InvalidResult = new(RefreshStatus.Invalid, null);

    private RefreshResult(RefreshStatus status, TokenPair? tokens)
    {
        Status = status;
        Tokens = tokens;
    }

    /// <summary>What happened.</summary>
    public RefreshStatus Status { get; }

    /// <summary>The new pair when <see cref="Status"/> is <see cref="RefreshStatus.Rotated"/>; otherwise <see langword="null"/>.</summary>
    public TokenPair? Tokens { get; }

    /// <summary>True when the refresh succeeded and <see cref="Tokens"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Tokens))]
    public bool Succeeded => Status == RefreshStatus.Rotated;

    /// <summary>
    /// The error code the original system's API returned for this outcome: <c>TOKEN_REUSE_ATTACK</c>, <c>TOKEN_REVOKED</c>,
    /// <c>TOKEN_EXPIRED</c>, <c>INVALID_TOKEN</c>; <see langword="null"/> on success.
    /// </summary>
    public string? ErrorCode => Status switch
    {
        RefreshStatus.ReuseDetected => "TOKEN_REUSE_ATTACK",
        RefreshStatus.Revoked => "TOKEN_REVOKED",
        RefreshStatus.Expired => "TOKEN_EXPIRED",
        RefreshStatus.Invalid => "INVALID_TOKEN",
        _ => null,
    };

    /// <summary>A successful rotation.</summary>
    public static RefreshResult Rotated(TokenPair tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return new RefreshResult(RefreshStatus.Rotated, tokens);
    }

    /// <summary>The result for a failed refresh with the given status.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> is <see cref="RefreshStatus.Rotated"/> or undefined.</exception>
    public static RefreshResult Failed(RefreshStatus status) => status switch
    {
        RefreshStatus.Expired => ExpiredResult,
        RefreshStatus.Revoked => RevokedResult,
        RefreshStatus.ReuseDetected => ReuseDetectedResult,
        RefreshStatus.Invalid => InvalidResult,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "A failed refresh cannot have this status."),
    };

    /// <inheritdoc />
    public override string ToString() => Succeeded ? $"Rotated ({Tokens})" : Status.ToString();
}

/// <summary>The outcome of <see cref="IRefreshTokenManager.LogoutAsync"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LogoutResult>))]
public enum LogoutResult
{
    /// <summary>The session of the token was active and is now revoked.</summary>
    SessionRevoked = 0,

    /// <summary>The token was genuine but had expired, or its session had already ended (revoked, logged out); nothing changed.</summary>
    AlreadyEnded = 1,

    /// <summary>Not a refresh token of this service; nothing was touched.</summary>
    Invalid = 2,

    /// <summary>
    /// The token had already been rotated away (outside the grace period): likely stolen. The reuse policy was applied and a
    /// <c>TOKEN_REUSE_ATTACK</c> audit row written, exactly as a refresh with that token would have done.
    /// </summary>
    ReuseDetected = 3,
}
