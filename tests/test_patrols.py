"""Patrols (巡查打卡): recorded only inside the recorder's area, refused when too far from the
compound (unless placed by hand, flagged), stored once per idempotency key; the patrol color
mode, the dashboard's coverage and 我的范围's order follow the visits."""
import io
import json
import uuid

import pytest
from PIL import Image

from tests.helpers import add_user, login, q


@pytest.fixture(scope="module")
def places(engine):
    """A compound of the grid 汇丰社区/第1网格 (the leader's), one of another community, and a
    point 1 km east of the first."""
    rows = q(engine, """
        SELECT c.id, c.community_id, c.grid_id, ST_X(p) AS lon, ST_Y(p) AS lat
          FROM compound c JOIN grid g ON g.id = c.grid_id JOIN community m ON m.id = c.community_id,
               ST_PointOnSurface(c.geom) p
         WHERE m.name = '汇丰社区' AND g.name = '第1网格' ORDER BY c.id LIMIT 1""")
    mine = rows[0]
    other = q(engine, """SELECT c.id, ST_X(p) AS lon, ST_Y(p) AS lat FROM compound c
                           JOIN community m ON m.id = c.community_id, ST_PointOnSurface(c.geom) p
                          WHERE m.name = '江南小镇社区' ORDER BY c.id LIMIT 1""")[0]
    far = q(engine, "SELECT ST_X(p), ST_Y(p) FROM ST_Project(ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, "
                    "1000, radians(90)) g, CAST(g AS geometry) p", x=mine.lon, y=mine.lat)[0]
    return {"mine": mine, "other": other, "far": far}


@pytest.fixture(scope="module")
def leader(app):
    add_user(app, "p_grid", "grid_leader", "汇丰社区/第1网格")
    add_user(app, "p_staff", "community_staff", "江南小镇社区")
    add_user(app, "p_public", "public")
    add_user(app, "p_official", "official")
    return "p_grid"


def post(client, body, key=None, **kw):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/patrols", json=body, headers=headers, **kw)


def body_at(place, **more):
    return {"compound_id": place.id, "lon": place.lon, "lat": place.lat, "nothing_found": True, **more}


def test_a_leader_records_a_patrol_at_a_compound_of_their_grid(app, engine, places, leader):
    client = login(app.test_client(), leader)
    response = post(client, body_at(places["mine"], note="楼道整洁"), key=str(uuid.uuid4()))
    assert response.status_code == 201, response.get_json()
    p = response.get_json()
    assert p["compound_id"] == places["mine"].id and p["distance_m"] == 0 and not p["placed_manually"]
    assert p["nothing_found"] and p["note"] == "楼道整洁" and p["actor"] == leader
    row = q(engine, "SELECT community_id, ST_X(geom), user_id IS NOT NULL FROM patrol WHERE id = :i", i=p["id"])[0]
    assert row[0] == places["mine"].community_id and row[1] == pytest.approx(places["mine"].lon) and row[2]
    listed = client.get(f"/api/patrols?compound={places['mine'].id}").get_json()["patrols"]
    assert listed[0]["id"] == p["id"]


def test_outside_the_area_is_refused_and_nothing_written(app, engine, places, leader):
    client = login(app.test_client(), leader)
    before = q(engine, "SELECT count(*) FROM patrol")[0][0]
    response = post(client, body_at(places["other"]))
    assert response.status_code == 404 and "不在您的范围内" in response.get_json()["error"]
    assert client.get(f"/api/patrols?compound={places['other'].id}").status_code == 404
    assert post(login(app.test_client(), "p_public"), body_at(places["mine"])).status_code == 403
    assert post(login(app.test_client(), "p_official"), body_at(places["mine"])).status_code == 403
    assert post(app.test_client(), body_at(places["mine"])).status_code in (400, 401)  # no session, no CSRF
    # staff of another community may patrol their own compounds only
    staff = login(app.test_client(), "p_staff")
    assert post(staff, body_at(places["mine"])).status_code == 404
    assert post(staff, body_at(places["other"])).status_code == 201
    assert q(engine, "SELECT count(*) FROM patrol")[0][0] == before + 1


