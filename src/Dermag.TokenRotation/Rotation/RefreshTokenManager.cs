using System.Security.Claims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.TokenRotation;

/// <summary>The token service: JWTs from <see cref="JwtCodec"/>, state and atomicity from the <see cref="IRefreshTokenStore"/>.</summary>
internal sealed class RefreshTokenManager : IRefreshTokenManager
{
    private const int MaxUserIdLength = 256;

    private readonly IRefreshTokenStore _store;
    private readonly RefreshTokenRotationOptions _options;
    private readonly TimeProvider _time;
    private readonly TokenRotationMetrics _metrics;
    private readonly ILogger _logger;
    private readonly JwtCodec _codec;
    private readonly SessionActivityCache _sessionCache;

    private readonly IServiceScopeFactory? _claimsScopes;

    public RefreshTokenManager(
        IRefreshTokenStore store,
        IOptions<RefreshTokenRotationOptions> options,
        TimeProvider timeProvider,
        TokenRotationMetrics metrics,
        ILogger<RefreshTokenManager>? logger = null,
        SessionActivityCache? sessionCache = null,
        ClaimsProviderRegistration? claimsProviders = null,
        IServiceScopeFactory? scopeFactory = null)
    {
        _store = store;
        _options = options.Value;
        _time = timeProvider;
        _metrics = metrics;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _codec = new JwtCodec(_options);
        _sessionCache = sessionCache ?? new SessionActivityCache(timeProvider, _options.SessionCheckCacheDuration);
        _claimsScopes = claimsProviders is null ? null : scopeFactory;
    }

    internal JwtCodec Codec => _codec;

    public async Task<TokenPair> IssueAsync(string userId, SessionContext? context = null, IEnumerable<Claim>? extraClaims = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        if (userId.Length > MaxUserIdLength)
        {
            throw new ArgumentException($"The user id must be at most {MaxUserIdLength} characters.", nameof(userId));
        }

        var claims = extraClaims?.ToList();
        JwtCodec.EnsureNoReservedClaims(claims, nameof(extraClaims));
        using var activity = TokenRotationDiagnostics.ActivitySource.StartActivity("dermag.token_rotation.issue");

        var issuedAt = JwtCodec.TruncateToSeconds(_time.GetUtcNow());
        var sessionExpiresAt = issuedAt + _options.AbsoluteSessionLifetime;
        var refreshExpiresAt = Min(issuedAt + _options.RefreshTokenLifetime, sessionExpiresAt);
        var token = new StoredRefreshToken(Guid.NewGuid(), userId, Guid.NewGuid(), issuedAt, refreshExpiresAt, sessionExpiresAt);
        activity?.SetTag("dermag.session_id", token.SessionId);
        claims = await WithProvidedClaimsAsync(claims, new AccessTokenClaimsContext(userId, token.SessionId, AccessTokenIssueReason.Login), cancellationToken).ConfigureAwait(false);

        await _store.CreateSessionAsync(token, (context ?? SessionContext.Empty).Normalize(), cancellationToken).ConfigureAwait(false);
        _metrics.SessionIssued();
        Log.SessionIssued(_logger, token.SessionId, userId);
        return CreatePair(token, issuedAt, claims);
    }

