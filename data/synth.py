"""A synthetic city (合成城市) for scale tests and benchmarks: N compounds on a lattice and
M issues clustered around a few hotspots, loaded with COPY in one transaction.

The lattice is drawn in WGS84 degrees, east of the sample subdistrict, so that every
polygon is an axis-aligned box and the community, grid and compound of an issue follow
from its coordinates by arithmetic (see ``locate``), exactly as PostGIS would find them.

    cell      one compound and half the street around it (CELL_W × CELL_H degrees)
    grid      2 × 2 cells          community  3 × 2 grids (6 × 4 cells, 24 compounds)
"""
import datetime as dt
import io
import math
import time

import numpy as np
import shapely
import sqlalchemy as sa
from tqdm import tqdm

from data.sample import GENERIC_ISSUES, OPEN_STAGES

NAME = "合成城市（示例数据）"
ORIGIN = (113.35, 34.70)            # the south-west corner: east of 上街区, clear of the sample
CELL_W, CELL_H = 0.0030, 0.0022     # about 275 m × 245 m
STREET_W, STREET_H = 0.0003, 0.00025  # each side of a compound: streets about 55 m wide
GRID_COLS = GRID_ROWS = 2
COMMUNITY_GRID_COLS, COMMUNITY_GRID_ROWS = 3, 2
COMMUNITY_COLS = GRID_COLS * COMMUNITY_GRID_COLS     # cells across a community
COMMUNITY_ROWS = GRID_ROWS * COMMUNITY_GRID_ROWS
PER_GRID = GRID_COLS * GRID_ROWS
PER_COMMUNITY = COMMUNITY_COLS * COMMUNITY_ROWS
MAX_COMPOUNDS = 200_000
MAX_ISSUES = 5_000_000
# Issues are kept this far (degrees, about 1 cm) from every edge, so that no point lies on
# a shared boundary where PostGIS would pick the lower id and the lattice might not.
EDGE = 1e-7
CHUNK = 200_000                     # issues per COPY, to bound memory at millions of rows

# Final stages: most issues closed, some rejected or merged, the rest open in every stage.
STAGE_WEIGHTS = {"closed": 0.55, "rejected": 0.04, "merged": 0.02,
                 **{s: 0.39 / len(OPEN_STAGES) for s in OPEN_STAGES}}
PREVIOUS = {**{s: OPEN_STAGES[i - 1] for i, s in enumerate(OPEN_STAGES) if i},
            "closed": OPEN_STAGES[-1], "rejected": "reported", "merged": "reported"}
REASON = {"rejected": "不属于社区协商事项，已转相关职能部门", "merged": "与已有诉求重复，合并办理"}
SATISFACTION = ["satisfied", "satisfied", "mostly_satisfied", "unsatisfied"]


class SynthError(ValueError):
    """Bad arguments, or a synthetic city already there; the message says which."""


def check(compounds, issues):
    if not 1 <= compounds <= MAX_COMPOUNDS:
        raise SynthError(f"--compounds 须在 1 到 {MAX_COMPOUNDS} 之间，而不是 {compounds} "
                         f"(--compounds must be between 1 and {MAX_COMPOUNDS})")
    if not 0 <= issues <= MAX_ISSUES:
        raise SynthError(f"--issues 须在 0 到 {MAX_ISSUES} 之间，而不是 {issues} "
                         f"(--issues must be between 0 and {MAX_ISSUES})")


