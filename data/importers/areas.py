"""Import district, subdistrict, community, grid or compound polygons from GeoJSON,
GeoPackage or a zipped Shapefile.

Every feature is read, reprojected to WGS84 and checked (attributes in ``area_file``, geometry and
references in PostGIS, in the one transaction that also writes); any error refuses the
whole file and nothing is written. Each feature's parent (the district of a subdistrict, the
community of a compound ...) is named in a column of the file, or else is the one that
contains the feature: surveyed outlines often carry only names.
"""
from pathlib import Path

import shapely
import sqlalchemy as sa

from data.importers.area_file import (COLUMNS, KIND_ZH, PARENT, Errors, features_of, parse_crs_option,
                                      read_file, reproject)
from layers import db, search, state

# A feature placed by containment may stick out of its parent by this share of its area
# (outlines drawn separately rarely share edges exactly); more, and it straddles.
OUTSIDE_TOLERANCE = 0.05
# A batch job, not a request: a city's 50,000 compounds take minutes on a small machine.
IMPORT_TIMEOUT_MS = 30 * 60_000
# From this many features, the kept state (layers/state.py) is rebuilt once after writing
# rather than row by row: quicker for a city's compounds, though every screen's cache
# starts afresh.
BULK_FEATURES = 2_000
POLYGON_TYPES = ("POLYGON", "MULTIPOLYGON")


def import_areas(eng, path, *, kind="compound", layer=None, crs=None, encoding=None,
                 make_valid=False, progress=True):
    """Import polygons of one kind, all or nothing.

    Parameters
    ----------
    eng : sqlalchemy.Engine
    path : str or pathlib.Path
        A .geojson/.json, .gpkg, zipped Shapefile (.zip) or .shp file.
    kind : {"compound", "grid", "community", "subdistrict", "district"}
    layer : str, optional
        Layer name; required when the file holds more than one layer.
    crs : str, optional
        Source CRS overriding the file's: an EPSG code or ``"gcj02"``.
    encoding : str, optional
        Text encoding of a Shapefile's .dbf; by default GDAL's choice, with GBK detected
        when a file without .cpg comes out as Latin-1 mojibake.
    make_valid : bool
        Repair invalid polygons (ST_MakeValid) instead of refusing them.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    str
        A one-line summary in Chinese.

    Raises
    ------
    ImportFailed
        With one message per bad feature; nothing has been written.
    """
    if kind not in KIND_ZH:
        raise ValueError(f"unknown kind {kind!r}")
    source_crs = parse_crs_option(crs)
    read = read_file(Path(path), layer, encoding)
    errors = Errors()
    features = features_of(read, kind, errors, progress)
    reproject(read.crs, features, source_crs, errors)
    with db.transaction(eng, timeout_ms=IMPORT_TIMEOUT_MS) as conn:
        _load(conn, features)
        repaired = _check_geometry(conn, features, make_valid, errors)
        _place(conn, kind, features, errors)
        existing = _check_references(conn, kind, features, errors)
        errors.raise_any()
        if len(features) < BULK_FEATURES:
            conn.execute(sa.text(_UPSERT[kind]))
        else:
            with state.bulk_load(conn):
                conn.execute(sa.text(_UPSERT[kind]))
        search.refresh(conn, progress=progress)
    added = len(features) - existing
    summary = f"导入完成：新增 {added} 个{KIND_ZH[kind]}，更新 {existing} 个"
    return summary + (f"，修复 {repaired} 个无效几何" if repaired else "")


# PostGIS ------------------------------------------------------------------------------

def _load(conn, features):
    conn.execute(sa.text(
        "CREATE TEMP TABLE incoming_area (idx int PRIMARY KEY, name text, parent text,"
        " grid text, households int, leader_name text, leader_phone text, geom geometry,"
        " parent_id int) ON COMMIT DROP"))
    # One statement for the whole file (columns as arrays), not one per feature.
    conn.execute(sa.text(
        "INSERT INTO incoming_area SELECT idx, name, parent, grid, households, leader_name,"
        " leader_phone, ST_GeomFromWKB(wkb, 4326)"
        " FROM unnest(CAST(:idx AS int[]), CAST(:name AS text[]), CAST(:parent AS text[]),"
        " CAST(:grid AS text[]), CAST(:households AS int[]), CAST(:leader_name AS text[]),"
        " CAST(:leader_phone AS text[]), CAST(:wkb AS bytea[]))"
        " AS f(idx, name, parent, grid, households, leader_name, leader_phone, wkb)"),
        {"idx": [f.index for f in features], "name": [f.name for f in features],
         "parent": [f.parent for f in features], "grid": [f.grid for f in features],
         "households": [f.households for f in features],
         "leader_name": [f.leader_name for f in features],
         "leader_phone": [f.leader_phone for f in features],
         "wkb": [None if f.geometry is None else shapely.to_wkb(f.geometry) for f in features]})
    conn.execute(sa.text("ANALYZE incoming_area"))