    public async Task<RefreshResult> RefreshAsync(string? refreshToken, SessionContext? context = null, IEnumerable<Claim>? extraClaims = null, CancellationToken cancellationToken = default)
    {
        var claims = extraClaims?.ToList();
        JwtCodec.EnsureNoReservedClaims(claims, nameof(extraClaims));
        var now = _time.GetUtcNow();
        var read = _codec.ReadRefreshToken(refreshToken, now);
        if (read.Status == TokenReadStatus.Invalid)
        {
            _metrics.Refresh("invalid");
            Log.InvalidToken(_logger);
            return RefreshResult.Failed(RefreshStatus.Invalid);
        }

        var presented = read.Content;
        if (read.Status == TokenReadStatus.Expired)
        {
            return Refused(presented, RefreshStatus.Expired, "expired");
        }

        using var activity = TokenRotationDiagnostics.ActivitySource.StartActivity("dermag.token_rotation.refresh");
        activity?.SetTag("dermag.session_id", presented.SessionId);

        // Before the rotation, so a provider that fails leaves the session as it was.
        claims = await WithProvidedClaimsAsync(claims, new AccessTokenClaimsContext(presented.UserId, presented.SessionId, AccessTokenIssueReason.Refresh), cancellationToken).ConfigureAwait(false);
        if (_claimsScopes is not null)
        {
            now = _time.GetUtcNow(); // the providers took time: judge expiry and issue the pair at the moment of rotation
        }

        var request = new RotationRequest(
            presented.TokenId,
            presented.SessionId,
            Guid.NewGuid(),
            now,
            _options.RefreshTokenLifetime,
            _options.ReuseGracePeriod,
            _options.ReusePolicy,
            (context ?? SessionContext.Empty).Normalize());
        var outcome = await _store.RotateAsync(request, cancellationToken).ConfigureAwait(false);
        activity?.SetTag("dermag.result", outcome.Status.ToString());

        switch (outcome.Status)
        {
            case RotationStatus.Rotated:
                _metrics.Refresh("rotated");
                Log.Rotated(_logger, presented.TokenId, presented.SessionId, outcome.Token!.TokenId);
                return RefreshResult.Rotated(CreatePair(outcome.Token, JwtCodec.TruncateToSeconds(now), claims));

            case RotationStatus.GraceReplay:
                _metrics.Refresh("grace_replay");
                Log.GraceReplay(_logger, presented.TokenId, presented.SessionId, outcome.Token!.TokenId);
                return RefreshResult.Rotated(CreatePair(outcome.Token, JwtCodec.TruncateToSeconds(now), claims));

            case RotationStatus.ReuseDetected:
                var revoked = outcome.Revoked ?? RevocationOutcome.None;
                _sessionCache.Invalidate(revoked.Ended);
                _metrics.Refresh("reuse_detected");
                _metrics.ReuseDetected();
                _metrics.SessionsRevoked(revoked.Counted, RevokeReasons.ReuseDetected);
                Log.ReuseDetected(_logger, presented.TokenId, presented.SessionId, outcome.UserId ?? presented.UserId, _options.ReusePolicy, revoked.Counted);
                return RefreshResult.Failed(RefreshStatus.ReuseDetected);

            case RotationStatus.Expired:
                return Refused(presented, RefreshStatus.Expired, "expired");

            case RotationStatus.Revoked:
                return Refused(presented, RefreshStatus.Revoked, "revoked");

            default:
                return Refused(presented, RefreshStatus.Invalid, "invalid");
        }
    }

    public async Task<LogoutResult> LogoutAsync(string? refreshToken, SessionContext? context = null, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var read = _codec.ReadRefreshToken(refreshToken, now);
        if (read.Status == TokenReadStatus.Invalid)
        {
            Log.InvalidToken(_logger);
            return LogoutResult.Invalid;
        }

        if (read.Status == TokenReadStatus.Expired)
        {
            // An expired token proves nothing about the session any more: it neither ends it nor signals reuse.
            return LogoutResult.AlreadyEnded;
        }

        var presented = read.Content;
        using var activity = TokenRotationDiagnostics.ActivitySource.StartActivity("dermag.token_rotation.logout");
        activity?.SetTag("dermag.session_id", presented.SessionId);
        var outcome = await _store.LogoutAsync(
            new LogoutRequest(presented.TokenId, presented.SessionId, now, _options.ReuseGracePeriod, _options.ReusePolicy, (context ?? SessionContext.Empty).Normalize()),
            cancellationToken).ConfigureAwait(false);
        activity?.SetTag("dermag.result", outcome.Result.ToString());
        _sessionCache.Invalidate(outcome.Revoked.Ended);
        if (outcome.Result == LogoutResult.ReuseDetected)
        {
            _metrics.ReuseDetected();
            _metrics.SessionsRevoked(outcome.Revoked.Counted, RevokeReasons.ReuseDetected);
            Log.ReuseDetected(_logger, presented.TokenId, presented.SessionId, outcome.UserId ?? presented.UserId, _options.ReusePolicy, outcome.Revoked.Counted);
        }
        else
        {
            _metrics.SessionsRevoked(outcome.Revoked.Counted, RevokeReasons.Logout);
            Log.SessionsRevoked(_logger, outcome.Revoked.Counted, outcome.UserId ?? presented.UserId, RevokeReasons.Logout);
        }

        return outcome.Result;
    }

