-- City scale: the hierarchy above the subdistrict, and state kept instead of recomputed.
--
-- An installation grows from one subdistrict to a district or a whole city (~50,000
-- compounds, ~10^6 issues). A request must then cost what its screen shows, never the
-- whole history, so what the map colors and the dashboard count is maintained here, in the
-- same transaction as each change:
--   issue.due_soon_at / due_at  when an open issue turns "due soon" and overdue in its stage,
--                               so "overdue" flips by time with no rescan (NULL once closed);
--   issue.closed_on_time        fixed when an issue closes (from its event log);
--   compound_state, grid_state, community_state
--                               open issues, the earliest due-soon / due moments, empty 三长
--                               posts and self-governance per compound, and a version per
--                               community: a change in one community leaves every other
--                               screen's cache valid;
--   issue_tally, issue_month    counts by community × stage × category (× on time) and by
--                               community × month of reporting, for the dashboard.
-- The event log stays the truth: ``SELECT state_rebuild()`` recomputes all of it from the
-- tables, and as-of replay still reads the log. A bulk load sets ``gridmap.bulk_load`` for
-- its transaction (layers/state.py), which skips the row triggers that keep the state, and
-- calls state_rebuild() once at the end.

-- the hierarchy ------------------------------------------------------------------------
CREATE TABLE district (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    is_sample  boolean NOT NULL DEFAULT false,
    geom       geometry(MultiPolygon, 4326) NOT NULL
               CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX district_geom_idx ON district USING gist (geom);
CREATE TRIGGER district_bump_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON district
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();

ALTER TABLE subdistrict ADD COLUMN district_id int REFERENCES district;
-- Subdistricts already loaded belong to 上街区 (where the sample lies).
INSERT INTO district (name, is_sample, geom)
SELECT '上街区', bool_or(is_sample), ST_Multi(ST_Union(geom)) FROM subdistrict HAVING count(*) > 0;
UPDATE subdistrict SET district_id = (SELECT id FROM district WHERE name = '上街区');
ALTER TABLE subdistrict ALTER COLUMN district_id SET NOT NULL;
CREATE INDEX subdistrict_district_idx ON subdistrict (district_id);
CREATE INDEX community_subdistrict_idx ON community (subdistrict_id);

-- A user's area may now also be a whole subdistrict or district.
ALTER TABLE user_area DROP CONSTRAINT user_area_check;
ALTER TABLE user_area ADD COLUMN subdistrict_id int REFERENCES subdistrict,
                      ADD COLUMN district_id int REFERENCES district;
ALTER TABLE user_area ADD CONSTRAINT user_area_one_place
    CHECK (num_nonnulls(community_id, grid_id, subdistrict_id, district_id) = 1);

-- Grid colors for the grid mode: touching grids differ. Assigned once per grid when it is
-- drawn (greedy, smallest color unused by its neighbours), not recomputed per request.
ALTER TABLE grid ADD COLUMN color smallint NOT NULL DEFAULT 0;
CREATE FUNCTION grid_pick_color() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT min(c) INTO NEW.color FROM generate_series(0, 15) c
     WHERE c NOT IN (SELECT g.color FROM grid g
                      WHERE g.id IS DISTINCT FROM NEW.id AND g.geom && ST_Expand(NEW.geom, 1e-6)
                        AND ST_DWithin(g.geom, NEW.geom, 1e-6));
    RETURN NEW;
END $$;
CREATE TRIGGER grid_pick_color BEFORE INSERT OR UPDATE OF geom ON grid
    FOR EACH ROW EXECUTE FUNCTION grid_pick_color();
DO $$
DECLARE g record;
BEGIN
    FOR g IN SELECT id FROM grid ORDER BY id LOOP
        UPDATE grid SET geom = geom WHERE id = g.id;
    END LOOP;
END $$;

-- deadlines kept on the issue ----------------------------------------------------------
ALTER TABLE issue ADD COLUMN due_soon_at timestamptz,
                  ADD COLUMN due_at timestamptz,
                  ADD COLUMN closed_on_time boolean;

-- Three quarters of the stage's days used is "due soon", all of them "overdue" (the map's
-- SLA classes). An open stage without a deadline never falls due.
CREATE FUNCTION issue_due() RETURNS trigger LANGUAGE plpgsql AS $$
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
        NEW.closed_on_time := issue_closed_on_time(NEW.id, NEW.reported_at, coalesce(NEW.closed_at, NEW.stage_changed_at));
    ELSE
        NEW.closed_on_time := NULL;
    END IF;
    RETURN NEW;
