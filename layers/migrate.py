"""Versioned migrations: numbered SQL files in ``layers/migrations``, each applied once, in
its own transaction, under an advisory lock so two processes never migrate at once.

Plain SQL rather than Alembic: the schema is PostGIS DDL (typed geometry, triggers,
GiST indexes) that an ORM model would only restate, and there are no models to autogenerate from.
"""
from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_ID = 7_146_146


def pending(conn):
    conn.execute(sa.text(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
    applied = {r[0] for r in conn.execute(sa.text("SELECT version FROM schema_migration"))}
    return [p for p in sorted(MIGRATIONS.glob("*.sql")) if p.stem not in applied]


def upgrade(eng, echo=print):
    """Apply every pending migration; returns the versions applied (none on a second run)."""
    done = []
    with eng.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        for path in pending(conn):
            echo(f"applying {path.stem}")
            # The raw cursor: the SQL holds PL/pgSQL '%' placeholders, not driver parameters.
            conn.connection.driver_connection.cursor().execute(path.read_text())
            conn.execute(sa.text("INSERT INTO schema_migration (version) VALUES (:v)"),
                         {"v": path.stem})
            done.append(path.stem)
    return done
