"""Accounts, roles and responsibility areas: personal data only where it belongs."""
import stat
import threading

import pytest
import sqlalchemy as sa

from data import sample
from layers import users
from tests.helpers import PASSWORD, PHONE, add_user, csrf_token, login, q


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
        UNION SELECT r.phone FROM issue_reporter r JOIN issue i ON i.id = r.issue_id AND i.community_id = r.community_id
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
    assert str(path) in summary
    eng.dispose()


def test_cli_users_add_reads_the_password_from_stdin(app, engine, accounts):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "t_cli", "--role", "grid_leader", "--area", "汇丰社区/第1网格"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "t_cli").get("/api/my-area").status_code == 200
    refused = runner.invoke(args=["users", "add", "t_cli2", "--role", "grid_leader", "--area", "没有社区"],
                            input=PASSWORD + "\n")
    assert refused.exit_code != 0 and "没有这个区、街道或社区：没有社区" in refused.output
    assert "no such district, subdistrict or community" in refused.output
    assert q(engine, "SELECT count(*) FROM app_user WHERE name = 't_cli2'")[0][0] == 0
    district = runner.invoke(args=["users", "add", "t_cli3", "--role", "official", "--area", "上街区"],
                             input=PASSWORD + "\n")
    assert district.exit_code == 0, district.output
    assert q(engine, "SELECT d.name FROM user_area a JOIN app_user u ON u.id = a.user_id "
                     "JOIN district d ON d.id = a.district_id WHERE u.name = 't_cli3'") == [("上街区",)]


def test_cli_apikeys_add_prints_the_key_once_and_stores_its_hash(app, engine, accounts):
    result = app.test_cli_runner().invoke(args=["apikeys", "add", "mini-program"])
    key = result.output.strip()
    assert result.exit_code == 0 and len(key) >= 32
    stored = q(engine, "SELECT key_hash FROM api_key WHERE name = 'mini-program'")[0][0]
    assert key not in stored and len(stored) == 64
    with app.app_context():
        assert users.api_key_name(key) == "mini-program"
        assert users.api_key_name(key + "x") is None


# areas above the community ------------------------------------------------------------

PLACES = """
    WITH d AS (INSERT INTO district (name, geom) VALUES (:district, ST_Multi(ST_MakeEnvelope(:x, 34.79, :x + 0.02, 34.81, 4326)))
               ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id),
         s AS (INSERT INTO subdistrict (district_id, name, geom)
               SELECT id, :subdistrict, ST_Multi(ST_MakeEnvelope(:x, 34.79, :x + 0.02, 34.81, 4326)) FROM d RETURNING id),
         m AS (INSERT INTO community (subdistrict_id, name, geom)
               SELECT id, :community, ST_Multi(ST_MakeEnvelope(:x, 34.79, :x + 0.01, 34.80, 4326)) FROM s RETURNING id),
         g AS (INSERT INTO grid (community_id, name, leader_name, leader_phone, geom)
               SELECT id, '第1网格', '郝网格', :leader_phone, ST_Multi(ST_MakeEnvelope(:x, 34.79, :x + 0.01, 34.80, 4326))
                 FROM m RETURNING id, community_id),
         c AS (INSERT INTO compound (community_id, grid_id, name, geom)
               SELECT community_id, id, :compound, ST_Multi(ST_MakeEnvelope(:x + 0.002, 34.792, :x + 0.004, 34.794, 4326))
                 FROM g RETURNING id)
    INSERT INTO head (role, name, phone, compound_id)
    SELECT 'compound_head', '贾楼长', :head_phone, id FROM c RETURNING compound_id, id"""


@pytest.fixture(scope="module")
def hierarchy(app, engine):
    """Beside the sample 上街区/中心路街道: a second subdistrict 上街区/西郊街道 and a second district
    测试区/测试街道, each with a community, a grid and a compound whose head has a phone; and an
    official for each area."""
    places = {}
    with engine.begin() as conn:
        for key, district, subdistrict, community, compound, x, phone in (
                ("west", "上街区", "西郊街道", "西郊社区", "西郊小区", 113.36, "13800001111"),
                ("other", "测试区", "测试街道", "测试社区", "测试小区", 113.40, "13800002222")):
            compound_id, head_id = conn.execute(sa.text(PLACES), dict(
                district=district, subdistrict=subdistrict, community=community, compound=compound, x=x,
                leader_phone=phone[:-1] + "0", head_phone=phone)).one()
            places[key] = {"compound": compound_id, "head": head_id, "phone": phone,
                           "lon": x + 0.003, "lat": 34.793}
    sample_head, sample_phone = q(engine, "SELECT h.id, h.phone FROM head h JOIN compound c ON c.id = h.compound_id "
                                          "JOIN head_role r ON r.code = h.role AND r.level = 'compound' "
                                          "WHERE h.retired_on IS NULL ORDER BY h.id LIMIT 1")[0]
    compound_id, lon, lat = q(engine, "SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom)) "
                                      "FROM compound c JOIN head h ON h.compound_id = c.id WHERE h.id = :h",
                              h=sample_head)[0]
    places["sample"] = {"compound": compound_id, "head": sample_head, "phone": sample_phone, "lon": lon, "lat": lat}
    for name, area in (("h_district", "上街区"), ("h_subdistrict", "上街区/中心路街道"), ("h_other", "测试街道"),
                       ("h_whole", None)):
        add_user(app, name, "official", area)
    return places


