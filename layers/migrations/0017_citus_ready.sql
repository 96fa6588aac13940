-- Triggers that also run on a Citus cluster (`flask db distribute`, docs/scaling.md §3.1).
--
-- On Citus a row trigger runs on the node that holds the changed row's shard: a worker for the
-- issue-side tables (distributed by community_id), every node for a reference table (places,
-- people, lookups). There a statement may touch only what is on that node: shards of the same
-- community and reference tables. So:
--   * every statement the issue-side triggers run names the community (state_refresh,
--     patrol_state_refresh, issue_closed_on_time, issue_event_on_time): Citus sends it to that
--     community's shard, which is the trigger's own node. On one machine the same statements
--     just read one more indexed column;
--   * the triggers of reference tables act once, on the coordinator (on_coordinator()): the
--     data version is the coordinator's, place_search lives there, and the state rows of a
--     compound whose 三长 or buildings changed are rewritten from there, on their community's
--     shard, as a nested distributed statement (Citus allows it when the trigger asks,
--     nested_writes()). On plain PostgreSQL on_coordinator() is always true.

CREATE FUNCTION on_coordinator() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF to_regproc('citus_is_coordinator') IS NULL THEN   -- plain PostgreSQL
        RETURN true;
    END IF;
    RETURN citus_is_coordinator();
END $$;

-- For the rest of the transaction, on a Citus coordinator: the trigger of a reference table's
-- shard may write distributed tables (state rows on the workers).
CREATE FUNCTION nested_writes() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regproc('citus_is_coordinator') IS NOT NULL THEN
        PERFORM set_config('citus.allow_nested_distributed_execution', 'on', true);
    END IF;
END $$;

