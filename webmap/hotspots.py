"""`GET /hotspots` and `GET /api/hotspots.geojson`: where issues concentrate (Getis-Ord Gi*
over H3 cells), the DBSCAN clusters of recent issues, and the compounds with most open and
overdue issues.

The page is a folium map of the areas; its script fetches the layer API with the page's own
query string, so the map and the API always show the same thing.
"""
import json

import folium
from shapely.geometry import shape
from branca.element import MacroElement
from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import Template
from markupsafe import escape
from werkzeug.exceptions import BadRequest

from geo import hotspot
from layers import hotspots
from layers.issue_filter import choices
from webmap import assets, basemaps, filters, i18n, mapview

bp = Blueprint("hotspots", __name__)

DEFAULT_DAYS = 365
CLASS_COLORS = {
    "hot-99": "#b2182b", "hot-95": "#d6604d", "hot-90": "#f4a582", "ns": "#bdbdbd",
    "cold-90": "#92c5de", "cold-95": "#4393c3", "cold-99": "#2166ac",
}


def class_labels():
    return {"hot-99": _("热点 99% 置信"), "hot-95": _("热点 95% 置信"), "hot-90": _("热点 90% 置信"),
            "ns": _("不显著"), "cold-90": _("冷点 90% 置信"), "cold-95": _("冷点 95% 置信"),
            "cold-99": _("冷点 99% 置信")}


def resolution_param():
    text = request.args.get("resolution", "")
    if text == "":
        return hotspot.DEFAULT_RESOLUTION
    if not text.isdigit() or int(text) not in hotspot.RESOLUTIONS:
        raise BadRequest(_("H3 分辨率应为 %(low)s–%(high)s 的整数：%(value)s", value=text,
                           low=hotspot.RESOLUTIONS[0], high=hotspot.RESOLUTIONS[-1]))
    return int(text)


def layer(f, resolution):
    """The Gi* cells of the issues matching ``f`` as a FeatureCollection (dict), with the
    DBSCAN ``clusters``, the ``legend`` and a ``summary`` as extra members."""
    lon, lat = hotspots.points(f)
    result = hotspot.hotspots(lon, lat, resolution, hotspot.area_cells(hotspots.area(f.community), resolution))
    labels = class_labels()
    cells = [{"type": "Feature",
              "geometry": {"type": "Polygon", "coordinates": [hotspot.cell_polygon(cell)]},
              "properties": {"cell": hotspot.cell_name(cell), "count": int(count), "z": round(float(z), 3),
                             "p": round(float(p), 4), "class": cls, "color": CLASS_COLORS[cls]}}
             for cell, count, z, p, cls in zip(result.cells.tolist(), result.counts, result.z,
                                                result.p, result.classes)]
    window = hotspots.cluster_window(f)
    return {
        "type": "FeatureCollection", "features": cells,
        "clusters": json.loads(hotspots.clusters(f)),
        "legend": [{"class": c, "color": CLASS_COLORS[c], "label": labels[c]} for c in hotspot.CLASSES],
        "summary": {"issues": int(lon.size), "cells": int(result.cells.size), "resolution": resolution,
                    "from": f.since and f.since.isoformat(), "to": f.until and f.until.isoformat(),
                    "clusters_from": window.since.isoformat(), "clusters_to": window.until.isoformat(),
                    "hot": int(sum(c.startswith("hot") for c in result.classes)),
                    "cold": int(sum(c.startswith("cold") for c in result.classes))},
    }


def _to_gcj02(collection):
    shifted = json.loads(basemaps.geojson_to_gcj02(json.dumps(collection)))
    shifted["clusters"] = json.loads(basemaps.geojson_to_gcj02(json.dumps(collection["clusters"])))
    return shifted


@bp.get("/api/hotspots.geojson")
def hotspots_geojson():
    collection = layer(filters.issue_filter(DEFAULT_DAYS), resolution_param())
    if request.args.get("crs") == "gcj02":
        collection = _to_gcj02(collection)
    return Response(json.dumps(collection, ensure_ascii=False), mimetype="application/geo+json",
                    headers={"Cache-Control": "no-cache"})


