"""`GET /`: the 彩色动态图, composed with folium from PostGIS layers.

Static areas (outline, communities, grids), venues and liaison stations are drawn from
GeoDataFrames read through the gateway. Compounds and issues are live layers: the page polls
the layer API every few seconds (leaflet-realtime), and an unchanged poll is a 304.
"""
import json

import folium
from branca.element import MacroElement
from jinja2 import Template
from flask import Blueprint, Response, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from folium.plugins import Fullscreen, HeatMap, LocateControl, MarkerCluster, Realtime
from markupsafe import escape

from flask_wtf.csrf import generate_csrf

from layers import areas, db, features, meetings, myarea, venues
from webmap import api, assets, basemaps, i18n, modes, viewer

bp = Blueprint("mapview", __name__)

POLL_MS = 5_000
# Above this many compounds the map draws from vector tiles instead of embedding and polling
# GeoJSON (configurable as TILES_ABOVE): one subdistrict stays as it is, a district or city tiles.
TILES_ABOVE = 3_000
VECTORGRID = "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"
PLATFORM_ICONS = {  # platform → (awesome-markers color, Font Awesome icon)
    "bench_talk": ("green", "chair"),
    "cppcc_consult": ("purple", "handshake"),
    "npc_station": ("red", "landmark"),
    "residents_council": ("blue", "users"),
}
STAGE_COLORS = {
    "reported": "#9ca3af", "topic": "#60a5fa", "notice": "#818cf8", "consult": "#f59e0b",
    "implement": "#f97316", "publish": "#10b981", "feedback": "#14b8a6",
}


def _text(value):
    """Escape text for folium, which pastes it into HTML inside a JS template literal."""
    return str(escape(value)).replace("`", "&#96;").replace("$", "&#36;")


def _popup(lines):
    return folium.Popup("<br>".join(_text(line) for line in lines), max_width=280)


def add_areas(m, shift, show_grids=False):
    """The subdistrict outline, the communities with their labels and the grids (shown when
    ``show_grids``); returns the outline. Shared by the map pages."""
    outline = areas.read(areas.subdistrict())
    folium.GeoJson(shift(outline), name=_("街道边界"), control=False, interactive=False,
                   style_function=lambda f: {"color": "#7c2d12", "weight": 3, "fill": False}).add_to(m)
    communities = areas.read(areas.communities())
    layer = folium.FeatureGroup(name=_("社区"), show=True)
    folium.GeoJson(shift(communities[["id", "name", "geom"]]), interactive=False,
                   style_function=lambda f: {"color": "#b45309", "weight": 2, "dashArray": "6 4",
                                             "fill": False}).add_to(layer)
    for row in communities.itertuples():
        lat, lon = shift.point(row.label_lat, row.label_lon)
        folium.Marker([lat, lon], interactive=False, icon=folium.DivIcon(
            class_name="community-label", icon_size=(120, 20), icon_anchor=(60, 10),
            html=f"<span>{_text(row.name)}</span>")).add_to(layer)
    layer.add_to(m)
    grids = areas.read(areas.grids())
    folium.GeoJson(shift(grids[["id", "name", "community", "geom"]]), name=_("网格"), show=show_grids,
                   style_function=lambda f: {"color": "#2563eb", "weight": 1.5, "fill": False,
                                             "dashArray": "2 4"},
                   tooltip=folium.GeoJsonTooltip(["community", "name"], labels=False)).add_to(m)
    return outline


def _add_venues(m, shift):
    layer = folium.FeatureGroup(name=_("协商议事场所"), show=False)
    platform_names = {"bench_talk": _("小板凳恳谈会"), "cppcc_consult": _("政协“有事好商量”"),
                      "npc_station": _("人大代表联络站"), "residents_council": _("居民议事会")}
    recent = meetings.recent_titles(3)
    for row in features.read(*venues.venues()).itertuples():
        color, icon = PLATFORM_ICONS[row.platforms[0]]
        lines = [row.name, row.community,
                 "、".join(platform_names[p] for p in row.platforms),
                 _("协商活动 %(n)s 次", n=row.meetings)]
        lines += [f"{day} {title}" for day, title in recent.get(row.id, [])]
        lat, lon = shift.point(row.geom.y, row.geom.x)
        marker = folium.Marker([lat, lon], popup=_popup(lines), tooltip=_text(row.name),
                               icon=assets.localize(folium.Icon(color=color, icon=icon, prefix="fa")))
        marker.add_to(layer)
    layer.add_to(m)
    stations = folium.FeatureGroup(name=_("人大代表联络站"), show=True)
    for row in features.read(*venues.stations()).itertuples():
        lat, lon = shift.point(row.geom.y, row.geom.x)
        folium.Marker([lat, lon], tooltip=_text(row.name),
                      popup=_popup([row.name, _("联系人大代表 %(n)s 名", n=row.npc_deputies)]),
                      icon=assets.localize(folium.Icon(color="red", icon="star", prefix="fa"))
                      ).add_to(stations)
    stations.add_to(m)