def test_too_far_is_refused_with_the_distance_unless_placed_by_hand(app, engine, places, leader):
    client = login(app.test_client(), leader)
    far = {"compound_id": places["mine"].id, "lon": places["far"][0], "lat": places["far"][1], "nothing_found": True}
    before = q(engine, "SELECT count(*) FROM patrol")[0][0]
    refused = post(client, far)
    assert refused.status_code == 422
    message = refused.get_json()["error"]
    assert "超过允许的 200 米" in message and "手动选点" in message
    distance = int(message.split("”")[1].split(" 米")[0])
    assert 200 < distance <= 1000   # to the edge of the compound, from a point 1 km from its inside
    english = post(client, far, query_string={"lang": "en"}).get_json()["error"]
    assert "200 m" in english and "away" in english
    assert q(engine, "SELECT count(*) FROM patrol")[0][0] == before
    manual = post(client, dict(far, placed_manually=True))
    assert manual.status_code == 201
    assert manual.get_json()["placed_manually"] is True and manual.get_json()["distance_m"] == distance
    # location denied, nothing tapped: allowed when flagged, with no position
    bare = post(client, {"compound_id": places["mine"].id, "placed_manually": "true", "nothing_found": "1"})
    assert bare.status_code == 201 and bare.get_json()["lon"] is None and bare.get_json()["placed_manually"]


def test_the_distance_is_a_setting(app, places, leader):
    client = login(app.test_client(), leader)
    far = {"compound_id": places["mine"].id, "lon": places["far"][0], "lat": places["far"][1], "nothing_found": True}
    app.config["PATROL_MAX_DISTANCE_M"] = 2000
    try:
        assert post(client, far).status_code == 201
    finally:
        app.config["PATROL_MAX_DISTANCE_M"] = 200
    assert post(client, far).status_code == 422


