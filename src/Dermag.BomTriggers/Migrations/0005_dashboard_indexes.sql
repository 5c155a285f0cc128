-- Dermag.BomTriggers 0005: indexes for the admin dashboard (Dermag.BomTriggers.Dashboard) at a million log rows.
-- Forward-only and idempotent (IF NOT EXISTS), so instances that migrate at once under the runner's lock agree.
-- {{schema}} is the quoted schema.

-- Per trigger: the last run and the runs in the last 24 hours (GetRunSummariesAsync) read this index only: the newest
-- entry is its first row for the trigger, the window is one range, and the outcome is carried in the index.
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_trigger_time
    ON {{schema}}.bom_trigger_logs (trigger_id, executed_at DESC, id DESC) INCLUDE (outcome);

-- The queue page lists jobs of every state, most recently changed first (QueryAsync without a state).
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_updated ON {{schema}}.bom_trigger_jobs (updated_at DESC, id DESC);

-- Events the engines processed, per event type and UTC minute (bucket), for the "condition false" count of the trigger
-- list (BomTriggerRunSummary.ConditionFalse). Every instance adds its in-memory counts every few seconds with
-- INSERT ... ON CONFLICT DO UPDATE SET count = count + excluded.count, so instances add up. Cleanup deletes old buckets.
CREATE TABLE IF NOT EXISTS {{schema}}.bom_trigger_event_counts (
    event_type VARCHAR(50) NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,
    count      BIGINT      NOT NULL,
    CONSTRAINT bom_trigger_event_counts_pkey PRIMARY KEY (event_type, bucket)
);
CREATE INDEX IF NOT EXISTS idx_bom_trigger_event_counts_bucket ON {{schema}}.bom_trigger_event_counts (bucket);

-- The run tree: the trigger whose action raised the event a run was for (null at depth 0). A queued job carries it to
-- the rows its attempts write. No foreign key: log rows outlive nothing (triggers are soft-deleted) and stay cheap to write.
ALTER TABLE {{schema}}.bom_trigger_logs ADD COLUMN IF NOT EXISTS caused_by_trigger_id INTEGER;
ALTER TABLE {{schema}}.bom_trigger_jobs ADD COLUMN IF NOT EXISTS caused_by_trigger_id INTEGER;
