"""Errors as the client expects them: JSON under /api, a short page elsewhere; never a trace."""
from flask import jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


def _wants_json():
    return request.path.startswith(("/api/", "/healthz"))


def handle_http(exc):
    if _wants_json():
        return jsonify(error=exc.description), exc.code
    return exc


def handle_unexpected(exc):
    from flask import current_app

    current_app.logger.exception("unhandled error")
    message = _("服务器内部错误，请稍后再试")
    if _wants_json():
        return jsonify(error=message), 500
    return message, 500


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
