"""A synthetic city (合成城市, sample data) for scale tests and benchmarks: districts →
subdistricts → communities → grids → compounds → buildings → units, and M issues clustered
around a few hotspots, bulk-loaded with COPY in one transaction (all or nothing).

The city is a lattice drawn in WGS84 degrees east of the sample subdistrict, so that every
polygon is an axis-aligned box and the community, grid and compound of an issue follow from
its coordinates by a table lookup (``Lattice.locate``), exactly as PostGIS would find them.

    cell         one compound and half the street around it (CELL_W × CELL_H degrees)
    grid         2 × 2 cells
    community    3 × 2 grids (6 × 4 cells, 24 compounds), filled compound by compound
    subdistrict  a block of community slots, bw × bh; its communities fill it row by row
    district     a block of subdistrict blocks, dw × dh
    city         the districts in a roughly square block of district blocks

Communities are shared out evenly over the subdistricts, and subdistricts over the districts;
the blocks are sized for the largest, so a smaller one leaves part of its block empty and
no two siblings ever overlap. A subdistrict's outline is the union of its communities'
boxes, a district's the union of its subdistricts'.
"""
import binascii
import concurrent.futures
import datetime as dt
import io
import math
import time
from contextlib import contextmanager

import numpy as np
import shapely
import sqlalchemy as sa
from tqdm import tqdm

from data import synth_names as names
from data.sample_issues import GENERIC_ISSUES
from layers import search, state

ORIGIN = (113.35, 34.70)            # the south-west corner: east of 上街区, clear of the sample
CELL_W, CELL_H = 0.0030, 0.0022     # about 275 m × 245 m
STREET_W, STREET_H = 0.0003, 0.00025  # each side of a compound: streets about 55 m wide
GRID_COLS = GRID_ROWS = 2
COMMUNITY_GRID_COLS, COMMUNITY_GRID_ROWS = 3, 2
COMMUNITY_COLS = GRID_COLS * COMMUNITY_GRID_COLS     # cells across a community
COMMUNITY_ROWS = GRID_ROWS * COMMUNITY_GRID_ROWS
PER_GRID = GRID_COLS * GRID_ROWS
PER_COMMUNITY = COMMUNITY_COLS * COMMUNITY_ROWS
# A real city: ~200 subdistricts for ~50,000 compounds, ~10–20 subdistricts a district.
COMPOUNDS_PER_SUBDISTRICT = 250
SUBDISTRICTS_PER_DISTRICT = 15
MAX_COMPOUNDS = 200_000
MAX_ISSUES = 5_000_000
# Issues are kept this far (degrees, about 1 cm) from every edge, so that no point lies on
# a shared boundary where PostGIS would pick the lower id and the lattice might not.
EDGE = 1e-7
CHUNK = 125_000                     # issues per COPY, to bound memory at millions of rows
VACANT_POSTS = 0.03                 # share of 三长 posts left empty (the governance mode shows them)
SELF_GOVERNED = 0.45                # share of compounds with a self-governance org (sample: 28/62)

# Final stages: most issues closed, some rejected or merged, the rest open in every stage.
DONE_WEIGHTS = {"closed": 0.55, "rejected": 0.04, "merged": 0.02}
REASON = {"rejected": "不属于社区协商事项，已转相关职能部门", "merged": "与已有诉求重复，合并办理"}
SATISFACTION = ["satisfied", "satisfied", "mostly_satisfied", "unsatisfied"]
DAY = 86_400
N = r"\N"


class SynthError(ValueError):
    """Bad arguments, or a synthetic city already there; the message says which."""


