-- Idempotency keys of issue records (the map's record form, API clients, Open311 POST). A
-- client that retries a request whose answer it never saw sends the same key again and gets
-- the issue the first attempt stored, never a second copy. The key is written in the
-- transaction that writes the issue: both are there or neither.
--
-- fingerprint  a hash of who sent what (the actor and the issue's fields), so that a key
--              reused for another request is refused instead of answered with the wrong issue.
-- The key belongs to the request, not to the issue: its primary key is the key alone, so the
-- database itself stores a key once. It is a log of requests, not a table hanging off issue
-- (no foreign key into it; issues are never deleted): on Citus it is distributed by its own
-- key, and the pair (issue_id, community_id) finds the issue on its shard.
CREATE TABLE issue_request_key (
    key           text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    fingerprint   text NOT NULL,
    issue_id      int NOT NULL,
    community_id  int NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Concurrent writes to the issues of one compound (records and advances at once, as the load
-- test of `make bench LOAD=1` makes them) raced in state_refresh (0006): each transaction
-- deleted the compound's state row and inserted a fresh one, so the second failed on the
-- primary key the first had just filled again (a 500), and its counts, taken from a snapshot
-- without the first's work, could be stale. Refreshes of one compound, grid or community now
-- take turns.
-- Transaction-scoped advisory locks on (class, id) for these ids, taken one by one in
-- ascending order.
CREATE FUNCTION state_lock(class int, ids int[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    one int;
BEGIN
    FOR one IN SELECT DISTINCT x FROM unnest(ids) AS x WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(class, one);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION state_refresh(compounds int[], grids int[], communities int[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    compounds := array_remove(compounds, NULL);
    grids := array_remove(grids, NULL);
    communities := array_remove(communities, NULL);
    -- One refresh of a compound, grid or community at a time, each waiting for the one before
    -- to commit: the statements below then count from a snapshot that holds its work. Taken
    -- in one order (compounds, grids, communities; ascending ids) so refreshes never deadlock.
    PERFORM state_lock(7146101, compounds);
    PERFORM state_lock(7146102, grids);
    PERFORM state_lock(7146103, communities || ARRAY(SELECT community_id FROM compound WHERE id = ANY(compounds)));
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
