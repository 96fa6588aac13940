"""A grid leader's patrol on a phone (Chromium at 390×844 with a granted GPS position): 巡查打卡
from 我的范围 records the visit, the patrol mode then shows the compound as visited this
week (and every compound's color matches its visits), and a position 1 km away is refused
with the server's message next to the form."""

import pytest

from tests.helpers import add_user, browser_login, q
from webmap import modes

PHONE = {"width": 390, "height": 844}
# Functions, not expressions: the page's CSP has no 'unsafe-eval', which polling a string needs.
READY = ("() => document.documentElement.dataset.gridmap === 'ready'"
         " && document.querySelectorAll('path.compound').length === 62")


@pytest.fixture
def phone(new_page):
    return new_page(PHONE, touch=True, geolocation={"longitude": 0, "latitude": 0})


def expected_class(last, now):
    if last is None:
        return "never"
    days = (now - last).total_seconds() / 86400
    return "week" if days <= 7 else "month" if days <= 30 else "longer"


def test_a_patrol_on_a_phone_colors_the_compound_and_a_far_one_is_refused(app, engine, phone):
    add_user(app, "pb_grid", "grid_leader", "汇丰社区/第1网格")
    compound_id, lon, lat = q(engine, """
        SELECT c.id, ST_X(p), ST_Y(p) FROM compound c JOIN grid g ON g.id = c.grid_id
          JOIN community m ON m.id = c.community_id, ST_PointOnSurface(c.geom) p
         WHERE m.name = '汇丰社区' AND g.name = '第1网格' ORDER BY c.id LIMIT 1""")[0]
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM patrol WHERE compound_id = %s", (compound_id,))
    far_lon, far_lat = q(engine, "SELECT ST_X(p), ST_Y(p) FROM ST_Project(ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
                                 "::geography, 1000, radians(90)) g, CAST(g AS geometry) p", x=lon, y=lat)[0]
    page = phone
    page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})
    browser_login(page, "pb_grid")
    page.wait_for_function(READY, timeout=30_000)

    # the bar's 巡查打卡: 我的范围's compounds in a sheet, the one never visited with its action
    page.click(".gm-bottombar .gm-patrol-toggle")
    action = page.locator(f".gm-sheet .gm-myarea-body .patrol-open[data-id='{compound_id}']")
    action.wait_for(timeout=15_000)
    assert "从未巡查" in page.locator(f".gm-compounds li[data-id='{compound_id}']").inner_text()
    action.click()
    sheet = page.locator(f".patrol-sheet[data-compound='{compound_id}']")
    sheet.wait_for()
    page.locator(".patrol-pos", has_text="已定位").wait_for(timeout=15_000)
    box = sheet.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1   # a bottom sheet, on screen
    page.fill(".patrol-sheet textarea[name=note]", "楼道整洁，消防通道畅通")
    page.click(".patrol-sheet .patrol-submit")
    page.wait_for_selector(".patrol-sheet[data-patrol], .patrol-error:not(:empty)", timeout=15_000)
    assert page.inner_text(".patrol-sheet .patrol-error") == ""
    patrol_id = int(page.get_attribute(".patrol-sheet", "data-patrol"))
    assert f"已打卡 #{patrol_id}" in page.inner_text(".patrol-sheet .patrol-done")
    row = q(engine, "SELECT compound_id, placed_manually, distance_m, note, nothing_found FROM patrol WHERE id = :i",
            i=patrol_id)[0]
    assert tuple(row) == (compound_id, False, 0, "楼道整洁，消防通道畅通", True)

    # the patrol mode: the compound is "this week"; every compound's color matches its visits
    page.goto(page.base + "/?mode=patrol")
    page.wait_for_function(READY, timeout=30_000)
    assert page.get_attribute(f"path.compound-{compound_id}", "fill") == modes.PATROL_COLORS[0]
    now = q(engine, "SELECT now()")[0][0]
    last = dict(q(engine, "SELECT compound_id, last_patrol_at FROM patrol_state"))
    fills = page.evaluate("""[...document.querySelectorAll('path.compound')].map(p =>
        [+[...p.classList].find(c => /^compound-\\d+$/.test(c)).slice(9), p.getAttribute('fill')])""")
    classes = ("week", "month", "longer", "never")
    seen = set()
    for cid, fill in fills:
        cls = expected_class(last.get(cid), now)
        seen.add(cls)
        assert fill == modes.PATROL_COLORS[classes.index(cls)], (cid, cls, fill)
    assert len(seen) >= 3   # the sample's visits spread over the classes
    legend = page.locator(".gm-legend .legend-fills").inner_text()
    assert "7 天内巡查过" in legend and "从未巡查" in legend

    # too far: the position 1 km away is refused, the message shown next to the form
    assert page.problems == []
    before = q(engine, "SELECT count(*) FROM patrol")[0][0]
    page.context.set_geolocation({"longitude": far_lon, "latitude": far_lat, "accuracy": 10})
    page.evaluate(f"GridMap.openCompound({compound_id}, L.latLng({lat}, {lon}))")
    page.click(".gm-sheet .patrol-open", timeout=15_000)   # the compound's card, in the sheet
    page.locator(".patrol-pos", has_text=f"{far_lat:.5f}").wait_for(timeout=15_000)
    page.click(".patrol-sheet .patrol-submit")
    error = page.locator(".patrol-sheet .patrol-error")
    error.wait_for(state="visible", timeout=15_000)
    assert "超过允许的 200 米" in error.inner_text() and "手动选点" in error.inner_text()
    assert q(engine, "SELECT count(*) FROM patrol")[0][0] == before
    assert [p for p in page.problems if "422" not in p] == []   # the refusal's 422 is expected
