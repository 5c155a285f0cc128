-- Dermag.BomTriggers 0005: indexes for the admin dashboard (Dermag.BomTriggers.Dashboard) at a million log rows.
-- Forward-only and idempotent (IF NOT EXISTS), so instances that migrate at once under the runner's lock agree.
-- {{schema}} is the quoted schema.

-- Per trigger: the last run and the runs in the last 24 hours (GetRunSummariesAsync) read this index only: the newest
-- entry is its first row for the trigger, the window is one range, and the outcome is carried in the index.
CREATE INDEX IF NOT EXISTS idx_bom_trigger_logs_trigger_time
    ON {{schema}}.bom_trigger_logs (trigger_id, executed_at DESC, id DESC) INCLUDE (outcome);

-- The queue page lists jobs of every state, most recently changed first (QueryAsync without a state).
CREATE INDEX IF NOT EXISTS idx_bom_trigger_jobs_updated ON {{schema}}.bom_trigger_jobs (updated_at DESC, id DESC);