# Which areas each official sees in full (the others masked).
SEES = {"h_district": {"sample", "west"}, "h_subdistrict": {"sample"}, "h_other": {"other"},
        "h_whole": {"sample", "west", "other"}}


@pytest.mark.parametrize("official", sorted(SEES))
def test_officials_see_their_area_in_full_and_the_rest_masked(app, hierarchy, official):
    client = login(app.test_client(), official)
    for key, place in hierarchy.items():
        inside = key in SEES[official]
        contact = client.get(f"/api/contacts/{place['head']}")
        assert contact.status_code == (200 if inside else 404), (official, key)
        card = client.get(f"/api/compounds/{place['compound']}").get_json()
        card_phones = [h["phone"] for h in card["heads"]]
        found = client.get(f"/api/lookup?lon={place['lon']}&lat={place['lat']}").get_json()
        assert found["compound_id"] == place["compound"]
        lookup_phones = [h["phone"] for h in found["heads"]]
        if inside:
            assert contact.get_json()["phone"] == place["phone"]
            assert place["phone"] in card_phones and place["phone"] in lookup_phones
            assert card["grid_leader_phone"] and found["grid_leader_phone"]
        else:
            assert set(card_phones) == {None} and set(lookup_phones) == {None}, (official, key)
            assert card["grid_leader_phone"] is None and found["grid_leader_phone"] is None
            assert "*" in card["heads"][0]["name"]


def test_an_area_is_expanded_to_its_communities(app, engine, hierarchy):
    def account(name):
        user_id = q(engine, "SELECT id FROM app_user WHERE name = :n", n=name)[0][0]
        with app.app_context():
            return users.account_for_session(users.open_session(user_id), users.SESSION_IDLE,
                                             users.SESSION_ABSOLUTE)

    shangjie = set(r[0] for r in q(engine, "SELECT m.id FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id "
                                           "JOIN district d ON d.id = s.district_id WHERE d.name = '上街区'"))
    district = account("h_district")
    assert set(district.community_ids) == shangjie and len(shangjie) == 15
    assert district.district_ids == (q(engine, "SELECT id FROM district WHERE name = '上街区'")[0][0],)
    assert district.subdistrict_ids == () and district.grid_ids == ()
    subdistrict = account("h_subdistrict")
    assert len(subdistrict.community_ids) == 14 and len(subdistrict.subdistrict_ids) == 1
    assert account("h_whole").community_ids == ()


def test_an_area_scopes_officials_and_admins(hierarchy):
    from webmap.viewer import Viewer

    whole = Viewer("admin", 1, "a")
    district = Viewer("official", 2, "b", community_ids=(1, 2), district_ids=(7,))
    assert whole.scope_all and whole.has_area
    assert not district.scope_all and district.has_area
    assert district.scope_params() == {"scope_all": False, "scope_grids": [], "scope_communities": [1, 2]}
    assert whole.cache_key != district.cache_key != Viewer("official", 3, "c").cache_key


def test_unknown_area_parts_are_named(app, hierarchy):
    for area, message in (("上街区/没有街道", "没有这个街道：上街区/没有街道"),
                          ("汇丰社区/第99网格", "没有这个网格：汇丰社区/第99网格"),
                          ("汇丰社区/第1网格/一号楼", "网格之下没有更小的范围"),
                          ("没有区", "没有这个区、街道或社区：没有区")):
        with app.app_context(), pytest.raises(users.UserError, match=message):
            users.add("h_refused", "official", PASSWORD, area)
    with app.app_context():
        user_id = users.add("h_path", "community_staff", PASSWORD, "上街区/中心路街道/汇丰社区, 测试区")
    assert len(q(app.extensions["gridmap_engine"], "SELECT 1 FROM user_area WHERE user_id = :u", u=user_id)) == 2
