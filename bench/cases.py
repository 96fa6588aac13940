"""The rows of issue 9's target table, each timed over HTTP against the production server
(median and p95 over the rounds) and set beside its raw SQL (bench/raw.py) as a ratio."""
import math
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from shapely.geometry import shape

from bench.server import Client
from geo import hotspot
from layers import users

PASSWORD = "bench password 146"
# A street-level view: 1280 × 800 px at zoom 16 (Web Mercator), in degrees near 35° N.
VIEW_W = 1280 * 360 / 2 ** 24
VIEW_H = 800 * 360 / 2 ** 24 * math.cos(math.radians(35))
CITY = "SELECT id FROM district WHERE left(name, 2) = '合成'"   # no %: psycopg2 formats these
NEW_ISSUE = """INSERT INTO issue (title, category, channel, geom)
               VALUES ('基准测试：新诉求', 'road', 'phone', ST_SetSRID(ST_MakePoint(%s, %s), 4326))"""


@dataclass
class Row:
    what: str
    target: str
    seconds: list = field(default_factory=list)
    raw: list = field(default_factory=list)
    size: int | None = None
    note: str = ""          # "n/a" when the route is not there (404), else what went wrong

    def median(self, values):
        return statistics.median(values) if values else None

    def cells(self):
        ms = lambda s: "" if s is None else f"{s * 1000:,.1f}"
        app, raw = self.median(self.seconds), self.median(self.raw)
        if self.note == "n/a" or not self.seconds:
            return [self.what, "n/a", "", "", "", "", self.target]
        p95 = float(np.percentile(self.seconds, 95))
        ratio = f"{app / raw:.1f}" if raw else ""
        size = "" if self.size is None else f"{self.size:,}"
        what = self.what + (f"  [{self.note}]" if self.note else "")
        return [what, ms(app), ms(p95), ms(raw), ratio, size, self.target]


def create_users(eng):
    """An official for the whole city (no area), one for a district and one for a subdistrict
    of the synthetic city: {key: (name, label)}."""
    with eng.connect() as conn:
        district, subdistrict = conn.execute(sa.text(
            f"SELECT d.name, s.name FROM district d JOIN subdistrict s ON s.district_id = d.id "
            f"WHERE d.id IN ({CITY}) ORDER BY d.id, s.id LIMIT 1")).one()
    made = {"city": ("bench_city", "city official")}
    users.add("bench_city", "official", PASSWORD, None, eng=eng)
    for key, area in (("district", district), ("subdistrict", f"{district}/{subdistrict}")):
        try:
            users.add(f"bench_{key}", "official", PASSWORD, area, eng=eng)
            made[key] = (f"bench_{key}", f"{key} official, {area}")
        except users.UserError as exc:
            made[key] = ("bench_city", f"city official: --area {area} refused ({exc})")
    return made


class Bench:
    def __init__(self, port, recorder, floor, rounds, accounts):
        self.port, self.recorder, self.floor, self.rounds = port, recorder, floor, rounds
        self.accounts = accounts
        self.clients, self.local = {}, {}

    def client(self, user=None):
        """One keep-alive connection per user, signed in once."""
        if user not in self.clients:
            client = Client(self.port)
            self.clients[user] = client.login(self.accounts[user][0], PASSWORD) if user else client
        return self.clients[user]

    def local_client(self, user=None):
        if user not in self.local:
            self.local[user] = self.recorder.client(self.accounts[user][0] if user else None, PASSWORD)
        return self.local[user]

    def timed(self, row, request, expect=(200,)):
        """Run ``request(i)`` for each round; the times, the size of the last reply, and a
        note when the route is missing (404) or answers otherwise than ``expect``."""
        replies = [request(i) for i in range(self.rounds)]
        row.seconds = [r.seconds for r in replies]
        row.size = int(statistics.median(len(r.body) for r in replies))
        wrong = sorted({r.status for r in replies} - set(expect))
        if replies[0].status == 404:
            row.note = "n/a"
        elif wrong:
            row.note = "HTTP " + ",".join(map(str, wrong))
        return replies

    def route(self, what, target, path, user=None, headers=None, expect=(200,)):
        """A plain GET, warmed up once, then timed."""
        client = self.client(user)
        client.get(path, headers)
        row = Row(what, target)
        self.timed(row, lambda i: client.get(path, headers), expect)
        self.raw(row, path, user, headers)
        return row

    def raw(self, row, path, user=None, headers=None, conditional=False):
        """Replay, once per round, the read queries ``path`` runs in-process."""
        statements = None if row.note == "n/a" else self.recorded(path, user, headers, conditional)
        if statements:
            self.floor.seconds(statements)
            row.raw = [self.floor.seconds(statements) for _ in range(self.rounds)]

    def raw_each(self, row, paths):
        """The rounds asked for a different path each (a compound, a tile): replay each
        path's own read queries once, after a first run that warms the cache."""
        recorded = [self.recorded(path) for path in paths]
        for statements in filter(None, recorded):
            self.floor.seconds(statements)
        row.raw = [self.floor.seconds(statements) for statements in recorded if statements]

    def recorded(self, path, user=None, headers=None, conditional=False):
        """The read queries ``path`` runs in-process (None when it fails). ``conditional``:
        with the ETag the in-process app itself gave, so its 304 path is the one recorded."""
        client = self.local_client(user)
        if conditional:
            headers = {"If-None-Match": client.get(path).headers.get("ETag")}
        status, statements = self.recorder.queries(client, path, headers)
        return statements if status < 400 else None


