"""The synthetic city: its counts, its nesting, and issues placed by the lattice exactly where
PostGIS (the issue_locate trigger it bypasses) would place them."""
import math

import pytest

from data import synth
from layers import migrate
from layers.db import make_engine
from tests.conftest import _new_database
from tests.helpers import q

COMPOUNDS, ISSUES = 100, 3000
SAMPLE_BBOX = "113.26,34.78,113.32,34.84"


@pytest.fixture(scope="module")
def city(cluster):
    eng = make_engine(_new_database(cluster, "template0"))
    migrate.upgrade(eng, echo=lambda *_: None)
    summary = synth.load(eng, COMPOUNDS, ISSUES, seed=7, progress=False)
    yield eng, summary
    eng.dispose()


def test_counts_match_the_arguments(city):
    eng, summary = city
    communities, grids = math.ceil(COMPOUNDS / 24), math.ceil(COMPOUNDS / 4)
    counts = q(eng, """SELECT (SELECT count(*) FROM subdistrict WHERE is_sample), (SELECT count(*) FROM community),
                              (SELECT count(*) FROM grid), (SELECT count(*) FROM compound),
                              (SELECT count(*) FROM building), (SELECT count(*) FROM unit),
                              (SELECT count(*) FROM head), (SELECT count(*) FROM issue)""")[0]
    assert tuple(counts) == (1, communities, grids, COMPOUNDS, 2 * COMPOUNDS, 4 * COMPOUNDS, 7 * COMPOUNDS, ISSUES)
    assert f"{COMPOUNDS} 个楼院" in summary and f"{ISSUES} 件诉求" in summary and "秒" in summary


def test_every_issue_has_its_reported_event_and_one_for_its_stage(city):
    eng, _ = city
    stages = {s for (s,) in q(eng, "SELECT DISTINCT stage FROM issue")}
    assert stages == {"reported", "topic", "notice", "consult", "implement", "publish", "feedback",
                      "closed", "rejected", "merged"}
    wrong = q(eng, """SELECT count(*) FROM issue i WHERE
                        (SELECT count(*) FROM issue_event e WHERE e.issue_id = i.id AND e.to_stage = 'reported') <> 1
                     OR (i.stage <> 'reported' AND NOT EXISTS (SELECT 1 FROM issue_event e
                            WHERE e.issue_id = i.id AND e.to_stage = i.stage AND e.at = i.stage_changed_at))""")
    assert wrong[0][0] == 0
    span = q(eng, "SELECT max(reported_at) - min(reported_at) FROM issue")[0][0]
    assert span.days > 600


def test_issue_places_agree_with_postgis(city):
    eng, _ = city
    rows = q(eng, """
        SELECT i.id, i.community_id, i.grid_id, i.compound_id,
               (SELECT id FROM community m WHERE ST_Covers(m.geom, i.geom) ORDER BY id LIMIT 1),
               (SELECT id FROM grid g WHERE ST_Covers(g.geom, i.geom) ORDER BY id LIMIT 1),
               (SELECT id FROM compound c WHERE ST_Covers(c.geom, i.geom) ORDER BY id LIMIT 1)
          FROM issue i ORDER BY random() LIMIT 200""")
    assert len(rows) == 200
    assert [r[1:4] for r in rows] == [r[4:7] for r in rows]
    # Both kinds were checked: issues inside compounds and on the streets between them.
    assert any(r[3] is None for r in rows) and any(r[3] is not None for r in rows)


def test_the_locate_trigger_is_back_on(city):
    eng, _ = city
    assert q(eng, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'issue_locate'")[0][0] == "O"


def test_places_nest_without_overlapping(city):
    eng, _ = city
    overlaps = q(eng, """SELECT count(*) FROM compound a JOIN compound b
                          ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""")
    assert overlaps[0][0] == 0
    outside = q(eng, """SELECT (SELECT count(*) FROM compound c JOIN grid g ON g.id = c.grid_id
                                 WHERE g.community_id <> c.community_id OR NOT ST_Within(c.geom, g.geom)),
                               (SELECT count(*) FROM grid g JOIN community m ON m.id = g.community_id
                                 WHERE NOT ST_CoveredBy(g.geom, m.geom)),
                               (SELECT count(*) FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id
                                 WHERE NOT ST_CoveredBy(m.geom, s.geom)),
                               (SELECT count(*) FROM building b JOIN compound c ON c.id = b.compound_id
                                 WHERE NOT ST_Within(b.geom, c.geom)),
                               (SELECT count(*) FROM grid a JOIN grid b ON a.id < b.id
                                 AND ST_Overlaps(a.geom, b.geom))""")
    assert tuple(outside[0]) == (0, 0, 0, 0, 0)


def test_a_second_city_is_refused(city):
    eng, _ = city
    with pytest.raises(synth.SynthError, match="已存在"):
        synth.load(eng, 1, 0, progress=False)
    assert q(eng, "SELECT count(*) FROM compound")[0][0] == COMPOUNDS


@pytest.mark.parametrize("compounds, issues", [(0, 10), (synth.MAX_COMPOUNDS + 1, 0), (5, -1),
                                               (5, synth.MAX_ISSUES + 1)])
def test_bad_arguments_are_refused(compounds, issues):
    with pytest.raises(synth.SynthError):
        synth.check(compounds, issues)


def test_cli_beside_the_sample(app, engine, client):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["synth", "city", "--compounds", "0", "--issues", "5"])
    assert refused.exit_code != 0 and "--compounds 须在 1 到" in refused.output
    assert q(engine, "SELECT count(*) FROM subdistrict")[0][0] == 1

    result = runner.invoke(args=["synth", "city", "--compounds", "30", "--issues", "500", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "30 个楼院" in result.output and "500 件诉求" in result.output
    assert q(engine, "SELECT count(*) FROM compound")[0][0] == 62 + 30

    # The sample's map is unchanged by a city beside it.
    sample = client.get(f"/api/layers/compounds.geojson?bbox={SAMPLE_BBOX}").get_json()
    assert len(sample["features"]) == 62
    lon, lat = synth.ORIGIN[0] + synth.CELL_W / 2, synth.ORIGIN[1] + synth.CELL_H / 2
    found = client.get(f"/api/lookup?lon={lon}&lat={lat}").get_json()
    assert found["community"] == "合成第1社区" and found["compound"] == "合成1号院"
