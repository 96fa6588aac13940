"""`GET /dashboard`: the figures of an extent (``?area=``, by default the viewer's area) for a
wall screen, and `GET /api/dashboard.json` the series its charts draw (ECharts, served
locally).

Every issue figure and bar carries the link to the issue list behind it (``href``), for the
same extent; the list's total equals the figure, as both use ``layers.issue_filter``'s
definitions. The breadcrumb and each child area link to the dashboard one level up or down.
"""
import datetime as dt

from flask import Blueprint, jsonify, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from layers import dashboard, patrols
from layers.issue_filter import BEIJING
from webmap import extent, validate

bp = Blueprint("dashboard", __name__)

REFRESH_SECONDS = 60  # a wall screen refreshes its data (not the page) this often


def _area(level, id):
    return level if id is None else f"{level}:{id}"


def data(where):
    """The dashboard's figures and series for the extent ``where``, with their links (a loop
    over series, not issues)."""
    d = dashboard.figures(where.area, en=str(get_locale()) == "en")
    d["patrol"] = patrols.coverage(where.area, dt.datetime.now(dt.timezone.utc))

    def issues(**query):
        query = {**where.query, **query}
        return url_for("issuelist.index", **{k: v for k, v in query.items() if v is not None})

    d["links"] = {"issues": issues(), "open": issues(stage="open"), "overdue": issues(overdue=1),
                  "resolved_livelihood": issues(stage="closed", livelihood=1)}
    for s in d["stages"]:
        s["href"] = issues(stage=s["code"])
    for m in d["months"]:
        m["href"] = issues(month=m["month"])
    for c in d["children"]:
        area = _area(c["level"], c["id"])
        c["href"] = url_for("dashboard.page", area=area)
        c["open_href"] = issues(area=area, stage="open")
        c["closed_href"] = issues(area=area, stage="closed")
        c["late_href"] = issues(area=area, on_time=0)
    for c in d["categories"]:
        c["href"] = issues(category=c["code"])
    for p in d["platforms"]:
        p["href"] = issues(platform=p["code"])
    d["area"] = {"level": where.level, "key": where.area.key, "name": where.name,
                 "trail": [{"level": level, "name": name, "href": url_for("dashboard.page", area=_area(level, id))}
                           for level, id, name in where.trail if level != "mine"]}
    return d


def children_label(level):
    """What the children of an extent at ``level`` are called on its charts."""
    return {"city": _("各区"), "district": _("各街道")}.get(level, _("各社区"))


def strings(level):
    below = children_label(level)
    return {
        "months": _("每月新增诉求（近 24 个月）"), "communities": _("%(children)s诉求", children=below),
        "categories": _("诉求类别"), "platforms": _("四个协商平台"),
        "onTime": _("%(children)s按时办理率", children=below),
        "open": _("未办结"), "closed": _("已办结"), "meetings": _("协商活动"), "linked": _("涉及诉求"),
        "issues": _("诉求"), "rate": _("按时办理率"), "late": _("未按时"), "count": _("件"),
        "clickHint": _("点击柱条查看诉求，点击区域名称下钻"), "error": _("加载失败"),
    }


@bp.get("/api/dashboard.json")
@validate.query(validate.AreaOnly)
def dashboard_json():
    return jsonify(data(extent.current()))


@bp.get("/dashboard")
@validate.query(validate.AreaOnly)
def page():
    where = extent.current()
    d = data(where)
    f = d["figures"]
    # Chinese counts take a measure word (14 个社区); English needs none.
    measure = (lambda word: "") if str(get_locale()) == "en" else (lambda word: word)
    coverage = round(100 * f["orgs"] / f["compounds"]) if f["compounds"] else 0
    headline = [
        {"label": _("社区"), "value": f["communities"], "unit": measure("个")},
        {"label": _("楼院"), "value": f["compounds"], "unit": measure("个")},
        {"label": _("协商议事场所"), "value": f["venues"], "unit": measure("处")},
        {"label": _("协商活动"), "value": f["meetings"], "unit": measure("次")},
        {"label": _("人大代表"), "value": f["npc"], "unit": measure("名")},
        {"label": _("政协委员"), "value": f["cppcc"], "unit": measure("名")},
        {"label": _("自治组织覆盖楼院"), "value": f["orgs"], "unit": f"/ {f['compounds']}",
         "note": f"{coverage}%"},
        {"label": _("已解决民生问题"), "value": d["resolved_livelihood"], "unit": measure("件"),
         "href": d["links"]["resolved_livelihood"]},
    ]
    totals = [
        {"label": _("诉求总数"), "value": f["issues"], "href": d["links"]["issues"]},
        {"label": _("未办结"), "value": d["open"], "href": d["links"]["open"]},
        {"label": _("已超期"), "value": d["overdue"], "href": d["links"]["overdue"], "alert": True},
    ]
    return render_template("dashboard.html", headline=headline, totals=totals, stages=d["stages"],
                           area=d["area"], children=d["children"] if where.level != "community" else [],
                           strings=strings(where.level), sample=d["sample"], refresh=REFRESH_SECONDS,
                           query=where.query, patrol=d["patrol"],
                           patrol_heading=children_label(where.level) if where.level in ("city", "district") else _("社区 / 网格"),
                           updated=dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"))
