"""Every write route, tried across areas: refused (403/404) and nothing changed in the database.

Reads are scoped in SQL (layers/scope.py); so are writes: recording an issue, advancing it
(with its meeting or the issue it merges into), claiming and commenting, meetings (venue and
issues), and the 三长 roster (edit, retire, replace, add with a building or unit).
"""
import pytest

from tests.helpers import add_user, login, q

HOME, OTHER = "汇丰社区", "江南小镇社区"
# The rows every write route may touch; a refused write leaves all of them as they were.
TABLES = ("issue", "issue_event", "issue_reporter", "issue_photo", "meeting", "meeting_issue",
          "head", "head_event")


def snapshot(engine):
    return {t: q(engine, f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                         f" FROM {t} x")[0] for t in TABLES}


@pytest.fixture(scope="module")
def people(app):
    add_user(app, "ws_staff", "community_staff", HOME)
    add_user(app, "ws_grid", "grid_leader", f"{HOME}/第1网格")
    add_user(app, "ws_deputy", "deputy", HOME)
    return True


@pytest.fixture
def staff(app, people):
    return login(app.test_client(), "ws_staff")


@pytest.fixture
def grid(app, people):
    return login(app.test_client(), "ws_grid")


@pytest.fixture
def deputy(app, people):
    return login(app.test_client(), "ws_deputy")


def compound_of(engine, community, grid_name=None, inside=True):
    """(id, lon, lat) of a compound of ``community`` (in or outside its grid ``grid_name``)."""
    grid_clause = "" if grid_name is None else \
        f"AND c.grid_id {'=' if inside else '<>'} (SELECT g.id FROM grid g WHERE g.community_id = m.id AND g.name = :g)"
    return q(engine, f"""
        SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
          FROM compound c JOIN community m ON m.id = c.community_id
         WHERE m.name = :m {grid_clause} ORDER BY c.id LIMIT 1""", m=community, g=grid_name)[0]


def open_issue(engine, community):
    return q(engine, "SELECT i.id, i.version FROM issue i JOIN community m ON m.id = i.community_id "
                     "JOIN stage s ON s.code = i.stage WHERE m.name = :m AND s.is_open "
                     "ORDER BY i.id LIMIT 1", m=community)[0]


def venue_of(engine, community):
    return q(engine, "SELECT v.id, min(vp.platform) FROM venue v JOIN venue_platform vp ON vp.venue_id = v.id "
                     "JOIN community m ON m.id = v.community_id WHERE m.name = :m "
                     "GROUP BY v.id ORDER BY v.id LIMIT 1", m=community)[0]


def meeting_of(engine, community):
    return q(engine, "SELECT mt.id FROM meeting mt JOIN venue v ON v.id = mt.venue_id "
                     "JOIN community m ON m.id = v.community_id WHERE m.name = :m "
                     "ORDER BY mt.id LIMIT 1", m=community)[0][0]


def head_of(engine, community, with_unit=False):
    return q(engine, "SELECT h.id, h.version, h.compound_id, h.building_id, h.unit_id FROM head h "
                     "JOIN compound c ON c.id = h.compound_id JOIN community m ON m.id = c.community_id "
                     f"WHERE m.name = :m AND h.retired_on IS NULL {'AND h.unit_id IS NOT NULL' if with_unit else ''} "
                     "ORDER BY h.id LIMIT 1", m=community)[0]


def issue_body(**place):
    return {"title": "楼道灯不亮", "category": "property", "channel": "home_visit", **place}


@pytest.fixture
def own_issue_at_notice(staff, engine):
    """An issue of the staff's own community, taken to the step before consult."""
    _cid, lon, lat = compound_of(engine, HOME)
    issue_id = staff.post("/api/issues", json=issue_body(lon=lon, lat=lat)).get_json()["id"]
    for to in ("topic", "notice"):
        version = q(engine, "SELECT version FROM issue WHERE id = :i", i=issue_id)[0][0]
        assert staff.post(f"/api/issues/{issue_id}/advance", json={"to": to, "version": version}).status_code == 200
    return issue_id, q(engine, "SELECT version FROM issue WHERE id = :i", i=issue_id)[0][0]


def test_the_same_writes_are_allowed_at_home(staff, engine):
    """The refusals below are about the area, not the request: at home each of them works."""
    venue_id, platform = venue_of(engine, HOME)
    issue_id, _version = open_issue(engine, HOME)
    made = staff.post("/api/meetings", json={"venue_id": venue_id, "platform": platform, "held_on": "2026-01-05",
                                             "title": "恳谈会", "attendee_count": 5, "issue_ids": [issue_id]})
    assert made.status_code == 201, made.get_json()
    head = head_of(engine, HOME, with_unit=True)
    added = staff.post("/api/contacts", json={"role": "unit_head", "name": "李四", "phone": "13800002222",
                                              "compound_id": head[2], "building_id": head[3], "unit_id": head[4]})
    assert added.status_code == 201, added.get_json()
    _cid, lon, lat = compound_of(engine, HOME)
    assert staff.post("/api/issues", json=issue_body(lon=lon, lat=lat)).status_code == 201