def _live_layers(m, mode, as_of):
    query = {"mode": mode}
    if as_of:
        query["as_of"] = as_of.isoformat()
    compounds = Realtime(
        folium.JsCode(f"(ok, fail) => GridMap.fetchLayer('compounds', {json.dumps(query)}, ok, fail)"),
        interval=POLL_MS, remove_missing=True,
        style=folium.JsCode("GridMap.compoundStyle"),
        on_each_feature=folium.JsCode("GridMap.compoundFeature"))
    compounds.layer_name = _("楼院")
    assets.localize(compounds).add_to(m)

    cluster = assets.localize(MarkerCluster(name=_("诉求"), control=False,
                                            options={"maxClusterRadius": 30,
                                                     "disableClusteringAtZoom": 17}))
    cluster.add_to(m)
    issue_query = {"as_of": as_of.isoformat()} if as_of else {}
    live_issues = Realtime(
        folium.JsCode(f"(ok, fail) => GridMap.fetchLayer('issues', {json.dumps(issue_query)}, ok, fail)"),
        interval=POLL_MS, remove_missing=True, container=cluster,
        point_to_layer=folium.JsCode("GridMap.issueMarker"),
        on_each_feature=folium.JsCode("GridMap.issueFeature"))
    live_issues.layer_name = _("未办结诉求")
    assets.localize(live_issues).add_to(m)



def _add_heat(m):
    """The heat layer, empty: the page fills it from /api/heat for the area in view."""
    heat = HeatMap([], name=_("诉求热力图"), show=False, radius=22, blur=18, min_opacity=0.3)
    assets.localize(heat).add_to(m)
    return heat


def build_map(mode, as_of):
    """The map and what the page script needs to know about it.

    Nothing on the page grows with the city. A small installation (up to ``TILES_ABOVE``
    compounds, e.g. one subdistrict) embeds its areas and venues and polls the GeoJSON layers
    as it always has; a larger one draws areas, compounds and issues from the vector tiles.
    """
    shift = basemaps.shifter(current_app.config["BASEMAP"])
    m = folium.Map(location=[34.81, 113.29], zoom_start=15, tiles=None, control_scale=True,
                   zoom_control=True, prefer_canvas=False)
    m.options["maxZoom"] = 19  # with no tile layer, the map itself must know (marker clustering asks)
    m.options["zoomSnap"] = 0.25  # fit the subdistrict snugly on any screen
    assets.localize(m)
    basemaps.add(m, current_app.config["BASEMAP"], current_app.config.get("TIANDITU_KEY"))
    who = viewer.current()
    extent = areas.extent()
    tiled = extent["compounds"] > current_app.config.get("TILES_ABOVE", TILES_ABOVE)
    if not tiled:
        add_areas(m, shift, show_grids=who.signed_in and not who.scope_all)
        _add_venues(m, shift)
        _live_layers(m, mode, as_of)
    heat = _add_heat(m)
    # A viewer with an area (a grid, a community, a subdistrict or a district) opens on it;
    # everyone else sees the whole installation.
    mine = None if who.scope_all or not who.signed_in else myarea.bounds(who.scope_params())
    m.fit_bounds(mine or extent["bounds"])
    folium.LayerControl(collapsed=True).add_to(m)
    assets.localize(Fullscreen(title=_("全屏"), title_cancel=_("退出全屏"))).add_to(m)
    assets.localize(LocateControl(strings={"title": _("我在哪里")}, flyTo=True)).add_to(m)
    return m, {"sample": extent["sample"], "tiled": tiled, "heat": heat.get_name()}


