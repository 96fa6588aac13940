"""The 电子底册 through HTTP: adding a contact, retiring and undoing it the same day, and the
audit trail read as history pages (who, when, what from what to what)."""
import pytest

from tests.helpers import add_user, csrf_token, login, q


@pytest.fixture(scope="module")
def staff_area(app, engine):
    """Staff of 汇丰社区 and a grid leader there; a compound inside and one outside the area."""
    add_user(app, "r_staff", "community_staff", "汇丰社区")
    add_user(app, "r_grid", "grid_leader", "汇丰社区/第1网格")
    inside = q(engine, "SELECT c.id FROM compound c JOIN community m ON m.id = c.community_id "
                       "WHERE m.name = '汇丰社区' ORDER BY c.id LIMIT 1")[0][0]
    outside = q(engine, "SELECT c.id FROM compound c JOIN community m ON m.id = c.community_id "
                        "WHERE m.name <> '汇丰社区' ORDER BY c.id LIMIT 1")[0][0]
    return {"inside": inside, "outside": outside}


@pytest.fixture
def staff(app):
    client = login(app.test_client(), "r_staff")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/roster")
    return client


def _add(staff, compound_id, **extra):
    return staff.post("/api/contacts", json={"role": "compound_head", "name": "试任人",
                                             "phone": "138 0000 1111", "compound_id": compound_id, **extra})


def events(engine, head_id):
    return [r[0] for r in q(engine, "SELECT action FROM head_event WHERE head_id = :h ORDER BY id", h=head_id)]


def test_post_contact_adds_a_head_and_records_it(staff, engine, staff_area):
    response = _add(staff, staff_area["inside"])
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["name"] == "试任人" and new["phone"] == "13800001111" and new["retired_on"] is None
    assert q(engine, "SELECT compound_id, role FROM head WHERE id = :h", h=new["id"])[0] == (
        staff_area["inside"], "compound_head")
    assert events(engine, new["id"]) == ["add"]


def test_post_contact_refuses_what_is_wrong_and_writes_nothing(staff, engine, staff_area):
    before = q(engine, "SELECT count(*) FROM head")[0][0]
    outside = _add(staff, staff_area["outside"])
    assert outside.status_code == 404 and "楼院" in outside.get_json()["error"]
    unit_less = _add(staff, staff_area["inside"], role="unit_head")
    assert unit_less.status_code == 400 and "职务" in unit_less.get_json()["error"]
    bad_phone = _add(staff, staff_area["inside"], phone="12")
    assert bad_phone.status_code == 400 and "电话" in bad_phone.get_json()["error"]
    assert q(engine, "SELECT count(*) FROM head")[0][0] == before


def test_retire_then_undo_the_same_day(staff, engine, staff_area):
    head = _add(staff, staff_area["inside"]).get_json()
    retired = staff.post(f"/api/contacts/{head['id']}/retire", json={"version": head["version"]})
    assert retired.status_code == 200 and retired.get_json()["retired_on"]
    page = staff.get(f"/roster?compound={staff_area['inside']}").get_data(as_text=True)
    assert f'data-id="{head["id"]}"' in page, "a head retired today stays on the page, to be undone"
    stale = staff.post(f"/api/contacts/{head['id']}/unretire", json={"version": head["version"]})
    assert stale.status_code == 409
    undone = staff.post(f"/api/contacts/{head['id']}/unretire", json={"version": retired.get_json()["version"]})
    assert undone.status_code == 200 and undone.get_json()["retired_on"] is None
    assert q(engine, "SELECT retired_on FROM head WHERE id = :h", h=head["id"])[0][0] is None
    assert events(engine, head["id"]) == ["add", "retire", "unretire"]
    again = staff.post(f"/api/contacts/{head['id']}/unretire", json={"version": undone.get_json()["version"]})
    assert again.status_code == 409, "a serving head has no retirement to undo"


def test_undo_is_refused_after_the_day(staff, engine, staff_area):
    head = _add(staff, staff_area["inside"]).get_json()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE head SET retired_on = current_date - 1, version = version + 1 "
                             f"WHERE id = {head['id']}")
    late = staff.post(f"/api/contacts/{head['id']}/unretire", json={"version": head["version"] + 1})
    assert late.status_code == 409 and "当天" in late.get_json()["error"]
    assert q(engine, "SELECT retired_on IS NOT NULL FROM head WHERE id = :h", h=head["id"])[0][0]


def test_grid_leader_may_not_retire_or_undo(app, staff, staff_area):
    head = _add(staff, staff_area["inside"]).get_json()
    leader = login(app.test_client(), "r_grid")
    token = {"X-CSRFToken": csrf_token(leader, "/roster")}
    for action in ("retire", "unretire"):
        r = leader.post(f"/api/contacts/{head['id']}/{action}", json={"version": head["version"]}, headers=token)
        assert r.status_code == 403


def test_history_pages_read_as_before_and_after(staff, engine, staff_area):
    head = _add(staff, staff_area["inside"]).get_json()
    edited = staff.patch(f"/api/contacts/{head['id']}", json={"name": "改名人", "version": head["version"]})
    assert edited.status_code == 200
    staff.post(f"/api/contacts/{head['id']}/retire", json={"version": edited.get_json()["version"]})
    page = staff.get(f"/roster/contacts/{head['id']}/history")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "r_staff" in html and "卸任" in html and "修改" in html and "新增" in html
    assert '<del class="data">试任人</del> → <ins class="data">改名人</ins>' in html
    assert '"name"' not in html and "{&#34;" not in html, "no raw JSON on the page"
    # newest first
    assert html.index(">卸任<") < html.index(">修改<") < html.index(">新增<")
    compound = staff.get(f"/roster/compounds/{staff_area['inside']}/history").get_data(as_text=True)
    assert f"/roster/contacts/{head['id']}/history" in compound and "改名人" in compound
    logged = q(engine, "SELECT DISTINCT route FROM personal_data_access WHERE subject_kind = 'head' "
                       "AND subject_id = :h AND user_name = 'r_staff'", h=head["id"])
    assert any("history" in route for (route,) in logged), "the phones in the history are logged as shown"
    api = staff.get(f"/api/contacts/{head['id']}/history").get_json()
    assert api[0]["action"] == "retire"
    assert {"field": "name", "before": "试任人", "after": "改名人"} in api[1]["changes"]


def test_history_pages_are_scoped(app, engine, staff, staff_area):
    outside_head = q(engine, "SELECT id FROM head WHERE compound_id = :c LIMIT 1", c=staff_area["outside"])[0][0]
    assert staff.get(f"/roster/contacts/{outside_head}/history").status_code == 404
    assert staff.get(f"/roster/compounds/{staff_area['outside']}/history").status_code == 404
    signed_out = app.test_client().get(f"/roster/compounds/{staff_area['inside']}/history")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
