"""The personal-data access log: every unmasked phone or reporter contact the server shows is
logged (who, which, when, by which route); masked and public views log nothing; only admins
read the log, over HTTP or with `flask users access-log`."""
import pytest

from tests.helpers import add_user, login, q

LOG = "SELECT user_name, role, route, subject_kind, subject_id, contacts FROM personal_data_access"


@pytest.fixture(scope="module")
def people(app, engine):
    add_user(app, "a_grid", "grid_leader", "汇丰社区/第1网格")
    add_user(app, "a_staff", "community_staff", "汇丰社区")
    add_user(app, "a_admin", "admin")
    add_user(app, "a_official", "official")
    grid_id = q(engine, "SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                        "WHERE m.name = '汇丰社区' AND g.name = '第1网格'")[0][0]
    return {"grid_id": grid_id}


def compound_with_phones(engine, grid_id, inside=True):
    """A compound (in the grid or outside it) whose compound head has a phone, an interior point,
    and the ids of its heads in office with a phone as the lookup lists them."""
    op = "=" if inside else "<>"
    cid, lon, lat = q(engine, f"""
        SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom)) FROM compound c
         WHERE c.grid_id {op} :g AND EXISTS (SELECT 1 FROM head h JOIN head_role r ON r.code = h.role
               WHERE h.compound_id = c.id AND r.level = 'compound' AND h.phone IS NOT NULL
                 AND h.retired_on IS NULL)
         ORDER BY c.id LIMIT 1""", g=grid_id)[0]
    heads = {r[0] for r in q(engine, """
        SELECT h.id FROM head h JOIN head_role r ON r.code = h.role
         WHERE h.compound_id = :c AND r.level = 'compound' AND h.phone IS NOT NULL
           AND h.retired_on IS NULL AND (h.appointed_on IS NULL OR h.appointed_on <= current_date)""",
                                     c=cid)}
    return cid, lon, lat, heads


def bbox_of(engine, compound_id):
    return ",".join(str(v) for v in q(engine, "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), "
                                              "ST_YMax(geom) FROM compound WHERE id = :c", c=compound_id)[0])


def new_rows(engine, since_id):
    return q(engine, LOG + " WHERE id > :i ORDER BY id", i=since_id)


def last_id(engine):
    return q(engine, "SELECT coalesce(max(id), 0) FROM personal_data_access")[0][0]


def test_a_grid_leaders_lookup_logs_each_phone_shown(app, engine, people):
    client = login(app.test_client(), "a_grid")
    _, lon, lat, heads = compound_with_phones(engine, people["grid_id"])
    start = last_id(engine)
    found = client.get(f"/api/lookup?lon={lon}&lat={lat}").get_json()
    shown = {h["phone"] for h in found["heads"] if h["phone"]}
    assert shown and found["grid_leader_phone"]
    rows = new_rows(engine, start)
    assert {(r.subject_kind, r.subject_id) for r in rows} == \
        {("grid_leader", people["grid_id"])} | {("head", h) for h in heads}
    assert {(r.user_name, r.role, r.route) for r in rows} == {("a_grid", "grid_leader", "GET /api/lookup")}
    # A second request is logged again: one row per viewer, subject and request.
    client.get(f"/api/lookup?lon={lon}&lat={lat}")
    assert len(new_rows(engine, start)) == 2 * len(rows)


def test_masked_and_public_views_log_nothing(app, engine, people):
    cid, lon, lat, _ = compound_with_phones(engine, people["grid_id"])
    _, out_lon, out_lat, _ = compound_with_phones(engine, people["grid_id"], inside=False)
    start = last_id(engine)
    public = app.test_client().get(f"/api/lookup?lon={lon}&lat={lat}").get_json()
    assert all(h["phone"] is None for h in public["heads"])
    grid = login(app.test_client(), "a_grid")
    outside = grid.get(f"/api/lookup?lon={out_lon}&lat={out_lat}").get_json()
    assert outside["heads"] and all(h["phone"] is None for h in outside["heads"])
    assert app.test_client().get(f"/api/layers/buildings.geojson?bbox={bbox_of(engine, cid)}").status_code == 200
    assert new_rows(engine, start) == []


def test_every_place_that_shows_a_contact_logs_it(app, engine, people):
    grid = login(app.test_client(), "a_grid")
    cid, _, _, heads = compound_with_phones(engine, people["grid_id"])
    places = {
        f"/api/compounds/{cid}": "head",
        "/api/my-area": "head",
        f"/api/contacts/{min(heads)}": "head",
        f"/api/contacts/{min(heads)}/history": "head",
        f"/api/layers/buildings.geojson?bbox={bbox_of(engine, cid)}": "head",
    }
    for path, kind in places.items():
        start = last_id(engine)
        assert grid.get(path).status_code == 200, path
        rows = new_rows(engine, start)
        assert kind in {r.subject_kind for r in rows}, path
        assert all(r.route == f"GET {path.split('?')[0]}" for r in rows), path
        assert len(rows) == len({(r.subject_kind, r.subject_id) for r in rows}), path   # no duplicates
    issue_id = q(engine, "SELECT i.id FROM issue i JOIN issue_reporter r ON r.issue_id = i.id AND r.community_id = i.community_id "
                         "WHERE i.grid_id = :g AND r.phone IS NOT NULL ORDER BY i.id LIMIT 1",
                 g=people["grid_id"])[0][0]
    start = last_id(engine)
    assert grid.get(f"/api/issues/{issue_id}").get_json()["reporter_phone"]
    assert [(r.subject_kind, r.subject_id) for r in new_rows(engine, start)] == [("reporter", issue_id)]
    # The roster page reads the area and the compound's roster: still one row per head.
    staff = login(app.test_client(), "a_staff")
    start = last_id(engine)
    assert staff.get("/roster").status_code == 200
    rows = new_rows(engine, start)
    assert rows and len(rows) == len({(r.subject_kind, r.subject_id) for r in rows})


def test_an_export_logs_one_row_with_the_count(app, engine, people):
    staff = login(app.test_client(), "a_staff")
    in_area = q(engine, "SELECT count(*) FROM head h JOIN compound c ON c.id = h.compound_id "
                        "JOIN community m ON m.id = c.community_id WHERE m.name = '汇丰社区' "
                        "AND h.retired_on IS NULL AND h.phone IS NOT NULL")[0][0]
    start = last_id(engine)
    assert staff.get("/export/roster.csv").status_code == 200
    [row] = new_rows(engine, start)
    assert (row.subject_kind, row.subject_id, row.contacts, row.user_name) == \
        ("roster_export", None, in_area, "a_staff")
    start = last_id(engine)
    assert staff.get("/export/issues.csv").status_code == 200
    [row] = new_rows(engine, start)
    assert row.subject_kind == "ledger_export" and row.contacts > 0


def test_only_admins_read_the_log(app, engine, people):
    login(app.test_client(), "a_grid").get("/api/my-area")
    assert app.test_client().get("/api/access-log").status_code == 401
    for name in ("a_grid", "a_staff", "a_official"):
        assert login(app.test_client(), name).get("/api/access-log").status_code == 403
    admin = login(app.test_client(), "a_admin")
    rows = admin.get("/api/access-log?user=a_grid&kind=head&limit=5").get_json()
    assert len(rows) == 5 and all(r["user_name"] == "a_grid" and r["subject_kind"] == "head" for r in rows)
    assert rows[0]["at"] >= rows[-1]["at"]
    assert admin.get("/api/access-log?kind=nonsense").status_code == 400
    assert admin.get("/api/access-log?since=2024-02-30").status_code == 400
    assert admin.get("/api/access-log?limit=abc").status_code == 400


def test_the_log_is_append_only(engine):
    import sqlalchemy as sa

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM personal_data_access"))


def test_cli_lists_the_log(app, engine, people):
    login(app.test_client(), "a_grid").get("/api/my-area")
    result = app.test_cli_runner().invoke(args=["users", "access-log", "--user", "a_grid", "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "a_grid (grid_leader)" in line]
    assert len(lines) == 3 and all("GET /api/my-area" in line for line in lines)


def test_nothing_is_shown_unlogged_when_the_log_cannot_be_written(engine):
    import sqlalchemy as sa

    with engine.connect() as conn:
        conn.execute(sa.text("SET TRANSACTION READ ONLY"))
        assert conn.execute(sa.text("SELECT revealed('head', 1, '13800000000')")).scalar() is None
        conn.rollback()
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT revealed('head', 1, '13800000000')")).scalar() == "13800000000"