# geometry -----------------------------------------------------------------------------
class Lattice:
    """Where each compound, grid and community of an ``n``-compound city lies.

    Compound ``k`` is in grid ``k // 4`` and community ``k // 24``: the lattice is filled
    community by community, grid by grid, so the last grid and community may be partial.
    """

    def __init__(self, n):
        self.n = n
        self.communities = math.ceil(n / PER_COMMUNITY)
        self.grids = math.ceil(n / PER_GRID)
        # Communities in a roughly square block of the map.
        width = COMMUNITY_COLS * CELL_W
        height = COMMUNITY_ROWS * CELL_H
        self.across = max(1, round(math.sqrt(self.communities * height / width)))
        k = np.arange(n)
        c, g, i = k // PER_COMMUNITY, (k % PER_COMMUNITY) // PER_GRID, k % PER_GRID
        self.col = (c % self.across) * COMMUNITY_COLS + (g % COMMUNITY_GRID_COLS) * GRID_COLS + i % GRID_COLS
        self.row = (c // self.across) * COMMUNITY_ROWS + (g // COMMUNITY_GRID_COLS) * GRID_ROWS + i // GRID_COLS
        self.cells = self._boxes(self.col, self.row, 0, 0)
        self.inner = self._boxes(self.col, self.row, STREET_W, STREET_H)

    @staticmethod
    def _boxes(col, row, inset_x, inset_y):
        # Each edge from its own lattice index, so that neighbours share bit-identical edges.
        x0, x1 = ORIGIN[0] + col * CELL_W, ORIGIN[0] + (col + 1) * CELL_W
        y0, y1 = ORIGIN[1] + row * CELL_H, ORIGIN[1] + (row + 1) * CELL_H
        return np.column_stack([x0 + inset_x, y0 + inset_y, x1 - inset_x, y1 - inset_y])

    @staticmethod
    def _union(boxes, groups, count):
        """The bounding box of the cells of each group (their cells are a rectangle or an L,
        all inside the group's own block, so the box overlaps no other group)."""
        out = np.empty((count, 4))
        out[:, :2] = np.inf
        out[:, 2:] = -np.inf
        np.minimum.at(out[:, 0], groups, boxes[:, 0])
        np.minimum.at(out[:, 1], groups, boxes[:, 1])
        np.maximum.at(out[:, 2], groups, boxes[:, 2])
        np.maximum.at(out[:, 3], groups, boxes[:, 3])
        return out

    def grid_boxes(self):
        return self._union(self.cells, np.arange(self.n) // PER_GRID, self.grids)

    def community_boxes(self):
        return self._union(self.cells, np.arange(self.n) // PER_COMMUNITY, self.communities)

    def bounds(self):
        return (float(self.cells[:, 0].min()), float(self.cells[:, 1].min()),
                float(self.cells[:, 2].max()), float(self.cells[:, 3].max()))

    def locate(self, x, y):
        """For points (x, y): the index of the compound whose cell holds each, -1 when no
        cell does or the point is too close to an edge, and whether it is inside the
        compound itself (else on the street around it)."""
        fx, fy = (x - ORIGIN[0]) / CELL_W, (y - ORIGIN[1]) / CELL_H
        col, row = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        ccol, crow = col // COMMUNITY_COLS, row // COMMUNITY_ROWS
        lc, lr = col % COMMUNITY_COLS, row % COMMUNITY_ROWS
        g = lc // GRID_COLS + COMMUNITY_GRID_COLS * (lr // GRID_ROWS)
        i = lc % GRID_COLS + GRID_COLS * (lr % GRID_ROWS)
        k = (crow * self.across + ccol) * PER_COMMUNITY + g * PER_GRID + i
        valid = (col >= 0) & (row >= 0) & (ccol < self.across) & (k < self.n)
        k = np.where(valid, k, 0)
        # Compare with the very numbers written to the database, not a recomputed offset.
        cell, inner = self.cells[k], self.inner[k]
        clear = np.ones(len(x), bool)
        for edges in (cell, inner):
            clear &= (np.abs(x - edges[:, 0]) > EDGE) & (np.abs(x - edges[:, 2]) > EDGE)
            clear &= (np.abs(y - edges[:, 1]) > EDGE) & (np.abs(y - edges[:, 3]) > EDGE)
        inside = (x > inner[:, 0]) & (x < inner[:, 2]) & (y > inner[:, 1]) & (y < inner[:, 3])
        return np.where(valid & clear, k, -1), inside


def _ewkb(boxes, multi=True):
    """Hex EWKB (SRID 4326) of boxes (minx, miny, maxx, maxy): what COPY reads into geometry."""
    geoms = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], ccw=True)
    if multi:
        geoms = shapely.multipolygons(geoms, indices=np.arange(len(boxes)))
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)


def _points_ewkb(x, y):
    return shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 4326), hex=True, include_srid=True)


def building_boxes(compound_boxes):
    """Two slabs side by side in each compound, inset from its edge."""
    x0, y0, x1, y1 = compound_boxes.T
    w, h = x1 - x0, y1 - y0
    left = np.column_stack([x0 + 0.1 * w, y0 + 0.3 * h, x0 + 0.45 * w, y0 + 0.7 * h])
    right = np.column_stack([x0 + 0.55 * w, y0 + 0.3 * h, x0 + 0.9 * w, y0 + 0.7 * h])
    return np.stack([left, right], axis=1).reshape(-1, 4)   # compound k: rows 2k, 2k + 1


