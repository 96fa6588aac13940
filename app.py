"""The Flask application factory: configuration, the engine, blueprints and CLI groups."""
import os
import re
import secrets
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent
VAR = Path(os.environ.get("GRIDMAP_VAR", ROOT / "var"))


def _secret_key():
    """SECRET_KEY from the environment, else one generated once and kept under var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def demo_accounts_file(var, url, local):
    """Where `sample load` keeps the demo passwords: one file per database, so loading the
    sample elsewhere never replaces the passwords of the local map (``var/demo-accounts.txt``)."""
    if local:
        return var / "demo-accounts.txt"
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "local"
    if isinstance(host, tuple):
        host = host[0]
    label = "-".join(str(part) for part in (host, parsed.port, parsed.database) if part)
    return var / f"demo-accounts-{re.sub(r'[^A-Za-z0-9._-]+', '_', label).strip('_.')}.txt"


def create_app(test_config=None):
    from layers import cluster, db

    app = Flask(__name__, template_folder="webmap/templates", static_folder="webmap/static")
    app.json.ensure_ascii = False
    if test_config is None:
        app.config.update(
            SECRET_KEY=_secret_key(),
            DATABASE_URL=os.environ.get("DATABASE_URL"),
            BASEMAP=os.environ.get("BASEMAP", "none"),
            TIANDITU_KEY=os.environ.get("TIANDITU_KEY"),
            DEMO_ACCOUNTS_FILE=VAR / "demo-accounts.txt",
            PATROL_MAX_DISTANCE_M=float(os.environ.get("PATROL_MAX_DISTANCE_M", "200")),
            PUBLIC_LEDGER=os.environ.get("PUBLIC_LEDGER", "").lower() in ("1", "true", "yes"),
            FORWARDED_PROXIES=int(os.environ.get("FORWARDED_PROXIES", "0")),
        )
        if not app.config["DATABASE_URL"]:
            embedded = cluster.Cluster(VAR / "pg")
            app.config["DATABASE_URL"] = embedded.url
            app.config["EMBEDDED_CLUSTER"] = embedded
    else:
        app.config.update(BASEMAP="none")
        app.config.update(test_config)
    app.config.setdefault("VAR", VAR)
    app.config.setdefault("DEMO_ACCOUNTS_FILE", demo_accounts_file(
        Path(app.config["VAR"]), app.config["DATABASE_URL"], "EMBEDDED_CLUSTER" in app.config))

    app.extensions["gridmap_engine"] = db.make_engine(app.config["DATABASE_URL"])

    from data.cli import import_cli, sample_cli, synth_cli
    from layers.cli import apikeys_cli, db_cli, users_cli
    from webmap import (api, area, assets, auth, dashboard, errors, exports, health, hotspots, i18n,
                        issuelist, issues, mapview, meetings, nav, notice, offline, ogc, open311, openapi,
                        patrols, printmap, roster, search, security, tiles, validate)
    from webmap import access_log, limits

    i18n.init_app(app)
    nav.init_app(app)
    validate.init_app(app)   # before auth's CSRF check
    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    for blueprint in (health.bp, api.bp, area.bp, assets.bp, issues.bp, mapview.bp, meetings.bp,
                      notice.bp, printmap.bp, hotspots.bp, dashboard.bp, issuelist.bp, open311.bp,
                      openapi.bp, exports.bp, search.bp, tiles.bp, ogc.bp, roster.bp, patrols.bp, offline.bp):
        app.register_blueprint(blueprint)
    limits.init_app(app)
    access_log.init_app(app)
    for group in (db_cli, sample_cli, import_cli, synth_cli, users_cli, apikeys_cli):
        app.cli.add_command(group)
    return app