END $$;

-- Closed within the sum of the deadlines of the open stages it went through (its event log),
-- counted from reporting to closing.
CREATE FUNCTION issue_closed_on_time(issue_id int, reported_at timestamptz, closed_at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT closed_at - reported_at <= make_interval(days => (
        SELECT coalesce(sum(d.deadline_days), 0)::int FROM stage d
         WHERE d.is_open AND d.code IN (SELECT e.to_stage FROM issue_event e WHERE e.issue_id = $1)))
$$;

CREATE TRIGGER issue_due BEFORE INSERT OR UPDATE OF stage, stage_changed_at, closed_at, reported_at ON issue
    FOR EACH ROW EXECUTE FUNCTION issue_due();

-- An event written after the issue row (a loader, or a step logged after the update) can
-- change whether a closed issue was on time.
CREATE FUNCTION issue_event_on_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE issue i SET closed_on_time = issue_closed_on_time(i.id, i.reported_at, coalesce(i.closed_at, i.stage_changed_at))
     WHERE i.id = NEW.issue_id AND i.stage = 'closed'
       AND i.closed_on_time IS DISTINCT FROM
           issue_closed_on_time(i.id, i.reported_at, coalesce(i.closed_at, i.stage_changed_at));
    RETURN NULL;
END $$;
CREATE TRIGGER issue_event_on_time AFTER INSERT ON issue_event
    FOR EACH ROW WHEN (NEW.kind = 'stage') EXECUTE FUNCTION issue_event_on_time();

UPDATE issue SET stage_changed_at = stage_changed_at;   -- fills the new columns

CREATE INDEX issue_grid_idx ON issue (grid_id);
CREATE INDEX issue_open_compound_idx ON issue (compound_id, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX issue_open_grid_idx ON issue (grid_id, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX issue_open_community_idx ON issue (community_id, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX issue_open_geom_idx ON issue USING gist (geom) WHERE due_at IS NOT NULL;
CREATE INDEX issue_reported_idx ON issue (reported_at DESC, id DESC);
CREATE INDEX issue_community_reported_idx ON issue (community_id, reported_at DESC, id DESC);
CREATE INDEX head_building_idx ON head (building_id);
CREATE INDEX head_unit_idx ON head (unit_id);
CREATE INDEX unit_building_idx ON unit (building_id);
CREATE INDEX building_compound_idx ON building (compound_id);
CREATE INDEX org_compound_idx ON self_governance_org (compound_id);
CREATE INDEX compound_grid_idx ON compound (grid_id);
CREATE INDEX compound_community_idx ON compound (community_id);
CREATE INDEX grid_community_idx ON grid (community_id);

-- the state tables ---------------------------------------------------------------------
-- Keys lead with community_id, the distribution key should the database be spread over a
-- Citus cluster (docs/scaling.md): every update of a state row stays on one shard.
CREATE TABLE community_state (
    community_id  int PRIMARY KEY REFERENCES community ON DELETE CASCADE,
    open_issues   int NOT NULL DEFAULT 0,
    due_soon_at   timestamptz,
    due_at        timestamptz,
    version       bigint NOT NULL      -- a data_version value: when anything in it last changed
);

CREATE TABLE grid_state (
    community_id  int NOT NULL,
    grid_id       int NOT NULL REFERENCES grid ON DELETE CASCADE,
    open_issues   int NOT NULL DEFAULT 0,
    due_soon_at   timestamptz,
    due_at        timestamptz,
    PRIMARY KEY (community_id, grid_id)
);
CREATE INDEX grid_state_grid_idx ON grid_state (grid_id);

CREATE TABLE compound_state (
    community_id   int NOT NULL,
    compound_id    int NOT NULL REFERENCES compound ON DELETE CASCADE,
    open_issues    int NOT NULL DEFAULT 0,
    due_soon_at    timestamptz,
    due_at         timestamptz,
    missing_heads  int NOT NULL DEFAULT 0,
    has_org        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (community_id, compound_id)
);
CREATE INDEX compound_state_compound_idx ON compound_state (compound_id);

-- on_time: 0 not closed, 1 closed on time, 2 closed late.
CREATE TABLE issue_tally (
    community_id  int  NOT NULL,
    stage         text NOT NULL,
    category      text NOT NULL,
    on_time       smallint NOT NULL,
    n             int  NOT NULL,
    PRIMARY KEY (community_id, stage, category, on_time)
);

CREATE TABLE issue_month (
    community_id  int  NOT NULL,
    month         date NOT NULL,       -- first day of the Beijing month of reporting
    n             int  NOT NULL,
    PRIMARY KEY (community_id, month)
);

-- How many 三长 posts of a compound are empty now: every head_role at its level (compound,
-- building, unit) needs someone in office.
CREATE FUNCTION compound_missing_heads(cid int) RETURNS int LANGUAGE sql STABLE AS $$
    SELECT ((SELECT count(*) FROM head_role r WHERE r.level = 'compound' AND NOT EXISTS (
                SELECT 1 FROM head h WHERE h.role = r.code AND h.compound_id = cid
                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                   AND (h.retired_on IS NULL OR h.retired_on > current_date)))
          + (SELECT count(*) FROM head_role r JOIN building b ON b.compound_id = cid
              WHERE r.level = 'building' AND NOT EXISTS (
                SELECT 1 FROM head h WHERE h.role = r.code AND h.building_id = b.id
                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                   AND (h.retired_on IS NULL OR h.retired_on > current_date)))
          + (SELECT count(*) FROM head_role r JOIN building b ON b.compound_id = cid
               JOIN unit u ON u.building_id = b.id
              WHERE r.level = 'unit' AND NOT EXISTS (
                SELECT 1 FROM head h WHERE h.role = r.code AND h.unit_id = u.id
                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                   AND (h.retired_on IS NULL OR h.retired_on > current_date))))::int
$$;

-- Recompute the state rows of these compounds, grids and communities (a few dozen issues
-- each, by index) and give the communities a new version.
CREATE FUNCTION state_refresh(compounds int[], grids int[], communities int[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    compounds := array_remove(compounds, NULL);
    grids := array_remove(grids, NULL);
    communities := array_remove(communities, NULL);
    IF cardinality(compounds) > 0 THEN
        DELETE FROM compound_state WHERE compound_id = ANY(compounds);
        INSERT INTO compound_state
        SELECT c.community_id, c.id, coalesce(o.n, 0), o.due_soon_at, o.due_at,
               compound_missing_heads(c.id),
               EXISTS (SELECT 1 FROM self_governance_org g WHERE g.compound_id = c.id
                        AND (g.founded_on IS NULL OR g.founded_on <= current_date))
          FROM compound c
          LEFT JOIN LATERAL (SELECT count(*) AS n, min(i.due_soon_at) AS due_soon_at, min(i.due_at) AS due_at
                               FROM issue i WHERE i.compound_id = c.id AND i.due_at IS NOT NULL) o ON true
         WHERE c.id = ANY(compounds);
        communities := communities || ARRAY(SELECT community_id FROM compound WHERE id = ANY(compounds));
    END IF;
    IF cardinality(grids) > 0 THEN
        DELETE FROM grid_state WHERE grid_id = ANY(grids);
        INSERT INTO grid_state
        SELECT g.community_id, g.id, coalesce(o.n, 0), o.due_soon_at, o.due_at
          FROM grid g
          LEFT JOIN LATERAL (SELECT count(*) AS n, min(i.due_soon_at) AS due_soon_at, min(i.due_at) AS due_at
                               FROM issue i WHERE i.grid_id = g.id AND i.due_at IS NOT NULL) o ON true
         WHERE g.id = ANY(grids);
    END IF;
    IF cardinality(communities) > 0 THEN
        INSERT INTO community_state AS cs
        SELECT m.id, coalesce(o.n, 0), o.due_soon_at, o.due_at, nextval('data_version')
          FROM community m
          LEFT JOIN LATERAL (SELECT count(*) AS n, min(i.due_soon_at) AS due_soon_at, min(i.due_at) AS due_at
                               FROM issue i WHERE i.community_id = m.id AND i.due_at IS NOT NULL) o ON true
         WHERE m.id = ANY(communities)
        ON CONFLICT (community_id) DO UPDATE
           SET open_issues = EXCLUDED.open_issues, due_soon_at = EXCLUDED.due_soon_at,
               due_at = EXCLUDED.due_at, version = EXCLUDED.version;
    END IF;
END $$;

-- Everything, from the tables: after a bulk load, and the reference for the tests.
CREATE FUNCTION state_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE compound_state, grid_state, community_state, issue_tally, issue_month;
    INSERT INTO compound_state
    SELECT c.community_id, c.id, coalesce(o.n, 0), o.due_soon_at, o.due_at,
           0, EXISTS (SELECT 1 FROM self_governance_org g WHERE g.compound_id = c.id
                       AND (g.founded_on IS NULL OR g.founded_on <= current_date))
      FROM compound c
      LEFT JOIN (SELECT compound_id, count(*) AS n, min(due_soon_at) AS due_soon_at, min(due_at) AS due_at
                   FROM issue WHERE due_at IS NOT NULL GROUP BY compound_id) o ON o.compound_id = c.id;
    -- The same count as compound_missing_heads(), set-based (hash anti-joins, not a call per compound).
    UPDATE compound_state s SET missing_heads = e.n
      FROM (SELECT compound_id, count(*)::int AS n FROM (
              SELECT c.id AS compound_id FROM compound c JOIN head_role r ON r.level = 'compound'
               WHERE NOT EXISTS (SELECT 1 FROM head h WHERE h.role = r.code AND h.compound_id = c.id
                                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                                   AND (h.retired_on IS NULL OR h.retired_on > current_date))
              UNION ALL
              SELECT b.compound_id FROM building b JOIN head_role r ON r.level = 'building'
               WHERE NOT EXISTS (SELECT 1 FROM head h WHERE h.role = r.code AND h.building_id = b.id
                                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                                   AND (h.retired_on IS NULL OR h.retired_on > current_date))
              UNION ALL
              SELECT b.compound_id FROM unit u JOIN building b ON b.id = u.building_id
                JOIN head_role r ON r.level = 'unit'
               WHERE NOT EXISTS (SELECT 1 FROM head h WHERE h.role = r.code AND h.unit_id = u.id
                                   AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)
                                   AND (h.retired_on IS NULL OR h.retired_on > current_date))) posts
             GROUP BY compound_id) e
     WHERE e.compound_id = s.compound_id;
    INSERT INTO grid_state
    SELECT g.community_id, g.id, coalesce(o.n, 0), o.due_soon_at, o.due_at
      FROM grid g
      LEFT JOIN (SELECT grid_id, count(*) AS n, min(due_soon_at) AS due_soon_at, min(due_at) AS due_at
                   FROM issue WHERE due_at IS NOT NULL GROUP BY grid_id) o ON o.grid_id = g.id;
    INSERT INTO community_state
    SELECT m.id, coalesce(o.n, 0), o.due_soon_at, o.due_at, nextval('data_version')
      FROM community m
      LEFT JOIN (SELECT community_id, count(*) AS n, min(due_soon_at) AS due_soon_at, min(due_at) AS due_at
                   FROM issue WHERE due_at IS NOT NULL GROUP BY community_id) o ON o.community_id = m.id;
    INSERT INTO issue_tally
    SELECT community_id, stage, category,
           CASE WHEN stage <> 'closed' THEN 0 WHEN closed_on_time THEN 1 ELSE 2 END, count(*)
      FROM issue GROUP BY 1, 2, 3, 4;
    INSERT INTO issue_month
    SELECT community_id, date_trunc('month', reported_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
      FROM issue GROUP BY 1, 2;
END $$;

-- Add (sign 1) or take away (sign -1) one issue's share of the tallies.
CREATE FUNCTION issue_tally_add(community_id int, stage text, category text, closed_on_time boolean,
                                reported_at timestamptz, sign int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO issue_tally AS t VALUES
        ($1, $2, $3, CASE WHEN $2 <> 'closed' THEN 0 WHEN $4 THEN 1 ELSE 2 END, $6)
    ON CONFLICT (community_id, stage, category, on_time) DO UPDATE SET n = t.n + EXCLUDED.n;
    INSERT INTO issue_month AS m VALUES
        ($1, date_trunc('month', $5 AT TIME ZONE 'Asia/Shanghai')::date, $6)
    ON CONFLICT (community_id, month) DO UPDATE SET n = m.n + EXCLUDED.n;
$$;

CREATE FUNCTION issue_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' THEN   -- state_rebuild() follows
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM issue_tally_add(OLD.community_id, OLD.stage, OLD.category, OLD.closed_on_time, OLD.reported_at, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM issue_tally_add(NEW.community_id, NEW.stage, NEW.category, NEW.closed_on_time, NEW.reported_at, 1);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM state_refresh(ARRAY[NEW.compound_id], ARRAY[NEW.grid_id], ARRAY[NEW.community_id]);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM state_refresh(ARRAY[OLD.compound_id], ARRAY[OLD.grid_id], ARRAY[OLD.community_id]);
    ELSE
        PERFORM state_refresh(ARRAY[OLD.compound_id, NEW.compound_id], ARRAY[OLD.grid_id, NEW.grid_id],
                              ARRAY[OLD.community_id, NEW.community_id]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER issue_state AFTER INSERT OR DELETE OR UPDATE OF
    stage, stage_changed_at, closed_at, category, community_id, grid_id, compound_id, geom, due_at, due_soon_at,
    closed_on_time, reported_at, title
    ON issue FOR EACH ROW EXECUTE FUNCTION issue_state();

-- Changes to places and people recompute the compounds they touch.
CREATE FUNCTION compound_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids int[];
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' THEN   -- state_rebuild() follows
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'compound' THEN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM compound_state WHERE compound_id = OLD.id;
            PERFORM state_refresh('{}', '{}', ARRAY[OLD.community_id]);
            RETURN NULL;
        END IF;
        ids := ARRAY[NEW.id];
        PERFORM state_refresh('{}', '{}', ARRAY[CASE WHEN TG_OP = 'UPDATE' THEN OLD.community_id END]);
    ELSIF TG_TABLE_NAME = 'unit' THEN
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
CREATE TRIGGER compound_touch AFTER INSERT OR DELETE OR UPDATE ON compound
    FOR EACH ROW EXECUTE FUNCTION compound_touch();
CREATE TRIGGER building_touch AFTER INSERT OR DELETE OR UPDATE ON building
    FOR EACH ROW EXECUTE FUNCTION compound_touch();
CREATE TRIGGER unit_touch AFTER INSERT OR DELETE OR UPDATE ON unit
    FOR EACH ROW EXECUTE FUNCTION compound_touch();
CREATE TRIGGER head_touch AFTER INSERT OR DELETE OR UPDATE ON head
    FOR EACH ROW EXECUTE FUNCTION compound_touch();
CREATE TRIGGER org_touch AFTER INSERT OR DELETE OR UPDATE ON self_governance_org
    FOR EACH ROW EXECUTE FUNCTION compound_touch();

CREATE FUNCTION grid_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' THEN   -- state_rebuild() follows
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM state_refresh('{}', '{}', ARRAY[OLD.community_id]);
    ELSE
        PERFORM state_refresh('{}', ARRAY[NEW.id], ARRAY[NEW.community_id,
                              CASE WHEN TG_OP = 'UPDATE' THEN OLD.community_id END]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER grid_touch AFTER INSERT OR DELETE OR UPDATE OF community_id, geom, name, leader_name, leader_phone ON grid
    FOR EACH ROW EXECUTE FUNCTION grid_touch();

CREATE FUNCTION community_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' THEN   -- state_rebuild() follows
        RETURN NULL;
    END IF;
    PERFORM state_refresh('{}', '{}', ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER community_touch AFTER INSERT OR UPDATE ON community
    FOR EACH ROW EXECUTE FUNCTION community_touch();

SELECT state_rebuild();
