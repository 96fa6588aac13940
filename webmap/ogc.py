"""OGC API – Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS by reference) at
``/ogc``, for QGIS, ArcGIS, GDAL and OWSLib.

The protocol lives here (parameters, links, paging, conformance, errors); each collection is a
provider in layers/ogc.py that builds its page of features in PostGIS. Personal data follows
the viewer's scope as on the map (a signed-in session; the public sees masked names only).
Errors are JSON ``{"code", "description", "status"}`` in the user's language.
"""
import datetime as dt
import gzip
import json
import math

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, Unauthorized

from layers import areas, ogc, users
from webmap import access_log, viewer
from webmap.i18n import html_lang
from webmap.ogc_openapi import document

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

TITLES = {"districts": lazy_gettext("区"), "subdistricts": lazy_gettext("街道"),
          "communities": lazy_gettext("社区"), "grids": lazy_gettext("网格"),
          "compounds": lazy_gettext("楼院"), "buildings": lazy_gettext("楼栋"),
          "venues": lazy_gettext("协商议事场所"), "issues": lazy_gettext("诉求")}

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
GEOJSON, JSON, HTML = "application/geo+json", "application/json", "text/html"
SCHEMA = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
BEIJING = dt.timezone(dt.timedelta(hours=8))
COMMON = {"f", "lang"}
ITEMS_PARAMS = COMMON | {"limit", "offset", "after", "before", "bbox", "bbox-crs", "crs", "datetime"}


@bp.errorhandler(HTTPException)
def _error(exc):
    body = {"code": exc.name.replace(" ", ""), "description": exc.description, "status": exc.code}
    return Response(json.dumps(body, ensure_ascii=False), exc.code, mimetype=JSON)


GZIP_ABOVE = 16_384


