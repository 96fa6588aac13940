"""The hotspot layer API and page: filters applied in SQL (checked against counts written
independently here), cells counted in PostGIS as geo.hotspot bins the same points, bad
values refused in Chinese, valid GeoJSON, DBSCAN clusters, the compound ranking, and no
personal data."""
import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from shapely.geometry import shape

from geo import hotspot
from webmap.hotspots import CLASS_COLORS
from tests.helpers import PHONE, scalar

CJK = re.compile(r"[\u4e00-\u9fff]")
BEIJING = dt.timezone(dt.timedelta(hours=8))


def today():
    return dt.datetime.now(BEIJING).date()


def count(engine, where="TRUE", since=None, until=None, **params):
    """Issues reported in [since, until] (Beijing days; the last 365 by default) matching ``where``."""
    until = until or today()
    since = since or until - dt.timedelta(days=364)
    return scalar(engine, f"""
        SELECT count(*) FROM issue i JOIN stage st ON st.code = i.stage
         WHERE (i.reported_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :since AND :until
           AND {where}""", since=since, until=until, **params)


def get(client, **query):
    response = client.get("/api/hotspots.geojson", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return response.get_json()


def test_the_layer_is_valid_geojson_of_square_cells(client, engine):
    body = get(client)
    assert body["type"] == "FeatureCollection" and body["features"]
    assert body["summary"]["cell_size"] == hotspot.DEFAULT_SIZE and body["summary"]["area"] == "中心路街道"
    for feature in body["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
        assert all(113.2 < lon < 113.4 and 34.7 < lat < 34.9 for lon, lat in ring)
        p = feature["properties"]
        assert set(p) == {"cell", "count", "z", "p", "class", "color"}
        assert p["class"] in hotspot.CLASSES and p["color"] == CLASS_COLORS[p["class"]]
        assert 0 <= p["p"] <= 1 and re.fullmatch(r"-?\d+,-?\d+", p["cell"])
    cells = [f["properties"]["cell"] for f in body["features"]]
    assert len(cells) == len(set(cells)) == body["summary"]["cells"]
    assert [e["class"] for e in body["legend"]] == list(hotspot.CLASSES)
    # The study area includes the cells of the subdistrict that hold no issue.
    assert sum(f["properties"]["count"] == 0 for f in body["features"]) >= 10
    total = sum(f["properties"]["count"] for f in body["features"])
    assert total == body["summary"]["issues"] == count(engine)


def test_postgis_counts_each_cell_as_the_grid_bins_its_points(client, engine):
    """The cells PostGIS counts are those geo.hotspot finds for the same points."""
    body = get(client)
    bounds = shape(scalar(engine, "SELECT ST_AsGeoJSON(geom)::json FROM subdistrict")).bounds
    grid = hotspot.Grid.over(bounds, hotspot.DEFAULT_SIZE)
    with engine.connect() as conn:
        lon, lat = zip(*conn.execute(sa.text("""
            SELECT ST_X(geom), ST_Y(geom) FROM issue
             WHERE (reported_at AT TIME ZONE 'Asia/Shanghai')::date > (now() AT TIME ZONE 'Asia/Shanghai')::date - 365
        """)).all())
    keys, counts = hotspot.bin_points(lon, lat, grid)
    expected = {hotspot.cell_name(k): int(n) for k, n in zip(keys, counts)}
    assert {f["properties"]["cell"]: f["properties"]["count"] for f in body["features"]
            if f["properties"]["count"]} == expected


def test_the_sample_hotspots_are_where_issues_cluster(client):
    body = get(client)
    busiest = max(body["features"], key=lambda f: f["properties"]["count"])
    assert busiest["properties"]["class"] == "hot-99"
    assert body["summary"]["hot"] >= 3


@pytest.mark.parametrize("query, where", [
    ({"category": "road"}, "i.category = 'road'"),
    ({"channel": "phone"}, "i.channel = 'phone'"),
    ({"stage": "open"}, "st.is_open"),
    ({"stage": "closed"}, "i.stage = 'closed'"),
    ({"stage": "consult"}, "i.stage = 'consult'"),
    ({"category": "elevator", "stage": "open"}, "i.category = 'elevator' AND st.is_open"),
])
def test_filters_are_applied(client, engine, query, where):
    body = get(client, **query)
    assert body["summary"]["issues"] == count(engine, where) > 0
    assert sum(f["properties"]["count"] for f in body["features"]) == body["summary"]["issues"]


def test_the_time_window(client, engine):
    since, until = today() - dt.timedelta(days=700), today() - dt.timedelta(days=100)
    body = get(client, **{"from": since.isoformat(), "to": until.isoformat()})
    assert body["summary"]["issues"] == count(engine, since=since, until=until) > 0
    assert (body["summary"]["from"], body["summary"]["to"]) == (since.isoformat(), until.isoformat())
    # the default window is the last 365 days
    default = get(client)["summary"]
    assert default["to"] == today().isoformat()
    assert default["from"] == (today() - dt.timedelta(days=364)).isoformat()


def test_a_community_is_its_own_study_area(client, engine):
    community = scalar(engine, "SELECT id FROM community WHERE name = '汇丰社区'")
    whole = get(client)
    body = get(client, area=f"community:{community}")
    assert body["summary"]["issues"] == count(engine, "i.community_id = :c", c=community) > 0
    assert body["summary"]["cells"] < whole["summary"]["cells"] / 5
    assert body["summary"]["area"] == "汇丰社区"


@pytest.mark.parametrize("size", [100, 500, 1000])
def test_cell_sizes(client, engine, size):
    body = get(client, cell=size)
    assert body["summary"]["cell_size"] == size
    ring = body["features"][0]["geometry"]["coordinates"][0]
    east, _north = hotspot.metres_per_degree(34.81)
    assert (ring[1][0] - ring[0][0]) * east == pytest.approx(size, abs=1)
    assert sum(f["properties"]["count"] for f in body["features"]) == count(engine)


@pytest.mark.parametrize("query, words", [
    ({"cell": "250"}, "网格大小"), ({"cell": "5001"}, "网格大小"), ({"cell": "九"}, "网格大小"),
    ({"category": "roads"}, "类别"), ({"channel": "fax"}, "渠道"), ({"stage": "done"}, "阶段"),
    ({"area": "community:99999"}, "区域"), ({"area": "community:a1"}, "area"), ({"from": "2025-02-30"}, "日期"),
    ({"to": "yesterday"}, "日期"), ({"from": "2025-06-01", "to": "2025-05-01"}, "开始日期晚于结束日期"),
])
def test_bad_filter_values_are_a_400_in_chinese(client, query, words):
    response = client.get("/api/hotspots.geojson", query_string=query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert CJK.search(error) and words in error
    assert client.get("/hotspots", query_string=query).status_code == 400


def test_english_error_on_request(client):
    response = client.get("/api/hotspots.geojson?cell=12&lang=en")
    assert response.status_code == 400 and not CJK.search(response.get_json()["error"])


def make_cluster(engine, compound_name, title):
    """Six fresh issues within a few metres of each other: a cluster of at least six."""
    compound = scalar(engine, "SELECT id FROM compound WHERE name = :n", n=compound_name)
    with engine.begin() as conn:
        for k in range(6):
            conn.execute(sa.text("""
                INSERT INTO issue (community_id, title, category, channel, geom)
                SELECT community_id, :title, 'road', 'phone',
                       ST_Translate(ST_PointOnSurface(geom), :d * 0.00004, :d * 0.00003)
                  FROM compound WHERE id = :id"""), {"d": k, "id": compound, "title": title})


def test_clusters_of_the_last_90_days(client, engine):
    make_cluster(engine, "颐和美丽园", "测试：聚集")
    body = get(client)
    clusters = body["clusters"]
    assert clusters["type"] == "FeatureCollection"
    for c in clusters["features"]:
        assert c["geometry"]["type"] == "Polygon" and c["properties"]["issues"] >= 5
    recent = scalar(engine, """SELECT count(*) FROM issue
                                WHERE reported_at >= now() - interval '91 days'""")
    assert sum(c["properties"]["issues"] for c in clusters["features"]) <= recent
    mine = [c for c in clusters["features"] if c["properties"]["compound"] == "颐和美丽园"]
    assert mine and mine[0]["properties"]["issues"] >= 6
    inside = scalar(engine, """
        SELECT bool_and(ST_Covers(ST_GeomFromGeoJSON(:hull), i.geom)) FROM issue i
         WHERE i.title = '测试：聚集'""", hull=json.dumps(mine[0]["geometry"]))
    assert inside
    summary = body["summary"]
    assert summary["clusters_to"] == today().isoformat()
    assert summary["clusters_from"] == (today() - dt.timedelta(days=89)).isoformat()


def test_gcj02_shifts_cells_and_clusters(client, engine):
    make_cluster(engine, "中央名邸", "测试：偏移")
    plain, shifted = get(client), get(client, crs="gcj02")
    (lon, lat), (glon, glat) = (plain["features"][0]["geometry"]["coordinates"][0][0],
                                shifted["features"][0]["geometry"]["coordinates"][0][0])
    assert 0.003 < glon - lon < 0.008 and -0.003 < glat - lat < 0.003
    assert plain["clusters"]["features"], "the cluster made above is found"
    a = plain["clusters"]["features"][0]["geometry"]["coordinates"][0][0]
    b = shifted["clusters"]["features"][0]["geometry"]["coordinates"][0][0]
    assert 0.003 < b[0] - a[0] < 0.008 and -0.003 < b[1] - a[1] < 0.003


def test_no_personal_data(client, engine):
    text = client.get("/api/hotspots.geojson?stage=reported").get_data(as_text=True)
    assert not PHONE.search(text)
    with engine.connect() as conn:
        reporters = conn.execute(sa.text("SELECT name FROM issue_reporter")).scalars().all()
    assert not [name for name in reporters if len(name) > 2 and name in text]


def page_config(client, query=""):
    html = client.get(f"/hotspots{query}").get_data(as_text=True)
    return html, json.loads(re.search(r"HotspotMap\.configure\((.*?)\);</script>", html).group(1))


def test_the_page_ranks_compounds_by_open_and_overdue_issues(client, engine):
    html, config = page_config(client)
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # every asset served locally
    expected = dict(scalar(engine, """
        SELECT json_object_agg(name, n) FROM (
          SELECT c.name, count(*) AS n FROM issue i JOIN stage st ON st.code = i.stage AND st.is_open
            JOIN compound c ON c.id = i.compound_id GROUP BY c.id, c.name) x"""))
    ranking = config["ranking"]["open"]
    assert len(ranking) == 10
    assert [r["open"] for r in ranking] == sorted(expected.values(), reverse=True)[:10]
    assert all(expected[r["name"]] == r["open"] for r in ranking)
    overdue = config["ranking"]["overdue"]
    assert overdue and all(r["overdue"] > 0 for r in overdue)
    assert [r["overdue"] for r in overdue] == sorted((r["overdue"] for r in overdue), reverse=True)
    for r in ranking:
        assert r["minx"] < r["maxx"] and r["miny"] < r["maxy"]


def test_the_page_keeps_its_filters(client, engine):
    community = scalar(engine, "SELECT id FROM community WHERE name = '汇丰社区'")
    _html, config = page_config(client, f"?category=road&stage=open&area=community:{community}&cell=100")
    assert config["filters"]["category"] == "road" and config["filters"]["cell"] == 100
    assert config["filters"]["area"] == f"community:{community}"
    assert all(r["community"] == "汇丰社区" for r in config["ranking"]["open"])


def test_the_area_choices_go_up_and_down_the_tree(client, engine):
    _html, config = page_config(client)
    names = [name.strip() for _key, name in config["areas"]]
    assert names[:3] == ["郑州市", "上街区", "中心路街道"] and len(names) == 3 + 14
    assert config["filters"]["area"] == config["areas"][2][0]
    assert config["sizes"] == list(hotspot.SIZES)  # a subdistrict can draw every size
