-- The personal-data access log (PIPL art. 51, GB/T 35273 §9): who was shown which 三长 or grid
-- leader phone, or which issue's reporter contact, unmasked, and when. Queries show a phone through
-- revealed(), which records the reveal as it happens: a masked value never calls it, so a masked
-- view logs nothing. A bulk view (an export) logs one row with the number of contacts it held.
CREATE TABLE personal_data_access (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    request_id    text NOT NULL,               -- one request; one row per subject in it
    user_id       int REFERENCES app_user ON DELETE SET NULL,
    user_name     text NOT NULL,               -- kept when the account is gone
    role          text NOT NULL,
    route         text NOT NULL,               -- e.g. "GET /api/lookup"
    subject_kind  text NOT NULL CHECK (subject_kind IN
                      ('head', 'grid_leader', 'reporter', 'roster_export', 'ledger_export')),
    subject_id    int,                         -- head.id, grid.id or issue.id; NULL for an export
    contacts      int NOT NULL DEFAULT 1,      -- how many contacts the row stands for
    detail        text,                        -- an export's scope and filter
    UNIQUE (request_id, subject_kind, subject_id)
);
CREATE INDEX personal_data_access_at_idx ON personal_data_access (at DESC);
CREATE INDEX personal_data_access_user_idx ON personal_data_access (user_id, at DESC);
CREATE INDEX personal_data_access_subject_idx ON personal_data_access (subject_kind, subject_id, at DESC);
CREATE TRIGGER personal_data_access_no_update BEFORE UPDATE OR DELETE ON personal_data_access
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- Who is looking: set per transaction by the app (layers/db.py, from the signed-in user);
-- without it the database role is recorded, so nothing is shown unlogged.
CREATE FUNCTION access_log_accessor() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('gridmap.accessor', true), '')::jsonb,
                    jsonb_build_object('request', txid_current()::text, 'name', session_user::text,
                                       'role', 'database', 'route', 'sql'))
$$;

-- ``value`` unchanged, after logging that the viewer was shown it (when it is not NULL). In a
-- read-only transaction (a read-only or standby database) the log cannot be written, so the
-- value is withheld (NULL) rather than shown unlogged, and the read goes on.
CREATE FUNCTION revealed(kind text, subject int, value text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    a jsonb;
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN NULL;
    END IF;
    IF value IS NOT NULL AND value <> '' THEN
        a := access_log_accessor();
        INSERT INTO personal_data_access (request_id, user_id, user_name, role, route, subject_kind, subject_id)
        VALUES (a->>'request', (a->>'user_id')::int, a->>'name', a->>'role', a->>'route', kind, subject)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN value;
END $$;

-- One row for a bulk view of ``contacts`` contacts (an export), with its scope in ``detail``.
CREATE FUNCTION revealed_bulk(kind text, contacts int, detail text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    a jsonb := access_log_accessor();
BEGIN
    IF contacts > 0 THEN
        INSERT INTO personal_data_access (request_id, user_id, user_name, role, route, subject_kind,
                                          contacts, detail)
        VALUES (a->>'request', (a->>'user_id')::int, a->>'name', a->>'role', a->>'route', kind,
                contacts, detail);
    END IF;
END $$;
