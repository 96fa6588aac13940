"""A full backup of the database with pg_dump (custom format), and its restore into an empty
database in one transaction (pg_restore --single-transaction): all of it, or nothing.

The PostgreSQL client programs are the server's own (found like the local cluster's, see
layers/cluster.py). The connection goes through libpq's environment, so a password in
DATABASE_URL never shows in the process list.
"""
import os
import re
import subprocess
import tempfile

import sqlalchemy as sa
from tqdm import tqdm

from layers import cluster

# Relations in the database's own schemas that are not part of an extension (PostGIS's
# spatial_ref_sys is): any one of them means the database is not empty.
USER_RELATIONS = """
    SELECT n.nspname || '.' || c.relname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1"""

TABLES = """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"""


# The Citus extension's own entries in a backup of a coordinator (citus, citus_columnar).
CITUS_ITEM = re.compile(r" (EXTENSION - |COMMENT - EXTENSION )citus(_columnar)?( |$)")


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why."""


def _program(name):
    try:
        return os.path.join(cluster._pg_bindir(), name)
    except cluster.ClusterError as exc:
        raise BackupError(str(exc)) from None


def _libpq_env(url):
    """The environment that points libpq at ``url`` (PGHOST, PGDATABASE, ...)."""
    u = sa.engine.make_url(url)
    env = dict(os.environ)
    for var, value in (("PGHOST", u.host or u.query.get("host")), ("PGPORT", u.port or u.query.get("port")),
                       ("PGUSER", u.username), ("PGPASSWORD", u.password),
                       ("PGDATABASE", u.database), ("PGSSLMODE", u.query.get("sslmode"))):
        if value is not None:
            env[var] = str(value)
    return env


def _run(cmd, env, total, counts, unit):
    """Run a verbose pg_dump/pg_restore with a progress bar advanced by the stderr lines
    that ``counts`` matches; the other lines are kept for the error message."""
    other = []
    with tqdm(total=total, unit=unit, dynamic_ncols=True) as bar:
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        for line in process.stderr:
            if counts.search(line):
                bar.update(1)
                bar.set_postfix_str(line.strip().split(" ", 1)[-1][-50:], refresh=False)
            else:
                other.append(line.rstrip())
        process.wait()
        if process.returncode == 0:
            bar.n = total
            bar.refresh()
    if process.returncode != 0:
        errors = [line for line in other if "error" in line.lower()] or other
        raise BackupError("\n".join(errors[-10:]) or f"{os.path.basename(cmd[0])} failed")


def backup(eng, url, path):
    """Dump the whole database to ``path`` (custom format); returns the file's size in bytes."""
    with eng.connect() as conn:
        tables = conn.execute(sa.text(TABLES)).scalar()
    _run([_program("pg_dump"), "--format=custom", "--verbose", f"--file={path}"], _libpq_env(url),
         tables, re.compile(r"dumping contents of table"), "table")
    return os.path.getsize(path)


def non_empty(eng):
    """The user relations already in the database (empty list when it is empty)."""
    with eng.connect() as conn:
        return list(conn.execute(sa.text(USER_RELATIONS)).scalars())


def restore(eng, url, path):
    """Restore ``path`` into the database, which must be empty, in one transaction."""
    if not os.path.isfile(path):
        raise BackupError(f"没有这个备份文件：{path}")
    existing = non_empty(eng)
    if existing:
        raise BackupError(f"目标数据库不是空的（已有 {len(existing)} 个表或视图，如 "
                          f"{', '.join(existing[:3])}）：只能恢复到空数据库，请新建一个空数据库再恢复")
    listing = subprocess.run([_program("pg_restore"), "--list", path], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"不是 pg_dump 自定义格式的备份文件：{path}（{listing.stderr.strip()}）")
    # A backup of a Citus coordinator holds every row (pg_dump reads a distributed table
    # through the coordinator) as plain tables, and the Citus extension, which is left out:
    # the restore is a single-node database, on plain PostgreSQL or on a Citus coordinator
    # (then `db distribute` spreads it again; docs/scaling.md).
    items = [line for line in listing.stdout.splitlines()
             if line and not line.startswith(";") and not CITUS_ITEM.search(line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as chosen:
        chosen.write("\n".join(items) + "\n")
        chosen.flush()
        # Owners and grants are the restoring user's: the backup may come from another server.
        _run([_program("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner",
              "--no-privileges", "--verbose", f"--use-list={chosen.name}",
              f"--dbname={_libpq_env(url)['PGDATABASE']}", path],
             _libpq_env(url), len(items), re.compile(r"^pg_restore: (creating|processing|executing)"), "item")
    return len(items)
