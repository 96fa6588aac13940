"""The sample 中心路街道 (示例数据): synthetic geometry placed where 上街区 is, with the
source document's figures: 14 communities, 62 compounds, 65 venues, 400+ meetings,
35 NPC deputies, 24 CPPCC members, 28 self-governance orgs, 131 livelihood issues resolved.

Everything is drawn from one seeded random generator, so two loads on the same day give
the same subdistrict; dates are relative to the day of loading so that the open issues
stay realistically "on time", "due soon" or "overdue".
"""
import datetime as dt
import secrets

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import MultiPoint, Point, Polygon, box
from tqdm import tqdm

from data import sample_names as names
from data.sample_cases import CASES
from layers.dashboard import FIGURES_SQL
from layers import search, state, users

SEED = 146
METRIC_CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E: metres around 上街区
TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

# The outline of the subdistrict, lon/lat, inside 113.27–113.31 E, 34.79–34.83 N.
OUTLINE = [(113.2745, 34.7960), (113.2880, 34.7925), (113.3040, 34.7950), (113.3075, 34.8080),
           (113.3060, 34.8230), (113.2930, 34.8275), (113.2780, 34.8255), (113.2725, 34.8120)]

ISSUE_COUNT = 380
RESOLVED_LIVELIHOOD = 131
MEETING_COUNT = 412
NPC_DEPUTIES = 35
CPPCC_MEMBERS = 24
SELF_GOVERNED_COMPOUNDS = 28
VENUE_COUNT = 65
GAPPED_COMPOUNDS = 9
OPEN_STAGES = ["reported", "topic", "notice", "consult", "implement", "publish", "feedback"]


def _to_lonlat(geom):
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


class _People:
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


def _insert(conn, sql, **params):
    return conn.execute(sa.text(sql), params).scalar()


def _area_sql(table, columns):
    cols = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return (f"INSERT INTO {table} ({cols}, geom) VALUES ({values}, "
            "ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id")