def test_writes_outside_the_area_are_refused_and_change_nothing(staff, grid, deputy, engine, own_issue_at_notice):
    own_id, own_version = own_issue_at_notice
    other_compound, other_lon, other_lat = compound_of(engine, OTHER)
    next_grid_compound, ng_lon, ng_lat = compound_of(engine, HOME, "第1网格", inside=False)
    other_issue, other_version = open_issue(engine, OTHER)
    other_venue, other_platform = venue_of(engine, OTHER)
    home_venue, home_platform = venue_of(engine, HOME)
    other_head = head_of(engine, OTHER, with_unit=True)
    home_head = head_of(engine, HOME)
    before = snapshot(engine)

    attempts = {
        # recording an issue where the recorder has no say
        "issue by point (staff)": staff.post("/api/issues", json=issue_body(lon=other_lon, lat=other_lat)),
        "issue by compound (staff)": staff.post("/api/issues", json=issue_body(compound_id=other_compound)),
        "issue by point (deputy)": deputy.post("/api/issues", json=issue_body(lon=other_lon, lat=other_lat)),
        "issue in the next grid (grid leader)": grid.post("/api/issues", json=issue_body(lon=ng_lon, lat=ng_lat)),
        # the workflow
        "advance another's issue (staff)": staff.post(f"/api/issues/{other_issue}/advance",
                                                      json={"to": "rejected", "reason": "x", "version": other_version}),
        "advance another's issue (grid leader)": grid.post(f"/api/issues/{other_issue}/advance",
                                                           json={"to": "rejected", "reason": "x", "version": other_version}),
        "consult at another community's meeting": staff.post(
            f"/api/issues/{own_id}/advance",
            json={"to": "consult", "version": own_version, "meeting_id": meeting_of(engine, OTHER)}),
        "merge into another community's issue": staff.post(
            f"/api/issues/{own_id}/advance",
            json={"to": "merged", "reason": "重复", "version": own_version, "merged_into": other_issue}),
        "claim another's issue": deputy.post(f"/api/issues/{other_issue}/claim", json={}),
        "comment on another's issue": staff.post(f"/api/issues/{other_issue}/comment", json={"note": "看看"}),
        # meetings
        "meeting at another's venue": staff.post("/api/meetings", json={
            "venue_id": other_venue, "platform": other_platform, "held_on": "2026-01-05", "title": "恳谈会",
            "attendee_count": 5}),
        "meeting taking up another's issue": staff.post("/api/meetings", json={
            "venue_id": home_venue, "platform": home_platform, "held_on": "2026-01-05", "title": "恳谈会",
            "attendee_count": 5, "issue_ids": [other_issue]}),
        # the roster
        "edit another's contact": staff.patch(f"/api/contacts/{other_head[0]}",
                                              json={"name": "王五", "version": other_head[1]}),
        "retire another's contact": staff.post(f"/api/contacts/{other_head[0]}/retire",
                                               json={"version": other_head[1]}),
        "replace another's contact": staff.post(f"/api/contacts/{other_head[0]}/replace",
                                                json={"name": "王五", "phone": "13800003333",
                                                      "version": other_head[1]}),
        "add a contact in another's compound": staff.post("/api/contacts", json={
            "role": "compound_head", "name": "王五", "phone": "13800003333", "compound_id": other_compound}),
        "add a contact at home with another's building": staff.post("/api/contacts", json={
            "role": "unit_head", "name": "王五", "phone": "13800003333", "compound_id": home_head[2],
            "building_id": other_head[3], "unit_id": other_head[4]}),
        "add a contact at home with another's unit": staff.post("/api/contacts", json={
            "role": "unit_head", "name": "王五", "phone": "13800003333", "compound_id": home_head[2],
            "unit_id": other_head[4]}),
    }
    allowed = {name: (r.status_code, r.get_json()) for name, r in attempts.items() if r.status_code not in (403, 404)}
    assert not allowed
    assert snapshot(engine) == before


def test_the_meetings_page_offers_only_venues_of_the_area(staff, engine):
    page = staff.get("/meetings").get_data(as_text=True)
    assert q(engine, "SELECT v.name FROM venue v JOIN community m ON m.id = v.community_id "
                     "WHERE m.name = :m ORDER BY v.id LIMIT 1", m=HOME)[0][0] in page
    assert q(engine, "SELECT v.name FROM venue v JOIN community m ON m.id = v.community_id "
                     "WHERE m.name = :m ORDER BY v.id LIMIT 1", m=OTHER)[0][0] not in page
