"""Errors as the client expects them: JSON under /api, Open311's error list under /open311,
a short page elsewhere; never a trace."""
from flask import jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


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


def security_headers(response):
    """Headers every response carries: no MIME sniffing, no framing by other sites, no
    referrer (with its query string) sent elsewhere."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app):
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