def build_places(conn, rng, people):
    """Subdistrict → communities → grids → compounds → buildings → units, with the 三长."""
    outline = _to_metric(Polygon(OUTLINE))
    outline_ll = _to_lonlat(outline)
    # 上街区 is drawn as far as the sample knows it: the outline of its one subdistrict.
    district_id = _insert(conn, "INSERT INTO district (name, is_sample, geom) VALUES (:name, true, "
                          "ST_Multi(ST_GeomFromText(:wkt, 4326))) ON CONFLICT (name) DO UPDATE "
                          "SET name = EXCLUDED.name RETURNING id", name=names.DISTRICT, wkt=outline_ll.wkt)
    sub_id = _insert(conn, _area_sql("subdistrict", ["district_id", "name", "is_sample"]),
                     district_id=district_id, name=names.SUBDISTRICT, is_sample=True, wkt=outline_ll.wkt)
    community_seeds = sorted(_seeds(rng, outline, len(names.COMMUNITIES), 700),
                             key=lambda p: (-round(p.y / 900), p.x))
    generic = iter(names.COMPOUND_NAMES)
    compounds = []
    for (community, n_compounds), cell in zip(names.COMMUNITIES, _cells(community_seeds, outline)):
        # Clip again in lon/lat: a vertex added in metres is not exactly on the projected edge.
        community_ll = _polygonal(_to_lonlat(cell).intersection(outline_ll))
        community_id = _insert(conn, _area_sql("community", ["subdistrict_id", "name"]),
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
            grid_shape = _polygonal(_to_lonlat(shapely.union_all([cells[m] for m in members]))
                                    .intersection(community_ll))
            grid_id = _insert(
                conn, _area_sql("grid", ["community_id", "name", "leader_name", "leader_phone"]),
                community_id=community_id, name=f"第{g}网格", leader_name=people.name(),
                leader_phone=people.phone("1390000"), wkt=grid_shape.wkt)
            for m in members:
                shape, angle = _compound_shape(rng, seeds[m], cells[m])
                name = pinned.pop(0) if pinned else next(generic)
                compound_id = _insert(
                    conn, _area_sql("compound", ["community_id", "grid_id", "name", "households"]),
                    community_id=community_id, grid_id=grid_id, name=name, households=0,
                    wkt=_to_lonlat(shape).wkt)
                compounds.append(dict(id=compound_id, name=name, community=community,
                                      community_id=community_id, grid_id=grid_id,
                                      shape=shape, angle=angle, cell=cells[m]))
    with_gaps = set(rng.choice(len(compounds), GAPPED_COMPOUNDS, replace=False).tolist())
    for i, c in enumerate(tqdm(compounds, desc="楼栋与三长", unit="楼院", disable=not _progress(conn))):
        c["has_gaps"] = i in with_gaps
        _build_compound(conn, rng, people, c)
    return compounds


def _progress(conn):
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
        building_id = _insert(
            conn, "INSERT INTO building (compound_id, name, floors, geom) VALUES "
                  "(:c, :name, :floors, ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id",
            c=c["id"], name=f"{b}号楼", floors=floors, wkt=_to_lonlat(slab).wkt)
        c["buildings"].append(dict(id=building_id, shape=slab))
        if rng.random() >= vacancy:
            heads.append(dict(role="building_head", building_id=building_id, unit_id=None))
        for u in range(1, int(rng.integers(2, 5)) + 1):
            unit_id = _insert(conn, "INSERT INTO unit (building_id, name) VALUES (:b, :n) RETURNING id",
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


def _point_in(rng, shape):
    minx, miny, maxx, maxy = shape.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if shape.contains(p):
            return p


def _add_venue(conn, community_id, compound_id, name, platforms, point):
    venue_id = _insert(conn, "INSERT INTO venue (community_id, compound_id, name, geom) VALUES "
                             "(:community, :compound, :name, ST_GeomFromText(:wkt, 4326)) RETURNING id",
                       community=community_id, compound=compound_id, name=name,
                       wkt=_to_lonlat(point).wkt)
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
        point = _point_in(rng, shape.buffer(-60))
        platforms = ["bench_talk", "residents_council"]
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}党群服务中心", platforms, point))
        if c["name"] == "汇丰社区":
            venues.append(_add_venue(conn, c["id"], None, "汇丰社区居民议事亭", ["bench_talk"],
                                     _point_in(rng, shape.buffer(-60))))
        if c["name"] == "江南小镇社区":
            venues.append(_add_venue(conn, c["id"], None, "江南小镇社区人大代表星级联络站",
                                     ["npc_station"], _point_in(rng, shape.buffer(-60))))
        if c["name"] == "中心路社区":
            venues.append(_add_venue(conn, c["id"], None, "中心路街道居民议事会议室",
                                     ["residents_council"], _point_in(rng, shape.buffer(-60))))
    for c in communities[:6]:
        shape = _to_metric(shapely.from_wkt(c["wkt"]))
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}“有事好商量”协商议事室",
                                 ["cppcc_consult"], _point_in(rng, shape.buffer(-60))))
    for c in communities[6:9]:
        shape = _to_metric(shapely.from_wkt(c["wkt"]))
        venues.append(_add_venue(conn, c["id"], None, f"{c['name']}人大代表联络点",
                                 ["npc_station"], _point_in(rng, shape.buffer(-60))))
    for c in compounds[: VENUE_COUNT - len(venues)]:
        venues.append(_add_venue(conn, c["community_id"], c["id"], f"{c['name']}小板凳恳谈点",
                                 ["bench_talk"], _point_in(rng, c["shape"].buffer(-8))))
    return venues


def build_deputies(conn, rng, people, venues):
    community_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM community ORDER BY id"))]
    stations = [v for v in venues if "npc_station" in v["platforms"]]
    star = next(v for v in stations if "星级" in v["name"])
    for i in range(NPC_DEPUTIES):
        station = star if i < 20 else stations[i % len(stations)]
        deputy_id = _insert(conn, "INSERT INTO deputy (kind, name, phone, liaison_station_id) "
                                  "VALUES ('npc_deputy', :n, :p, :s) RETURNING id",
                            n=people.name(), p=people.phone("1370000"), s=station["id"])
        conn.execute(sa.text("INSERT INTO deputy_community VALUES (:d, :c)"),
                     dict(d=deputy_id, c=community_ids[i % len(community_ids)]))
    # 24 CPPCC members "分片到 14 个社区": every community has at least one.
    for i in range(CPPCC_MEMBERS):
        deputy_id = _insert(conn, "INSERT INTO deputy (kind, name, phone) "
                                  "VALUES ('cppcc_member', :n, :p) RETURNING id",
                            n=people.name(), p=people.phone("1370000"))
        conn.execute(sa.text("INSERT INTO deputy_community VALUES (:d, :c)"),
                     dict(d=deputy_id, c=community_ids[i % len(community_ids)]))


