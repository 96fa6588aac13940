"""The personal-data access log over HTTP (admins only), and who the current request acts for
(the name the database writes into the log, see layers/db.py ``accessor``)."""
import datetime as dt
import json
import uuid

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from layers import access_log
from webmap.auth import roles_required

bp = Blueprint("access_log", __name__)


def current_accessor():
    """The signed-in user of this request as the access log's JSON, or None.

    Only a user Flask-Login has already loaded for this request counts (``g._login_user``):
    loading one here would query the database from inside the database gateway. Every view
    that shows personal data has loaded its viewer first, to scope the query.
    """
    if "gridmap_accessor" in g:   # set by now, or by an API key (webmap/ogc.py, for_api_key)
        return g.gridmap_accessor
    user = g.get("_login_user")
    account = getattr(user, "account", None)
    if account is None:
        return None
    if "gridmap_accessor" not in g:
        g.gridmap_accessor = json.dumps(
            {"request": uuid.uuid4().hex, "user_id": account.id, "name": account.name,
             "role": account.role, "route": f"{request.method} {request.path}"}, ensure_ascii=False)
    return g.gridmap_accessor


def for_api_key(name, role):
    """This request acts for the API key ``name`` (no user): the log names the key."""
    g.gridmap_accessor = json.dumps(
        {"request": uuid.uuid4().hex, "user_id": None, "name": f"API key {name}", "role": role,
         "route": f"{request.method} {request.path}"}, ensure_ascii=False)


def _positive(args, name, default):
    value = args.get(name)
    if value in (None, ""):
        return default
    if not value.isdigit() or not 1 <= int(value) <= 2_147_483_647:   # ids are PostgreSQL int
        raise BadRequest(_("参数 %(name)s 应为正整数：%(value)s", name=name, value=value))
    return int(value)


@bp.get("/api/access-log")
@roles_required("admin")
def entries():
    args = request.args
    kind = args.get("kind") or None
    if kind is not None and kind not in access_log.KINDS:
        raise BadRequest(_("参数 kind 应为 %(values)s 之一", values=", ".join(access_log.KINDS)))
    since = args.get("since") or None
    if since is not None:
        try:
            dt.date.fromisoformat(since)
        except ValueError:
            raise BadRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=since)) from None
    subject, limit = _positive(args, "subject", None), _positive(args, "limit", 100)
    return jsonify(access_log.entries(user=args.get("user") or None, kind=kind, subject=subject,
                                      since=since, limit=limit))


def init_app(app):
    app.extensions["gridmap_accessor"] = current_accessor
    app.register_blueprint(bp)
