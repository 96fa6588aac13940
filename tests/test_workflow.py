"""The six steps through the API: legal moves only, one transaction each, meetings, claims."""
import io
import threading

import pytest
from PIL import Image

from tests.helpers import add_user, csrf_token, login, open_issues, q


@pytest.fixture(scope="module")
def people(app):
    add_user(app, "w_staff", "community_staff", "汇丰社区")
    add_user(app, "w_staff2", "community_staff", "汇丰社区")
    add_user(app, "w_grid_other", "grid_leader", "江南小镇社区/第1网格")
    add_user(app, "w_deputy", "deputy", "汇丰社区")
    return True


@pytest.fixture
def staff(app, people):
    return login(app.test_client(), "w_staff")


def calm_compound(engine):
    """A compound of 汇丰社区 with no open issue, and an interior point of it."""
    return q(engine, """
        SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
          FROM compound c JOIN community m ON m.id = c.community_id
          JOIN compound_state s ON s.community_id = c.community_id AND s.compound_id = c.id
         WHERE m.name = '汇丰社区' ORDER BY s.open_issues, c.id LIMIT 1""")[0]


def new_issue(client, lon, lat, **extra):
    body = {"title": "单元门禁损坏", "description": "三单元门禁坏了", "category": "property",
            "channel": "home_visit", "lon": lon, "lat": lat, "reporter_name": "张三",
            "reporter_phone": "13800001111"}
    body.update(extra)
    return client.post("/api/issues", json=body)


def version_of(engine, issue_id):
    return q(engine, "SELECT version FROM issue WHERE id = :i", i=issue_id)[0][0]


def advance(client, engine, issue_id, to, **extra):
    return client.post(f"/api/issues/{issue_id}/advance",
                       json={"to": to, "version": version_of(engine, issue_id), **extra})


