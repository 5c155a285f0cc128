namespace Dermag.TokenRotation;

/// <summary>
/// The store's SQL text, built once from validated identifiers. Parameters are positional (<c>$1</c>...); the user id
/// travels as text and is cast to the configured column type, and read back as text.
/// </summary>
/// <remarks>
/// Every statement that changes a session's tokens first locks its <c>refresh_sessions</c> row: rotation through the
/// compare-and-swap <c>UPDATE</c>, revocations through their <c>UPDATE</c> (or <c>SELECT ... FOR UPDATE</c>). Revoking the
/// tokens is a later statement of the same transaction (<see cref="SweepRevokedSessions"/>), which under READ COMMITTED
/// takes a new snapshot and so also sees a successor that a rotation it waited for has just committed.
/// </remarks>
internal sealed class PostgresSql
{
    public PostgresSql(string quotedSchema, string userIdType)
    {
        var tokens = quotedSchema + ".refresh_tokens";
        var sessions = quotedSchema + ".refresh_sessions";
        var audit = quotedSchema + ".audit_logs";

        // $1 token_id, $2 user_id, $3 session_id, $4 now (whole seconds), $5 expires_at, $6 session_expires_at, $7 ip, $8 user agent, $9 fingerprint, $10 audit details
        CreateSession = $"""
            WITH session AS (
                INSERT INTO {sessions} (session_id, user_id, current_token_id, current_issued_at, current_expires_at, created_at, expires_at, last_used_at, ip_address, user_agent, device_fingerprint)
                VALUES ($3, $2::{userIdType}, $1, $4, $5, $4, $6, $4, $7, $8, $9)
                RETURNING user_id
            ),
            token AS (
                INSERT INTO {tokens} (token_id, user_id, session_id, created_at, expires_at, session_created_at, session_expires_at, last_used_at, ip_address, user_agent, device_fingerprint)
                SELECT $1, user_id, $3, $4, $5, $4, $6, $4, $7, $8, $9 FROM session
            )
            INSERT INTO {audit} (event_type, user_id, ip_address, details, created_at)
            SELECT 'LOGIN', user_id, $7, $10::jsonb, $4
            FROM session
            """;

        // The hot path, one statement: swap the session's current token (the compare-and-swap that serializes against every
        // revocation), mark the presented token rotated, insert the successor; no row when the token is not the current
        // token of a live session. The statement lives in the database (migration 0003), whose PL/pgSQL keeps its plans
        // per connection, also through PgBouncer's transaction pooling; sent as text it was parsed and planned every time.
        // $1 token_id, $2 successor id, $3 now, $4 now (whole seconds), $5 successor expiry before the session cap, $6 ip, $7 user agent, $8 fingerprint, $9 session_id
        Rotate = $"""
            SELECT token_id, user_id, session_id, created_at, expires_at, session_expires_at
            FROM {quotedSchema}.rotate_refresh_token($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """;

        // The first statement of a judgement: lock the session (waits for a rotation or revocation in flight).
        // $1 session_id
        LockSession = $"""
            SELECT user_id::text, current_token_id, current_issued_at, current_expires_at, expires_at, revoked
            FROM {sessions}
            WHERE session_id = $1
            FOR UPDATE
            """;

        // The second statement, a new snapshot taken after the lock: the presented token as it is now.
        // $1 token_id
        ReadToken = $"""
            SELECT user_id::text, session_id, revoked, revoke_reason, revoked_at, expires_at, revoked_by_token_id
            FROM {tokens}
            WHERE token_id = $1
            """;

        // Ends every live session in scope (locking each row, so it waits for a rotation in flight), writes the audit row
        // and publishes the ids (delivered at commit). Sessions whose current token has expired are ended too: a rotation
        // that read its clock a moment earlier may still be on its way. Must be followed by SweepRevokedSessions.
        // $1 user_id, $2 now, $3 reason, $4 session_id or null, $5 except session_id or null, $6 count only sessions whose current token is unexpired,
        // $7 audit event type, $8 ip, $9 audit details without the count, $10 name of the count key, $11 notification channel or null
        RevokeSessions = $"""
            WITH revoked AS (
                UPDATE {sessions} SET revoked = true, revoked_at = $2, revoke_reason = $3
                WHERE user_id = $1::{userIdType} AND NOT revoked
                  AND ($4::uuid IS NULL OR session_id = $4) AND ($5::uuid IS NULL OR session_id <> $5)
                RETURNING session_id, current_expires_at > $2 AS active
            ),
            audit AS (
                INSERT INTO {audit} (event_type, user_id, ip_address, details, created_at)
                SELECT $7, $1::{userIdType}, $8, $9::jsonb || jsonb_build_object($10::text, (SELECT count(*) FROM revoked WHERE active OR NOT $6)), $2
            ),
            notified AS (
                SELECT pg_notify($11, CASE WHEN count(*) > {MaxNotifiedSessions} THEN '*' ELSE string_agg(session_id::text, ',') END)
                FROM revoked
                HAVING count(*) > 0 AND $11::text IS NOT NULL
            )
            SELECT r.session_id, r.active FROM revoked r CROSS JOIN (SELECT count(*) FROM notified) n
            """;

        // Revokes every token still active in an ended session of the user: the successor of a rotation that committed
        // while RevokeSessions waited for its lock is visible here, because this statement has a newer snapshot.
        // $1 user_id
        SweepRevokedSessions = $"""
            UPDATE {tokens} t
            SET revoked = true, revoked_at = s.revoked_at, revoke_reason = s.revoke_reason
            FROM {sessions} s
            WHERE t.user_id = $1::{userIdType} AND NOT t.revoked AND s.session_id = t.session_id AND s.revoked
            """;

        // $1 event type, $2 user_id, $3 ip, $4 details, $5 now
        InsertAudit = $"""
            INSERT INTO {audit} (event_type, user_id, ip_address, details, created_at)
            VALUES ($1, $2::{userIdType}, $3, $4::jsonb, $5)
            """;

        // $1 user_id, $2 now
        ListSessions = $"""
            SELECT session_id, ip_address, user_agent, device_fingerprint, created_at, last_used_at, current_expires_at, expires_at
            FROM {sessions}
            WHERE user_id = $1::{userIdType} AND NOT revoked AND current_expires_at > $2
            ORDER BY last_used_at DESC, session_id
            """;

        // $1 session_id, $2 now; no row when the session is not active
        IsSessionActive = $"SELECT current_expires_at FROM {sessions} WHERE session_id = $1 AND NOT revoked AND current_expires_at > $2";

        // Adopts a session started by a previous version of the library (a token without a session row), as 0002 did for
        // the sessions that existed when it ran. $1 session_id
        AdoptSession = $"""
            INSERT INTO {sessions} (session_id, user_id, current_token_id, current_issued_at, current_expires_at, created_at, expires_at,
                                    last_used_at, revoked, revoked_at, revoke_reason, ip_address, user_agent, device_fingerprint)
            SELECT session_id, user_id, token_id, created_at, expires_at, session_created_at, session_expires_at,
                   last_used_at, revoked, revoked_at, revoke_reason, ip_address, user_agent, device_fingerprint
            FROM {tokens}
            WHERE session_id = $1
            ORDER BY revoked, created_at DESC, id DESC
            LIMIT 1
            ON CONFLICT (session_id) DO NOTHING
            """;

        // $1 older than, $2 batch size. SKIP LOCKED lets several instances clean up at once without waiting on each other.
        DeleteExpiredTokens = BatchDelete(tokens, "id", "expires_at");
        DeleteExpiredSessions = BatchDelete(sessions, "session_id", "current_expires_at");
        DeleteOldAudit = BatchDelete(audit, "id", "created_at");

        // $1 the table's schema (unquoted)
        UserIdColumnType = """
            SELECT format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = 'refresh_tokens' AND a.attname = 'user_id' AND NOT a.attisdropped
            """;

        // Whether the connecting role may run the rotation: null when the function does not exist (migration 0003 not applied).
        RotationFunctionExecutable = $"SELECT has_function_privilege(f, 'EXECUTE') FROM to_regprocedure('{quotedSchema}.{RotationFunction}') AS f";
    }

