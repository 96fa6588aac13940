"""The sample subdistrict reproduces the source document's figures, read back from PostGIS."""
import sqlalchemy as sa

from data import sample
from tests.helpers import scalar


def test_seed_figures(engine):
    with engine.connect() as conn:
        f = conn.execute(sa.text(sample.FIGURES_SQL)).mappings().one()
    assert f["communities"] == 14
    assert f["compounds"] == 62
    assert f["venues"] == 65
    assert f["meetings"] >= 400
    assert f["npc"] == 35
    assert f["cppcc"] == 24
    assert f["orgs"] == 28
    assert f["resolved"] == 131


def test_every_community_has_a_cppcc_member(engine):
    assert scalar(engine, """
        SELECT count(DISTINCT dc.community_id) FROM deputy_community dc
        JOIN deputy d ON d.id = dc.deputy_id WHERE d.kind = 'cppcc_member'""") == 14


def test_named_places_and_cases(engine):
    with engine.connect() as conn:
        communities = set(conn.execute(sa.text("SELECT name FROM community")).scalars())
        compounds = dict(conn.execute(sa.text(
            "SELECT c.name, m.name FROM compound c JOIN community m ON m.id = c.community_id")).all())
        titles = set(conn.execute(sa.text("SELECT title FROM issue")).scalars())
    assert {"江南小镇社区", "汇丰社区", "如意街社区", "盛世社区", "颐苑社区"} <= communities
    assert compounds["乐福国际小区"] == "汇丰社区"
    assert {"溪畔美域", "颐和美丽园", "中央名邸"} <= set(compounds)
    assert "乐福国际小区北侧道路因强降雨损毁" in titles
    road = scalar(engine, "SELECT result FROM issue WHERE title = '乐福国际小区北侧道路因强降雨损毁'")
    assert all(figure in road for figure in ("230 米", "12 处", "1 处", "22 个"))
    certificates = scalar(engine, """SELECT sum(substring(result from ' (\\d+) 户')::int) FROM issue
                               WHERE category = 'property' AND result LIKE '%不动产证%'""")
    assert certificates == 593


def test_geometry_is_placed_in_shangjie_and_labelled_sample(engine):
    assert scalar(engine, "SELECT bool_and(is_sample) FROM subdistrict") is True
    extent = scalar(engine, "SELECT ST_AsText(ST_Extent(geom)::geometry) FROM compound")
    assert scalar(engine, f"""SELECT ST_Within(ST_GeomFromText('{extent}', 4326),
                                ST_MakeEnvelope(113.27, 34.79, 113.31, 34.83, 4326))""")


def test_places_are_nested_and_do_not_overlap(engine):
    assert scalar(engine, """SELECT count(*) FROM compound a JOIN compound b
                        ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""") == 0
    assert scalar(engine, """SELECT count(*) FROM community a JOIN community b
                        ON a.id < b.id AND ST_Overlaps(a.geom, b.geom)""") == 0
    assert scalar(engine, """SELECT count(*) FROM compound c JOIN grid g ON g.id = c.grid_id
                        WHERE NOT ST_Within(c.geom, g.geom)""") == 0
    assert scalar(engine, """SELECT count(*) FROM grid g JOIN community m ON m.id = g.community_id
                        WHERE NOT ST_CoveredBy(g.geom, ST_Buffer(m.geom, 1e-9))""") == 0
    assert scalar(engine, """SELECT count(*) FROM building b JOIN compound c ON c.id = b.compound_id
                        WHERE NOT ST_Within(b.geom, c.geom)""") == 0
    assert scalar(engine, "SELECT count(*) FROM building b WHERE NOT EXISTS "
                     "(SELECT 1 FROM unit u WHERE u.building_id = b.id)") == 0


def test_heads_cover_nearly_everything_with_a_few_gaps(engine):
    units = scalar(engine, "SELECT count(*) FROM unit")
    unit_heads = scalar(engine, "SELECT count(DISTINCT unit_id) FROM head WHERE role = 'unit_head'")
    compound_heads = scalar(engine, "SELECT count(DISTINCT compound_id) FROM head WHERE role = 'compound_head'")
    assert 0.95 * units <= unit_heads < units
    assert 55 <= compound_heads < 62
    compounds_with_gaps = scalar(engine, """SELECT count(DISTINCT b.compound_id) FROM unit u
        JOIN building b ON b.id = u.building_id
        WHERE NOT EXISTS (SELECT 1 FROM head h WHERE h.unit_id = u.id)""")
    assert 3 <= compounds_with_gaps <= 12
    # invented phone numbers follow a plainly fake pattern
    assert scalar(engine, "SELECT count(*) FROM head WHERE phone !~ '^1[3-9]\\d0000\\d{4}$'") == 0


def test_issues_span_all_stages_and_two_years(engine):
    stages = scalar(engine, "SELECT count(DISTINCT stage) FROM issue")
    assert stages == scalar(engine, "SELECT count(*) FROM stage")
    assert 200 <= scalar(engine, "SELECT count(*) FROM issue") <= 600
    assert scalar(engine, "SELECT now() - min(reported_at) > interval '600 days' FROM issue")
    # every issue's log starts at `reported` and ends at its current stage
    assert scalar(engine, """SELECT count(*) FROM issue i WHERE i.stage <> (
                          SELECT to_stage FROM issue_event e WHERE e.community_id = i.community_id AND e.issue_id = i.id
                          ORDER BY at DESC, id DESC LIMIT 1)""") == 0


def test_issues_cluster_into_hotspots(engine):
    """The busiest compound has several times the average number of issues."""
    assert scalar(engine, """SELECT max(n) >= 3 * avg(n) FROM (SELECT count(*) n FROM issue
                        WHERE compound_id IS NOT NULL GROUP BY compound_id) x""")


def test_loading_twice_changes_nothing(engine):
    before = scalar(engine, "SELECT count(*) FROM issue")
    assert "已存在" in sample.load(engine, progress=False)
    assert scalar(engine, "SELECT count(*) FROM issue") == before
