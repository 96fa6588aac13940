"""A private PostgreSQL/PostGIS cluster kept in a folder (``var/pg`` or a test's temp dir).

PostgreSQL refuses to run as root, so when the effective user is root every
``initdb``/``pg_ctl`` call runs as the unprivileged ``postgres`` user. The
cluster listens only on a Unix socket inside its own folder: nothing is exposed
on the network and two clusters never fight over a port.
"""
import glob
import os
import pwd
import shutil
import subprocess
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
    def __init__(self, root, throwaway=False):
        self.root = Path(root).resolve()
        self.throwaway = throwaway
        self.data = self.root / "data"
        self.run_dir = self.root / "run"
        self.log = self.root / "postgres.log"
        self.bindir = _pg_bindir()
        self._as_root = os.geteuid() == 0

    @property
    def url(self):
        return f"postgresql://{SUPERUSER}@/{DB_NAME}?host={self.run_dir}"

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
        ]
        if self.throwaway:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# private cluster: socket only, inside its own folder\n")
            conf.write("\n".join(settings) + "\n")

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

    def _ensure_database(self):
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user=SUPERUSER, host=str(self.run_dir))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DB_NAME}"')
        conn.close()
