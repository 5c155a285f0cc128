namespace Dermag.TokenRotation;

/// <summary>
/// Settings of <c>AddRefreshTokenRotation()</c>. Validated when the host starts; every problem is reported at once,
/// each naming its option.
/// </summary>
public sealed class RefreshTokenRotationOptions
{
    /// <summary>The <c>iss</c> claim of issued tokens and the only issuer accepted. Required.</summary>
    /// <value>The default is <see langword="null"/> (must be set; the original system used <c>der-mag-platform</c>).</value>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> claim of issued tokens and the only audience accepted. Required.</summary>
    /// <value>The default is <see langword="null"/> (must be set; the original system used <c>der-mag-api</c>).</value>
    public string? Audience { get; set; }

    /// <summary>
    /// The HMAC-SHA256 keys for access tokens. The first signs new tokens; all of them validate, so a new key can be put
    /// first while the previous one still validates tokens already issued. At least one, each at least 256 bits, with
    /// distinct key ids, none shared with <see cref="RefreshSigningKeys"/>.
    /// </summary>
    public IList<TokenSigningKey> AccessSigningKeys { get; } = [];

    /// <summary>
    /// The HMAC-SHA256 keys for refresh tokens, separate from <see cref="AccessSigningKeys"/> (same rules), so a leaked
    /// access key cannot mint refresh tokens.
    /// </summary>
    public IList<TokenSigningKey> RefreshSigningKeys { get; } = [];

    /// <summary>How long an access token is valid.</summary>
    /// <value>The default is 15 minutes.</value>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a refresh token is valid; every rotation issues a successor with a new lifetime (capped by <see cref="AbsoluteSessionLifetime"/>).</summary>
    /// <value>The default is 7 days.</value>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a session (a chain of rotated refresh tokens) can live from its login; rotation never extends it.</summary>
    /// <value>The default is 30 days.</value>
    public TimeSpan AbsoluteSessionLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The tolerance for clock differences when access tokens are validated (see <c>CreateAccessTokenValidationParameters</c>).</summary>
    /// <value>The default is 30 seconds. At most 5 minutes.</value>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after a rotation the immediate predecessor may be presented again, while its successor is unused, and get
    /// the same successor back (lost responses, parallel tabs) instead of triggering reuse detection. Zero disables it.
    /// </summary>
    /// <remarks>Every replay answered within it writes a <c>TOKEN_GRACE_REPLAY</c> audit row, so a chain used from two places is visible.</remarks>
    /// <value>The default is <see cref="TimeSpan.Zero"/>, as in the original system. At most 60 seconds.</value>
    public TimeSpan ReuseGracePeriod { get; set; } = TimeSpan.Zero;

    /// <summary>What happens when a refresh token that was already rotated away is presented.</summary>
    /// <value>The default is <see cref="TokenReusePolicy.RevokeAllUserSessions"/>, as in the original system.</value>
    public TokenReusePolicy ReusePolicy { get; set; } = TokenReusePolicy.RevokeAllUserSessions;

    /// <summary>
    /// How long the answer of <c>IsSessionActiveAsync</c> ("paranoid mode") is cached per session in this process.
    /// Revocations made through this process clear it at once; on PostgreSQL, those of other instances arrive through
    /// <c>LISTEN/NOTIFY</c> (<see cref="PostgresTokenStoreOptions.RevocationNotifications"/>) and clear it too, so this bounds
    /// staleness only while that listener is disconnected. Zero disables caching.
    /// </summary>
    /// <value>The default is 5 seconds. At most 5 minutes.</value>
    public TimeSpan SessionCheckCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long refresh tokens are kept after they expire before cleanup deletes them.</summary>
    /// <value>The default is 30 days.</value>
    public TimeSpan CleanupRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long audit rows are kept before cleanup deletes them (in batches, like tokens).</summary>
    /// <value>The default is 365 days. Between 1 day and 10 years.</value>
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How many rows one cleanup statement deletes; cleanup repeats until less than a batch is left, so locks stay short.</summary>
    /// <value>The default is 1,000. Between 1 and 100,000.</value>
    public int CleanupBatchSize { get; set; } = 1000;

    /// <summary>How often the periodic cleanup service (registered by <c>AddPeriodicCleanup()</c>) runs.</summary>
    /// <value>The default is 1 hour.</value>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);
}
