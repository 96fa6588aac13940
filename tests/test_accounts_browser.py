"""Signing in with Chromium: a grid leader lands on their own grid with "my area"."""
from layers import users
from tests.helpers import PASSWORD, browser_login


def test_grid_leader_login_lands_on_own_grid(app, engine, page):
    with app.app_context():
        users.add("b_grid", "grid_leader", PASSWORD, "汇丰社区/第1网格")
    browser_login(page, "b_grid")
    page.wait_for_function("document.documentElement.dataset.gridmap === 'ready'")
    page.wait_for_function("document.querySelectorAll('.gm-myarea .gm-compounds li').length > 0")
    with engine.connect() as conn:
        import sqlalchemy as sa
        minx, miny, maxx, maxy = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g.geom)::geometry e "
            "FROM grid g JOIN community m ON m.id = g.community_id "
            "WHERE m.name = '汇丰社区' AND g.name = '第1网格') x")).one()
        own = conn.execute(sa.text(
            "SELECT count(*) FROM compound c JOIN grid g ON g.id = c.grid_id JOIN community m "
            "ON m.id = g.community_id WHERE m.name = '汇丰社区' AND g.name = '第1网格'")).scalar()
    center = page.evaluate("(() => { const m = window[GridMap.mapName()]; const c = m.getCenter(); "
                           "return [c.lng, c.lat, m.getZoom()]; })()")
    assert minx <= center[0] <= maxx and miny <= center[1] <= maxy
    assert center[2] >= 16  # zoomed in on the grid, not the whole subdistrict
    assert page.locator(".gm-myarea .gm-compounds li").count() == own
    # their own 三长 with tap-to-call links
    assert page.locator(".gm-myarea a[href^='tel:']").count() > 0
    page.wait_for_function("document.querySelectorAll('path.compound').length === 62")
    assert page.locator(".gm-user").inner_text().startswith("b_grid")
    assert page.problems == []
