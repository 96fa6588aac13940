"""The places of the sample 中心路街道 (示例数据): communities, grids, compounds with their
buildings, units and 三长, self-governance orgs, venues and deputies; synthetic geometry
drawn in metres (CGCS2000 Gauss-Kruger) where 上街区 is."""
import datetime as dt

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import MultiPoint, Point, Polygon, box
from tqdm import tqdm

from data import sample_names as names

METRIC_CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E: metres around 上街区
TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

# The outline of the subdistrict, lon/lat, inside 113.27–113.31 E, 34.79–34.83 N.
OUTLINE = [(113.2745, 34.7960), (113.2880, 34.7925), (113.3040, 34.7950), (113.3075, 34.8080),
           (113.3060, 34.8230), (113.2930, 34.8275), (113.2780, 34.8255), (113.2725, 34.8120)]

NPC_DEPUTIES = 35
CPPCC_MEMBERS = 24
SELF_GOVERNED_COMPOUNDS = 28
VENUE_COUNT = 65
GAPPED_COMPOUNDS = 9


def to_lonlat(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def _to_metric(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1])))


def _seeds(rng, area, n, spacing):
    """n random points inside ``area`` at least ``spacing`` apart (relaxed if it is too tight)."""
    minx, miny, maxx, maxy = area.bounds
    inner = area.buffer(-spacing / 3)
    points = []
    tries = 0
    while len(points) < n:
        tries += 1
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.contains(p) and all(p.distance(q) >= spacing for q in points):
            points.append(p)
        if tries % 2000 == 0:
            spacing *= 0.85
    return points


def _cells(points, area):
    """Voronoi cells of ``points`` clipped to ``area``, in the order of the points."""
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=area, ordered=True)
    return [cell.intersection(area) for cell in cells.geoms]


def _compound_shape(rng, seed, cell):
    """A rotated block around the seed, kept off the cell's edge so that streets separate
    compounds and every compound stays inside its grid."""
    w, h = rng.uniform(220, 360), rng.uniform(170, 280)
    angle = rng.uniform(-12, 12)
    block = affinity.rotate(box(seed.x - w / 2, seed.y - h / 2, seed.x + w / 2, seed.y + h / 2),
                            angle, origin=seed)
    shape = block.intersection(cell.buffer(-18))
    if shape.geom_type != "Polygon":
        shape = max(shape.geoms, key=lambda g: g.area)
    return shape.simplify(0.5), angle


def _buildings(rng, compound, angle):
    """Slab buildings on a rotated lattice inside the compound."""
    c = compound.centroid
    upright = affinity.rotate(compound, -angle, origin=c)
    inner = upright.buffer(-10)
    minx, miny, maxx, maxy = upright.bounds
    length, depth, gap_x, gap_y = 54.0, 13.0, 18.0, 26.0
    slabs = []
    y = miny + 12
    while y + depth < maxy:
        x = minx + 12
        while x + length < maxx:
            slab = box(x, y, x + length, y + depth)
            if inner.contains(slab):
                slabs.append(slab)
            x += length + gap_x
        y += depth + gap_y
    if len(slabs) > 12:
        keep = sorted(rng.choice(len(slabs), 12, replace=False))
        slabs = [slabs[i] for i in keep]
    return [affinity.rotate(s, angle, origin=c) for s in slabs]


class People:
    """Invented names and phone numbers in a plainly fake pattern (1380000xxxx …)."""

    def __init__(self, rng):
        self.rng = rng
        self.serial = {}

    def name(self):
        given = "".join(self.rng.choice(list(names.GIVEN), self.rng.integers(1, 3)))
        return self.rng.choice(list(names.SURNAMES)) + given

    def phone(self, prefix="1380000"):
        n = self.serial.get(prefix, 0) + 1
        self.serial[prefix] = n
        return f"{prefix}{n:04d}"


def _polygonal(geom):
    """The polygons of an overlay result, without the slivers of lines and points."""
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and g.area > 0]
    return shapely.union_all(parts)


def insert_row(conn, sql, **params):
    return conn.execute(sa.text(sql), params).scalar()


def _area_sql(table, columns):
    cols = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return (f"INSERT INTO {table} ({cols}, geom) VALUES ({values}, "
            "ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id")


