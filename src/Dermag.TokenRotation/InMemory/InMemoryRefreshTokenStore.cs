using System.Collections.ObjectModel;

namespace Dermag.TokenRotation;

/// <summary>An audit row as the in-memory store keeps it.</summary>
internal sealed record InMemoryAuditEntry(string EventType, string? UserId, string? IpAddress, IReadOnlyDictionary<string, object?> Details, DateTimeOffset CreatedAt);

/// <summary>
/// The in-memory store for tests and demos: the same semantics as PostgreSQL (held to the same contract tests), one lock
/// for atomicity. Data lives as long as the process.
/// </summary>
internal sealed class InMemoryRefreshTokenStore : IRefreshTokenStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Row> _tokens = [];
    private readonly List<InMemoryAuditEntry> _audit = [];

    public Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (_tokens.ContainsKey(token.TokenId))
            {
                throw new InvalidOperationException("Duplicate token id.");
            }

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
            _audit.Add(new InMemoryAuditEntry(AuditEventTypes.Login, token.UserId, context.IpAddress, Details(
                ("session_id", token.SessionId), ("token_id", token.TokenId), ("user_agent", context.UserAgent)), token.CreatedAt));
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
        if (!_tokens.TryGetValue(request.TokenId, out var old))
        {
            return new RotationOutcome(RotationStatus.NotFound);
        }

        if (!old.Revoked)
        {
            if (old.ExpiresAt <= request.Now)
            {
                return new RotationOutcome(RotationStatus.Expired, UserId: old.UserId, SessionId: old.SessionId);
            }

            var context = request.Context;
            var successor = new Row
            {
                TokenId = request.SuccessorId,
                UserId = old.UserId,
                SessionId = old.SessionId,
                ParentTokenId = old.TokenId,
                CreatedAt = request.IssuedAt,
                ExpiresAt = request.ExpiresAt < old.SessionExpiresAt ? request.ExpiresAt : old.SessionExpiresAt,
                SessionCreatedAt = old.SessionCreatedAt,
                SessionExpiresAt = old.SessionExpiresAt,
                LastUsedAt = request.Now,
                IpAddress = context.IpAddress ?? old.IpAddress,
                UserAgent = context.UserAgent ?? old.UserAgent,
                DeviceFingerprint = context.DeviceFingerprint ?? old.DeviceFingerprint,
            };
            old.Revoke(request.Now, RevokeReasons.Rotated);
            old.RevokedByTokenId = successor.TokenId;
            _tokens.Add(successor.TokenId, successor);
            return new RotationOutcome(RotationStatus.Rotated, successor.ToStored(), old.UserId, old.SessionId);
        }

        if (old.RevokeReason != RevokeReasons.Rotated)
        {
            return new RotationOutcome(RotationStatus.Revoked, UserId: old.UserId, SessionId: old.SessionId);
        }

        if (request.GracePeriod > TimeSpan.Zero
            && old.RevokedAt + request.GracePeriod > request.Now
            && old.RevokedByTokenId is { } successorId
            && _tokens.TryGetValue(successorId, out var current)
            && !current.Revoked
            && current.ExpiresAt > request.Now)
        {
            return new RotationOutcome(RotationStatus.GraceReplay, current.ToStored(), old.UserId, old.SessionId);
        }

        var revoked = new HashSet<Guid>();
        foreach (var row in _tokens.Values)
        {
            var inScope = request.ReusePolicy == TokenReusePolicy.RevokeAllUserSessions
                ? string.Equals(row.UserId, old.UserId, StringComparison.Ordinal)
                : row.SessionId == old.SessionId;
            if (inScope && !row.Revoked)
            {
                row.Revoke(request.Now, RevokeReasons.ReuseDetected);
                revoked.Add(row.SessionId);
            }
        }

        _audit.Add(new InMemoryAuditEntry(AuditEventTypes.TokenReuseAttack, old.UserId, request.Context.IpAddress, Details(
            ("session_id", old.SessionId),
            ("token_id", old.TokenId),
            ("user_agent", request.Context.UserAgent),
            ("policy", PolicyName(request.ReusePolicy)),
            ("revoked_sessions", revoked.Count)), request.Now));
        return new RotationOutcome(RotationStatus.ReuseDetected, UserId: old.UserId, SessionId: old.SessionId, RevokedSessions: [.. revoked]);
    }

    public Task<IReadOnlyList<Guid>> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var revoked = new List<Guid>();
            foreach (var row in _tokens.Values)
            {
                if (string.Equals(row.UserId, request.UserId, StringComparison.Ordinal)
                    && !row.Revoked
                    && row.ExpiresAt > request.Now
                    && (request.SessionId is null || row.SessionId == request.SessionId)
                    && (request.ExceptSessionId is null || row.SessionId != request.ExceptSessionId))
                {
                    row.Revoke(request.Now, request.Reason);
                    revoked.Add(row.SessionId);
                }
            }

            _audit.Add(new InMemoryAuditEntry(request.AuditEventType, request.UserId, request.Context.IpAddress, Details(
                ("session_id", request.SessionId),
                ("except_session_id", request.ExceptSessionId),
                ("user_agent", request.Context.UserAgent),
                ("revoked_count", revoked.Count)), request.Now));
            return Task.FromResult<IReadOnlyList<Guid>>(revoked);
        }
    }

    public Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            IReadOnlyList<SessionInfo> sessions = [.. _tokens.Values
                .Where(r => string.Equals(r.UserId, userId, StringComparison.Ordinal) && r.IsActive(now))
                .OrderByDescending(r => r.LastUsedAt)
                .Select(r => new SessionInfo(r.SessionId, r.IpAddress, r.UserAgent, r.DeviceFingerprint, r.SessionCreatedAt, r.LastUsedAt, r.ExpiresAt, r.SessionExpiresAt))];
            return Task.FromResult(sessions);
        }
    }

    public Task<bool> IsSessionActiveAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return Task.FromResult(_tokens.Values.Any(r => r.SessionId == sessionId && r.IsActive(now)));
        }
    }

    public Task<int> DeleteExpiredAsync(DateTimeOffset expiredBefore, int batchSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var doomed = _tokens.Values.Where(r => r.ExpiresAt < expiredBefore).OrderBy(r => r.ExpiresAt).Take(batchSize).Select(r => r.TokenId).ToList();
            foreach (var id in doomed)
            {
                _tokens.Remove(id);
            }

            return Task.FromResult(doomed.Count);
        }
    }

    /// <summary>Deletes every token of a user, as <c>ON DELETE CASCADE</c> from the users table does.</summary>
    internal int DeleteUser(string userId)
    {
        lock (_lock)
        {
            var doomed = _tokens.Values.Where(r => r.UserId == userId).Select(r => r.TokenId).ToList();
            doomed.ForEach(id => _tokens.Remove(id));
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

    internal static string PolicyName(TokenReusePolicy policy) =>
        policy == TokenReusePolicy.RevokeSession ? "revoke_session" : "revoke_all_user_sessions";

    private static ReadOnlyDictionary<string, object?> Details(params (string Key, object? Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal));

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

        public bool IsActive(DateTimeOffset now) => !Revoked && ExpiresAt > now;

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
