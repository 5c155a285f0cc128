namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// Settings of <c>AddJwtBearer().UseTokenRotation()</c>, per authentication scheme. Validated when the host starts.
/// </summary>
public sealed class TokenRotationBearerOptions
{
    /// <summary>
    /// Checks on every authenticated request that the access token's session is still active (the original system's
    /// "paranoid mode"), with <see cref="IRefreshTokenManager.IsSessionActiveAsync(System.Security.Claims.ClaimsPrincipal, CancellationToken)"/>:
    /// its short per-process cache is cleared at once by revocations through this instance and, on PostgreSQL, by those of other
    /// instances (<c>LISTEN/NOTIFY</c>). A token of a revoked session is refused with <c>TOKEN_REVOKED</c>.
    /// </summary>
    /// <value>The default is <see langword="false"/>: an access token stays valid until it expires (at most its lifetime, 15 minutes by default).</value>
    public bool ParanoidMode { get; set; }

    /// <summary>How 401 and 403 bodies of this scheme are written; the <c>WWW-Authenticate</c> header is written in both formats.</summary>
    /// <value>The default is <see cref="TokenRotationErrorFormat.ProblemDetails"/>.</value>
    public TokenRotationErrorFormat ErrorFormat { get; set; } = TokenRotationErrorFormat.ProblemDetails;

    /// <summary>Set by <c>UseTokenRotation</c> for its scheme; other JwtBearer schemes are left alone.</summary>
    internal bool Enabled { get; set; }
}
