-- Distribution keys: every row of the tables that grow with the history carries the
-- community_id of its issue, and their primary, unique and foreign keys include it, so that
-- spreading the database over a Citus cluster (docs/scaling.md) needs no schema redesign:
-- Citus refuses a unique key without the distribution column and a foreign key between
-- distributed tables that does not join on it.
--
-- issue          PRIMARY KEY (id, community_id). id first: the app addresses an issue by id
--                alone (URLs, Open311 service_request_id, workflow locks), and one btree led
--                by id serves both that and the composite foreign keys below; led by
--                community_id it would need a second index for every lookup by id. Routing
--                on Citus does not depend on the column order, only on the WHERE clause.
--                id stays unique in practice because it comes from the issue sequence.
-- issue_event, issue_photo, issue_reporter, meeting_issue
--                gain community_id (NOT NULL). A writer that leaves it out gets it from the
--                issue by a BEFORE INSERT trigger (so today's INSERTs keep working); a bulk
--                writer supplies it and the trigger's WHEN clause skips the call. Their
--                foreign keys to the issue become (community_id, issue_id) ON UPDATE CASCADE:
--                an issue moved to another community by an edit of its location (issue_locate
--                sets community_id) carries its log, photo, reporter and meeting links along.
-- issue.merged_into_community_id
--                the community of the issue this one was merged into, which may be another
--                community: (merged_into_community_id, merged_into_id) references issue
--                MATCH FULL (both or neither) ON UPDATE CASCADE, so the database keeps the
--                link whole on one machine. The workflow supplies both (it reads the target
--                to check the viewer's scope anyway). On Citus this foreign key crosses shards
--                and must be dropped; the workflow's check in the same transaction remains,
--                and a target cannot disappear because its event log is append-only.
-- The state tables of 0006 already lead with community_id.

-- The log is append-only, but it follows its issue to another community.
CREATE OR REPLACE FUNCTION issue_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) - 'community_id' = to_jsonb(OLD) - 'community_id' THEN
        RETURN NEW;   -- the composite foreign key's ON UPDATE CASCADE; the entry is unchanged
    END IF;
    RAISE EXCEPTION 'issue_event is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

ALTER TABLE issue_event DROP CONSTRAINT issue_event_issue_id_fkey;
ALTER TABLE issue_photo DROP CONSTRAINT issue_photo_issue_id_fkey;
ALTER TABLE issue_reporter DROP CONSTRAINT issue_reporter_issue_id_fkey;
ALTER TABLE meeting_issue DROP CONSTRAINT meeting_issue_issue_id_fkey;
ALTER TABLE issue DROP CONSTRAINT issue_merged_into_id_fkey;
-- Without CASCADE: a foreign key into issue(id) that this migration does not know about
-- makes it fail here rather than vanish.
ALTER TABLE issue DROP CONSTRAINT issue_pkey;
ALTER TABLE issue ADD PRIMARY KEY (id, community_id);

ALTER TABLE issue_event ADD COLUMN community_id int;
ALTER TABLE issue_photo ADD COLUMN community_id int;
ALTER TABLE issue_reporter ADD COLUMN community_id int;
ALTER TABLE meeting_issue ADD COLUMN community_id int;
ALTER TABLE issue ADD COLUMN merged_into_community_id int;

-- Backfill. The append-only guard is off for this transaction only (DISABLE TRIGGER is
-- transactional); the backfill changes nothing but the new column.
ALTER TABLE issue_event DISABLE TRIGGER issue_event_no_update;
UPDATE issue_event e SET community_id = i.community_id FROM issue i WHERE i.id = e.issue_id;
ALTER TABLE issue_event ENABLE TRIGGER issue_event_no_update;
UPDATE issue_photo p SET community_id = i.community_id FROM issue i WHERE i.id = p.issue_id;
UPDATE issue_reporter r SET community_id = i.community_id FROM issue i WHERE i.id = r.issue_id;
UPDATE meeting_issue m SET community_id = i.community_id FROM issue i WHERE i.id = m.issue_id;
UPDATE issue m SET merged_into_community_id = t.community_id
  FROM issue t WHERE t.id = m.merged_into_id;

ALTER TABLE issue_event ALTER COLUMN community_id SET NOT NULL,
    DROP CONSTRAINT issue_event_pkey, ADD PRIMARY KEY (id, community_id),
    ADD FOREIGN KEY (community_id, issue_id) REFERENCES issue (community_id, id)
        ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE issue_photo ALTER COLUMN community_id SET NOT NULL,
    DROP CONSTRAINT issue_photo_pkey, ADD PRIMARY KEY (issue_id, community_id),
    ADD FOREIGN KEY (community_id, issue_id) REFERENCES issue (community_id, id)
        ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE issue_reporter ALTER COLUMN community_id SET NOT NULL,
    DROP CONSTRAINT issue_reporter_pkey, ADD PRIMARY KEY (issue_id, community_id),
    ADD FOREIGN KEY (community_id, issue_id) REFERENCES issue (community_id, id)
        ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE meeting_issue ALTER COLUMN community_id SET NOT NULL,
    DROP CONSTRAINT meeting_issue_pkey, ADD PRIMARY KEY (meeting_id, issue_id, community_id),
    ADD FOREIGN KEY (community_id, issue_id) REFERENCES issue (community_id, id)
        ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE issue ADD CONSTRAINT issue_merged_into_fkey
    FOREIGN KEY (merged_into_community_id, merged_into_id) REFERENCES issue (community_id, id)
    MATCH FULL ON UPDATE CASCADE;

-- The referencing side of the foreign keys: what a cascade (and a link from an issue's
-- page) looks up. issue_event (issue_id, at) and the primary keys of issue_photo and
-- issue_reporter already lead with issue_id.
CREATE INDEX meeting_issue_issue_idx ON meeting_issue (issue_id, community_id);
CREATE INDEX issue_merged_into_idx ON issue (merged_into_id, merged_into_community_id)
    WHERE merged_into_id IS NOT NULL;

-- An INSERT that names only the issue gets the issue's community.
CREATE FUNCTION issue_row_community() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.community_id INTO NEW.community_id FROM issue i WHERE i.id = NEW.issue_id;
    IF NEW.community_id IS NULL THEN
        RAISE EXCEPTION 'insert on table "%": issue % does not exist', TG_TABLE_NAME, NEW.issue_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['issue_event', 'issue_photo', 'issue_reporter', 'meeting_issue'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW '
                       'WHEN (NEW.community_id IS NULL) EXECUTE FUNCTION issue_row_community()',
                       t || '_community', t);
    END LOOP;
END $$;
