"""Vector tiles on the sample through the Flask test client, decoded with mapbox-vector-tile:
the same fills as the GeoJSON layer, nothing personal, issue cells that add up, ETag / 304,
cache keys that follow one community's changes only, TileJSON, and bad parameters."""
import gzip
import math

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from geo import tiles as tilemath
from layers import tiles
from webmap.modes import MODES
from webmap.tiles import TileCache
from tests.helpers import rows

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon, lat, z):
    n = 2 ** z
    v = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(v * n)


def get(client, layer, z, x, y, **query):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", query_string=query)


def features(client, layer, z, x, y, **query):
    """The decoded features of ``layer`` in a tile (none for a 204)."""
    response = get(client, layer, z, x, y, **query)
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    if response.status_code == 204:
        return []
    assert response.mimetype == MVT
    decoded = mapbox_vector_tile.decode(response.data)
    assert set(decoded) == {layer}
    return decoded[layer]["features"]


@pytest.fixture(scope="module")
def sample(engine):
    return rows(engine, "SELECT ST_XMin(b) x0, ST_YMin(b) y0, ST_XMax(b) x1, ST_YMax(b) y1 "
                        "FROM (SELECT ST_Extent(geom)::geometry b FROM subdistrict) s")[0]


def sample_tiles(sample, z):
    """Every tile at zoom ``z`` that the subdistrict touches."""
    x0, y0 = tile_of(sample["x0"], sample["y1"], z)
    x1, y1 = tile_of(sample["x1"], sample["y0"], z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def geojson_fills(client, box, **query):
    bbox = f"{box.minx},{box.miny},{box.maxx},{box.maxy}"
    response = client.get("/api/layers/compounds.geojson", query_string=dict(query, bbox=bbox))
    assert response.status_code == 200
    return {f["properties"]["id"]: f["properties"]["fill"] for f in response.get_json()["features"]}


def inside(engine, table, z, x, y):
    """Ids of the rows of ``table`` whose interior point lies in the tile."""
    return {r["id"] for r in rows(engine, f"""
        SELECT id FROM {table}
         WHERE ST_Intersects(ST_Transform(ST_PointOnSurface(geom), 3857), ST_TileEnvelope(:z, :x, :y))""",
        z=z, x=x, y=y)}


# -- compounds: the same colors as the GeoJSON layer ---------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_compound_tiles_carry_the_geojson_fill_in_every_mode(client, engine, sample, mode):
    fills, seen = set(), set()
    for z, x, y in sample_tiles(sample, 15):
        tile = {f["properties"]["id"]: f["properties"] for f in features(client, "compounds", z, x, y, mode=mode)}
        expected = geojson_fills(client, tilemath.bounds(z, x, y, tiles.MARGIN), mode=mode)
        assert inside(engine, "compound", z, x, y) <= set(tile)
        assert set(tile) <= set(expected)
        assert {i: p["fill"] for i, p in tile.items()} == {i: expected[i] for i in tile}
        fills |= {p["fill"] for p in tile.values()}
        seen |= set(tile)
    assert len(seen) == 62
    assert len(fills) >= 2


def test_compound_tiles_replay_an_as_of_date_like_the_geojson_layer(client, engine, sample):
    day = rows(engine, "SELECT (min(reported_at) AT TIME ZONE 'Asia/Shanghai')::date + 200 AS d FROM issue")[0]["d"]
    bbox = f"{sample['x0']},{sample['y0']},{sample['x1']},{sample['y1']}"
    checked = 0
    for mode in ("open", "sla"):
        for z, x, y in sample_tiles(sample, 15):
            box = tilemath.bounds(z, x, y, tiles.MARGIN)
            query = {"mode": mode, "as_of": day.isoformat()}
            tile = {f["properties"]["id"]: f["properties"]["fill"]
                    for f in features(client, "compounds", z, x, y, **query, bbox=bbox)}
            if mode == "open":  # the classes are the page's extent, whatever the tile
                response = client.get("/api/layers/compounds.geojson", query_string=dict(query, bbox=bbox))
                expected = {f["properties"]["id"]: f["properties"]["fill"] for f in response.get_json()["features"]}
            else:
                expected = geojson_fills(client, box, **query)
            assert tile == {i: expected[i] for i in tile}
            checked += len(tile)
    assert checked >= 2 * 62


# -- nothing personal ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def personal(engine):
    people = rows(engine, """SELECT name, phone FROM head UNION ALL SELECT leader_name, leader_phone FROM grid
                             UNION ALL SELECT name, phone FROM issue_reporter""")
    values = {p[k] for p in people for k in ("name", "phone") if p[k]}
    assert len(values) > 200 and rows(engine, "SELECT count(*) n FROM issue_reporter")[0]["n"] > 0
    return values


@pytest.mark.parametrize("layer, z", [("communities", 13), ("grids", 15), ("compounds", 15),
                                      ("buildings", 16), ("issues", tiles.ISSUE_POINTS_ZOOM), ("issues", 12)])
def test_tiles_carry_only_their_public_properties(client, sample, personal, layer, z):
    allowed = set(tiles.LAYERS[layer].fields)
    found = 0
    for tile in sample_tiles(sample, z):
        for f in features(client, layer, *tile):
            assert set(f["properties"]) <= allowed, f["properties"]
            assert not set(map(str, f["properties"].values())) & personal
            found += 1
    assert found > 0


def test_issue_points_show_titles_only_once_taken_up(client, engine, sample):
    stages = {}   # id → stage (a point near an edge is in the buffer of the next tile too)
    for tile in sample_tiles(sample, tiles.ISSUE_POINTS_ZOOM):
        for f in features(client, "issues", *tile):
            p = f["properties"]
            assert ("title" in p) == (p["stage"] != "reported"), p
            assert p["sla"] in (1, 2, 3)
            stages[p["id"]] = p["stage"]
    assert "reported" in stages.values() and len(set(stages.values())) > 1
    assert len(stages) == rows(engine, "SELECT count(*) n FROM issue WHERE due_at IS NOT NULL")[0]["n"]


def test_low_zoom_issues_are_cells_that_add_up_to_the_open_issues(client, engine, sample):
    total = rows(engine, "SELECT count(*) n FROM issue WHERE due_at IS NOT NULL")[0]["n"]
    for z in (10, 12, 13):
        cells = [f for tile in sample_tiles(sample, z) for f in features(client, "issues", *tile)]
        assert all(set(f["properties"]) == {"count", "overdue"} for f in cells)
        assert all(f["geometry"]["type"] == "Point" for f in cells)
        assert sum(f["properties"]["count"] for f in cells) == total
        assert len(cells) < total
    z, x, y = sample_tiles(sample, 13)[0]
    in_tile = rows(engine, """
        SELECT count(*) n FROM issue i, ST_Transform(i.geom, 3857) m, ST_TileEnvelope(:z, :x, :y) e
         WHERE i.due_at IS NOT NULL AND ST_X(m) >= ST_XMin(e) AND ST_X(m) < ST_XMax(e)
           AND ST_Y(m) > ST_YMin(e) AND ST_Y(m) <= ST_YMax(e)""", z=z, x=x, y=y)[0]["n"]
    assert sum(f["properties"]["count"] for f in features(client, "issues", z, x, y)) == in_tile


# -- caching -------------------------------------------------------------------------------

def test_tile_headers_etag_304_and_gzip(client, sample):
    z, x, y = sample_tiles(sample, 15)[0]
    plain = get(client, "compounds", z, x, y, mode="grid")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.headers["Cache-Control"] == "public, max-age=60"
    assert plain.headers["Content-Type"] == MVT
    again = client.get(f"/tiles/compounds/{z}/{x}/{y}.pbf?mode=grid", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    zipped = client.get(f"/tiles/compounds/{z}/{x}/{y}.pbf?mode=grid", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_a_change_in_one_community_changes_only_the_tiles_over_it(client, engine):
    # Two communities far apart, and a z16 tile inside each whose buffered box holds no part
    # of the other one.
    z = 16
    picked = rows(engine, """
        SELECT a.id AS a, b.id AS b,
               ST_X(ST_PointOnSurface(a.geom)) AS ax, ST_Y(ST_PointOnSurface(a.geom)) AS ay,
               ST_X(ST_PointOnSurface(b.geom)) AS bx, ST_Y(ST_PointOnSurface(b.geom)) AS by
          FROM community a, community b WHERE a.id < b.id
         ORDER BY ST_Distance(a.geom, b.geom) DESC LIMIT 1""")[0]
    ta, tb = (z, *tile_of(picked["ax"], picked["ay"], z)), (z, *tile_of(picked["bx"], picked["by"], z))
    for tile, other in ((ta, picked["b"]), (tb, picked["a"])):
        box = tilemath.bounds(*tile, tiles.MARGIN)
        assert not rows(engine, "SELECT ST_Intersects(geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)) AS i "
                                "FROM community WHERE id = :id", id=other, **box.params())[0]["i"]
    compound = rows(engine, """SELECT c.id, c.name FROM compound c
                                WHERE c.community_id = :a AND c.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)
                                ORDER BY c.id LIMIT 1""", a=picked["a"], z=z, x=ta[1], y=ta[2])[0]

    before = {t: get(client, "compounds", *t, mode="grid").headers["ETag"] for t in (ta, tb)}
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE compound SET name = name || '（改）' WHERE id = :id"), {"id": compound["id"]})
    after = {t: get(client, "compounds", *t, mode="grid") for t in (ta, tb)}
    assert after[ta].headers["ETag"] != before[ta]
    assert after[tb].headers["ETag"] == before[tb]
    names = {f["properties"]["name"] for f in mapbox_vector_tile.decode(after[ta].data)["compounds"]["features"]}
    assert compound["name"] + "（改）" in names


def test_tile_cache_keeps_at_most_its_bytes_dropping_the_least_recently_used():
    cache = TileCache(3 * TileCache.OVERHEAD + 10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"      # a is now the most recently used
    cache.put("c", b"1234")
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"1234"
    assert cache.size == 2 * TileCache.OVERHEAD + 8
    cache.put("big", b"x" * (3 * TileCache.OVERHEAD))
    assert cache.get("big") is None and cache.size == 2 * TileCache.OVERHEAD + 8
    for key in range(10):                 # empty tiles take room too
        cache.put(key, b"")
    assert len(cache._items) == 3 and cache.size <= cache.limit


def test_one_tile_can_hold_several_layers(client, sample):
    z, x, y = [t for t in sample_tiles(sample, tiles.ISSUE_POINTS_ZOOM) if features(client, "issues", *t)][0]
    both = mapbox_vector_tile.decode(get(client, "compounds,issues", z, x, y, mode="governance").data)
    assert set(both) == {"compounds", "issues"}
    assert both["compounds"]["features"] == features(client, "compounds", z, x, y, mode="governance")
    assert both["issues"]["features"] == features(client, "issues", z, x, y)
    z, x, y = sample_tiles(sample, 11)[0]   # compounds start at 12: the issue cells alone
    assert set(mapbox_vector_tile.decode(get(client, "compounds,issues", z, x, y).data)) == {"issues"}


def test_empty_tiles_are_204(client, sample):
    assert get(client, "compounds", 15, 0, 0).status_code == 204
    z, x, y = sample_tiles(sample, 11)[0]   # below the compounds' minzoom
    assert get(client, "compounds", z, x, y).status_code == 204
    assert get(client, "issues", z, x, y).status_code == 200


# -- TileJSON ------------------------------------------------------------------------------

def test_tilejson_describes_the_layer(client, sample):
    doc = client.get("/tiles/compounds.json?mode=sla").get_json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://localhost/tiles/compounds/{z}/{x}/{y}.pbf?mode=sla"]
    assert doc["name"] == "楼院" and doc["attribution"] == "示例数据"
    layer, = doc["vector_layers"]
    assert layer["id"] == "compounds" and set(layer["fields"]) == set(tiles.LAYERS["compounds"].fields)
    assert layer["minzoom"] == doc["minzoom"] == tiles.LAYERS["compounds"].minzoom
    assert layer["maxzoom"] == doc["maxzoom"] == tilemath.MAX_ZOOM
    west, south, east, north = doc["bounds"]
    assert west == pytest.approx(sample["x0"]) and north == pytest.approx(sample["y1"])
    lon, lat, zoom = doc["center"]
    assert west < lon < east and south < lat < north and doc["minzoom"] <= zoom <= doc["maxzoom"]
    # the template works
    z, x, y = sample_tiles(sample, 15)[0]
    url = doc["tiles"][0].replace("http://localhost", "").format(z=z, x=x, y=y)
    assert client.get(url).status_code == 200
    both = client.get("/tiles/compounds,issues.json").get_json()
    assert [v["id"] for v in both["vector_layers"]] == ["compounds", "issues"] and both["minzoom"] == 0
    en = client.get("/tiles/issues.json?lang=en").get_json()
    assert en["name"] == "Issues" and en["attribution"] == "Sample data"
    assert en["tiles"] == ["http://localhost/tiles/issues/{z}/{x}/{y}.pbf"]


# -- bad requests --------------------------------------------------------------------------

@pytest.mark.parametrize("path, status, zh, en", [
    ("/tiles/heads/15/1/1.pbf", 404, "未知图层", "Unknown layer"),
    ("/tiles/heads.json", 404, "未知图层", "Unknown layer"),
    ("/tiles/compounds,compounds/15/1/1.pbf", 404, "未知图层", "Unknown layer"),
    ("/tiles/compounds/23/0/0.pbf", 400, "缩放级别 z", "zoom z"),
    ("/tiles/compounds/2/4/0.pbf", 400, "瓦片坐标 x", "tile x"),
    ("/tiles/compounds/2/0/-1.pbf", 400, "瓦片坐标 y", "tile y"),
    ("/tiles/compounds/a/0/0.pbf", 400, "瓦片坐标 z", "tile z"),
    ("/tiles/compounds/15/1/1.pbf?mode=rainbow", 400, "着色模式", "color mode"),
    ("/tiles/compounds/15/1/1.pbf?as_of=2024-13-01", 400, "YYYY-MM-DD", "YYYY-MM-DD"),
    ("/tiles/compounds/15/1/1.pbf?as_of=2024-01-01", 400, "bbox", "bbox"),
    ("/tiles/issues/15/1/1.pbf?as_of=2024-01-01", 400, "as_of", "as_of"),
])
def test_bad_requests_are_json_in_the_users_language(client, path, status, zh, en):
    response = client.get(path)
    assert response.status_code == status and zh in response.get_json()["error"]
    response = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert response.status_code == status and en in response.get_json()["error"]


def test_tiles_for_a_gcj02_basemap_are_shifted_by_its_offset(client, engine):
    """A compound drawn for a Gaode basemap (?crs=gcj02) lies where GCJ-02 puts it: its outline in
    the shifted tile is the plain one moved by the GCJ-02 offset (about 590 m here)."""
    from geo.crs import wgs84_to_gcj02

    c = rows(engine, "SELECT id, ST_X(ST_Centroid(geom)) lon, ST_Y(ST_Centroid(geom)) lat FROM compound ORDER BY id LIMIT 1")[0]
    glon, glat = (float(v) for v in wgs84_to_gcj02(c["lon"], c["lat"]))
    z = 14
    plain_tile, shifted_tile = (z, *tile_of(c["lon"], c["lat"], z)), (z, *tile_of(glon, glat, z))

    def corner(tile, **query):
        feature = [f for f in features(client, "compounds", *tile, mode="open", **query) if f["properties"]["id"] == c["id"]][0]
        ring = feature["geometry"]["coordinates"]
        while isinstance(ring[0][0], list):
            ring = ring[0]
        x, y = min(p[0] for p in ring), min(p[1] for p in ring)
        # MVT units (y up, 4096 a tile) → fractional tile numbers of the whole map at zoom z
        return tile[1] + x / 4096, tile[2] + 1 - y / 4096

    (px, py), (sx, sy) = corner(plain_tile), corner(shifted_tile, crs="gcj02")
    n = 2 ** z
    expected_dx = (glon - c["lon"]) / 360 * n
    assert sx - px == pytest.approx(expected_dx, abs=1 / 256)   # within a pixel of a 256 px tile
    mercator_y = lambda lat: (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    assert sy - py == pytest.approx(mercator_y(glat) - mercator_y(c["lat"]), abs=1 / 256)
    assert client.get(f"/tiles/compounds/{z}/0/0.pbf?crs=4326").status_code == 400


def test_heat_cells_for_a_gcj02_basemap_are_shifted(client, sample):
    from geo.crs import wgs84_to_gcj02

    bbox = f"{sample['x0']},{sample['y0']},{sample['x1']},{sample['y1']}"
    plain = client.get(f"/api/heat?bbox={bbox}&zoom=17").get_json()["cells"]
    gx0, gy0 = wgs84_to_gcj02(sample["x0"], sample["y0"])
    gx1, gy1 = wgs84_to_gcj02(sample["x1"], sample["y1"])
    shifted = client.get(f"/api/heat?bbox={gx0},{gy0},{gx1},{gy1}&zoom=17&crs=gcj02").get_json()["cells"]
    assert sum(c[2] for c in shifted) == sum(c[2] for c in plain) > 0
    lon, lat = wgs84_to_gcj02(plain[0][1], plain[0][0])
    assert [round(float(lat), 6), round(float(lon), 6), plain[0][2]] in shifted