def check(compounds, issues, districts=None, subdistricts=None):
    """Refuse impossible sizes with a message naming the option; returns (districts,
    subdistricts), the defaults filled in: a subdistrict for every ~250 compounds and a
    district for every ~15 subdistricts, as in a real city."""
    def refuse(option, low, high, value, what=(" ", "")):
        raise SynthError(f"{option} 须在 {low} 到 {high}{what[0]}之间，而不是 {value} "
                         f"({option} must be between {low} and {high}{what[1]})")

    if not 1 <= compounds <= MAX_COMPOUNDS:
        refuse("--compounds", 1, MAX_COMPOUNDS, compounds)
    if not 0 <= issues <= MAX_ISSUES:
        refuse("--issues", 0, MAX_ISSUES, issues)
    communities = math.ceil(compounds / PER_COMMUNITY)
    if subdistricts is not None and not 1 <= subdistricts <= communities:
        refuse("--subdistricts", 1, communities, subdistricts, ("（社区数）", ", the number of communities"))
    if districts is not None:
        high, what = (subdistricts, ("（街道数）", ", the number of subdistricts")) if subdistricts \
            else (communities, ("（社区数）", ", the number of communities"))
        if not 1 <= districts <= high:
            refuse("--districts", 1, high, districts, what)
    if subdistricts is None:
        subdistricts = min(communities, max(districts or 1, round(compounds / COMPOUNDS_PER_SUBDISTRICT)))
    if districts is None:
        districts = math.ceil(subdistricts / SUBDISTRICTS_PER_DISTRICT)
    return districts, subdistricts


# geometry -----------------------------------------------------------------------------
def _split(items, groups):
    """Share ``items`` out over ``groups`` in order, as evenly as possible: the group of
    each item and the first item of each group."""
    group = np.arange(items) * groups // items
    return group, np.searchsorted(group, np.arange(groups))


def _block(count, width, height):
    """Columns and rows of a roughly square block holding ``count`` slots of width × height."""
    across = max(1, round(math.sqrt(count * height / width)))
    across = min(across, count)
    return across, math.ceil(count / across)


