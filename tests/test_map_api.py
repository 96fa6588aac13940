"""The map's JSON API through the Flask test client: lookup, layers (bbox, modes, as_of, ETag),
popup cards, masking of personal data, and the vendored front-end assets."""
import datetime as dt
import json
import re
import time

import pytest
import sqlalchemy as sa

from webmap.api import BUILDINGS_MAX_SPAN
from tests.helpers import PHONE, rows

LAYERS = ("communities", "grids", "compounds", "issues", "venues", "deputies", "buildings")
# ``mine`` outlines a signed-in user's own compounds; the public has none.
COMPOUND_PROPERTIES = {"id", "name", "community", "grid", "fill", "cls", "open_issues", "mine"}
# A mainland mobile number, not part of a longer number, a decimal or an identifier.
CJK = re.compile(r"[\u4e00-\u9fff]")
MASKED = re.compile(r"^\S\*+$")


def insert_issue(engine, compound_id, title="测试：路灯不亮"):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO issue (community_id, title, category, channel, geom) "
            "SELECT community_id, :title, 'road', 'phone', ST_PointOnSurface(geom) FROM compound WHERE id = :id"),
            {"title": title, "id": compound_id})


def mask(name):
    return name[0] + "*" * max(len(name) - 1, 1)


def layer(client, name, **query):
    return client.get(f"/api/layers/{name}.geojson", query_string=query)


@pytest.fixture(scope="module")
def compounds(engine):
    return rows(engine, """
        SELECT c.id, c.name, c.community_id, c.grid_id,
               ST_X(ST_PointOnSurface(c.geom)) AS lon, ST_Y(ST_PointOnSurface(c.geom)) AS lat,
               ST_XMin(c.geom) AS minx, ST_YMin(c.geom) AS miny,
               ST_XMax(c.geom) AS maxx, ST_YMax(c.geom) AS maxy
          FROM compound c ORDER BY c.id""")


# Public text in which a two-character personal name may occur as a word (东方明珠小区 holds 方明).
PUBLIC_TEXT = """
    SELECT name FROM compound UNION ALL SELECT name FROM community UNION ALL SELECT name FROM grid
    UNION ALL SELECT name FROM venue UNION ALL SELECT name FROM self_governance_org
    UNION ALL SELECT title FROM issue UNION ALL SELECT name_zh FROM category
    UNION ALL SELECT name_zh FROM stage UNION ALL SELECT name FROM building"""


@pytest.fixture(scope="module")
def personal(engine):
    """(names, phones) of the people in the sample that the public must never see in full:
    the 三长, the grid leaders, the reporters of issues, and the deputies' phones. A name that
    is also part of a public place name or title is left out: finding it proves nothing."""
    people = rows(engine, """
        SELECT name, phone FROM head
        UNION ALL SELECT leader_name, leader_phone FROM grid
        UNION ALL SELECT name, phone FROM issue_reporter
        UNION ALL SELECT NULL, phone FROM deputy""")
    public = "\n".join(r["name"] for r in rows(engine, PUBLIC_TEXT) if r["name"])
    names = {p["name"] for p in people if p["name"] and p["name"] not in public}
    phones = {p["phone"] for p in people if p["phone"]}
    assert len(names) > 100 and len(phones) > 100
    return names, phones


@pytest.fixture(scope="module")
def compound_heads(engine):
    """Compound id → full names of its 楼院长 in office today (what cards and lookup list)."""
    heads = {}
    for h in rows(engine, """
            SELECT h.compound_id, h.name FROM head h JOIN head_role r ON r.code = h.role
             WHERE r.level = 'compound' AND (h.retired_on IS NULL OR h.retired_on > current_date)
               AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)"""):
        heads.setdefault(h["compound_id"], []).append(h["name"])
    return heads


def sample_bboxes(engine):
    """bbox strings that together cover the subdistrict, each within the buildings layer's cap."""
    e = rows(engine, "SELECT ST_XMin(b) x0, ST_YMin(b) y0, ST_XMax(b) x1, ST_YMax(b) y1 "
                     "FROM (SELECT ST_Extent(geom)::geometry b FROM subdistrict) s")[0]
    step = BUILDINGS_MAX_SPAN - 0.001
    boxes, x = [], e["x0"] - 0.0005
    while x < e["x1"]:
        y = e["y0"] - 0.0005
        while y < e["y1"]:
            boxes.append(f"{x:.6f},{y:.6f},{x + step:.6f},{y + step:.6f}")
            y += step
        x += step
    return boxes