    public async Task<bool> RevokeSessionAsync(string userId, Guid sessionId, SessionContext? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        var revoked = await RevokeAsync(
            new RevocationRequest(RevocationScope.Session, userId, sessionId, null, _time.GetUtcNow(), (context ?? SessionContext.Empty).Normalize()),
            cancellationToken).ConfigureAwait(false);
        return revoked > 0;
    }

    public Task<int> RevokeAllSessionsAsync(string userId, Guid? exceptSessionId = null, SessionContext? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        return RevokeAsync(
            new RevocationRequest(RevocationScope.AllSessions, userId, null, exceptSessionId, _time.GetUtcNow(), (context ?? SessionContext.Empty).Normalize()),
            cancellationToken);
    }

    public Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        return _store.ListActiveSessionsAsync(userId, _time.GetUtcNow(), cancellationToken);
    }

    public async ValueTask<bool> IsSessionActiveAsync(Guid sessionId, CancellationToken cancellationToken = default)
    {
        if (_sessionCache.TryGet(sessionId, out var cached))
        {
            return cached;
        }

        var epoch = _sessionCache.Epoch;
        var activeUntil = await _store.GetSessionActiveUntilAsync(sessionId, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _sessionCache.Set(sessionId, activeUntil, epoch);
        return activeUntil is not null;
    }

    public ValueTask<bool> IsSessionActiveAsync(ClaimsPrincipal principal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var claim = principal.FindFirst(TokenTypes.SessionIdClaim) ?? principal.FindFirst(ClaimTypes.Sid);
        return claim is not null && Guid.TryParse(claim.Value, out var sessionId)
            ? IsSessionActiveAsync(sessionId, cancellationToken)
            : ValueTask.FromResult(false);
    }

    public async Task<TokenCleanupResult> CleanupAsync(CancellationToken cancellationToken = default)
    {
        using var activity = TokenRotationDiagnostics.ActivitySource.StartActivity("dermag.token_rotation.cleanup");
        var now = _time.GetUtcNow();
        var expiredBefore = now - _options.CleanupRetention;
        var result = new TokenCleanupResult(
            await DeleteAllAsync(CleanupTarget.Tokens, expiredBefore, cancellationToken).ConfigureAwait(false),
            await DeleteAllAsync(CleanupTarget.Sessions, expiredBefore, cancellationToken).ConfigureAwait(false),
            await DeleteAllAsync(CleanupTarget.AuditRows, now - _options.AuditRetention, cancellationToken).ConfigureAwait(false));
        _metrics.TokensDeleted(result.Tokens);
        Log.CleanupCompleted(_logger, result.Tokens, result.Sessions, result.AuditRows, expiredBefore);
        return result;
    }

    private async Task<int> DeleteAllAsync(CleanupTarget target, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await _store.DeleteExpiredAsync(target, before, _options.CleanupBatchSize, cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted >= _options.CleanupBatchSize);
        return total;
    }

    public TokenValidationParameters CreateAccessTokenValidationParameters()
    {
        var skew = _options.ClockSkew;
        return new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            IssuerSigningKeys = [.. _options.AccessSigningKeys.Select(k => new SymmetricSecurityKey([.. k.Key]) { KeyId = k.KeyId })],
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidTypes = [TokenTypes.AccessToken],
            ClockSkew = skew,
            NameClaimType = "sub",
            RoleClaimType = "role",
            // Lifetimes are checked on the injected TimeProvider. An expired token throws the same exception type the
            // default validator does, so hosts can tell "expired" (refresh it) from "invalid" (log in again). The JWT handler
            // validates the lifetime before the signature (and again after a signature failure, for its message), so a forged
            // token past its expiry would be reported expired and clients would refresh: "expired" is said only of a token
            // whose MAC our codec verified; any other is invalid.
            LifetimeValidator = (notBefore, expires, token, _) =>
            {
                var now = _time.GetUtcNow().UtcDateTime;
                if (expires is not { } exp)
                {
                    return false;
                }

                if (exp.ToUniversalTime() + skew <= now)
                {
                    if (_codec.ReadAccessToken(EncodedToken(token), _time.GetUtcNow()).Status != TokenReadStatus.Expired)
                    {
                        return false;
                    }

                    throw new SecurityTokenExpiredException("The access token has expired.") { Expires = exp };
                }

                return notBefore is not { } nbf || nbf.ToUniversalTime() - skew <= now;
            },
        };
    }

    private static string? EncodedToken(SecurityToken? token) => token switch
    {
        JsonWebToken json => json.EncodedToken,
        System.IdentityModel.Tokens.Jwt.JwtSecurityToken jwt => jwt.RawData,
        _ => null,
    };

    private async Task<int> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken)
    {
        var revoked = await _store.RevokeAsync(request, cancellationToken).ConfigureAwait(false);
        _sessionCache.Invalidate(revoked.Ended);
        _metrics.SessionsRevoked(revoked.Counted, request.Reason);
        Log.SessionsRevoked(_logger, revoked.Counted, request.UserId, request.Reason);
        return revoked.Counted;
    }

    /// <summary>The per-call claims plus those of every registered <see cref="IAccessTokenClaimsProvider"/>.</summary>
    private async ValueTask<List<Claim>?> WithProvidedClaimsAsync(List<Claim>? claims, AccessTokenClaimsContext context, CancellationToken cancellationToken)
    {
        if (_claimsScopes is null)
        {
            return claims;
        }

        var all = claims is null ? [] : new List<Claim>(claims);
        var scope = _claimsScopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            foreach (var provider in scope.ServiceProvider.GetServices<IAccessTokenClaimsProvider>())
            {
                var provided = (await provider.GetClaimsAsync(context, cancellationToken).ConfigureAwait(false))?.ToList() ?? [];
                JwtCodec.EnsureNoReservedClaims(provided, provider.GetType().Name);
                all.AddRange(provided);
            }
        }

        return all;
    }

    private RefreshResult Refused(RefreshTokenContent presented, RefreshStatus status, string metric)
    {
        _metrics.Refresh(metric);
        Log.RefreshRefused(_logger, presented.TokenId, presented.SessionId, status);
        return RefreshResult.Failed(status);
    }

    private TokenPair CreatePair(StoredRefreshToken token, DateTimeOffset issuedAt, IReadOnlyList<Claim>? claims)
    {
        var accessExpiresAt = Min(issuedAt + _options.AccessTokenLifetime, token.SessionExpiresAt);
        var accessToken = _codec.CreateAccessToken(token.UserId, token.SessionId, Guid.NewGuid(), issuedAt, accessExpiresAt, claims);
        var refreshToken = _codec.CreateRefreshToken(new RefreshTokenContent(token.TokenId, token.UserId, token.SessionId, token.CreatedAt, token.ExpiresAt));
        return new TokenPair(accessToken, accessExpiresAt, refreshToken, token.ExpiresAt, token.UserId, token.SessionId, token.SessionExpiresAt);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
