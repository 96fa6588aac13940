-- The six-step workflow: stage changes only forward one step (or to rejected/merged from an
-- open stage), enforced in the database as well as in the app; deputies' claims and
-- comments in the event log; photos kept apart from the issue row.

ALTER TABLE issue_event ADD COLUMN kind text NOT NULL DEFAULT 'stage'
    CHECK (kind IN ('stage', 'claim', 'comment'));
ALTER TABLE issue_event ADD COLUMN meeting_id int REFERENCES meeting;

CREATE FUNCTION issue_stage_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_stage stage%ROWTYPE;
    new_stage stage%ROWTYPE;
BEGIN
    IF NEW.stage = OLD.stage THEN
        RETURN NEW;
    END IF;
    SELECT * INTO old_stage FROM stage WHERE code = OLD.stage;
    SELECT * INTO new_stage FROM stage WHERE code = NEW.stage;
    IF NOT old_stage.is_open THEN
        RAISE EXCEPTION 'issue % is %, it cannot move to %', OLD.id, OLD.stage, NEW.stage
            USING ERRCODE = 'check_violation', HINT = 'illegal_transition';
    END IF;
    IF NEW.stage IN ('rejected', 'merged') OR new_stage.ordinal = old_stage.ordinal + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'issue % cannot go from % to %', OLD.id, OLD.stage, NEW.stage
        USING ERRCODE = 'check_violation', HINT = 'illegal_transition';
END $$;
CREATE TRIGGER issue_stage_guard BEFORE UPDATE OF stage ON issue
    FOR EACH ROW EXECUTE FUNCTION issue_stage_guard();

CREATE TABLE issue_photo (
    issue_id  int PRIMARY KEY REFERENCES issue ON DELETE CASCADE,
    mime      text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png')),
    content   bytea NOT NULL
);

-- Claims by deputies (认领).
CREATE INDEX issue_event_kind_idx ON issue_event (issue_id) WHERE kind = 'claim';
