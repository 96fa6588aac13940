"""Bad values at the edge: always a 400 naming the field, in the user's language, nothing written.

Each case was once a 500 (a non-numeric id, an impossible date that passed a regex, a string
where a list belongs) or a silent 200 (an unknown query parameter answered with defaults).
"""
import re

import pytest

from tests.helpers import add_user, login, q

CJK = re.compile(r"[\u4e00-\u9fff]")
TABLES = ("issue", "issue_event", "meeting", "meeting_issue", "head", "head_event")


def counts(engine):
    return [q(engine, f"SELECT count(*), max(xmin::text::bigint) FROM {t}")[0] for t in TABLES]


@pytest.fixture(scope="module")
def staff_user(app):
    add_user(app, "v_staff", "community_staff", "汇丰社区")
    return "v_staff"


@pytest.fixture
def staff(app, staff_user):
    return login(app.test_client(), staff_user)


@pytest.fixture(scope="module")
def home(engine):
    issue = q(engine, "SELECT i.id, i.version FROM issue i JOIN community m ON m.id = i.community_id "
                      "WHERE m.name = '汇丰社区' AND i.stage = 'topic' ORDER BY i.id LIMIT 1")
    venue = q(engine, "SELECT v.id, min(vp.platform) FROM venue v JOIN venue_platform vp ON vp.venue_id = v.id "
                      "JOIN community m ON m.id = v.community_id WHERE m.name = '汇丰社区' GROUP BY v.id "
                      "ORDER BY v.id LIMIT 1")[0]
    head = q(engine, "SELECT h.id, h.version FROM head h JOIN compound c ON c.id = h.compound_id "
                     "JOIN community m ON m.id = c.community_id WHERE m.name = '汇丰社区' "
                     "AND h.retired_on IS NULL ORDER BY h.id LIMIT 1")[0]
    return {"issue": issue[0][0], "venue": venue, "head": head}


def meeting(venue, **changes):
    return {"venue_id": venue[0], "platform": venue[1], "held_on": "2024-02-28", "title": "恳谈会",
            "attendee_count": 5, "attendee_kinds": ["heads"], **changes}


CASES = {
    "issue compound_id": ("post", "/api/issues", lambda h: {
        "title": "路灯", "category": "property", "channel": "phone", "compound_id": "abc"}, "compound_id"),
    "issue lon": ("post", "/api/issues", lambda h: {
        "title": "路灯", "category": "property", "channel": "phone", "lon": "east", "lat": 34.8}, "lon"),
    "advance meeting_id": ("post", "/api/issues/{issue}/advance", lambda h: {
        "to": "consult", "version": 1, "meeting_id": "abc"}, "meeting_id"),
    "advance merged_into": ("post", "/api/issues/{issue}/advance", lambda h: {
        "to": "merged", "reason": "重复", "version": 1, "merged_into": "x1"}, "merged_into"),
    "advance version": ("post", "/api/issues/{issue}/advance", lambda h: {"to": "consult"}, "version"),
    "meeting held_on": ("post", "/api/meetings", lambda h: meeting(h["venue"], held_on="2024-02-30"), "held_on"),
    "meeting attendee_kinds": ("post", "/api/meetings",
                               lambda h: meeting(h["venue"], attendee_kinds="heads"), "attendee_kinds"),
    "meeting issue_ids": ("post", "/api/meetings", lambda h: meeting(h["venue"], issue_ids=["x"]), "issue_ids"),
    "meeting venue_id": ("post", "/api/meetings", lambda h: meeting(h["venue"], venue_id="one"), "venue_id"),
    "meeting attendee_count": ("post", "/api/meetings",
                               lambda h: meeting(h["venue"], attendee_count=[1]), "attendee_count"),
    "contact appointed_on": ("patch", "/api/contacts/{head}", lambda h: {
        "appointed_on": "2024-02-30", "version": h["head"][1]}, "appointed_on"),
    "contact replace appointed_on": ("post", "/api/contacts/{head}/replace", lambda h: {
        "name": "李四", "phone": "13800002222", "appointed_on": "2023-13-01", "version": h["head"][1]},
                                     "appointed_on"),
    "contact name type": ("patch", "/api/contacts/{head}", lambda h: {"name": 7, "version": h["head"][1]}, "name"),
    "new contact compound_id": ("post", "/api/contacts", lambda h: {
        "role": "compound_head", "name": "李四", "phone": "13800002222", "compound_id": "3a"}, "compound_id"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_body_value_is_a_400_naming_the_field(staff, engine, home, case):
    method, path, body, field = CASES[case]
    path = path.format(issue=home["issue"], head=home["head"][0])
    before = counts(engine)
    response = getattr(staff, method)(path, json=body(home))
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert field in error and CJK.search(error)
    assert counts(engine) == before


def test_the_message_is_english_on_request(staff, home):
    response = staff.post("/api/meetings?lang=en", json=meeting(home["venue"], held_on="2024-02-30"))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "held_on" in error and not CJK.search(error)
    assert response.get_json()["fields"][0]["field"] == "held_on"


@pytest.mark.parametrize("path", ["/hotspots", "/api/hotspots.geojson", "/issues", "/export/issues.csv",
                                  "/api/layers/compounds.geojson", "/api/heat?bbox=113.27,34.79,113.31,34.83",
                                  "/api/search?q=a", "/dashboard", "/"])
@pytest.mark.parametrize("bad, field", [("res=99", "res"), ("start=2024-13-01", "start")])
def test_an_unknown_query_parameter_is_a_400(staff, path, bad, field):
    response = staff.get(path + ("&" if "?" in path else "?") + bad)
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)


@pytest.mark.parametrize("query, field", [("from=2024-02-30", "from"), ("to=2024-13-01", "to"),
                                          ("overdue=yes", "overdue"), ("crs=epsg3857", "crs")])
def test_a_bad_hotspots_value_is_a_400(client, query, field):
    for path in ("/hotspots", "/api/hotspots.geojson"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and field in response.get_data(as_text=True)


@pytest.mark.parametrize("query, field", [("lon=x&lat=34.8", "lon"), ("lon=113.3", "lat"),
                                          ("lon=113.3&lat=nan", "lat")])
def test_a_bad_lookup_is_a_400(client, query, field):
    response = client.get(f"/api/lookup?{query}")
    assert response.status_code == 400 and field in response.get_json()["error"]


def test_roster_page_compound_must_be_a_number(staff):
    assert staff.get("/roster?compound=abc").status_code == 400


@pytest.mark.parametrize("part", [b'name="a', b"name=", b'foo="bar"'])
def test_a_form_field_without_a_readable_name_is_a_400(staff, engine, part):
    # Werkzeug reads such a part as a field named None, which Flask-WTF's CSRF check tripped on (a 500).
    before = counts(engine)
    body = b'--b\r\nContent-Disposition: form-data; ' + part + b'\r\n\r\nx\r\n--b--\r\n'
    response = staff.post("/api/issues", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400 and "无法识别名称" in response.get_json()["error"]
    assert counts(engine) == before
