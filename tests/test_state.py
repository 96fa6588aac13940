"""The state kept by the database (migration 0006) against the tables it summarises: after every
kind of change the row triggers leave exactly what ``state_rebuild()`` computes from scratch,
deadlines are kept on the issue, and a change in one community moves only that community's
version (so every other screen keeps its cache)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import CITUS
from tests.helpers import q

STATE_TABLES = ("compound_state", "grid_state", "issue_tally", "issue_month", "patrol_state")


def snapshot(conn):
    """The state tables' rows; a tally row that went back to zero counts as no row."""
    zero = {"issue_tally": " WHERE n <> 0", "issue_month": " WHERE n <> 0"}
    return {t: sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}{zero.get(t, '')}")))
            for t in STATE_TABLES} | {
        "community_state": sorted(tuple(r) for r in conn.execute(sa.text(
            "SELECT community_id, open_issues, due_soon_at, due_at FROM community_state")))}


def assert_state_matches_rebuild(engine):
    """The kept state equals a rebuild from the tables (the rebuild is rolled back)."""
    with engine.connect() as conn:
        with conn.begin() as tx:
            # on Citus, one connection per node from the start: the rebuild empties the tables
            conn.execute(sa.text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
            kept = snapshot(conn)
            conn.execute(sa.text("SELECT state_rebuild()"))
            rebuilt = snapshot(conn)
            tx.rollback()
    for table in kept:
        assert kept[table] == rebuilt[table], table


def run(engine, sql, **params):
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params)


def community_versions(engine):
    return dict(q(engine, "SELECT community_id, version FROM community_state"))


@pytest.fixture(scope="module")
def places(engine):
    """Two compounds in different communities (a, b), and another compound of a's community."""
    rows = q(engine, """SELECT DISTINCT ON (community_id) id, community_id, grid_id FROM compound
                        WHERE grid_id IS NOT NULL ORDER BY community_id, id LIMIT 2""")
    a2 = q(engine, "SELECT id, community_id, grid_id FROM compound WHERE community_id = :c AND id <> :a "
                   "ORDER BY id LIMIT 1", c=rows[0][1], a=rows[0][0])[0]
    return {"a": rows[0], "b": rows[1], "a2": a2}


def new_issue(engine, compound_id, title="测试：状态"):
    return run(engine, """INSERT INTO issue (community_id, title, category, channel, geom)
                          SELECT community_id, :t, 'road', 'phone', ST_PointOnSurface(geom) FROM compound WHERE id = :c
                          RETURNING id""", t=title, c=compound_id).scalar()


def test_the_sample_state_equals_a_rebuild(engine):
    assert_state_matches_rebuild(engine)
    # every compound, grid and community has its row
    assert q(engine, "SELECT (SELECT count(*) FROM compound_state), (SELECT count(*) FROM compound)")[0] == (62, 62)
    assert q(engine, "SELECT (SELECT count(*) FROM community_state), (SELECT count(*) FROM community)")[0] == (14, 14)
    assert q(engine, "SELECT sum(n) FROM issue_tally")[0][0] == q(engine, "SELECT count(*) FROM issue")[0][0]


def test_open_counts_match_the_issues(engine):
    kept = dict(q(engine, "SELECT compound_id, open_issues FROM compound_state"))
    counted = dict(q(engine, """SELECT c.id, count(i.id) FILTER (WHERE st.is_open) FROM compound c
                                LEFT JOIN issue i ON i.compound_id = c.id LEFT JOIN stage st ON st.code = i.stage
                                GROUP BY c.id"""))
    assert kept == counted
    assert sum(kept.values()) > 0


def test_deadlines_are_kept_on_the_issue(engine):
    rows = q(engine, """SELECT i.stage, st.is_open, i.stage_changed_at, i.due_at, i.due_soon_at, st.deadline_days
                        FROM issue i JOIN stage st ON st.code = i.stage""")
    for stage, is_open, since, due_at, due_soon_at, days in rows:
        if is_open:
            assert due_at == since + dt.timedelta(days=days), stage
            assert due_soon_at == since + dt.timedelta(days=days * 0.75), stage
        else:
            assert due_at is None and due_soon_at is None, stage


