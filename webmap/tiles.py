"""`/tiles/…`: Mapbox Vector Tiles of the map's layers, and a TileJSON document for each.

Tiles hold no personal data, so an intranet proxy may keep one for a minute. The ETag says
what a tile depends on: the versions of the communities under it (a change in one community
leaves the tiles elsewhere in the city valid), the colors of the mode, and the minute where
time alone turns issues overdue. The tiles themselves carry codes, not words, so the language
is no part of it. Tiles are kept gzipped in a bounded in-process cache under that tag.
"""
import gzip
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from geo import tiles as tilemath
from geo.bbox import BBox
from geo.crs import GCJ02, wgs84_to_gcj02
from layers import tiles, version
from webmap import api, modes, validate

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

MVT_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_BYTES = 64 * 2 ** 20
HEADERS = {"Cache-Control": "public, max-age=60", "Vary": "Accept-Encoding"}


class TileCache:
    """Gzipped tiles by ETag, the least recently used dropped first, at most ``limit`` bytes
    (an entry costs its bytes and ``OVERHEAD`` for its key, so empty tiles count too)."""

    OVERHEAD = 128

    def __init__(self, limit):
        self.limit, self.size = limit, 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def _cost(self, data):
        return len(data) + self.OVERHEAD

    def put(self, key, data):
        if self._cost(data) > self.limit:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size += self._cost(data) - (self._cost(old) if old is not None else 0)
            self._items[key] = data
            while self.size > self.limit:
                _key, dropped = self._items.popitem(last=False)
                self.size -= self._cost(dropped)


@bp.record_once
def _make_cache(state):
    state.app.extensions["gridmap_tiles"] = TileCache(state.app.config.get("TILE_CACHE_BYTES", CACHE_BYTES))


@bp.errorhandler(HTTPException)
def _json_error(exc):
    return jsonify(error=exc.description), exc.code


def layer_names():
    return {"communities": _("社区"), "grids": _("网格"), "compounds": _("楼院"), "buildings": _("楼栋"),
            "issues": _("诉求")}


def _layers(path):
    """The layers of a tile path: one name, or several joined by commas (``compounds,issues``:
    one request and one canvas per tile for both)."""
    names = path.split(",")
    for name in names:
        if name not in tiles.LAYERS:
            raise NotFound(_("未知图层：%(value)s", value=name))
    if len(set(names)) != len(names):
        raise NotFound(_("未知图层：%(value)s", value=path))
    return names


def _tile_numbers(z, x, y):
    numbers = {}
    for name, text in (("z", z), ("x", x), ("y", y)):
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise BadRequest(_("瓦片坐标 %(name)s 应为非负整数：%(value)s", name=name, value=text))
        numbers[name] = int(text)
    z = numbers["z"]
    if z > tilemath.MAX_ZOOM:
        raise BadRequest(_("缩放级别 z 应在 0–%(max)s 之间：%(value)s", max=tilemath.MAX_ZOOM, value=z))
    for name in ("x", "y"):
        if numbers[name] >= 2 ** z:
            raise BadRequest(_("瓦片坐标 %(name)s 在 %(z)s 级应在 0–%(max)s 之间：%(value)s",
                               name=name, z=z, max=2 ** z - 1, value=numbers[name]))
    return z, numbers["x"], numbers["y"]


def _options(layers):
    """The query parameters that shape the tiles of ``layers``, checked (400 naming the
    field), as text for the cache key and the TileJSON URL; and the compound layer's parsed
    ``as_of`` and ``style`` (layers.compounds.query)."""
    if "issues" in layers and request.args.get("as_of"):
        raise BadRequest(_("诉求瓦片只显示当前状态，不接受参数 as_of"))
    if "compounds" not in layers:
        return {}, None, None
    mode, as_of, extent = api.mode_param(), api.as_of_param(), None
    options = {"mode": mode}
    if as_of:
        options["as_of"] = as_of.isoformat()
        # A replayed date's open-issue classes are computed over an extent the page names
        # (its view), not per tile: adjacent tiles must share them.
        if mode == "open":
            extent = api.bbox_param()
            if extent is None:
                raise BadRequest(_("按日期回放未办结诉求着色时需要 bbox 参数（分级所用的范围）"))
            options["bbox"] = request.args["bbox"]
    return options, as_of, modes.style(mode, as_of, extent)[0]


