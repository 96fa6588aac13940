"""The engine and the one query gateway every read and write goes through.

The gateway applies a statement time limit and a row cap, so a bad query or an
oversized request fails with a clear error instead of hanging a worker.
"""
import functools
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app, has_request_context

DEFAULT_TIMEOUT_MS = 15_000
DEFAULT_MAX_ROWS = 200_000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or lacks PostGIS; the message is one line for the user."""


class TooManyRows(RuntimeError):
    pass


def make_engine(url):
    # DATABASE_URL is the libpq form (postgresql://…); the driver is psycopg2.
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg2://" + url[len(scheme):]
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def engine():
    return current_app.extensions["gridmap_engine"]


def check(eng):
    """Raise DatabaseUnavailable unless the database answers and has PostGIS installable."""
    try:
        with eng.connect() as conn:
            available = conn.execute(sa.text(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"database unreachable: {reason}") from None
    if available is None:
        raise DatabaseUnavailable("the database server has no PostGIS extension available")


def accessor():
    """Who the current request acts for, as the access log's JSON, or None outside a request.

    Set by the web layer (webmap/access_log.py) through ``app.extensions["gridmap_accessor"]``.
    """
    if not has_request_context():
        return None
    hook = current_app.extensions.get("gridmap_accessor")
    return hook() if hook else None


@contextmanager
def transaction(eng=None, timeout_ms=DEFAULT_TIMEOUT_MS):
    """One transaction with a statement time limit; commits on success, rolls back on error."""
    with (eng or engine()).begin() as conn:
        # No JIT: these are short interactive queries, and the planner's cost guesses for the
        # per-compound subqueries switch it on, spending ~0.5 s compiling a 50 ms query.
        settings = f"SET LOCAL statement_timeout = {int(timeout_ms)}; SET LOCAL jit = off"
        who = accessor()
        if who is None:
            conn.execute(sa.text(settings))
        else:  # for the personal-data access log (migration 0012), in the same round trip
            conn.execute(sa.text(settings + "; SELECT set_config('gridmap.accessor', :who, true)"),
                         {"who": who})
        yield conn


@contextmanager
def joined(conn=None, eng=None):
    """The caller's transaction when there is one, else a new one."""
    if conn is not None:
        yield conn
    else:
        with transaction(eng) as own:
            yield own


def rows(sql, params=None, *, conn=None, max_rows=DEFAULT_MAX_ROWS, timeout_ms=DEFAULT_TIMEOUT_MS):
    """Run a query and return its rows as mappings, refusing more than ``max_rows``."""
    if conn is None:
        with transaction(timeout_ms=timeout_ms) as own:
            return rows(sql, params, conn=own, max_rows=max_rows)
    result = conn.execute(sa.text(sql), params or {})
    fetched = result.mappings().fetchmany(max_rows + 1)
    if len(fetched) > max_rows:
        raise TooManyRows(f"query returned more than {max_rows} rows")
    return fetched


def execute(sql, params=None, *, conn=None, timeout_ms=DEFAULT_TIMEOUT_MS):
    """Run a statement that returns no rows (or whose rows are not wanted); returns rowcount."""
    if conn is None:
        with transaction(timeout_ms=timeout_ms) as own:
            return own.execute(sa.text(sql), params or {}).rowcount
    return conn.execute(sa.text(sql), params or {}).rowcount


def postgis_version():
    """PostGIS's version, from the database: the health check's one cheap round trip."""
    return scalar("SELECT postgis_lib_version()", timeout_ms=2_000)


def scalar(sql, params=None, *, conn=None, timeout_ms=DEFAULT_TIMEOUT_MS):
    if conn is None:
        with transaction(timeout_ms=timeout_ms) as own:
            return own.execute(sa.text(sql), params or {}).scalar()
    return conn.execute(sa.text(sql), params or {}).scalar()


def on_citus():
    """Whether the app's database is a Citus coordinator (docs/scaling.md); read once per URL."""
    return _on_citus(str(engine().url))


@functools.lru_cache(maxsize=16)
def _on_citus(_url):
    return scalar("SELECT count(*) > 0 FROM pg_extension WHERE extname = 'citus'", timeout_ms=2_000)
