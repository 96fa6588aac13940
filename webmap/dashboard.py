"""`GET /dashboard`: the subdistrict's figures for a wall screen, and `GET /api/dashboard.json`
the series its charts draw (ECharts, served locally).

Every issue figure and bar carries the link to the issue list behind it (``href``); the
list's total equals the figure, as both use ``layers.issue_filter``.
"""
import datetime as dt

from flask import Blueprint, jsonify, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from layers import dashboard
from layers.issue_filter import BEIJING

bp = Blueprint("dashboard", __name__)

REFRESH_SECONDS = 300  # a wall screen reloads itself


def _issues(**query):
    return url_for("issuelist.index", **{k: v for k, v in query.items() if v is not None})


def data():
    """The dashboard's figures and series with their links (a loop over series, not issues)."""
    d = dashboard.figures(en=str(get_locale()) == "en")
    d["links"] = {"issues": _issues(), "open": _issues(stage="open"), "overdue": _issues(overdue=1),
                  "resolved_livelihood": _issues(stage="closed", livelihood=1)}
    for s in d["stages"]:
        s["href"] = _issues(stage=s["code"])
    for m in d["months"]:
        m["href"] = _issues(month=m["month"])
    for c in d["communities"]:
        c["open_href"] = _issues(community=c["id"], stage="open")
        c["closed_href"] = _issues(community=c["id"], stage="closed")
        c["late_href"] = _issues(community=c["id"], on_time=0)
    for c in d["categories"]:
        c["href"] = _issues(category=c["code"])
    for p in d["platforms"]:
        p["href"] = _issues(platform=p["code"])
    return d


def strings():
    return {
        "months": _("每月新增诉求（近 24 个月）"), "communities": _("各社区诉求"),
        "categories": _("诉求类别"), "platforms": _("四个协商平台"), "onTime": _("各社区按时办理率"),
        "open": _("未办结"), "closed": _("已办结"), "meetings": _("协商活动"), "linked": _("涉及诉求"),
        "issues": _("诉求"), "rate": _("按时办理率"), "late": _("未按时"), "count": _("件"),
        "clickHint": _("点击柱条查看诉求"), "error": _("加载失败"),
    }


@bp.get("/api/dashboard.json")
def dashboard_json():
    return jsonify(data())


@bp.get("/dashboard")
def page():
    d = data()
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
                           strings=strings(), sample=d["sample"], refresh=REFRESH_SECONDS,
                           updated=dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"))
