"""Migrations and the database's own guarantees: typed, valid geometry; issues located by
PostGIS; an append-only event log."""
import pytest
import sqlalchemy as sa

from layers import migrate
from layers.db import make_engine
from tests.conftest import CITUS
from tests.helpers import add_user, login, q


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


def _insert_issue(conn, lon, lat, community=None):
    """An INSERT as the loaders write it, with no place: the trigger fills community, grid and
    compound. On Citus the INSERT must name a community (it routes the row), as the app does
    after finding it; the trigger fills the rest and checks the community."""
    named = ", community_id" if community is not None else ""
    return conn.execute(sa.text(
        f"INSERT INTO issue (title, category, channel, geom{named}) VALUES ('t', 'road', 'phone', "
        f"ST_SetSRID(ST_MakePoint(:lon, :lat), 4326){', :c' if named else ''}) "
        "RETURNING community_id, grid_id, compound_id"), {"lon": lon, "lat": lat, "c": community}).one()


def test_issue_is_located_by_postgis(engine):
    with engine.begin() as conn:
        lon, lat, compound_id, grid_id, community_id = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p), c.id, c.grid_id, c.community_id FROM compound c, "
            "ST_PointOnSurface(c.geom) p WHERE c.name = '乐福国际小区'")).one()
        named = community_id if CITUS else None
        assert tuple(_insert_issue(conn, lon, lat, named)) == (community_id, grid_id, compound_id)
        conn.rollback()
    if CITUS:    # a location in another community than the one named is refused
        with pytest.raises(sa.exc.DBAPIError, match="stays in the community it was recorded in"):
            with engine.begin() as conn:
                _insert_issue(conn, lon, lat, q(engine, "SELECT min(id) FROM community WHERE id <> :c",
                                                c=community_id)[0][0])


def test_issue_outside_the_subdistrict_is_refused(engine):
    community = q(engine, "SELECT min(id) FROM community")[0][0] if CITUS else None
    with pytest.raises(sa.exc.IntegrityError, match="outside the subdistrict"):
        with engine.begin() as conn:
            _insert_issue(conn, 113.65, 34.75, community)


def test_issue_event_log_is_append_only(engine):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE issue_event SET note = 'x' WHERE id = (SELECT min(id) FROM issue_event)"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM issue_event"))


# Distribution keys (migration 0009, docs/scaling.md) ----------------------------------
# The tables that grow with the history, to be distributed by community_id on Citus. Citus
# refuses a primary or unique key without the distribution column, and a foreign key between
# distributed tables that does not pair their distribution columns.
BIG_TABLES = {
    "issue": "one row per resident's demand: about 10^6 in a city",
    "issue_event": "every step, claim and comment of every issue: several rows per issue",
    "issue_photo": "an issue's photo: the widest rows, one per issue",
    "issue_reporter": "an issue's reporter: one row per issue",
    "meeting_issue": "the links of meetings to issues: grows with the issues consulted on",
    "compound_state": "written by the issue triggers: must sit on the shard of those issues",
    "grid_state": "written by the issue triggers, like compound_state",
    "community_state": "written by the issue triggers; its version is each community's ETag",
    "issue_tally": "the dashboard's counts, written by the issue triggers",
    "issue_month": "the dashboard's months, written by the issue triggers",
    "patrol": "a grid leader's visits: several per compound a month",
    "patrol_photo": "a patrol's photo, one per visit at most",
    "patrol_issue": "the issues recorded during a visit",
    "patrol_state": "the last visit per compound, written by the patrol trigger",
}
# Foreign keys into issue that cannot be co-located: the target may be in another community.
CROSS_COMMUNITY = {("issue", "merged_into_community_id"), ("patrol_issue", "issue_community_id")}


