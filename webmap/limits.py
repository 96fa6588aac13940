"""Abuse limits: failed sign-ins per account and per address, issue records per user and
Open311 submissions per API key (Flask-Limiter), and the largest request body accepted.

Each app gets its own Limiter (so two apps in one process, as in the tests, never share
counters). Limits are read from the config on every request, so a setting changed at run
time applies at once. The default storage is in memory: counters are per worker process.
"""
import os
import time

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge

from webmap import errors

# Setting: default. Each may be given in the environment under the same name.
DEFAULTS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Failed sign-ins only: a successful one never counts.
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_LIMIT_PER_IP": "30 per 15 minutes",
    "ISSUE_LIMIT": "60 per hour",          # POST /api/issues, per signed-in user
    "OPEN311_LIMIT": "300 per hour",       # POST /open311/v2/requests.json, per API key
    # A photo (≤ 5 MB) and its form fields fit; anything larger is refused before it is read.
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
}


def _from_env(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if isinstance(default, bool):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    if isinstance(default, int):
        return int(value)
    return value


def _setting(name):
    return lambda: current_app.config[name]


def _account_key():
    return "account:" + (request.form.get("name") or "").strip().lower()


def _user_key():
    from flask_login import current_user

    return f"user:{current_user.account.id}" if current_user.is_authenticated else get_remote_address()


def _api_key():
    return "apikey:" + (request.form.get("api_key") or get_remote_address())


def _failed_sign_in(response):
    return response.status_code == 401


def _seconds_left():
    """Seconds until the breached limit lets a request through again."""
    breached = current_app.extensions["gridmap_limiter"].current_limit
    return max(1, int(breached.reset_at - time.time())) if breached else 60


def too_many(exc):
    """429 in the user's language: the sign-in page with a lockout message, or the API's
    JSON (Open311's error list). Flask-Limiter adds ``Retry-After``."""
    minutes = -(-_seconds_left() // 60)
    if request.endpoint == "auth.login":
        message = _("尝试次数过多，已暂时锁定，请 %(minutes)s 分钟后再试", minutes=minutes)
        return render_template("login.html", error=message), 429
    exc.description = _("提交过于频繁，请 %(minutes)s 分钟后再试", minutes=minutes)
    return errors.handle_http(exc)


def too_large(exc):
    """413 naming the limit (JSON under /api and /open311)."""
    limit_mb = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    exc.description = _("请求内容过大：不能超过 %(mb)s MB", mb=f"{limit_mb:g}")
    return errors.handle_http(exc)


def _wrap(app, endpoint, *limits):
    view = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def init_app(app):
    """Configure the limits and wrap the sign-in and submission views; call after the
    blueprints are registered."""
    for name, default in DEFAULTS.items():
        if app.config.get(name) is None:   # Flask itself sets MAX_CONTENT_LENGTH = None
            app.config[name] = _from_env(name, default)
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["gridmap_limiter"] = limiter
    _wrap(app, "auth.login",
          limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"],
                        deduct_when=_failed_sign_in, scope="login-account"),
          limiter.limit(_setting("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed_sign_in,
                        scope="login-ip"))
    _wrap(app, "issues.create_issue",
          limiter.limit(_setting("ISSUE_LIMIT"), key_func=_user_key, scope="issue-record"))
    _wrap(app, "open311.create_request",
          limiter.limit(_setting("OPEN311_LIMIT"), key_func=_api_key, scope="open311-post"))
    app.register_error_handler(RateLimitExceeded, too_many)
    app.register_error_handler(RequestEntityTooLarge, too_large)
