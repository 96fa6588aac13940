"""`make run`: start the local PostGIS cluster (unless DATABASE_URL is set), migrate, load the
sample subdistrict into an empty database, then serve with gunicorn in the foreground.
Each `make run` registers as a user of the local cluster; the last one to exit stops it (if one
of them started it), so a second `make run` never loses its database under it."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from app import create_app
from layers import db, hierarchy, migrate
from layers.cluster import ClusterError


def prepare(app):
    """Bring the database up to date; returns True if this call registered as a user of the
    embedded cluster (then ``release`` it on exit)."""
    embedded = app.config.get("EMBEDDED_CLUSTER")
    acquired = False
    if embedded is not None:
        print(f"PostGIS: local cluster in {embedded.root}", flush=True)
        embedded.acquire()
        acquired = True
    eng = app.extensions["gridmap_engine"]
    db.check(eng)
    migrate.upgrade(eng)
    if hierarchy.empty(eng):
        from data import sample

        print("empty database: loading the sample subdistrict (示例数据)", flush=True)
        print(sample.load(eng, accounts_file=app.config["DEMO_ACCOUNTS_FILE"]), flush=True)
    elif app.config["DEMO_ACCOUNTS_FILE"].exists():
        print(f"demo accounts (示例账号) and their passwords: {app.config['DEMO_ACCOUNTS_FILE']}", flush=True)
    return acquired


def main():
    app = create_app()
    embedded = app.config.get("EMBEDDED_CLUSTER")
    try:
        acquired = prepare(app)
    except (ClusterError, db.DatabaseUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if embedded is not None:
            embedded.release()
        sys.exit(2)
    app.extensions["gridmap_engine"].dispose()
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY=app.config["SECRET_KEY"])
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn), "--bind", f"{host}:{port}", "--worker-class", "gthread",
           "--workers", os.environ.get("WORKERS", "2"), "--threads", "8",
           "--access-logfile", "-", "app:create_app()"]
    print(f"serving on http://{host}:{port}", flush=True)
    server = subprocess.Popen(cmd, env=env)
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        server.wait()
    except KeyboardInterrupt:
        server.wait()
    finally:
        if acquired:
            stopped, others = embedded.release()
            print("stopped the local PostGIS cluster" if stopped else
                  f"the local PostGIS cluster stays up ({others} other user(s))", flush=True)
    sys.exit(server.returncode or 0)


if __name__ == "__main__":
    main()