def test_big_tables_keys_include_the_distribution_column(engine):
    rows = q(engine, """
        SELECT c.relname, a.attnotnull,
               array_agg(DISTINCT i.indexrelid::regclass::text) FILTER (WHERE i.indisunique
                   AND NOT a.attnum = ANY(i.indkey::int2[])) AS keys_without_it,
               bool_or(i.indisprimary) AS has_primary_key
          FROM pg_class c
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'community_id' AND NOT a.attisdropped
          LEFT JOIN pg_index i ON i.indrelid = c.oid
         WHERE c.relname = ANY(:tables) AND c.relnamespace = 'public'::regnamespace
         GROUP BY c.relname, a.attnotnull""", tables=list(BIG_TABLES))
    found = {r.relname: r for r in rows}
    assert set(found) == set(BIG_TABLES), f"no community_id in {set(BIG_TABLES) - set(found)}"
    for table, r in found.items():
        assert r.attnotnull, f"{table}.community_id may be NULL"
        assert r.has_primary_key, f"{table} has no primary key"
        assert not r.keys_without_it, f"{table}: unique keys without community_id: {r.keys_without_it}"


def test_foreign_keys_into_issue_include_community_id(engine):
    keys = q(engine, """
        SELECT k.conrelid::regclass::text AS tbl, k.conname, k.confupdtype, k.confmatchtype,
               (SELECT a.attname FROM unnest(k.conkey, k.confkey) AS p(fk, pk)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = p.fk
                 WHERE p.pk = (SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'issue'::regclass AND attname = 'community_id'))
                 AS paired_with_community_id
          FROM pg_constraint k WHERE k.contype = 'f' AND k.confrelid = 'issue'::regclass""")
    assert {k.tbl for k in keys} >= {"issue_event", "issue_photo", "issue_reporter", "meeting_issue"}
    for k in keys:
        assert k.tbl in BIG_TABLES, f"{k.tbl} hangs off issue: add it to BIG_TABLES and key it"
        assert k.paired_with_community_id, f"{k.conname} does not include issue.community_id"
        if CITUS:
            # Citus never updates a distribution column (an issue cannot move community, it is
            # refused) and keeps no key that may cross shards (docs/scaling.md §3.2).
            assert k.confupdtype == "a", f"{k.conname}: Citus refuses ON UPDATE CASCADE"
            assert (k.tbl, k.paired_with_community_id) not in CROSS_COMMUNITY, f"{k.conname} crosses shards"
        else:
            assert k.confupdtype == "c", f"{k.conname}: an issue moving community would strand its rows"
        if (k.tbl, k.paired_with_community_id) in CROSS_COMMUNITY:
            assert k.confmatchtype == "f", f"{k.conname} must be MATCH FULL: both columns or neither"
        else:
            assert k.paired_with_community_id == "community_id", f"{k.conname} is not co-located"


def _point_in_community(conn, name):
    """A point inside a compound of community ``name`` (so issue_locate puts it there)."""
    return conn.execute(sa.text(
        "SELECT ST_AsText(ST_PointOnSurface(c.geom)) FROM compound c JOIN community m ON m.id = c.community_id "
        "WHERE m.name = :n ORDER BY c.id LIMIT 1"), {"n": name}).scalar()


def _community_of_rows(conn, issue_id):
    return conn.execute(sa.text("""
        SELECT (SELECT community_id FROM issue WHERE id = :i),
               (SELECT array_agg(DISTINCT community_id) FROM issue_event WHERE issue_id = :i),
               (SELECT array_agg(community_id) FROM issue_photo WHERE issue_id = :i),
               (SELECT array_agg(community_id) FROM issue_reporter WHERE issue_id = :i),
               (SELECT array_agg(community_id) FROM meeting_issue WHERE issue_id = :i)"""),
        {"i": issue_id}).one()