def clock_minute():
    return int(time.time() // 60)


# -- lookup ------------------------------------------------------------------------------

def test_lookup_finds_every_compound_from_a_point_inside_it(client, compounds):
    wrong = []
    for c in compounds:
        response = client.get("/api/lookup", query_string={"lon": repr(c["lon"]), "lat": repr(c["lat"])})
        assert response.status_code == 200, (c["name"], response.get_json())
        found = response.get_json()
        got = (found["compound_id"], found["community_id"], found["grid_id"])
        if got != (c["id"], c["community_id"], c["grid_id"]):
            wrong.append((c["name"], got))
    assert len(compounds) == 62
    assert wrong == []


def test_lookup_outside_the_subdistrict_is_404_in_chinese(client):
    response = client.get("/api/lookup?lon=113.5&lat=34.9")
    assert response.status_code == 404
    body = response.get_json()
    assert CJK.search(body["error"]) and "中心路街道" in body["error"]


@pytest.mark.parametrize("query", ["lat=34.81", "lon=&lat=34.81", "lon=abc&lat=34.81",
                                   "lon=113.29", "lon=113.29&lat=north", "lon=nan&lat=34.81",
                                   "lon=500&lat=34.81"])
def test_lookup_rejects_missing_or_bad_coordinates(client, query):
    response = client.get(f"/api/lookup?{query}")
    assert response.status_code == 400
    assert response.is_json and CJK.search(response.get_json()["error"])


# -- layer parameters --------------------------------------------------------------------

@pytest.mark.parametrize("bbox, reason", [
    ("113.28,34.80,113.29", "4 个数"),
    ("a,b,c,d", "非数字"),
    ("113.28,34.80,113.29,north", "非数字"),
    ("113.29,34.80,113.28,34.81", "最小值必须小于最大值"),
    ("113.28,34.81,113.29,34.80", "最小值必须小于最大值"),
    ("100,20,120,40", "范围过大"),
    ("113.28,34.80,200,34.81", "超出经纬度范围"),
])
def test_bad_bbox_is_400_with_the_reason(client, bbox, reason):
    response = layer(client, "compounds", bbox=bbox)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]


def test_buildings_need_a_small_bbox(client):
    assert layer(client, "buildings").status_code == 400
    too_big = layer(client, "buildings", bbox="113.20,34.75,113.35,34.85")
    assert too_big.status_code == 400 and "范围过大" in too_big.get_json()["error"]


def test_unknown_layer_is_404(client):
    response = client.get("/api/layers/residents.geojson")
    assert response.status_code == 404
    assert "residents" in response.get_json()["error"]


def test_unknown_mode_is_400(client):
    response = layer(client, "compounds", mode="rainbow")
    assert response.status_code == 400
    assert "rainbow" in response.get_json()["error"]


@pytest.mark.parametrize("as_of", ["2024-13-01", "yesterday", "2024/01/01",
                                   (dt.date.today() + dt.timedelta(days=2)).isoformat()])
def test_bad_as_of_is_400(client, as_of):
    for name in ("compounds", "issues"):
        response = layer(client, name, as_of=as_of)
        assert response.status_code == 400, name
        assert CJK.search(response.get_json()["error"])


def test_as_of_a_past_day_replays_fewer_issues(client, engine):
    first = rows(engine, "SELECT min(reported_at) AS t FROM issue")[0]["t"]
    before = (first - dt.timedelta(days=1)).date().isoformat()
    past = json.loads(layer(client, "issues", as_of=before).data)
    now = json.loads(layer(client, "issues").data)
    assert past["features"] == [] and len(now["features"]) > 0
    compounds = json.loads(layer(client, "compounds", as_of=before).data)["features"]
    assert len(compounds) == 62 and all(f["properties"]["open_issues"] == 0 for f in compounds)


# -- the compounds layer -----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["open", "sla", "grid", "governance"])
def test_compounds_layer_has_62_features_with_only_what_the_page_needs(client, mode):
    response = layer(client, "compounds", mode=mode)
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.data)
    assert len(body["features"]) == 62
    assert len({f["properties"]["id"] for f in body["features"]}) == 62
    for feature in body["features"]:
        assert set(feature["properties"]) == COMPOUND_PROPERTIES
        assert feature["properties"]["mine"] is False
        assert re.fullmatch(r"#[0-9a-f]{6}", feature["properties"]["fill"])
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert body["mode"] == mode and body["legend"]
    legend_colors = {e["color"] for e in body["legend"]}
    assert {f["properties"]["fill"] for f in body["features"]} <= legend_colors


