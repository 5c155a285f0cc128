-- Dermag.TokenRotation 0003: rotate_refresh_token(...), the rotation's one statement kept in the database.
-- Placeholders: {{schema}} (as in 0001).
-- Why a function: sent as text, the statement below is parsed and planned on every refresh. PL/pgSQL keeps the plans
-- per connection, and that works through PgBouncer's transaction pooling too (the client prepares nothing). Npgsql's
-- reset of a pooled connection (DISCARD ALL) throws those plans away, so the store's own data source does not reset.
-- The statement itself is unchanged: a caller that sends it as text (a previous version of the library during a
-- rolling deploy) and this function change the same rows the same way.
-- Rollback (see README.md): DROP FUNCTION rotate_refresh_token(uuid, uuid, timestamptz, timestamptz, timestamptz, text, text, text, uuid);

-- Swaps the session's current token (the compare-and-swap that serializes against every revocation: each one locks the
-- session row first), marks the presented token rotated and inserts the successor. The insert reads `used`, which reads
-- `session`, so the row locks are taken in that order: session, then token. The presented token row must itself be
-- unrevoked and unexpired, so a revocation written at token level only is honoured too. No row: the token is not the
-- current token of a live session, and the caller finds out why under the session's lock.
CREATE OR REPLACE FUNCTION {{schema}}.rotate_refresh_token(
    p_token_id     uuid,
    p_successor_id uuid,
    p_now          timestamptz,
    p_issued_at    timestamptz,
    p_expires_at   timestamptz,
    p_ip           text,
    p_user_agent   text,
    p_fingerprint  text,
    p_session_id   uuid)
RETURNS TABLE (token_id uuid, user_id text, session_id uuid, created_at timestamptz, expires_at timestamptz, session_expires_at timestamptz)
LANGUAGE plpgsql
AS $rotate$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH session AS (
        UPDATE {{schema}}.refresh_sessions s
        SET current_token_id = p_successor_id, current_issued_at = p_issued_at, current_expires_at = LEAST(p_expires_at, s.expires_at),
            last_used_at = p_now, ip_address = COALESCE(p_ip, s.ip_address), user_agent = COALESCE(p_user_agent, s.user_agent),
            device_fingerprint = COALESCE(p_fingerprint, s.device_fingerprint)
        WHERE s.session_id = p_session_id AND s.current_token_id = p_token_id AND NOT s.revoked AND s.current_expires_at > p_now
          AND EXISTS (SELECT 1 FROM {{schema}}.refresh_tokens p WHERE p.token_id = p_token_id AND NOT p.revoked AND p.expires_at > p_now)
        RETURNING s.user_id, s.session_id, s.created_at, s.expires_at, s.current_expires_at, s.ip_address, s.user_agent, s.device_fingerprint
    ),
    used AS (
        UPDATE {{schema}}.refresh_tokens t
        SET revoked = true, revoked_at = p_now, revoked_by_token_id = p_successor_id, revoke_reason = 'rotated'
        FROM session s
        WHERE t.token_id = p_token_id AND NOT t.revoked
        RETURNING s.user_id, s.session_id, s.created_at, s.expires_at, s.current_expires_at, s.ip_address, s.user_agent, s.device_fingerprint
    ),
    successor AS (
        INSERT INTO {{schema}}.refresh_tokens AS n (token_id, user_id, session_id, parent_token_id, created_at, expires_at, session_created_at,
                                                    session_expires_at, last_used_at, ip_address, user_agent, device_fingerprint)
        SELECT p_successor_id, u.user_id, u.session_id, p_token_id, p_issued_at, u.current_expires_at, u.created_at, u.expires_at, p_now,
               u.ip_address, u.user_agent, u.device_fingerprint
        FROM used u
        RETURNING n.token_id, n.user_id::text, n.session_id, n.created_at, n.expires_at, n.session_expires_at
    )
    SELECT * FROM successor;
END
$rotate$;

COMMENT ON FUNCTION {{schema}}.rotate_refresh_token(uuid, uuid, timestamptz, timestamptz, timestamptz, text, text, text, uuid) IS
    'Dermag.TokenRotation: one refresh-token rotation (session compare-and-swap, presented token marked rotated, successor inserted); called by the library, not meant for ad-hoc use.';
