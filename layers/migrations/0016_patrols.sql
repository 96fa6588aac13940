-- Patrols (巡查打卡): a grid leader's recorded visit to a compound.
--
-- patrol         one visit: who, when, where the phone was (NULL when location was denied
--                and no point was tapped), how far that is from the compound, whether the
--                point was placed by hand (placed_manually), a note, "nothing found".
--                Keyed like the issue-side tables (migration 0009) by the compound's
--                community_id, the distribution key. The client's idempotency_key is stored
--                once per community; the same key always names the same compound, hence the
--                same community, and the app refuses a key reused for another request
--                (fingerprint) under an advisory lock before it looks elsewhere.
-- patrol_photo   its photo, as issue_photo keeps an issue's.
-- patrol_issue   the issues recorded during the visit. The issue may lie in (or move to)
--                another community than the patrol: its reference pairs
--                (issue_community_id, issue_id) MATCH FULL ON UPDATE CASCADE, as
--                issue.merged_into does.
-- patrol_state   per compound, the last visit: what the patrol color mode, the dashboard's
--                coverage and 我的范围 read, kept by a row trigger in the same transaction
--                and rebuilt by state_rebuild(). A compound never visited has no row.
CREATE TABLE patrol (
    id               serial,
    community_id     int NOT NULL REFERENCES community,
    compound_id      int NOT NULL REFERENCES compound ON DELETE CASCADE,
    user_id          int REFERENCES app_user ON DELETE SET NULL,
    actor            text NOT NULL,
    visited_at       timestamptz NOT NULL DEFAULT now(),
    geom             geometry(Point, 4326),
    distance_m       real CHECK (distance_m >= 0),
    placed_manually  boolean NOT NULL DEFAULT false,
    nothing_found    boolean NOT NULL DEFAULT false,
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    fingerprint      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, community_id),
    UNIQUE (community_id, idempotency_key)
);
CREATE INDEX patrol_compound_idx ON patrol (compound_id, visited_at DESC);
CREATE INDEX patrol_key_idx ON patrol (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE patrol_photo (
    community_id  int NOT NULL,
    patrol_id     int NOT NULL,
    mime          text NOT NULL,
    content       bytea NOT NULL,
    PRIMARY KEY (patrol_id, community_id),
    FOREIGN KEY (patrol_id, community_id) REFERENCES patrol (id, community_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE patrol_issue (
    community_id        int NOT NULL,
    patrol_id           int NOT NULL,
    issue_id            int NOT NULL,
    issue_community_id  int NOT NULL,
    PRIMARY KEY (patrol_id, issue_id, community_id),
    FOREIGN KEY (patrol_id, community_id) REFERENCES patrol (id, community_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (issue_community_id, issue_id) REFERENCES issue (community_id, id)
        MATCH FULL ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX patrol_issue_issue_idx ON patrol_issue (issue_id, issue_community_id);

CREATE TABLE patrol_state (
    community_id    int NOT NULL,
    compound_id     int NOT NULL REFERENCES compound ON DELETE CASCADE,
    last_patrol_at  timestamptz NOT NULL,
    PRIMARY KEY (community_id, compound_id)
);
CREATE INDEX patrol_state_compound_idx ON patrol_state (compound_id);

-- The last visit of these compounds, from their patrols (by index), and a new version for
-- their communities so cached layers and tiles of the patrol mode are refetched.
CREATE FUNCTION patrol_state_refresh(compounds int[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    compounds := array_remove(compounds, NULL);
    DELETE FROM patrol_state WHERE compound_id = ANY(compounds);
    INSERT INTO patrol_state
    SELECT c.community_id, c.id, p.last
      FROM compound c
      CROSS JOIN LATERAL (SELECT max(visited_at) AS last FROM patrol p WHERE p.compound_id = c.id) p
     WHERE c.id = ANY(compounds) AND p.last IS NOT NULL;
    PERFORM state_refresh('{}', '{}', ARRAY(SELECT community_id FROM compound WHERE id = ANY(compounds)));
END $$;

CREATE FUNCTION patrol_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gridmap.bulk_load', true) = 'on' THEN   -- state_rebuild() follows
        RETURN NULL;
    END IF;
    PERFORM patrol_state_refresh(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.compound_id END,
                                       CASE WHEN TG_OP <> 'DELETE' THEN NEW.compound_id END]);
    RETURN NULL;
END $$;
CREATE TRIGGER patrol_touch AFTER INSERT OR DELETE OR UPDATE OF compound_id, visited_at ON patrol
    FOR EACH ROW EXECUTE FUNCTION patrol_touch();

-- state_rebuild() of 0006 now also rebuilds the patrol state: the issue-side rebuild keeps
-- its body under a new name, and state_rebuild() calls both.
ALTER FUNCTION state_rebuild() RENAME TO state_rebuild_issues;
CREATE FUNCTION state_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM state_rebuild_issues();
    TRUNCATE patrol_state;
    INSERT INTO patrol_state
    SELECT c.community_id, c.id, p.last
      FROM compound c JOIN (SELECT compound_id, max(visited_at) AS last FROM patrol GROUP BY 1) p
        ON p.compound_id = c.id;
END $$;
