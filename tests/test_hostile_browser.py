"""Hostile text everywhere, rendered everywhere, for every role, in Chromium.

Script payloads (``<img onerror>``, ``</script>``, ``${}`` and backticks, ``javascript:``,
the RTL override U+202E, quotes) go into every field a user writes: community, grid, grid
leader and compound names through the area import, 三长 names through the roster import and
the roster page's API, issue titles, descriptions and reporters, meeting titles and minutes,
step notes, results and comments through the JSON API. Then each role tours every page and
popup (tests/tour.py): nothing runs (``window.__xss`` stays undefined, no dialog opens), no
CSP violation, no console error, and the text shows as text."""
import datetime as dt
import json

import pytest

import import_inputs as build
from data.importers.areas import import_areas
from data.importers.contacts import import_contacts
from tests import tour
from tests.helpers import PASSWORD, add_user, csrf_token, q

RUN = "window.__xss=1"
IMG = f"<img src=x onerror={RUN}>"
SCRIPT = f"</script><script>{RUN}</script>"
TEMPLATE = "${" + RUN + "}`${" + RUN + "}`"
LINK = f"javascript:{RUN}"
RTL = f"\u202e'\"><svg onload={RUN}>"
EVERYTHING = " ".join((IMG, SCRIPT, TEMPLATE, LINK, RTL, "{{7*7}}", "'-alert(1)-'"))

# Names that are also area paths (社区/网格) must hold no '/' or ','.
COMMUNITY = "社区" + IMG
GRID = "网格" + RTL
LEADER = "长" + TEMPLATE
COMPOUND_A = "楼院" + SCRIPT           # in the hostile community
COMPOUND_B = "院" + TEMPLATE + RTL     # in 汇丰社区, which has venues
HEAD_A = "甲" + IMG + LINK
HEAD_B = "乙" + RTL
HEAD_EDITED = "</script><svg onload=__xss=1>"  # the roster allows 30 characters


def api(client, method, path, body):
    response = client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client, "/login")})
    assert response.status_code in (200, 201), (path, response.get_json())
    return response.get_json()


def signed_in(app, name):
    client = app.test_client()
    client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(client)})
    return client


def advance(client, issue_id, to, **fields):
    issue = client.get(f"/api/issues/{issue_id}")
    assert issue.status_code == 200, issue.get_json()
    version = issue.get_json()["version"]
    api(client, "POST", f"/api/issues/{issue_id}/advance", {"to": to, "version": version, "note": EVERYTHING, **fields})


