"""Two transactions advancing issues of one compound at once: the second's refresh of the
compound's state waits for the first to commit (migration 0014) instead of failing on the
state row the first wrote again, and the kept counts agree with the issues afterwards. The
two issues differ in category and month, so no tally row makes them take turns anyway."""
import threading
import time

import psycopg2
import pytest
import sqlalchemy as sa

from tests.helpers import q

NEW_ISSUE = """INSERT INTO issue (community_id, title, category, channel, geom, reported_at, stage_changed_at)
               SELECT m.id, :title, :category, 'phone', p.geom, :at, :at
                 FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) p
                 JOIN community m ON ST_Covers(m.geom, p.geom)
                ORDER BY m.id LIMIT 1
               RETURNING id"""
ADVANCE = "UPDATE issue SET stage = 'topic', version = version + 1, stage_changed_at = now() WHERE id = %s"


@pytest.fixture
def connect(database):
    opened = []

    def open_one():
        conn = psycopg2.connect(database)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


def test_two_writers_in_one_compound_take_turns(engine, connect):
    compound_id, grid_id, community_id, lon, lat = q(engine, """
        SELECT c.id, c.grid_id, c.community_id, ST_X(p), ST_Y(p)
          FROM compound c, ST_PointOnSurface(c.geom) p ORDER BY c.id LIMIT 1""")[0]
    with engine.begin() as conn:
        a, b = (conn.execute(sa.text(NEW_ISSUE), {"title": title, "category": category, "lon": lon, "lat": lat,
                                                  "at": at}).scalar()
                for title, category, at in (("并发一", "road", "2026-01-15T10:00:00+08:00"),
                                            ("并发二", "utilities", "2026-03-15T10:00:00+08:00")))
    first, second = connect(), connect()
    first.cursor().execute(ADVANCE, (a,))   # holds the compound's fresh state row
    outcome = {}

    def write_second():
        try:
            with second.cursor() as cur:
                cur.execute(ADVANCE, (b,))
            second.commit()
            outcome["ok"] = True
        except psycopg2.Error as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=write_second)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not q(
            engine, "SELECT 1 FROM pg_stat_activity WHERE pid = :p AND wait_event_type = 'Lock'",
            p=second.get_backend_pid()):
        time.sleep(0.05)
    first.commit()
    thread.join(30)
    assert outcome.get("ok"), outcome.get("error")
    for table, column, value in (("compound_state", "compound_id", compound_id),
                                 ("grid_state", "grid_id", grid_id),
                                 ("community_state", "community_id", community_id)):
        kept = q(engine, f"SELECT open_issues FROM {table} WHERE {column} = :v", v=value)
        counted = q(engine, f"SELECT count(*) FROM issue WHERE {column} = :v AND due_at IS NOT NULL", v=value)
        assert kept == counted, (table, kept, counted)
