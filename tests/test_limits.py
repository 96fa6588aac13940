"""Abuse limits with their default settings: failed sign-ins per account and per address
(429, Retry-After, a lockout message in the user's language), issue records per user, Open311
submissions per key, and the largest request body."""
import pytest

from app import create_app
from layers import users
from tests.helpers import PASSWORD, add_user, csrf_token, login, q
from tests.test_workflow import calm_compound, new_issue
from webmap import limits


@pytest.fixture(scope="module")
def app(database):
    """The app as deployed: no limit setting given, so every default applies."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database})
    yield app
    app.extensions["gridmap_engine"].dispose()


@pytest.fixture(scope="module")
def people(app):
    for name in ("l_grid", "l_other", "l_many"):
        add_user(app, name, "grid_leader", "汇丰社区/第1网格")
    for name in ("l_staff", "l_staff2"):
        add_user(app, name, "community_staff", "汇丰社区")
    return True


def attempt(client, name, password, address="10.0.0.1", lang=None):
    token = csrf_token(client, "/login" + (f"?lang={lang}" if lang else ""))
    return client.post("/login" + (f"?lang={lang}" if lang else ""),
                       data={"name": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_defaults_are_the_documented_ones(app):
    assert app.config["RATELIMIT_ENABLED"] is True
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per 15 minutes"
    assert app.config["LOGIN_LIMIT_PER_IP"] == "30 per 15 minutes"
    assert app.config["MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024
    readme = open("README.md", encoding="utf-8").read()
    for name, value in limits.DEFAULTS.items():
        assert f"`{name}`" in readme, name


def test_an_account_is_locked_after_five_failed_sign_ins(app, people):
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "l_grid", "wrong", address="10.0.0.2").status_code == 401
    locked = attempt(client, "l_grid", PASSWORD, address="10.0.0.3")   # even the right password
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "尝试次数过多" in locked.get_data(as_text=True)
    english = attempt(app.test_client(), "l_grid", PASSWORD, address="10.0.0.4", lang="en")
    assert english.status_code == 429 and "Too many attempts" in english.get_data(as_text=True)
    # Another account from the same address is not locked.
    assert attempt(client, "l_other", PASSWORD, address="10.0.0.2").status_code == 302


def test_successful_sign_ins_do_not_count(app, people):
    for _ in range(8):
        assert attempt(app.test_client(), "l_many", PASSWORD, address="10.0.0.5").status_code == 302


def test_one_address_trying_many_accounts_is_stopped(app, people):
    client = app.test_client()
    for i in range(30):
        assert attempt(client, f"nobody{i}", "guess", address="10.0.0.9").status_code == 401
    stopped = attempt(client, "l_other", PASSWORD, address="10.0.0.9")
    assert stopped.status_code == 429 and "Retry-After" in stopped.headers
    assert attempt(client, "l_other", PASSWORD, address="10.0.0.10").status_code == 302


def test_issue_records_per_user_are_limited(app, people, engine):
    staff = login(app.test_client(), "l_staff")
    _, lon, lat = calm_compound(engine)
    before = q(engine, "SELECT count(*) FROM issue")[0][0]
    for _ in range(60):
        assert new_issue(staff, lon, lat).status_code == 201
    refused = new_issue(staff, lon, lat)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "提交过于频繁" in refused.get_json()["error"]
    assert q(engine, "SELECT count(*) FROM issue")[0][0] == before + 60
    # Another user (of the same area) is not affected.
    assert new_issue(login(app.test_client(), "l_staff2"), lon, lat).status_code == 201


def test_open311_posts_per_key_are_limited(app, engine):
    with app.app_context():
        key = users.add_api_key("l_limits_app")
    _, lon, lat = calm_compound(engine)
    form = {"api_key": key, "service_code": "road", "lat": lat, "long": lon, "description": "路面破损"}
    app.config["OPEN311_LIMIT"] = "3 per hour"   # read per request; the default is 300 per hour
    try:
        client = app.test_client()
        for _ in range(3):
            assert client.post("/open311/v2/requests.json", data=form).status_code == 201
        refused = client.post("/open311/v2/requests.json", data=form)
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert refused.get_json()[0]["code"] == 429
    finally:
        app.config["OPEN311_LIMIT"] = limits.DEFAULTS["OPEN311_LIMIT"]


def test_an_oversized_body_is_413_with_a_clear_message(app, people, engine):
    staff = login(app.test_client(), "l_many")
    before = q(engine, "SELECT count(*) FROM issue")[0][0]
    big = staff.post("/api/issues", data=b"x" * (9 * 1024 * 1024), content_type="application/json")
    assert big.status_code == 413
    assert big.get_json()["error"] == "请求内容过大：不能超过 8 MB"
    open311 = app.test_client().post("/open311/v2/requests.json", data={"description": "x" * (9 << 20)})
    assert open311.status_code == 413 and "8 MB" in open311.get_json()[0]["description"]
    assert q(engine, "SELECT count(*) FROM issue")[0][0] == before