def test_rows_of_an_issue_follow_it_to_another_community(engine):
    """One node: an issue moved to another community takes its rows along (ON UPDATE CASCADE).
    Citus: the move is refused and the rows stay, all on the shard of the community named."""
    with engine.begin() as conn:
        here, there = (_point_in_community(conn, n) for n in ("汇丰社区", "江南小镇社区"))
        huifeng, jiangnan = (conn.execute(sa.text("SELECT id FROM community WHERE name = :n"), {"n": n}).scalar()
                             for n in ("汇丰社区", "江南小镇社区"))
        # One node: the loaders' INSERTs, which name no community; the triggers fill it in.
        # Citus: every INSERT names it (the app's own do).
        named = {"c": huifeng} if CITUS else {}
        column, value = (", community_id", ", :c") if CITUS else ("", "")
        issue_id = conn.execute(sa.text(
            f"INSERT INTO issue (title, category, channel, geom{column}) VALUES ('井盖松动', 'road', 'phone', "
            f"ST_GeomFromText(:p, 4326){value}) RETURNING id"), {"p": here, **named}).scalar()
        meeting = conn.execute(sa.text("SELECT min(id) FROM meeting")).scalar()
        for sql in (f"INSERT INTO issue_reporter (issue_id, name, phone{column}) VALUES (:i, '张三', '13800001111'{value})",
                    f"INSERT INTO issue_photo (issue_id, mime, content{column}) VALUES (:i, 'image/png', '\\x00'{value})",
                    f"INSERT INTO issue_event (issue_id, actor, to_stage{column}) VALUES (:i, 'k', 'reported'{value})",
                    f"INSERT INTO meeting_issue (meeting_id, issue_id{column}) VALUES (:m, :i{value})"):
            conn.execute(sa.text(sql), {"i": issue_id, "m": meeting, **named})
        assert tuple(_community_of_rows(conn, issue_id)) == (huifeng, [huifeng], [huifeng], [huifeng], [huifeng])
        move = sa.text("UPDATE issue SET geom = ST_GeomFromText(:p, 4326) WHERE id = :i AND community_id = :c")
        if CITUS:
            with pytest.raises(sa.exc.DBAPIError, match="stays in the community it was recorded in"):
                with conn.begin_nested():
                    conn.execute(move, {"p": there, "i": issue_id, "c": huifeng})
            assert tuple(_community_of_rows(conn, issue_id)) == (huifeng, [huifeng], [huifeng], [huifeng], [huifeng])
        else:
            conn.execute(move, {"p": there, "i": issue_id, "c": huifeng})
            assert tuple(_community_of_rows(conn, issue_id)) == (
                jiangnan, [jiangnan], [jiangnan], [jiangnan], [jiangnan])
        # The log is still append-only.
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with conn.begin_nested():
                conn.execute(sa.text("UPDATE issue_event SET note = 'x', community_id = :h "
                                     "WHERE issue_id = :i AND community_id = :c"),
                             {"h": huifeng, "i": issue_id, "c": huifeng if CITUS else jiangnan})
        conn.rollback()


def test_a_row_cannot_claim_another_community_than_its_issue(engine):
    # (Citus reports a foreign key violation on a shard as an internal error.)
    with pytest.raises(sa.exc.IntegrityError if not CITUS else sa.exc.DBAPIError, match="foreign key"):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO issue_event (issue_id, community_id, actor, to_stage) SELECT id, "
                "(SELECT min(m.id) FROM community m WHERE m.id <> i.community_id), 'k', 'reported' "
                "FROM issue i ORDER BY id LIMIT 1"))
    if CITUS:   # an issue that does not exist, in a community that does
        with pytest.raises(sa.exc.DBAPIError, match="foreign key"):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO issue_reporter (issue_id, community_id, name, phone) "
                                     "VALUES (-1, :c, '张三', '13800001111')"),
                             {"c": conn.execute(sa.text("SELECT min(id) FROM community")).scalar()})
    else:
        with pytest.raises(sa.exc.IntegrityError, match="does not exist"):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO issue_reporter VALUES (-1, '张三', '13800001111')"))