def decimals(coordinates):
    """The number of decimals of every coordinate, as written in the response."""
    if isinstance(coordinates, str):
        return [len(coordinates.partition(".")[2])]
    return [d for part in coordinates for d in decimals(part)]


@pytest.mark.parametrize("name", ["compounds", "issues", "communities", "grids", "venues", "deputies"])
def test_layer_coordinates_have_at_most_6_decimals(client, name):
    text = layer(client, name).get_data(as_text=True)
    body = json.loads(text, parse_float=str)  # keep each number as it was written
    written = [d for f in body["features"] for d in decimals(f["geometry"]["coordinates"])]
    assert written and max(written) <= 6
    if name in ("compounds", "issues"):  # the layers the page polls: no long number anywhere
        assert not re.search(r"\d\.\d{7,}", text)


def test_bbox_filters_the_layers(client, compounds, engine):
    c = next(c for c in compounds if c["name"] == "乐福国际小区")
    bbox = f"{c['minx']:.6f},{c['miny']:.6f},{c['maxx']:.6f},{c['maxy']:.6f}"
    inside = json.loads(layer(client, "compounds", bbox=bbox).data)["features"]
    ids = {f["properties"]["id"] for f in inside}
    assert c["id"] in ids and len(ids) < 62 / 4

    everything = json.loads(layer(client, "issues").data)["features"]
    near = json.loads(layer(client, "issues", bbox=bbox).data)["features"]
    assert 0 < len(near) < len(everything)
    for f in near:
        lon, lat = f["geometry"]["coordinates"]
        assert c["minx"] <= lon <= c["maxx"] and c["miny"] <= lat <= c["maxy"]


# -- ETag --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["compounds", "issues"])
def test_unchanged_layer_is_304(client, name):
    for _ in range(3):  # the tag also turns over each clock minute; retry across that edge
        minute = clock_minute()
        first = layer(client, name, mode="sla") if name == "compounds" else layer(client, name)
        etag = first.headers["ETag"]
        again = client.get(first.request.full_path, headers={"If-None-Match": etag})
        if clock_minute() == minute:
            break
    assert first.status_code == 200 and etag
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_changed_issue_gives_200_with_a_new_etag(client, engine, compounds):
    c = compounds[10]
    for _ in range(3):
        minute = clock_minute()
        first = layer(client, "compounds")
        etag = first.headers["ETag"]
        before = {f["properties"]["id"]: f["properties"]["open_issues"]
                  for f in json.loads(first.data)["features"]}
        insert_issue(engine, c["id"])
        after = client.get("/api/layers/compounds.geojson", headers={"If-None-Match": etag})
        if clock_minute() == minute:
            break
    assert after.status_code == 200
    assert after.headers["ETag"] and after.headers["ETag"] != etag
    counts = {f["properties"]["id"]: f["properties"]["open_issues"]
              for f in json.loads(after.data)["features"]}
    assert counts[c["id"]] == before[c["id"]] + 1


# -- personal data -----------------------------------------------------------------------

def public_responses(client, engine, compounds):
    """(label, text) of every public response the map can produce for the sample."""
    for name in LAYERS:
        if name == "buildings":
            for bbox in sample_bboxes(engine):
                yield f"{name} {bbox}", layer(client, name, bbox=bbox)
        else:
            yield name, layer(client, name)
    yield "compounds sla", layer(client, "compounds", mode="sla")
    yield "grids bbox", layer(client, "grids", bbox=sample_bboxes(engine)[0])
    for c in compounds:
        point = {"lon": c["lon"], "lat": c["lat"]}
        yield f"lookup {c['name']}", client.get("/api/lookup", query_string=point)
        yield f"card {c['name']}", client.get(f"/api/compounds/{c['id']}")
    yield "page", client.get("/")
    yield "page en", client.get("/?lang=en&mode=governance")


def test_no_public_response_holds_a_phone_number_or_a_full_name(client, engine, compounds, personal):
    names, phones = personal
    leaks = []
    seen = 0
    for label, response in public_responses(client, engine, compounds):
        assert response.status_code == 200, label
        text = response.get_data(as_text=True)
        seen += 1
        leaks += [(label, m) for m in PHONE.findall(text)]
        leaks += [(label, p) for p in phones if p in text]
        leaks += [(label, n) for n in names if n in text]
    assert seen > 130
    assert leaks == []


