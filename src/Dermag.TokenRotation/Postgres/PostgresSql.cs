namespace Dermag.TokenRotation;

/// <summary>
/// The store's SQL text, built once from validated identifiers. Parameters are positional (<c>$1</c>...); the user id
/// travels as text and is cast to the configured column type, and read back as text.
/// </summary>
internal sealed class PostgresSql
{
    public PostgresSql(string quotedSchema, string userIdType)
    {
        var tokens = quotedSchema + ".refresh_tokens";
        var audit = quotedSchema + ".audit_logs";
        const string TokenColumns = "token_id, user_id::text, session_id, created_at, expires_at, session_expires_at";

        // $1 token_id, $2 user_id, $3 session_id, $4 now (whole seconds), $5 expires_at, $6 session_expires_at, $7 ip, $8 user agent, $9 fingerprint
        CreateSession = $"""
            WITH inserted AS (
                INSERT INTO {tokens} (token_id, user_id, session_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at, ip_address, user_agent, device_fingerprint)
                VALUES ($1, $2::{userIdType}, $3, $4, $5, $4, $6, $4, $7, $8, $9)
                RETURNING user_id
            )
            INSERT INTO {audit} (event_type, user_id, ip_address, details, created_at)
            SELECT 'LOGIN', user_id, $7, jsonb_build_object('session_id', $3, 'token_id', $1, 'user_agent', $8), $4
            FROM inserted
            """;

        // $1 token_id, $2 successor id, $3 now, $4 now (whole seconds), $5 successor expiry before the session cap, $6 ip, $7 user agent, $8 fingerprint
        Rotate = $"""
            WITH used AS (
                UPDATE {tokens}
                SET revoked = true, revoked_at = $3, revoked_by_token_id = $2, revoke_reason = 'rotated'
                WHERE token_id = $1 AND NOT revoked AND expires_at > $3
                RETURNING user_id, session_id, session_created_at, session_expires_at, ip_address, user_agent, device_fingerprint
            )
            INSERT INTO {tokens} (token_id, user_id, session_id, parent_token_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at, ip_address, user_agent, device_fingerprint)
            SELECT $2, user_id, session_id, $1, $4, LEAST($5, session_expires_at), session_created_at, session_expires_at, $3,
                   COALESCE($6, ip_address), COALESCE($7, user_agent), COALESCE($8, device_fingerprint)
            FROM used
            RETURNING {TokenColumns}
            """;

        // $1 token_id
        Classify = $"""
            SELECT o.user_id::text, o.session_id, o.revoked, o.revoke_reason, o.revoked_at, o.expires_at,
                   s.token_id, s.user_id::text, s.session_id, s.created_at, s.expires_at, s.session_expires_at, s.revoked
            FROM {tokens} o
            LEFT JOIN {tokens} s ON s.token_id = o.revoked_by_token_id
            WHERE o.token_id = $1
            FOR UPDATE OF o
            """;

        // $1 user_id, $2 now, $3 session_id, $4 ip, $5 reused token_id, $6 user agent, $7 policy name
        const string ReuseAudit = """
            audit AS (
                INSERT INTO {0} (event_type, user_id, ip_address, details, created_at)
                SELECT 'TOKEN_REUSE_ATTACK', $1::{1}, $4, jsonb_build_object(
                    'session_id', $3, 'token_id', $5, 'user_agent', $6, 'policy', $7,
                    'revoked_sessions', (SELECT count(DISTINCT session_id) FROM revoked)), $2
            )
            SELECT DISTINCT session_id FROM revoked
            """;
        var reuseAudit = string.Format(System.Globalization.CultureInfo.InvariantCulture, ReuseAudit, audit, userIdType);
        ReuseRevokeUser = $"""
            WITH revoked AS (
                UPDATE {tokens} SET revoked = true, revoked_at = $2, revoke_reason = 'reuse_detected'
                WHERE user_id = $1::{userIdType} AND NOT revoked
                RETURNING session_id
            ),
            {reuseAudit}
            """;
        ReuseRevokeSession = $"""
            WITH revoked AS (
                UPDATE {tokens} SET revoked = true, revoked_at = $2, revoke_reason = 'reuse_detected'
                WHERE session_id = $3 AND NOT revoked
                RETURNING session_id
            ),
            {reuseAudit}
            """;

        // $1 user_id, $2 now, $3 reason, $4 session_id or null, $5 except session_id or null, $6 event type, $7 ip, $8 user agent
        Revoke = $"""
            WITH revoked AS (
                UPDATE {tokens} SET revoked = true, revoked_at = $2, revoke_reason = $3
                WHERE user_id = $1::{userIdType} AND NOT revoked AND expires_at > $2
                  AND ($4::uuid IS NULL OR session_id = $4) AND ($5::uuid IS NULL OR session_id <> $5)
                RETURNING session_id
            ),
            audit AS (
                INSERT INTO {audit} (event_type, user_id, ip_address, details, created_at)
                SELECT $6, $1::{userIdType}, $7, jsonb_build_object(
                    'session_id', $4, 'except_session_id', $5, 'user_agent', $8, 'revoked_count', (SELECT count(*) FROM revoked)), $2
            )
            SELECT session_id FROM revoked
            """;

        // $1 user_id, $2 now
        ListSessions = $"""
            SELECT session_id, ip_address, user_agent, device_fingerprint, session_created_at, last_used_at, expires_at, session_expires_at
            FROM {tokens}
            WHERE user_id = $1::{userIdType} AND NOT revoked AND expires_at > $2
            ORDER BY last_used_at DESC, session_id
            """;

        // $1 session_id, $2 now
        IsSessionActive = $"SELECT EXISTS (SELECT 1 FROM {tokens} WHERE session_id = $1 AND NOT revoked AND expires_at > $2)";

        // $1 expired before, $2 batch size. SKIP LOCKED lets several instances clean up at once without waiting on each other.
        DeleteExpired = $"""
            DELETE FROM {tokens}
            WHERE id IN (
                SELECT id FROM {tokens}
                WHERE expires_at < $1
                ORDER BY expires_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            )
            """;
    }

    public string CreateSession { get; }

    public string Rotate { get; }

    public string Classify { get; }

    public string ReuseRevokeUser { get; }

    public string ReuseRevokeSession { get; }

    public string Revoke { get; }

    public string ListSessions { get; }

    public string IsSessionActive { get; }

    public string DeleteExpired { get; }
}
