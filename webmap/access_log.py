"""The personal-data access log over HTTP (admins only), and who the current request acts for
(the name the database writes into the log, see layers/db.py ``accessor``)."""
import json
import uuid

from flask import Blueprint, g, jsonify, request

from layers import access_log
from webmap import validate
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


@bp.get("/api/access-log")
@roles_required("admin")
def entries():
    args = validate.check(validate.AccessLog, request.args.to_dict())
    return jsonify(access_log.entries(user=args.user, kind=args.kind, subject=args.subject,
                                      since=args.since and args.since.isoformat(), limit=args.limit or 100))


def init_app(app):
    app.extensions["gridmap_accessor"] = current_accessor
    app.register_blueprint(bp)
