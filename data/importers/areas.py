"""Import district, subdistrict, community, grid or compound polygons from GeoJSON,
GeoPackage or a zipped Shapefile.

Every feature is read, reprojected to WGS84 and checked (attributes here, geometry and
references in PostGIS, in the one transaction that also writes); any error refuses the
whole file and nothing is written. Each feature's parent (the district of a subdistrict, the
community of a compound ...) is named in a column of the file, or else is the one that
contains the feature: surveyed outlines often carry only names.
"""
import codecs
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.raw
import shapely
import sqlalchemy as sa
from pyproj import CRS
from tqdm import tqdm

from data.importers import ImportFailed
from data.importers.archive import check_zip
from data.importers.contacts import normalise_phone
from geo import crs as geo_crs
from layers import db, search, state

SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp"}
KIND_ZH = {"district": "区", "subdistrict": "街道", "community": "社区", "grid": "网格",
           "compound": "楼院"}
PARENT = {"subdistrict": "district", "community": "subdistrict", "grid": "community",
          "compound": "community"}
# Accepted column names, Chinese first.
COLUMNS = {
    "name": ("名称", "name"),
    "district": ("区", "district"),
    "subdistrict": ("街道", "subdistrict"),
    "community": ("社区", "community"),
    "grid": ("网格", "grid"),
    "households": ("户数", "households"),
    "leader_name": ("网格长", "leader_name"),
    "leader_phone": ("网格长电话", "leader_phone"),
}
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
FALLBACK_ENCODING = "GBK"

_LATIN1_SUPPLEMENT = re.compile("[\u0080-\u00ff]")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass
class Feature:
    """One input feature: 1-based position in the file, attributes, geometry (WGS84 once
    reprojected)."""
    index: int
    name: str | None
    parent: str | None = None       # named in the file; else the containing one
    grid: str | None = None
    households: int | None = None
    leader_name: str | None = None
    leader_phone: str | None = None
    geometry: object = None


class _Errors:
    """Error messages keyed by feature index (0 for the whole file), reported in file order."""

    def __init__(self):
        self._items = []
        self.unusable = set()   # features whose geometry cannot be placed

    def file(self, message):
        self._items.append((0, message))

    def feature(self, feature, message, geometry=False):
        label = f"要素 {feature.index}"
        if feature.name:
            label += f"（名称：{feature.name}）"
        self._items.append((feature.index, f"{label}：{message}"))
        if geometry:
            self.unusable.add(feature.index)

    def raise_any(self):
        if self._items:
            raise ImportFailed(m for _, m in sorted(self._items, key=lambda item: item[0]))


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
    source_crs = _parse_crs_option(crs)
    read = _read(Path(path), layer, encoding)
    errors = _Errors()
    features = _features(read, kind, errors, progress)
    _reproject(read.crs, features, source_crs, errors)
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


def _parse_crs_option(value):
    try:
        return geo_crs.parse_crs(value)
    except ValueError:
        message = f"--crs {value} 无效：应为 EPSG 代码（如 4547、EPSG:4490）或 gcj02"
        raise ImportFailed([message]) from None


# reading ------------------------------------------------------------------------------

@dataclass
class _Layer:
    """One layer as read: its declared CRS, attribute columns and geometry as WKB."""
    crs: str | None
    columns: dict
    wkb: np.ndarray | None

    def texts(self):
        """Every column name and string value."""
        texts = list(self.columns)
        for values in self.columns.values():
            texts += [v for v in values if isinstance(v, str)]
        return texts


def _read(path, layer, encoding):
    """Read the layer, text decoded.

    A Shapefile without .cpg (and no code page in the .dbf header) is decoded by GDAL as
    ISO-8859-1, which turns GBK text into Latin-1 mojibake; that is recognised and the
    file read again as GBK. A forced ``encoding`` is taken as it is.
    """
    if path.suffix.lower() not in SUFFIXES:
        raise ImportFailed([f"不支持的文件类型 {path.suffix}：应为 GeoJSON、GeoPackage 或 "
                            "zip 压缩的 Shapefile"])
    if path.suffix.lower() == ".zip":
        check_zip(path)
    layer = _layer_name(path, layer)
    if encoding is not None:
        return _read_layer(path, layer, encoding)
    read = _read_layer(path, layer, None)
    if _is_gbk_mojibake(read.texts()):
        read = _read_layer(path, layer, FALLBACK_ENCODING)
    return read


