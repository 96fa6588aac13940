"""Mapbox Vector Tiles made by PostGIS: one statement per tile, the bytes straight out.

Each layer is the same SELECT as its GeoJSON layer (so a compound has the same fill in a tile
as in ``compounds.geojson``), filtered by the tile's envelope on the GiST index and projected
to the properties a tile may carry. Tiles are public and cacheable by any proxy, so they never
carry personal data: no 三长 or grid leader, no reporter, no title of an issue still internal.
"""
from dataclasses import dataclass

from layers import areas, buildings, compounds, db, features
from layers.issues import t_params
from layers.scope import PUBLIC

EXTENT = 4096     # MVT units per tile side
BUFFER = 64       # units drawn beyond each edge, so outlines and circles meet at the seams
MARGIN = BUFFER / EXTENT
# From this zoom open issues are points; below it, counts per cell (never 10^6 points).
ISSUE_POINTS_ZOOM = 16   # at 14 a busy tile of a city holds thousands of overlapping dots
# Cells per tile side below ISSUE_POINTS_ZOOM: 32 px on a 256 px tile, 64 px below
# COARSE_BELOW, where a whole district is in view and finer cells would tile the map solid.
CELLS, COARSE_CELLS, COARSE_BELOW = 8, 4, 13

ENVELOPE = "ST_TileEnvelope(:z, :x, :y)"
# Tiles for a GCJ-02 basemap (Gaode) are drawn shifted by (:dlon, :dlat), the GCJ-02 offset at
# the tile's centre: across a tile the offset varies by a few metres at zoom 14 and by less at
# higher zooms, under a pixel at every zoom. (0, 0) otherwise. The index filter takes the tile and its buffer back to the stored WGS84.
NEAR = "ST_Translate(ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326), -:dlon, -:dlat)"
MVT_GEOM = f"ST_AsMVTGeom(ST_Transform(ST_Translate(f.geom, :dlon, :dlat), 3857), {ENVELOPE}, {EXTENT}, {BUFFER})"

# One MVT layer from its features (the CTE ``{layer}``, gathered first: on Citus they come from
# the shards and ST_AsMVT runs on the coordinator); a feature clipped away entirely has a NULL
# geometry and is left out.
ENCODE = f"""SELECT coalesce(ST_AsMVT(t, '{{layer}}', {EXTENT}, 'geom'), '')
               FROM {{layer}} t WHERE t.geom IS NOT NULL"""

# A projection of a layer's own SELECT (``f``), which the planner filters on its index.
PROJECT = f"SELECT {{columns}}, {MVT_GEOM} AS geom FROM ({{source}}) f WHERE f.geom && {NEAR}"

# Open issues (due_at is set exactly while an issue is open: the partial GiST index).
# A reported issue's title is internal until it is taken up as a topic.
ISSUE_POINTS = f"""
    SELECT f.id, f.stage, f.category,
           CASE WHEN f.due_at < :t THEN 3 WHEN f.due_soon_at < :t THEN 2 ELSE 1 END AS sla,
           to_char(f.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on,
           CASE WHEN f.stage <> 'reported' THEN f.title END AS title,
           {MVT_GEOM} AS geom
      FROM issue f
     WHERE f.due_at IS NOT NULL AND f.geom && {NEAR} AND {{named}}"""

# Below ISSUE_POINTS_ZOOM: the open issues of the tile counted per square cell of the tile
# (:cells × :cells, aligned with the tiles, so every issue is in exactly one cell of one tile),
# each cell drawn at the mean position of its issues.
ISSUE_CELLS = f"""
    WITH tile AS (SELECT {ENVELOPE} AS e),
    p AS (SELECT ST_X(m) AS mx, ST_Y(m) AS my, i.due_at,
                 floor((ST_X(m) - ST_XMin(tile.e)) / (ST_XMax(tile.e) - ST_XMin(tile.e)) * :cells) AS cx,
                 floor((ST_YMax(tile.e) - ST_Y(m)) / (ST_YMax(tile.e) - ST_YMin(tile.e)) * :cells) AS cy
            FROM issue i CROSS JOIN tile CROSS JOIN LATERAL ST_Transform(ST_Translate(i.geom, :dlon, :dlat), 3857) m
           WHERE i.due_at IS NOT NULL AND i.geom && ST_Translate(ST_Transform({ENVELOPE}, 4326), -:dlon, -:dlat)
             AND {{named}})
    SELECT count(*)::int AS count, count(*) FILTER (WHERE p.due_at < :t)::int AS overdue,
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(p.mx), avg(p.my)), 3857), {ENVELOPE},
                        {EXTENT}, {BUFFER}) AS geom
      FROM p
     WHERE p.cx BETWEEN 0 AND :cells - 1 AND p.cy BETWEEN 0 AND :cells - 1
     GROUP BY p.cx, p.cy"""