@pytest.fixture(scope="module")
def hostile(app, engine, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    # A new community, grid and compound with hostile names (drawn over the sample's, which
    # the map does not mind); the issues go to a new compound in a gap of a 汇丰社区 grid
    # (which has venues), whose grid leader's name is made hostile by a re-import.
    lon, lat, radius, grid, ring = q(engine, """
        WITH free AS (SELECT ST_Difference(m.geom, (SELECT ST_Union(ST_Buffer(geom, 0.0002)) FROM compound)) AS g
                        FROM community m WHERE m.name = '汇丰社区')
        SELECT ST_X(c.center), ST_Y(c.center), c.radius, g.name, ST_AsGeoJSON(ST_GeometryN(g.geom, 1))
          FROM free, ST_MaximumInscribedCircle(free.g) c JOIN grid g ON ST_Contains(g.geom, c.center)""")[0]
    assert radius > 0.0003
    import_areas(engine, build.geojson(tmp / "community.geojson", [
        ({"名称": COMMUNITY}, build.polygon(build.ring(113.30, 34.82, 0.003)))]), kind="community", progress=False)
    import_areas(engine, build.geojson(tmp / "grids.geojson", [
        ({"名称": GRID, "社区": COMMUNITY}, build.polygon(build.ring(113.30, 34.82, 0.002))),
        ({"名称": grid, "社区": "汇丰社区", "网格长": LEADER, "网格长电话": "13800007771"}, json.loads(ring))]),
        kind="grid", progress=False)
    import_areas(engine, build.geojson(tmp / "compounds.geojson", [
        ({"名称": COMPOUND_A, "社区": COMMUNITY, "网格": GRID}, build.polygon(build.ring(113.3001, 34.8201))),
        ({"名称": COMPOUND_B, "社区": "汇丰社区", "网格": grid},
         build.polygon(build.ring(lon - 0.0002, lat - 0.0002, 0.0004)))]), progress=False)
    # 三长, through the roster import
    import_contacts(engine, build.csv_file(tmp / "roster.csv", [
        ["社区", "楼院", "楼栋", "单元", "职务", "姓名", "电话"],
        [COMMUNITY, COMPOUND_A, None, None, "楼院长", HEAD_A, "13800007772"],
        ["汇丰社区", COMPOUND_B, None, None, "楼院长", HEAD_B, "13800007773"]]), progress=False)
    compounds = {name: q(engine, "SELECT c.id, ST_Y(p), ST_X(p), c.community_id FROM compound c, "
                                 "ST_PointOnSurface(c.geom) p WHERE c.name = :n", n=name)[0]
                 for name in (COMPOUND_A, COMPOUND_B)}
    community_a = compounds[COMPOUND_A][3]
    huifeng = compounds[COMPOUND_B][3]

    add_user(app, "x_leader", "grid_leader", f"汇丰社区/{grid}")
    add_user(app, "x_staff", "community_staff", "汇丰社区")
    add_user(app, "x_official", "official")
    leader, staff = signed_in(app, "x_leader"), signed_in(app, "x_staff")

    # the roster page's API: a 三长 renamed
    head_b = q(engine, "SELECT id, version FROM head WHERE name = :n", n=HEAD_B)[0]
    api(staff, "PATCH", f"/api/contacts/{head_b[0]}", {"name": HEAD_EDITED, "version": head_b[1]})

    def record(client, compound, n):
        return api(client, "POST", "/api/issues", {
            "title": f"{n}{IMG}{TEMPLATE}"[:100], "description": EVERYTHING, "category": "road",
            "channel": "bench_talk", "compound_id": compounds[compound][0],
            "reporter_name": ("人" + RTL)[:30], "reporter_phone": "13800007774"})["id"]

    issue_a = record(leader, COMPOUND_B, "甲")
    advance(leader, issue_a, "topic")
    issue_b, issue_c = record(staff, COMPOUND_B, "乙"), record(staff, COMPOUND_B, "丙")
    venue, platform = q(engine, "SELECT vp.venue_id, vp.platform FROM venue_platform vp JOIN venue v "
                                "ON v.id = vp.venue_id WHERE v.community_id = :c ORDER BY 1 LIMIT 1", c=huifeng)[0]
    for issue_id in (issue_b, issue_c):
        advance(staff, issue_id, "topic")
        advance(staff, issue_id, "notice")
    meeting = api(staff, "POST", "/api/meetings", {
        "venue_id": venue, "platform": platform, "held_on": dt.date.today().isoformat(), "title": ("会" + SCRIPT + TEMPLATE)[:100],
        "attendee_count": 9, "attendee_kinds": ["heads"], "minutes": EVERYTHING, "issue_ids": [issue_b]})["id"]
    advance(staff, issue_b, "consult", meeting_id=meeting)
    advance(staff, issue_b, "implement")
    advance(staff, issue_b, "publish", result=EVERYTHING[:500])
    api(staff, "POST", f"/api/issues/{issue_c}/comment", {"note": EVERYTHING})
    assert q(engine, "SELECT count(*) FROM issue_event WHERE note = :n", n=EVERYTHING)[0][0] >= 7
    return {
        "places": [tuple(compounds[name][:3]) for name in (COMPOUND_A, COMPOUND_B)],
        "communities": [community_a, huifeng], "issues": {"a": issue_a, "b": issue_b, "c": issue_c},
        "compound_ids": [compounds[COMPOUND_A][0], compounds[COMPOUND_B][0]],
    }


def shows_as_text(page, places):
    """The hostile names come out as the very text that went in."""
    for (compound_id, lat, lon), name in zip(places, (COMPOUND_A, COMPOUND_B)):
        page.evaluate("([id, lat, lon]) => GridMap.openCompound(id, L.latLng(lat, lon))", [compound_id, lat, lon])
        page.wait_for_selector(f".leaflet-popup .card[data-compound='{compound_id}'] h3")
        assert page.inner_text(f".leaflet-popup .card[data-compound='{compound_id}'] h3") == name


def test_anonymous(page, hostile):
    tour.watch(page)
    tour.open_map(page)
    shows_as_text(page, hostile["places"])
    tour.map_tour(page, hostile["places"], [hostile["issues"]["a"], hostile["issues"]["c"]], signed_in=False,
                  modes=False, search_term="楼院")
    tour.pages_tour(page, hostile["communities"], issue_list=False)
    tour.visit(page, f"/notice/community/{hostile['communities'][1]}")
    assert page.locator(f"tr[data-issue='{hostile['issues']['b']}'] td").nth(2).inner_text() == EVERYTHING[:500]
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_grid_leader(page, hostile):
    tour.watch(page)
    tour.sign_in(page, "x_leader", PASSWORD)
    tour.map_tour(page, hostile["places"][1:], [hostile["issues"]["a"]], signed_in=True, recorder=True,
                  my_area=True, modes=False, search_term="网格")
    tour.lookups(page, [hostile["places"][1][1:]])
    assert LEADER in page.inner_text(".leaflet-popup .card.lookup")
    tour.visit(page, f"/roster?compound={hostile['compound_ids'][1]}")
    assert HEAD_EDITED in page.inner_text("table")
    tour.visit(page, "/issues")
    tour.dashboard(page)
    tour.hotspots(page)
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_community_staff(page, hostile):
    tour.watch(page)
    tour.sign_in(page, "x_staff", PASSWORD)
    tour.map_tour(page, hostile["places"][1:], [hostile["issues"]["c"]], signed_in=True, recorder=True,
                  my_area=True, modes=False, search_term="院")
    tour.issue_popups(page, [hostile["issues"]["c"]], actions=True)
    assert page.locator(".gm-step select[name=meeting_id] option").first.inner_text().startswith(
        f"{dt.date.today().isoformat()} 会</script>")  # the hostile meeting, as text
    tour.visit(page, f"/roster?compound={hostile['compound_ids'][1]}")
    assert page.input_value("input[name=name]") == HEAD_EDITED
    tour.visit(page, "/meetings")
    tour.visit(page, "/issues")
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_official(page, hostile):
    tour.watch(page)
    tour.sign_in(page, "x_official", PASSWORD)
    tour.map_tour(page, hostile["places"], list(hostile["issues"].values()), signed_in=True, modes=False,
                  search_term="社区")
    tour.pages_tour(page, hostile["communities"], roster=True, roster_compounds=hostile["compound_ids"])
    assert not tour.clean(page), "\n".join(tour.clean(page))