def test_a_new_issue_and_its_steps_keep_the_state(engine, places):
    a = places["a"]
    before = q(engine, "SELECT open_issues FROM compound_state WHERE compound_id = :c", c=a[0])[0][0]
    issue_id = new_issue(engine, a[0])
    assert q(engine, "SELECT open_issues FROM compound_state WHERE compound_id = :c", c=a[0])[0][0] == before + 1
    assert_state_matches_rebuild(engine)
    for to in ("topic", "notice", "consult", "implement", "publish", "feedback", "closed"):
        # as the app writes a step: the community named, the moments computed first (Citus)
        now = q(engine, "SELECT now()")[0][0]
        run(engine, "UPDATE issue SET stage = :s, stage_changed_at = :now, closed_at = :closed "
                    "WHERE id = :i AND community_id = :c",
            s=to, now=now, closed=now if to == "closed" else None, i=issue_id, c=a[1])
        run(engine, "INSERT INTO issue_event (issue_id, community_id, actor, from_stage, to_stage) "
                    "VALUES (:i, :c, 'test', NULL, :s)", i=issue_id, c=a[1], s=to)
    assert q(engine, "SELECT open_issues FROM compound_state WHERE compound_id = :c", c=a[0])[0][0] == before
    assert q(engine, "SELECT closed_on_time FROM issue WHERE id = :i", i=issue_id)[0][0] is True
    assert_state_matches_rebuild(engine)


def test_an_overdue_issue_turns_the_compound_overdue_by_time_alone(engine, places):
    b = places["b"]
    issue_id = new_issue(engine, b[0])
    run(engine, "UPDATE issue SET stage_changed_at = now() - interval '4 days' WHERE id = :i", i=issue_id)
    due_at, = q(engine, "SELECT due_at FROM compound_state WHERE compound_id = :c", c=b[0])[0]
    assert due_at <= q(engine, "SELECT now() - interval '1 day'")[0][0]  # reported: 3 days
    assert_state_matches_rebuild(engine)


def move_issue(engine, issue_id, compound_id):
    run(engine, "UPDATE issue SET geom = (SELECT ST_PointOnSurface(geom) FROM compound WHERE id = :to) "
                "WHERE id = :i AND community_id = (SELECT community_id FROM issue WHERE id = :i)",
        to=compound_id, i=issue_id)


def open_counts(engine, *compounds):
    return dict(q(engine, "SELECT compound_id, open_issues FROM compound_state WHERE compound_id = ANY(:c)",
                  c=list(compounds)))


def test_moving_an_issue_moves_its_share(engine, places):
    a, a2 = places["a"], places["a2"]
    issue_id = new_issue(engine, a[0])
    before = open_counts(engine, a[0], a2[0])
    move_issue(engine, issue_id, a2[0])
    after = open_counts(engine, a[0], a2[0])
    assert after[a[0]] == before[a[0]] - 1 and after[a2[0]] == before[a2[0]] + 1
    assert_state_matches_rebuild(engine)


def test_moving_an_issue_to_another_community(engine, places):
    """One node: its share (and its rows, tests/test_schema.py) follow it. Citus: refused, since
    the community is where its rows live (docs/scaling.md §3.2); nothing changes."""
    a, b = places["a"], places["b"]
    issue_id = new_issue(engine, a[0])
    before = open_counts(engine, a[0], b[0])
    if CITUS:
        with pytest.raises(sa.exc.DBAPIError, match="an issue stays in the community it was recorded in"):
            move_issue(engine, issue_id, b[0])
        assert open_counts(engine, a[0], b[0]) == before
        assert q(engine, "SELECT community_id FROM issue WHERE id = :i", i=issue_id)[0][0] == a[1]
    else:
        move_issue(engine, issue_id, b[0])
        after = open_counts(engine, a[0], b[0])
        assert after[a[0]] == before[a[0]] - 1 and after[b[0]] == before[b[0]] + 1
    assert_state_matches_rebuild(engine)


def test_heads_orgs_and_buildings_keep_vacancies_and_self_governance(engine, places):
    a = places["a"]
    missing = lambda: q(engine, "SELECT missing_heads, has_org FROM compound_state WHERE compound_id = :c", c=a[0])[0]
    vacancies, _ = missing()
    head = q(engine, "SELECT id FROM head WHERE compound_id = :c AND retired_on IS NULL ORDER BY id LIMIT 1", c=a[0])[0][0]
    run(engine, "UPDATE head SET retired_on = current_date - 1 WHERE id = :h", h=head)
    assert missing()[0] == vacancies + 1
    building = run(engine, "INSERT INTO building (compound_id, name, floors, geom) SELECT id, '测试楼', 6, "
                           "ST_Multi(ST_Buffer(ST_PointOnSurface(geom), 0.00001)) FROM compound WHERE id = :c "
                           "RETURNING id", c=a[0]).scalar()
    run(engine, "INSERT INTO unit (building_id, name) VALUES (:b, '1单元')", b=building)
    assert missing()[0] == vacancies + 3   # the retired head, the new building's and unit's heads
    run(engine, "INSERT INTO self_governance_org (compound_id, name, kind) VALUES (:c, '测试自管会', '自管会')", c=a[0])
    assert missing()[1] is True
    assert_state_matches_rebuild(engine)


def test_a_change_moves_only_its_own_communitys_version(engine, places):
    a, b = places["a"], places["b"]
    before = community_versions(engine)
    new_issue(engine, a[0])
    after = community_versions(engine)
    changed = {c for c in after if after[c] != before[c]}
    assert changed == {a[1]}
    assert b[1] not in changed