def _check_geometry(conn, features, make_valid, errors):
    """Report empty, non-polygon and invalid geometry; with ``make_valid`` repair the
    invalid instead. Returns how many were repaired."""
    by_index = {f.index: f for f in features}
    checked = conn.execute(sa.text(
        "SELECT idx, ST_IsEmpty(geom) AS empty, GeometryType(geom) AS type,"
        " ST_IsValid(geom) AS valid, ST_IsValidReason(geom) AS reason"
        " FROM incoming_area WHERE geom IS NOT NULL ORDER BY idx")).mappings()
    repair = []
    for row in checked:
        feature = by_index[row["idx"]]
        if row["empty"]:
            errors.feature(feature, "几何为空", geometry=True)
        elif row["type"] not in POLYGON_TYPES:
            errors.feature(feature, f"几何类型是 {row['type']}，应为面（Polygon/MultiPolygon）",
                           geometry=True)
        elif not row["valid"] and make_valid:
            repair.append(row["idx"])
        elif not row["valid"]:
            errors.feature(feature, f"几何无效：{row['reason']}", geometry=True)
    if not repair:
        return 0
    emptied = conn.execute(sa.text(
        "UPDATE incoming_area SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))"
        " WHERE idx = ANY(:repair) RETURNING idx, ST_IsEmpty(geom) AS empty"),
        {"repair": repair}).mappings()
    for row in emptied:
        if row["empty"]:
            errors.feature(by_index[row["idx"]], "几何无效且修复后没有面积，无法导入", geometry=True)
    return len(repair)


# parents ------------------------------------------------------------------------------

# Where each feature without a named parent lies: the parent covering its point on surface,
# how much of it is outside that parent and, when that is too much, the other parents it
# overlaps. Features refused for their geometry are left out.
_CONTAINING = """
    WITH located AS (
        SELECT i.idx, i.geom, h.id AS home, h.name AS home_name,
               CASE WHEN h.id IS NULL OR ST_Covers(h.geom, i.geom) THEN 0
                    ELSE ST_Area(ST_Difference(i.geom, h.geom)) / ST_Area(i.geom) END AS outside
          FROM incoming_area i
          LEFT JOIN LATERAL (SELECT p.id, p.name, p.geom FROM {parent} p
                              WHERE ST_Covers(p.geom, ST_PointOnSurface(i.geom))
                              ORDER BY p.id LIMIT 1) h ON true
         WHERE i.parent IS NULL AND i.geom IS NOT NULL AND i.idx <> ALL(:unusable))
    SELECT idx, home, home_name, outside,
           CASE WHEN outside > :tolerance THEN ARRAY(
               SELECT p.name FROM {parent} p
                WHERE p.id <> l.home AND p.geom && l.geom AND ST_Intersects(p.geom, l.geom)
                  AND ST_Area(ST_Intersection(p.geom, l.geom)) > :tolerance * ST_Area(l.geom)
                ORDER BY p.name) END AS others
      FROM located l
     ORDER BY idx"""


def _place(conn, kind, features, errors):
    """Find each feature's parent (incoming_area.parent_id): by the name in the file, else the
    one that contains it; report unknown names and features in none or straddling two."""
    parent = PARENT.get(kind)
    if parent is None:
        return
    zh, column = KIND_ZH[parent], COLUMNS[parent][0]
    by_index = {f.index: f for f in features}
    conn.execute(sa.text(f"UPDATE incoming_area i SET parent_id = p.id FROM {parent} p"
                         " WHERE p.name = i.parent"))
    for idx, name in conn.execute(sa.text(
            "SELECT idx, parent FROM incoming_area"
            " WHERE parent IS NOT NULL AND parent_id IS NULL ORDER BY idx")):
        errors.feature(by_index[idx], f"{zh}“{name}”不存在")
    placed = {}
    rows = conn.execute(sa.text(_CONTAINING.format(parent=parent)),
                        {"unusable": sorted(errors.unusable), "tolerance": OUTSIDE_TOLERANCE})
    hint = f"，无法按位置归属（可在“{column}”列中写明）"
    for row in rows.mappings():
        feature = by_index[row["idx"]]
        if row["home"] is None:
            errors.feature(feature, f"不在任何{zh}内{hint}")
        elif row["others"]:
            names = "与".join(f"“{n}”" for n in [row["home_name"], *row["others"]])
            errors.feature(feature, f"跨越{zh}{names}{hint}")
        elif row["outside"] > OUTSIDE_TOLERANCE:
            errors.feature(feature, f"有 {row['outside']:.0%} 的面积在{zh}“{row['home_name']}”之外{hint}")
        else:
            placed[row["idx"]] = row["home"]
    conn.execute(sa.text(
        "UPDATE incoming_area i SET parent_id = p.home"
        " FROM unnest(CAST(:idx AS int[]), CAST(:home AS int[])) p(idx, home) WHERE i.idx = p.idx"),
        {"idx": list(placed), "home": list(placed.values())})


