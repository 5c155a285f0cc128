-- Dermag.BomTriggers 0002: trigger history. Deletes become soft (deleted_at, deleted_by), so execution logs survive
-- the trigger that wrote them, and every create, update, toggle, delete and restore is recorded in
-- bom_trigger_history with its author, time, the definition after the change and the one before it.
-- Forward-only and idempotent. {{schema}} is the quoted schema; {{users_fk}} is either empty or a REFERENCES clause
-- to the host's users table, built from validated options (as created_by in 0001).

ALTER TABLE {{schema}}.bom_triggers ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMPTZ;
ALTER TABLE {{schema}}.bom_triggers ADD COLUMN IF NOT EXISTS deleted_by INTEGER {{users_fk}};
-- The number of the trigger's latest history row. Every change sets it to version + 1 on the locked row, so versions
-- are gapless and unique per trigger even when several app instances change the same trigger at once.
ALTER TABLE {{schema}}.bom_triggers ADD COLUMN IF NOT EXISTS version INTEGER NOT NULL DEFAULT 1
    CONSTRAINT bom_triggers_version_check CHECK (version > 0);

-- Logs outlive their trigger: the library never hard-deletes, and the foreign key no longer cascades, so a DELETE by
-- hand cannot take a trigger's logs with it either (it fails while logs exist).
DO $$
DECLARE
    fk RECORD;
BEGIN
    FOR fk IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = '{{schema}}.bom_trigger_logs'::regclass AND contype = 'f'
          AND confrelid = '{{schema}}.bom_triggers'::regclass AND confdeltype <> 'r'
    LOOP
        EXECUTE format('ALTER TABLE {{schema}}.bom_trigger_logs DROP CONSTRAINT %I', fk.conname);
    END LOOP;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = '{{schema}}.bom_trigger_logs'::regclass AND conname = 'bom_trigger_logs_trigger_id_fkey'
    ) THEN
        ALTER TABLE {{schema}}.bom_trigger_logs ADD CONSTRAINT bom_trigger_logs_trigger_id_fkey
            FOREIGN KEY (trigger_id) REFERENCES {{schema}}.bom_triggers (id) ON DELETE RESTRICT;
    END IF;
END;
$$;

-- The definition of a trigger row as the history stores it (the fields of BomTriggerDefinition, camelCase). One
-- function, so the library's statements, the backfill below and a DBA's queries build the same document.
CREATE OR REPLACE FUNCTION {{schema}}.bom_trigger_definition(t {{schema}}.bom_triggers) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'name', t.name,
        'description', t.description,
        'triggerEvent', t.trigger_event,
        'triggerCondition', t.trigger_condition,
        'actionType', t.action_type,
        'actionConfig', t.action_config,
        'sourceTaskTypeId', t.source_task_type_id,
        'targetTaskTypeId', t.target_task_type_id,
        'priority', t.priority,
        'isActive', t.is_active,
        'createdBy', t.created_by)
$$;

CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_history (
    id                    BIGSERIAL    PRIMARY KEY,
    -- History belongs to its trigger row; the library never deletes that row (see the README to purge one by hand).
    trigger_id            INTEGER      NOT NULL REFERENCES {{schema}}.bom_triggers (id) ON DELETE CASCADE,
    version               INTEGER      NOT NULL,
    change                VARCHAR(20)  NOT NULL,
    changed_by            INTEGER {{users_fk}},
    changed_at            TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- The full definition after the change; for 'deleted', the definition that was deleted.
    definition            JSONB        NOT NULL,
    -- The definition before the change; NULL for 'created' and for the baseline rows written below.
    previous              JSONB,
    -- For 'restored': the version whose definition was written back.
    restored_from_version INTEGER,
    CONSTRAINT bom_trigger_history_trigger_version_key UNIQUE (trigger_id, version),
    CONSTRAINT bom_trigger_history_version_check CHECK (version > 0),
    CONSTRAINT bom_trigger_history_change_check CHECK (change IN ('created', 'updated', 'toggled', 'deleted', 'restored')),
    CONSTRAINT bom_trigger_history_created_check CHECK (change <> 'created' OR previous IS NULL),
    CONSTRAINT bom_trigger_history_restored_check CHECK ((change = 'restored') = (restored_from_version IS NOT NULL)),
    CONSTRAINT bom_trigger_history_definition_object_check CHECK (jsonb_typeof(definition) = 'object')
);

CREATE INDEX IF NOT EXISTS idx_bom_trigger_history_changed_at ON {{schema}}.bom_trigger_history (changed_at DESC);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_history_changed_by ON {{schema}}.bom_trigger_history (changed_by);

-- Triggers stored before this script get version 1 with their definition as it is now. A trigger never changed since
-- it was created gets an exact 'created' row; one changed before (whose earlier versions were not kept) an 'updated' row
-- with no previous definition and no known author.
INSERT INTO {{schema}}.bom_trigger_history (trigger_id, version, change, changed_by, changed_at, definition, previous)
SELECT t.id, t.version,
       CASE WHEN t.updated_at = t.created_at THEN 'created' ELSE 'updated' END,
       CASE WHEN t.updated_at = t.created_at THEN t.created_by END,
       t.updated_at, {{schema}}.bom_trigger_definition(t), NULL
FROM {{schema}}.bom_triggers t
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.bom_trigger_history h WHERE h.trigger_id = t.id)
ON CONFLICT (trigger_id, version) DO NOTHING;
