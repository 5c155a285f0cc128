-- Dermag.BomTriggers 0001: trigger definitions, execution logs, log cleanup.
-- Forward-only and idempotent. {{schema}} is the quoted schema; the *_fk placeholders are either empty or a
-- REFERENCES clause to the host's tables, built from validated options.

CREATE TABLE IF NOT EXISTS {{schema}}.bom_triggers (
    id                  SERIAL PRIMARY KEY,
    uuid                UUID         NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    name                VARCHAR(200) NOT NULL,
    description         TEXT,
    trigger_event       VARCHAR(50)  NOT NULL,
    trigger_condition   JSONB        NOT NULL DEFAULT '{}'::jsonb,
    action_type         VARCHAR(50)  NOT NULL,
    action_config       JSONB        NOT NULL DEFAULT '{}'::jsonb,
    source_task_type_id INTEGER {{task_types_fk}},
    target_task_type_id INTEGER {{task_types_fk}},
    priority            INTEGER      NOT NULL DEFAULT 10,
    is_active           BOOLEAN      NOT NULL DEFAULT true,
    created_by          INTEGER {{users_fk}},
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT bom_triggers_trigger_event_check CHECK (trigger_event IN
        ('ON_TASK_CREATE', 'ON_STATUS_CHANGE', 'ON_BOM_UPDATE', 'ON_MATERIAL_ADD', 'ON_QUANTITY_CHANGE')),
    -- The original listed the five built-in actions; custom actions registered in code must be storable too,
    -- so any upper-case identifier is accepted (the built-ins all match it). The engine checks registration.
    CONSTRAINT bom_triggers_action_type_check CHECK (action_type ~ '^[A-Z][A-Z0-9_]{0,49}$'),
    CONSTRAINT bom_triggers_condition_object_check CHECK (jsonb_typeof(trigger_condition) = 'object'),
    CONSTRAINT bom_triggers_config_object_check CHECK (jsonb_typeof(action_config) = 'object')
);

CREATE INDEX IF NOT EXISTS idx_bom_triggers_event ON {{schema}}.bom_triggers (trigger_event);
CREATE INDEX IF NOT EXISTS idx_bom_triggers_active ON {{schema}}.bom_triggers (is_active);
CREATE INDEX IF NOT EXISTS idx_bom_triggers_priority ON {{schema}}.bom_triggers (priority DESC);
CREATE INDEX IF NOT EXISTS idx_bom_triggers_source_type ON {{schema}}.bom_triggers (source_task_type_id);
CREATE INDEX IF NOT EXISTS idx_bom_triggers_target_type ON {{schema}}.bom_triggers (target_task_type_id);

CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_logs (
    id             BIGSERIAL PRIMARY KEY,
    trigger_id     INTEGER     NOT NULL REFERENCES {{schema}}.bom_triggers (id) ON DELETE CASCADE,
    task_id        INTEGER {{tasks_fk}},
    executed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    success        BOOLEAN     NOT NULL,
    input_data     JSONB,
    result_data    JSONB,
    error_message  TEXT,
    outcome        VARCHAR(20) NOT NULL DEFAULT 'Executed',
    duration_ms    DOUBLE PRECISION,
    correlation_id UUID,
    depth          INTEGER     NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_trigger ON {{schema}}.bom_trigger_logs (trigger_id);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_task ON {{schema}}.bom_trigger_logs (task_id);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_executed_at ON {{schema}}.bom_trigger_logs (executed_at DESC);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_success ON {{schema}}.bom_trigger_logs (success);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_correlation ON {{schema}}.bom_trigger_logs (correlation_id);

-- One row counting every change to bom_triggers, so each app instance can tell cheaply that its rule snapshot is stale.
CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_revision (
    id       INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    revision BIGINT  NOT NULL DEFAULT 0
);
INSERT INTO {{schema}}.bom_trigger_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION {{schema}}.bom_triggers_bump_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {{schema}}.bom_trigger_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS bom_triggers_revision ON {{schema}}.bom_triggers;
CREATE TRIGGER bom_triggers_revision
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {{schema}}.bom_triggers
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bom_triggers_bump_revision();

CREATE OR REPLACE FUNCTION {{schema}}.cleanup_old_trigger_logs(retention_days INTEGER DEFAULT 90)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    deleted INTEGER;
BEGIN
    DELETE FROM {{schema}}.bom_trigger_logs
    WHERE executed_at < now() - make_interval(days => retention_days);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;
