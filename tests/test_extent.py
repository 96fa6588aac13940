"""The extent of the pages (``?area=``): a second district beside the sample's proves that
every figure, list, hotspot layer and export keeps to its area; the figures read from the
maintained tallies equal direct counts from ``issue``, also after a workflow change; the
dashboard drills down city → district → subdistrict → community; the issue list pages."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from layers import dashboard, hierarchy, issue_filter, workflow
from layers.hierarchy import Area
from tests.helpers import add_user, login, public_ledger_app, q
from webmap.issuelist import MAX_PAGE, PAGE_SIZE

CJK = re.compile(r"[\u4e00-\u9fff]")
ALL = {"scope_all": True, "scope_grids": [], "scope_communities": []}


@pytest.fixture(scope="module")
def app(database):
    """The ledger opened to everyone (``PUBLIC_LEDGER``): this module reads it as the public."""
    yield from public_ledger_app(database)


# (title, community, stage, days since reported, days in the stage, closed on time)
TEST_ISSUES = [
    ("东测：路灯不亮", 0, "reported", 1, 1, None),
    ("东测：楼道堆物", 0, "topic", 20, 10, None),          # overdue: 10 days of 7
    ("东测：电梯维修", 0, "implement", 40, 5, None),
    ("东测：停车难", 0, "closed", 60, 30, True),
    ("东测：垃圾清运", 0, "closed", 200, 1, False),
    ("东测：噪音扰民", 0, "rejected", 30, 29, None),
    ("西测：管道漏水", 1, "feedback", 50, 2, None),
    ("西测：健身器材", 1, "consult", 80, 40, None),        # overdue: 40 days of 15
    ("西测：绿化补种", 1, "closed", 400, 300, True),
]


def box(x0, y0, x1, y1):
    return f"ST_Multi(ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326))"


@pytest.fixture(scope="module")
def second(engine):
    """测试区 → 测试街道 → 东测社区, 西测社区 (a grid and a compound each), east of the sample,
    with issues in several stages; returns their ids."""
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        run = lambda sql, **p: conn.execute(sa.text(sql), p).scalar()
        district = run(f"INSERT INTO district (name, geom) VALUES ('测试区', {box(113.40, 34.79, 113.44, 34.83)}) RETURNING id")
        subdistrict = run(f"INSERT INTO subdistrict (name, district_id, geom) VALUES ('测试街道', :d, "
                          f"{box(113.40, 34.79, 113.44, 34.83)}) RETURNING id", d=district)
        communities = []
        for name, x0 in (("东测社区", 113.40), ("西测社区", 113.42)):
            community = run(f"INSERT INTO community (subdistrict_id, name, geom) VALUES (:s, :n, "
                            f"{box(x0, 34.79, x0 + 0.02, 34.83)}) RETURNING id", s=subdistrict, n=name)
            grid = run(f"INSERT INTO grid (community_id, name, geom) VALUES (:m, '第1网格', "
                       f"{box(x0, 34.79, x0 + 0.02, 34.83)}) RETURNING id", m=community)
            run(f"INSERT INTO compound (community_id, grid_id, name, geom) VALUES (:m, :g, :n, "
                f"{box(x0 + 0.005, 34.80, x0 + 0.015, 34.82)}) RETURNING id", m=community, g=grid, n=name[:2] + "小区")
            communities.append(community)
        issues = []
        for k, (title, c, stage, age, in_stage, on_time) in enumerate(TEST_ISSUES):
            reported = now - dt.timedelta(days=age)
            since = now - dt.timedelta(days=in_stage)
            issue = run("""
                INSERT INTO issue (community_id, title, category, channel, stage, stage_reason, reported_at,
                                   stage_changed_at, closed_at, geom)
                VALUES (:m, :t, :cat, 'phone', :s, CASE WHEN :s = 'rejected' THEN '不属于协商事项' END, :r, :since,
                        CASE WHEN :s = 'closed' THEN :since END, ST_SetSRID(ST_MakePoint(:x, 34.81), 4326))
                RETURNING id""", m=communities[c], t=title, cat=("road", "elevator", "parking")[k % 3], s=stage,
                        r=reported, since=since, x=(113.41, 113.43)[c] + k * 0.0002)
            if on_time:  # its log passed through every open stage: a budget of 79 days
                conn.execute(sa.text("INSERT INTO issue_event (issue_id, community_id, at, actor, to_stage) "
                                     "SELECT :i, :m, :since, 'test', code FROM stage WHERE is_open"),
                             {"i": issue, "m": communities[c], "since": since})
            issues.append(issue)
    return {"district": district, "subdistrict": subdistrict, "communities": communities, "issues": issues}


def get_json(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def total(client, url):
    page = client.get(url).get_data(as_text=True)
    return int(re.search(r'data-total="(\d+)"', page).group(1))


def direct(engine, area, where="TRUE", **params):
    """Issues of ``area`` matching ``where``, counted from ``issue`` directly."""
    return q(engine, f"""SELECT count(*) FROM issue i JOIN stage st ON st.code = i.stage
                           JOIN category cat ON cat.code = i.category
                          WHERE {area.where('i.community_id')} AND {where}""", **area.params, **params)[0][0]


def areas(second):
    return [hierarchy.CITY, Area("district", second["district"]), Area("subdistrict", second["subdistrict"]),
            Area("community", second["communities"][0]), Area("community", second["communities"][1]),
            Area("district", 1), Area(hierarchy.MINE, communities=tuple(second["communities"]))]


def test_two_districts_make_the_public_default_the_city(client, second):
    d = get_json(client, "/api/dashboard.json")
    assert d["area"]["level"] == "city" and [t["name"] for t in d["area"]["trail"]] == ["郑州市"]
    assert [(c["level"], c["name"]) for c in d["children"]] == [("district", "上街区"), ("district", "测试区")]
    assert d["figures"]["communities"] == 16


def test_the_dashboard_drills_down_from_the_city(client, second):
    html = client.get("/dashboard").get_data(as_text=True)
    href = re.search(r'<a class="child" href="([^"]+)" data-level="district">测试区</a>', html).group(1)
    assert href == f"/dashboard?area=district:{second['district']}"
    page = client.get(href).get_data(as_text=True)
    assert "测试区 基层协商治理数据看板" in page
    assert re.search(r'<ol class="trail">.*郑州市.*<b>测试区</b>', page, re.S)
    d = get_json(client, f"/api/dashboard.json?area=district:{second['district']}")
    assert [(c["level"], c["name"]) for c in d["children"]] == [("subdistrict", "测试街道")]
    d = get_json(client, f"/api/dashboard.json?area=subdistrict:{second['subdistrict']}")
    assert [c["name"] for c in d["children"]] == ["东测社区", "西测社区"]
    assert [t["name"] for t in d["area"]["trail"]] == ["郑州市", "测试区", "测试街道"]
    east = d["children"][0]
    d = get_json(client, east["href"].replace("/dashboard", "/api/dashboard.json"))
    assert d["area"]["name"] == "东测社区" and [c["name"] for c in d["children"]] == ["东测社区"]
    # the trail leads back up
    assert d["area"]["trail"][1]["href"] == f"/dashboard?area=district:{second['district']}"


def figures(app, client, area):
    """The dashboard's figures of ``area``: by HTTP, or for the viewer's own communities
    (which have no ``?area=``) from the layer."""
    if area.key:
        return get_json(client, f"/api/dashboard.json?area={area.key}")
    with app.app_context():
        return dashboard.figures(area)


def check_figures(app, client, engine, area):
    """The dashboard of ``area`` against direct counts from ``issue`` and the seed tables."""
    d = figures(app, client, area)
    f = d["figures"]
    assert f["issues"] == direct(engine, area)
    assert d["open"] == direct(engine, area, "st.is_open")
    assert d["overdue"] == direct(engine, area, """st.is_open AND now() - i.stage_changed_at
                                                   > st.deadline_days * interval '1 day'""")
    assert d["resolved_livelihood"] == f["resolved"] == direct(engine, area, "i.stage = 'closed' AND cat.livelihood")
    assert {s["code"]: s["count"] for s in d["stages"]} == {
        code: direct(engine, area, "i.stage = :s", s=code) for code in (s["code"] for s in d["stages"])}
    assert {c["code"]: c["count"] for c in d["categories"]} == {
        code: direct(engine, area, "i.category = :c", c=code) for code in (c["code"] for c in d["categories"])}
    for m in d["months"]:
        assert m["count"] == direct(engine, area, "to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = :m",
                                    m=m["month"])
    where = area.where("c.community_id")
    assert f["compounds"] == q(engine, f"SELECT count(*) FROM compound c WHERE {where}", **area.params)[0][0]
    assert f["communities"] == q(engine, f"SELECT count(*) FROM community c WHERE {area.where('c.id')}",
                                 **area.params)[0][0]
    late = "(i.closed_on_time IS FALSE OR now() - i.stage_changed_at > st.deadline_days * interval '1 day')"
    assert sum(c["late"] for c in d["children"]) == direct(engine, area, late)
    assert sum(c["open"] for c in d["children"]) == d["open"]


def test_figures_from_the_tallies_equal_direct_counts(app, client, engine, second):
    for area in areas(second):
        check_figures(app, client, engine, area)
    assert direct(engine, Area("community", second["communities"][0])) == 6
    assert direct(engine, Area("district", second["district"])) == len(TEST_ISSUES)


def test_the_tallies_follow_a_workflow_change(app, client, engine, second):
    district = Area("district", second["district"])
    before = get_json(client, f"/api/dashboard.json?area={district.key}")
    feedback = second["issues"][6]  # 西测：管道漏水, at feedback
    version = q(engine, "SELECT version FROM issue WHERE id = :i", i=feedback)[0][0]
    with app.app_context():
        workflow.advance(feedback, "closed", version, "test", ALL)
    after = get_json(client, f"/api/dashboard.json?area={district.key}")
    stage = lambda d, code: next(s["count"] for s in d["stages"] if s["code"] == code)
    assert stage(after, "closed") == stage(before, "closed") + 1
    assert after["open"] == before["open"] - 1
    check_figures(app, client, engine, district)
    check_figures(app, client, engine, hierarchy.CITY)


def test_every_link_of_an_area_lists_exactly_the_issues_it_counts(client, second):
    d = get_json(client, f"/api/dashboard.json?area=district:{second['district']}")
    found = [(d["links"]["open"], d["open"]), (d["links"]["overdue"], d["overdue"]),
             (d["links"]["issues"], d["figures"]["issues"])]
    found += [(s["href"], s["count"]) for s in d["stages"]] + [(c["href"], c["count"]) for c in d["categories"]]
    found += [(m["href"], m["count"]) for m in d["months"] if m["count"]]
    for c in d["children"]:
        found += [(c["open_href"], c["open"]), (c["closed_href"], c["closed"]), (c["late_href"], c["late"])]
    assert all(f"area=district:{second['district']}" in href or "area=subdistrict:" in href for href, _n in found)
    for href, shown in found:
        assert total(client, href) == shown, href
    page = client.get(d["links"]["issues"]).get_data(as_text=True)
    assert set(re.findall(r'<td class="community data">([^<]*)</td>', page)) <= {"东测社区", "西测社区"}


@pytest.mark.parametrize("value, words", [
    ("foo", "area"), ("district:", "area"), ("district:x", "area"), ("county:1", "area"),
    ("district:99999", "区域"), ("community:99999", "区域"), ("subdistrict:1234567890", "area"),
])
@pytest.mark.parametrize("path", ["/dashboard", "/api/dashboard.json", "/issues", "/hotspots",
                                  "/api/hotspots.geojson", "/export/issues.csv"])
def test_a_bad_area_is_a_400_that_names_it(client, path, value, words):
    response = client.get(path, query_string={"area": value})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert CJK.search(text) and words in text and "Traceback" not in text


def test_a_bad_area_in_english(client):
    response = client.get("/api/dashboard.json?area=nowhere&lang=en")
    assert response.status_code == 400 and response.get_json()["error"].startswith("The area must be")
    client.get("/api/dashboard.json?lang=zh")


def test_the_viewer_area_is_the_default(app, engine, second):
    east, west = second["communities"]
    add_user(app, "e_staff", "community_staff", "东测社区")
    add_user(app, "e_grid", "grid_leader", "西测社区/第1网格")
    add_user(app, "e_deputy", "deputy", "东测社区,西测社区")
    add_user(app, "e_official", "official")
    expected = {"e_staff": ("community", "东测社区", ["东测社区"]), "e_grid": ("community", "西测社区", ["西测社区"]),
                "e_deputy": ("mine", "我的范围", ["东测社区", "西测社区"]),
                "e_official": ("city", "郑州市", ["上街区", "测试区"])}
    counts = {"e_staff": 6, "e_grid": 3, "e_deputy": 9, "e_official": q(engine, "SELECT count(*) FROM issue")[0][0]}
    for name, (level, title, children) in expected.items():
        client = login(app.test_client(), name)
        d = get_json(client, "/api/dashboard.json")
        assert (d["area"]["level"], d["area"]["name"], [c["name"] for c in d["children"]]) == (level, title, children)
        assert d["figures"]["issues"] == total(client, "/issues") == counts[name]
        # the issue list and the hotspots take the same default; any viewer may widen to the city
        assert get_json(client, "/api/hotspots.geojson")["summary"]["area"] == title
        assert total(client, "/issues?area=city") == counts["e_official"]


def test_areas_of_districts_and_subdistricts(app, engine, second):
    """Officials scoped to a district or subdistrict see that place; several places make
    their communities; grids make the communities they lie in."""
    east, west = second["communities"]
    grids = [r[0] for r in q(engine, "SELECT id FROM grid WHERE community_id IN (:e, :w) ORDER BY id", e=east, w=west)]
    with app.app_context():
        assert hierarchy.viewer_area(districts=[second["district"]]) == Area("district", second["district"])
        assert hierarchy.viewer_area(subdistricts=[second["subdistrict"]]) == Area("subdistrict", second["subdistrict"])
        both = hierarchy.viewer_area(districts=[1, second["district"]])
        assert both.level == hierarchy.MINE and both.communities == tuple(sorted([*range(1, 15), east, west]))
        mixed = hierarchy.viewer_area(districts=[second["district"]], communities=[1])
        assert mixed == Area(hierarchy.MINE, communities=(1, east, west))
        assert hierarchy.viewer_area(grids=grids[:1]) == Area("community", east)
        assert hierarchy.viewer_area(grids=grids) == Area(hierarchy.MINE, communities=(east, west))
        assert hierarchy.viewer_area() is None
        assert hierarchy.community_ids("district", second["district"]) == second["communities"]
        assert hierarchy.only_child(Area("district", second["district"])) == Area("subdistrict", second["subdistrict"])
        assert hierarchy.only_child(hierarchy.CITY) is None


def test_a_district_official_opens_on_the_district(app, second):
    add_user(app, "e_district", "official", "测试区")
    client = login(app.test_client(), "e_district")
    d = get_json(client, "/api/dashboard.json")
    # the district of one subdistrict opens on that subdistrict, within it
    assert (d["area"]["level"], d["area"]["name"]) == ("subdistrict", "测试街道")
    assert [t["name"] for t in d["area"]["trail"]] == ["郑州市", "测试区", "测试街道"]
    assert d["figures"]["issues"] == len(TEST_ISSUES)


def test_the_issue_list_pages(client, engine, second):
    n = q(engine, "SELECT count(*) FROM issue")[0][0]
    assert n > PAGE_SIZE
    first = client.get("/issues?area=city").get_data(as_text=True)
    second_page = client.get("/issues?area=city&page=2").get_data(as_text=True)
    ids = lambda page: [int(i) for i in re.findall(r'<tr data-id="(\d+)">', page)]
    assert len(ids(first)) == PAGE_SIZE and not set(ids(first)) & set(ids(second_page))
    expected = [r[0] for r in q(engine, "SELECT id FROM issue ORDER BY reported_at DESC, id DESC LIMIT :n",
                                n=2 * PAGE_SIZE)]
    assert ids(first) + ids(second_page) == expected[:len(ids(first) + ids(second_page))]
    assert 'href="/issues?area=city&amp;page=2"' in first and "上一页" not in first
    assert 'href="/issues?area=city&amp;page=1"' in second_page
    assert client.get(f"/issues?page={MAX_PAGE + 1}").status_code == 400


def test_a_count_beyond_the_cap_says_so(client, engine, second, monkeypatch):
    monkeypatch.setattr(issue_filter, "COUNT_CAP", 5)
    page = client.get("/issues?area=city&channel=phone").get_data(as_text=True)
    assert q(engine, "SELECT count(*) FROM issue WHERE channel = 'phone'")[0][0] > 5
    assert 'data-total="5" data-exact="0"' in page and "5+" in page
    # a count from the tallies is exact whatever its size
    page = client.get("/issues?area=city&stage=closed").get_data(as_text=True)
    assert 'data-exact="1"' in page


def test_hotspots_keep_to_the_area(client, engine, second):
    district = Area("district", second["district"])
    body = get_json(client, f"/api/hotspots.geojson?area={district.key}")
    within_year = "i.reported_at > now() - interval '365 days'"
    assert body["summary"]["issues"] == direct(engine, district, within_year) == 8
    assert body["summary"]["area"] == "测试区"
    for f in body["features"]:
        assert all(113.39 < lon < 113.45 and 34.78 < lat < 34.84 for lon, lat in f["geometry"]["coordinates"][0])
    city = get_json(client, "/api/hotspots.geojson?area=city")
    assert city["summary"]["issues"] == direct(engine, hierarchy.CITY, within_year)


def test_exports_keep_to_the_area(client, engine, second):
    response = client.get(f"/export/issues.csv?area=district:{second['district']}")
    lines = response.data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) - 1 == direct(engine, Area("district", second["district"]))
    assert all(("东测社区" in line or "西测社区" in line) for line in lines[1:])


def test_a_ledger_too_large_is_refused_with_a_way_on(client, second, monkeypatch):
    from layers import exports

    monkeypatch.setattr(exports, "LEDGER_MAX", 5)
    response = client.get("/export/issues.csv?area=city")
    assert response.status_code == 400 and "area" in response.get_data(as_text=True)
    assert client.get(f"/export/issues.csv?area=community:{second['communities'][1]}").status_code == 200


@pytest.mark.parametrize("layer", ["communities", "compounds", "grids", "venues", "issues"])
def test_layer_exports_keep_to_the_area(client, engine, second, layer):
    """测试区 holds two communities, each with a grid and a compound, no venue, and its open issues."""
    district = Area("district", second["district"])
    expected = {"communities": 2, "compounds": 2, "grids": 2, "venues": 0,
                "issues": direct(engine, district, "st.is_open")}[layer]
    body = client.get(f"/export/layers/{layer}.geojson?area={district.key}").get_json()
    assert len(body["features"]) == expected
    city = client.get(f"/export/layers/{layer}.geojson?area=city").get_json()
    assert len(city["features"]) > expected
