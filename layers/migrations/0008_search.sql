-- Place search (GET /api/search): districts, subdistricts, communities, grids and compounds
-- by Chinese name, pinyin initials (jnxz → 江南小镇社区) or full pinyin prefix.
--
-- One row per place in an indexed table, so that a query is a few index probes at any size of
-- city (50,000 compounds), never a scan of the places. Pinyin comes from Python (pypinyin):
-- layers/search.py refresh() indexes every place not yet here, and is called by whatever
-- writes places (the sample loader, the importers, the synthetic city). The triggers below
-- keep what SQL can keep: a renamed place's row is dropped (refresh() adds it again with its
-- new pinyin), a deleted place's row goes, and a moved or redrawn place gets its new parent
-- and bounds at once.

-- The characters and pairs of adjacent characters of the lower-cased text. A text contains
-- a query only if its grams contain the query's, so a GIN index on them finds the candidates
-- of a substring search in any language (pg_trgm ignores Chinese in some locales).
CREATE FUNCTION search_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT DISTINCT substr(lower(t), i, n)
                   FROM generate_series(1, char_length(t)) i, (VALUES (1), (2)) v(n)
                  WHERE i + n - 1 <= char_length(t))
$$;

CREATE TABLE place_search (
    kind       text NOT NULL CHECK (kind IN ('district', 'subdistrict', 'community', 'grid', 'compound')),
    id         int  NOT NULL,
    name       text COLLATE "C" NOT NULL,
    parent_id  int,                 -- the district of a subdistrict, the community of a grid ...
    parent     text,                -- ... and its name; none for a district
    initials   text COLLATE "C" NOT NULL,   -- lower case: jnxzsq
    pinyin     text COLLATE "C" NOT NULL,   -- lower case, no spaces: jiangnanxiaozhenshequ
    grams      text[] GENERATED ALWAYS AS (search_grams(name)) STORED,   -- for substring search
    minx       double precision NOT NULL,
    miny       double precision NOT NULL,
    maxx       double precision NOT NULL,
    maxy       double precision NOT NULL,
    PRIMARY KEY (kind, id)
);
-- Byte order ("C"): a prefix (LIKE 'jnxz%') is a range of each index, read in index order.
CREATE INDEX place_search_name_idx ON place_search (kind, name);
CREATE INDEX place_search_initials_idx ON place_search (kind, initials);
CREATE INDEX place_search_pinyin_idx ON place_search (kind, pinyin);
CREATE INDEX place_search_grams_idx ON place_search USING gin (grams);
CREATE INDEX place_search_parent_idx ON place_search (parent_id);

-- TG_ARGV: the parent's table and the column that points to it (none for a district), then
-- the kinds whose parent this table is.
CREATE FUNCTION place_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    this_kind text := TG_TABLE_NAME;   -- as text: a "name" would keep the index out of use
    parent_table text := nullif(TG_ARGV[0], '');
    parent_column text := nullif(TG_ARGV[1], '');
    children text[] := TG_ARGV[2:];
    new_parent int;
    new_parent_name text;
BEGIN
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

CREATE FUNCTION place_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM place_search WHERE kind = TG_TABLE_NAME::text;
    RETURN NULL;
END $$;

CREATE TRIGGER place_search_keep AFTER UPDATE OF name, geom OR DELETE ON district
    FOR EACH ROW EXECUTE FUNCTION place_search_keep('', '', 'subdistrict');
CREATE TRIGGER place_search_keep AFTER UPDATE OF name, geom, district_id OR DELETE ON subdistrict
    FOR EACH ROW EXECUTE FUNCTION place_search_keep('district', 'district_id', 'community');
CREATE TRIGGER place_search_keep AFTER UPDATE OF name, geom, subdistrict_id OR DELETE ON community
    FOR EACH ROW EXECUTE FUNCTION place_search_keep('subdistrict', 'subdistrict_id', 'grid', 'compound');
CREATE TRIGGER place_search_keep AFTER UPDATE OF name, geom, community_id OR DELETE ON grid
    FOR EACH ROW EXECUTE FUNCTION place_search_keep('community', 'community_id');
CREATE TRIGGER place_search_keep AFTER UPDATE OF name, geom, community_id OR DELETE ON compound
    FOR EACH ROW EXECUTE FUNCTION place_search_keep('community', 'community_id');
CREATE TRIGGER place_search_truncate AFTER TRUNCATE ON district
    FOR EACH STATEMENT EXECUTE FUNCTION place_search_truncate();
CREATE TRIGGER place_search_truncate AFTER TRUNCATE ON subdistrict
    FOR EACH STATEMENT EXECUTE FUNCTION place_search_truncate();
CREATE TRIGGER place_search_truncate AFTER TRUNCATE ON community
    FOR EACH STATEMENT EXECUTE FUNCTION place_search_truncate();
CREATE TRIGGER place_search_truncate AFTER TRUNCATE ON grid
    FOR EACH STATEMENT EXECUTE FUNCTION place_search_truncate();
CREATE TRIGGER place_search_truncate AFTER TRUNCATE ON compound
    FOR EACH STATEMENT EXECUTE FUNCTION place_search_truncate();
