"""The state kept in the database (migration 0006): per-compound, per-grid and per-community
open counts and deadlines, 三长 vacancies, the dashboard's tallies and a version per community.

Row triggers keep it in the same transaction as every change. A bulk load skips them for
its own transaction and rebuilds the state once at the end, which is what ``bulk_load`` does.
"""
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def bulk_load(conn):
    """Inside the caller's transaction: no per-row state upkeep, then one rebuild."""
    conn.execute(sa.text("SET LOCAL gridmap.bulk_load = 'on'"))
    yield conn
    conn.execute(sa.text("SET LOCAL gridmap.bulk_load = 'off'"))
    conn.execute(sa.text("SELECT state_rebuild()"))


def rebuild(conn):
    conn.execute(sa.text("SELECT state_rebuild()"))