def _stage_plan(rng):
    """The final stage of every generated issue: exactly 131 resolved livelihood issues
    (the named cases included), some rejected or merged, the rest open in every stage."""
    case_closed = sum(1 for case in CASES if case["stage"] == "closed" and case["livelihood"])
    generic = ISSUE_COUNT - len(CASES)
    closed = RESOLVED_LIVELIHOOD - case_closed
    rejected, merged = 12, 6
    open_count = generic - closed - rejected - merged
    plan = ["closed"] * closed + ["rejected"] * rejected + ["merged"] * merged
    plan += [OPEN_STAGES[i % len(OPEN_STAGES)] for i in range(open_count)]
    rng.shuffle(plan)
    return plan


GENERIC_ISSUES = {
    "road": ["小区门口路面坑洼", "人行道地砖松动", "雨后路面积水"],
    "elevator": ["老旧楼栋申请加装电梯", "加装电梯费用分摊协商"],
    "utilities": ["自来水水压低", "暖气不热", "楼道照明损坏", "燃气管道老化"],
    "property": ["物业服务不到位", "不动产证办理进度", "公共维修资金使用"],
    "sanitation": ["垃圾清运不及时", "楼道杂物堆放", "绿化带杂草丛生"],
    "parking": ["电动车充电桩不足", "小区停车位紧张", "消防通道被占用"],
    "employment": ["求职信息咨询", "灵活就业岗位对接"],
    "dispute": ["邻里噪音纠纷", "楼上漏水引发纠纷"],
    "services": ["希望增设便民食堂", "老年人助餐需求", "便民维修点需求"],
    "other": ["社区活动场地不足", "宠物管理问题"],
}


