"""Basemaps (``BASEMAP``): ``none`` (default, works offline), ``osm``, ``tianditu`` (with
``TIANDITU_KEY``), ``gaode``, or any XYZ template such as an intranet tile server.

Gaode tiles are in GCJ-02, which is not an EPSG CRS: on that basemap every overlay is shifted
from WGS84 to GCJ-02 as it is drawn, and clicked points are shifted back before lookup.
"""
import json
import re

import folium
import numpy as np
import shapely

from geo.bbox import BBox
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02

TEMPLATES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", None),
    "tianditu": ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                 "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                 "&TILECOL={x}&tk={key}", "© 天地图", "01234567"),
    "gaode": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
              "&x={x}&y={y}&z={z}", "© 高德地图", "1234"),
}


def is_gcj02(basemap):
    return basemap == "gaode"


def add(m, basemap, key=None):
    """Add the configured tile layer to ``m`` (nothing for ``none``)."""
    if basemap in (None, "", "none"):
        return
    url, attribution, subdomains = TEMPLATES.get(basemap, (basemap, "底图", None))
    if "{key}" in url:
        url = url.replace("{key}", key or "")
    options = {"subdomains": subdomains} if subdomains else {}
    folium.TileLayer(url, attr=attribution, name="底图", control=False, max_zoom=19, **options).add_to(m)


class _Identity:
    def __call__(self, gdf):
        return gdf

    @staticmethod
    def point(lat, lon):
        return lat, lon


class _ToGcj02:
    """Shift GeoDataFrames and points from WGS84 to GCJ-02 for drawing on a Gaode basemap."""

    def __call__(self, gdf):
        shifted = gdf.copy()
        shifted["geom"] = shapely.transform(
            gdf.geometry.values, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
        return shifted.set_geometry("geom")

    @staticmethod
    def point(lat, lon):
        glon, glat = wgs84_to_gcj02(lon, lat)
        return float(glat), float(glon)


def shifter(basemap):
    return _ToGcj02() if is_gcj02(basemap) else _Identity()


def _shift_coordinates(coords):
    array = np.asarray(coords, dtype=float)
    if array.ndim == 1:
        lon, lat = wgs84_to_gcj02(array[0], array[1])
        return [round(float(lon), 6), round(float(lat), 6)]
    if array.ndim == 2:
        lon, lat = wgs84_to_gcj02(array[:, 0], array[:, 1])
        return np.round(np.column_stack([lon, lat]), 6).tolist()
    return [_shift_coordinates(part) for part in coords]


def geojson_to_gcj02(text):
    """A FeatureCollection's coordinates shifted to GCJ-02 (for the layer API's ``crs=gcj02``)."""
    collection = json.loads(text)
    for feature in collection["features"]:
        geometry = feature["geometry"]
        geometry["coordinates"] = _shift_coordinates(geometry["coordinates"])
    return json.dumps(collection, ensure_ascii=False)


def point_from_gcj02(lon, lat):
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    return float(wlon), float(wlat)


def bbox_from_gcj02(bbox):
    """The WGS84 box of a view drawn on a Gaode basemap (its corners shifted back)."""
    minx, miny = point_from_gcj02(bbox.minx, bbox.miny)
    maxx, maxy = point_from_gcj02(bbox.maxx, bbox.maxy)
    return BBox(minx, miny, maxx, maxy)


def cells_to_gcj02(cells):
    """[lat, lon, count] cells shifted to GCJ-02, for a Gaode basemap."""
    if not cells:
        return cells
    lons, lats = wgs84_to_gcj02([c[1] for c in cells], [c[0] for c in cells])
    return [[round(float(lat), 6), round(float(lon), 6), c[2]] for lat, lon, c in zip(lats, lons, cells)]


def tile_origins(basemap):
    """The origins the basemap's tiles come from (for the page's img-src): one per subdomain
    of a ``{s}`` template (Leaflet's a, b, c unless the template says otherwise), nothing for
    ``none`` or a template on the app's own server."""
    if basemap in (None, "", "none"):
        return []
    url, _attribution, subdomains = TEMPLATES.get(basemap, (basemap, None, None))
    match = re.match(r"(https?)://([A-Za-z0-9.:{}\[\]-]+)(?:[/?#]|$)", url)
    if not match:
        return []
    scheme, host = match.groups()
    hosts = [host.replace("{s}", s) for s in (subdomains or "abc")] if "{s}" in host else [host]
    return [f"{scheme}://{h}" for h in dict.fromkeys(hosts)]