def build_places(conn, rng, people):
    """Subdistrict → communities → grids → compounds → buildings → units, with the 三长."""
    outline = _to_metric(Polygon(OUTLINE))
    outline_ll = to_lonlat(outline)
    # 上街区 is drawn as far as the sample knows it: the outline of its one subdistrict.
    district_id = insert_row(conn, "INSERT INTO district (name, is_sample, geom) VALUES (:name, true, "
                          "ST_Multi(ST_GeomFromText(:wkt, 4326))) ON CONFLICT (name) DO UPDATE "
                          "SET name = EXCLUDED.name RETURNING id", name=names.DISTRICT, wkt=outline_ll.wkt)
    sub_id = insert_row(conn, _area_sql("subdistrict", ["district_id", "name", "is_sample"]),
                     district_id=district_id, name=names.SUBDISTRICT, is_sample=True, wkt=outline_ll.wkt)
    community_seeds = sorted(_seeds(rng, outline, len(names.COMMUNITIES), 700),
                             key=lambda p: (-round(p.y / 900), p.x))
    generic = iter(names.COMPOUND_NAMES)
    compounds = []
    for (community, n_compounds), cell in zip(names.COMMUNITIES, _cells(community_seeds, outline)):
        # Clip again in lon/lat: a vertex added in metres is not exactly on the projected edge.
        community_ll = _polygonal(to_lonlat(cell).intersection(outline_ll))
        community_id = insert_row(conn, _area_sql("community", ["subdistrict_id", "name"]),
                               subdistrict_id=sub_id, name=community, wkt=community_ll.wkt)
        seeds = sorted(_seeds(rng, cell, n_compounds, 260), key=lambda p: (p.x, p.y))
        cells = _cells(seeds, cell)
        pinned = list(names.NAMED_COMPOUNDS.get(community, []))
        # Grids of one to three neighbouring compounds.
        groups, i = [], 0
        while i < n_compounds:
            size = min(int(rng.integers(1, 4)), n_compounds - i)
            groups.append(list(range(i, i + size)))
            i += size
        for g, members in enumerate(groups, start=1):
            grid_shape = _polygonal(to_lonlat(shapely.union_all([cells[m] for m in members]))
                                    .intersection(community_ll))
            grid_id = insert_row(
                conn, _area_sql("grid", ["community_id", "name", "leader_name", "leader_phone"]),
                community_id=community_id, name=f"第{g}网格", leader_name=people.name(),
                leader_phone=people.phone("1390000"), wkt=grid_shape.wkt)
            for m in members:
                shape, angle = _compound_shape(rng, seeds[m], cells[m])
                name = pinned.pop(0) if pinned else next(generic)
                compound_id = insert_row(
                    conn, _area_sql("compound", ["community_id", "grid_id", "name", "households"]),
                    community_id=community_id, grid_id=grid_id, name=name, households=0,
                    wkt=to_lonlat(shape).wkt)
                compounds.append(dict(id=compound_id, name=name, community=community,
                                      community_id=community_id, grid_id=grid_id,
                                      shape=shape, angle=angle, cell=cells[m]))
    with_gaps = set(rng.choice(len(compounds), GAPPED_COMPOUNDS, replace=False).tolist())
    for i, c in enumerate(tqdm(compounds, desc="楼栋与三长", unit="楼院", disable=not showing_progress(conn))):
        c["has_gaps"] = i in with_gaps
        _build_compound(conn, rng, people, c)
    return compounds


def showing_progress(conn):
    return conn.info.get("progress", False)


def _build_compound(conn, rng, people, c):
    slabs = _buildings(rng, c["shape"], c["angle"])
    c["buildings"] = []
    heads = []
    households = 0
    # A few compounds have empty posts, so that the governance map has gaps to show.
    vacancy = 0.15 if c["has_gaps"] else 0.0
    if rng.random() >= vacancy * 2:
        heads.append(dict(role="compound_head", building_id=None, unit_id=None))
    for b, slab in enumerate(slabs, start=1):
        floors = int(rng.choice([6, 6, 6, 7, 11, 18]))
        building_id = insert_row(
            conn, "INSERT INTO building (compound_id, name, floors, geom) VALUES "
                  "(:c, :name, :floors, ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id",
            c=c["id"], name=f"{b}号楼", floors=floors, wkt=to_lonlat(slab).wkt)
        c["buildings"].append(dict(id=building_id, shape=slab))
        if rng.random() >= vacancy:
            heads.append(dict(role="building_head", building_id=building_id, unit_id=None))
        for u in range(1, int(rng.integers(2, 5)) + 1):
            unit_id = insert_row(conn, "INSERT INTO unit (building_id, name) VALUES (:b, :n) RETURNING id",
                              b=building_id, n=f"{u}单元")
            households += floors * 2
            if rng.random() >= vacancy:
                heads.append(dict(role="unit_head", building_id=building_id, unit_id=unit_id))
    conn.execute(sa.text("UPDATE compound SET households = :h WHERE id = :id"),
                 dict(h=households, id=c["id"]))
    today = dt.date.today()
    rows = [dict(h, compound_id=c["id"], name=people.name(), phone=people.phone(),
                 appointed_on=today - dt.timedelta(days=int(rng.integers(30, 900))),
                 certificate_no=f"ZXL-{c['id']:03d}-{i:03d}") for i, h in enumerate(heads, 1)]
    if rows:
        conn.execute(sa.text(
            "INSERT INTO head (role, name, phone, compound_id, building_id, unit_id, appointed_on,"
            " certificate_no) VALUES (:role, :name, :phone, :compound_id, :building_id, :unit_id,"
            " :appointed_on, :certificate_no)"), rows)


