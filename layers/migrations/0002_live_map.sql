-- What the live map needs: a data version that every change bumps (the ETag of the layer
-- API: an unchanged poll costs one sequence read), per-stage deadlines for the SLA colors,
-- and masking done in SQL so personal data never leaves the database unmasked by mistake.

CREATE SEQUENCE data_version;

CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('data_version');
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['subdistrict', 'community', 'grid', 'compound', 'building', 'unit',
                             'head', 'venue', 'venue_platform', 'deputy', 'deputy_community',
                             'self_governance_org', 'issue', 'issue_event', 'meeting',
                             'meeting_issue', 'stage']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()',
                       t || '_bump_data_version', t);
    END LOOP;
END $$;

-- Days an issue may stay in each open stage before it is overdue (configurable data).
ALTER TABLE stage ADD COLUMN deadline_days int CHECK (deadline_days > 0);
UPDATE stage SET deadline_days = d.days FROM (VALUES
    ('reported', 3), ('topic', 7), ('notice', 7), ('consult', 15), ('implement', 30),
    ('publish', 7), ('feedback', 10)) AS d(code, days)
WHERE stage.code = d.code;

-- 王小明 → 王**; 13800001234 → 138****1234
CREATE FUNCTION mask_name(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN name IS NULL OR name = '' THEN name
                ELSE left(name, 1) || repeat('*', greatest(char_length(name) - 1, 1)) END
$$;
CREATE FUNCTION mask_phone(phone text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN phone IS NULL THEN NULL
                WHEN char_length(phone) >= 7 THEN left(phone, 3) || '****' || right(phone, 4)
                ELSE '****' END
$$;
