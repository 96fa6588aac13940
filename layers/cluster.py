"""A private PostgreSQL/PostGIS cluster kept in a folder (``var/pg`` or a test's temp dir).

PostgreSQL refuses to run as root, so when the effective user is root every
``initdb``/``pg_ctl`` call runs as the unprivileged ``postgres`` user. The
cluster listens only on a Unix socket inside its own folder: nothing is exposed
on the network and two clusters never fight over a port.
"""
import fcntl
import glob
import json
import os
import pwd
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path

DB_NAME = "gridmap"
SUPERUSER = "postgres"


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


def _pg_bindir():
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(path, "pg_ctl")):
            return path
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    raise ClusterError("PostgreSQL is not installed (no pg_ctl found); run `make run` to install it")


class Cluster:
    def __init__(self, root, throwaway=False, port=5432, settings=()):
        """``port``: also a TCP port on localhost when ``settings`` open one (a Citus node,
        layers/citus_cluster.py); otherwise only the socket's name. ``settings``: more lines
        for postgresql.conf."""
        self.root = Path(root).resolve()
        self.throwaway = throwaway
        self.port = port
        self.settings = list(settings)
        self.data = self.root / "data"
        self.run_dir = self.root / "run"
        self.log = self.root / "postgres.log"
        self.bindir = _pg_bindir()
        self._as_root = os.geteuid() == 0
        self._token = None

    @property
    def url(self):
        return self.url_of(DB_NAME)

    def url_of(self, database):
        port = "" if self.port == 5432 else f"&port={self.port}"
        return f"postgresql://{SUPERUSER}@/{database}?host={self.run_dir}{port}"

    def _cmd(self, *args):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True)

    def _prepare_dirs(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        if self._as_root:
            pg = pwd.getpwnam("postgres")
            for path in (self.root, self.run_dir):
                os.chown(path, pg.pw_uid, pg.pw_gid)
            # The postgres user must be able to walk down to the folder.
            for parent in self.root.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)

    def initialised(self):
        return (self.data / "PG_VERSION").exists()

    def running(self):
        if not self.initialised():
            return False
        return self._cmd("pg_ctl", "status", "-D", str(self.data)).returncode == 0

    def init(self):
        self._prepare_dirs()
        if self.initialised():
            return
        result = self._cmd("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8")
        if result.returncode != 0:
            raise ClusterError(f"initdb failed: {result.stderr.strip()}")
        settings = [
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.run_dir}'",
            "unix_socket_permissions = 0700",
            f"port = {self.port}",
        ]
        if self.throwaway:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# private cluster: socket only, inside its own folder\n")
            conf.write("\n".join(settings + self.settings) + "\n")

    def start(self):
        """Initialise if needed and start; returns True when this call started it."""
        self.init()
        if self.running():
            return False
        result = self._cmd("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                           "-l", str(self.log))
        if result.returncode != 0:
            tail = self.log.read_text()[-800:] if self.log.exists() else result.stderr
            raise ClusterError(f"PostgreSQL did not start: {tail.strip()}")
        self._ensure_database()
        return True

    def stop(self):
        if self.running():
            self._cmd("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    # Several processes may serve from one cluster (two `make run` on different ports): each
    # registers in ``users.json`` while it runs, and only the last one out stops the cluster,
    # and only if one of them started it. A process that died without leaving is skipped.

    @contextmanager
    def _users(self):
        """The users file, read and written under an exclusive lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "users.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.root / "users.json"
            state = json.loads(path.read_text()) if path.exists() else {"users": [], "owned": False}
            state["users"] = [u for u in state["users"] if _alive(int(u.split(":")[0]))]
            yield state
            path.write_text(json.dumps(state))

    def acquire(self):
        """Start the cluster if needed and register this user of it (until ``release``)."""
        with self._users() as state:
            if self.start():
                state["owned"] = True   # else it stays as it was: started by a user (perhaps one
                                        # that died since) or by someone else, a `flask …` command
            self._token = f"{os.getpid()}:{uuid.uuid4().hex}"
            state["users"].append(self._token)

    def release(self):
        """Unregister; stop the cluster if no other user is left and a user started it.
        Returns (stopped, the number of other users still on it)."""
        with self._users() as state:
            state["users"] = [u for u in state["users"] if u != self._token]
            self._token = None
            if state["users"] or not state["owned"]:
                return False, len(state["users"])
            self.stop()
            state["owned"] = False
            return True, 0

    def _ensure_database(self):
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user=SUPERUSER, host=str(self.run_dir),
                                port=self.port)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DB_NAME}"')
        conn.close()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
