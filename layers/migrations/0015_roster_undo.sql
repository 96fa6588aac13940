-- A retirement can be undone on the day it was made (a slip of the finger on 卸任); the
-- undo is its own event in the append-only trail, so the history shows both.
ALTER TABLE head_event DROP CONSTRAINT head_event_action_check;
ALTER TABLE head_event ADD CONSTRAINT head_event_action_check
    CHECK (action IN ('add', 'edit', 'replace', 'retire', 'unretire'));
CREATE INDEX head_event_at_idx ON head_event (at);