def a_meeting(client, engine):
    venue_id, platform = q(engine, "SELECT v.id, vp.platform FROM venue v JOIN venue_platform vp "
                                   "ON vp.venue_id = v.id JOIN community m ON m.id = v.community_id "
                                   "WHERE m.name = '汇丰社区' ORDER BY v.id LIMIT 1")[0]
    response = client.post("/api/meetings", json={
        "venue_id": venue_id, "platform": platform, "held_on": "2026-11-01", "title": "小板凳恳谈会",
        "attendee_count": 18, "attendee_kinds": ["party_member", "heads"], "minutes": "议定修复"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_an_issue_goes_through_all_six_steps(app, staff, engine):
    compound_id, lon, lat = calm_compound(engine)
    open_before = open_issues(engine, compound_id)
    created = new_issue(staff, lon, lat)
    assert created.status_code == 201
    issue_id = created.get_json()["id"]
    assert q(engine, "SELECT compound_id FROM issue WHERE id = :i", i=issue_id)[0][0] == compound_id
    meeting_id = a_meeting(staff, engine)
    steps = [("topic", {}), ("notice", {}), ("consult", {"meeting_id": meeting_id}), ("implement", {}),
             ("publish", {"result": "门禁已修复"}), ("feedback", {"satisfaction": "satisfied"}),
             ("closed", {"note": "办结"})]
    for to, extra in steps:
        response = advance(staff, engine, issue_id, to, **extra)
        assert response.status_code == 200, (to, response.get_json())
    events = q(engine, "SELECT from_stage, to_stage, actor FROM issue_event WHERE issue_id = :i "
                       "ORDER BY at, id", i=issue_id)
    assert [e[1] for e in events] == ["reported"] + [to for to, _ in steps]
    assert all(e[2] == "w_staff" for e in events)
    assert q(engine, "SELECT count(*) FROM meeting_issue WHERE meeting_id = :m AND issue_id = :i",
             m=meeting_id, i=issue_id)[0][0] == 1
    assert open_issues(engine, compound_id) == open_before  # back where it was


@pytest.mark.parametrize("to", ["notice", "closed", "publish", "reported", "nonsense"])
def test_illegal_jumps_are_409_and_change_nothing(staff, engine, to):
    _, lon, lat = calm_compound(engine)
    issue_id = new_issue(staff, lon, lat).get_json()["id"]
    before = q(engine, "SELECT stage, version FROM issue WHERE id = :i", i=issue_id)
    response = advance(staff, engine, issue_id, to)
    assert response.status_code == 409 and response.get_json()["error"]
    assert q(engine, "SELECT stage, version FROM issue WHERE id = :i", i=issue_id) == before
    assert q(engine, "SELECT count(*) FROM issue_event WHERE issue_id = :i", i=issue_id)[0][0] == 1


def test_an_ended_issue_cannot_move(staff, engine):
    _, lon, lat = calm_compound(engine)
    issue_id = new_issue(staff, lon, lat).get_json()["id"]
    assert advance(staff, engine, issue_id, "rejected", reason="不属于协商事项").status_code == 200
    for to in ("topic", "merged", "closed"):
        assert advance(staff, engine, issue_id, to, reason="x").status_code == 409


def test_required_fields_of_steps(staff, engine):
    _, lon, lat = calm_compound(engine)
    issue_id = new_issue(staff, lon, lat).get_json()["id"]
    assert advance(staff, engine, issue_id, "rejected").status_code == 400      # no reason
    assert advance(staff, engine, issue_id, "merged", reason="重复").status_code == 400  # no target
    for to in ("topic", "notice"):
        assert advance(staff, engine, issue_id, to).status_code == 200
    missing_meeting = advance(staff, engine, issue_id, "consult")
    assert missing_meeting.status_code == 400 and "协商活动" in missing_meeting.get_json()["error"]


def test_outside_the_subdistrict_is_400_with_the_message(staff, engine):
    count = q(engine, "SELECT count(*) FROM issue")[0][0]
    response = new_issue(staff, 113.60, 34.75)
    assert response.status_code == 400
    assert "不在中心路街道范围内" in response.get_json()["error"]
    assert q(engine, "SELECT count(*) FROM issue")[0][0] == count


def test_bad_input_is_400_and_writes_nothing(staff, engine):
    _, lon, lat = calm_compound(engine)
    count = q(engine, "SELECT count(*) FROM issue")[0][0]
    for extra in ({"category": "nope"}, {"channel": "nope"}, {"title": ""}, {"lon": "abc"},
                  {"reporter_phone": "12345"}):
        body = {"lon": lon, "lat": lat, **extra}
        response = new_issue(staff, body.pop("lon"), body.pop("lat"), **body)
        assert response.status_code == 400 and response.get_json()["error"], extra
    assert q(engine, "SELECT count(*) FROM issue")[0][0] == count


def test_gcj02_coordinates_are_converted(staff, engine):
    from geo.crs import wgs84_to_gcj02

    compound_id, lon, lat = calm_compound(engine)
    glon, glat = wgs84_to_gcj02(lon, lat)
    issue_id = new_issue(staff, float(glon), float(glat), crs="gcj02").get_json()["id"]
    assert q(engine, "SELECT compound_id FROM issue WHERE id = :i", i=issue_id)[0][0] == compound_id


def test_concurrent_advances_one_wins_one_409(app, people, engine):
    a, b = login(app.test_client(), "w_staff"), login(app.test_client(), "w_staff2")
    _, lon, lat = calm_compound(engine)
    issue_id = new_issue(a, lon, lat).get_json()["id"]
    version = version_of(engine, issue_id)
    barrier = threading.Barrier(2)
    results = []

    def go(client):
        barrier.wait()
        results.append(client.post(f"/api/issues/{issue_id}/advance", json={"to": "topic", "version": version}))

    threads = [threading.Thread(target=go, args=(c,)) for c in (a, b)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(r.status_code for r in results) == [200, 409]
    assert q(engine, "SELECT count(*) FROM issue_event WHERE issue_id = :i AND to_stage = 'topic'",
             i=issue_id)[0][0] == 1


def test_out_of_scope_and_wrong_roles(app, staff, people, engine):
    _, lon, lat = calm_compound(engine)
    issue_id = new_issue(staff, lon, lat).get_json()["id"]
    other = login(app.test_client(), "w_grid_other")
    assert advance(other, engine, issue_id, "topic").status_code == 404
    deputy = login(app.test_client(), "w_deputy")
    assert advance(deputy, engine, issue_id, "topic").status_code == 403
    claim = deputy.post(f"/api/issues/{issue_id}/claim", json={})
    assert claim.status_code == 201
    assert deputy.post(f"/api/issues/{issue_id}/claim", json={}).status_code == 409
    assert deputy.post(f"/api/issues/{issue_id}/comment", json={"note": "已联系物业"}).status_code == 201
    kinds = [k for (k,) in q(engine, "SELECT kind FROM issue_event WHERE issue_id = :i ORDER BY id", i=issue_id)]
    assert kinds == ["stage", "claim", "comment"]
    anonymous = app.test_client()
    assert anonymous.post("/api/issues", json={}).status_code == 400  # no CSRF token: refused first
    signed_out = anonymous.post("/api/issues", json={}, headers={"X-CSRFToken": csrf_token(anonymous)})
    assert signed_out.status_code == 401 and "登录" in signed_out.get_json()["error"]


def test_photo_is_size_capped_and_stripped_of_metadata(staff, engine):
    _, lon, lat = calm_compound(engine)
    image = Image.new("RGB", (40, 30), "red")
    exif = image.getexif()
    exif[0x010F] = "SecretCamera"
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif)
    form = {"title": "路灯不亮", "category": "utilities", "channel": "phone", "lon": str(lon),
            "lat": str(lat), "photo": (io.BytesIO(raw.getvalue()), "p.jpg")}
    response = staff.post("/api/issues", data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    photo = staff.get(f"/api/issues/{response.get_json()['id']}/photo")
    assert photo.mimetype == "image/jpeg"
    assert b"SecretCamera" not in photo.data and "exif" not in Image.open(io.BytesIO(photo.data)).info
    not_an_image = dict(form, photo=(io.BytesIO(b"GIF89a not really"), "p.gif"))
    assert staff.post("/api/issues", data=not_an_image, content_type="multipart/form-data").status_code == 400


def test_meeting_platform_must_be_served_by_the_venue(staff, engine):
    venue_id = q(engine, "SELECT vp.venue_id FROM venue_platform vp JOIN venue v ON v.id = vp.venue_id "
                         "JOIN community m ON m.id = v.community_id WHERE m.name = '汇丰社区' "
                         "GROUP BY vp.venue_id HAVING NOT bool_or(vp.platform = 'cppcc_consult') LIMIT 1")[0][0]
    response = staff.post("/api/meetings", json={
        "venue_id": venue_id, "platform": "cppcc_consult", "held_on": "2026-11-01", "title": "t",
        "attendee_count": 3})
    assert response.status_code == 400 and "平台" in response.get_json()["error"]
    assert staff.get(f"/api/venues/{venue_id}/meetings").status_code == 200
