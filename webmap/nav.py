"""The navigation every page shares: the pages the viewer's role may open, the current one
marked, the exports, the language switch and signing in or out.

One partial (templates/_nav.html) renders it: server-rendered pages include it through
``base.html`` (or the dashboard's own header), the folium map pages insert ``html(current)``.
"""
from flask import render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from webmap import viewer

MEETING_ROLES = ("community_staff", "admin")
ROSTER_ROLES = ("grid_leader", "community_staff", "official", "admin")


def _area():
    area = request.args.get("area")
    return {"area": area} if area else {}


def items(who):
    """(key, label, href) of the pages ``who`` may open, in the order they are shown."""
    keep = _area()
    # The pages that show an extent keep the viewer's ``?area=`` from one to another.
    pages = [("map", _("彩色动态图"), url_for("mapview.index")),
             ("dashboard", _("数据看板"), url_for("dashboard.page", **keep)),
             ("hotspots", _("诉求热点分析"), url_for("hotspots.page", **keep)),
             ("issues", _("诉求列表"), url_for("issuelist.index", **keep)),
             ("notice", _("公示"), url_for("notice.index"))]
    if who.role in MEETING_ROLES:
        pages.append(("meetings", _("协商活动"), url_for("meetings.meetings_page")))
    if who.role in ROSTER_ROLES:
        pages.append(("roster", _("电子底册"), url_for("area.roster_page")))
    return pages


def exports(who):
    """(label, href) of the downloads ``who`` may take."""
    links = [(_("诉求台账") + " (Excel)", url_for("exports.issue_ledger", fmt="xlsx", **_area())),
             (_("打印地图") + " (PDF)", url_for("printmap.subdistrict", fmt="pdf"))]
    if who.role in ROSTER_ROLES:
        links.append((_("电子底册") + " (Excel)", url_for("exports.roster", fmt="xlsx")))
    return links


def language_switch():
    """(label, href): this page in the other language."""
    other = "zh_CN" if str(get_locale()) == "en" else "en"
    args = request.args.to_dict()
    args["lang"] = other
    return ("中文" if other == "zh_CN" else "English"), url_for(request.endpoint, **(request.view_args or {}), **args)


# The page each view is, for marking it in the navigation.
CURRENT = {"mapview.index": "map", "dashboard.page": "dashboard", "hotspots.page": "hotspots",
           "issuelist.index": "issues", "notice.index": "notice", "notice.community": "notice",
           "meetings.meetings_page": "meetings", "area.roster_page": "roster", "auth.login": "login"}


def html():
    """The navigation with the page of this request marked."""
    who = viewer.current()
    return Markup(render_template("_nav.html", current=CURRENT.get(request.endpoint), pages=items(who), exports=exports(who),
                           language=language_switch(), who=who,
                           csrf=generate_csrf() if who.signed_in else None))


def init_app(app):
    app.context_processor(lambda: {"site_nav": html})
