-- Dermag.BomTriggers 0003: triggers may be saved for event types of the host's (AddEventType), not only the original five.
-- Forward-only and idempotent. The engine checks that an event type is known; the database keeps it a plain upper-case
-- identifier, as it does for action types.
-- Rollback (only while no trigger uses a host event type): re-create the constraint of 0001.

ALTER TABLE {{schema}}.bom_triggers DROP CONSTRAINT IF EXISTS bom_triggers_trigger_event_check;
ALTER TABLE {{schema}}.bom_triggers ADD CONSTRAINT bom_triggers_trigger_event_check CHECK (trigger_event ~ '^[A-Z][A-Z0-9_]{0,49}$');