def test_merge_into_an_issue_of_another_community_keeps_the_link(app, engine):
    add_user(app, "k_admin", "admin")
    client = login(app.test_client(), "k_admin")
    with engine.connect() as conn:
        points = [conn.execute(sa.text("SELECT ST_X(p), ST_Y(p) FROM ST_GeomFromText(:w) p"),
                               {"w": _point_in_community(conn, n)}).one()
                  for n in ("汇丰社区", "如意街社区", "江南小镇社区")]
    ids = [client.post("/api/issues", json={"title": "路灯不亮", "category": "utilities", "channel": "phone",
                                            "lon": lon, "lat": lat}).get_json()["id"] for lon, lat in points[:2]]
    duplicate, target = ids
    version = q(engine, "SELECT version FROM issue WHERE id = :i", i=duplicate)[0][0]
    response = client.post(f"/api/issues/{duplicate}/advance",
                           json={"to": "merged", "version": version, "reason": "同一路段", "merged_into": target})
    assert response.status_code == 200, response.get_json()
    link = "SELECT merged_into_id, merged_into_community_id FROM issue WHERE id = :i"
    target_community = "SELECT community_id FROM issue WHERE id = :i"
    assert q(engine, link, i=duplicate) == [(target, q(engine, target_community, i=target)[0][0])]
    move = sa.text("UPDATE issue SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE id = :i")
    if CITUS:   # an issue stays in its community on Citus (tests/test_state.py): the link too
        with pytest.raises(sa.exc.DBAPIError, match="stays in the community it was recorded in"):
            with engine.begin() as conn:
                conn.execute(move, {"x": points[2][0], "y": points[2][1], "i": target})
    else:
        with engine.begin() as conn:      # the target moves: the link follows it
            conn.execute(move, {"x": points[2][0], "y": points[2][1], "i": target})
    assert q(engine, link, i=duplicate) == [(target, q(engine, target_community, i=target)[0][0])]
    with pytest.raises(sa.exc.IntegrityError, match="issue_merged_into"):   # half a key is refused
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE issue SET merged_into_community_id = NULL WHERE id = :i"),
                         {"i": duplicate})


def test_the_keys_migration_fills_a_loaded_database(cluster, monkeypatch, tmp_path):
    """Migrate to just before 0009, load the sample, then apply 0009: every row gets its
    issue's community. (The sample loader writes what it wrote before 0009: no community_id.)"""
    import shutil

    from data import sample
    from tests.conftest import _new_database

    url = _new_database(cluster, "template0")
    for path in sorted(migrate.MIGRATIONS.glob("*.sql")):
        if path.stem < "0009":
            shutil.copy(path, tmp_path)
    eng = make_engine(url)
    try:
        with monkeypatch.context() as m:
            m.setattr(migrate, "MIGRATIONS", tmp_path)
            assert "0009_distribution_keys" not in migrate.upgrade(eng, echo=lambda *_: None)
            sample.load(eng, progress=False)
        with eng.begin() as conn:     # one merge across communities, as an old database may hold
            conn.execute(sa.text("""
                UPDATE issue d SET merged_into_id = t.id FROM issue t
                 WHERE d.id = (SELECT min(id) FROM issue WHERE stage = 'merged')
                   AND t.id = (SELECT min(id) FROM issue x WHERE x.community_id <> d.community_id)"""))
        assert "0009_distribution_keys" in migrate.upgrade(eng, echo=lambda *_: None)
        with eng.connect() as conn:
            counts = conn.execute(sa.text("""
                SELECT (SELECT count(*) FROM issue_event), (SELECT count(*) FROM issue_event e
                          JOIN issue i ON i.id = e.issue_id AND i.community_id = e.community_id),
                       (SELECT count(*) FROM issue_reporter), (SELECT count(*) FROM issue_reporter r
                          JOIN issue i ON i.id = r.issue_id AND i.community_id = r.community_id),
                       (SELECT count(*) FROM meeting_issue), (SELECT count(*) FROM meeting_issue mi
                          JOIN issue i ON i.id = mi.issue_id AND i.community_id = mi.community_id),
                       (SELECT count(*) FROM issue d JOIN issue t ON t.id = d.merged_into_id
                          AND t.community_id = d.merged_into_community_id)""")).one()
        events, events_ok, reporters, reporters_ok, links, links_ok, merges = counts
        assert events > 1000 and events == events_ok
        assert reporters > 100 and reporters == reporters_ok
        assert links > 50 and links == links_ok
        assert merges == 1
    finally:
        eng.dispose()