# references ---------------------------------------------------------------------------

# Per kind: the key of a place (its name, unique in its table or in its community) and the
# stored row it replaces.
_KEY = {"district": "i.name", "subdistrict": "i.name", "community": "i.name",
        "grid": "i.parent_id, i.name", "compound": "i.parent_id, i.name"}
_STORED = {
    "district": "district x ON x.name = i.name",
    "subdistrict": "subdistrict x ON x.name = i.name",
    "community": "community x ON x.name = i.name",
    "grid": "grid x ON x.community_id = i.parent_id AND x.name = i.name",
    "compound": "compound x ON x.community_id = i.parent_id AND x.name = i.name",
}


def _lookup(kind):
    """Each placed input: already stored, the first feature with its key (duplicates in the
    file), and for compounds whether the grid named is in its community."""
    grid = ("i.grid IS NOT NULL AND g.id IS NULL" if kind == "compound" else "false") + " AS grid_missing"
    grid_join = ("LEFT JOIN grid g ON g.community_id = i.parent_id AND g.name = i.grid"
                 " LEFT JOIN community m ON m.id = i.parent_id" if kind == "compound" else "")
    community = "m.name" if kind == "compound" else "NULL"
    placed = " AND i.parent_id IS NOT NULL" if kind in PARENT else ""
    return f"""
        SELECT i.idx, x.id IS NOT NULL AS existing, {grid}, {community} AS community,
               min(i.idx) OVER (PARTITION BY {_KEY[kind]}) AS first_idx
          FROM incoming_area i LEFT JOIN {_STORED[kind]} {grid_join}
         WHERE i.name IS NOT NULL{placed}
         ORDER BY i.idx"""


# Re-importing a feature replaces its geometry and parent; attributes the file leaves empty
# keep their stored values.
_UPSERT = {
    "district": """
        INSERT INTO district (name, geom) SELECT name, ST_Multi(geom) FROM incoming_area
        ON CONFLICT (name) DO UPDATE SET geom = EXCLUDED.geom""",
    "subdistrict": """
        INSERT INTO subdistrict (district_id, name, geom)
        SELECT parent_id, name, ST_Multi(geom) FROM incoming_area
        ON CONFLICT (name) DO UPDATE SET geom = EXCLUDED.geom, district_id = EXCLUDED.district_id""",
    "community": """
        INSERT INTO community (subdistrict_id, name, geom)
        SELECT parent_id, name, ST_Multi(geom) FROM incoming_area
        ON CONFLICT (name) DO UPDATE SET geom = EXCLUDED.geom, subdistrict_id = EXCLUDED.subdistrict_id""",
    "grid": """
        INSERT INTO grid (community_id, name, leader_name, leader_phone, geom)
        SELECT parent_id, name, leader_name, leader_phone, ST_Multi(geom) FROM incoming_area
        ON CONFLICT (community_id, name) DO UPDATE SET
            geom = EXCLUDED.geom,
            leader_name = COALESCE(EXCLUDED.leader_name, grid.leader_name),
            leader_phone = COALESCE(EXCLUDED.leader_phone, grid.leader_phone)""",
    "compound": """
        INSERT INTO compound (community_id, grid_id, name, households, geom)
        SELECT i.parent_id, g.id, i.name, i.households, ST_Multi(i.geom)
          FROM incoming_area i
          LEFT JOIN grid g ON g.community_id = i.parent_id AND g.name = i.grid
        ON CONFLICT (community_id, name) DO UPDATE SET
            geom = EXCLUDED.geom,
            grid_id = COALESCE(EXCLUDED.grid_id, compound.grid_id),
            households = COALESCE(EXCLUDED.households, compound.households)""",
}


def _check_references(conn, kind, features, errors):
    """Report grids not in their compound's community and duplicates; return how many exist
    already."""
    by_index = {f.index: f for f in features}
    existing = 0
    for row in conn.execute(sa.text(_lookup(kind))).mappings():
        feature = by_index[row["idx"]]
        if row["grid_missing"]:
            errors.feature(feature, f"网格“{feature.grid}”不在社区“{row['community']}”中")
        if row["first_idx"] != row["idx"]:
            errors.feature(feature, f"与要素 {row['first_idx']} 重复（同名{KIND_ZH[kind]}）")
        existing += row["existing"]
    return existing
