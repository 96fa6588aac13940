"""`GET /healthz`: is the app up and its database reachable."""
from flask import Blueprint, jsonify

from layers import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.postgis_version()
    except Exception as exc:  # any failure to reach PostGIS means "not healthy"
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return jsonify(status="unavailable", reason=reason), 503
    return jsonify(status="ok")
