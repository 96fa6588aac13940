"""Reading an area file for ``data.importers.areas``: the layer, the text encoding (GBK
found behind Latin-1 mojibake), the attributes of each feature, and its coordinates
reprojected to WGS84. Nothing here touches the database; problems are collected per
feature in ``Errors`` so that a file is refused with every reason at once.
"""
import codecs
import re
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS
from tqdm import tqdm

from data.importers import ImportFailed
from data.importers.archive import check_zip
from geo import crs as geo_crs
from layers.phones import normalise_phone

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


class Errors:
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


def parse_crs_option(value):
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


def read_file(path, layer, encoding):
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


def features_of(read, kind, errors, progress):
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

def reproject(declared, features, source_crs, errors):
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
