"""Migrations and the database's own guarantees: typed, valid geometry; issues located by
PostGIS; an append-only event log."""
import pytest
import sqlalchemy as sa

from layers import migrate
from layers.db import make_engine


def test_migrations_apply_once_then_do_nothing(empty_database):
    eng = make_engine(empty_database)
    first = migrate.upgrade(eng, echo=lambda *_: None)
    assert first and first[0] == "0001_schema"
    assert migrate.upgrade(eng, echo=lambda *_: None) == []
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stage")).scalar() == 10
    eng.dispose()


def test_cli_db_upgrade_twice(runner):
    first = runner.invoke(args=["db", "upgrade"])
    second = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "0 migration(s) applied" in second.output


def test_invalid_geometry_is_refused(engine):
    bowtie = "MULTIPOLYGON(((113.28 34.80, 113.29 34.81, 113.29 34.80, 113.28 34.81, 113.28 34.80)))"
    with pytest.raises(sa.exc.IntegrityError, match="check constraint"):
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO compound (community_id, name, geom) "
                                 "SELECT min(id), 'bowtie', ST_GeomFromText(:w, 4326) FROM community"),
                         {"w": bowtie})
    with pytest.raises(sa.exc.DataError):  # a point is not a MultiPolygon
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO compound (community_id, name, geom) SELECT min(id), "
                                 "'pt', ST_GeomFromText('POINT(113.28 34.8)', 4326) FROM community"))


def _insert_issue(conn, lon, lat):
    return conn.execute(sa.text(
        "INSERT INTO issue (title, category, channel, geom) VALUES ('t', 'road', 'phone', "
        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING community_id, grid_id, compound_id"),
        {"lon": lon, "lat": lat}).one()


def test_issue_is_located_by_postgis(engine):
    with engine.begin() as conn:
        lon, lat, compound_id, grid_id, community_id = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p), c.id, c.grid_id, c.community_id FROM compound c, "
            "ST_PointOnSurface(c.geom) p WHERE c.name = '乐福国际小区'")).one()
        assert tuple(_insert_issue(conn, lon, lat)) == (community_id, grid_id, compound_id)
        conn.rollback()


def test_issue_outside_the_subdistrict_is_refused(engine):
    with pytest.raises(sa.exc.IntegrityError, match="outside the subdistrict"):
        with engine.begin() as conn:
            _insert_issue(conn, 113.65, 34.75)


def test_issue_event_log_is_append_only(engine):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE issue_event SET note = 'x' WHERE id = (SELECT min(id) FROM issue_event)"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM issue_event"))