def _time_dependent(layers, options):
    if "compounds" in layers and options["mode"] == "sla" and "as_of" not in options:
        return True
    return any(tiles.LAYERS[layer].time_dependent for layer in layers)


def _shift(z, x, y):
    """(dlon, dlat) to draw tile z/x/y on a GCJ-02 basemap (``?crs=gcj02``), else (0, 0): the
    GCJ-02 offset at the tile's centre."""
    crs = request.args.get("crs")
    if not crs:
        return 0.0, 0.0
    if crs != GCJ02:
        raise BadRequest(_("参数 crs 只能是 gcj02：%(value)s", value=crs))
    box = tilemath.bounds(z, x, y)
    lon, lat = (box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2
    shifted_lon, shifted_lat = wgs84_to_gcj02(lon, lat)
    return float(shifted_lon) - lon, float(shifted_lat) - lat


def _etag(layers, z, x, y, box, options, style, shift):
    parts = [",".join(layers), z, x, y, json.dumps(options, sort_keys=True), json.dumps(style, sort_keys=True), shift,
             version.of_area(box), current_app.config.get("APP_VERSION", "")]
    if _time_dependent(layers, options):
        parts.append(int(time.time() // 60))
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:24]


@bp.get("/<layer>/<z>/<x>/<y>.pbf")
@validate.query(validate.Tile)
def tile(layer, z, x, y):
    layers = _layers(layer)
    z, x, y = _tile_numbers(z, x, y)
    options, as_of, style = _options(layers)
    shift = _shift(z, x, y)
    box = tilemath.bounds(z, x, y, tiles.MARGIN)
    if shift != (0.0, 0.0):   # the stored (WGS84) box the shifted tile shows
        box = BBox(box.minx - shift[0], box.miny - shift[1], box.maxx - shift[0], box.maxy - shift[1])
    tag = _etag(layers, z, x, y, box, options, style, shift)
    gzipped = request.accept_encodings["gzip"] > 0
    etag = tag + ("-gz" if gzipped else "")  # the two encodings are different bytes
    headers = dict(HEADERS, ETag=f'"{etag}"')
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    cache = current_app.extensions["gridmap_tiles"]
    data = cache.get(tag)
    if data is None:
        raw = tiles.mvt(layers, z, x, y, mode=options.get("mode"), style=style,
                        as_of=as_of, box=box, shift=shift)
        data = gzip.compress(raw, compresslevel=6, mtime=0) if raw else b""
        cache.put(tag, data)
    if not data:  # an empty tile is always a 204
        return Response(status=204, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    else:
        data = gzip.decompress(data)
    return Response(data, mimetype=MVT_TYPE, headers=headers)


WORLD = [-180.0, -85.0511, 180.0, 85.0511]


@bp.get("/<layer>.json")
def tilejson(layer):
    """TileJSON 3.0.0, so QGIS, MapLibre or Leaflet.VectorGrid can add the layer by URL."""
    layers = _layers(layer)
    options = _options(layers)[0]
    url = f"{request.host_url}tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"
    if options:
        url += "?" + urlencode(options)
    box, sample = tiles.extent()
    bounds = list(box) if box else WORLD
    names = layer_names()
    minzoom = min(tiles.LAYERS[name].minzoom for name in layers)
    doc = {
        "tilejson": "3.0.0", "name": "、".join(names[name] for name in layers), "scheme": "xyz",
        "tiles": [url], "minzoom": minzoom, "maxzoom": tilemath.MAX_ZOOM, "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(minzoom, 14)],
        "vector_layers": [{"id": name, "description": names[name], "fields": tiles.LAYERS[name].fields,
                           "minzoom": tiles.LAYERS[name].minzoom, "maxzoom": tilemath.MAX_ZOOM}
                          for name in layers],
    }
    if sample:
        doc["attribution"] = _("示例数据")
    if "mode" in options:
        doc["description"] = modes.mode_names()[options["mode"]]
    return jsonify(doc)