    /// <summary>The rotation function's signature (migration 0003), as <c>to_regprocedure</c> and <c>GRANT</c> name it.</summary>
    public const string RotationFunction = "rotate_refresh_token(uuid, uuid, timestamptz, timestamptz, timestamptz, text, text, text, uuid)";

    public string RotationFunctionExecutable { get; }

    /// <summary>A revocation of more sessions than this publishes <c>*</c> (drop every cached answer) to stay within the 8,000-byte payload.</summary>
    public const int MaxNotifiedSessions = 200;

    public string CreateSession { get; }

    public string Rotate { get; }

    public string LockSession { get; }

    public string ReadToken { get; }

    public string RevokeSessions { get; }

    public string SweepRevokedSessions { get; }

    public string InsertAudit { get; }

    public string ListSessions { get; }

    public string IsSessionActive { get; }

    public string AdoptSession { get; }

    public string DeleteExpiredTokens { get; }

    public string DeleteExpiredSessions { get; }

    public string DeleteOldAudit { get; }

    public string UserIdColumnType { get; }

    private static string BatchDelete(string table, string key, string age) => $"""
        DELETE FROM {table}
        WHERE {key} IN (
            SELECT {key} FROM {table}
            WHERE {age} < $1
            ORDER BY {age}
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        """;
}
