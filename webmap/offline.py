"""The phone app: the web app manifest and its icons, the service worker, and the area
bundle the service worker keeps for offline use (GET /api/offline/area).

The service worker (static/sw.js) is served from the root so that its scope is the whole
app. The bundle holds only the signed-in user's own area (layers/offline.py); an answer 401
tells the page to delete what it keeps, and signing out clears the site's storage.
"""
import datetime as dt
from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import escape

from layers import offline
from webmap import appicons, modes, viewer
from webmap.i18n import html_lang

bp = Blueprint("offline", __name__)
SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "sw.js"
START_URL = "/?panel=myarea"
OFFLINE_DAYS = 7   # the page and the service worker drop a bundle older than this (sw.js, offline.js)


def head_html():
    """The map page's head: the manifest, the home-screen icon and the offline scripts."""
    return (f'<link rel="manifest" href="{url_for("offline.manifest")}">'
            f'<meta name="theme-color" content="{appicons.THEME}">'
            '<meta name="mobile-web-app-capable" content="yes">'
            '<meta name="apple-mobile-web-app-capable" content="yes">'
            '<meta name="apple-mobile-web-app-status-bar-style" content="default">'
            f'<meta name="apple-mobile-web-app-title" content="{escape(_("彩色动态图"))}">'
            f'<link rel="apple-touch-icon" href="{url_for("offline.icon", name="apple-touch-icon")}">'
            '<link rel="stylesheet" href="/static/offline.css">'
            '<script src="/static/outbox.js"></script>'
            '<script src="/static/offline.js"></script>')


def strings():
    """The page script's texts for the offline banner and the outbox."""
    return {
        "offlineSince": _("离线 · 数据更新于 %(time)s", time="{t}"),
        "offlineNone": _("离线 · 本机没有保存的数据"),
        "outboxBadge": _("待同步 %(n)s", n="{n}"),
        "outboxIssue": _("诉求"), "outboxPatrol": _("巡查"),
        "outboxCorrect": _("修改"), "outboxSave": _("保存并重试"), "outboxRetry": _("重试"),
        "outboxDelete": _("删除"), "outboxDeleteAsk": _("删除这条未同步的记录？删除后无法恢复。"),
        "outboxSignOut": _("还有未同步的记录，退出登录会删除它们。仍要退出吗？"),
        "queued": _("已保存在本机，联网后自动同步（待同步）"),
    }


@bp.get("/manifest.webmanifest")
def manifest():
    icon = lambda name, size, purpose="any": {   # noqa: E731
        "src": url_for("offline.icon", name=name), "sizes": f"{size}x{size}", "type": "image/png",
        "purpose": purpose}
    body = {
        "name": _("中心路街道 彩色动态图"), "short_name": _("彩色动态图"),
        "description": _("网格长的楼院、三长联系人和诉求，离线也能查看和记录"),
        "lang": html_lang(), "start_url": START_URL, "scope": "/", "id": "/",
        "display": "standalone", "orientation": "portrait",
        "theme_color": appicons.THEME, "background_color": "#ffffff",
        "icons": [icon("icon-192", 192), icon("icon-512", 512), icon("maskable-512", 512, "maskable")],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/icons/<name>.png")
def icon(name):
    if name not in appicons.SIZES:
        abort(404)
    return Response(appicons.png(name), mimetype="image/png", headers={"Cache-Control": "max-age=86400"})


@bp.get("/offline")
def nothing_kept():
    """The page the service worker shows offline when nothing is kept on the device."""
    return render_template("offline.html")


@bp.get("/sw.js")
def service_worker():
    # no-cache: the browser checks for a new worker on every visit; Service-Worker-Allowed
    # states the scope the worker claims (its own directory, the root).
    return Response(SERVICE_WORKER.read_bytes(), mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@bp.get("/api/offline/area")
@login_required
def area():
    who = viewer.current()
    if who.scope_all or not who.has_area:
        return jsonify(error=_("离线数据只提供给有自己范围（网格或社区）的用户")), 403
    style, legend = modes.style("open")
    synced_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    body = offline.bundle(who.scope_params(), style, legend, synced_at,
                          {"notKept": _("离线：这里的数据没有保存在本机")})
    return Response(body, mimetype="application/json",
                    headers={"Cache-Control": "no-store", "X-Offline-Days": str(OFFLINE_DAYS)})
