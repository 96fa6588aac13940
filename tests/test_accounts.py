"""Accounts, roles and responsibility areas: personal data only where it belongs."""
import re
import stat
import threading

import pytest

from data import sample
from layers import users
from tests.helpers import PASSWORD, csrf_token, login, q

PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def accounts(app, engine):
    """A grid leader of 汇丰社区/第1网格, staff of 汇丰社区, an official, a user with no area."""
    with app.app_context():
        users.add("t_grid", "grid_leader", PASSWORD, "汇丰社区/第1网格")
        users.add("t_staff", "community_staff", PASSWORD, "汇丰社区")
        users.add("t_official", "official", PASSWORD)
        users.add("t_nobody", "public", PASSWORD)
        users.add("t_staff2", "community_staff", PASSWORD, "汇丰社区")
    grid_id = q(engine, "SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                        "WHERE m.name = '汇丰社区' AND g.name = '第1网格'")[0][0]
    return {"grid_id": grid_id}


def head_in(engine, grid_id, inside=True):
    op = "=" if inside else "<>"
    return q(engine, f"SELECT h.id, h.phone FROM head h JOIN compound c ON c.id = h.compound_id "
                     f"WHERE c.grid_id {op} :g ORDER BY h.id LIMIT 1", g=grid_id)[0]


def issue_in(engine, grid_id, inside=True):
    op = "=" if inside else "<>"
    return q(engine, f"SELECT id FROM issue WHERE grid_id {op} :g ORDER BY id LIMIT 1", g=grid_id)[0][0]


def test_wrong_password_is_refused(app, accounts):
    client = app.test_client()
    response = client.post("/login", data={"name": "t_grid", "password": "wrong password",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_grid_leader_sees_own_grid_in_full_and_nothing_elsewhere(app, engine, accounts):
    client = login(app.test_client(), "t_grid")
    own_head, own_phone = head_in(engine, accounts["grid_id"])
    other_head, _ = head_in(engine, accounts["grid_id"], inside=False)
    assert client.get(f"/api/contacts/{own_head}").get_json()["phone"] == own_phone
    assert client.get(f"/api/contacts/{other_head}").status_code == 404
    own_issue = issue_in(engine, accounts["grid_id"])
    assert client.get(f"/api/issues/{own_issue}").get_json()["reporter_phone"]
    assert client.get(f"/api/issues/{issue_in(engine, accounts['grid_id'], False)}").status_code == 404


def test_grid_leader_map_and_cards_hold_no_phone_from_another_grid(app, engine, accounts):
    client = login(app.test_client(), "t_grid")
    others = {p for (p,) in q(engine, """
        SELECT h.phone FROM head h JOIN compound c ON c.id = h.compound_id WHERE c.grid_id <> :g
        UNION SELECT leader_phone FROM grid WHERE id <> :g
        UNION SELECT r.phone FROM issue_reporter r JOIN issue i ON i.id = r.issue_id
         WHERE i.grid_id IS DISTINCT FROM :g""", g=accounts["grid_id"])}
    bodies = [client.get("/").get_data(as_text=True), client.get("/api/my-area").get_data(as_text=True)]
    for (compound_id,) in q(engine, "SELECT id FROM compound"):
        bodies.append(client.get(f"/api/compounds/{compound_id}").get_data(as_text=True))
    for layer in ("grids", "compounds", "issues"):
        bodies.append(client.get(f"/api/layers/{layer}.geojson").get_data(as_text=True))
    bodies.append(client.get("/api/layers/buildings.geojson?bbox=113.27,34.79,113.31,34.83").get_data(as_text=True))
    leaked = {p for body in bodies for p in PHONE.findall(body)} & others
    assert leaked == set()
    # ...while their own grid's contacts are there, with phones
    own = client.get("/api/my-area").get_json()
    assert own["compounds"] and all(c["grid"] == "第1网格" for c in own["compounds"])
    assert any(PHONE.fullmatch(h["phone"]) for c in own["compounds"] for h in (c["heads"] or []))


def test_user_with_no_area_sees_nothing_personal(app, engine, accounts):
    client = login(app.test_client(), "t_nobody")
    for (compound_id,) in q(engine, "SELECT id FROM compound"):
        card = client.get(f"/api/compounds/{compound_id}").get_data(as_text=True)
        assert not PHONE.search(card)
    head_id, _ = head_in(engine, accounts["grid_id"])
    assert client.get(f"/api/contacts/{head_id}").status_code == 404
    assert client.get("/api/my-area").get_json() == {"compounds": [], "issues": []}


def test_official_reads_everything(app, engine, accounts):
    client = login(app.test_client(), "t_official")
    head_id, phone = head_in(engine, accounts["grid_id"], inside=False)
    assert client.get(f"/api/contacts/{head_id}").get_json()["phone"] == phone


def test_post_without_csrf_token_is_400(app, accounts):
    client = login(app.test_client(), "t_staff")
    client.environ_base.pop("HTTP_X_CSRFTOKEN")  # the helper sends the token; this request must not
    assert client.post("/logout").status_code == 400
    assert client.post("/login", data={"name": "t_staff", "password": PASSWORD}).status_code == 400


def test_state_changing_get_is_405(app, engine, accounts):
    client = login(app.test_client(), "t_staff")
    head_id, _ = head_in(engine, accounts["grid_id"])
    assert client.get("/logout").status_code == 405
    assert client.get(f"/api/contacts/{head_id}/retire").status_code == 405


def test_cookie_replayed_after_logout_is_401(app, accounts):
    client = login(app.test_client(), "t_grid")
    cookie = client.get_cookie("session").value
    assert client.get("/api/my-area").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/roster")})
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/api/my-area").status_code == 401


def test_disabled_user_loses_access_on_the_next_request(app, accounts):
    with app.app_context():
        users.add("t_leaving", "grid_leader", PASSWORD, "汇丰社区/第1网格")
    client = login(app.test_client(), "t_leaving")
    assert client.get("/api/my-area").status_code == 200
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "disable", "t_leaving"]).exit_code == 0
    assert client.get("/api/my-area").status_code == 401


def test_password_change_and_timeouts_end_sessions(app, accounts):
    import datetime as dt

    with app.app_context():
        user_id = users.add("t_changer", "grid_leader", PASSWORD, "汇丰社区/第1网格")
        token = users.open_session(user_id)
        hour = dt.timedelta(hours=1)
        assert users.account_for_session(token, hour, hour) is not None
        assert users.account_for_session(token, dt.timedelta(0), hour) is None   # idle
        assert users.account_for_session(token, hour, dt.timedelta(0)) is None   # absolute
        users.set_password(user_id, "another password 146")
        assert users.account_for_session(token, hour, hour) is None


def test_session_cookie_flags(app, accounts):
    client = app.test_client()
    response = client.post("/login", data={"name": "t_grid", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    token = csrf_token(secure)
    over_https = secure.post("/login", base_url="https://localhost",
                             data={"name": "t_grid", "password": PASSWORD, "csrf_token": token},
                             headers={"Referer": "https://localhost/login"})
    assert "Secure" in over_https.headers.get("Set-Cookie", "")


def _edit(client, head_id, version, name, token):
    return client.patch(f"/api/contacts/{head_id}", json={"name": name, "version": version},
                        headers={"X-CSRFToken": token})


def test_concurrent_contact_edits_one_409_no_lost_update(app, engine, accounts):
    head_id, _ = head_in(engine, accounts["grid_id"])
    a, b = login(app.test_client(), "t_staff"), login(app.test_client(), "t_staff2")
    token_a, token_b = csrf_token(a, "/roster"), csrf_token(b, "/roster")
    version = a.get(f"/api/contacts/{head_id}").get_json()["version"]
    results = {}
    barrier = threading.Barrier(2)

    def save(client, token, name):
        barrier.wait()
        results[name] = _edit(client, head_id, version, name, token)

    threads = [threading.Thread(target=save, args=(a, token_a, "甲某某")),
               threading.Thread(target=save, args=(b, token_b, "乙某某"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409]
    winner = next(name for name, r in results.items() if r.status_code == 200)
    loser = next(r for r in results.values() if r.status_code == 409)
    assert "已被他人修改" in loser.get_json()["error"]
    assert q(engine, "SELECT name FROM head WHERE id = :h", h=head_id)[0][0] == winner
    history = a.get(f"/api/contacts/{head_id}/history").get_json()
    assert [e["action"] for e in history] == ["edit"] and history[0]["actor"] in ("t_staff", "t_staff2")


def test_roster_edits_are_validated_and_scoped(app, engine, accounts):
    staff = login(app.test_client(), "t_staff")
    token = csrf_token(staff, "/roster")
    head_id, _ = head_in(engine, accounts["grid_id"])
    contact = staff.get(f"/api/contacts/{head_id}").get_json()
    bad = staff.patch(f"/api/contacts/{head_id}", json={"phone": "12345", "version": contact["version"]},
                      headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and "电话" in bad.get_json()["error"]
    leader = login(app.test_client(), "t_grid")
    forbidden = leader.patch(f"/api/contacts/{head_id}", json={"name": "x", "version": contact["version"]},
                             headers={"X-CSRFToken": csrf_token(leader, "/roster")})
    assert forbidden.status_code == 403
    replaced = staff.post(f"/api/contacts/{head_id}/replace",
                          json={"name": "新任人", "phone": "13800009999", "version": contact["version"]},
                          headers={"X-CSRFToken": token})
    assert replaced.status_code == 201 and replaced.get_json()["role"] == contact["role"]
    assert staff.get(f"/api/contacts/{head_id}").get_json()["retired_on"]


def test_demo_accounts_only_with_the_sample(cluster, tmp_path):
    """`sample load` creates one account per role, written to an owner-only file."""
    from layers import migrate
    from layers.db import make_engine
    from tests.conftest import _new_database

    eng = make_engine(_new_database(cluster, "template0"))
    migrate.upgrade(eng, echo=lambda *_: None)
    assert q(eng, "SELECT count(*) FROM app_user")[0][0] == 0
    path = tmp_path / "demo-accounts.txt"
    summary = sample.load(eng, progress=False, accounts_file=path)
    roles = {r for (r,) in q(eng, "SELECT role FROM app_user")}
    assert roles == {"grid_leader", "community_staff", "deputy", "official", "admin"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert all(name in text and name in summary for name, _role, _area in sample.DEMO_ACCOUNTS)
    eng.dispose()


def test_cli_users_add_reads_the_password_from_stdin(app, engine, accounts):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "t_cli", "--role", "grid_leader", "--area", "汇丰社区/第1网格"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "t_cli").get("/api/my-area").status_code == 200
    refused = runner.invoke(args=["users", "add", "t_cli2", "--role", "grid_leader", "--area", "没有社区"],
                            input=PASSWORD + "\n")
    assert refused.exit_code != 0 and "没有这个社区" in refused.output
    assert q(engine, "SELECT count(*) FROM app_user WHERE name = 't_cli2'")[0][0] == 0


def test_cli_apikeys_add_prints_the_key_once_and_stores_its_hash(app, engine, accounts):
    result = app.test_cli_runner().invoke(args=["apikeys", "add", "mini-program"])
    key = result.output.strip()
    assert result.exit_code == 0 and len(key) >= 32
    stored = q(engine, "SELECT key_hash FROM api_key WHERE name = 'mini-program'")[0][0]
    assert key not in stored and len(stored) == 64
    with app.app_context():
        assert users.api_key_name(key) == "mini-program"
        assert users.api_key_name(key + "x") is None
