"""The layers as OGC API – Features collections: each one a small provider that turns bbox,
datetime, property filters and paging into SQL over the layer's own SELECT, and builds the
page of GeoJSON features in PostGIS (no Python object per feature).

A provider's SELECT has an ``id``, a ``geom`` (EPSG:4326) and the public properties, and a
``{where}`` slot for the bbox; it takes the scope parameters (layers.scope).
"""
import json
from collections import OrderedDict
from dataclasses import dataclass, field

import sqlalchemy as sa

from geo.bbox import BBox
from layers import areas, buildings, db, features, venues, version
from layers.access_log import revealed
from layers.scope import PUBLIC, in_scope

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Output CRSs: their SRID, whether their axis order is (north, east) — EPSG:4490 is lat/lon and
# EPSG:4547 is northing/easting by definition, and OGC API – Features Part 2 follows the
# definition — and how many decimals keep about 0.1 m.
CRS = {
    CRS84: (4326, False, 6),
    "http://www.opengis.net/def/crs/EPSG/0/4490": (4490, True, 6),
    "http://www.opengis.net/def/crs/EPSG/0/4547": (4547, True, 2),
}
MAX_LIMIT = 10_000

DISTRICTS = "SELECT d.id, d.name, d.is_sample, d.geom FROM district d WHERE {where}"