def page_config(m, mode, as_of, built):
    return {
        "map": m.get_name(),
        "mode": mode,
        "modes": modes.mode_names(),
        "asOf": as_of.isoformat() if as_of else None,
        "lang": str(get_locale()),
        "sample": built["sample"],
        "tiled": built["tiled"],
        "heat": built["heat"],
        "gcj02": basemaps.is_gcj02(current_app.config["BASEMAP"]),
        "stageColors": STAGE_COLORS,
        "names": _names(),
        "user": _user_config(),
        "strings": {
            "title": _("中心路街道 彩色动态图"), "sample": _("示例数据"), "legend": _("图例"),
            "search": _("搜索楼院或社区（支持拼音首字母）"), "asOf": _("查看日期"),
            "today": _("今天"), "community": _("社区"), "grid": _("网格"), "gridLeader": _("网格长"),
            "heads": _("三长"), "openIssues": _("未办结诉求"), "none": _("无"),
            "outside": _("该位置不在中心路街道范围内"), "youAreIn": _("您所在位置"),
            "compound": _("楼院"), "building": _("楼栋"), "units": _("单元"), "floors": _("层"),
            "orgs": _("自治组织"), "households": _("户数"), "loading": _("加载中…"),
            "error": _("加载失败"), "count": _("件"), "reportedOn": _("收集日期"),
            "category": _("类别"), "stage": _("阶段"), "notTopic": _("（尚未确定议题）"),
            "mode": _("着色模式"), "replay": _("历史回放"), "login": _("登录"), "logout": _("退出"),
            "myArea": _("我的范围"), "roster": _("电子底册"), "overdue": _("超期"), "days": _("天"),
            "newIssue": _("记录诉求"), "channel": _("收集渠道"), "issueTitle": _("标题"),
            "description": _("描述"), "reporter": _("反映人"), "phone": _("电话"), "photo": _("照片"),
            "submit": _("提交"), "recorded": _("已登记诉求"), "meetingId": _("协商活动编号"),
            "result": _("办理结果"), "satisfaction": _("群众评价"), "note": _("备注"),
            "endIssue": _("不予受理"), "reason": _("理由"), "claim": _("认领"), "claimed": _("已认领"),
            "nowAt": _("当前阶段："), "meetings": _("协商活动"), "language": "English" if str(get_locale()) != "en" else "中文",
        },
    }


def _names():
    """Stage and category names by code, in the page's language (tile features carry codes)."""
    column = "name_en" if str(get_locale()) == "en" else "name_zh"
    pick = lambda table: {r["code"]: r["name"] for r in db.rows(f"SELECT code, {column} AS name FROM {table}")}
    return {"stage": pick("stage"), "category": pick("category")}


class _Start(MacroElement):
    _template = Template("{% macro script(this, kwargs) %}GridMap.start();{% endmacro %}")


def _user_config():
    who = viewer.current()
    if not who.signed_in:
        return None
    return {"name": who.name, "role": who.role, "csrf": generate_csrf(),
            "hasArea": who.has_area and not who.scope_all,
            "canEditRoster": who.role in ("community_staff", "admin")}


@bp.get("/")
def index():
    mode = api.mode_param()
    as_of = api.as_of_param()
    m, built = build_map(mode, as_of)
    config = json.dumps(page_config(m, mode, as_of, built), ensure_ascii=False).replace("</", "<\\/")
    root = m.get_root()
    root.header.add_child(folium.Element(
        f'<title>{escape(_("中心路街道 彩色动态图"))}</title>'
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/gridmap.css">'
        '<script src="/static/mapkit.js"></script>'
        '<script src="/static/gridmap.js"></script>'
        '<script src="/static/workflow.js"></script>'
        f'<script>GridMap.configure({config});</script>'))
    if built["tiled"]:  # after Leaflet (in the head): both extend L as they load
        root.html.add_child(folium.Element(
            f'<script src="{assets.vendor_url(VECTORGRID)}"></script>'
            '<script src="/static/tilelayers.js"></script>'))
    m.add_child(_Start())  # last child: runs after every layer and control exists
    html = root.render().replace("<html>", f'<html lang="{i18n.html_lang()}">', 1)
    return Response(html, mimetype="text/html")