def issue_points(rng, lattice, m):
    """``m`` points: most around a few Gaussian hotspots, the rest uniform over the city;
    only points in a compound's cell and off every edge are kept. Returns x, y, compound
    index and whether inside the compound."""
    minx, miny, maxx, maxy = lattice.bounds()
    hotspots = max(3, min(12, lattice.communities // 4 + 3))
    centres = np.column_stack([rng.uniform(minx, maxx, hotspots), rng.uniform(miny, maxy, hotspots)])
    spread = np.maximum(0.08 * np.array([maxx - minx, maxy - miny]), [2 * CELL_W, 2 * CELL_H])
    sigmas = rng.uniform(0.3, 1.0, (hotspots, 1)) * spread
    xs, ys, ks, ins = [], [], [], []
    have = 0
    while have < m:
        want = int((m - have) * 1.3) + 100
        hot = rng.random(want) < 0.7
        which = rng.integers(hotspots, size=want)
        x = np.where(hot, rng.normal(centres[which, 0], sigmas[which, 0]), rng.uniform(minx, maxx, want))
        y = np.where(hot, rng.normal(centres[which, 1], sigmas[which, 1]), rng.uniform(miny, maxy, want))
        k, inside = lattice.locate(x, y)
        keep = k >= 0
        xs.append(x[keep]), ys.append(y[keep]), ks.append(k[keep]), ins.append(inside[keep])
        have += int(keep.sum())
    cut = lambda parts: np.concatenate(parts)[:m]
    return cut(xs), cut(ys), cut(ks), cut(ins)


# writing ------------------------------------------------------------------------------
def _copy(cursor, table, columns, rows):
    """COPY text-format ``rows`` (tuples of already formatted fields) into ``table``."""
    buf = io.StringIO()
    buf.writelines("\t".join(r) + "\n" for r in rows)
    buf.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)


def _ids(conn, table, n):
    """``n`` ids from ``table``'s own sequence, so that rows written with COPY can refer to
    each other and later inserts by the app never collide with them."""
    if n == 0:
        return np.empty(0, np.int64)
    rows = conn.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                "FROM generate_series(1, :n)"), {"n": n}).scalars().all()
    return np.asarray(rows, np.int64)


N = r"\N"


def _phone(prefix, serial):
    return f"{prefix}{serial % 10000:04d}"