def test_the_layer_etag_of_one_community_survives_a_change_in_another(client, engine, places):
    a, b = places["a"], places["b"]
    bbox_of = lambda c: ",".join(f"{v:.6f}" for v in q(engine, """
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
          FROM (SELECT ST_Extent(ST_Buffer(ST_PointOnSurface(geom), 0.00005)) e FROM compound WHERE id = :c) x""", c=c)[0])
    url = f"/api/layers/compounds.geojson?bbox={bbox_of(b[0])}"
    first = client.get(url)
    assert first.status_code == 200
    # the bbox holds only the other community
    assert {f["properties"]["community"] for f in first.get_json()["features"]} == \
        {q(engine, "SELECT name FROM community WHERE id = :c", c=b[1])[0][0]}
    new_issue(engine, a[0])
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    new_issue(engine, b[0])
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]


def test_heat_cells_count_the_open_issues_in_view(client, engine):
    minx, miny, maxx, maxy = q(engine, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                       "FROM (SELECT ST_Extent(geom) e FROM subdistrict) x")[0]
    response = client.get(f"/api/heat?bbox={minx},{miny},{maxx},{maxy}&zoom=14")
    assert response.status_code == 200
    cells = response.get_json()["cells"]
    assert sum(c[2] for c in cells) == q(engine, "SELECT count(*) FROM issue WHERE due_at IS NOT NULL")[0][0]
    coarse = client.get(f"/api/heat?bbox={minx},{miny},{maxx},{maxy}&zoom=11").get_json()["cells"]
    assert len(coarse) < len(cells)
    assert client.get("/api/heat?zoom=14").status_code == 400
    assert client.get(f"/api/heat?bbox={minx},{miny},{maxx},{maxy}&zoom=abc").status_code == 400


def new_patrol(engine, compound_id, days_ago):
    return run(engine, """INSERT INTO patrol (community_id, compound_id, actor, visited_at, nothing_found)
                          SELECT community_id, id, 'test', now() - make_interval(days => :d), true
                            FROM compound WHERE id = :c RETURNING id""", c=compound_id, d=days_ago).scalar()


def last_patrol(engine, compound_id):
    found = q(engine, "SELECT last_patrol_at FROM patrol_state WHERE compound_id = :c", c=compound_id)
    return found[0][0] if found else None


def test_patrols_keep_the_last_visit(engine, places):
    a, b = places["a"], places["b"]
    run(engine, "DELETE FROM patrol WHERE compound_id IN (:a, :b)", a=a[0], b=b[0])
    assert last_patrol(engine, a[0]) is None
    before = community_versions(engine)
    old = new_patrol(engine, a[0], 20)
    assert community_versions(engine)[a[1]] != before[a[1]]   # the patrol mode's tiles refetch
    assert last_patrol(engine, a[0]) == q(engine, "SELECT visited_at FROM patrol WHERE id = :p", p=old)[0][0]
    recent = new_patrol(engine, a[0], 2)
    older = new_patrol(engine, a[0], 40)   # an older visit recorded later leaves the last one
    assert last_patrol(engine, a[0]) == q(engine, "SELECT visited_at FROM patrol WHERE id = :p", p=recent)[0][0]
    assert_state_matches_rebuild(engine)
    # moved to another compound of its community: the last visits of both follow
    a2 = places["a2"]
    run(engine, "UPDATE patrol SET compound_id = :to WHERE id = :p AND community_id = :c", to=a2[0], p=recent, c=a[1])
    assert last_patrol(engine, a2[0]) is not None
    assert last_patrol(engine, a[0]) == q(engine, "SELECT visited_at FROM patrol WHERE id = :p", p=old)[0][0]
    assert_state_matches_rebuild(engine)
    # to another community: it takes the community along on one node; Citus refuses the move
    move = "UPDATE patrol SET compound_id = :to WHERE id = :p AND community_id = :c"
    if CITUS:
        with pytest.raises(sa.exc.DBAPIError, match="cannot move to a compound of another community"):
            run(engine, move, to=b[0], p=old, c=a[1])
    else:
        run(engine, move, to=b[0], p=old, c=a[1])
        assert last_patrol(engine, b[0]) == q(engine, "SELECT visited_at FROM patrol WHERE id = :p", p=old)[0][0]
        assert last_patrol(engine, a[0]) == q(engine, "SELECT visited_at FROM patrol WHERE id = :p", p=older)[0][0]
        run(engine, "DELETE FROM patrol WHERE id = :p", p=old)
    assert_state_matches_rebuild(engine)
    run(engine, "DELETE FROM patrol WHERE compound_id = :a", a=a[0])
    assert last_patrol(engine, a[0]) is None
    assert_state_matches_rebuild(engine)
