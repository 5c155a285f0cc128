-- Dermag.TokenRotation 0002: refresh_sessions, the one row per session that rotation and revocation both lock.
-- Placeholders: {{schema}}, {{user_id_type}}, {{users_foreign_key}} (as in 0001).
-- Rotation is a compare-and-swap on current_token_id; every revocation locks the session row first and then revokes
-- the session's tokens in a later statement, so it also sees a successor inserted by a rotation it waited for.
-- Instances of the previous version still running fail closed: their token-level revocations are honoured, their new
-- sessions are adopted at the first refresh, and sessions they rotate after this script ran end (README, "Upgrading").
-- Rollback (see README.md): DROP TABLE refresh_sessions; then re-create cleanup_expired_refresh_tokens from 0001.

DO $guard$
DECLARE
    existing text;
BEGIN
    SELECT format_type(a.atttypid, a.atttypmod) INTO existing
    FROM pg_attribute a
    WHERE a.attrelid = to_regclass('{{schema}}.refresh_tokens') AND a.attname = 'user_id' AND NOT a.attisdropped;
    IF existing IS NOT NULL AND existing <> '{{user_id_type}}' THEN
        RAISE EXCEPTION 'PostgresTokenStoreOptions.UserIdType names the SQL type {{user_id_type}}, but {{schema}}.refresh_tokens.user_id is %; the type is fixed when the tables are created, so set UserIdType to match it', existing;
    END IF;
END
$guard$;

CREATE TABLE IF NOT EXISTS {{schema}}.refresh_sessions (
    session_id          uuid         PRIMARY KEY,
    user_id             {{user_id_type}} NOT NULL{{users_foreign_key}},
    current_token_id    uuid         NOT NULL,
    current_issued_at   timestamptz  NOT NULL,
    current_expires_at  timestamptz  NOT NULL,
    created_at          timestamptz  NOT NULL,
    expires_at          timestamptz  NOT NULL,
    last_used_at        timestamptz  NOT NULL,
    revoked             boolean      NOT NULL DEFAULT false,
    revoked_at          timestamptz,
    revoke_reason       varchar(32),
    ip_address          varchar(45),
    user_agent          text,
    device_fingerprint  text,
    CONSTRAINT refresh_sessions_revoked_at_check CHECK (NOT revoked OR revoked_at IS NOT NULL),
    CONSTRAINT refresh_sessions_expiry_check CHECK (current_expires_at <= expires_at)
);

COMMENT ON TABLE {{schema}}.refresh_sessions IS 'Dermag.TokenRotation: one row per session (login). current_token_id is the only refresh token that can rotate; rotation swaps it under the row lock and every revocation takes that lock first.';

-- Listing, revoke-all and the reuse response read a user's live sessions.
CREATE INDEX IF NOT EXISTS refresh_sessions_user_active_idx
    ON {{schema}}.refresh_sessions (user_id, current_expires_at) WHERE NOT revoked;

-- Cleanup deletes sessions whose last token expired long ago.
CREATE INDEX IF NOT EXISTS refresh_sessions_current_expires_at_idx
    ON {{schema}}.refresh_sessions (current_expires_at);

-- Audit retention deletes by age.
CREATE INDEX IF NOT EXISTS audit_logs_created_at_idx
    ON {{schema}}.audit_logs (created_at);

-- Existing sessions: the active token is current; a session without one is recorded as ended.
INSERT INTO {{schema}}.refresh_sessions (session_id, user_id, current_token_id, current_issued_at, current_expires_at, created_at, expires_at,
                                         last_used_at, revoked, revoked_at, revoke_reason, ip_address, user_agent, device_fingerprint)
SELECT DISTINCT ON (session_id)
       session_id, user_id, token_id, created_at, expires_at, session_created_at, session_expires_at,
       last_used_at, revoked, revoked_at, revoke_reason, ip_address, user_agent, device_fingerprint
FROM {{schema}}.refresh_tokens
ORDER BY session_id, revoked, created_at DESC, id DESC
ON CONFLICT (session_id) DO NOTHING;

-- Maintenance for psql/cron, as in 0001, now also removing sessions whose last token expired before the cutoff.
CREATE OR REPLACE FUNCTION {{schema}}.cleanup_expired_refresh_tokens(days integer DEFAULT 30)
RETURNS integer
LANGUAGE plpgsql
AS $cleanup$
DECLARE
    deleted integer;
BEGIN
    IF days IS NULL OR days < 0 THEN
        RAISE EXCEPTION 'cleanup_expired_refresh_tokens: days must be zero or positive, got %', days;
    END IF;
    DELETE FROM {{schema}}.refresh_tokens
    WHERE expires_at < now() - make_interval(days => cleanup_expired_refresh_tokens.days);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    DELETE FROM {{schema}}.refresh_sessions
    WHERE current_expires_at < now() - make_interval(days => cleanup_expired_refresh_tokens.days);
    RETURN deleted;
END
$cleanup$;