def build_places(conn, cur, lattice, rng, bar):
    n = lattice.n
    compound_boxes = lattice.inner
    minx, miny, maxx, maxy = lattice.bounds()
    sub_id = conn.execute(sa.text(
        "INSERT INTO subdistrict (name, is_sample, geom) VALUES (:name, true, "
        "ST_Multi(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))) RETURNING id"),
        dict(name=NAME, minx=minx, miny=miny, maxx=maxx, maxy=maxy)).scalar()

    community_ids = _ids(conn, "community", lattice.communities)
    _copy(cur, "community", ["id", "subdistrict_id", "name", "geom"],
          ((str(cid), str(sub_id), f"合成第{c + 1}社区", wkb) for c, (cid, wkb)
           in enumerate(zip(community_ids, _ewkb(lattice.community_boxes())))))
    bar.update(lattice.communities)

    grid_ids = _ids(conn, "grid", lattice.grids)
    _copy(cur, "grid", ["id", "community_id", "name", "leader_name", "leader_phone", "geom"],
          ((str(gid), str(community_ids[g * PER_GRID // PER_COMMUNITY]),
            f"第{g % (PER_COMMUNITY // PER_GRID) + 1}网格", f"网格长{g + 1}", _phone("1390001", g), wkb)
           for g, (gid, wkb) in enumerate(zip(grid_ids, _ewkb(lattice.grid_boxes())))))
    bar.update(lattice.grids)

    compound_ids = _ids(conn, "compound", n)
    floors = rng.choice([6, 6, 6, 7, 11, 18], size=(n, 2))
    households = floors.sum(axis=1) * 2 * 2          # two units a building, two homes a floor
    _copy(cur, "compound", ["id", "community_id", "grid_id", "name", "households", "geom"],
          ((str(cid), str(community_ids[k // PER_COMMUNITY]), str(grid_ids[k // PER_GRID]),
            f"合成{k + 1}号院", str(households[k]), wkb)
           for k, (cid, wkb) in enumerate(zip(compound_ids, _ewkb(compound_boxes)))))
    bar.update(n)

    building_ids = _ids(conn, "building", 2 * n)
    _copy(cur, "building", ["id", "compound_id", "name", "floors", "geom"],
          ((str(bid), str(compound_ids[b // 2]), f"{b % 2 + 1}号楼", str(floors.flat[b]), wkb)
           for b, (bid, wkb) in enumerate(zip(building_ids, _ewkb(building_boxes(compound_boxes))))))
    bar.update(2 * n)

    unit_ids = _ids(conn, "unit", 4 * n)
    _copy(cur, "unit", ["id", "building_id", "name"],
          ((str(uid), str(building_ids[u // 2]), f"{u % 2 + 1}单元") for u, uid in enumerate(unit_ids)))
    bar.update(4 * n)

    # Every post filled: a compound head, a head for each building and each unit.
    appointed = (dt.date.today() - dt.timedelta(days=400)).isoformat()
    heads = [("compound_head", compound_ids[k], N, N) for k in range(n)]
    heads += [("building_head", compound_ids[b // 2], str(building_ids[b]), N) for b in range(2 * n)]
    heads += [("unit_head", compound_ids[u // 4], str(building_ids[u // 2]), str(unit_ids[u]))
              for u in range(4 * n)]
    _copy(cur, "head", ["role", "name", "phone", "compound_id", "building_id", "unit_id", "appointed_on"],
          ((role, f"三长{h + 1}", _phone("1380001", h), str(cid), bid, uid, appointed)
           for h, (role, cid, bid, uid) in enumerate(heads)))
    bar.update(len(heads))
    return dict(community=community_ids, grid=grid_ids, compound=compound_ids,
                buildings=2 * n, units=4 * n, heads=len(heads))


def _stamp(t):
    return t.isoformat()


def issue_rows(rng, lattice, ids, m, now):
    """The issue and issue_event rows of ``m`` issues, as COPY fields, in chunks."""
    x, y, k, inside = issue_points(rng, lattice, m)
    stages = np.array(list(STAGE_WEIGHTS))
    weights = np.array(list(STAGE_WEIGHTS.values()))
    categories = list(GENERIC_ISSUES)
    channels = ["bench_talk", "council", "home_visit", "phone", "zhongzhong_tv", "public_opinion", "e_wangtong"]
    deadlines = dict(reported=3, topic=7, notice=7, consult=15, implement=30, publish=7, feedback=10)
    for start in range(0, m, CHUNK):
        end = min(m, start + CHUNK)
        count = end - start
        issue_ids = ids(count)
        stage = stages[rng.choice(len(stages), count, p=weights / weights.sum())]
        category = rng.integers(len(categories), size=count)
        title_pick = rng.random(count)
        channel = rng.integers(len(channels), size=count)
        age = rng.uniform(0.5, 730, count)                  # days since reported
        # Open issues: time in the current stage around its deadline (some overdue);
        # closed ones: their last step somewhere in their life.
        deadline = np.array([deadlines.get(s, 0) for s in stage], float)
        is_open = deadline > 0
        tail = np.where(is_open, np.minimum(rng.uniform(0, 1.15, count) * deadline, age),
                        age * rng.uniform(0, 0.9, count))
        tail = np.where(stage == "reported", age, tail)
        satisfaction = rng.integers(len(SATISFACTION), size=count)
        geoms = _points_ewkb(x[start:end], y[start:end])
        issues, events = [], []
        for j in range(count):
            s = str(stage[j])
            kk = int(k[start + j])
            titles = GENERIC_ISSUES[categories[category[j]]]
            reported_at = _stamp(now - dt.timedelta(days=float(age[j])))
            changed_at = _stamp(now - dt.timedelta(days=float(tail[j])))
            done = s in ("closed", "rejected", "merged")
            iid = str(issue_ids[j])
            issues.append((
                iid, str(ids.community[kk // PER_COMMUNITY]), str(ids.grid[kk // PER_GRID]),
                str(ids.compound[kk]) if inside[start + j] else N,
                titles[int(title_pick[j] * len(titles))], categories[category[j]], channels[channel[j]], s,
                REASON.get(s, N),
                "已按协商结果办理完毕" if s in ("publish", "feedback", "closed") else N,
                SATISFACTION[satisfaction[j]] if s in ("feedback", "closed") else N,
                reported_at, changed_at, changed_at if done else N, geoms[j]))
            events.append((iid, reported_at, "网格员", N, "reported", "收集诉求"))
            if s != "reported":
                events.append((iid, changed_at, "社区工作人员", PREVIOUS[s], s, REASON.get(s, N)))
        yield issues, events


class _IdSource:
    """Issue ids from the sequence, with the place ids an issue row refers to."""

    def __init__(self, conn, places):
        self.conn = conn
        self.community, self.grid, self.compound = places["community"], places["grid"], places["compound"]

    def __call__(self, n):
        return _ids(self.conn, "issue", n)


ISSUE_COLUMNS = ["id", "community_id", "grid_id", "compound_id", "title", "category", "channel",
                 "stage", "stage_reason", "result", "satisfaction", "reported_at",
                 "stage_changed_at", "closed_at", "geom"]
EVENT_COLUMNS = ["issue_id", "at", "actor", "from_stage", "to_stage", "note"]


def load(eng, compounds, issues, seed=1, progress=True):
    """Load a synthetic city of ``compounds`` compounds and ``issues`` issues, all or
    nothing; returns a one-line summary with the counts and the seconds it took."""
    check(compounds, issues)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    lattice = Lattice(compounds)
    total = lattice.communities + lattice.grids + 14 * compounds + issues
    with eng.begin() as conn, tqdm(total=total, desc="合成城市", unit="行", disable=not progress,
                                   unit_scale=True) as bar:
        conn.execute(sa.text("LOCK TABLE subdistrict IN EXCLUSIVE MODE"))
        if conn.execute(sa.text("SELECT 1 FROM subdistrict WHERE name = :n"), {"n": NAME}).first():
            raise SynthError(f"{NAME} 已存在，未重复生成 (the synthetic city is already loaded)")
        cur = conn.connection.cursor()      # the same connection, so the same transaction
        places = build_places(conn, cur, lattice, rng, bar)
        # The issue_locate trigger would run three ST_Covers lookups for every row, which
        # is most of the time at 10^5 issues; the lattice already knows each issue's place
        # (tests/test_synth.py checks it against PostGIS). ALTER TABLE … DISABLE TRIGGER is
        # transactional, so it lasts only until this transaction ends, and unlike
        # session_replication_role = replica it needs no superuser (an external DATABASE_URL)
        # and keeps the foreign keys and the data_version bump. Its price is an ACCESS
        # EXCLUSIVE lock on issue until commit, which is why the issues are written last.
        conn.execute(sa.text("ALTER TABLE issue DISABLE TRIGGER issue_locate"))
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        events = 0
        for issue_chunk, event_chunk in issue_rows(rng, lattice, _IdSource(conn, places), issues, now):
            bar.set_description("合成城市：诉求")
            _copy(cur, "issue", ISSUE_COLUMNS, issue_chunk)
            _copy(cur, "issue_event", EVENT_COLUMNS, event_chunk)
            events += len(event_chunk)
            bar.update(len(issue_chunk))
        conn.execute(sa.text("ALTER TABLE issue ENABLE TRIGGER issue_locate"))
        # Fresh statistics, or the planner picks nested loops sized for empty tables (25× slower).
        conn.execute(sa.text("ANALYZE"))
    seconds = time.perf_counter() - started
    return (f"{NAME}：{lattice.communities} 个社区 · {lattice.grids} 个网格 · {compounds} 个楼院 · "
            f"{places['buildings']} 栋楼 · {places['units']} 个单元 · {places['heads']} 名三长 · "
            f"{issues} 件诉求 · {events} 条办理记录，用时 {seconds:.1f} 秒")


def bbox_of_compounds(count):
    """A bbox from the city's south-west corner covering about ``count`` compounds."""
    side = math.ceil(math.sqrt(count))
    return (ORIGIN[0], ORIGIN[1], ORIGIN[0] + side * CELL_W, ORIGIN[1] + side * CELL_H)