def build_self_governance(conn, rng, compounds):
    chosen = sorted(rng.choice(len(compounds), SELF_GOVERNED_COMPOUNDS, replace=False))
    today = dt.date.today()
    rows = []
    for n, i in enumerate(chosen):
        kind = names.SELF_GOVERNANCE_KINDS[n % len(names.SELF_GOVERNANCE_KINDS)]
        rows.append(dict(compound_id=compounds[i]["id"], name=f"{compounds[i]['name']}{kind}",
                         kind=kind, founded_on=today - dt.timedelta(days=int(rng.integers(60, 1000)))))
    conn.execute(sa.text("INSERT INTO self_governance_org (compound_id, name, kind, founded_on) "
                         "VALUES (:compound_id, :name, :kind, :founded_on)"), rows)


def point_in(rng, shape):
    minx, miny, maxx, maxy = shape.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if shape.contains(p):
            return p


def _add_venue(conn, community_id, compound_id, name, platforms, point):
    venue_id = insert_row(conn, "INSERT INTO venue (community_id, compound_id, name, geom) VALUES "
                             "(:community, :compound, :name, ST_GeomFromText(:wkt, 4326)) RETURNING id",
                       community=community_id, compound=compound_id, name=name,
                       wkt=to_lonlat(point).wkt)
    conn.execute(sa.text("INSERT INTO venue_platform VALUES (:v, :p)"),
                 [dict(v=venue_id, p=p) for p in platforms])
    return dict(id=venue_id, name=name, community_id=community_id, platforms=platforms)


def build_venues(conn, rng, compounds):
    """65 places of consultation: a 党群服务中心 in each community, the subdistrict's council
    hall, the star liaison station, CPPCC rooms and a 小板凳 spot in most compounds."""
    communities = conn.execute(sa.text(
        "SELECT id, name, ST_AsText(geom) AS wkt FROM community ORDER BY id")).mappings().all()
    venues = []
    for c in communities:
        shape = _to_metric(shapely.from_wkt(c["wkt"]))
        point = point_in(rng, shape.buffer(-60))
        platforms = ["bench_talk", "residents_council"]
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}党群服务中心", platforms, point))
        if c["name"] == "汇丰社区":
            venues.append(_add_venue(conn, c["id"], None, "汇丰社区居民议事亭", ["bench_talk"],
                                     point_in(rng, shape.buffer(-60))))
        if c["name"] == "江南小镇社区":
            venues.append(_add_venue(conn, c["id"], None, "江南小镇社区人大代表星级联络站",
                                     ["npc_station"], point_in(rng, shape.buffer(-60))))
        if c["name"] == "中心路社区":
            venues.append(_add_venue(conn, c["id"], None, "中心路街道居民议事会议室",
                                     ["residents_council"], point_in(rng, shape.buffer(-60))))
    for c in communities[:6]:
        shape = _to_metric(shapely.from_wkt(c["wkt"]))
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}“有事好商量”协商议事室",
                                 ["cppcc_consult"], point_in(rng, shape.buffer(-60))))
    for c in communities[6:9]:
        shape = _to_metric(shapely.from_wkt(c["wkt"]))
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}人大代表联络点",
                                 ["npc_station"], point_in(rng, shape.buffer(-60))))
    for c in compounds[: VENUE_COUNT - len(venues)]:
        venues.append(_add_venue(conn, c["community_id"], c["id"], f"{c['name']}小板凳恳谈点",
                                 ["bench_talk"], point_in(rng, c["shape"].buffer(-8))))
    return venues


def build_deputies(conn, rng, people, venues):
    community_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM community ORDER BY id"))]
    stations = [v for v in venues if "npc_station" in v["platforms"]]
    star = next(v for v in stations if "星级" in v["name"])
    for i in range(NPC_DEPUTIES):
        station = star if i < 20 else stations[i % len(stations)]
        deputy_id = insert_row(conn, "INSERT INTO deputy (kind, name, phone, liaison_station_id) "
                                  "VALUES ('npc_deputy', :n, :p, :s) RETURNING id",
                            n=people.name(), p=people.phone("1370000"), s=station["id"])
        conn.execute(sa.text("INSERT INTO deputy_community VALUES (:d, :c)"),
                     dict(d=deputy_id, c=community_ids[i % len(community_ids)]))
    # 24 CPPCC members "分片到 14 个社区": every community has at least one.
    for i in range(CPPCC_MEMBERS):
        deputy_id = insert_row(conn, "INSERT INTO deputy (kind, name, phone) "
                                  "VALUES ('cppcc_member', :n, :p) RETURNING id",
                            n=people.name(), p=people.phone("1370000"))
        conn.execute(sa.text("INSERT INTO deputy_community VALUES (:d, :c)"),
                     dict(d=deputy_id, c=community_ids[i % len(community_ids)]))
