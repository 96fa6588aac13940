"""The JSON API of the map: layers as GeoJSON (with ETag), point lookup, popup cards."""
import datetime as dt
import hashlib
import time

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from geo.bbox import BBoxError, parse_bbox
from layers import areas, buildings, compounds, features, hierarchy, issues, lookup, venues, version
from webmap import basemaps, extent, modes, validate, viewer

bp = Blueprint("api", __name__, url_prefix="/api")

# Buildings are only drawn at street level; a request must stay about that small.
BUILDINGS_MAX_SPAN = 0.05


def as_of_param():
    text = request.args.get("as_of")
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=text)) from None
    if day > issues.today():
        raise BadRequest(_("不能查看未来的日期：%(value)s", value=text))
    return day


def mode_param():
    mode = request.args.get("mode", "open")
    if mode not in modes.MODES:
        raise BadRequest(_("未知的着色模式：%(value)s（可选 %(modes)s）", value=mode, modes=", ".join(modes.MODES)))
    return mode


def bbox_param(max_span=None):
    try:
        if max_span is None:
            return parse_bbox(request.args.get("bbox"))
        return parse_bbox(request.args.get("bbox"), max_span=max_span)
    except BBoxError as exc:
        raise BadRequest(str(exc)) from None


def _geojson(layer, who):
    if layer == "communities":
        return areas.geojson(areas.communities(bbox_param()))
    if layer == "grids":
        return areas.geojson(areas.grids(bbox_param(), who.scope_params()))
    if layer == "compounds":
        mode, as_of, bbox = mode_param(), as_of_param(), bbox_param()
        style, legend = modes.style(mode, as_of, bbox)
        sql, params = compounds.query(mode, style, bbox, who.scope_params(), as_of)
        return features.feature_collection(sql, params, members={"legend": legend, "mode": mode})
    if layer == "issues":
        as_of, bbox = as_of_param(), bbox_param()
        return features.feature_collection(*issues.query(bbox, as_of, who.scope_params()))
    if layer == "venues":
        return features.feature_collection(*venues.venues(bbox_param()))
    if layer == "deputies":
        return features.feature_collection(*venues.stations(bbox_param()))
    if layer == "buildings":
        bbox = bbox_param(BUILDINGS_MAX_SPAN)
        if bbox is None:
            raise BadRequest(_("楼栋图层需要 bbox 参数"))
        return features.feature_collection(*buildings.query(bbox, who.scope_params()))
    abort(404)


LAYERS = ("communities", "grids", "compounds", "issues", "venues", "deputies", "buildings")


def etag_for(*parts):
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:20]


@bp.get("/layers/<layer>.geojson")
@validate.query(validate.Layer)
def layer_geojson(layer):
    if layer not in LAYERS:
        return jsonify(error=_("未知图层：%(value)s", value=layer)), 404
    who = viewer.current()
    # What the answer depends on: the versions of the communities in view (a change elsewhere
    # in the city leaves this tag alone), and the minute, since an open issue turns overdue as
    # time passes, not only when a row changes.
    stamp = (version.current() if layer in ("venues", "deputies")
             else version.of_area(bbox_param(BUILDINGS_MAX_SPAN if layer == "buildings" else None)))
    tag = etag_for(stamp,
                   layer, request.query_string.decode(), who.cache_key, str(get_locale()),
                   int(time.time() // 60), current_app.config.get("APP_VERSION", ""))
    if tag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{tag}"', "Cache-Control": "no-cache"})
    body = _geojson(layer, who)
    if request.args.get("crs") == "gcj02":
        body = basemaps.geojson_to_gcj02(body)
    return Response(body, mimetype="application/geo+json",
                    headers={"ETag": f'"{tag}"', "Cache-Control": "no-cache"})


def _coordinate(name, low, high):
    text = request.args.get(name)
    if text is None:
        raise BadRequest(_("缺少参数 %(name)s", name=name))
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(_("参数 %(name)s 不是数字：%(value)s", name=name, value=text)) from None
    if not low <= value <= high:
        raise BadRequest(_("参数 %(name)s 超出范围：%(value)s", name=name, value=text))
    return value


@bp.get("/lookup")
@validate.query(validate.Lookup)
def lookup_point():
    lon, lat = _coordinate("lon", -180, 180), _coordinate("lat", -90, 90)
    if request.args.get("crs") == "gcj02":  # a click on a Gaode basemap
        lon, lat = basemaps.point_from_gcj02(lon, lat)
    found = lookup.lookup(lon, lat, viewer.current().scope_params())
    if found is None:
        return jsonify(error=_("该位置不在中心路街道范围内"), lon=lon, lat=lat), 404
    return jsonify(found)


@bp.get("/compounds/<int:compound_id>")
@validate.query(validate.Map)
def compound_card(compound_id):
    card = compounds.card(compound_id, viewer.current().scope_params(), as_of_param())
    if card is None:
        return jsonify(error=_("没有这个楼院")), 404
    return jsonify(card)


HEAT_CELL_PX = 6


@bp.get("/heat")
@validate.query(validate.Heat)
def heat():
    """Open issues binned for the heat layer: cells of a few pixels at ``zoom`` in ``bbox``."""
    bbox = bbox_param()
    if bbox is None:
        raise BadRequest(_("热力图需要 bbox 参数"))
    try:
        zoom = int(request.args.get("zoom", "15"))
    except ValueError:
        raise BadRequest(_("参数 %(name)s 不是数字：%(value)s", name="zoom", value=request.args["zoom"])) from None
    if not 0 <= zoom <= 22:
        raise BadRequest(_("参数 %(name)s 超出范围：%(value)s", name="zoom", value=zoom))
    cell = 360 / 256 / 2 ** zoom * HEAT_CELL_PX
    if request.args.get("crs") == "gcj02":   # the view of a Gaode basemap, and its cells
        return jsonify(cells=basemaps.cells_to_gcj02(
            issues.heat_cells(basemaps.bbox_from_gcj02(bbox), cell, as_of_param())))
    return jsonify(cells=issues.heat_cells(bbox, cell, as_of_param()))


@bp.get("/legend")
@validate.query(validate.Layer)
def legend():
    """The legend of a color mode (for maps drawn from tiles); ``bbox`` bounds a replayed date."""
    mode, as_of = mode_param(), as_of_param()
    _style, entries = modes.style(mode, as_of, bbox_param() if as_of else None)
    return jsonify(mode=mode, legend=entries)


@bp.get("/areas")
@validate.query(validate.AreaOnly)
def area_tree():
    """The extent (``?area=``, else the viewer's own) with its breadcrumb and its children,
    each with bounds: what the map's drill-down city → district → subdistrict → community shows."""
    here = extent.current()
    trail = [{"level": level, "id": id, "name": name, "area": hierarchy.Area(level, id).key}
             for level, id, name in here.trail]
    children = [] if here.level == "community" else [
        {"level": c["level"], "id": c["id"], "name": c["name"], "area": hierarchy.Area(c["level"], c["id"]).key,
         "bounds": [[c["miny"], c["minx"]], [c["maxy"], c["maxx"]]]} for c in hierarchy.children(here.area)]
    minx, miny, maxx, maxy = hierarchy.bounds(here.area)
    return jsonify(trail=trail, children=children, bounds=[[miny, minx], [maxy, maxx]])