@bp.after_request
def _vary_and_compress(response):
    # The format follows Accept and the scope follows the session or key: caches must keep them
    # apart. A page of features is ~0.4 KB a feature: gzip (level 1, ~2 ms for 1,000 features)
    # makes it a seventh, which a GIS client on an intranet feels more than the CPU.
    response.vary.update(("Accept", "Cookie", "Authorization", "X-API-Key", "Accept-Encoding"))
    if (response.status_code == 200 and not response.direct_passthrough and "Content-Encoding" not in response.headers
            and request.accept_encodings["gzip"] > 0 and response.content_length
            and response.content_length > GZIP_ABOVE):
        response.set_data(gzip.compress(response.get_data(), compresslevel=1, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    return response


def _html_wanted():
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise BadRequest(_("参数 f 只能是 json 或 html：%(value)s", value=f))
        return f == "html"
    return request.accept_mimetypes.best_match([JSON, GEOJSON, HTML], default=JSON) == HTML


def _known(allowed):
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise BadRequest(_("不支持的参数：%(name)s", name=", ".join(unknown)))


def _url(endpoint, **args):
    return url_for(endpoint, _external=True, **args)


def _self_links(endpoint, json_type=JSON, **args):
    """The resource's links as JSON and as HTML: ``self`` the format served, ``alternate`` the other."""
    here = {k: v for k, v in request.args.items() if k != "f"}
    formats = [(json_type, "json", _("本页 JSON")), (HTML, "html", _("本页 HTML"))]
    html = _html_wanted()
    return [{"href": _url(endpoint, **args, **here, f=f), "rel": "self" if (f == "html") == html else "alternate",
             "type": mime, "title": title} for mime, f, title in formats]


def _respond(doc, template_title, mimetype=JSON, headers=None):
    if _html_wanted():
        return Response(render_template("ogc.html", doc=doc, title=template_title), mimetype=HTML,
                        headers=headers)
    return Response(json.dumps(doc, ensure_ascii=False, default=str), mimetype=mimetype, headers=headers)


def _scope():
    """The viewer's scope parameters, with the language names are given in (``lang``). An API key (``X-API-Key`` or ``Authorization: Bearer``)
    must be a valid one, and reads as its area (``apikeys add --area``): in full inside it,
    masked outside, public fields only without one. Without a key, the session's viewer."""
    bearer = request.headers.get("Authorization", "")
    key = request.headers.get("X-API-Key") or (bearer[7:].strip() if bearer.lower().startswith("bearer ") else None)
    lang = {"lang": "en" if html_lang() == "en" else "zh"}
    if key is None:
        return viewer.current().scope_params() | lang
    account = users.account_for_api_key(key)
    if account is None:
        raise Unauthorized(_("API key 无效或已停用"))
    access_log.for_api_key(account.name, account.role)
    return viewer.of_account(account).scope_params() | lang


def _collection(collection_id):
    if collection_id not in ogc.COLLECTIONS:
        raise NotFound(_("没有这个集合：%(name)s", name=collection_id))
    return ogc.COLLECTIONS[collection_id]


@bp.get("/", strict_slashes=False)
def landing():
    _known(COMMON)
    doc = {"title": _("中心路街道 彩色动态图"),
           "description": _("网格治理图层：区、街道、社区、网格、楼院、楼栋、议事场所与诉求（OGC API – Features）"),
           "links": _self_links("ogc.landing") + [
               {"href": _url("ogc.api"), "rel": "service-desc", "type": OPENAPI, "title": "OpenAPI 3.0"},
               {"href": _url("ogc.conformance"), "rel": "conformance", "type": JSON,
                "title": _("符合的标准")},
               {"href": _url("ogc.collections"), "rel": "data", "type": JSON, "title": _("集合")}]}
    return _respond(doc, doc["title"])


@bp.get("/conformance")
def conformance():
    _known(COMMON)
    return _respond({"conformsTo": CONFORMANCE, "links": _self_links("ogc.conformance")}, _("符合的标准"))


@bp.get("/api")
def api():
    _known(COMMON)
    return Response(json.dumps(document(request.host_url.rstrip("/"), list(ogc.COLLECTIONS), list(ogc.CRS)),
                               ensure_ascii=False), mimetype=OPENAPI)


def _describe(collection):
    extent = areas.extent()["bounds"]
    (south, west), (north, east) = extent
    c = collection.id
    doc = {"id": c, "title": str(TITLES[c]), "itemType": "feature",
           "extent": {"spatial": {"bbox": [[west, south, east, north]], "crs": ogc.CRS84}},
           "crs": list(ogc.CRS), "storageCrs": ogc.CRS84,
           "links": [{"href": _url("ogc.collection", collection_id=c), "rel": "self", "type": JSON,
                      "title": str(TITLES[c])},
                     {"href": _url("ogc.collection", collection_id=c, f="html"), "rel": "alternate",
                      "type": HTML, "title": str(TITLES[c])},
                     {"href": _url("ogc.items", collection_id=c), "rel": "items", "type": GEOJSON,
                      "title": _("要素 GeoJSON")},
                     {"href": _url("ogc.items", collection_id=c, f="html"), "rel": "items", "type": HTML,
                      "title": _("要素 HTML")}]}
    if collection.queryables:
        doc["links"].append({"href": _url("ogc.queryables", collection_id=c), "rel": QUERYABLES_REL,
                             "type": SCHEMA, "title": _("可筛选的属性")})
    if collection.tiles:
        doc["links"].append({"href": _url("tiles.tilejson", layer=collection.tiles), "rel": "tiles",
                             "type": JSON, "title": _("矢量瓦片 (TileJSON)")})
    interval = ogc.temporal_extent(collection)
    if interval is not None:
        doc["extent"]["temporal"] = {"interval": [interval],
                                     "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return doc


@bp.get("/collections")
def collections():
    _known(COMMON)
    docs = [_describe(c) for c in ogc.COLLECTIONS.values()]
    return _respond({"links": _self_links("ogc.collections"), "collections": docs, "crs": list(ogc.CRS)},
                    _("集合"))


@bp.get("/collections/<collection_id>")
def collection(collection_id):
    c = _collection(collection_id)
    _known(COMMON)
    doc = _describe(c)
    return _respond(doc, doc["title"])


QUERYABLE_TITLES = {"stage": lazy_gettext("阶段"), "category": lazy_gettext("类别"),
                    "community": lazy_gettext("社区"), "grid": lazy_gettext("网格"),
                    "compound": lazy_gettext("楼院")}


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id):
    """The properties ``items`` filters on, as a JSON Schema (Part 3): each takes one value or
    several, comma-separated, and matches the property exactly."""
    c = _collection(collection_id)
    _known(COMMON)
    codes = ogc.codes()
    properties = {}
    for name, kind in c.queryables.items():
        prop = {"title": str(QUERYABLE_TITLES[name]), "type": kind}
        if name in codes:
            prop["enum"] = codes[name]
        properties[name] = prop
    doc = {"$schema": "https://json-schema.org/draft/2019-09/schema",
           "$id": _url("ogc.queryables", collection_id=c.id), "type": "object",
           "title": str(TITLES[c.id]), "properties": properties, "additionalProperties": False,
           "links": _self_links("ogc.queryables", SCHEMA, collection_id=c.id)}
    return _respond(doc, str(TITLES[c.id]), mimetype=SCHEMA)


def _int(name, default, least, most=None):
    text = request.args.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or len(text.strip()) > 9 or int(text) < least:
        raise BadRequest(_("参数 %(name)s 应为不小于 %(least)s 的整数：%(value)s", name=name, least=least, value=text))
    return min(int(text), most) if most else int(text)


def _crs(name):
    text = request.args.get(name, ogc.CRS84)
    if text.startswith("[") and text.endswith("]"):  # a safe CURIE, [EPSG:4490]
        text = text[1:-1]
    if text.upper().startswith("EPSG:"):
        text = "http://www.opengis.net/def/crs/EPSG/0/" + text[5:]
    if text not in ogc.CRS:
        raise BadRequest(_("参数 %(name)s 不支持该坐标系：%(value)s（可选 %(choices)s）",
                           name=name, value=text, choices=", ".join(ogc.CRS)))
    return text


def _bbox():
    text = request.args.get("bbox")
    crs = _crs("bbox-crs")
    if text is None:
        return None
    try:
        numbers = [float(p) for p in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 6:  # with heights: minx,miny,minz,maxx,maxy,maxz
        numbers = numbers[0:2] + numbers[3:5]
    if len(numbers) != 4 or not all(map(math.isfinite, numbers)):
        raise BadRequest(_("参数 bbox 应为 4 个数（左下角、右上角）：%(value)s", value=text))
    srid, flip, _decimals = ogc.CRS[crs]
    a, b, c, d = numbers
    minx, miny, maxx, maxy = (b, a, d, c) if flip else (a, b, c, d)
    if minx > maxx or miny > maxy:
        raise BadRequest(_("参数 bbox 的最小值大于最大值：%(value)s", value=text))
    if srid != 4547 and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadRequest(_("参数 bbox 超出经纬度范围：%(value)s", value=text))
    # Gauss-Kruger metres (easting with no zone prefix): PROJ cannot take a box far outside.
    if srid == 4547 and not (-1e6 <= minx <= maxx <= 2e6 and -1e7 <= miny <= maxy <= 1e7):
        raise BadRequest(_("参数 bbox 超出坐标系范围：%(value)s", value=text))
    return (minx, miny, maxx, maxy, srid)


def _bad_datetime():
    return BadRequest(_("参数 datetime 应为 RFC 3339 时间或区间（如 2024-05-01/2024-06-01、2024-05-01T00:00:00Z/..）：%(value)s",
                        value=request.args["datetime"]))


def _instant(text, end):
    """An RFC 3339 date-time, or a date (the whole Beijing day); None for an open end."""
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=BEIJING)
            return day + dt.timedelta(days=1, microseconds=-1) if end else day
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad_datetime() from None
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _datetime():
    """(since, until) of ``datetime``: an instant, or an interval with ``..`` (or nothing) for an
    open end; the reported time of an issue must lie within."""
    text = request.args.get("datetime")
    if text is None:
        return None, None
    parts = text.split("/")
    if len(parts) > 2 or all(p in ("", "..") for p in parts):
        raise _bad_datetime()
    since, until = _instant(parts[0], False), _instant(parts[-1], True)
    if since and until and since > until:
        raise BadRequest(_("参数 datetime 的开始晚于结束：%(value)s", value=text))
    return since, until


def _query(c):
    _known(ITEMS_PARAMS | set(c.queryables))
    since, until = _datetime()
    if c.temporal is None:  # a feature without a time is in every interval
        since = until = None
    filters = {name: [v.strip() for v in request.args[name].split(",")]
               for name in c.queryables if name in request.args}
    after, before = _int("after", None, 0), _int("before", None, 0)
    if after is not None and before is not None:
        raise BadRequest(_("参数 after 与 before 只能给一个"))
    return ogc.Query(bbox=_bbox(), since=since, until=until, filters=filters,
                     limit=_int("limit", 100, 1, ogc.MAX_LIMIT), offset=_int("offset", 0, 0),
                     after=after, before=before, crs=_crs("crs"))


def _page_link(c, rel, title, **keyset):
    """A link to the next or previous page: the same query from an id on (keyset paging)."""
    args = {k: v for k, v in request.args.items() if k not in ("offset", "after", "before", "f")}
    return {"href": _url("ogc.items", collection_id=c.id, **args, **keyset), "rel": rel, "type": GEOJSON,
            "title": title}


@bp.get("/collections/<collection_id>/items")
def items(collection_id):
    c = _collection(collection_id)
    q = _query(c)
    page = ogc.items(c, q, _scope())
    links = _self_links("ogc.items", GEOJSON, collection_id=c.id) + [
        {"href": _url("ogc.collection", collection_id=c.id), "rel": "collection", "type": JSON,
         "title": str(TITLES[c.id])}]
    if page.has_next:
        links.append(_page_link(c, "next", _("下一页"), **({"after": page.last} if page.returned else {})))
    if page.has_prev:
        links.append(_page_link(c, "prev", _("上一页"), **({"before": page.first} if page.returned else {})))
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    headers = {"Content-Crs": f"<{q.crs}>"}
    if _html_wanted():
        doc = {"links": links, "numberMatched": page.matched, "numberReturned": page.returned,
               "features": json.loads(page.features)}
        return _respond(doc, str(TITLES[c.id]), headers=headers)
    head = json.dumps({"type": "FeatureCollection", "timeStamp": stamp, "numberMatched": page.matched,
                       "numberReturned": page.returned, "links": links}, ensure_ascii=False)
    return Response(head[:-1] + f',"features":{page.features}}}', mimetype=GEOJSON, headers=headers)


@bp.get("/collections/<collection_id>/items/<fid>")
def item(collection_id, fid):
    c = _collection(collection_id)
    _known(COMMON | {"crs"})
    crs = _crs("crs")
    feature = ogc.item(c, int(fid), crs, _scope()) if fid.isdigit() and len(fid) < 10 else None
    if feature is None:
        raise NotFound(_("集合 %(name)s 中没有要素 %(fid)s", name=c.id, fid=fid))
    links = _self_links("ogc.item", GEOJSON, collection_id=c.id, fid=fid) + [
        {"href": _url("ogc.collection", collection_id=c.id), "rel": "collection", "type": JSON,
         "title": str(TITLES[c.id])}]
    headers = {"Content-Crs": f"<{crs}>"}
    if _html_wanted():
        return _respond({"links": links, "features": [json.loads(feature)]}, str(TITLES[c.id]), headers=headers)
    return Response(feature[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}",
                    mimetype=GEOJSON, headers=headers)