def places(floor, rounds):
    """Where to look: the synthetic compound with most open issues (a street-level view
    around it, its tiles), and a compound of the city for each lookup round."""
    cid, lon, lat = floor.execute(f"""
        SELECT c.id, ST_X(ST_Centroid(c.geom)), ST_Y(ST_Centroid(c.geom))
          FROM compound_state s JOIN compound c ON c.id = s.compound_id
          JOIN community m ON m.id = c.community_id JOIN subdistrict sd ON sd.id = m.subdistrict_id
         WHERE sd.district_id IN ({CITY}) ORDER BY s.open_issues DESC, c.id LIMIT 1""")[0]
    floor.execute("SELECT setseed(0.146)")
    points = floor.execute(f"""
        SELECT ST_X(ST_Centroid(c.geom)), ST_Y(ST_Centroid(c.geom)) FROM compound c
          JOIN community m ON m.id = c.community_id JOIN subdistrict sd ON sd.id = m.subdistrict_id
         WHERE sd.district_id IN ({CITY}) ORDER BY random() LIMIT %s""", (rounds,))
    bbox = (lon - VIEW_W / 2, lat - VIEW_H / 2, lon + VIEW_W / 2, lat + VIEW_H / 2)
    return dict(compound=cid, lon=lon, lat=lat, bbox=",".join(f"{v:.6f}" for v in bbox), points=points)


def tile_of(lon, lat, z):
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(y * n)