def test_a_retry_with_the_same_key_returns_the_same_patrol(app, engine, places, leader):
    client = login(app.test_client(), leader)
    key = str(uuid.uuid4())
    first = post(client, body_at(places["mine"], note="重试"), key=key)
    again = post(client, body_at(places["mine"], note="重试"), key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert q(engine, "SELECT count(*) FROM patrol WHERE idempotency_key = :k", k=key)[0][0] == 1
    other = post(client, body_at(places["mine"], note="另一次"), key=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["error"]
    assert q(engine, "SELECT count(*) FROM patrol WHERE idempotency_key = :k", k=key)[0][0] == 1
    # the key in the body works as the header does
    assert post(client, body_at(places["mine"], note="重试", idempotency_key=key)).status_code == 200


def test_bad_input_is_a_400_naming_the_field(app, places, leader):
    client = login(app.test_client(), leader)
    mine = places["mine"]
    cases = {
        "compound_id": {"lon": mine.lon, "lat": mine.lat, "nothing_found": True},
        "lon": body_at(mine, lon="east"),
        "lat": body_at(mine, lat=95),
        "placed_manually": body_at(mine, placed_manually="maybe"),
        "nothing_found": body_at(mine, issue_ids=[1]),
        "issue_ids": body_at(mine, nothing_found=False, issue_ids=["x"]),
        "visited_at": body_at(mine, visited_at="2001-01-01T00:00:00+08:00"),
        "Idempotency-Key": body_at(mine),
    }
    for field, body in cases.items():
        response = post(client, body, key="has space" if field == "Idempotency-Key" else None)
        assert response.status_code == 400, (field, response.get_json())
        assert field in response.get_json()["error"], (field, response.get_json())
    missing = post(client, {"compound_id": mine.id, "nothing_found": True})
    assert missing.status_code == 400 and "lon" in missing.get_json()["error"]
    not_json = client.post("/api/patrols", data="x", content_type="application/json")
    assert not_json.status_code == 400
    assert client.get("/api/patrols").status_code == 400


def test_issues_recorded_during_a_patrol_are_linked(app, engine, places, leader):
    client = login(app.test_client(), leader)
    mine = places["mine"]
    issue = client.post("/api/issues", json={"title": "井盖松动", "category": "road", "channel": "home_visit",
                                            "lon": mine.lon, "lat": mine.lat}).get_json()["id"]
    response = post(client, body_at(mine, nothing_found=False, issue_ids=[issue]))
    assert response.status_code == 201 and response.get_json()["issue_ids"] == [issue]
    assert q(engine, "SELECT issue_community_id FROM patrol_issue WHERE issue_id = :i", i=issue)[0][0] == \
        mine.community_id
    outside = q(engine, "SELECT id FROM issue WHERE community_id <> :c ORDER BY id LIMIT 1", c=mine.community_id)[0][0]
    refused = post(client, body_at(mine, nothing_found=False, issue_ids=[issue, outside]))
    assert refused.status_code == 400 and str(outside) in refused.get_json()["error"]


def test_issues_recorded_offline_are_linked_by_their_keys(app, engine, places, leader):
    """Offline the phone knows an issue only by its record's idempotency key: the patrol
    carries the keys, the server finds the issues they stored, in the viewer's area."""
    client = login(app.test_client(), leader)
    mine = places["mine"]
    issue_key, other_key, unknown = (str(uuid.uuid4()) for _ in range(3))
    issue = client.post("/api/issues", json={"title": "离线井盖", "category": "road", "channel": "home_visit",
                                            "lon": mine.lon, "lat": mine.lat},
                        headers={"Idempotency-Key": issue_key}).get_json()["id"]
    # a key not (yet) stored is a 400 naming it, and nothing is written
    before = q(engine, "SELECT count(*) FROM patrol")[0][0]
    refused = post(client, body_at(mine, nothing_found=False, issue_keys=[issue_key, unknown]))
    assert refused.status_code == 400 and unknown in refused.get_json()["error"]
    assert issue_key not in refused.get_json()["error"] and "issue_keys" in refused.get_json()["error"]
    assert q(engine, "SELECT count(*) FROM patrol")[0][0] == before
    # an issue of another area, by its key: refused alike
    staff = login(app.test_client(), "p_staff")
    other = places["other"]
    assert staff.post("/api/issues", json={"title": "别处", "category": "road", "channel": "home_visit",
                                           "lon": other.lon, "lat": other.lat},
                      headers={"Idempotency-Key": other_key}).status_code == 201
    assert post(client, body_at(mine, nothing_found=False, issue_keys=[other_key])).status_code == 400
    # a form field, comma-separated, as the outbox sends it; with an id as well
    plain = client.post("/api/issues", json={"title": "在线", "category": "road", "channel": "home_visit",
                                            "lon": mine.lon, "lat": mine.lat}).get_json()["id"]
    key = str(uuid.uuid4())
    response = client.post("/api/patrols", data={
        "compound_id": str(mine.id), "lon": str(mine.lon), "lat": str(mine.lat), "nothing_found": "false",
        "issue_ids": str(plain), "issue_keys": issue_key}, content_type="multipart/form-data",
        headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["issue_ids"] == sorted([issue, plain])
    assert q(engine, "SELECT issue_id FROM patrol_issue WHERE patrol_id = :p ORDER BY issue_id",
             p=response.get_json()["id"]) == [(i,) for i in sorted([issue, plain])]
    # keys stand for findings: not with nothing_found; a malformed key names the field
    assert "nothing_found" in post(client, body_at(mine, issue_keys=[issue_key])).get_json()["error"]
    bad = post(client, body_at(mine, nothing_found=False, issue_keys=["has space"]))
    assert bad.status_code == 400 and "issue_keys" in bad.get_json()["error"]


def test_a_photo_in_a_multipart_patrol(app, places, leader):
    client = login(app.test_client(), leader)
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(image, "JPEG")
    mine = places["mine"]
    response = client.post("/api/patrols", data={
        "compound_id": str(mine.id), "lon": str(mine.lon), "lat": str(mine.lat), "nothing_found": "on",
        "note": "带照片", "photo": (io.BytesIO(image.getvalue()), "p.jpg")},
        content_type="multipart/form-data", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.get_json()
    p = response.get_json()
    assert p["has_photo"]
    photo = client.get(f"/api/patrols/{p['id']}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert login(app.test_client(), "p_staff").get(f"/api/patrols/{p['id']}/photo").status_code == 404


def _set_visits(engine, visits):
    """Only these visits: {compound_id: days ago}."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM patrol")
        for compound_id, days in visits.items():
            conn.exec_driver_sql(
                "INSERT INTO patrol (community_id, compound_id, actor, visited_at, nothing_found) "
                "SELECT community_id, id, 'test', now() - make_interval(days => %s), true FROM compound WHERE id = %s",
                (days, compound_id))


def test_the_patrol_mode_classes_days_since_the_last_visit(app, engine, places, client):
    ids = [r[0] for r in q(engine, "SELECT id FROM compound ORDER BY id LIMIT 4")]
    _set_visits(engine, {ids[0]: 3, ids[1]: 20, ids[2]: 60})
    body = client.get("/api/layers/compounds.geojson?mode=patrol").get_json()
    cls = {f["id"] if "id" in f else f["properties"]["id"]: f["properties"]["cls"] for f in body["features"]}
    fill = {f["properties"]["id"]: f["properties"]["fill"] for f in body["features"]}
    assert [cls[i] for i in ids] == ["week", "month", "longer", "never"]
    from webmap import modes
    assert [fill[i] for i in ids] == modes.PATROL_COLORS
    assert [e["color"] for e in body["legend"]] == modes.PATROL_COLORS
    legend = client.get("/api/legend?mode=patrol").get_json()["legend"]
    assert [e["label"] for e in legend] == ["7 天内巡查过", "30 天内巡查过", "超过 30 天未巡查", "从未巡查"]
    # replayed: 10 days ago the 3-day visit had not happened, the 20-day one was ~10 days old, the
    # 60-day one ~50
    import datetime as dt
    from layers.issues import today
    day = (today() - dt.timedelta(days=10)).isoformat()
    past = client.get(f"/api/layers/compounds.geojson?mode=patrol&as_of={day}").get_json()
    then = {f["properties"]["id"]: f["properties"]["cls"] for f in past["features"]}
    assert [then[i] for i in ids] == ["never", "month", "longer", "never"]


def test_the_dashboard_shows_patrol_coverage(app, engine, places, client):
    ids = [r[0] for r in q(engine, "SELECT id FROM compound ORDER BY random() LIMIT 20")]
    visits = {i: d for i, d in zip(ids, [2, 5, 6, 10, 25, 29, 40, 80] * 3)}
    _set_visits(engine, visits)
    d = client.get("/api/dashboard.json").get_json()
    rows = {(r["level"], r["id"]): r for r in d["patrol"]}
    compounds = q(engine, "SELECT id, community_id, grid_id FROM compound")
    for level, key in (("community", 1), ("grid", 2)):
        expected = {}
        for c in compounds:
            if c[key] is None:
                continue
            e = expected.setdefault(c[key], [0, 0, 0])
            e[0] += 1
            e[1] += visits.get(c[0], 99) <= 7
            e[2] += visits.get(c[0], 99) <= 30
        for place, (n, week, month) in expected.items():
            r = rows[(level, place)]
            assert (r["compounds"], r["week"], r["month"]) == (n, week, month), (level, place)
            assert r["week_pct"] == round(100 * week / n)
    assert sum(r["week"] for r in d["patrol"] if r["level"] == "community") == 9
    page = client.get("/dashboard").get_data(as_text=True)
    assert "巡查覆盖率" in page and page.count("<meter") == 2 * len(d["patrol"])


def test_above_a_subdistrict_coverage_is_per_child_area(app, engine, places, client):
    """A city's dashboard lists coverage per district, a district's per subdistrict: never a
    row per community and grid of a whole city."""
    ids = [r[0] for r in q(engine, "SELECT id FROM compound ORDER BY id LIMIT 12")]
    _set_visits(engine, {i: d for i, d in zip(ids, [3, 20, 60] * 4)})
    total = q(engine, "SELECT count(*) FROM compound")[0][0]
    district, subdistrict = q(engine, "SELECT district_id, id FROM subdistrict ORDER BY id LIMIT 1")[0]
    for area, level, place in (("city", "district", district), (f"district:{district}", "subdistrict", subdistrict)):
        d = client.get(f"/api/dashboard.json?area={area}").get_json()
        assert [(r["level"], r["id"], r["compounds"], r["week"], r["month"]) for r in d["patrol"]] == \
            [(level, place, total, 4, 8)], area
    page = client.get("/dashboard?area=city").get_data(as_text=True)
    assert "<th>各区</th>" in page and page.count("<meter") == 2


def test_my_area_lists_never_visited_first_then_longest_ago(app, engine, places, leader):
    client = login(app.test_client(), leader)
    mine = [r[0] for r in q(engine, "SELECT id FROM compound WHERE grid_id = :g ORDER BY id", g=places["mine"].grid_id)]
    assert len(mine) >= 2
    visits = {c: 3 + 10 * i for i, c in enumerate(mine[1:])}   # the first never visited
    _set_visits(engine, visits)
    listed = client.get("/api/my-area").get_json()["compounds"]
    assert [c["id"] for c in listed] == [mine[0]] + sorted(visits, key=lambda c: -visits[c])
    assert listed[0]["days_since_patrol"] is None
    assert [c["days_since_patrol"] for c in listed[1:]] == sorted((visits[c] for c in visits), reverse=True)


def test_the_patrol_mode_in_tiles(client):
    response = client.get("/tiles/compounds/14/13345/6474.pbf?mode=patrol")
    assert response.status_code in (200, 204)
    assert json.loads(client.get("/tiles/compounds.json?mode=patrol").data)["description"] == "巡查"
