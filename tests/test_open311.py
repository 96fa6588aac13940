"""Open311 GeoReport v2, field by field against the spec: services, requests (filters, paging,
the 90-day window, status), one request, and reporting with an API key. Nothing personal leaves."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from layers import users, workflow
from layers.scope import PUBLIC
from tests.helpers import PHONE, q

V2 = "/open311/v2"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                  "long", "media_url"}
W3C = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")
TEST_PHONE = "13900001234"


@pytest.fixture(scope="module")
def api_key(app):
    with app.app_context():
        return users.add_api_key("e_wangtong_app")


@pytest.fixture(scope="module")
def inside(engine):
    """An interior point of a compound of 汇丰社区."""
    return q(engine, "SELECT ST_X(p), ST_Y(p) FROM compound c JOIN community m ON m.id = c.community_id,"
                     " ST_PointOnSurface(c.geom) p WHERE m.name = '汇丰社区' ORDER BY c.id LIMIT 1")[0]


def report(client, api_key, inside, **extra):
    form = {"api_key": api_key, "service_code": "road", "lat": inside[1], "long": inside[0],
            "description": "北侧道路塌陷，单元口台阶破损", "first_name": "小明", "last_name": "测",
            "phone": TEST_PHONE, "email": "someone@example.org"}
    form.update(extra)
    return client.post(f"{V2}/requests.json", data={k: v for k, v in form.items() if v is not None})


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status and isinstance(body[0]["description"], str) and body[0]["description"]
    return body[0]["description"]


def parse(text):
    assert W3C.fullmatch(text), text
    return dt.datetime.fromisoformat(text)


# services.json -------------------------------------------------------------------------------
def test_services_are_the_categories(client, engine):
    response = client.get(f"{V2}/services.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    services = response.get_json()
    categories = q(engine, "SELECT code, name_zh FROM category ORDER BY ordinal")
    assert [s["service_code"] for s in services] == [c[0] for c in categories]
    for service, (_code, name_zh) in zip(services, categories):
        assert set(service) == SERVICE_FIELDS
        assert service["service_name"] == name_zh
        assert service["metadata"] is False and service["type"] == "realtime"
        assert service["description"] and service["group"]
        assert all(word.strip() for word in service["keywords"].split(","))
    english = client.get(f"{V2}/services.json?lang=en").get_json()
    assert english[0]["service_name"] == "Roads" and english[0]["group"] == "Livelihood"


def test_only_json_is_served(client):
    assert "JSON" in assert_error(client.get(f"{V2}/services.xml"), 400)
    assert_error(client.get(f"{V2}/requests.xml"), 400)


# requests.json ------------------------------------------------------------------------------
def test_default_window_is_the_last_90_days(client, engine):
    response = client.get(f"{V2}/requests.json?page_size=200")
    assert response.status_code == 200
    requests = response.get_json()
    expected = q(engine, "SELECT count(*) FROM issue WHERE reported_at >= now() - interval '90 days'")[0][0]
    assert 0 < expected <= 200
    assert int(response.headers["X-Total-Count"]) == len(requests) == expected
    now = dt.datetime.now(dt.timezone.utc)
    for r in requests:
        assert now - dt.timedelta(days=90, minutes=5) <= parse(r["requested_datetime"]) <= now
    times = [parse(r["requested_datetime"]) for r in requests]
    assert times == sorted(times, reverse=True)  # newest first


def test_every_request_has_the_spec_fields(client, engine):
    requests = client.get(f"{V2}/requests.json?page_size=200").get_json()
    stages = dict(q(engine, "SELECT i.id::text, s.is_open FROM issue i JOIN stage s ON s.code = i.stage"))
    for r in requests:
        assert set(r) == REQUEST_FIELDS
        assert isinstance(r["service_request_id"], str) and r["service_request_id"].isdigit()
        assert r["status"] == ("open" if stages[r["service_request_id"]] else "closed")
        assert r["address_id"] is None and r["zipcode"] is None and r["media_url"] is None
        assert r["agency_responsible"].endswith("社区")
        assert r["address"] is None or r["address"].startswith(r["agency_responsible"] + " ")
        assert 34.7 < r["lat"] < 34.9 and 113.2 < r["long"] < 113.4
        assert round(r["lat"], 6) == r["lat"] and round(r["long"], 6) == r["long"]
        parse(r["updated_datetime"])
        assert parse(r["updated_datetime"]) >= parse(r["requested_datetime"])
        if r["status"] == "open":
            assert parse(r["expected_datetime"])
        else:
            assert r["expected_datetime"] is None


def test_expected_datetime_is_the_stage_deadline(client, engine):
    issue_id, due = q(engine, """
        SELECT i.id, i.stage_changed_at + make_interval(days => s.deadline_days) FROM issue i
          JOIN stage s ON s.code = i.stage AND s.is_open ORDER BY i.id LIMIT 1""")[0]
    r = client.get(f"{V2}/requests/{issue_id}.json").get_json()[0]
    assert abs(parse(r["expected_datetime"]) - due) < dt.timedelta(seconds=1)


def test_status_filter_maps_the_stages(client):
    everything = int(client.get(f"{V2}/requests.json").headers["X-Total-Count"])
    opened = client.get(f"{V2}/requests.json?status=open&page_size=200")
    closed = client.get(f"{V2}/requests.json?status=closed&page_size=200")
    assert {r["status"] for r in opened.get_json()} == {"open"}
    assert {r["status"] for r in closed.get_json()} <= {"closed"}
    assert int(opened.headers["X-Total-Count"]) + int(closed.headers["X-Total-Count"]) == everything
    both = client.get(f"{V2}/requests.json?status=open,closed")
    assert int(both.headers["X-Total-Count"]) == everything
    assert_error(client.get(f"{V2}/requests.json?status=pending"), 400)


def test_service_code_filter(client, engine):
    roads = client.get(f"{V2}/requests.json?service_code=road&page_size=200").get_json()
    assert roads and {r["service_code"] for r in roads} == {"road"}
    assert {r["service_name"] for r in roads} == {"道路"}
    two = client.get(f"{V2}/requests.json?service_code=road,property&page_size=200").get_json()
    assert {r["service_code"] for r in two} <= {"road", "property"} and len(two) > len(roads)
    assert_error(client.get(f"{V2}/requests.json?service_code=potholes"), 404)


def test_dates_filter_on_requested_datetime(client, engine):
    first = q(engine, "SELECT min(reported_at) FROM issue")[0][0]
    start = first.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    end = start + dt.timedelta(days=60)
    expected = q(engine, "SELECT count(*) FROM issue WHERE reported_at BETWEEN :s AND :e", s=start, e=end)[0][0]
    response = client.get(f"{V2}/requests.json", query_string={
        "start_date": start.isoformat(), "end_date": end.isoformat(), "page_size": 200})
    assert int(response.headers["X-Total-Count"]) == expected > 0
    assert all(start <= parse(r["requested_datetime"]) <= end for r in response.get_json())
    # UTC with Z, and only a start: 90 days from it
    utc = client.get(f"{V2}/requests.json", query_string={
        "start_date": start.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert utc.status_code == 200 and int(utc.headers["X-Total-Count"]) >= expected
    # an unencoded '+' of the offset arrives as a space
    spaced = client.get(f"{V2}/requests.json?start_date={start.isoformat().replace('+', ' ')}"
                        f"&end_date={end.isoformat().replace('+', ' ')}")
    assert int(spaced.headers["X-Total-Count"]) == expected


@pytest.mark.parametrize("query", ["start_date=yesterday", "end_date=2024-13-01",
                                   "start_date=2024-01-01&end_date=2024-06-01",
                                   "start_date=2024-06-01&end_date=2024-01-01"])
def test_bad_or_too_wide_dates_are_400(client, query):
    assert_error(client.get(f"{V2}/requests.json?{query}"), 400)


def test_paging(client):
    ten = client.get(f"{V2}/requests.json?page_size=10").get_json()
    page1 = client.get(f"{V2}/requests.json?page_size=5")
    page2 = client.get(f"{V2}/requests.json?page_size=5&page=2").get_json()
    assert page1.get_json() + page2 == ten
    link = page1.headers["Link"]
    assert 'rel="next"' in link and "page=2" in link and "page_size=5" in link
    assert len(client.get(f"{V2}/requests.json").get_json()) == 50  # the default page size
    last = client.get(f"{V2}/requests.json?page_size=200")
    assert "Link" not in last.headers
    for bad in ("page=0", "page=x", "page=²", "page=99999999999", "page_size=201", "page_size=0"):
        assert_error(client.get(f"{V2}/requests.json?{bad}"), 400)


def test_service_request_id_overrides_other_filters(client, engine):
    old = [str(r[0]) for r in q(engine, "SELECT id FROM issue WHERE reported_at < now() - interval "
                                        "'200 days' ORDER BY id LIMIT 3")]
    response = client.get(f"{V2}/requests.json?service_code=employment&status=open"
                          f"&service_request_id={','.join(old)}")
    assert sorted(r["service_request_id"] for r in response.get_json()) == sorted(old)
    assert_error(client.get(f"{V2}/requests.json?service_request_id=1,abc"), 400)
    assert_error(client.get(f"{V2}/requests.json?service_request_id=99999999999"), 400)


# requests/<id>.json --------------------------------------------------------------------------
def test_one_request(client, engine):
    issue_id = q(engine, "SELECT id FROM issue WHERE stage = 'closed' ORDER BY id LIMIT 1")[0][0]
    response = client.get(f"{V2}/requests/{issue_id}.json")
    assert response.status_code == 200
    [r] = response.get_json()
    assert set(r) == REQUEST_FIELDS and r["service_request_id"] == str(issue_id)
    assert r["status"] == "closed" and r["status_notes"]  # the published result
    assert r["description"]
    assert_error(client.get(f"{V2}/requests/99999999.json"), 404)
    assert_error(client.get(f"{V2}/requests/99999999999999999999.json"), 404)
    assert_error(client.get(f"{V2}/requests/abc.json"), 404)
    assert_error(client.get(f"{V2}/requests/{issue_id}.xml"), 400)


def test_what_the_public_may_not_read_is_withheld(client, engine):
    reported, rejected = (q(engine, f"SELECT id FROM issue WHERE stage = '{s}' ORDER BY id LIMIT 1")[0][0]
                          for s in ("reported", "rejected"))
    [r] = client.get(f"{V2}/requests/{reported}.json").get_json()
    assert r["description"] is None and r["status_notes"] is None and r["status"] == "open"
    [r] = client.get(f"{V2}/requests/{rejected}.json").get_json()
    reason = q(engine, "SELECT stage_reason FROM issue WHERE id = :i", i=rejected)[0][0]
    assert r["description"] is None and r["status_notes"] == reason and r["status"] == "closed"


def test_no_personal_data_in_any_response(client, engine, api_key, inside):
    created = report(client, api_key, inside)
    ids = [r[0] for r in q(engine, "SELECT id FROM issue ORDER BY id")]
    bodies = [created.get_data(as_text=True), client.get(f"{V2}/services.json").get_data(as_text=True)]
    for query in ("", "?status=open", "?status=closed&lang=en", "?page_size=200"):
        bodies.append(client.get(f"{V2}/requests.json{query}").get_data(as_text=True))
    for start in range(0, len(ids), 200):
        chunk = ",".join(map(str, ids[start:start + 200]))
        bodies.append(client.get(f"{V2}/requests.json?service_request_id={chunk}").get_data(as_text=True))
    bodies += [client.get(f"{V2}/requests/{i}.json").get_data(as_text=True) for i in ids[:20] + ids[-5:]]
    places = [r[0] for r in q(engine, "SELECT name FROM community UNION SELECT name FROM compound")]
    reporters = {r[0] for r in q(engine, "SELECT name FROM issue_reporter WHERE name IS NOT NULL")}
    assert "测小明" in reporters and len(reporters) > 50
    for body in bodies:
        assert not PHONE.search(body)
        for place in sorted(places, key=len, reverse=True):  # 方明 is a name, and in 东方明珠小区
            body = body.replace(place, "")
        assert not [name for name in reporters if name in body]


# POST requests.json -------------------------------------------------------------------------
def test_report_with_an_api_key(client, engine, api_key, inside):
    response = report(client, api_key, inside)  # no CSRF token: the key authenticates
    assert response.status_code == 201, response.get_data(as_text=True)
    [created] = response.get_json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] is None and created["service_notice"]
    issue_id = int(created["service_request_id"])
    title, category, channel, stage = q(engine, "SELECT title, category, channel, stage FROM issue "
                                                "WHERE id = :i", i=issue_id)[0]
    assert (category, channel, stage) == ("road", "e_wangtong", "reported")
    assert title == "道路：北侧道路塌陷，单元口台阶破损"
    assert q(engine, "SELECT name, phone FROM issue_reporter WHERE issue_id = :i", i=issue_id) == \
        [("测小明", TEST_PHONE)]
    assert q(engine, "SELECT actor FROM issue_event WHERE issue_id = :i", i=issue_id) == \
        [("open311:e_wangtong_app",)]
    [r] = client.get(f"{V2}/requests/{created['service_request_id']}.json").get_json()
    assert r["status"] == "open" and r["service_code"] == "road" and r["description"] is None
    assert r["service_notice"] == "诉求收集" and parse(r["expected_datetime"])
    listed = client.get(f"{V2}/requests.json?status=open&service_code=road").get_json()
    assert created["service_request_id"] in [x["service_request_id"] for x in listed]


def test_channel_extension(client, engine, api_key, inside):
    response = report(client, api_key, inside, channel="public_opinion", description=None, phone=None,
                      first_name=None, last_name=None)
    issue_id = int(response.get_json()[0]["service_request_id"])
    assert q(engine, "SELECT title, channel FROM issue WHERE id = :i", i=issue_id) == [("道路", "public_opinion")]
    assert q(engine, "SELECT count(*) FROM issue_reporter WHERE issue_id = :i", i=issue_id)[0][0] == 0
    assert_error(report(client, api_key, inside, channel="pigeon"), 400)


def test_identifying_numbers_in_a_public_description_are_blanked(app, client, engine, api_key, inside):
    text = f"3号楼门口积水，联系电话{TEST_PHONE}，座机0371-68881234"
    response = report(client, api_key, inside, description=text)
    issue_id = int(response.get_json()[0]["service_request_id"])
    assert PHONE.search(q(engine, "SELECT title FROM issue WHERE id = :i", i=issue_id)[0][0]) is None
    with app.app_context():
        workflow.advance(issue_id, "topic", 1, "测试", {**PUBLIC, "scope_all": True})
    [r] = client.get(f"{V2}/requests/{issue_id}.json").get_json()
    assert r["description"] == "3号楼门口积水，联系电话***，座机***"


def test_reporting_needs_a_valid_api_key(client, api_key, inside):
    assert_error(report(client, None, inside), 403)
    assert_error(report(client, "not-a-key", inside), 403)


def test_unknown_service_code_is_404(client, api_key, inside):
    assert_error(report(client, api_key, inside, service_code="potholes"), 404)
    assert_error(report(client, api_key, inside, service_code=None), 400)


def test_lat_long_are_required(client, api_key, inside):
    description = assert_error(report(client, api_key, inside, lat=None, long=None,
                                      address_string="汇丰社区乐福国际小区北门"), 400)
    assert "lat" in description
    assert_error(report(client, api_key, inside, lat="north"), 400)
    assert_error(report(client, api_key, inside, long="200"), 400)


def test_outside_the_subdistrict_is_400(client, api_key):
    description = assert_error(report(client, api_key, (116.39, 39.9)), 400)
    assert "不在中心路街道范围内" in description


def test_media_url_and_bad_phone_are_refused(client, api_key, inside):
    assert_error(report(client, api_key, inside, media_url="http://example.org/a.jpg"), 400)
    assert_error(report(client, api_key, inside, phone="12345"), 400)


def test_country_code_is_accepted(client, engine, api_key, inside):
    response = report(client, api_key, inside, phone="+86 " + TEST_PHONE)
    issue_id = int(response.get_json()[0]["service_request_id"])
    assert q(engine, "SELECT phone FROM issue_reporter WHERE issue_id = :i", i=issue_id) == [(TEST_PHONE,)]


def test_a_disabled_key_is_refused(app, client, engine, inside):
    with app.app_context():
        key = users.add_api_key("retired_client")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_key SET disabled = true WHERE name = 'retired_client'"))
    assert_error(report(client, key, inside), 403)


def test_csrf_still_guards_the_cookie_api(client):
    """The exemption is the Open311 POST only."""
    response = client.post("/api/issues", json={})
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
