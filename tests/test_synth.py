"""The synthetic city beside the sample: its hierarchy and counts, places nested without
overlaps, and everything the loader computes in place of the triggers it skips (issue
places, deadlines, on-time flags, grid colors, the state tables) equal to what PostGIS and
the triggers give. The sample subdistrict is left exactly as it was."""
import math
import re

import pytest
import sqlalchemy as sa

from data import synth
from layers.db import make_engine
from tests.conftest import _new_database
from tests.helpers import q

COMPOUNDS, ISSUES, DISTRICTS, SUBDISTRICTS = 500, 5000, 2, 6
SAMPLE_BBOX = "113.26,34.78,113.32,34.84"
CITY = "SELECT id FROM district WHERE name LIKE '合成%'"
CITY_COMMUNITIES = f"""SELECT m.id FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id
                        WHERE s.district_id IN ({CITY})"""
# Everything of the sample 中心路街道 and its district, as one checksum.
SAMPLE_FINGERPRINT = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(concat_ws(',', d.id, d.name, d.is_sample, ST_AsEWKB(d.geom)), ';' ORDER BY d.id)
       FROM district d WHERE d.name = '上街区'),
    (SELECT string_agg(concat_ws(',', s.id, s.name, s.is_sample, ST_AsEWKB(s.geom)), ';' ORDER BY s.id)
       FROM subdistrict s WHERE s.name = '中心路街道'),
    (SELECT string_agg(m::text, ';' ORDER BY m.id) FROM community m WHERE m.subdistrict_id =
       (SELECT id FROM subdistrict WHERE name = '中心路街道')),
    (SELECT string_agg(g::text, ';' ORDER BY g.id) FROM grid g JOIN community m ON m.id = g.community_id
      JOIN subdistrict s ON s.id = m.subdistrict_id WHERE s.name = '中心路街道'),
    (SELECT string_agg(c::text, ';' ORDER BY c.id) FROM compound c JOIN community m ON m.id = c.community_id
      JOIN subdistrict s ON s.id = m.subdistrict_id WHERE s.name = '中心路街道'),
    (SELECT string_agg(i::text, ';' ORDER BY i.id) FROM issue i JOIN community m ON m.id = i.community_id
      JOIN subdistrict s ON s.id = m.subdistrict_id WHERE s.name = '中心路街道'),
    (SELECT string_agg(cs::text, ';' ORDER BY cs.compound_id) FROM compound_state cs JOIN community m
       ON m.id = cs.community_id JOIN subdistrict s ON s.id = m.subdistrict_id WHERE s.name = '中心路街道'),
    (SELECT string_agg(t::text, ';' ORDER BY t.community_id, t.stage, t.category, t.on_time) FROM issue_tally t
      JOIN community m ON m.id = t.community_id JOIN subdistrict s ON s.id = m.subdistrict_id
      WHERE s.name = '中心路街道')))"""
# What the loader's upkeep switch must put back: indexes, constraints, enabled triggers.
CATALOG = """
SELECT (SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'),
       (SELECT string_agg(d, ';' ORDER BY d) FROM (SELECT concat_ws(' ', conrelid::regclass, conname,
               pg_get_constraintdef(oid)) AS d FROM pg_constraint WHERE connamespace = 'public'::regnamespace) c),
       (SELECT string_agg(d, ';' ORDER BY d) FROM (SELECT concat_ws(' ', tgrelid::regclass, tgname, tgenabled) AS d
          FROM pg_trigger WHERE NOT tgisinternal) t)"""
# The state the triggers and state_rebuild() keep, minus the community versions (a new
# data_version value at each rebuild).
STATE = """
SELECT (SELECT string_agg(s::text, ';' ORDER BY s.compound_id) FROM compound_state s),
       (SELECT string_agg(s::text, ';' ORDER BY s.grid_id) FROM grid_state s),
       (SELECT string_agg(concat_ws(',', community_id, open_issues, due_soon_at, due_at), ';'
                          ORDER BY community_id) FROM community_state),
       (SELECT string_agg(t::text, ';' ORDER BY community_id, stage, category, on_time) FROM issue_tally t),
       (SELECT string_agg(t::text, ';' ORDER BY community_id, month) FROM issue_month t)"""


@pytest.fixture(scope="module")
def city(cluster, template_db):
    """A copy of the sample database with a synthetic city loaded beside it, and what the
    sample and the catalog looked like before."""
    eng = make_engine(_new_database(cluster, template_db))
    before = dict(sample=q(eng, SAMPLE_FINGERPRINT)[0][0], catalog=tuple(q(eng, CATALOG)[0]))
    summary = synth.load(eng, COMPOUNDS, ISSUES, districts=DISTRICTS, subdistricts=SUBDISTRICTS,
                         seed=7, progress=False)
    yield eng, summary, before
    eng.dispose()


def test_the_hierarchy_has_the_counts_asked_for(city):
    eng, summary, _ = city
    communities, grids = math.ceil(COMPOUNDS / 24), math.ceil(COMPOUNDS / 4)
    counts = q(eng, f"""
        SELECT (SELECT count(*) FROM district WHERE id IN ({CITY})),
               (SELECT count(*) FROM subdistrict WHERE district_id IN ({CITY})),
               (SELECT count(*) FROM community WHERE id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM grid WHERE community_id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM compound WHERE community_id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM building b JOIN compound c ON c.id = b.compound_id
                 WHERE c.community_id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM unit u JOIN building b ON b.id = u.building_id JOIN compound c
                    ON c.id = b.compound_id WHERE c.community_id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM issue WHERE community_id IN ({CITY_COMMUNITIES}))""")[0]
    assert tuple(counts) == (DISTRICTS, SUBDISTRICTS, communities, grids, COMPOUNDS, 2 * COMPOUNDS,
                             4 * COMPOUNDS, ISSUES)
    # Subdistricts spread evenly over the districts, communities over the subdistricts.
    per_district = {n for (n,) in q(eng, f"""SELECT count(*) FROM subdistrict WHERE district_id IN ({CITY})
                                             GROUP BY district_id""")}
    per_subdistrict = {n for (n,) in q(eng, f"""SELECT count(*) FROM community WHERE id IN ({CITY_COMMUNITIES})
                                                GROUP BY subdistrict_id""")}
    assert per_district == {SUBDISTRICTS // DISTRICTS}
    assert per_subdistrict == {communities // SUBDISTRICTS, communities // SUBDISTRICTS + 1}
    # Every place can be searched for (/api/search).
    assert q(eng, """SELECT (SELECT count(*) FROM place_search) = (SELECT count(*) FROM district)
                            + (SELECT count(*) FROM subdistrict) + (SELECT count(*) FROM community)
                            + (SELECT count(*) FROM grid) + (SELECT count(*) FROM compound)""")[0][0]
    for words in (f"{DISTRICTS} 个区", f"{SUBDISTRICTS} 个街道", f"{communities} 个社区", f"{COMPOUNDS} 个楼院",
                  f"{ISSUES} 件诉求", "秒"):
        assert words in summary


def test_every_post_is_filled_or_counted_empty(city):
    eng, _, _ = city
    heads, empty, orgs = q(eng, f"""
        SELECT (SELECT count(*) FROM head h JOIN compound c ON c.id = h.compound_id
                 WHERE c.community_id IN ({CITY_COMMUNITIES})),
               (SELECT sum(missing_heads) FROM compound_state WHERE community_id IN ({CITY_COMMUNITIES})),
               (SELECT count(*) FROM compound_state WHERE has_org AND community_id IN ({CITY_COMMUNITIES}))""")[0]
    assert heads + empty == 7 * COMPOUNDS      # a compound head, 2 building heads, 4 unit heads
    assert 0 < empty < 0.1 * 7 * COMPOUNDS and 0 < orgs < COMPOUNDS


def test_names_look_chinese_and_say_sample(city):
    eng, _, _ = city
    rows = q(eng, f"""
        SELECT d.name, d.is_sample, s.name, s.is_sample, m.name
          FROM district d JOIN subdistrict s ON s.district_id = d.id JOIN community m ON m.subdistrict_id = s.id
         WHERE d.id IN ({CITY})""")
    han = re.compile(r"^[\u4e00-\u9fff]+$")
    for district, district_sample, subdistrict, subdistrict_sample, community in rows:
        assert district.startswith("合成") and district.endswith("区") and han.match(district)
        assert subdistrict.endswith("街道") and han.match(subdistrict)
        assert community.endswith("社区") and han.match(community)
        assert district_sample and subdistrict_sample
    assert q(eng, "SELECT bool_and(is_sample) FROM subdistrict")[0][0] is True
    compounds = q(eng, f"SELECT name FROM compound WHERE community_id IN ({CITY_COMMUNITIES})")
    assert all(han.match(name) for (name,) in compounds)


def test_places_nest_without_overlapping(city):
    eng, _, _ = city
    inside = q(eng, f"""
        SELECT (SELECT count(*) FROM compound c JOIN grid g ON g.id = c.grid_id
                 WHERE c.community_id IN ({CITY_COMMUNITIES})
                   AND (g.community_id <> c.community_id OR NOT ST_Within(c.geom, g.geom))),
               (SELECT count(*) FROM grid g JOIN community m ON m.id = g.community_id
                 WHERE m.id IN ({CITY_COMMUNITIES}) AND NOT ST_CoveredBy(g.geom, m.geom)),
               (SELECT count(*) FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id
                 WHERE m.id IN ({CITY_COMMUNITIES}) AND NOT ST_CoveredBy(m.geom, s.geom)),
               (SELECT count(*) FROM subdistrict s JOIN district d ON d.id = s.district_id
                 WHERE d.id IN ({CITY}) AND NOT ST_CoveredBy(s.geom, d.geom)),
               (SELECT count(*) FROM building b JOIN compound c ON c.id = b.compound_id
                 WHERE c.community_id IN ({CITY_COMMUNITIES}) AND NOT ST_Within(b.geom, c.geom))""")[0]
    assert tuple(inside) == (0, 0, 0, 0, 0)
    overlaps = q(eng, """
        SELECT (SELECT count(*) FROM compound a JOIN compound b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)),
               (SELECT count(*) FROM grid a JOIN grid b ON a.id < b.id AND ST_Overlaps(a.geom, b.geom)),
               (SELECT count(*) FROM community a JOIN community b ON a.id < b.id AND ST_Overlaps(a.geom, b.geom)),
               (SELECT count(*) FROM subdistrict a JOIN subdistrict b ON a.id < b.id AND ST_Overlaps(a.geom, b.geom)),
               (SELECT count(*) FROM district a JOIN district b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
                   AND (a.name = '上街区' OR b.name = '上街区'))""")[0]
    assert tuple(overlaps) == (0, 0, 0, 0, 0)
    # Subdistricts and districts are exactly the unions of what they hold.
    unions = q(eng, f"""
        SELECT (SELECT count(*) FROM subdistrict s WHERE s.district_id IN ({CITY}) AND NOT ST_Equals(s.geom,
                  (SELECT ST_Union(m.geom) FROM community m WHERE m.subdistrict_id = s.id))),
               (SELECT count(*) FROM district d WHERE d.id IN ({CITY}) AND NOT ST_Equals(d.geom,
                  (SELECT ST_Union(s.geom) FROM subdistrict s WHERE s.district_id = d.id)))""")[0]
    assert tuple(unions) == (0, 0)
    # The city lies east of the sample and does not touch it.
    assert q(eng, f"""SELECT (SELECT ST_XMin(ST_Extent(geom)) FROM district WHERE id IN ({CITY}))
                           > (SELECT ST_XMax(geom) FROM district WHERE name = '上街区')""")[0][0]


def test_issue_places_agree_with_postgis(city):
    eng, _, _ = city
    rows = q(eng, f"""
        SELECT i.id, i.community_id, i.grid_id, i.compound_id,
               (SELECT id FROM community m WHERE ST_Covers(m.geom, i.geom) ORDER BY id LIMIT 1),
               (SELECT id FROM grid g WHERE ST_Covers(g.geom, i.geom) ORDER BY id LIMIT 1),
               (SELECT id FROM compound c WHERE ST_Covers(c.geom, i.geom) ORDER BY id LIMIT 1)
          FROM issue i WHERE i.community_id IN ({CITY_COMMUNITIES}) ORDER BY random() LIMIT 300""")
    assert len(rows) == 300
    assert [r[1:4] for r in rows] == [r[4:7] for r in rows]
    # Both kinds were checked: issues inside compounds and on the streets between them.
    assert any(r[3] is None for r in rows) and any(r[3] is not None for r in rows)


def test_deadlines_and_places_equal_what_the_triggers_give(city):
    eng, _, _ = city
    columns = "id, community_id, grid_id, compound_id, due_soon_at, due_at, closed_on_time"
    picked = f"""SELECT id FROM issue WHERE community_id IN ({CITY_COMMUNITIES})
                  AND (id % 10 = 0 OR closed_on_time)"""
    with eng.connect() as conn:
        before = conn.execute(sa.text(f"SELECT {columns} FROM issue WHERE id IN ({picked}) ORDER BY id")).all()
        # issue_locate and issue_due run again (the latter reads closed_on_time off the event log).
        conn.execute(sa.text(f"UPDATE issue SET geom = geom, stage_changed_at = stage_changed_at WHERE id IN ({picked})"))
        after = conn.execute(sa.text(f"SELECT {columns} FROM issue WHERE id IN ({picked}) ORDER BY id")).all()
        conn.rollback()
    assert len(before) > 400 and before == after
    # Open issues, and closed ones both on time and late, were among them.
    assert any(r.due_at is not None for r in before)
    assert {r.closed_on_time for r in before} == {None, True, False}


def test_the_state_tables_equal_a_rebuild_and_the_row_triggers(city):
    eng, _, _ = city
    with eng.connect() as conn:
        conn.execute(sa.text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))   # as test_state
        loaded = conn.execute(sa.text(STATE)).one()
        conn.execute(sa.text("SELECT state_rebuild()"))
        rebuilt = conn.execute(sa.text(STATE)).one()
        conn.rollback()
        # The row triggers recompute the compounds, grids and communities an issue touches.
        conn.execute(sa.text(f"""UPDATE issue SET title = title WHERE id IN (SELECT min(id) FROM issue
                                  WHERE community_id IN ({CITY_COMMUNITIES}) GROUP BY compound_id)"""))
        triggered = conn.execute(sa.text(STATE)).one()
        conn.rollback()
    assert loaded == rebuilt == triggered
    open_issues = q(eng, "SELECT (SELECT sum(open_issues) FROM community_state), "
                         "(SELECT count(*) FROM issue WHERE due_at IS NOT NULL)")[0]
    assert open_issues[0] == open_issues[1] > 0


def test_touching_grids_have_different_colors(city):
    eng, _, _ = city
    clashes = q(eng, f"""SELECT count(*) FROM grid a JOIN grid b ON a.id < b.id AND a.color = b.color
                          AND ST_DWithin(a.geom, b.geom, 1e-6) WHERE a.community_id IN ({CITY_COMMUNITIES})""")
    touching = q(eng, f"""SELECT count(*) FROM grid a JOIN grid b ON a.id < b.id AND ST_Touches(a.geom, b.geom)
                           WHERE a.community_id IN ({CITY_COMMUNITIES})""")
    assert clashes[0][0] == 0 and touching[0][0] > 100


def test_the_sample_and_the_schema_are_as_before(city):
    eng, _, before = city
    assert q(eng, SAMPLE_FINGERPRINT)[0][0] == before["sample"]
    assert tuple(q(eng, CATALOG)[0]) == before["catalog"]
    # (the issue count apart: Citus runs no subquery on the issues correlated with places)
    sample = "s.name = '中心路街道'"
    figures = [*q(eng, f"""
        SELECT count(DISTINCT m.id), count(DISTINCT c.id)
          FROM subdistrict s JOIN community m ON m.subdistrict_id = s.id JOIN compound c ON c.community_id = m.id
         WHERE {sample}""")[0], q(eng, f"""
        SELECT count(*) FROM issue i JOIN community m ON m.id = i.community_id
          JOIN subdistrict s ON s.id = m.subdistrict_id JOIN category k ON k.code = i.category
         WHERE {sample} AND i.stage = 'closed' AND k.livelihood""")[0][0], q(eng, f"""
        SELECT count(DISTINCT o.compound_id) FROM self_governance_org o JOIN compound c ON c.id = o.compound_id
          JOIN community m ON m.id = c.community_id JOIN subdistrict s ON s.id = m.subdistrict_id
         WHERE {sample}""")[0][0]]
    assert tuple(figures) == (14, 62, 131, 28)


def test_a_second_city_is_refused(city):
    eng, _, _ = city
    with pytest.raises(synth.SynthError, match="已存在"):
        synth.load(eng, 30, 0, progress=False)
    assert q(eng, "SELECT count(*) FROM compound")[0][0] == 62 + COMPOUNDS


@pytest.mark.parametrize("sizes, option", [
    ((0, 10), "--compounds"), ((synth.MAX_COMPOUNDS + 1, 0), "--compounds"), ((5, -1), "--issues"),
    ((5, synth.MAX_ISSUES + 1), "--issues"), ((500, 5, None, 0), "--subdistricts"),
    ((500, 5, None, 22), "--subdistricts"), ((500, 5, 0, None), "--districts"), ((500, 5, 4, 3), "--districts")])
def test_bad_arguments_are_refused_by_name(sizes, option):
    with pytest.raises(synth.SynthError, match=f"^{option} 须在 .* \\({option} must be between"):
        synth.check(*sizes)


def test_default_sizes_follow_a_real_city():
    assert synth.check(50_000, 10**6) == (14, 200)     # ~250 compounds a subdistrict, ≤ 15 a district
    assert synth.check(30, 0) == (1, 1)


def test_cli_beside_the_sample(app, engine, client):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["synth", "city", "--compounds", "60", "--issues", "5", "--subdistricts", "9"])
    assert refused.exit_code != 0 and "--subdistricts 须在 1 到 3" in refused.output
    assert q(engine, "SELECT count(*) FROM subdistrict")[0][0] == 1

    result = runner.invoke(args=["synth", "city", "--compounds", "60", "--issues", "500", "--districts", "1",
                                 "--subdistricts", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "60 个楼院" in result.output and "500 件诉求" in result.output
    assert q(engine, "SELECT count(*) FROM compound")[0][0] == 62 + 60
    assert q(engine, "SELECT count(*) FROM subdistrict")[0][0] == 1 + 2

    # The sample's map is unchanged by a city beside it, and the city answers a lookup.
    sample = client.get(f"/api/layers/compounds.geojson?bbox={SAMPLE_BBOX}").get_json()
    assert len(sample["features"]) == 62
    lon, lat = synth.ORIGIN[0] + synth.CELL_W / 2, synth.ORIGIN[1] + synth.CELL_H / 2
    community, compound = q(engine, f"""SELECT m.name, c.name FROM compound c JOIN community m ON m.id = c.community_id
                                         WHERE ST_Covers(c.geom, ST_Point({lon}, {lat}, 4326))""")[0]
    found = client.get(f"/api/lookup?lon={lon}&lat={lat}").get_json()
    assert (found["community"], found["compound"]) == (community, compound)
    assert community.endswith("社区")