def _layer_name(path, layer):
    try:
        names = [name for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise ImportFailed([f"无法读取文件：{exc}"]) from None
    if layer is None:
        if len(names) > 1:
            raise ImportFailed([f"文件中有多个图层（{'、'.join(names)}），请用 --layer 指定"])
        return names[0] if names else None
    if layer not in names:
        raise ImportFailed([f"图层“{layer}”不存在；文件中的图层：{'、'.join(names)}"])
    return layer


def _read_layer(path, layer, encoding):
    """Geometry comes as WKB and is parsed per feature later, so that one unreadable
    geometry is reported against its feature instead of failing the whole file."""
    try:
        # GDAL's iconv does not know every alias Python does ("latin-1") and then hands the
        # bytes over undecoded; Python's canonical name is one both know.
        codec = encoding and codecs.lookup(encoding).name
    except LookupError:
        raise ImportFailed([f"未知编码 {encoding}"]) from None
    with warnings.catch_warnings():
        # GDAL warns about an unclosed ring and passes it through; it is reported per feature.
        warnings.filterwarnings("ignore", message="Non closed ring detected")
        try:
            meta, _, wkb, fields = pyogrio.raw.read(path, layer=layer, encoding=codec,
                                                    force_2d=True)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise ImportFailed([f"无法读取文件：{exc}"]) from None
        except UnicodeDecodeError as exc:
            raise ImportFailed([f"无法按编码 {encoding} 解码文件中的文本（{exc.reason}），"
                                "请检查 --encoding（旧 Shapefile 多为 GBK）"]) from None
    return _Layer(crs=meta["crs"], columns=dict(zip(meta["fields"], fields)), wkb=wkb)


def _is_mojibake(text):
    """True for text decoded with the wrong code page: Latin-1 letters and no Chinese, or
    the Unicode replacement character."""
    return "\ufffd" in text or (bool(_LATIN1_SUPPLEMENT.search(text))
                                and not _CJK.search(text))


def _is_gbk_mojibake(texts):
    garbled = [t for t in texts if _is_mojibake(t)]
    if not garbled:
        return False
    try:
        for text in garbled:
            text.encode("latin-1").decode(FALLBACK_ENCODING)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


# attributes ---------------------------------------------------------------------------

def _column(read, key):
    return next((c for c in COLUMNS[key] if c in read.columns), None)


def _text(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():   # a phone number in a numeric column
        value = int(value)
    return str(value).strip() or None


def _features(read, kind, errors, progress):
    """Features with their attributes and parsed geometry; bad ones are reported."""
    garbled = [c for c in read.columns if _is_mojibake(c)]
    if garbled:
        errors.file(f"列名是乱码（{'、'.join(garbled)}），文本编码不对？")
    found = {key: _column(read, key) for key in COLUMNS}
    if found["name"] is None:
        errors.file("缺少列：" + " 或 ".join(COLUMNS["name"]))
    if read.wkb is None:
        errors.file("文件没有几何")
        errors.raise_any()

    def value(key, i):
        return _text(read.columns[found[key]][i]) if found[key] else None

    features = []
    for i in tqdm(range(len(read.wkb)), desc="检查要素", unit="个", disable=not progress):
        feature = Feature(index=i + 1, name=value("name", i))
        if found["name"] and feature.name is None:
            errors.feature(feature, "缺少名称")
        if kind in PARENT:
            feature.parent = value(PARENT[kind], i)
        if kind == "compound":
            feature.grid = value("grid", i)
            feature.households = _households(feature, value("households", i), errors)
        if kind == "grid":
            feature.leader_name = value("leader_name", i)
            feature.leader_phone = _leader_phone(feature, value("leader_phone", i), errors)
        for column, values in read.columns.items():
            if isinstance(values[i], str) and _is_mojibake(values[i]):
                errors.feature(feature, f"{column}“{values[i]}”是乱码，文本编码不对？")
        feature.geometry = _geometry(feature, read.wkb[i], errors)
        features.append(feature)
    return features


def _households(feature, text, errors):
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number < 0 or not number.is_integer():
        errors.feature(feature, f"户数“{text}”不是非负整数")
        return None
    return int(number)


def _leader_phone(feature, text, errors):
    if text is None:
        return None
    phone = normalise_phone(text)
    if phone is None:
        errors.feature(feature, f"网格长电话“{text}”格式不对（手机号 11 位，或座机如 0371-12345678）")
    return phone


def _geometry(feature, wkb, errors):
    if wkb is None:
        errors.feature(feature, "缺少几何", geometry=True)
        return None
    try:
        return shapely.from_wkb(wkb)
    except shapely.errors.GEOSException as exc:
        # GDAL hands an unclosed GeoJSON ring through as it is; GEOS refuses it here.
        if "closed linestring" in str(exc):
            errors.feature(feature, "环未闭合（首尾坐标不一致）", geometry=True)
        else:
            errors.feature(feature, f"几何无法解析：{exc}", geometry=True)
        return None


# coordinates --------------------------------------------------------------------------

def _reproject(declared, features, source_crs, errors):
    """Put every geometry in WGS84 lon/lat, refusing what then lies outside China."""
    geometries = gpd.GeoSeries([f.geometry for f in features], crs=None)
    label, geometries = _to_wgs84(declared, source_crs, geometries, errors)
    for feature, geometry in zip(features, geometries):
        feature.geometry = geometry
        if geometry is None or geometry.is_empty:
            continue
        minx, miny, maxx, maxy = geometry.bounds
        x, y = np.array([minx, maxx]), np.array([miny, maxy])
        if geo_crs.in_china(x, y).all():
            continue
        centre = f"（{(minx + maxx) / 2:.6f}, {(miny + maxy) / 2:.6f}）"
        if geo_crs.looks_swapped(x, y).all():
            errors.feature(feature, f"经纬度顺序颠倒：坐标{centre}的 x 像纬度、y 像经度，"
                                    "应为 经度, 纬度", geometry=True)
        else:
            errors.feature(feature, f"按坐标系 {label}转换后位于{centre}，不在中国境内"
                                    "——坐标系是否有误？（wrong CRS?）", geometry=True)


def _to_wgs84(declared, source_crs, geometries, errors):
    """Return a label for the CRS used and the geometries in EPSG:4326."""
    if source_crs == geo_crs.GCJ02:
        return "gcj02（--crs）", geo_crs.gcj02_geometries_to_wgs84(np.asarray(geometries))
    if source_crs is not None:
        label, crs = f"{source_crs}（--crs）", source_crs
    elif declared is not None:
        label, crs = f"{_crs_name(declared)}（文件声明）", declared
    else:
        _require_lonlat(geometries, errors)
        label, crs = "EPSG:4326（未声明，按经纬度）", "EPSG:4326"
    return label, geometries.set_crs(crs, allow_override=True).to_crs("EPSG:4326")


def _crs_name(crs):
    epsg = CRS(crs).to_epsg()
    return f"EPSG:{epsg}" if epsg else CRS(crs).name


def _require_lonlat(geometries, errors):
    """A file without CRS is read as lon/lat only when its coordinates look like lon/lat
    in China (or swapped, which is reported per feature)."""
    minx, miny, maxx, maxy = geometries.total_bounds
    if np.isnan(minx):
        return
    x, y = np.array([minx, maxx]), np.array([miny, maxy])
    if not (geo_crs.in_china(x, y).all() or geo_crs.looks_swapped(x, y).all()):
        errors.file(f"文件未声明坐标系（Shapefile 缺少 .prj？），且坐标范围 "
                    f"x {minx:.0f}～{maxx:.0f}、y {miny:.0f}～{maxy:.0f} "
                    "不像中国境内的经纬度；请用 --crs 指定，"
                    "如 --crs 4547（CGCS2000 3 度带 114°E）")
        errors.raise_any()


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
