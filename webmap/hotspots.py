"""`GET /hotspots` and `GET /api/hotspots.geojson`: where the extent's issues concentrate
(Getis-Ord Gi* over square cells counted in PostGIS), the DBSCAN clusters of recent issues,
and the compounds with most open and overdue issues.

The extent is ``?area=`` (by default the viewer's area, as on every page): the study area,
the map's frame and the outlines drawn are that extent's; the cell size (``?cell=`` metres)
is bounded so that a city draws at most ``geo.hotspot.MAX_CELLS`` cells.

The page is a folium map of the extent; its script fetches the layer API with the page's own
query string, so the map and the API always show the same thing.
"""
import json

import folium
import geopandas as gpd
from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import BadRequest

from geo import hotspot
from layers import hierarchy, hotspots
from layers.issue_filter import choices
from webmap import basemaps, extent, filters, mappage, validate

bp = Blueprint("hotspots", __name__)

DEFAULT_DAYS = 365
CLASS_COLORS = {
    "hot-99": "#b2182b", "hot-95": "#d6604d", "hot-90": "#f4a582", "ns": "#bdbdbd",
    "cold-90": "#92c5de", "cold-95": "#4393c3", "cold-99": "#2166ac",
}
# Outlines are simplified to about a pixel of a screen showing the whole extent.
SIMPLIFY = 1 / 2000


def class_labels():
    return {"hot-99": _("热点 99% 置信"), "hot-95": _("热点 95% 置信"), "hot-90": _("热点 90% 置信"),
            "ns": _("不显著"), "cold-90": _("冷点 90% 置信"), "cold-95": _("冷点 95% 置信"),
            "cold-99": _("冷点 99% 置信")}


def _requested_size():
    text = request.args.get("cell", "")
    if text == "":
        return None
    if not text.isdigit() or int(text) not in hotspot.SIZES:
        raise BadRequest(_("网格大小（cell）应为 %(sizes)s 米之一：%(value)s",
                           sizes="、".join(map(str, hotspot.SIZES)), value=text))
    return int(text)


class Analysis:
    """The request's extent, filter, study area and grid: what the page and the API share."""

    def __init__(self):
        self.extent = extent.current()
        self.filter = filters.issue_filter(DEFAULT_DAYS, area=self.extent.area)
        self.outline = hotspots.study_area(self.extent.area)
        self.bounds = self.outline.bounds
        try:
            size = hotspot.choose_size(self.bounds, _requested_size())
        except hotspot.GridTooFine as exc:
            raise BadRequest(_("该范围内网格过密：网格大小（cell）至少 %(size)s 米", size=exc.smallest)) from None
        self.grid = hotspot.Grid.over(self.bounds, size)
        # The sizes the form offers: those the extent can draw.
        self.sizes = [s for s in hotspot.SIZES if hotspot.cells_over(self.bounds, s) <= hotspot.MAX_CELLS]

    @property
    def tolerance(self):
        minx, miny, maxx, maxy = self.bounds
        return max(maxx - minx, maxy - miny) * SIMPLIFY


