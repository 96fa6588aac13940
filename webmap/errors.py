"""Errors as the client expects them: JSON under /api, Open311's error list under /open311,
a short page elsewhere; never a trace, never SQL.

A database that is down, restarting, read-only or full is a 503 that says so (layers/faults.py):
the request that met it fails, the next one gets a fresh connection (pool_pre_ping), and the
app itself never needs a restart."""
import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from layers import faults
from webmap.i18n import html_lang


def _wants_json():
    return request.path.startswith(("/api/", "/healthz"))


def _open311():
    return request.path.startswith("/open311/")


def _open311_errors(code, description):
    """GeoReport v2's error format: a list of {code, description}, with the same HTTP status."""
    return jsonify([{"code": code, "description": description}]), code


def handle_http(exc):
    if _open311():
        return _open311_errors(exc.code, exc.description)
    if _wants_json():
        fields = getattr(exc, "errors", None)  # webmap.validate.Invalid: every bad field
        return (jsonify(error=exc.description, fields=fields) if fields else jsonify(error=exc.description)), exc.code
    return exc


def handle_unexpected(exc):
    from flask import current_app

    current_app.logger.exception("unhandled error")
    message = _("服务器内部错误，请稍后再试")
    if _open311():
        return _open311_errors(500, message)
    if _wants_json():
        return jsonify(error=message), 500
    return message, 500


def fault_message(kind):
    """The user's message for a kind of database fault (layers/faults.py)."""
    return {
        faults.UNAVAILABLE: _("数据库不可用，请稍后再试"),
        faults.READ_ONLY: _("数据库当前只读：可以查看，暂不能保存修改，请稍后再试"),
        faults.DISK_FULL: _("数据库存储空间已满：可以查看，暂不能保存修改，请联系管理员"),
        faults.BUSY: _("数据库繁忙，请稍后再试"),
    }[kind]


def unavailable_page(message):
    """A page that needs nothing from the database (no signed-in user, no layout queries)."""
    return (f'<!doctype html><html lang="{html_lang()}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(message)}</title><link rel="stylesheet" href="/static/pages.css"></head>'
            f'<body><main><h1>{escape(message)}</h1></main></body></html>')


def handle_database(exc):
    kind = faults.kind(exc)
    if kind is None:
        return handle_unexpected(exc)
    # One line for the operator: the kind and the driver's first line, never the statement.
    detail = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()
    current_app.logger.warning("database %s: %s %s", kind, request.path, detail[0] if detail else "")
    message = fault_message(kind)
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    if _open311():
        response, status = _open311_errors(503, message)
        response.headers.update(headers)
        return response, status
    if _wants_json():
        return jsonify(error=message), 503, headers
    return unavailable_page(message), 503, {**headers, "Content-Type": "text/html; charset=utf-8"}


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(sa.exc.DBAPIError, handle_database)
    app.register_error_handler(sa.exc.TimeoutError, handle_database)
    app.register_error_handler(Exception, handle_unexpected)