def build_issues(conn, rng, people, compounds):
    """A few hundred issues over two years, clustered around a few troubled compounds."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    by_name = {c["name"]: c for c in compounds}
    hot = [by_name["乐福国际小区"]] + [compounds[i] for i in rng.choice(len(compounds), 3, replace=False)]
    categories = list(GENERIC_ISSUES)
    channels = [r[0] for r in conn.execute(sa.text("SELECT code FROM channel ORDER BY code"))]
    deadlines = dict(conn.execute(sa.text("SELECT code, deadline_days FROM stage WHERE is_open")).all())

    specs = [dict(case, compound=by_name.get(case["compound"]) or
                  next(c for c in compounds if c["community"] == case["community"]))
             for case in CASES]
    for stage in _stage_plan(rng):
        compound = hot[int(rng.integers(len(hot)))] if rng.random() < 0.35 else \
            compounds[int(rng.integers(len(compounds)))]
        category = categories[int(rng.integers(len(categories)))]
        titles = GENERIC_ISSUES[category]
        specs.append(dict(title=titles[int(rng.integers(len(titles)))], category=category,
                          stage=stage, compound=compound, description="", result=None,
                          meetings=None))
    for spec in tqdm(specs, desc="诉求", unit="件", disable=not _progress(conn)):
        _add_issue(conn, rng, people, now, spec, channels, deadlines)
    return specs


def _add_issue(conn, rng, people, now, spec, channels, deadlines):
    compound = spec["compound"]
    # Most issues are inside the compound, some on the streets of its grid around it.
    target = compound["shape"] if rng.random() < 0.85 else \
        compound["shape"].buffer(40).intersection(compound["cell"].buffer(-1))
    point = _point_in(rng, target)
    stage = spec["stage"]
    if stage in ("rejected", "merged"):
        path = ["reported", stage]
    elif stage == "closed":
        path = OPEN_STAGES + ["closed"]
    else:
        path = OPEN_STAGES[:OPEN_STAGES.index(stage) + 1]
    if stage in OPEN_STAGES:
        # Time in the current stage against its deadline: most on time, some due soon or overdue.
        tail = float(rng.uniform(0, 1.15 * deadlines[stage]))
        age_days = spec.get("age_days") or tail + float(rng.uniform(2, 25)) * len(path)
    else:
        age_days = spec.get("age_days") or float(rng.uniform(3, 730))
        tail = 0.1 * age_days
    reported_at = now - dt.timedelta(days=age_days)
    # The steps spread over the issue's life up to its last one, ``tail`` days ago.
    span = age_days - tail
    offsets = sorted(rng.uniform(0, span, len(path) - 2)) + [span] if len(path) > 1 else []
    times = [reported_at] + [reported_at + dt.timedelta(days=float(o)) for o in offsets]
    reason = {"rejected": "不属于社区协商事项，已转相关职能部门", "merged": "与同一楼院的已有诉求重复，合并办理"}
    issue_id = _insert(
        conn,
        "INSERT INTO issue (title, description, category, channel, stage, stage_reason, result,"
        " satisfaction, reported_at, stage_changed_at, closed_at, geom) VALUES (:title, :description,"
        " :category, :channel, :stage, :reason, :result, :satisfaction, :reported_at, :changed_at,"
        " :closed_at, ST_GeomFromText(:wkt, 4326)) RETURNING id",
        title=spec["title"], description=spec.get("description") or "", category=spec["category"],
        channel=spec.get("channel") or channels[int(rng.integers(len(channels)))], stage=stage,
        reason=reason.get(stage), result=spec.get("result") or
        ("已按协商结果办理完毕" if stage in ("publish", "feedback", "closed") else None),
        satisfaction=(["satisfied", "satisfied", "mostly_satisfied", "unsatisfied"][int(rng.integers(4))]
                      if stage in ("feedback", "closed") else None),
        reported_at=reported_at, changed_at=times[-1],
        closed_at=times[-1] if stage in ("closed", "rejected", "merged") else None,
        wkt=_to_lonlat(point).wkt)
    conn.execute(sa.text("INSERT INTO issue_reporter VALUES (:i, :n, :p)"),
                 dict(i=issue_id, n=people.name(), p=people.phone("1360000")))
    events = [dict(i=issue_id, at=times[0], actor="网格员", frm=None, to="reported", note="收集诉求")]
    for k in range(1, len(path)):
        events.append(dict(i=issue_id, at=times[k], actor="社区工作人员", frm=path[k - 1], to=path[k],
                           note=reason.get(path[k])))
    conn.execute(sa.text("INSERT INTO issue_event (issue_id, at, actor, from_stage, to_stage, note) "
                         "VALUES (:i, :at, :actor, :frm, :to, :note)"), events)
    if "consult" in path:
        spec["consulted_at"] = times[path.index("consult")]
    spec["id"] = issue_id
    return issue_id


def build_meetings(conn, rng, venues, consulted):
    """412 consultation meetings over two years; issues that reached `consult` are linked to
    a meeting in their own community on the day they were consulted."""
    today = dt.date.today()
    venue_by_community = {}
    for v in venues:
        venue_by_community.setdefault(v["community_id"], []).append(v)
    meeting_sql = sa.text(
        "INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count, attendee_kinds,"
        " minutes) VALUES (:venue, :platform, :held_on, :title, :count, :kinds, :minutes) RETURNING id")
    titles = {"bench_talk": "小板凳恳谈会", "cppcc_consult": "“有事好商量”协商议事",
              "npc_station": "人大代表接待日", "residents_council": "居民议事会"}
    made = 0
    for spec in consulted:
        community_venues = venue_by_community[spec["compound"]["community_id"]]
        for k in range(spec.get("meetings") or 1):
            venue = community_venues[int(rng.integers(len(community_venues)))]
            platform = spec.get("platform") if spec.get("platform") in venue["platforms"] \
                else venue["platforms"][0]
            held_on = (spec["consulted_at"] - dt.timedelta(days=7 * k)).date()
            meeting_id = conn.execute(meeting_sql, dict(
                venue=venue["id"], platform=platform, held_on=held_on,
                title=f"{titles[platform]}：{spec['title']}", count=int(rng.integers(8, 45)),
                kinds=_kinds(rng), minutes=f"围绕“{spec['title']}”听取居民意见，形成协商意见。")).scalar()
            conn.execute(sa.text("INSERT INTO meeting_issue VALUES (:m, :i)"),
                         dict(m=meeting_id, i=spec["id"]))
            made += 1
    while made < MEETING_COUNT:
        venue = venues[int(rng.integers(len(venues)))]
        platform = venue["platforms"][int(rng.integers(len(venue["platforms"])))]
        conn.execute(meeting_sql, dict(
            venue=venue["id"], platform=platform,
            held_on=today - dt.timedelta(days=int(rng.integers(1, 730))),
            title=f"{titles[platform]}：{venue['name']}例会", count=int(rng.integers(8, 60)),
            kinds=_kinds(rng), minutes="通报近期诉求办理情况，收集居民意见建议。"))
        made += 1
    return made


def _kinds(rng):
    k = int(rng.integers(2, len(names.ATTENDEE_KINDS) + 1))
    return sorted(rng.choice(names.ATTENDEE_KINDS, k, replace=False).tolist())


# One demo account per role, so the sample can be tried as each user. (name, role, area)
DEMO_ACCOUNTS = [
    ("demo_grid", "grid_leader", "汇丰社区/第1网格"),
    ("demo_staff", "community_staff", "汇丰社区"),
    ("demo_deputy", "deputy", "江南小镇社区"),
    ("demo_official", "official", None),
    ("demo_admin", "admin", None),
]


def create_demo_accounts(conn, accounts_file=None):
    """The demo accounts with random passwords, written to ``accounts_file`` (owner-only) and
    nowhere else: never to the output, which ends up in service logs. Returns a few lines
    naming the accounts and where their passwords are."""
    lines = []
    for name, role, area in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        users.add(name, role, password, area, conn=conn)
        lines.append(f"{name}\t{role}\t{area or '全街道'}\t{password}")
    if accounts_file is not None:
        accounts_file.parent.mkdir(parents=True, exist_ok=True)
        accounts_file.unlink(missing_ok=True)
        accounts_file.touch(mode=0o600)
        accounts_file.write_text("示例账号（仅示例数据）：用户名\t角色\t范围\t密码\n" + "\n".join(lines) + "\n")
        where = f"密码见 {accounts_file}（仅所有者可读） (passwords in {accounts_file}, owner-only)"
    else:
        where = "密码未保存 (passwords not kept)"
    return f"示例账号 (demo accounts)：{'、'.join(name for name, _role, _area in DEMO_ACCOUNTS)}；{where}"


def load(eng, progress=True, accounts_file=None):
    """Load the sample subdistrict unless one is already there; returns a one-line summary
    followed by the demo accounts' names and the file that holds their passwords."""
    assert len(names.COMPOUND_NAMES) + sum(map(len, names.NAMED_COMPOUNDS.values())) >= 62
    with eng.begin() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM subdistrict")).scalar():
            return "示例数据已存在，未重复加载 (sample already loaded)"
        conn.execute(sa.text("LOCK TABLE subdistrict IN EXCLUSIVE MODE"))
        conn.info["progress"] = progress
        rng = np.random.default_rng(SEED)
        people = _People(rng)
        with state.bulk_load(conn):
            compounds = build_places(conn, rng, people)
            build_self_governance(conn, rng, compounds)
            venues = build_venues(conn, rng, compounds)
            build_deputies(conn, rng, people, venues)
            specs = build_issues(conn, rng, people, compounds)
            build_meetings(conn, rng, venues, [s for s in specs if "consulted_at" in s])
        accounts = create_demo_accounts(conn, accounts_file)
        search.refresh(conn)
        conn.execute(sa.text("ANALYZE"))  # fresh statistics for the planner right away
        conn.info["progress"] = False
    return summary(eng) + "\n" + accounts


def summary(eng):
    with eng.connect() as conn:
        figures = conn.execute(sa.text(FIGURES_SQL)).mappings().one()
    return ("示例数据 中心路街道：{communities} 个社区 · {compounds} 个楼院 · {venues} 处协商议事场所 · "
            "{meetings} 次协商活动 · {npc} 名人大代表 · {cppcc} 名政协委员 · {orgs} 个楼院有自治组织 · "
            "{issues} 件诉求（已解决民生问题 {resolved} 件）").format(**figures)

