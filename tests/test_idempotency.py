"""Idempotent writes: an issue record (map API and Open311 POST) retried with its idempotency
key is stored once and answered with the same id; the key reused for another request is
refused; a retried stage advance does not apply twice."""
import threading
import uuid

import pytest

from layers import users
from tests.helpers import add_user, login, q

V2 = "/open311/v2"


@pytest.fixture(scope="module")
def people(app):
    add_user(app, "k_staff", "community_staff", "汇丰社区")
    add_user(app, "k_staff2", "community_staff", "汇丰社区")
    return True


@pytest.fixture
def staff(app, people):
    return login(app.test_client(), "k_staff")


@pytest.fixture(scope="module")
def inside(engine):
    return q(engine, "SELECT ST_X(p), ST_Y(p) FROM compound c JOIN community m ON m.id = c.community_id,"
                     " ST_PointOnSurface(c.geom) p WHERE m.name = '汇丰社区' ORDER BY c.id LIMIT 1")[0]


@pytest.fixture(scope="module")
def api_key(app):
    with app.app_context():
        return users.add_api_key("idempotent_app")


def record(client, inside, key=None, **extra):
    body = {"title": "楼道灯不亮", "description": "二单元三楼", "category": "utilities",
            "channel": "home_visit", "lon": inside[0], "lat": inside[1], **extra}
    return client.post("/api/issues", json=body, headers={"Idempotency-Key": key} if key else {})


def stored(engine, title):
    return q(engine, "SELECT count(*) FROM issue WHERE title = :t", t=title)[0][0]


def test_the_same_key_twice_stores_one_issue(staff, engine, inside):
    key, title = str(uuid.uuid4()), f"同一个 key {uuid.uuid4().hex[:6]}"
    first = record(staff, inside, key, title=title)
    again = record(staff, inside, key, title=title)
    assert first.status_code == 201 and again.status_code == 200, again.get_json()
    assert first.get_json()["id"] == again.get_json()["id"]
    assert stored(engine, title) == 1
    assert q(engine, "SELECT issue_id FROM issue_request_key WHERE key = :k", k=key) == [
        (first.get_json()["id"],)]
    assert q(engine, "SELECT count(*) FROM issue_event WHERE issue_id = :i",
             i=first.get_json()["id"])[0][0] == 1


def test_different_keys_store_two_issues(staff, engine, inside):
    title = f"两个 key {uuid.uuid4().hex[:6]}"
    a = record(staff, inside, str(uuid.uuid4()), title=title)
    b = record(staff, inside, str(uuid.uuid4()), title=title)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]
    assert stored(engine, title) == 2


def test_no_key_stores_every_request(staff, engine, inside):
    title = f"没有 key {uuid.uuid4().hex[:6]}"
    assert record(staff, inside, title=title).status_code == 201
    assert record(staff, inside, title=title).status_code == 201
    assert stored(engine, title) == 2


def test_the_key_may_come_in_the_form(staff, engine, inside):
    key, title = str(uuid.uuid4()), f"表单 key {uuid.uuid4().hex[:6]}"
    form = {"title": title, "category": "utilities", "channel": "home_visit", "lon": inside[0],
            "lat": inside[1], "idempotency_key": key}
    first = staff.post("/api/issues", data=form)
    again = staff.post("/api/issues", data=form)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"] and stored(engine, title) == 1


def test_a_key_reused_with_another_body_is_refused(staff, engine, inside):
    key, title = str(uuid.uuid4()), f"改了内容 {uuid.uuid4().hex[:6]}"
    assert record(staff, inside, key, title=title).status_code == 201
    other = record(staff, inside, key, title=title + "（改）")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["error"]
    assert stored(engine, title) == 1 and stored(engine, title + "（改）") == 0
    english = staff.post("/api/issues?lang=en", json={
        "title": title + " (en)", "category": "utilities", "channel": "home_visit",
        "lon": inside[0], "lat": inside[1]}, headers={"Idempotency-Key": key})
    assert english.status_code == 422 and "different request" in english.get_json()["error"]


def test_a_key_is_the_senders(app, staff, engine, inside):
    """Another user sending the same key and body does not get the first user's issue."""
    key, title = str(uuid.uuid4()), f"别人的 key {uuid.uuid4().hex[:6]}"
    assert record(staff, inside, key, title=title).status_code == 201
    other = login(app.test_client(), "k_staff2")
    assert record(other, inside, key, title=title).status_code == 422
    assert stored(engine, title) == 1


@pytest.mark.parametrize("key", ["has space", "x" * 201, "中文"])
def test_a_malformed_key_is_400(staff, engine, inside, key):
    title = f"坏 key {uuid.uuid4().hex[:6]}"
    response = staff.post("/api/issues", json={
        "title": title, "category": "utilities", "channel": "home_visit", "lon": inside[0],
        "lat": inside[1], "idempotency_key": key})
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]
    assert stored(engine, title) == 0


def test_concurrent_retries_store_one_issue(app, people, engine, inside):
    """Retries that race each other (a double tap, a client that gave up waiting) queue on
    the key: one stores the issue, the others answer with its id."""
    key, title = str(uuid.uuid4()), f"并发重试 {uuid.uuid4().hex[:6]}"
    clients = [login(app.test_client(), "k_staff") for _ in range(4)]
    barrier, answers = threading.Barrier(len(clients)), []

    def go(client):
        barrier.wait()
        answers.append(record(client, inside, key, title=title))

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert stored(engine, title) == 1