-- The table a trigger fired on: on Citus, TG_TABLE_NAME is the shard's (compound_102008).
CREATE FUNCTION shard_table(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(name, '_[0-9]+$', '')
$$;

CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF on_coordinator() THEN
        PERFORM nextval('data_version');
    END IF;
    RETURN NULL;
END $$;

-- issue_closed_on_time: now with the issue's community, which routes the read of its log. In
-- PL/pgSQL: Citus cannot plan a SQL function's query with its parameters.
CREATE FUNCTION issue_closed_on_time(issue_id int, community_id int, reported_at timestamptz,
                                     closed_at timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    days int;
BEGIN
    SELECT coalesce(sum(d.deadline_days), 0)::int INTO days FROM stage d
     WHERE d.is_open AND d.code IN (SELECT e.to_stage FROM issue_event e
                                     WHERE e.community_id = $2 AND e.issue_id = $1);
    RETURN closed_at - reported_at <= make_interval(days => days);
END $$;

CREATE OR REPLACE FUNCTION issue_due() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE st stage%ROWTYPE;
BEGIN
    SELECT * INTO st FROM stage WHERE code = NEW.stage;
    IF NOT st.is_open THEN
        NEW.due_soon_at := NULL;
        NEW.due_at := NULL;
    ELSIF st.deadline_days IS NULL THEN
        NEW.due_soon_at := 'infinity';
        NEW.due_at := 'infinity';
    ELSE
        NEW.due_soon_at := NEW.stage_changed_at + make_interval(days => st.deadline_days) * 0.75;
        NEW.due_at := NEW.stage_changed_at + make_interval(days => st.deadline_days);
    END IF;
    IF NEW.stage = 'closed' THEN
        NEW.closed_on_time := issue_closed_on_time(NEW.id, NEW.community_id, NEW.reported_at,
                                                   coalesce(NEW.closed_at, NEW.stage_changed_at));
    ELSE
        NEW.closed_on_time := NULL;
    END IF;
    RETURN NEW;
END $$;

-- The value is worked out first and written as a constant: Citus refuses an UPDATE that calls a
-- function with the row's columns.
CREATE OR REPLACE FUNCTION issue_event_on_time() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reported timestamptz;
    closed timestamptz;
    was boolean;
    now_on_time boolean;
BEGIN
    SELECT i.reported_at, coalesce(i.closed_at, i.stage_changed_at), i.closed_on_time
      INTO reported, closed, was
      FROM issue i
     WHERE i.community_id = NEW.community_id AND i.id = NEW.issue_id AND i.stage = 'closed';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    now_on_time := issue_closed_on_time(NEW.issue_id, NEW.community_id, reported, closed);
    IF now_on_time IS DISTINCT FROM was THEN
        UPDATE issue SET closed_on_time = now_on_time
         WHERE community_id = NEW.community_id AND id = NEW.issue_id;
    END IF;
    RETURN NULL;
END $$;

DROP FUNCTION issue_closed_on_time(int, timestamptz, timestamptz);

-- state_refresh: the same rows as before (0014), one community per statement. Subqueries are
-- computed first and the rows written as values: Citus routes an INSERT … VALUES by its
-- community, not an INSERT … SELECT from a reference table.
CREATE OR REPLACE FUNCTION state_refresh(compounds int[], grids int[], communities int[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    one record;
    n int;
    soon timestamptz;
    due timestamptz;
    missing int;
    org boolean;
BEGIN
    compounds := array_remove(compounds, NULL);
    grids := array_remove(grids, NULL);
    communities := array_remove(communities, NULL);
    -- One refresh of a compound, grid or community at a time (0014).
    PERFORM state_lock(7146101, compounds);
    PERFORM state_lock(7146102, grids);
    PERFORM state_lock(7146103, communities || ARRAY(SELECT community_id FROM compound WHERE id = ANY(compounds)));
    FOR one IN SELECT c.id, c.community_id FROM compound c WHERE c.id = ANY(compounds) ORDER BY c.id LOOP
        SELECT count(*), min(i.due_soon_at), min(i.due_at) INTO n, soon, due
          FROM issue i
         WHERE i.community_id = one.community_id AND i.compound_id = one.id AND i.due_at IS NOT NULL;
        missing := compound_missing_heads(one.id);
        org := EXISTS (SELECT 1 FROM self_governance_org g WHERE g.compound_id = one.id
                        AND (g.founded_on IS NULL OR g.founded_on <= current_date));
        INSERT INTO compound_state AS s VALUES (one.community_id, one.id, n, soon, due, missing, org)
        ON CONFLICT (community_id, compound_id) DO UPDATE
           SET open_issues = EXCLUDED.open_issues, due_soon_at = EXCLUDED.due_soon_at,
               due_at = EXCLUDED.due_at, missing_heads = EXCLUDED.missing_heads, has_org = EXCLUDED.has_org;
        communities := communities || one.community_id;
    END LOOP;
    FOR one IN SELECT g.id, g.community_id FROM grid g WHERE g.id = ANY(grids) ORDER BY g.id LOOP
        SELECT count(*), min(i.due_soon_at), min(i.due_at) INTO n, soon, due
          FROM issue i
         WHERE i.community_id = one.community_id AND i.grid_id = one.id AND i.due_at IS NOT NULL;
        INSERT INTO grid_state AS s VALUES (one.community_id, one.id, n, soon, due)
        ON CONFLICT (community_id, grid_id) DO UPDATE
           SET open_issues = EXCLUDED.open_issues, due_soon_at = EXCLUDED.due_soon_at,
               due_at = EXCLUDED.due_at;
    END LOOP;
    FOR one IN SELECT m.id FROM community m WHERE m.id = ANY(communities) ORDER BY m.id LOOP
        SELECT count(*), min(i.due_soon_at), min(i.due_at) INTO n, soon, due
          FROM issue i WHERE i.community_id = one.id AND i.due_at IS NOT NULL;
        INSERT INTO community_state AS cs VALUES (one.id, n, soon, due, nextval('data_version'))
        ON CONFLICT (community_id) DO UPDATE
           SET open_issues = EXCLUDED.open_issues, due_soon_at = EXCLUDED.due_soon_at,
               due_at = EXCLUDED.due_at, version = EXCLUDED.version;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION patrol_state_refresh(compounds int[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    one record;
    last timestamptz;
BEGIN
    FOR one IN SELECT c.id, c.community_id FROM compound c WHERE c.id = ANY(compounds) ORDER BY c.id LOOP
        SELECT max(p.visited_at) INTO last FROM patrol p
         WHERE p.community_id = one.community_id AND p.compound_id = one.id;
        DELETE FROM patrol_state WHERE community_id = one.community_id AND compound_id = one.id;
        IF last IS NOT NULL THEN
            INSERT INTO patrol_state VALUES (one.community_id, one.id, last);
        END IF;
    END LOOP;
    PERFORM state_refresh('{}', '{}', ARRAY(SELECT community_id FROM compound WHERE id = ANY(compounds)));
END $$;

-- The triggers of reference tables: once, on the coordinator. A compound or grid that moves to
-- another community leaves its state row under the old one (state_refresh upserts by community).
CREATE OR REPLACE FUNCTION compound_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids int[];
    this_table text := shard_table(TG_TABLE_NAME);
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' OR NOT on_coordinator() THEN
        RETURN NULL;
    END IF;
    PERFORM nested_writes();
    IF this_table = 'compound' THEN
        IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.community_id <> NEW.community_id) THEN
            DELETE FROM compound_state WHERE community_id = OLD.community_id AND compound_id = OLD.id;
            DELETE FROM patrol_state WHERE community_id = OLD.community_id AND compound_id = OLD.id;
            PERFORM state_refresh('{}', '{}', ARRAY[OLD.community_id]);
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
        ids := ARRAY[NEW.id];
    ELSIF this_table = 'unit' THEN
        ids := ARRAY(SELECT compound_id FROM building
                      WHERE id IN ((CASE WHEN TG_OP <> 'INSERT' THEN OLD.building_id END),
                                   (CASE WHEN TG_OP <> 'DELETE' THEN NEW.building_id END)));
    ELSE   -- head, building, self_governance_org: rows with a compound_id
        ids := ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.compound_id END,
                     CASE WHEN TG_OP <> 'DELETE' THEN NEW.compound_id END];
    END IF;
    -- A compound being deleted takes its own state row with it (ON DELETE CASCADE).
    ids := ARRAY(SELECT c.id FROM compound c WHERE c.id = ANY(ids));
    PERFORM state_refresh(ids, '{}', '{}');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION grid_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' OR NOT on_coordinator() THEN
        RETURN NULL;
    END IF;
    PERFORM nested_writes();
    IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.community_id <> NEW.community_id) THEN
        DELETE FROM grid_state WHERE community_id = OLD.community_id AND grid_id = OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM state_refresh('{}', '{}', ARRAY[OLD.community_id]);
    ELSE
        PERFORM state_refresh('{}', ARRAY[NEW.id], ARRAY[NEW.community_id,
                              CASE WHEN TG_OP = 'UPDATE' THEN OLD.community_id END]);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION community_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' OR NOT on_coordinator() THEN
        RETURN NULL;
    END IF;
    PERFORM nested_writes();
    PERFORM state_refresh('{}', '{}', ARRAY[NEW.id]);
    RETURN NULL;
END $$;

-- place_search is kept on the coordinator (a Citus local table): its triggers act there only.
CREATE OR REPLACE FUNCTION place_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    this_kind text := shard_table(TG_TABLE_NAME);   -- as text: a "name" would keep the index out of use
    parent_table text := nullif(TG_ARGV[0], '');
    parent_column text := nullif(TG_ARGV[1], '');
    children text[] := TG_ARGV[2:];
    new_parent int;
    new_parent_name text;
BEGIN
    IF NOT on_coordinator() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM place_search WHERE kind = this_kind AND id = OLD.id;
        RETURN NULL;
    END IF;
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        DELETE FROM place_search WHERE kind = this_kind AND id = OLD.id;
        UPDATE place_search SET parent = NEW.name WHERE parent_id = NEW.id AND kind = ANY(children);
    END IF;
    IF parent_table IS NOT NULL THEN
        EXECUTE format('SELECT p.id, p.name FROM %I p WHERE p.id = ($1).%I', parent_table, parent_column)
           INTO new_parent, new_parent_name USING NEW;
    END IF;
    UPDATE place_search
       SET parent_id = new_parent, parent = new_parent_name,
           minx = ST_XMin(NEW.geom), miny = ST_YMin(NEW.geom), maxx = ST_XMax(NEW.geom), maxy = ST_YMax(NEW.geom)
     WHERE kind = this_kind AND id = NEW.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION place_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF on_coordinator() THEN
        DELETE FROM place_search WHERE kind = shard_table(TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- A patrol recorded against the wrong compound and moved to a compound of another community
-- takes that community along (its photo and issue links follow by ON UPDATE CASCADE), so its
-- rows stay where the state functions look for them. On Citus the community is the
-- distribution column, which an UPDATE cannot change: such a move is refused there.
CREATE FUNCTION patrol_follow_compound() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved_to int;
BEGIN
    SELECT community_id INTO moved_to FROM compound WHERE id = NEW.compound_id;
    IF moved_to IS DISTINCT FROM NEW.community_id THEN
        IF to_regproc('citus_is_coordinator') IS NOT NULL THEN
            RAISE EXCEPTION 'a patrol cannot move to a compound of another community on Citus'
                USING ERRCODE = 'feature_not_supported';
        END IF;
        NEW.community_id := moved_to;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER patrol_follow_compound BEFORE UPDATE OF compound_id ON patrol
    FOR EACH ROW EXECUTE FUNCTION patrol_follow_compound();

-- An issue's community comes from its location. On Citus the community must be named by the
-- INSERT (it routes the row) and cannot change afterwards (it is the distribution column):
-- a location in another community than the one named, or an edit that moves the issue to
-- another community, is refused where Citus is installed rather than leave the row on the
-- wrong shard (an INSERT that names none is the loaders', before `db distribute`). On one
-- machine the trigger sets the community as before (and the issue's rows follow by
-- ON UPDATE CASCADE).
CREATE OR REPLACE FUNCTION issue_locate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named int := CASE WHEN TG_OP = 'INSERT' THEN NEW.community_id ELSE OLD.community_id END;
BEGIN
    SELECT id INTO NEW.community_id FROM community
     WHERE ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    IF NEW.community_id IS NULL THEN
        RAISE EXCEPTION 'location (%, %) is outside the subdistrict',
            round(ST_X(NEW.geom)::numeric, 6), round(ST_Y(NEW.geom)::numeric, 6)
            USING ERRCODE = 'check_violation', HINT = 'outside_subdistrict';
    END IF;
    IF named IS NOT NULL AND NEW.community_id <> named AND to_regproc('citus_is_coordinator') IS NOT NULL THEN
        RAISE EXCEPTION 'on Citus an issue stays in the community it was recorded in (%, not %)',
            named, NEW.community_id USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT id INTO NEW.grid_id FROM grid
     WHERE community_id = NEW.community_id AND ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    SELECT id INTO NEW.compound_id FROM compound
     WHERE community_id = NEW.community_id AND ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    RETURN NEW;
END $$;
