"""Benchmarks on the sample subdistrict, then beside it a synthetic city (2,000 compounds,
10^5 issues) for the app at scale, in a throwaway PostGIS cluster.

Each API route is timed through the WSGI app (server time, no network) and set beside the
same SQL run raw in the same run: the ratio is what to watch, since these machines are
shared and noisy. Prints a table; writes nothing outside its temp folder.
"""
import shutil
import statistics
import tempfile
import time

import numpy as np
import sqlalchemy as sa
from shapely.geometry import shape

from app import create_app
from data import sample, synth
from geo import hotspot
from geo.bbox import BBox
from layers import compounds, issues, lookup, migrate
from layers.cluster import Cluster
from layers.db import make_engine
from layers.features import FEATURES_SQL
from webmap import api
from webmap.api import compound_styles


def cold(fn):
    """``fn`` with the shared compound-styles cache emptied first: the path after a change."""
    def run():
        api._styles.cache_clear()
        return fn()
    return run

ROUNDS = 30
CITY_COMPOUNDS, CITY_ISSUES = 2_000, 100_000


def timed(fn, rounds=ROUNDS):
    """Median seconds of ``fn`` over ``rounds`` runs, after one warm-up run."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def raw(conn, *queries):
    """Run each (sql, params) straight on one connection and fetch everything: the floor."""
    def run():
        for sql, params in queries:
            conn.execute(sa.text(sql), params).fetchall()
    return run


def measure(app, conn):
    client = app.test_client()
    rows = []
    page = client.get("/")
    rows.append(("map page GET /", timed(lambda: client.get("/"), rounds=10), None,
                 len(page.data)))

    with app.test_request_context("/"):
        styles, _legend = compound_styles("open", None)
    layer_sql, layer_params = compounds.query(styles)
    floor = raw(conn, compounds.stats_query(), (FEATURES_SQL.format(select=layer_sql), layer_params))
    fresh = lambda: client.get("/api/layers/compounds.geojson", headers={"If-None-Match": '"x"'})
    rows.append(("GET /api/layers/compounds.geojson", timed(cold(fresh)), timed(floor), len(fresh().data)))
    rows.append(("  same, another viewer (styles cached)", timed(fresh), None, None))

    etag = fresh().headers["ETag"]
    unchanged = lambda: client.get("/api/layers/compounds.geojson", headers={"If-None-Match": etag})
    assert unchanged().status_code == 304
    rows.append(("  same, unchanged poll (304)", timed(unchanged),
                 timed(raw(conn, ("SELECT last_value FROM data_version", {}))), 0))

    lon, lat = 113.2750, 34.8135
    rows.append(("GET /api/lookup", timed(lambda: client.get(f"/api/lookup?lon={lon}&lat={lat}")),
                 timed(raw(conn, lookup.query(lon, lat))), None))
    return rows + hotspot_rows(conn)


def city_rows(app, eng, conn):
    """Load the synthetic city beside the sample, then the layer API on a bbox of about 200
    of its compounds and a lookup inside it. The compound layer's colors come from
    compounds.stats(), which covers every compound, not only the bbox: timed apart."""
    start = time.perf_counter()
    print(synth.load(eng, CITY_COMPOUNDS, CITY_ISSUES, progress=True))
    rows = [(f"synth city load ({CITY_COMPOUNDS}, {CITY_ISSUES:.0e})", time.perf_counter() - start,
             None, None)]
    conn.execute(sa.text("ANALYZE"))
    box = BBox(*synth.bbox_of_compounds(200))
    query = f"bbox={box.minx},{box.miny},{box.maxx},{box.maxy}"
    client = app.test_client()
    fresh = lambda layer: lambda: client.get(f"/api/layers/{layer}.geojson?{query}",
                                              headers={"If-None-Match": '"x"'})
    with app.test_request_context("/"):
        styles, _legend = compound_styles("open", None)
        rows.append(("  compound_styles (stats → colors)",
                     timed(cold(lambda: compound_styles("open", None))), None, None))
    stats_sql = compounds.stats_query()
    layer_sql, layer_params = compounds.query(styles, box)
    layer = (FEATURES_SQL.format(select=layer_sql), layer_params)
    body = fresh("compounds")().get_json()
    rows.append((f"city compounds.geojson ({len(body['features'])} in bbox)", timed(cold(fresh("compounds"))),
                 timed(raw(conn, stats_sql, layer)), len(fresh("compounds")().data)))
    rows.append(("  raw: stats over all compounds", timed(raw(conn, stats_sql)), None, None))
    rows.append(("  raw: bbox features only", timed(raw(conn, layer)), None, None))
    issue_sql, issue_params = issues.query(box)
    body = fresh("issues")().get_json()
    rows.append((f"city issues.geojson ({len(body['features'])} open)", timed(fresh("issues")),
                 timed(raw(conn, (FEATURES_SQL.format(select=issue_sql), issue_params))),
                 len(fresh("issues")().data)))
    lon, lat = synth.ORIGIN[0] + 3.5 * synth.CELL_W, synth.ORIGIN[1] + 2.5 * synth.CELL_H
    assert client.get(f"/api/lookup?lon={lon}&lat={lat}").get_json()["compound"]
    rows.append(("city GET /api/lookup", timed(lambda: client.get(f"/api/lookup?lon={lon}&lat={lat}")),
                 timed(raw(conn, lookup.query(lon, lat))), None))
    return rows


def hotspot_rows(conn):
    """Binning into square cells and Gi* (geo.hotspot only; the app counts the cells in
    PostGIS): the sample's issues, then synthetic points drawn uniformly in the
    subdistrict's bounds."""
    lon, lat, area = conn.execute(sa.text("""
        SELECT (SELECT array_agg(ST_X(geom)) FROM issue), (SELECT array_agg(ST_Y(geom)) FROM issue),
               ST_AsGeoJSON(ST_Union(geom))::json FROM subdistrict""")).one()
    outline = shape(area)
    grid = hotspot.Grid.over(outline.bounds, hotspot.DEFAULT_SIZE)
    cells = hotspot.area_cells(outline, grid, outline.bounds)
    run = lambda x, y: lambda: hotspot.hotspots(*hotspot.bin_points(x, y, grid), cells)
    rows = [(f"hotspot Gi*, sample ({len(lon)} issues)", timed(run(lon, lat)), None, None)]
    rng = np.random.default_rng(146)
    bounds = outline.bounds
    for n, rounds in ((10**5, 10), (10**6, 3)):
        x, y = rng.uniform(bounds[0], bounds[2], n), rng.uniform(bounds[1], bounds[3], n)
        rows.append((f"hotspot Gi*, {n:.0e} synthetic points", timed(run(x, y), rounds=rounds), None, None))
    return rows