class Lattice:
    """Where each place of a city of ``n`` compounds, ``districts`` districts and
    ``subdistricts`` subdistricts lies, in cells (col, row) from ORIGIN."""

    def __init__(self, n, districts, subdistricts):
        self.n = n
        self.communities = math.ceil(n / PER_COMMUNITY)
        self.grids = math.ceil(n / PER_GRID)
        self.districts, self.subdistricts = districts, subdistricts
        self.community_subdistrict, first_community = _split(self.communities, subdistricts)
        self.subdistrict_district, first_subdistrict = _split(subdistricts, districts)
        self.community_ordinal = np.arange(self.communities) - first_community[self.community_subdistrict]

        # Block sizes, in community slots (bw × bh) and subdistrict blocks (dw × dh).
        community_w, community_h = COMMUNITY_COLS * CELL_W, COMMUNITY_ROWS * CELL_H
        bw, bh = _block(int(np.bincount(self.community_subdistrict).max()), community_w, community_h)
        dw, dh = _block(int(np.bincount(self.subdistrict_district).max()), bw * community_w, bh * community_h)
        across, _ = _block(districts, dw * bw * community_w, dh * bh * community_h)

        s = np.arange(subdistricts)
        d = self.subdistrict_district
        t = s - first_subdistrict[d]
        block_col = (d % across) * dw + t % dw
        block_row = (d // across) * dh + t // dw
        c = np.arange(self.communities)
        j = self.community_ordinal
        sc = self.community_subdistrict
        community_col = (block_col[sc] * bw + j % bw) * COMMUNITY_COLS
        community_row = (block_row[sc] * bh + j // bw) * COMMUNITY_ROWS

        k = np.arange(n)
        c, g, i = k // PER_COMMUNITY, (k % PER_COMMUNITY) // PER_GRID, k % PER_GRID
        self.col = community_col[c] + (g % COMMUNITY_GRID_COLS) * GRID_COLS + i % GRID_COLS
        self.row = community_row[c] + (g // COMMUNITY_GRID_COLS) * GRID_ROWS + i // GRID_COLS
        self.cells = self._boxes(self.col, self.row, 0, 0)
        self.inner = self._boxes(self.col, self.row, STREET_W, STREET_H)
        # Which compound each cell of the lattice holds (-1: none), for locate().
        self.table = np.full((self.row.max() + 1, self.col.max() + 1), -1, np.int64)
        self.table[self.row, self.col] = k

    @staticmethod
    def _boxes(col, row, inset_x, inset_y):
        # Each edge from its own lattice index, so that neighbours share bit-identical edges.
        x0, x1 = ORIGIN[0] + col * CELL_W, ORIGIN[0] + (col + 1) * CELL_W
        y0, y1 = ORIGIN[1] + row * CELL_H, ORIGIN[1] + (row + 1) * CELL_H
        return np.column_stack([x0 + inset_x, y0 + inset_y, x1 - inset_x, y1 - inset_y])

    @staticmethod
    def _union(boxes, groups, count):
        """The bounding box of the cells of each group (a grid's or community's cells are a
        rectangle or, in the last one, part of it, all inside the group's own slot, so the
        box overlaps no other group)."""
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

    def grid_colors(self):
        """Four colors in a 2 × 2 pattern over the lattice of grid slots: grids that touch,
        even at a corner, differ (what the grid_pick_color trigger ensures one by one)."""
        first = np.arange(self.grids) * PER_GRID
        gcol, grow = self.col[first] // GRID_COLS, self.row[first] // GRID_ROWS
        return gcol % 2 + 2 * (grow % 2)

    def outlines(self):
        """The subdistricts' and districts' outlines: unions of their communities' boxes."""
        boxes = self.community_boxes()
        squares = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
        subdistricts = [shapely.union_all(squares[self.community_subdistrict == s])
                        for s in range(self.subdistricts)]
        subdistricts = np.array(subdistricts, dtype=object)
        districts = [shapely.union_all(subdistricts[self.subdistrict_district == d])
                     for d in range(self.districts)]
        return subdistricts, np.array(districts, dtype=object)

    def bounds(self):
        return (float(self.cells[:, 0].min()), float(self.cells[:, 1].min()),
                float(self.cells[:, 2].max()), float(self.cells[:, 3].max()))

    def locate(self, x, y):
        """For points (x, y): the index of the compound whose cell holds each, -1 when no
        cell does or the point is too close to an edge, and whether it is inside the
        compound itself (else on the street around it)."""
        col = np.floor((x - ORIGIN[0]) / CELL_W).astype(np.int64)
        row = np.floor((y - ORIGIN[1]) / CELL_H).astype(np.int64)
        rows, cols = self.table.shape
        valid = (col >= 0) & (row >= 0) & (col < cols) & (row < rows)
        k = self.table[np.where(valid, row, 0), np.where(valid, col, 0)]
        valid &= k >= 0
        k = np.where(valid, k, 0)
        # Compare with the very numbers written to the database, not a recomputed offset.
        cell, inner = self.cells[k], self.inner[k]
        clear = np.ones(len(x), bool)
        for edges in (cell, inner):
            clear &= (np.abs(x - edges[:, 0]) > EDGE) & (np.abs(x - edges[:, 2]) > EDGE)
            clear &= (np.abs(y - edges[:, 1]) > EDGE) & (np.abs(y - edges[:, 3]) > EDGE)
        inside = (x > inner[:, 0]) & (x < inner[:, 2]) & (y > inner[:, 1]) & (y < inner[:, 3])
        return np.where(valid & clear, k, -1), inside


def _ewkb(geoms):
    """Hex EWKB (SRID 4326) of (multi)polygons as multipolygons: what COPY reads into geometry."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    multi = shapely.multipolygons(parts, indices=index)
    return shapely.to_wkb(shapely.set_srid(multi, 4326), hex=True, include_srid=True)


# Little-endian EWKB headers with SRID 4326: a point, and a multipolygon of one polygon of
# one ring of five points (a box). Writing the bytes with numpy is ten times faster than
# making 10^6 shapely objects only to encode them.
POINT_HEADER = bytes.fromhex("0101000020e6100000")
BOX_HEADER = bytes.fromhex("0106000020e610000001000000" "0103000000" "01000000" "05000000")


def _hex_records(header, doubles):
    """Hex text of one record per row of ``doubles``: the header, then the row's doubles."""
    n, k = doubles.shape
    records = np.zeros(n, dtype=[("header", "u1", len(header)), ("xy", "<f8", k)])
    records["header"] = np.frombuffer(header, "u1")
    records["xy"] = doubles
    width = 2 * records.itemsize
    return np.frombuffer(binascii.hexlify(records.tobytes()), f"S{width}").astype(f"U{width}")


def _boxes_ewkb(boxes):
    x0, y0, x1, y1 = boxes.T
    return _hex_records(BOX_HEADER, np.column_stack([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]))


def _points_ewkb(x, y):
    return _hex_records(POINT_HEADER, np.column_stack([x, y]))


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
        want = int((m - have) * 1.5) + 100
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


# COPY text ----------------------------------------------------------------------------
def _text(values):
    """A column as COPY fields: numbers by str(); anything else is text already (\\N for NULL)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return map(str, values.tolist())
    return values


def _stamps(t):
    """datetime64[s] UTC as COPY fields; NaT is NULL."""
    out = np.datetime_as_string(t, unit="s", timezone="UTC")
    out[np.isnat(t)] = N
    return out


def _rows(*fields):
    """COPY text of one row per position of the field columns."""
    return ("\n".join(map("\t".join, zip(*map(_text, fields)))) + "\n").encode()


def _copy(cur, table, columns, *fields):
    """COPY the field columns into ``table``'s ``columns``; returns the row count."""
    _copy_rows(cur, table, columns, _rows(*fields))
    return len(fields[0])


def _copy_rows(cur, table, columns, text):
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.BytesIO(text), size=1 << 20)


def _ids(conn, table, n):
    """``n`` consecutive ids from ``table``'s own sequence, so that rows written with COPY
    can refer to each other and later inserts by the app never collide with them. The
    load's exclusive lock on the table keeps every other insert, and so every other
    nextval() of this sequence, out until commit."""
    if n == 0:
        return np.empty(0, np.int64)
    last = conn.execute(sa.text("SELECT setval(seq::regclass, nextval(seq::regclass) + :n - 1) "
                                "FROM pg_get_serial_sequence(:t, 'id') AS seq"), {"t": table, "n": n}).scalar()
    return np.arange(last - n + 1, last + 1, dtype=np.int64)


# writing ------------------------------------------------------------------------------
def build_places(conn, cur, lattice, rng, bar):
    """Districts, subdistricts, communities, grids, compounds, buildings, units, 三长 posts
    and self-governance orgs; returns the ids issues refer to and the row counts."""
    n = lattice.n
    subdistrict_geoms, district_geoms = lattice.outlines()
    district_ids = _ids(conn, "district", lattice.districts)
    bar.update(_copy(cur, "district", ["id", "name", "is_sample", "geom"], district_ids,
                     names.districts(lattice.districts), ["t"] * lattice.districts, _ewkb(district_geoms)))
    stems = names.place_stems(lattice.subdistricts)
    subdistrict_ids = _ids(conn, "subdistrict", lattice.subdistricts)
    bar.update(_copy(cur, "subdistrict", ["id", "district_id", "name", "is_sample", "geom"], subdistrict_ids,
                     district_ids[lattice.subdistrict_district], names.subdistricts(stems),
                     ["t"] * lattice.subdistricts, _ewkb(subdistrict_geoms)))

    community_ids = _ids(conn, "community", lattice.communities)
    bar.update(_copy(cur, "community", ["id", "subdistrict_id", "name", "geom"], community_ids,
                     subdistrict_ids[lattice.community_subdistrict],
                     names.communities(stems[lattice.community_subdistrict], lattice.community_ordinal + 1),
                     _boxes_ewkb(lattice.community_boxes())))

    g = np.arange(lattice.grids)
    grid_ids = _ids(conn, "grid", lattice.grids)
    bar.update(_copy(cur, "grid", ["id", "community_id", "name", "leader_name", "leader_phone", "color", "geom"],
                     grid_ids, community_ids[g * PER_GRID // PER_COMMUNITY],
                     [f"第{x + 1}网格" for x in (g % (PER_COMMUNITY // PER_GRID)).tolist()],
                     names.people(g * 7 + 3), names.phones("1390001", g), lattice.grid_colors(),
                     _boxes_ewkb(lattice.grid_boxes())))

    k = np.arange(n)
    compound_ids = _ids(conn, "compound", n)
    floors = rng.choice([6, 6, 6, 7, 11, 18], size=(n, 2))
    households = floors.sum(axis=1) * 2 * 2          # two units a building, two homes a floor
    bar.update(_copy(cur, "compound", ["id", "community_id", "grid_id", "name", "households", "geom"],
                     compound_ids, community_ids[k // PER_COMMUNITY], grid_ids[k // PER_GRID],
                     names.compounds(k), households, _boxes_ewkb(lattice.inner)))

    b = np.arange(2 * n)
    building_ids = _ids(conn, "building", 2 * n)
    bar.update(_copy(cur, "building", ["id", "compound_id", "name", "floors", "geom"],
                     building_ids, compound_ids[b // 2], np.where(b % 2, "2号楼", "1号楼").astype(object),
                     floors.ravel(), _boxes_ewkb(building_boxes(lattice.inner))))

    u = np.arange(4 * n)
    unit_ids = _ids(conn, "unit", 4 * n)
    bar.update(_copy(cur, "unit", ["id", "building_id", "name"], unit_ids, building_ids[u // 2],
                     np.where(u % 2, "2单元", "1单元").astype(object)))

    # A 三长 for each post (a compound head, a head for each building and each unit), but a
    # few posts empty.
    role = np.repeat(np.array(["compound_head", "building_head", "unit_head"], dtype=object), [n, 2 * n, 4 * n])
    compound = np.concatenate([compound_ids, compound_ids[b // 2], compound_ids[u // 4]])
    building = np.concatenate([np.full(n, -1), building_ids, building_ids[u // 2]])
    unit = np.concatenate([np.full(3 * n, -1), unit_ids])
    filled = rng.random(len(role)) >= VACANT_POSTS
    h = np.flatnonzero(filled)
    appointed = (dt.date.today() - dt.timedelta(days=400)).isoformat()
    bar.update(_copy(cur, "head", ["role", "name", "phone", "compound_id", "building_id", "unit_id", "appointed_on"],
                     role[h], names.people(h), names.phones("1380001", h), compound[h],
                     _nullable(building[h]), _nullable(unit[h]), [appointed] * len(h)))

    orgs = np.flatnonzero(rng.random(n) < SELF_GOVERNED)
    kinds = np.array(["自管会", "幸福楼院服务队", "宜居家园服务队"], dtype=object)[orgs % 3]
    bar.update(_copy(cur, "self_governance_org", ["compound_id", "name", "kind", "founded_on"],
                     compound_ids[orgs], names.compounds(orgs) + kinds, kinds, [appointed] * len(orgs)))
    return dict(community=community_ids, grid=grid_ids, compound=compound_ids,
                counts=dict(districts=lattice.districts, subdistricts=lattice.subdistricts,
                            communities=lattice.communities, grids=lattice.grids, compounds=n,
                            buildings=2 * n, units=4 * n, heads=len(h), orgs=len(orgs)))


def _nullable(ids):
    """Ids with -1 for none, as COPY fields."""
    out = np.array(list(map(str, ids.tolist())), dtype=object)
    out[ids < 0] = N
    return out


class Stages:
    """The stage table as the generator needs it: which stages are open, their deadlines,
    the stage each one follows, and how likely an issue is to end in each."""

    def __init__(self, conn):
        rows = conn.execute(sa.text("SELECT code, is_open, deadline_days FROM stage ORDER BY ordinal")).all()
        self.codes = np.array([r.code for r in rows], dtype=object)
        self.is_open = np.array([r.is_open for r in rows])
        # An open stage without a deadline never falls due (issue_due(): 'infinity').
        self.deadline = np.array([r.deadline_days if r.is_open and r.deadline_days else np.nan
                                  for r in rows], float)
        opened = [r.code for r in rows if r.is_open]

        def previous(code):
            """The stage an issue steps into ``code`` from (rejected and merged: from reported)."""
            if code in opened:
                return opened[opened.index(code) - 1] if opened.index(code) else N
            return opened[-1] if code == "closed" else "reported"

        self.previous = np.array([previous(c) for c in self.codes], dtype=object)
        weights = np.array([DONE_WEIGHTS.get(c, 0.0) for c in self.codes])
        weights[self.is_open] = (1 - sum(DONE_WEIGHTS.values())) / self.is_open.sum()
        self.weights = weights / weights.sum()


def issue_rows(rng, stages, channels, places, ids, x, y, k, inside, now):
    """The COPY fields of one chunk of issues and of their events (the reported step, then
    the step into the current stage), with the deadlines and on-time flag the triggers
    issue_due and issue_event_on_time would set."""
    count = len(ids)
    s = rng.choice(len(stages.codes), count, p=stages.weights)
    code = stages.codes[s]
    is_open, done = stages.is_open[s], ~stages.is_open[s]
    deadline = stages.deadline[s]
    age = rng.uniform(0.5, 730, count)                  # days since reported
    # Open issues: time in the current stage around its deadline (some overdue); closed
    # ones: their last step somewhere in their life.
    tail = np.where(is_open, np.minimum(rng.uniform(0, 1.15, count) * np.nan_to_num(deadline, nan=30), age),
                    age * rng.uniform(0, 0.9, count))
    reported = code == "reported"
    tail = np.where(reported, age, tail)
    seconds = lambda days: np.round(days * DAY).astype(np.int64).astype("timedelta64[s]")
    reported_at = now - seconds(age)
    changed_at = np.where(reported, reported_at, now - seconds(tail))
    never = np.datetime64("NaT", "s")
    due_at = np.where(is_open, changed_at + seconds(np.nan_to_num(deadline)), never)
    # 0.75 of whole days is a whole number of seconds: the same instant as the trigger's interval.
    due_soon_at = np.where(is_open, changed_at + seconds(np.nan_to_num(deadline) * 0.75), never)
    closed_at = np.where(done, changed_at, never)
    # Closed on time: within the deadlines of the open stages its events went through (for
    # a closed issue here: only "reported", the step into "closed" being the other one).
    budget = np.nan_to_num(stages.deadline[stages.codes == "reported"])
    closed = code == "closed"
    on_time = np.full(count, N, dtype=object)
    on_time[closed] = np.where((changed_at - reported_at)[closed] <= seconds(budget), "t", "f")
    no_deadline = is_open & np.isnan(deadline)

    categories = list(GENERIC_ISSUES)
    category = rng.integers(len(categories), size=count)
    titles = np.array([t for c in categories for t in GENERIC_ISSUES[c]], dtype=object)
    title_start = np.cumsum([0] + [len(GENERIC_ISSUES[c]) for c in categories])
    title_count = np.diff(title_start)
    title = titles[title_start[category] + (rng.random(count) * title_count[category]).astype(int)]
    satisfaction = np.array(SATISFACTION, dtype=object)[rng.integers(len(SATISFACTION), size=count)]
    with_result = np.isin(code, ["publish", "feedback", "closed"])
    rated = np.isin(code, ["feedback", "closed"])
    reason = np.array([REASON.get(c, N) for c in code], dtype=object)
    due_text, soon_text = _stamps(due_at), _stamps(due_soon_at)
    community = places["community"][k // PER_COMMUNITY]
    due_text[no_deadline] = soon_text[no_deadline] = "infinity"
    issue = [ids, community, places["grid"][k // PER_GRID],
             _nullable(np.where(inside, places["compound"][k], -1)), title,
             np.array(categories, dtype=object)[category],
             np.array(channels, dtype=object)[rng.integers(len(channels), size=count)],
             code, reason, np.where(with_result, "已按协商结果办理完毕", N).astype(object),
             np.where(rated, satisfaction, N), _stamps(reported_at), _stamps(changed_at),
             _stamps(closed_at), soon_text, due_text, on_time, _points_ewkb(x, y)]

    moved = ~reported
    event = [np.concatenate([ids, ids[moved]]), np.concatenate([community, community[moved]]),
             np.concatenate([_stamps(reported_at), _stamps(changed_at[moved])]),
             np.concatenate([np.full(count, "网格员", dtype=object), np.full(moved.sum(), "社区工作人员", dtype=object)]),
             np.concatenate([np.full(count, N, dtype=object), stages.previous[s][moved]]),
             np.concatenate([np.full(count, "reported", dtype=object), code[moved]]),
             np.concatenate([np.full(count, "收集诉求", dtype=object), reason[moved]])]
    return issue, event


ISSUE_COLUMNS = ["id", "community_id", "grid_id", "compound_id", "title", "category", "channel",
                 "stage", "stage_reason", "result", "satisfaction", "reported_at",
                 "stage_changed_at", "closed_at", "due_soon_at", "due_at", "closed_on_time", "geom"]
EVENT_COLUMNS = ["id", "issue_id", "community_id", "at", "actor", "from_stage", "to_stage", "note"]


# loading ------------------------------------------------------------------------------
# The tables the city is written to. Their foreign keys and secondary indexes are dropped
# for the load and put back at its end (what pg_restore does): COPY then checks no key row
# by row (~10^7 look-ups at 10^6 issues) and each index is built once by sorting instead
# of growing a row at a time. Primary keys and unique constraints stay, and re-adding a
# foreign key checks every row at once, so nothing is loaded unchecked.
TABLES = ["district", "subdistrict", "community", "grid", "compound", "building", "unit", "head",
          "self_governance_org", "issue", "issue_event"]
# Row triggers whose work the loader does itself: the place of each issue (the lattice),
# its deadlines and on-time flag (issue_rows), the grid colors (Lattice.grid_colors); and
# the state triggers, which state.bulk_load() already makes return at once (state_rebuild()
# follows) but which would still be queued and called for every row, 7 µs each.
# tests/test_synth.py checks all of it against the triggers and PostGIS.
SKIPPED_TRIGGERS = [("issue", "issue_locate"), ("issue", "issue_due"), ("issue_event", "issue_event_on_time"),
                    ("grid", "grid_pick_color"), ("issue", "issue_state"), ("compound", "compound_touch"),
                    ("building", "building_touch"), ("unit", "unit_touch"), ("head", "head_touch"),
                    ("self_governance_org", "org_touch"), ("grid", "grid_touch"), ("community", "community_touch")]


@contextmanager
def _without_upkeep(conn, timings):
    """Inside the caller's transaction: the triggers above off, foreign keys and secondary
    indexes of TABLES gone; all back on exit. ALTER TABLE and DROP/CREATE INDEX are
    transactional, so an error leaves the tables as they were, and unlike
    session_replication_role none of it needs a superuser (an external DATABASE_URL). The
    price is an exclusive lock on these tables until commit: the app waits for the load."""
    conn.execute(sa.text(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE"))
    tables = {"t": TABLES}
    indexes = conn.execute(sa.text("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
         WHERE i.indrelid = ANY(CAST(:t AS regclass[])) AND NOT EXISTS (
               SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
         ORDER BY 1"""), tables).all()
    keys = conn.execute(sa.text("""
        SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
         WHERE contype = 'f' AND conrelid = ANY(CAST(:t AS regclass[])) ORDER BY 1, 2"""), tables).all()
    for table, trigger in SKIPPED_TRIGGERS:
        conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    for table, name, _ in keys:
        conn.execute(sa.text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    for name, _ in indexes:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    yield
    with _phase(timings, "indexes"):
        for _, definition in indexes:
            conn.execute(sa.text(definition))
    with _phase(timings, "foreign keys"):
        for table, name, definition in keys:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for table, trigger in SKIPPED_TRIGGERS:
        conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


@contextmanager
def _phase(timings, name):
    started = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def _write_issues(conn, cur, rng, lattice, places, issues, bar, timings):
    """Generate the issues chunk by chunk in a second thread while the server takes the
    previous chunk's COPY (psycopg2 lets go of the GIL while it waits)."""
    stages = Stages(conn)
    channels = conn.execute(sa.text("SELECT code FROM channel ORDER BY code")).scalars().all()
    now = np.datetime64(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), "s")
    x, y, k, inside = issue_points(rng, lattice, issues)
    ids = _ids(conn, "issue", issues)
    # At most two events an issue; the ids a chunk leaves unused are a harmless gap.
    event_ids = _ids(conn, "issue_event", 2 * issues)

    def make(c):
        issue, event = issue_rows(rng, stages, channels, places, ids[c], x[c], y[c], k[c], inside[c], now)
        events = len(event[0])
        return _rows(*issue), _rows(event_ids[2 * c.start:2 * c.start + events], *event), events

    chunks = [slice(start, min(issues, start + CHUNK)) for start in range(0, issues, CHUNK)]
    events = 0
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(make, chunks[0]) if chunks else None
        for i, chunk in enumerate(chunks):
            issue_text, event_text, count = pending.result()
            if i + 1 < len(chunks):
                pending = pool.submit(make, chunks[i + 1])
            with _phase(timings, "issues: COPY"):
                _copy_rows(cur, "issue", ISSUE_COLUMNS, issue_text)
                _copy_rows(cur, "issue_event", EVENT_COLUMNS, event_text)
            events += count
            bar.update(chunk.stop - chunk.start)
    return events


def load(eng, compounds, issues, districts=None, subdistricts=None, seed=1, progress=True):
    """Load a synthetic city of ``compounds`` compounds and ``issues`` issues, all or
    nothing; returns a summary with the counts and the seconds each phase took."""
    districts, subdistricts = check(compounds, issues, districts, subdistricts)
    started = time.perf_counter()
    timings = {}
    rng = np.random.default_rng(seed)
    lattice = Lattice(compounds, districts, subdistricts)
    district_names = names.districts(districts).tolist()
    total = districts + subdistricts + lattice.communities + lattice.grids + 14 * compounds + issues
    # One transaction: the connection rolls back on any error before the commit at the end.
    with eng.connect() as conn, tqdm(total=total, desc="合成城市", unit="行", disable=not progress,
                                   unit_scale=True, mininterval=0.5) as bar:
        # Memory to sort each index in one go and to hash state_rebuild()'s tallies without
        # spilling; no JIT, which spends seconds compiling those few big statements.
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL work_mem = '256MB'; "
                             "SET LOCAL jit = off"))
        # Into a distributed database (docs/scaling.md): Citus lets the loader switch the
        # triggers of distributed tables off and on, and runs the load's DDL and writes over
        # one connection per node. Plain PostgreSQL keeps both as placeholders and ignores them.
        conn.execute(sa.text("SET LOCAL citus.enable_unsafe_triggers = on; "
                             "SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
        conn.execute(sa.text("LOCK TABLE district IN EXCLUSIVE MODE"))
        if conn.execute(sa.text("SELECT 1 FROM district WHERE name = ANY(:n)"), {"n": district_names}).first():
            raise SynthError("合成城市已存在，未重复生成 (the synthetic city is already loaded)")
        cur = conn.connection.cursor()      # the same connection, so the same transaction
        with state.bulk_load(conn):
            with _without_upkeep(conn, timings):
                with _phase(timings, "places"):
                    bar.set_description("合成城市：地块")
                    places = build_places(conn, cur, lattice, rng, bar)
                    bar.total = bar.n + issues      # the posts left empty are known now
                with _phase(timings, "search index"):
                    search.refresh(conn)
                with _phase(timings, "issues"):
                    bar.set_description("合成城市：诉求")
                    events = _write_issues(conn, cur, rng, lattice, places, issues, bar, timings)
                bar.set_description("合成城市：索引与外键")
            bar.set_description("合成城市：状态表")
            state_started = time.perf_counter()
        timings["state_rebuild()"] = time.perf_counter() - state_started
        with _phase(timings, "ANALYZE"):
            bar.set_description("合成城市：统计信息")
            # Fresh statistics, or the planner picks nested loops sized for empty tables.
            conn.execute(sa.text("ANALYZE"))
        with _phase(timings, "commit"):
            conn.commit()
    # The visibility map, so that counts over the issue indexes (Open311's total, the issue
    # list) are index-only scans at once rather than after autovacuum gets round to it.
    with _phase(timings, "VACUUM"), eng.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
        auto.execute(sa.text("VACUUM issue"))
    counts = places["counts"]
    timings["total"] = time.perf_counter() - started
    return (f"合成城市（示例数据）：{counts['districts']} 个区 · {counts['subdistricts']} 个街道 · "
            f"{counts['communities']} 个社区 · {counts['grids']} 个网格 · {compounds} 个楼院 · "
            f"{counts['buildings']} 栋楼 · {counts['units']} 个单元 · {counts['heads']} 名三长 · "
            f"{issues} 件诉求 · {events} 条办理记录，用时 {timings.pop('total'):.1f} 秒\n"
            + "phases: " + " · ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))


def bbox_of_compounds(count):
    """A bbox from the city's south-west corner covering about ``count`` compounds (the
    first subdistrict's communities lie there, filled row by row)."""
    side = math.ceil(math.sqrt(count))
    return (ORIGIN[0], ORIGIN[1], ORIGIN[0] + side * CELL_W, ORIGIN[1] + side * CELL_H)
