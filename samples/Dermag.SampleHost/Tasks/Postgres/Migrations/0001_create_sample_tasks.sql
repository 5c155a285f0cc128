-- Dermag.SampleHost 0001: the sample's own task/BOM tables, mapped by SampleDbContext.
-- Applied by the same runner as the libraries' scripts (advisory lock, checksum, one history table), so several
-- instances starting at once are safe and `export-sql` includes it. Forward-only and idempotent.

CREATE TABLE IF NOT EXISTS {{schema}}.sample_tasks (
    id                 SERIAL PRIMARY KEY,
    title              VARCHAR(200)  NOT NULL,
    task_type_id       INTEGER       NOT NULL,
    status             VARCHAR(30)   NOT NULL,
    tags               TEXT[]        NOT NULL DEFAULT '{}',
    cost               NUMERIC(14,2),
    cost_calculated_at TIMESTAMPTZ,
    created_by         VARCHAR(100)  NOT NULL,
    created_at         TIMESTAMPTZ   NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.sample_bom_lines (
    id            SERIAL PRIMARY KEY,
    task_id       INTEGER       NOT NULL REFERENCES {{schema}}.sample_tasks (id) ON DELETE CASCADE,
    material_name VARCHAR(200)  NOT NULL,
    quantity      NUMERIC(14,3) NOT NULL,
    unit          VARCHAR(20)   NOT NULL,
    unit_price    NUMERIC(14,2) NOT NULL,
    category      VARCHAR(50),
    added_by      VARCHAR(250)  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sample_bom_lines_task_id ON {{schema}}.sample_bom_lines (task_id);
-- One line per material of a task, whatever the case of its name (adding a material again raises its quantity).
CREATE UNIQUE INDEX IF NOT EXISTS ux_sample_bom_lines_task_material ON {{schema}}.sample_bom_lines (task_id, lower(material_name));

CREATE TABLE IF NOT EXISTS {{schema}}.sample_task_notifications (
    id           SERIAL PRIMARY KEY,
    task_id      INTEGER      NOT NULL REFERENCES {{schema}}.sample_tasks (id) ON DELETE CASCADE,
    message      TEXT         NOT NULL,
    recipients   TEXT[]       NOT NULL DEFAULT '{}',
    trigger_name VARCHAR(200) NOT NULL,
    sent_at      TIMESTAMPTZ  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sample_task_notifications_task_id ON {{schema}}.sample_task_notifications (task_id);

CREATE TABLE IF NOT EXISTS {{schema}}.sample_task_trigger_runs (
    id           SERIAL PRIMARY KEY,
    task_id      INTEGER      NOT NULL REFERENCES {{schema}}.sample_tasks (id) ON DELETE CASCADE,
    event_type   VARCHAR(50)  NOT NULL,
    trigger_id   INTEGER      NOT NULL,
    trigger_name VARCHAR(200) NOT NULL,
    action_type  VARCHAR(50)  NOT NULL,
    outcome      VARCHAR(30)  NOT NULL,
    detail       TEXT,
    depth        INTEGER      NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sample_task_trigger_runs_task_id ON {{schema}}.sample_task_trigger_runs (task_id);