def tiles_around(lon, lat, z, count):
    """``count`` distinct tiles at zoom ``z`` in a square around (lon, lat), centre first."""
    x0, y0 = tile_of(lon, lat, z)
    side = math.ceil(math.sqrt(count)) | 1
    offsets = sorted(((dx, dy) for dx in range(-(side // 2), side // 2 + 1)
                      for dy in range(-(side // 2), side // 2 + 1)), key=lambda o: max(map(abs, o)))
    return [(z, x0 + dx, y0 + dy) for dx, dy in offsets[:count]]


def measure(b, place, accounts):
    """Every row but the synthetic city's load, in the order of issue 9's table."""
    rows = [b.route("GET / (map page)", "200, ≤ 150 ms, ≤ 500 KB", "/")]

    layer = f"/api/layers/compounds.geojson?bbox={place['bbox']}"
    client = b.client()
    tag = client.get(layer).headers.get("etag")

    def after_change(_):
        nonlocal tag
        b.floor.execute(NEW_ISSUE, (place["lon"], place["lat"]))
        reply = client.get(layer, {"If-None-Match": tag})
        tag = reply.headers.get("etag", tag)
        return reply

    row = Row("compounds.geojson, street bbox, after a change", "≤ 50 ms")
    b.timed(row, after_change)
    b.floor.execute(NEW_ISSUE, (place["lon"], place["lat"]))
    b.raw(row, layer)
    rows.append(row)
    tag = client.get(layer).headers.get("etag")     # the layer as it is now

    row = Row("  the poll, unchanged (304)", "≤ 50 ms")
    b.timed(row, lambda i: client.get(layer, {"If-None-Match": tag}), expect=(304,))
    b.raw(row, layer, conditional=True)
    rows.append(row)

    lookups = [f"/api/lookup?lon={lon:.6f}&lat={lat:.6f}" for lon, lat in place["points"]]
    row = Row("/api/lookup (a compound each round)", "p95 ≤ 10 ms")
    client.get(lookups[0])
    b.timed(row, lambda i: client.get(lookups[i % len(lookups)]))
    b.raw_each(row, lookups)
    rows.append(row)

    rows.append(b.route("buildings.geojson, street bbox", "≤ 50 ms",
                        f"/api/layers/buildings.geojson?bbox={place['bbox']}"))
    for user in ("city", "district", "subdistrict"):
        label = accounts[user][1]
        rows.append(b.route(f"/dashboard ({label})", "≤ 300 ms", "/dashboard", user))
        rows.append(b.route("  /api/dashboard.json", "≤ 300 ms", "/api/dashboard.json", user))
    rows.append(b.route(f"/hotspots ({accounts['city'][1]})", "≤ 3 s, ≤ 1 MB", "/hotspots", "city"))
    rows.append(b.route(f"/issues, first page ({accounts['city'][1]})", "≤ 300 ms", "/issues", "city"))
    rows.append(b.route("/open311/v2/requests.json", "≤ 100 ms", "/open311/v2/requests.json"))
    return rows


def measure_tiles(b, place):
    """MVT tiles around the busiest compound: cold (a tile not served before, each round)
    and cached (the tile of that compound again and again). Sizes are gzipped; raw is the
    tile's own queries (for the cached tile: what making it afresh costs)."""
    rows = []
    # (the map page of a tiled city asks for compounds, buildings and issues in one tile)
    for layer, zooms in (("compounds", (14, 12)), ("issues", (14, 12)), ("compounds,buildings,issues", (17, 14))):
        for z in zooms:
            tiles = tiles_around(place["lon"], place["lat"], z, b.rounds + 1)
            path = lambda t: f"/tiles/{layer}/{t[0]}/{t[1]}/{t[2]}.pbf"
            client = b.client()
            cold = Row(f"/tiles/{layer}/{z}/…, cold", "")
            b.timed(cold, lambda i: client.get(path(tiles[i + 1])), expect=(200, 204))
            if cold.note != "n/a":
                b.raw_each(cold, [path(t) for t in tiles[1:]])
            rows.append(cold)
            cached = Row("  cached", "")
            client.get(path(tiles[0]))
            b.timed(cached, lambda i: client.get(path(tiles[0])), expect=(200, 204))
            b.raw(cached, path(tiles[0]))     # what the cache saves: the tile made afresh
            rows.append(cached)
    return rows


def statistic_rows(floor):
    """Binning into square cells and Gi* alone (geo.hotspot; the route counts the cells in
    PostGIS): the sample's issues, then points drawn uniformly over the sample subdistrict."""
    lon, lat, area = floor.execute("""
        SELECT array_agg(ST_X(i.geom)), array_agg(ST_Y(i.geom)), (SELECT ST_AsGeoJSON(geom)::json
                 FROM subdistrict WHERE name = '中心路街道')
          FROM issue i JOIN community m ON m.id = i.community_id JOIN subdistrict s ON s.id = m.subdistrict_id
         WHERE s.name = '中心路街道'""")[0]
    outline = shape(area)
    grid = hotspot.Grid.over(outline.bounds, hotspot.DEFAULT_SIZE)
    cells = hotspot.area_cells(outline, grid, outline.bounds)

    def timed(x, y, rounds):
        seconds = []
        for _ in range(rounds):
            started = time.perf_counter()
            hotspot.hotspots(*hotspot.bin_points(np.asarray(x), np.asarray(y), grid), cells)
            seconds.append(time.perf_counter() - started)
        return seconds

    rows = [Row(f"hotspot Gi* alone, the sample's {len(lon)} issues", "", seconds=timed(lon, lat, 10))]
    rng = np.random.default_rng(146)
    minx, miny, maxx, maxy = outline.bounds
    for n, rounds in ((10 ** 5, 10), (10 ** 6, 3)):
        x, y = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
        rows.append(Row(f"hotspot Gi* alone, {n:.0e} points", "", seconds=timed(x, y, rounds)))
    return rows
