"""`GET /`: the 彩色动态图, composed with folium from PostGIS layers.

Static areas (outline, communities, grids) are drawn from GeoDataFrames read through the
gateway. Compounds and issues are live layers: the page polls the layer API every few seconds
(leaflet-realtime), and an unchanged poll is a 304. Venues and liaison stations are fetched by
the page script from their layers. Above TILES_ABOVE compounds everything comes from the
vector tiles instead (see build_map).
"""
import json

import folium
from flask import Blueprint, current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from folium.plugins import Fullscreen, HeatMap, LocateControl, MarkerCluster, Realtime
from markupsafe import escape

from flask_wtf.csrf import generate_csrf

from layers import areas, hierarchy, lookups, myarea
from webmap import api, assets, basemaps, extent, i18n, mappage, modes, offline, patrols, validate, viewer

bp = Blueprint("mapview", __name__)

POLL_MS = 5_000
# Above this many compounds the map draws from vector tiles instead of embedding and polling
# GeoJSON (configurable as TILES_ABOVE): one subdistrict stays as it is, a district or city tiles.
TILES_ABOVE = 1_000
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
    grids = areas.read(areas.grids())[["id", "name", "community", "geom"]]
    for column in ("name", "community"):  # folium's GeoJsonTooltip writes them into innerHTML as they are
        grids[column] = grids[column].map(_text)
    folium.GeoJson(shift(grids), name=_("网格"), show=show_grids,
                   style_function=lambda f: {"color": "#2563eb", "weight": 1.5, "fill": False,
                                             "dashArray": "2 4"},
                   tooltip=folium.GeoJsonTooltip(["community", "name"], labels=False)).add_to(m)
    return outline


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

    # Close up only issues at one spot stay clustered, and a tap on them lists them (gridmap.js).
    cluster = assets.localize(MarkerCluster(name=_("诉求"), control=False,
                                            options={"maxClusterRadius": folium.JsCode("GridMap.clusterRadius"),
                                                     "iconCreateFunction": folium.JsCode("GridMap.clusterIcon"),
                                                     "zoomToBoundsOnClick": False, "spiderfyOnMaxZoom": False,
                                                     "showCoverageOnHover": False}))
    cluster.add_to(m)
    issue_query = {"as_of": as_of.isoformat()} if as_of else {}
    live_issues = Realtime(
        folium.JsCode(f"(ok, fail) => GridMap.fetchLayer('issues', {json.dumps(issue_query)}, ok, fail)"),
        interval=POLL_MS, remove_missing=True, container=cluster,
        point_to_layer=folium.JsCode("GridMap.issueMarker"),
        update_feature="GridMap.updateIssue",
        on_each_feature=folium.JsCode("GridMap.issueFeature"))
    live_issues.layer_name = _("未办结诉求")
    assets.localize(live_issues).add_to(m)
    return f"{{cluster: {cluster.get_name()}, issues: {live_issues.get_name()}}}"



def _add_heat(m):
    """The heat layer, empty: the page fills it from /api/heat for the area in view."""
    heat = HeatMap([], name=_("诉求热力图"), show=False, radius=22, blur=18, min_opacity=0.3)
    assets.localize(heat).add_to(m)
    return heat


def build_map(mode, as_of):
    """The map and what the page script needs to know about it.

    Nothing on the page grows with the city. A small installation (up to ``TILES_ABOVE``
    compounds, e.g. one subdistrict) embeds its areas and polls the GeoJSON layers
    as it always has; a larger one draws areas, compounds and issues from the vector tiles.
    """
    shift = basemaps.shifter(current_app.config["BASEMAP"])
    m = mappage.new_map([34.81, 113.29], zoom_control=True, prefer_canvas=False)
    m.options["maxZoom"] = 19  # with no tile layer, the map itself must know (marker clustering asks)
    who = viewer.current()
    whole = areas.extent()
    tiled = whole["compounds"] > current_app.config.get("TILES_ABOVE", TILES_ABOVE)
    live = "{}"
    if not tiled:
        add_areas(m, shift, show_grids=who.signed_in and not who.scope_all)
        live = _live_layers(m, mode, as_of)
    heat = _add_heat(m)
    # A viewer with an area (a grid, a community, a subdistrict or a district) opens on it;
    # everyone else sees the whole installation.
    mine = None if who.scope_all or not who.signed_in else myarea.bounds(who.scope_params())
    if request.args.get("area"):   # a place chosen in the drill-down
        minx, miny, maxx, maxy = hierarchy.bounds(extent.current().area)
        mine = [[miny, minx], [maxy, maxx]]
    m.fit_bounds(mine or whole["bounds"])
    layers = folium.LayerControl(collapsed=True)
    layers.add_to(m)
    assets.localize(Fullscreen(title=_("全屏"), title_cancel=_("退出全屏"))).add_to(m)
    assets.localize(LocateControl(strings={"title": _("我在哪里")}, flyTo=True)).add_to(m)
    return m, {"sample": whole["sample"], "tiled": tiled, "heat": heat.get_name(), "layers": layers.get_name(),
               "live": live}


