-- Dermag.TokenRotation 0001: refresh_tokens, audit_logs, cleanup_expired_refresh_tokens(days).
-- Placeholders: {{schema}} (quoted schema), {{user_id_type}} (text|integer|bigint|uuid),
-- {{users_foreign_key}} (empty, or " REFERENCES <users> (<key>) ON DELETE CASCADE").
-- Rollback (see README.md): DROP FUNCTION cleanup_expired_refresh_tokens(integer); DROP TABLE refresh_tokens, audit_logs;

CREATE TABLE IF NOT EXISTS {{schema}}.refresh_tokens (
    id                  bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id            uuid         NOT NULL,
    user_id             {{user_id_type}} NOT NULL{{users_foreign_key}},
    session_id          uuid         NOT NULL,
    parent_token_id     uuid,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    expires_at          timestamptz  NOT NULL,
    session_created_at  timestamptz  NOT NULL DEFAULT now(),
    session_expires_at  timestamptz  NOT NULL,
    last_used_at        timestamptz  NOT NULL DEFAULT now(),
    revoked             boolean      NOT NULL DEFAULT false,
    revoked_at          timestamptz,
    revoked_by_token_id uuid,
    revoke_reason       varchar(32),
    ip_address          varchar(45),
    user_agent          text,
    device_fingerprint  text,
    CONSTRAINT refresh_tokens_token_id_key UNIQUE (token_id),
    CONSTRAINT refresh_tokens_revoked_at_check CHECK (NOT revoked OR revoked_at IS NOT NULL),
    CONSTRAINT refresh_tokens_session_expiry_check CHECK (expires_at <= session_expires_at)
);

COMMENT ON TABLE {{schema}}.refresh_tokens IS 'Dermag.TokenRotation: one row per issued refresh token (ids and times only, never the token). A session is the chain of rotations sharing session_id.';

-- At most one active token per session: the database itself enforces "rotation never forks a session".
CREATE UNIQUE INDEX IF NOT EXISTS refresh_tokens_active_session_idx
    ON {{schema}}.refresh_tokens (session_id) WHERE NOT revoked;

-- Session listing, revoke-all and the monitoring query (revoked = false AND expires_at > now()) only read active rows.
CREATE INDEX IF NOT EXISTS refresh_tokens_user_active_idx
    ON {{schema}}.refresh_tokens (user_id, expires_at) WHERE NOT revoked;

-- The original's (user_id, revoked) index, kept for ad-hoc queries over revoked history; also serves ON DELETE CASCADE.
CREATE INDEX IF NOT EXISTS refresh_tokens_user_id_revoked_idx
    ON {{schema}}.refresh_tokens (user_id, revoked);

-- Cleanup deletes by expiry.
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at_idx
    ON {{schema}}.refresh_tokens (expires_at);

CREATE TABLE IF NOT EXISTS {{schema}}.audit_logs (
    id          bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  varchar(100)  NOT NULL,
    user_id     {{user_id_type}},
    ip_address  varchar(45),
    details     jsonb         NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz   NOT NULL DEFAULT now()
);

COMMENT ON TABLE {{schema}}.audit_logs IS 'Dermag.TokenRotation: security events (LOGIN, LOGOUT, LOGOUT_ALL, SESSION_REVOKED, TOKEN_REUSE_ATTACK), written in the same transaction as the change.';

CREATE INDEX IF NOT EXISTS audit_logs_event_type_created_at_idx
    ON {{schema}}.audit_logs (event_type, created_at DESC);

CREATE INDEX IF NOT EXISTS audit_logs_user_id_created_at_idx
    ON {{schema}}.audit_logs (user_id, created_at DESC);

-- Maintenance for psql/cron: deletes tokens that expired more than `days` ago (database clock) and returns how many.
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
    RETURN deleted;
END
$cleanup$;