def test_a_refused_record_stores_no_key(staff, engine, inside):
    """A record refused (outside the subdistrict) keeps nothing: the corrected retry may use
    the same key."""
    key, title = str(uuid.uuid4()), f"界外 {uuid.uuid4().hex[:6]}"
    outside = record(staff, (100.0, 30.0), key, title=title)
    assert outside.status_code == 400
    assert q(engine, "SELECT count(*) FROM issue_request_key WHERE key = :k", k=key)[0][0] == 0
    assert record(staff, inside, key, title=title).status_code == 201
    assert stored(engine, title) == 1


# Open311 -------------------------------------------------------------------------------------
def report(client, api_key, inside, key=None, **extra):
    form = {"api_key": api_key, "service_code": "road", "lat": inside[1], "long": inside[0],
            "description": "路灯不亮", **extra}
    return client.post(f"{V2}/requests.json", data=form, headers={"Idempotency-Key": key} if key else {})


def test_open311_retry_returns_the_same_request(client, engine, api_key, inside):
    key, text = str(uuid.uuid4()), f"Open311 重试 {uuid.uuid4().hex[:6]}"
    first = report(client, api_key, inside, key, description=text)
    again = report(client, api_key, inside, key, description=text)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    assert q(engine, "SELECT count(*) FROM issue WHERE description = :d", d=text)[0][0] == 1


def test_open311_key_in_the_form_and_reuse_refused(client, engine, api_key, inside):
    key, text = str(uuid.uuid4()), f"Open311 表单 {uuid.uuid4().hex[:6]}"
    assert report(client, api_key, inside, idempotency_key=key, description=text).status_code == 201
    assert report(client, api_key, inside, idempotency_key=key, description=text).status_code == 200
    reused = report(client, api_key, inside, idempotency_key=key, description=text + "!")
    assert reused.status_code == 422
    body = reused.get_json()
    assert body[0]["code"] == 422 and "Idempotency-Key" in body[0]["description"]
    assert q(engine, "SELECT count(*) FROM issue WHERE description LIKE :d", d=text + "%")[0][0] == 1


# Stage advances ------------------------------------------------------------------------------
def test_a_retried_advance_does_not_apply_twice(staff, engine, inside):
    """The advance carries the version it read: its retry is stale and refused (409), so the
    issue moves one step and the log has one entry."""
    issue_id = record(staff, inside, str(uuid.uuid4()), title="推进重试").get_json()["id"]
    version = q(engine, "SELECT version FROM issue WHERE id = :i", i=issue_id)[0][0]
    body = {"to": "topic", "version": version}
    first = staff.post(f"/api/issues/{issue_id}/advance", json=body)
    retry = staff.post(f"/api/issues/{issue_id}/advance", json=body)
    assert first.status_code == 200 and retry.status_code == 409
    assert q(engine, "SELECT stage, version FROM issue WHERE id = :i", i=issue_id) == [("topic", version + 1)]
    assert q(engine, "SELECT count(*) FROM issue_event WHERE issue_id = :i AND to_stage = 'topic'",
             i=issue_id)[0][0] == 1


def test_concurrent_records_and_advances_never_fail(app, people, engine, inside):
    """Records and advances of issues of one compound at once, as in the load test: each is
    201/200 or a 409 for a stale version, never a 500 (a deadlock between the state triggers
    is retried, not shown; two refreshes of one compound's state take turns, migration 0014),
    and the compound's, grid's and community's open counts stay true."""
    issue_ids = [record(login(app.test_client(), "k_staff"), inside, str(uuid.uuid4()), title="并发推进")
                 .get_json()["id"] for _ in range(4)]
    stop, answers = threading.Event(), []
    steps = {"reported": "topic", "topic": "notice", "notice": "implement"}

    def advancer(n):
        client = login(app.test_client(), "k_staff")
        while not stop.is_set():
            issue = client.get(f"/api/issues/{issue_ids[n % len(issue_ids)]}").get_json()
            n += 1
            if issue["stage"] in ("reported", "topic"):
                answers.append(client.post(f"/api/issues/{issue['id']}/advance", json={
                    "to": steps[issue["stage"]], "version": issue["version"]}).status_code)
            elif issue["stage"] == "notice":
                answers.append(client.post(f"/api/issues/{issue['id']}/advance", json={
                    "to": "rejected", "reason": "并发测试", "version": issue["version"]}).status_code)
            else:
                issue_ids[(n - 1) % len(issue_ids)] = record(client, inside, str(uuid.uuid4()),
                                                             title="并发推进").get_json()["id"]

    def recorder():
        client = login(app.test_client(), "k_staff2")
        while not stop.is_set():
            answers.append(record(client, inside, str(uuid.uuid4()), title="并发登记").status_code)

    threads = [threading.Thread(target=advancer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=recorder) for _ in range(3)]
    [t.start() for t in threads]
    threading.Event().wait(8)
    stop.set()
    [t.join() for t in threads]
    assert answers and set(answers) <= {200, 201, 409}, sorted(set(answers))
    # the summary rows the triggers keep still agree with the issues (no refresh lost)
    compound_id, grid_id, community_id = q(engine, "SELECT compound_id, grid_id, community_id FROM issue "
                                                   "WHERE id = :i", i=issue_ids[0])[0]
    for table, column, value in (("compound_state", "compound_id", compound_id),
                                 ("grid_state", "grid_id", grid_id),
                                 ("community_state", "community_id", community_id)):
        kept = q(engine, f"SELECT open_issues FROM {table} WHERE {column} = :v", v=value)
        counted = q(engine, f"SELECT count(*) FROM issue WHERE {column} = :v AND due_at IS NOT NULL", v=value)
        assert kept == counted, (table, kept, counted)
