"""The state kept in the database (migration 0006): per-compound, per-grid and per-community
open counts and deadlines, 三长 vacancies, the dashboard's tallies and a version per community.

Row triggers keep it in the same transaction as every change. A bulk load skips them for
its own transaction and rebuilds the state once at the end, which is what ``bulk_load`` does.
"""
from contextlib import contextmanager

import sqlalchemy as sa


# state_rebuild() empties the state tables and fills them from the places: on Citus it must
# then reach every shard over one connection per node (a parallel TRUNCATE of a table that
# points at a reference table, then a read of that reference table, is refused). Plain
# PostgreSQL keeps the setting as a placeholder and ignores it.
REBUILD = "SET LOCAL citus.multi_shard_modify_mode = 'sequential'; SELECT state_rebuild()"


@contextmanager
def bulk_load(conn):
    """Inside the caller's transaction: no per-row state upkeep, then one rebuild."""
    conn.execute(sa.text("SET LOCAL gridmap.bulk_load = 'on'"))
    yield conn
    conn.execute(sa.text("SET LOCAL gridmap.bulk_load = 'off'"))
    conn.execute(sa.text(REBUILD))


def rebuild(conn):
    conn.execute(sa.text(REBUILD))