def plurals():
    """Counts with their unit as the page script writes them: (one, many) forms per key, with
    ``{n}`` for the number (English says "1 unit", "3 units"; Chinese "3 个单元")."""
    forms = {
        "units": lambda n: ngettext("%(n)s 个单元", "%(n)s 个单元", n, n="{n}"),
        "floors": lambda n: ngettext("%(n)s 层", "%(n)s 层", n, n="{n}"),
        "issues": lambda n: ngettext("%(n)s 件", "%(n)s 件", n, n="{n}"),
        "overdueDays": lambda n: ngettext("超期 %(n)s 天", "超期 %(n)s 天", n, n="{n}"),
    }
    return {key: [form(1), form(2)] for key, form in forms.items()}


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
        "platformIcons": PLATFORM_ICONS,
        "gcj02": basemaps.is_gcj02(current_app.config["BASEMAP"]),
        "stageColors": STAGE_COLORS,
        "names": lookups.names(en=str(get_locale()) == "en"),
        "plurals": plurals(),
        "user": _user_config(),
        "patrol": patrols.strings(),
        "strings": {
            "title": _("中心路街道 彩色动态图"), "sample": _("示例数据"), "legend": _("图例"),
            "search": _("搜索楼院或社区（支持拼音首字母）"), "asOf": _("查看日期"),
            "today": _("今天"), "community": _("社区"), "grid": _("网格"), "gridLeader": _("网格长"),
            "heads": _("三长"), "openIssues": _("未办结诉求"), "none": _("无"),
            "outside": _("该位置不在中心路街道范围内"), "youAreIn": _("您所在位置"),
            "compound": _("楼院"), "building": _("楼栋"), "colon": _("："), "listSep": _("、"),
            **i18n.satisfaction_names(),
            "orgs": _("自治组织"), "households": _("户数"), "loading": _("加载中…"),
            "error": _("加载失败"), "reportedOn": _("收集日期"),
            "category": _("类别"), "stage": _("阶段"), "notTopic": _("（尚未确定议题）"),
            "mode": _("着色模式"), "replay": _("历史回放"),
            "myArea": _("我的范围"),
            "newIssue": _("记录诉求"), "channel": _("收集渠道"), "issueTitle": _("标题"),
            "description": _("描述"), "reporter": _("反映人"), "phone": _("电话"), "photo": _("照片"),
            "submit": _("提交"), "recorded": _("已登记诉求"), "meetingId": _("协商活动编号"),
            "result": _("办理结果"), "satisfaction": _("群众评价"), "note": _("备注"),
            "endIssue": _("不予受理"), "reason": _("理由"), "claim": _("认领"), "claimed": _("已认领"),
            "nowAt": _("当前阶段："),
            "venues": _("协商议事场所"), "stations": _("人大代表联络站"), "area": _("区域"),
            "drillDown": _("下一级…"),
            "gridNote": _("相邻网格颜色不同；颜色本身不表示状态"), "legendMore": _("其他符号"),
            "legendIssues": _("未办结诉求（按阶段）"), "legendOverdue": _("已超期（红圈）"),
            "legendCluster": _("多件诉求（数字为件数，点击展开）"), "legendPlaces": _("场所"),
            "venue": _("协商议事场所"), "legendBuildings": _("楼栋（放大后显示）"), "legendLines": _("边界"),
            "legendSubdistrict": _("街道边界"), "legendMine": _("我的范围（蓝色粗边）"),
            "meetingCount": _("协商活动 %(n)s 次", n="{n}"), "deputyCount": _("联系人大代表 %(n)s 名", n="{n}"),
            "pickPoint": _("点击地图选择位置"), "cancel": _("取消"), "showIssue": _("在地图上查看"),
            "sameSpot": _("同一地点"), "close": _("关闭"), "mapMenu": _("图层与图例"), "menu": _("图层"),
            "patrol": _("巡查打卡"),
            **offline.strings(),
        },
    }


def _user_config():
    who = viewer.current()
    if not who.signed_in:
        return None
    return {"name": who.name, "role": who.role, "csrf": generate_csrf(),
            "hasArea": who.has_area and not who.scope_all,
            "canEditRoster": who.role in ("community_staff", "admin")}


@bp.get("/")
@validate.query(validate.MapPage)
def index():
    mode = api.mode_param()
    as_of = api.as_of_param()
    m, built = build_map(mode, as_of)
    # After Leaflet (in the head): these extend L as they load.
    body_scripts = [assets.vendor_url(assets.LOCAL["awesome_markers"])]
    if built["tiled"]:
        body_scripts += [assets.vendor_url(VECTORGRID), "/static/tilelayers.js"]
    return mappage.respond(
        m, title=_("中心路街道 彩色动态图"),
        styles=["/static/gridmap.css", "/static/phone.css", "/static/patrol.css",
                *(assets.vendor_url(assets.LOCAL[css]) for css in ("awesome_markers_css", "awesome_markers_font_css"))],
        scripts=["/static/gridmap.js", "/static/phone.js", "/static/workflow.js", "/static/patrol.js"],
        head=offline.head_html(), module="GridMap", config=page_config(m, mode, as_of, built),
        start=f"GridMap.start({built['layers']}, {built['live']});",
        body_scripts=body_scripts)
