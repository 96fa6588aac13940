-- The grid-governance data model: places (subdistrict → community → grid → compound →
-- building → unit), the people responsible for them, residents' issues and their
-- consultation. Geometry is stored in WGS84 (EPSG:4326); lookup lists are tables, not
-- enums, so the subdistrict can extend them without a migration.
CREATE EXTENSION IF NOT EXISTS postgis;

-- lookup lists ------------------------------------------------------------------------
CREATE TABLE stage (
    code     text PRIMARY KEY,
    ordinal  int  NOT NULL UNIQUE,
    is_open  boolean NOT NULL,
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO stage VALUES
    ('reported',  0, true,  '诉求收集', 'Reported'),
    ('topic',     1, true,  '确定议题', 'Topic set'),
    ('notice',    2, true,  '公示告知', 'Notice'),
    ('consult',   3, true,  '开展协商', 'Consultation'),
    ('implement', 4, true,  '组织实施', 'Implementation'),
    ('publish',   5, true,  '公示结果', 'Result published'),
    ('feedback',  6, true,  '反馈情况', 'Feedback'),
    ('closed',    7, false, '已办结',   'Closed'),
    ('rejected',  8, false, '不予受理', 'Rejected'),
    ('merged',    9, false, '已合并',   'Merged');

CREATE TABLE platform (
    code     text PRIMARY KEY,
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO platform VALUES
    ('bench_talk',        '小板凳恳谈会',                 'Bench talk'),
    ('cppcc_consult',     '政协“有事好商量”协商议事平台', 'CPPCC consultation platform'),
    ('npc_station',       '人大代表联络站',               'NPC deputies'' liaison station'),
    ('residents_council', '街道居民议事会',               'Residents'' council');

CREATE TABLE head_role (
    code     text PRIMARY KEY,
    rank     int  NOT NULL UNIQUE,
    name_zh  text NOT NULL UNIQUE,
    name_en  text NOT NULL,
    level    text NOT NULL CHECK (level IN ('compound', 'building', 'unit'))
);
INSERT INTO head_role VALUES
    ('compound_head', 1, '楼院长', 'Compound head', 'compound'),
    ('building_head', 2, '楼栋长', 'Building head', 'building'),
    ('unit_head',     3, '单元长', 'Unit head',     'unit');

CREATE TABLE channel (
    code     text PRIMARY KEY,
    online   boolean NOT NULL,
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO channel VALUES
    ('bench_talk',      false, '小板凳恳谈会',   'Bench talk'),
    ('council',         false, '居民议事会',     'Residents'' council'),
    ('home_visit',      false, '入户走访',       'Home visit'),
    ('phone',           false, '电话',           'Phone'),
    ('zhongzhong_tv',   true,  '中中云视听',     'Zhongzhong Cloud AV'),
    ('public_opinion',  true,  '社情民意直通车', 'Public-opinion express'),
    ('e_wangtong',      true,  '中中e网通',      'Zhongzhong e-Wangtong mini program');

CREATE TABLE category (
    code        text PRIMARY KEY,
    ordinal     int  NOT NULL UNIQUE,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    livelihood  boolean NOT NULL DEFAULT true
);
INSERT INTO category VALUES
    ('road',         1,  '道路',     'Roads',                 true),
    ('elevator',     2,  '电梯加装', 'Elevator retrofit',     true),
    ('utilities',    3,  '水电气暖', 'Water, power, gas, heat', true),
    ('property',     4,  '物业',     'Property management',   true),
    ('sanitation',   5,  '环境卫生', 'Sanitation',            true),
    ('parking',      6,  '停车充电', 'Parking and charging',  true),
    ('employment',   7,  '就业',     'Employment',            true),
    ('dispute',      8,  '纠纷',     'Disputes',              true),
    ('consumption',  9,  '促消费',   'Consumption',           false),
    ('services',     10, '便民服务', 'Community services',    true),
    ('other',        11, '其他',     'Other',                 true);

CREATE TABLE user_role (
    code     text PRIMARY KEY,
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO user_role VALUES
    ('public',          '公众',         'Public'),
    ('grid_leader',     '网格长',       'Grid leader'),
    ('community_staff', '社区工作人员', 'Community staff'),
    ('deputy',          '代表委员',     'Deputy'),
    ('official',        '街道领导',     'Official'),
    ('admin',           '管理员',       'Administrator');

-- places ------------------------------------------------------------------------------
CREATE TABLE subdistrict (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    is_sample  boolean NOT NULL DEFAULT false,
    geom       geometry(MultiPolygon, 4326) NOT NULL
               CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);

CREATE TABLE community (
    id              serial PRIMARY KEY,
    subdistrict_id  int NOT NULL REFERENCES subdistrict,
    name            text NOT NULL UNIQUE,
    geom            geometry(MultiPolygon, 4326) NOT NULL
                    CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);

CREATE TABLE grid (
    id            serial PRIMARY KEY,
    community_id  int NOT NULL REFERENCES community,
    name          text NOT NULL,
    leader_name   text,
    leader_phone  text,
    geom          geometry(MultiPolygon, 4326) NOT NULL
                  CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    UNIQUE (community_id, name)
);

CREATE TABLE compound (
    id            serial PRIMARY KEY,
    community_id  int NOT NULL REFERENCES community,
    grid_id       int REFERENCES grid,
    name          text NOT NULL,
    households    int CHECK (households >= 0),
    geom          geometry(MultiPolygon, 4326) NOT NULL
                  CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    UNIQUE (community_id, name)
);

CREATE TABLE building (
    id           serial PRIMARY KEY,
    compound_id  int NOT NULL REFERENCES compound ON DELETE CASCADE,
    name         text NOT NULL,
    floors       int CHECK (floors > 0),
    geom         geometry(MultiPolygon, 4326) NOT NULL
                 CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    UNIQUE (compound_id, name)
);

CREATE TABLE unit (
    id           serial PRIMARY KEY,
    building_id  int NOT NULL REFERENCES building ON DELETE CASCADE,
    name         text NOT NULL,
    UNIQUE (building_id, name)
);

-- the 三长 (电子底册) --------------------------------------------------------------------
CREATE TABLE head (
    id              serial PRIMARY KEY,
    role            text NOT NULL REFERENCES head_role,
    name            text NOT NULL CHECK (name <> ''),
    phone           text NOT NULL,
    compound_id     int  NOT NULL REFERENCES compound ON DELETE CASCADE,
    building_id     int  REFERENCES building ON DELETE CASCADE,
    unit_id         int  REFERENCES unit ON DELETE CASCADE,
    appointed_on    date,
    certificate_no  text,           -- 聘书编号
    retired_on      date,
    version         int  NOT NULL DEFAULT 1,   -- optimistic locking for concurrent edits
    CHECK (role <> 'building_head' OR building_id IS NOT NULL),
    CHECK (role <> 'unit_head' OR unit_id IS NOT NULL)
);
CREATE INDEX head_compound_idx ON head (compound_id);

-- consultation ------------------------------------------------------------------------
CREATE TABLE venue (
    id            serial PRIMARY KEY,
    community_id  int NOT NULL REFERENCES community,
    compound_id   int REFERENCES compound,
    name          text NOT NULL UNIQUE,
    geom          geometry(Point, 4326) NOT NULL
                  CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);

CREATE TABLE venue_platform (
    venue_id  int  NOT NULL REFERENCES venue ON DELETE CASCADE,
    platform  text NOT NULL REFERENCES platform,
    PRIMARY KEY (venue_id, platform)
);

CREATE TABLE deputy (
    id                  serial PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('npc_deputy', 'cppcc_member')),
    name                text NOT NULL,
    phone               text,
    liaison_station_id  int REFERENCES venue
);

CREATE TABLE deputy_community (
    deputy_id     int NOT NULL REFERENCES deputy ON DELETE CASCADE,
    community_id  int NOT NULL REFERENCES community,
    PRIMARY KEY (deputy_id, community_id)
);

CREATE TABLE self_governance_org (
    id           serial PRIMARY KEY,
    compound_id  int  NOT NULL REFERENCES compound ON DELETE CASCADE,
    name         text NOT NULL,
    kind         text NOT NULL,      -- 自管会, 幸福楼院服务队, 宜居家园服务队 ...
    founded_on   date
);

-- issues ------------------------------------------------------------------------------
CREATE TABLE issue (
    id              serial PRIMARY KEY,
    community_id    int  NOT NULL REFERENCES community,   -- the distribution key at scale
    grid_id         int  REFERENCES grid,
    compound_id     int  REFERENCES compound,
    title           text NOT NULL CHECK (title <> ''),
    description     text NOT NULL DEFAULT '',
    category        text NOT NULL REFERENCES category,
    channel         text NOT NULL REFERENCES channel,
    stage           text NOT NULL DEFAULT 'reported' REFERENCES stage,
    stage_reason    text,            -- why rejected or merged
    merged_into_id  int  REFERENCES issue,
    result          text,            -- the published result (公示结果)
    satisfaction    text CHECK (satisfaction IN ('satisfied', 'mostly_satisfied', 'unsatisfied')),
    reported_at     timestamptz NOT NULL DEFAULT now(),
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    version         int  NOT NULL DEFAULT 1,
    geom            geometry(Point, 4326) NOT NULL
                    CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CHECK (stage NOT IN ('rejected', 'merged') OR stage_reason IS NOT NULL)
);
CREATE INDEX issue_community_idx ON issue (community_id);
CREATE INDEX issue_compound_idx ON issue (compound_id);
CREATE INDEX issue_stage_idx ON issue (stage);

-- The reporter is personal data: kept apart so that no issue query can leak it by accident.
CREATE TABLE issue_reporter (
    issue_id  int PRIMARY KEY REFERENCES issue ON DELETE CASCADE,
    name      text,
    phone     text
);

CREATE TABLE issue_event (
    id          bigserial PRIMARY KEY,
    issue_id    int  NOT NULL REFERENCES issue ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    from_stage  text REFERENCES stage,
    to_stage    text NOT NULL REFERENCES stage,
    note        text
);
CREATE INDEX issue_event_issue_idx ON issue_event (issue_id, at);

CREATE FUNCTION issue_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issue_event is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER issue_event_no_update BEFORE UPDATE OR DELETE ON issue_event
    FOR EACH ROW EXECUTE FUNCTION issue_event_append_only();

-- Community, grid and compound of an issue come from its location, never from the client.
CREATE FUNCTION issue_locate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT id INTO NEW.community_id FROM community
     WHERE ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    IF NEW.community_id IS NULL THEN
        RAISE EXCEPTION 'location (%, %) is outside the subdistrict',
            round(ST_X(NEW.geom)::numeric, 6), round(ST_Y(NEW.geom)::numeric, 6)
            USING ERRCODE = 'check_violation', HINT = 'outside_subdistrict';
    END IF;
    SELECT id INTO NEW.grid_id FROM grid
     WHERE community_id = NEW.community_id AND ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    SELECT id INTO NEW.compound_id FROM compound
     WHERE community_id = NEW.community_id AND ST_Covers(geom, NEW.geom) ORDER BY id LIMIT 1;
    RETURN NEW;
END $$;
CREATE TRIGGER issue_locate BEFORE INSERT OR UPDATE OF geom ON issue
    FOR EACH ROW EXECUTE FUNCTION issue_locate();

CREATE TABLE meeting (
    id              serial PRIMARY KEY,
    venue_id        int  NOT NULL REFERENCES venue,
    platform        text NOT NULL REFERENCES platform,
    held_on         date NOT NULL,
    title           text NOT NULL,
    attendee_count  int  NOT NULL CHECK (attendee_count >= 0),
    attendee_kinds  text[] NOT NULL DEFAULT '{}'
                    CHECK (attendee_kinds <@ ARRAY['party_member', 'resident_rep', 'heads',
                           'volunteer', 'npc_deputy', 'cppcc_member']::text[]),
    minutes         text NOT NULL DEFAULT ''
);
CREATE INDEX meeting_venue_idx ON meeting (venue_id);

CREATE TABLE meeting_issue (
    meeting_id  int NOT NULL REFERENCES meeting ON DELETE CASCADE,
    issue_id    int NOT NULL REFERENCES issue ON DELETE CASCADE,
    PRIMARY KEY (meeting_id, issue_id)
);

-- accounts (filled in by the accounts work) -------------------------------------------
CREATE TABLE app_user (
    id               serial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    role             text NOT NULL REFERENCES user_role,
    password_hash    text NOT NULL,
    disabled         boolean NOT NULL DEFAULT false,
    session_version  int NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_area (
    user_id       int NOT NULL REFERENCES app_user ON DELETE CASCADE,
    community_id  int REFERENCES community,
    grid_id       int REFERENCES grid,
    CHECK ((community_id IS NULL) <> (grid_id IS NULL))
);

-- spatial indexes ---------------------------------------------------------------------
CREATE INDEX subdistrict_geom_idx ON subdistrict USING gist (geom);
CREATE INDEX community_geom_idx ON community USING gist (geom);
CREATE INDEX grid_geom_idx ON grid USING gist (geom);
CREATE INDEX compound_geom_idx ON compound USING gist (geom);
CREATE INDEX building_geom_idx ON building USING gist (geom);
CREATE INDEX venue_geom_idx ON venue USING gist (geom);
CREATE INDEX issue_geom_idx ON issue USING gist (geom);