def layer(analysis):
    """The Gi* cells of the issues matching the analysis' filter as a FeatureCollection
    (dict), with the DBSCAN ``clusters``, the ``legend`` and a ``summary`` as extra members."""
    f, grid = analysis.filter, analysis.grid
    occupied, counts = hotspots.cells(f, grid)
    result = hotspot.hotspots(occupied, counts, hotspot.area_cells(analysis.outline, grid, analysis.bounds))
    labels = class_labels()
    cells = [{"type": "Feature",
              "geometry": {"type": "Polygon", "coordinates": [grid.polygon(cell)]},
              "properties": {"cell": hotspot.cell_name(cell), "count": int(count), "z": round(float(z), 3),
                             "p": round(float(p), 4), "class": cls, "color": CLASS_COLORS[cls]}}
             for cell, count, z, p, cls in zip(result.cells.tolist(), result.counts, result.z,
                                                result.p, result.classes)]
    window = hotspots.cluster_window(f)
    return {
        "type": "FeatureCollection", "features": cells,
        "clusters": json.loads(hotspots.clusters(f, grid)),
        "legend": [{"class": c, "color": CLASS_COLORS[c], "label": labels[c]} for c in hotspot.CLASSES],
        "summary": {"issues": int(counts.sum()), "cells": int(result.cells.size), "cell_size": grid.size,
                    "area": analysis.extent.name,
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
@validate.query(validate.Hotspots)
def hotspots_geojson():
    collection = layer(Analysis())
    if request.args.get("crs") == "gcj02":
        collection = _to_gcj02(collection)
    return Response(json.dumps(collection, ensure_ascii=False, separators=(",", ":")),
                    mimetype="application/geo+json", headers={"Cache-Control": "no-cache"})


def _shift_ranking(ranking, shift):
    """The ranked compounds' bounds as drawn on the basemap (shifted on a GCJ-02 one)."""
    for rows in ranking.values():
        for r in rows:
            r["miny"], r["minx"] = shift.point(r["miny"], r["minx"])
            r["maxy"], r["maxx"] = shift.point(r["maxy"], r["maxx"])
    return ranking


def _label(text):
    """Escape text for folium, which pastes it into HTML inside a JS template literal."""
    return str(escape(text)).replace("`", "&#96;").replace("$", "&#36;")


def _add_context(m, analysis, shift):
    """The extent's outline, its children with their names, and its compounds when few."""
    area, tolerance = analysis.extent.area, analysis.tolerance
    outline = gpd.GeoDataFrame(geometry=[analysis.outline.simplify(tolerance)], crs=4326).rename_geometry("geom")
    folium.GeoJson(shift(outline), name=analysis.extent.name, control=False, interactive=False,
                   style_function=lambda f: {"color": "#7c2d12", "weight": 3, "fill": False}).add_to(m)
    children = hotspots.outlines(area, tolerance)
    layer = folium.FeatureGroup(name=_("区域"), show=True)
    folium.GeoJson(shift(children[["id", "name", "geom"]]), interactive=False,
                   style_function=lambda f: {"color": "#b45309", "weight": 2, "dashArray": "6 4",
                                             "fill": False}).add_to(layer)
    for row in children.itertuples():
        point = row.geom.representative_point()
        lat, lon = shift.point(point.y, point.x)
        folium.Marker([lat, lon], interactive=False, icon=folium.DivIcon(
            class_name="community-label", icon_size=(120, 20), icon_anchor=(60, 10),
            html=f"<span>{_label(row.name)}</span>")).add_to(layer)
    layer.add_to(m)
    compounds = hotspots.compounds(area, tolerance)
    if compounds is not None:
        folium.GeoJson(shift(compounds), name=_("楼院"), control=False, interactive=False,
                       style_function=lambda feature: {"color": "#475569", "weight": 1, "fill": False}).add_to(m)


def _areas(where):
    """The choices of the area select: the places above the extent, the extent, its children."""
    up = [(level if id is None else f"{level}:{id}", name) for level, id, name in where.trail
          if level != hierarchy.MINE]
    down = [] if where.level == "community" else \
        [(f"{c['level']}:{c['id']}", "　" + c["name"]) for c in hierarchy.children(where.area)]
    current = [(where.area.key or "", where.name)] if where.level == hierarchy.MINE else []
    return up + current + down


@bp.get("/hotspots")
@validate.query(validate.Hotspots)
def page():
    analysis = Analysis()
    f, where = analysis.filter, analysis.extent
    shift = basemaps.shifter(current_app.config["BASEMAP"])
    minx, miny, maxx, maxy = analysis.bounds
    m = mappage.new_map([(miny + maxy) / 2, (minx + maxx) / 2])
    _add_context(m, analysis, shift)
    m.fit_bounds([shift.point(miny, minx), shift.point(maxy, maxx)])
    config = {
        "map": m.get_name(),
        "api": url_for("hotspots.hotspots_geojson"),
        "query": request.query_string.decode(),
        "gcj02": basemaps.is_gcj02(current_app.config["BASEMAP"]),
        "sample": hotspots.is_sample(where.area),
        "filters": {"from": f.since.isoformat(), "to": f.until.isoformat(), "category": f.category,
                    "channel": f.channel, "stage": f.stage, "area": where.area.key or "",
                    "cell": analysis.grid.size},
        "areas": _areas(where),
        "sizes": analysis.sizes,
        "choices": choices(en=str(get_locale()) == "en"),
        "ranking": _shift_ranking(hotspots.ranking(f), shift),
        "issuesUrl": url_for("issuelist.index"),
        "areaQuery": where.query,
        "strings": {
            "title": _("诉求热点分析"), "sample": _("示例数据"), "from": _("开始日期"), "to": _("结束日期"),
            "category": _("类别"), "channel": _("渠道"), "stage": _("阶段"), "area": _("区域"),
            "cell": _("网格大小（米）"), "any": _("全部"), "open": _("未办结（全部阶段）"),
            "apply": _("应用"), "reset": _("重置"), "legend": _("Gi* 冷热点分析"),
            "cluster": _("近 90 天聚集（DBSCAN，60 米内 ≥5 件）"), "issues": _("件诉求"),
            "cells": _("格"), "hot": _("热点"), "cold": _("冷点"), "clusters": _("聚集"), "ranking": _("楼院排行"),
            "byOpen": _("未办结"), "byOverdue": _("已超期"), "none": _("无"), "loading": _("加载中…"),
            "error": _("加载失败"), "count": _("诉求"), "z": _("Gi* z 值"), "p": _("p 值"),
            "clusterIssues": _("聚集诉求"), "compound": _("楼院"), "list": _("查看诉求"),
        },
    }
    return mappage.respond(
        m, title=f"{_('诉求热点分析')} · {where.name}", styles=["/static/gridmap.css", "/static/hotspots.css"],
        scripts=["/static/hotspots.js"], module="HotspotMap", config=config, start="HotspotMap.start();")
