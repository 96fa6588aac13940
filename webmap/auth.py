"""Signing in and out, the session cookie, CSRF protection, and role checks.

Flask-Login keeps a session token in the signed cookie; the token lives server-side in
``user_session`` (see layers/users.py), so logout, a password change or disabling the user
kills a copied cookie at once. Every state-changing request needs a CSRF token (Flask-WTF).
"""

import functools

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from layers import users

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


class SessionUser:
    """What Flask-Login holds: the session token and the account behind it."""

    def __init__(self, token, account):
        self.token = token
        self.account = account

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self):
        return self.token


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


@login_manager.user_loader
def load_user(token):
    cfg = current_app.config
    account = users.account_for_session(token, cfg["SESSION_IDLE"], cfg["SESSION_ABSOLUTE"])
    return SessionUser(token, account) if account else None


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=_("请先登录")), 401
    return redirect(url_for("auth.login", next=request.full_path))


def roles_required(*roles):
    """Only signed-in users with one of ``roles`` (401 when signed out, 403 otherwise)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.account.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def ledger_view(view):
    """The issue ledger (the list and its exports): signed-in users only, unless the setting
    ``PUBLIC_LEDGER`` opens it to everyone. The 公示 pages and the dashboard's figures stay public."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.config["PUBLIC_LEDGER"] and not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)
    return wrapper


def _safe_next(target):
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user_id = users.authenticate(request.form.get("name", ""), request.form.get("password", ""))
        if user_id is None:
            error = _("用户名或密码不正确")
        else:
            session.clear()  # no session fixation: a fresh session on every sign-in
            login_user(SessionUser(users.open_session(user_id), None))
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        users.close_session(current_user.token)
    logout_user()
    session.clear()
    flash(_("已退出登录"))
    response = redirect(url_for("mapview.index"))
    # The phone's offline copy of the area (Cache Storage, IndexedDB, the service worker) goes
    # with the session; the page script also deletes it when an API call answers 401.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def init_app(app):
    app.config.setdefault("SESSION_IDLE", users.SESSION_IDLE)
    app.config.setdefault("PUBLIC_LEDGER", False)
    app.config.setdefault("SESSION_ABSOLUTE", users.SESSION_ABSOLUTE)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=app.config["SESSION_ABSOLUTE"],
                      WTF_CSRF_TIME_LIMIT=None)
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)