def test_buildings_layer_covers_the_sample_with_masked_heads(client, engine):
    total = rows(engine, "SELECT count(*) AS n FROM building")[0]["n"]
    seen, heads = set(), 0
    for bbox in sample_bboxes(engine):
        for f in json.loads(layer(client, "buildings", bbox=bbox).data)["features"]:
            seen.add(f["properties"]["id"])
            for h in f["properties"]["heads"] or []:
                heads += 1
                assert MASKED.match(h["name"]) and h["phone"] is None, h
    assert len(seen) == total > 0
    assert heads > 0


@pytest.fixture(scope="module")
def grid_leaders(engine):
    return {r["id"]: r["leader_name"] for r in rows(
        engine, "SELECT c.id, g.leader_name FROM compound c LEFT JOIN grid g ON g.id = c.grid_id")}


def assert_masked(found, heads, leader):
    assert sorted(h["name"] for h in found["heads"] or []) == sorted(mask(n) for n in heads)
    assert all(MASKED.match(h["name"]) and h["phone"] is None for h in found["heads"] or [])
    if leader:
        assert found["grid_leader"] == mask(leader) and MASKED.match(found["grid_leader"])
    assert found["grid_leader_phone"] is None


def test_cards_show_masked_heads_and_grid_leader(client, compounds, compound_heads, grid_leaders):
    for c in compounds:
        response = client.get(f"/api/compounds/{c['id']}")
        assert response.status_code == 200
        card = response.get_json()
        assert card["id"] == c["id"] and card["name"] == c["name"]
        assert_masked(card, compound_heads.get(c["id"], []), grid_leaders[c["id"]])
    assert sum(map(len, compound_heads.values())) > 40


def test_lookup_masks_heads_and_grid_leader(client, compounds, compound_heads, grid_leaders):
    for c in compounds:
        found = client.get("/api/lookup", query_string={"lon": c["lon"], "lat": c["lat"]}).get_json()
        assert_masked(found, compound_heads.get(c["id"], []), grid_leaders[c["id"]])


def test_unknown_compound_card_is_404(client):
    response = client.get("/api/compounds/999999")
    assert response.status_code == 404
    assert CJK.search(response.get_json()["error"])


# -- vendored assets ---------------------------------------------------------------------

def test_vendor_serves_leaflet(client):
    response = client.get("/vendor/leaflet/dist/leaflet.js")
    assert response.status_code == 200
    assert b"Leaflet 1.9.4" in response.data[:200]
    assert client.get("/vendor/@fortawesome/fontawesome-free/css/all.min.css").status_code == 200


@pytest.mark.parametrize("path", [
    "tslib/tslib.js",                       # installed, but not a declared package
    ".bin/x",
    "leaflet/../../package.json",
    "leaflet/%2e%2e/%2e%2e/app.py",
    "..%2fapp.py",
    "@fortawesome/../leaflet/dist/leaflet.js",
    "leaflet/dist/../../../app.py",
])
def test_vendor_refuses_paths_outside_the_allowed_packages(client, path):
    response = client.get(f"/vendor/{path}")
    assert response.status_code == 404
    assert b"create_app" not in response.data and b"gridmap-assets" not in response.data


def test_compound_card_replays_an_as_of_date(client, engine):
    """A year ago the card lists the issues open then (from the event log), not today's."""
    import datetime as dt

    import sqlalchemy as sa

    day = (dt.date.today() - dt.timedelta(days=365)).isoformat()
    with engine.connect() as conn:
        compound_id, expected = conn.execute(sa.text("""
            WITH s AS (SELECT i.id, i.compound_id, e.to_stage FROM issue i CROSS JOIN LATERAL (
                         SELECT to_stage FROM issue_event e WHERE e.community_id = i.community_id AND e.issue_id = i.id
                            AND e.at <= CAST(:day AS date) + interval '1 day' - interval '8 hours'
                          ORDER BY e.at DESC, e.id DESC LIMIT 1) e)
            SELECT s.compound_id, count(*) FROM s JOIN stage st ON st.code = s.to_stage AND st.is_open
             WHERE s.compound_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"""), {"day": day}).one()
    then = client.get(f"/api/compounds/{compound_id}?as_of={day}").get_json()
    now = client.get(f"/api/compounds/{compound_id}").get_json()
    assert len(then["open_issues"]) == expected
    assert {i["id"] for i in then["open_issues"]} != {i["id"] for i in now["open_issues"]}
