using System.Collections.ObjectModel;

namespace Dermag.TokenRotation;

/// <summary>An audit row as the in-memory store keeps it.</summary>
internal sealed record InMemoryAuditEntry(string EventType, string? UserId, string? IpAddress, IReadOnlyDictionary<string, object?> Details, DateTimeOffset CreatedAt);

/// <summary>
/// The in-memory store for tests and demos: the same semantics as PostgreSQL (held to the same contract tests, judged by
/// the same <see cref="SessionRules"/>), one lock for atomicity. Data lives as long as the process.
/// </summary>
internal sealed class InMemoryRefreshTokenStore : IRefreshTokenStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Row> _tokens = [];
    private readonly Dictionary<Guid, Session> _sessions = [];
    private readonly List<InMemoryAuditEntry> _audit = [];

    public Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (_tokens.ContainsKey(token.TokenId) || _sessions.ContainsKey(token.SessionId))
            {
                throw new InvalidOperationException("Duplicate token or session id.");
            }

            _sessions.Add(token.SessionId, new Session
            {
                SessionId = token.SessionId,
                UserId = token.UserId,
                CurrentTokenId = token.TokenId,
                CurrentIssuedAt = token.CreatedAt,
                CurrentExpiresAt = token.ExpiresAt,
                CreatedAt = token.CreatedAt,
                ExpiresAt = token.SessionExpiresAt,
                LastUsedAt = token.CreatedAt,
                IpAddress = context.IpAddress,
                UserAgent = context.UserAgent,
                DeviceFingerprint = context.DeviceFingerprint,
            });
            _tokens.Add(token.TokenId, new Row
            {
                TokenId = token.TokenId,
                UserId = token.UserId,
                SessionId = token.SessionId,
                CreatedAt = token.CreatedAt,
                ExpiresAt = token.ExpiresAt,
                SessionCreatedAt = token.CreatedAt,
                SessionExpiresAt = token.SessionExpiresAt,
                LastUsedAt = token.CreatedAt,
                IpAddress = context.IpAddress,
                UserAgent = context.UserAgent,
                DeviceFingerprint = context.DeviceFingerprint,
            });
            Audit(AuditEventTypes.Login, token.UserId, context.IpAddress, AuditDetails.Login(token, context), token.CreatedAt);
        }

        return Task.CompletedTask;
    }

    public Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return Task.FromResult(Rotate(request));
        }
    }

    private RotationOutcome Rotate(RotationRequest request)
    {
        var (token, session) = Read(request.TokenId, request.SessionId);
        var verdict = SessionRules.Judge(request.TokenId, token?.State, session?.State, request.Now, request.GracePeriod);
        switch (verdict)
        {
            case TokenVerdict.Current:
                return new RotationOutcome(RotationStatus.Rotated, Swap(token!, session!, request), session!.UserId, session.SessionId);

            case TokenVerdict.GraceReplay:
                Audit(AuditEventTypes.TokenGraceReplay, session!.UserId, request.Context.IpAddress, AuditDetails.GraceReplay(request, session.CurrentTokenId), request.Now);
                return new RotationOutcome(RotationStatus.GraceReplay, session.State.CurrentToken, session.UserId, session.SessionId);

            case TokenVerdict.Reuse:
                var revoked = ApplyReusePolicy(token!, request.ReusePolicy, request.Now, request.Context, request.TokenId, "refresh");
                return new RotationOutcome(RotationStatus.ReuseDetected, UserId: token!.UserId, SessionId: token.SessionId, Revoked: revoked);

            case TokenVerdict.Expired:
                return new RotationOutcome(RotationStatus.Expired, UserId: token!.UserId, SessionId: token.SessionId);

            case TokenVerdict.Revoked:
                return new RotationOutcome(RotationStatus.Revoked, UserId: token!.UserId, SessionId: token.SessionId);

            default:
                return new RotationOutcome(RotationStatus.NotFound);
        }
    }

    private StoredRefreshToken Swap(Row old, Session session, RotationRequest request)
    {
        var context = request.Context;
        var expiresAt = request.ExpiresAt < session.ExpiresAt ? request.ExpiresAt : session.ExpiresAt;
        session.CurrentTokenId = request.SuccessorId;
        session.CurrentIssuedAt = request.IssuedAt;
        session.CurrentExpiresAt = expiresAt;
        session.LastUsedAt = request.Now;
        session.IpAddress = context.IpAddress ?? session.IpAddress;
        session.UserAgent = context.UserAgent ?? session.UserAgent;
        session.DeviceFingerprint = context.DeviceFingerprint ?? session.DeviceFingerprint;
        var successor = new Row
        {
            TokenId = request.SuccessorId,
            UserId = session.UserId,
            SessionId = session.SessionId,
            ParentTokenId = old.TokenId,
            CreatedAt = request.IssuedAt,
            ExpiresAt = expiresAt,
            SessionCreatedAt = session.CreatedAt,
            SessionExpiresAt = session.ExpiresAt,
            LastUsedAt = request.Now,
            IpAddress = session.IpAddress,
            UserAgent = session.UserAgent,
            DeviceFingerprint = session.DeviceFingerprint,
        };
        old.Revoke(request.Now, RevokeReasons.Rotated);
        old.RevokedByTokenId = successor.TokenId;
        _tokens.Add(successor.TokenId, successor);
        return successor.ToStored();
    }

    public Task<LogoutOutcome> LogoutAsync(LogoutRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var (token, session) = Read(request.TokenId, request.SessionId);
            switch (SessionRules.Judge(request.TokenId, token?.State, session?.State, request.Now, request.GracePeriod))
            {
                // A revoked token still logs the attempt (revoked_count 0), as an already-ended logout always has.
                case TokenVerdict.Current or TokenVerdict.GraceReplay or TokenVerdict.Revoked:
                    var ended = Revoke(session!.UserId, session.SessionId, null, request.Now, RevokeReasons.Logout, countOnlyActive: true);
                    Audit(AuditEventTypes.Logout, session.UserId, request.Context.IpAddress, [.. AuditDetails.Logout(request), new(AuditDetails.RevokedCount, ended.Counted)], request.Now);
                    return Task.FromResult(new LogoutOutcome(ended.Counted > 0 ? LogoutResult.SessionRevoked : LogoutResult.AlreadyEnded, session.UserId, ended));

                case TokenVerdict.Reuse:
                    var revoked = ApplyReusePolicy(token!, request.ReusePolicy, request.Now, request.Context, request.TokenId, "logout");
                    return Task.FromResult(new LogoutOutcome(LogoutResult.ReuseDetected, token!.UserId, revoked));

                default:
                    return Task.FromResult(new LogoutOutcome(LogoutResult.AlreadyEnded, token?.UserId, RevocationOutcome.None));
            }
        }
    }

    public Task<RevocationOutcome> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var revoked = Revoke(request.UserId, request.SessionId, request.ExceptSessionId, request.Now, request.Reason, countOnlyActive: true);
            Audit(request.AuditEventType, request.UserId, request.Context.IpAddress, [.. AuditDetails.Revocation(request), new(AuditDetails.RevokedCount, revoked.Counted)], request.Now);
            return Task.FromResult(revoked);
        }
    }

    public Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            IReadOnlyList<SessionInfo> sessions = [.. _sessions.Values
                .Where(s => string.Equals(s.UserId, userId, StringComparison.Ordinal) && s.IsActive(now))
                .OrderByDescending(s => s.LastUsedAt)
                .ThenBy(s => s.SessionId)
                .Select(s => new SessionInfo(s.SessionId, s.IpAddress, s.UserAgent, s.DeviceFingerprint, s.CreatedAt, s.LastUsedAt, s.CurrentExpiresAt, s.ExpiresAt))];
            return Task.FromResult(sessions);
        }
    }

    public Task<DateTimeOffset?> GetSessionActiveUntilAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return Task.FromResult(_sessions.TryGetValue(sessionId, out var session) && session.IsActive(now) ? session.CurrentExpiresAt : (DateTimeOffset?)null);
        }
    }

    public Task<int> DeleteExpiredAsync(CleanupTarget target, DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            switch (target)
            {
                case CleanupTarget.Tokens:
                    var tokens = _tokens.Values.Where(r => r.ExpiresAt < before).OrderBy(r => r.ExpiresAt).Take(batchSize).Select(r => r.TokenId).ToList();
                    tokens.ForEach(id => _tokens.Remove(id));
                    return Task.FromResult(tokens.Count);

                case CleanupTarget.Sessions:
                    var sessions = _sessions.Values.Where(s => s.CurrentExpiresAt < before).OrderBy(s => s.CurrentExpiresAt).Take(batchSize).Select(s => s.SessionId).ToList();
                    sessions.ForEach(id => _sessions.Remove(id));
                    return Task.FromResult(sessions.Count);

                default:
                    var audit = _audit.Where(a => a.CreatedAt < before).OrderBy(a => a.CreatedAt).Take(batchSize).ToHashSet();
                    _audit.RemoveAll(audit.Contains);
                    return Task.FromResult(audit.Count);
            }
        }
    }

    /// <summary>Deletes every session and token of a user, as <c>ON DELETE CASCADE</c> from the users table does.</summary>
    internal int DeleteUser(string userId)
    {
        lock (_lock)
        {
            var doomed = _tokens.Values.Where(r => r.UserId == userId).Select(r => r.TokenId).ToList();
            doomed.ForEach(id => _tokens.Remove(id));
            _sessions.Values.Where(s => s.UserId == userId).Select(s => s.SessionId).ToList().ForEach(id => _sessions.Remove(id));
            return doomed.Count;
        }
    }

    internal IReadOnlyList<InMemoryAuditEntry> AuditSnapshot()
    {
        lock (_lock)
        {
            return [.. _audit];
        }
    }

    internal IReadOnlyList<Row> TokenSnapshot()
    {
        lock (_lock)
        {
            return [.. _tokens.Values.Select(r => r.Clone())];
        }
    }

    private (Row? Token, Session? Session) Read(Guid tokenId, Guid sessionId)
    {
        var token = _tokens.GetValueOrDefault(tokenId);
        var session = token is not null && token.SessionId == sessionId ? _sessions.GetValueOrDefault(sessionId) : null;
        return (token, session);
    }

    private RevocationOutcome ApplyReusePolicy(Row token, TokenReusePolicy policy, DateTimeOffset now, SessionContext context, Guid tokenId, string via)
    {
        var revoked = Revoke(token.UserId, policy == TokenReusePolicy.RevokeSession ? token.SessionId : null, null, now, RevokeReasons.ReuseDetected, countOnlyActive: false);
        Audit(AuditEventTypes.TokenReuseAttack, token.UserId, context.IpAddress,
            [.. AuditDetails.Reuse(token.SessionId, tokenId, context, policy, via), new(AuditDetails.RevokedSessions, revoked.Counted)], now);
        return revoked;
    }

    /// <summary>
    /// Ends every live session of the user in scope, whatever its expiry, and revokes every token they still have; counts
    /// only sessions whose current token had not expired when <paramref name="countOnlyActive"/> is set.
    /// </summary>
    private RevocationOutcome Revoke(string userId, Guid? sessionId, Guid? exceptSessionId, DateTimeOffset now, string reason, bool countOnlyActive)
    {
        var ended = new List<Guid>();
        var counted = 0;
        foreach (var session in _sessions.Values)
        {
            if (string.Equals(session.UserId, userId, StringComparison.Ordinal)
                && !session.Revoked
                && (sessionId is null || session.SessionId == sessionId)
                && (exceptSessionId is null || session.SessionId != exceptSessionId))
            {
                counted += !countOnlyActive || session.CurrentExpiresAt > now ? 1 : 0;
                session.Revoke(now, reason);
                ended.Add(session.SessionId);
            }
        }

        foreach (var row in _tokens.Values)
        {
            if (!row.Revoked && _sessions.TryGetValue(row.SessionId, out var session) && session.Revoked)
            {
                row.Revoke(session.RevokedAt!.Value, session.RevokeReason!);
            }
        }

        return new RevocationOutcome(ended, counted);
    }

    private void Audit(string eventType, string? userId, string? ipAddress, KeyValuePair<string, object?>[] details, DateTimeOffset at) =>
        _audit.Add(new InMemoryAuditEntry(eventType, userId, ipAddress, new ReadOnlyDictionary<string, object?>(details.ToDictionary(StringComparer.Ordinal)), at));

    internal sealed class Session
    {
        public Guid SessionId { get; init; }

        public required string UserId { get; init; }

        public Guid CurrentTokenId { get; set; }

        public DateTimeOffset CurrentIssuedAt { get; set; }

        public DateTimeOffset CurrentExpiresAt { get; set; }

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset ExpiresAt { get; init; }

        public DateTimeOffset LastUsedAt { get; set; }

        public bool Revoked { get; private set; }

        public DateTimeOffset? RevokedAt { get; private set; }

        public string? RevokeReason { get; private set; }

        public string? IpAddress { get; set; }

        public string? UserAgent { get; set; }

        public string? DeviceFingerprint { get; set; }

        public SessionState State => new(UserId, SessionId, CurrentTokenId, CurrentIssuedAt, CurrentExpiresAt, ExpiresAt, Revoked);

        public bool IsActive(DateTimeOffset now) => !Revoked && CurrentExpiresAt > now;

        public void Revoke(DateTimeOffset now, string reason)
        {
            Revoked = true;
            RevokedAt = now;
            RevokeReason = reason;
        }
    }

    internal sealed class Row
    {
        public Guid TokenId { get; init; }

        public required string UserId { get; init; }

        public Guid SessionId { get; init; }

        public Guid? ParentTokenId { get; init; }

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset ExpiresAt { get; set; }

        public DateTimeOffset SessionCreatedAt { get; init; }

        public DateTimeOffset SessionExpiresAt { get; init; }

        public DateTimeOffset LastUsedAt { get; init; }

        public bool Revoked { get; private set; }

        public DateTimeOffset? RevokedAt { get; private set; }

        public Guid? RevokedByTokenId { get; set; }

        public string? RevokeReason { get; private set; }

        public string? IpAddress { get; init; }

        public string? UserAgent { get; init; }

        public string? DeviceFingerprint { get; init; }

        public TokenState State => new(UserId, SessionId, Revoked, RevokeReason, RevokedAt, ExpiresAt, RevokedByTokenId);

        public void Revoke(DateTimeOffset now, string reason)
        {
            Revoked = true;
            RevokedAt = now;
            RevokeReason = reason;
        }

        public StoredRefreshToken ToStored() => new(TokenId, UserId, SessionId, CreatedAt, ExpiresAt, SessionExpiresAt);

        public Row Clone() => (Row)MemberwiseClone();
    }
}