def print_table(rows):
    print(f"\n{'what':36} {'app ms':>9} {'raw SQL ms':>11} {'ratio':>7} {'bytes':>9}")
    print("-" * 76)
    for name, app_s, raw_s, size in rows:
        raw_text = f"{raw_s * 1000:11.2f}" if raw_s else " " * 11
        ratio = f"{app_s / raw_s:7.2f}" if raw_s else " " * 7
        size_text = f"{size:9d}" if size is not None else " " * 9
        print(f"{name:36} {app_s * 1000:9.2f} {raw_text} {ratio} {size_text}")


def main():
    root = tempfile.mkdtemp(prefix="pgbench-", dir="/tmp")
    cluster = Cluster(root, throwaway=True)
    try:
        cluster.start()
        eng = make_engine(cluster.url)
        migrate.upgrade(eng, echo=lambda *_: None)
        print(sample.load(eng, progress=True))
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": cluster.url})
        with eng.connect() as conn:
            conn.execute(sa.text("SET jit = off"))  # as the app's gateway runs its queries
            rows = measure(app, conn)
        with eng.connect() as conn:
            conn.execute(sa.text("SET jit = off"))
            rows += city_rows(app, eng, conn)
        print_table(rows)
        eng.dispose()
        app.extensions["gridmap_engine"].dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
