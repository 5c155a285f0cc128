-- Dermag.BomTriggers 0004: durable queued execution, scheduled and delayed triggers, instant cross-instance updates.
-- Forward-only and idempotent. {{schema}} is the quoted schema.

-- How a trigger's action runs (BomTriggerExecution): {} is inline, as before; {"mode":"queued"}, {"delaySeconds":n},
-- {"schedule":{"cron":..,"timeZone":..,"missedTicks":..}} and {"maxAttempts":n} make it a job.
ALTER TABLE {{schema}}.bom_triggers ADD COLUMN IF NOT EXISTS execution JSONB NOT NULL DEFAULT '{}'::jsonb;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '{{schema}}.bom_triggers'::regclass AND conname = 'bom_triggers_execution_object_check') THEN
        ALTER TABLE {{schema}}.bom_triggers ADD CONSTRAINT bom_triggers_execution_object_check CHECK (jsonb_typeof(execution) = 'object');
    END IF;
END;
$$;

-- The history document now carries the execution too (rows written before this script simply lack it: inline).
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
        'createdBy', t.created_by,
        'execution', t.execution)
$$;

-- The LISTEN/NOTIFY channel of this schema for one kind of news ('triggers' or 'jobs'). Channel names are identifiers
-- (at most 63 bytes), so a long schema name is replaced by its hash; the library asks this function for the name, so
-- the rule lives in one place.
CREATE OR REPLACE FUNCTION {{schema}}.bom_trigger_channel(kind TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN octet_length('dermag_' || kind || '_' || '{{schema_name}}') <= 63
                THEN 'dermag_' || kind || '_' || '{{schema_name}}'
                ELSE 'dermag_' || kind || '_' || md5('{{schema_name}}') END
$$;

-- The revision now moves only when a row really changed (a seeding INSERT ... ON CONFLICT DO NOTHING that inserts nothing
-- no longer makes every instance reload), and every change is announced on the 'triggers' channel at commit, with the
-- new revision as payload; instances still poll the revision as the fallback.
CREATE OR REPLACE FUNCTION {{schema}}.bom_triggers_bump_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current BIGINT;
BEGIN
    UPDATE {{schema}}.bom_trigger_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO current;
    PERFORM pg_notify({{schema}}.bom_trigger_channel('triggers'), current::text);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS bom_triggers_revision ON {{schema}}.bom_triggers;
CREATE TRIGGER bom_triggers_revision
    AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.bom_triggers
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.bom_triggers_bump_revision();
DROP TRIGGER IF EXISTS bom_triggers_revision_truncate ON {{schema}}.bom_triggers;
CREATE TRIGGER bom_triggers_revision_truncate
    AFTER TRUNCATE ON {{schema}}.bom_triggers
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.bom_triggers_bump_revision();

-- One row per execution of a queued trigger for one event (or one schedule tick). Workers in every app instance claim
-- due rows with FOR UPDATE SKIP LOCKED and hold them under a lease; a finished row stays (succeeded, skipped, discarded)
-- until cleanup, so the same event enqueued again is recognised by its idempotency key.
CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_jobs (
    id               BIGSERIAL    PRIMARY KEY,
    idempotency_key  TEXT         NOT NULL,
    trigger_id       INTEGER      NOT NULL REFERENCES {{schema}}.bom_triggers (id) ON DELETE CASCADE,
    kind             VARCHAR(20)  NOT NULL,
    state            VARCHAR(20)  NOT NULL DEFAULT 'pending',
    event_type       VARCHAR(50)  NOT NULL,
    event_id         UUID         NOT NULL,
    task_id          INTEGER      NOT NULL,
    task_type_id     INTEGER,
    event_data       JSONB        NOT NULL,
    previous_values  JSONB,
    correlation_id   UUID         NOT NULL,
    depth            INTEGER      NOT NULL DEFAULT 0,
    -- "triggerId:taskId" pairs that already ran in this branch of the chain (the loop guard, carried across jobs).
    chain            TEXT         NOT NULL DEFAULT '',
    -- Jobs with the same key (the task id, when BomTriggerOptions.OrderJobsByTask is on) run one at a time, in id order.
    ordering_key     INTEGER,
    attempt          INTEGER      NOT NULL DEFAULT 0,
    max_attempts     INTEGER      NOT NULL,
    due_at           TIMESTAMPTZ  NOT NULL,
    created_at       TIMESTAMPTZ  NOT NULL,
    updated_at       TIMESTAMPTZ  NOT NULL,
    lease_until      TIMESTAMPTZ,
    locked_by        TEXT,
    last_error       TEXT,
    finished_at      TIMESTAMPTZ,
    CONSTRAINT bom_trigger_jobs_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT bom_trigger_jobs_kind_check CHECK (kind IN ('queued', 'delayed', 'scheduled')),
    CONSTRAINT bom_trigger_jobs_state_check CHECK (state IN ('pending', 'running', 'succeeded', 'skipped', 'dead', 'discarded')),
    CONSTRAINT bom_trigger_jobs_attempt_check CHECK (attempt >= 0 AND max_attempts > 0),
    CONSTRAINT bom_trigger_jobs_running_check CHECK ((state = 'running') = (lease_until IS NOT NULL))
);

CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_due ON {{schema}}.bom_trigger_jobs (due_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_lease ON {{schema}}.bom_trigger_jobs (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_ordering ON {{schema}}.bom_trigger_jobs (ordering_key, id)
    WHERE ordering_key IS NOT NULL AND state IN ('pending', 'running');
-- Dead jobs wait for an operator; the job manager lists them newest first.
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_dead ON {{schema}}.bom_trigger_jobs (updated_at DESC) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_finished ON {{schema}}.bom_trigger_jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_trigger ON {{schema}}.bom_trigger_jobs (trigger_id);

-- The next tick of each scheduled trigger version. The instance that locks the row (SKIP LOCKED) enqueues the tick's job
-- (idempotent by key) and moves next_tick on, in one transaction, so each tick runs once across all instances.
CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_schedules (
    trigger_id      INTEGER     PRIMARY KEY REFERENCES {{schema}}.bom_triggers (id) ON DELETE CASCADE,
    trigger_version INTEGER     NOT NULL,
    next_tick       TIMESTAMPTZ,
    last_tick       TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- Each attempt of a job is logged: which job, which attempt.
ALTER TABLE {{schema}}.bom_trigger_logs ADD COLUMN IF NOT EXISTS job_id BIGINT;
ALTER TABLE {{schema}}.bom_trigger_logs ADD COLUMN IF NOT EXISTS attempt INTEGER;
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_job ON {{schema}}.bom_trigger_logs (job_id) WHERE job_id IS NOT NULL;
