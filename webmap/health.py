"""`GET /healthz`: is the app up and its database reachable."""
from flask import Blueprint, current_app, jsonify

from layers import db, faults
from webmap.errors import fault_message

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.postgis_version()
    except Exception as exc:  # any failure to reach PostGIS means "not healthy"
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        current_app.logger.warning("healthz: %s", detail[0] if detail else type(exc).__name__)
        return jsonify(status="unavailable", reason=fault_message(faults.UNAVAILABLE)), 503
    return jsonify(status="ok")