def _shift_ranking(ranking, shift):
    """The ranked compounds' bounds as drawn on the basemap (shifted on a GCJ-02 one)."""
    for rows in ranking.values():
        for r in rows:
            r["miny"], r["minx"] = shift.point(r["miny"], r["minx"])
            r["maxy"], r["maxx"] = shift.point(r["maxy"], r["maxx"])
    return ranking


class _Start(MacroElement):
    _template = Template("{% macro script(this, kwargs) %}HotspotMap.start();{% endmacro %}")


@bp.get("/hotspots")
def page():
    f = filters.issue_filter(DEFAULT_DAYS)
    resolution = resolution_param()
    shift = basemaps.shifter(current_app.config["BASEMAP"])
    m = folium.Map(location=[34.81, 113.29], zoom_start=15, tiles=None, control_scale=True)
    m.options["zoomSnap"] = 0.25
    assets.localize(m)
    basemaps.add(m, current_app.config["BASEMAP"], current_app.config.get("TIANDITU_KEY"))
    outline = mapview.add_areas(m, shift)
    folium.GeoJson(shift(hotspots.compounds()), name=_("楼院"), control=False, interactive=False,
                   style_function=lambda feature: {"color": "#475569", "weight": 1, "fill": False}).add_to(m)
    # The study area fills the screen: the chosen community, else the subdistrict.
    minx, miny, maxx, maxy = (shape(hotspots.area(f.community)).bounds if f.community
                              else outline.total_bounds)
    m.fit_bounds([shift.point(miny, minx), shift.point(maxy, maxx)])
    config = {
        "map": m.get_name(),
        "api": url_for("hotspots.hotspots_geojson"),
        "query": request.query_string.decode(),
        "gcj02": basemaps.is_gcj02(current_app.config["BASEMAP"]),
        "sample": bool(outline["is_sample"].any()),
        "filters": {"from": f.since.isoformat(), "to": f.until.isoformat(), "category": f.category,
                    "channel": f.channel, "stage": f.stage, "community": f.community,
                    "resolution": resolution},
        "resolutions": list(hotspot.RESOLUTIONS),
        "choices": choices(en=str(get_locale()) == "en"),
        "ranking": _shift_ranking(hotspots.ranking(f), shift),
        "issuesUrl": url_for("issuelist.index"),
        "strings": {
            "title": _("诉求热点分析"), "sample": _("示例数据"), "from": _("开始日期"), "to": _("结束日期"),
            "category": _("类别"), "channel": _("渠道"), "stage": _("阶段"), "community": _("社区"),
            "resolution": _("网格大小（H3 分辨率）"), "any": _("全部"), "open": _("未办结（全部阶段）"),
            "apply": _("应用"), "reset": _("重置"), "legend": _("Gi* 冷热点分析"),
            "cluster": _("近 90 天聚集（DBSCAN，60 米内 ≥5 件）"), "issues": _("件诉求"),
            "cells": _("格"), "hot": _("热点"), "cold": _("冷点"), "clusters": _("聚集"), "ranking": _("楼院排行"),
            "byOpen": _("未办结"), "byOverdue": _("已超期"), "none": _("无"), "loading": _("加载中…"),
            "error": _("加载失败"), "count": _("诉求"), "z": _("Gi* z 值"), "p": _("p 值"),
            "clusterIssues": _("聚集诉求"), "compound": _("楼院"), "list": _("查看诉求"),
            "map": _("彩色动态图"), "dashboard": _("数据看板"),
        },
    }
    config = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    root = m.get_root()
    root.header.add_child(folium.Element(
        f'<title>{escape(_("诉求热点分析"))} · {escape(_("中心路街道 彩色动态图"))}</title>'
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/gridmap.css">'
        '<link rel="stylesheet" href="/static/hotspots.css">'
        '<script src="/static/mapkit.js"></script>'
        '<script src="/static/hotspots.js"></script>'
        f'<script>HotspotMap.configure({config});</script>'))
    m.add_child(_Start())
    html = root.render().replace("<html>", f'<html lang="{i18n.html_lang()}">', 1)
    return Response(html, mimetype="text/html")