# The map's compound layer carries the colors of a mode; GIS clients want the plain figures, and
# the grid leader and compound heads (三长) to call: in full inside the viewer's area, masked
# names and no phones outside it. Phones here are unlogged: a page shows some of the rows this
# SELECT makes (a count makes them all), so the page logs the ones it shows (``reveals``). In
# a read-only transaction, where the log cannot be written, they are withheld.
COMPOUND_FULL = in_scope("c.community_id", "c.grid_id")
WRITABLE = "current_setting('transaction_read_only') = 'off'"
COMPOUNDS = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid,
           CASE WHEN {COMPOUND_FULL} THEN g.leader_name ELSE mask_name(g.leader_name) END AS grid_leader,
           CASE WHEN {COMPOUND_FULL} AND {WRITABLE} THEN g.leader_phone END AS grid_leader_phone,
           (SELECT json_agg(json_build_object(
                       'role', r.name_zh,
                       'name', CASE WHEN {COMPOUND_FULL} THEN h.name ELSE mask_name(h.name) END,
                       'phone', CASE WHEN {COMPOUND_FULL} AND {WRITABLE} THEN h.phone END)
                     ORDER BY r.rank, h.id)
              FROM head h JOIN head_role r ON r.code = h.role
             WHERE h.compound_id = c.id AND r.level = 'compound' AND h.retired_on IS NULL) AS heads,
           c.households, coalesce(s.open_issues, 0) AS open_issues,
           coalesce(s.has_org, false) AS has_org, c.geom
      FROM compound c LEFT JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
      LEFT JOIN compound_state s ON s.community_id = c.community_id AND s.compound_id = c.id
     WHERE {{where}}"""

# The phones a page of compounds or buildings (ids :q_ids) shows, logged (migration 0012).
COMPOUND_REVEALS = f"""
    SELECT count({revealed("head", "h.id", "h.phone")})
      FROM compound c JOIN head h ON h.compound_id = c.id JOIN head_role r ON r.code = h.role
     WHERE c.id = ANY(:q_ids) AND r.level = 'compound' AND h.retired_on IS NULL AND {COMPOUND_FULL}
    UNION ALL
    SELECT count({revealed("grid_leader", "g.id", "g.leader_phone")})
      FROM compound c JOIN grid g ON g.id = c.grid_id
     WHERE c.id = ANY(:q_ids) AND {COMPOUND_FULL}"""
BUILDING_REVEALS = f"""
    SELECT count({revealed("head", "h.id", "h.phone")})
      FROM building b JOIN compound c ON c.id = b.compound_id JOIN head h ON h.building_id = b.id
     WHERE b.id = ANY(:q_ids) AND h.retired_on IS NULL AND {COMPOUND_FULL}"""

# Open and closed issues (the map's layer has the open ones only). A title stays internal
# outside the viewer's area until the issue is taken up as a topic (a rejected or merged
# report never was); the reporter is in another table and never joined.
ISSUES = f"""
    SELECT i.id, i.stage, CASE WHEN :lang = 'en' THEN st.name_en ELSE st.name_zh END AS stage_name,
           i.category, CASE WHEN :lang = 'en' THEN cat.name_en ELSE cat.name_zh END AS category_name,
           m.name AS community,
           CASE WHEN {in_scope("i.community_id", "i.grid_id")}
                  OR i.stage NOT IN ('reported', 'rejected', 'merged') THEN i.title END AS title,
           i.reported_at, i.stage_changed_at, i.closed_at, i.geom
      FROM issue i LEFT JOIN stage st ON st.code = i.stage
      LEFT JOIN category cat ON cat.code = i.category
      LEFT JOIN community m ON m.id = i.community_id
     WHERE {{where}}"""


def _own(template, alias):
    def select(bbox, scope):
        where, params = features.bbox_clause(bbox, alias)
        return template.format(where=where), {**params, "lang": "zh", **scope}   # scope may name the language
    return select


@dataclass(frozen=True)
class Collection:
    id: str
    title: str                      # a msgid, translated by the web layer
    select: object                  # (bbox, scope) -> (SQL, params)
    geometry: str                   # GeoJSON geometry type
    queryables: dict = field(default_factory=dict)   # query parameter -> (column, JSON type)
    temporal: str | None = None     # the column ``datetime`` filters
    tiles: str | None = None        # the vector-tile layer, when there is one
    reveals: str | None = None      # SQL logging the phones a page of ids :q_ids shows


COLLECTIONS = {c.id: c for c in (
    Collection("districts", "区", _own(DISTRICTS, "d.geom"), "MultiPolygon"),
    Collection("subdistricts", "街道", lambda bbox, scope: areas.subdistrict(bbox), "MultiPolygon"),
    Collection("communities", "社区", lambda bbox, scope: areas.communities(bbox), "MultiPolygon",
               tiles="communities"),
    Collection("grids", "网格", areas.grids, "MultiPolygon", {"community": "string"}, tiles="grids"),
    Collection("compounds", "楼院", _own(COMPOUNDS, "c.geom"), "MultiPolygon",
               {"community": "string", "grid": "string"}, tiles="compounds", reveals=COMPOUND_REVEALS),
    Collection("buildings", "楼栋", lambda bbox, scope: buildings.query(bbox, scope, buildings.SHOWN_PHONE),
               "MultiPolygon", {"compound": "string"}, tiles="buildings", reveals=BUILDING_REVEALS),
    Collection("venues", "协商议事场所", lambda bbox, scope: venues.venues(bbox), "Point",
               {"community": "string"}),
    Collection("issues", "诉求", _own(ISSUES, "i.geom"), "Point",
               {"stage": "string", "category": "string", "community": "string"},
               temporal="reported_at", tiles="issues"),
)}


@dataclass(frozen=True)
class Query:
    """A checked items request; coordinates of ``bbox`` already in EPSG:4326 axis order (x, y)."""
    bbox: tuple | None = None        # (minx, miny, maxx, maxy, srid)
    since: object = None             # datetime or None (open)
    until: object = None
    filters: dict = field(default_factory=dict)   # queryable -> [values]
    limit: int = 100
    offset: int = 0
    after: int | None = None         # keyset paging: the page of ids just above this one
    before: int | None = None        # ... or just below this one (a prev link)
    crs: str = CRS84


def _bbox_4326(bbox):
    """The EPSG:4326 envelope of a bbox given in another CRS (for the layer's index filter)."""
    minx, miny, maxx, maxy, srid = bbox
    if srid == 4326:
        return BBox(minx, miny, maxx, maxy)
    r = db.rows("""SELECT ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
                     FROM ST_Transform(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, :srid), 4326) e""",
                {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy, "srid": srid})[0]
    return BBox(r["minx"], r["miny"], r["maxx"], r["maxy"])


def _filtered(collection, query, scope):
    """The collection's SELECT with every filter of ``query`` applied, and its parameters."""
    sql, params = collection.select(_bbox_4326(query.bbox) if query.bbox else None, scope)
    where = []
    if query.bbox and query.bbox[4] != 4326:
        # The layer filtered by the envelope; keep only what meets the box itself.
        minx, miny, maxx, maxy, srid = query.bbox
        where.append("ST_Intersects(f.geom, ST_Transform(ST_MakeEnvelope(:q_minx, :q_miny, :q_maxx, :q_maxy,"
                     " :q_srid), 4326))")
        params.update(q_minx=minx, q_miny=miny, q_maxx=maxx, q_maxy=maxy, q_srid=srid)
    if query.since is not None:
        where.append(f"f.{collection.temporal} >= :q_since")
        params["q_since"] = query.since
    if query.until is not None:
        where.append(f"f.{collection.temporal} <= :q_until")
        params["q_until"] = query.until
    for name, values in query.filters.items():
        where.append(f"f.{name}::text = ANY(CAST(:q_{name} AS text[]))")
        params[f"q_{name}"] = list(values)
    return f"SELECT * FROM ({sql}) f WHERE {' AND '.join(where) or 'TRUE'}", params


def _geometry(crs):
    """The row's geometry in ``crs``, in that CRS's axis order."""
    srid, flip, _decimals = CRS[crs]
    geom = "f.geom" if srid == 4326 else f"ST_Transform(f.geom, {srid})"
    return f"ST_FlipCoordinates({geom})" if flip else geom


# The property columns of each collection's SELECT, read once from the database (they are
# fixed by the code): the page lists them so that the geometry is replaced, not repeated.
_columns = {}


def _properties(collection, sql, params):
    if collection.id not in _columns:
        with db.transaction() as conn:
            keys = conn.execute(sa.text(f"SELECT * FROM ({sql}) f LIMIT 0"), params).keys()
        _columns[collection.id] = ", ".join(f'f."{k}"' for k in keys if k != "geom")
    return _columns[collection.id]


# A feature is PostGIS's own GeoJSON of the row (``ST_AsGeoJSON(record)``: the properties are
# every column but geom) with the id put in front: several times faster than building the
# properties with to_jsonb, which serialises the geometry too.
FEATURE = """'{{"id":' || p.id || ',' || substr(ST_AsGeoJSON(p.*, 'geom', {decimals}), 2)"""
ROWS = "SELECT {properties}, {geometry} AS geom FROM ({filtered}) f"

# One page, in id order. Next and prev links carry the last and first id of the page (keyset
# paging), so the 1,000th page of 10^6 issues costs what the first does; ``offset`` skips rows
# after the keyset, for clients that page by offset themselves.
PAGE = """SELECT count(*) AS returned, min(p.id) AS first, max(p.id) AS last, array_agg(p.id) AS ids,
                 '[' || coalesce(string_agg({feature}, ',' ORDER BY p.id), '') || ']' AS features
            FROM ({rows} WHERE {keyset} ORDER BY {order} {direction} LIMIT :q_limit OFFSET :q_offset) p"""
AROUND = """SELECT EXISTS (SELECT 1 FROM ({filtered}) f WHERE f.id < :q_first) AS has_prev,
                   EXISTS (SELECT 1 FROM ({filtered}) f WHERE f.id > :q_last) AS has_next"""
COUNT = "SELECT count(*) FROM ({filtered}) f"


def _rows(collection, filtered, params, crs):
    return ROWS.format(properties=_properties(collection, filtered, params), geometry=_geometry(crs),
                       filtered=filtered)


# How a page is found: walking the id index and filtering (cheap when many rows match, as in a
# whole-city view), or filtering first (the bbox's index) and sorting what matched (cheap when
# few do). PostgreSQL picks the walk whenever the order is by id, also for a small bbox whose
# rows all lie at the far end of the ids, as after a subdistrict's history was imported in
# one go; ``id + 0`` is an order no index gives, so it filters first. The count, needed for
# numberMatched anyway, decides.
FILTER_FIRST_BELOW = 50_000


# numberMatched of a query, per database and data version: a client paging through 10^6
# issues has them counted once, not once a page. Every change advances the data version.
_counts = OrderedDict()
COUNTS_KEPT = 256


def matched(filtered, params):
    key = (str(db.engine().url), version.current(), filtered, json.dumps(params, sort_keys=True, default=str))
    if key in _counts:
        _counts.move_to_end(key)
        return _counts[key]
    _counts[key] = db.scalar(COUNT.format(filtered=filtered), params)
    while len(_counts) > COUNTS_KEPT:
        _counts.popitem(last=False)
    return _counts[key]


@dataclass(frozen=True)
class Page:
    matched: int
    returned: int
    features: str                   # a JSON array text
    first: int | None               # the ids at the ends of the page, for next/prev links
    last: int | None
    has_prev: bool
    has_next: bool


def items(collection, query, scope=PUBLIC):
    """One page of ``query``: its features built in PostGIS, the count and where the neighbours are."""
    filtered, params = _filtered(collection, query, scope)
    count = matched(filtered, params)
    keyset = "TRUE"
    if query.after is not None:
        keyset, params["q_after"] = "f.id > :q_after", query.after
    elif query.before is not None:
        keyset, params["q_before"] = "f.id < :q_before", query.before
    sql = PAGE.format(feature=FEATURE.format(decimals=CRS[query.crs][2]), keyset=keyset,
                      order="f.id + 0" if count < FILTER_FIRST_BELOW else "f.id",
                      direction="DESC" if query.before is not None else "",
                      rows=_rows(collection, filtered, params, query.crs))
    with db.transaction() as conn:
        page = db.rows(sql, dict(params, q_limit=query.limit, q_offset=query.offset), conn=conn)[0]
        if page["returned"]:
            around = db.rows(AROUND.format(filtered=filtered),
                             dict(params, q_first=page["first"], q_last=page["last"]), conn=conn)[0]
            has_prev, has_next = around["has_prev"], around["has_next"]
        else:  # past either end: the way back is the other end
            has_prev, has_next = query.after is not None or query.offset > 0, query.before is not None
        _log_reveals(collection, page["ids"], scope, conn)
    return Page(count, page["returned"], page["features"], page["first"], page["last"],
                has_prev, has_next)


def _log_reveals(collection, ids, scope, conn):
    """Log the phones the features ``ids`` show to a viewer with an area (the public sees none)."""
    if collection.reveals and ids and (scope["scope_all"] or scope["scope_grids"] or scope["scope_communities"]):
        db.rows(collection.reveals, dict(scope, q_ids=list(ids)), conn=conn)


ITEM = "SELECT {feature} FROM ({rows} WHERE f.id = :q_id) p"


def item(collection, fid, crs=CRS84, scope=PUBLIC):
    """One feature as GeoJSON text, or None when there is none with that id."""
    sql, params = collection.select(None, scope)
    with db.transaction() as conn:
        feature = db.scalar(ITEM.format(feature=FEATURE.format(decimals=CRS[crs][2]),
                                        rows=_rows(collection, sql, params, crs)), dict(params, q_id=fid), conn=conn)
        if feature is not None:
            _log_reveals(collection, [fid], scope, conn)
    return feature


def codes():
    """The values the coded queryables take: stage and category codes."""
    with db.transaction() as conn:
        return {"stage": [r["code"] for r in db.rows("SELECT code FROM stage ORDER BY ordinal", conn=conn)],
                "category": [r["code"] for r in db.rows("SELECT code FROM category ORDER BY ordinal", conn=conn)]}


def temporal_extent(collection):
    """[first, last] of the collection's times (ISO text), or None when it has none."""
    if collection.temporal is None:
        return None
    # Only issues have a time; the (reported_at) index answers both ends.
    r = db.rows("SELECT min(reported_at) AS a, max(reported_at) AS b FROM issue")[0]
    return [r["a"] and r["a"].isoformat(), r["b"] and r["b"].isoformat()]