@dataclass(frozen=True)
class Layer:
    minzoom: int
    fields: dict        # property → what it says (TileJSON's vector_layers.fields)
    time_dependent: bool = False


ISSUE_FIELDS = {
    "id": "Number: issue id (at zoom ≥ 16)",
    "stage": "String: stage code (reported, topic, notice, consult, implement, publish, feedback)",
    "category": "String: category code",
    "sla": "Number: 1 on time, 2 due soon, 3 overdue",
    "reported_on": "String: date reported (YYYY-MM-DD, Beijing)",
    "title": "String: title; absent while the issue is only reported",
    "count": "Number: open issues in the cell (at zoom < 16)",
    "overdue": "Number: overdue issues in the cell (at zoom < 16)",
}

LAYERS = {
    "communities": Layer(8, {"id": "Number", "name": "String"}),
    "grids": Layer(11, {"id": "Number", "name": "String", "community": "String"}),
    "compounds": Layer(12, {
        "id": "Number", "name": "String", "community": "String", "grid": "String",
        "fill": "String: the color of the mode (#rrggbb)",
        "cls": "String: the class in the mode (the grid id in the grid mode)",
        "open_issues": "Number: open issues"}),
    "buildings": Layer(15, {"id": "Number", "name": "String", "compound": "String",
                            "floors": "Number", "units": "Number"}),
    "issues": Layer(0, ISSUE_FIELDS, time_dependent=True),
}


def _features(layer, z, mode=None, style=None, as_of=None, box=None):
    """(SELECT of the tile's features, its parameters) for ``layer`` at zoom ``z``."""
    if layer == "communities":
        source, params = areas.communities()
        return PROJECT.format(columns="f.id, f.name", source=source), params
    if layer == "grids":
        source, params = areas.grids(scope=PUBLIC)
        return PROJECT.format(columns="f.id, f.name, f.community", source=source), params
    if layer == "compounds":
        # A past date is replayed from the event log for the compounds of the tile only; on
        # Citus the tile's box also names its communities (features.community_clause).
        source, params = compounds.query(mode, style, box, PUBLIC, as_of)
        columns = "f.id, f.name, f.community, f.grid, f.fill, f.cls, f.open_issues"
        return PROJECT.format(columns=columns, source=source), params
    if layer == "buildings":
        source, params = buildings.query(scope=PUBLIC)
        return PROJECT.format(columns="f.id, f.name, f.compound, f.floors, f.units", source=source), params
    if layer == "issues":
        (named,), ids = features.community_clause(box, "i.community_id" if z < ISSUE_POINTS_ZOOM else "f.community_id")
        if z >= ISSUE_POINTS_ZOOM:
            return ISSUE_POINTS.format(named=named), dict(t_params(None), **ids)
        return ISSUE_CELLS.format(named=named), dict(t_params(None), **ids,
                                                     cells=COARSE_CELLS if z < COARSE_BELOW else CELLS)
    raise KeyError(layer)


def mvt(layers, z, x, y, *, mode=None, style=None, as_of=None, box=None, shift=(0.0, 0.0)):
    """The tile z/x/y of ``layers`` (names from LAYERS) as MVT bytes, in one statement: the
    layers' encodings joined, as the MVT format allows (empty when no layer has a feature,
    or below every layer's minzoom). ``mode``, ``style`` and ``as_of`` are the compound
    layer's; ``box`` is the tile's WGS84 box with its margin (geo.tiles.bounds); ``shift`` the
    (lon, lat) degrees to draw the features shifted by (for a GCJ-02 basemap)."""
    parts, ctes = [], []
    params = {"z": z, "x": x, "y": y, "margin": MARGIN, "dlon": shift[0], "dlat": shift[1]}
    for layer in layers:
        if z < LAYERS[layer].minzoom:
            continue
        features, more = _features(layer, z, mode, style, as_of, box)
        ctes.append(f"{layer} AS MATERIALIZED ({features})")
        parts.append(f"({ENCODE.format(layer=layer)})")
        # The layers' parameters do not clash: only compounds and issues take :t, and both
        # read "now" unless compounds replay a date (issues refuse as_of).
        params.update(more)
    if not parts:
        return b""
    return bytes(db.scalar("WITH " + ", ".join(ctes) + " SELECT " + " || ".join(parts), params))


def extent():
    """(west, south, east, north) of the data, or None when there is none; and whether it
    is sample data."""
    row = db.rows("""SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n, sample
                       FROM (SELECT ST_Extent(geom) AS e, coalesce(bool_or(is_sample), false) AS sample
                               FROM subdistrict) d""")[0]
    box = None if row["w"] is None else (row["w"], row["s"], row["e"], row["n"])
    return box, row["sample"]
