"""The 彩色动态图 in headless Chromium: it loads clean, draws the 62 compounds, opens their
cards, follows changes in the database live, and its controls work on a desk and on a phone."""
import datetime as dt
import re
import time
from pathlib import Path

import sqlalchemy as sa

from webmap import modes
from tests.helpers import PHONE, rows

ARTIFACTS = Path(__file__).parent / "artifacts"
MODE_NAMES = {"open": "未办结诉求", "sla": "办理时限", "grid": "网格划分", "governance": "三长与自治组织",
              "patrol": "巡查"}
PALETTES = {
    "open": {modes.CALM, *modes.OPEN_COLORS},
    "sla": set(modes.SLA_COLORS.values()),
    "grid": set(modes.GRID_COLORS),
    "governance": set(modes.GOVERNANCE.values()),
    "patrol": set(modes.PATROL_COLORS),
}
READY = ("document.documentElement.dataset.gridmap === 'ready'"
         " && document.querySelectorAll('path.compound').length === 62"
         " && document.querySelector('.gm-legend h4') !== null")
MAP = "window[document.querySelector('.folium-map').id]"
FILL = "sel => document.querySelector(sel).getAttribute('fill')"


def execute(engine, sql, **params):
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params).rowcount


def compound(engine, where, **params):
    found = rows(engine, f"""
        SELECT c.id, c.name, m.name AS community,
               ST_X(ST_PointOnSurface(c.geom)) AS lon, ST_Y(ST_PointOnSurface(c.geom)) AS lat,
               (SELECT count(*) FROM issue i JOIN stage st ON st.code = i.stage AND st.is_open
                 WHERE i.compound_id = c.id) AS open_issues
          FROM compound c JOIN community m ON m.id = c.community_id
         WHERE {where}""", **params)
    assert found, where
    return found[0]


def track(page):
    """Keep the set of requests in flight on ``page`` (to navigate away only when idle)."""
    inflight = set()
    page.on("request", lambda r: inflight.add(r))
    page.on("requestfinished", lambda r: inflight.discard(r))
    page.on("requestfailed", lambda r: inflight.discard(r))
    page.inflight = inflight


def settle(page, timeout=8):
    """Wait until no request is in flight: the page polls every 5 s, so this is soon."""
    deadline = time.monotonic() + timeout
    while page.inflight:
        assert time.monotonic() < deadline, f"requests still in flight: {page.inflight}"
        page.wait_for_timeout(50)


def open_map(page, query=""):
    """Open the map, wait until it is drawn, its legend filled and the network quiet."""
    if not hasattr(page, "inflight"):
        track(page)
    else:
        settle(page)  # leaving with a poll in flight would abort it and count as a failure
    page.goto(f"{page.base}/{query}")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_load_state("networkidle")
    settle(page)


def click_inside(page, compound_id):
    """Click the compound's polygon where it is on top (not under an issue marker or label)."""
    point = page.evaluate("""id => {
        const path = document.querySelector('path.compound-' + id);
        const r = path.getBoundingClientRect(), cx = r.left + r.width / 2, cy = r.top + r.height / 2;
        const points = [];
        for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++)
            points.push([r.left + r.width * i / 24, r.top + r.height * j / 24]);
        points.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
        return points.find(([x, y]) => document.elementFromPoint(x, y) === path) || null;
    }""", compound_id)
    assert point, f"compound {compound_id} is covered everywhere"
    page.mouse.click(*point)


def test_page_loads_without_problems(page):
    open_map(page)
    assert page.title() == "中心路街道 彩色动态图"
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text(".gm-badge .gm-sample") == "示例数据"
    assert page.problems == []


def test_all_62_compounds_are_drawn(page, engine):
    open_map(page)
    drawn = page.eval_on_selector_all(
        "path.compound", "ps => ps.map(p => [p.getAttribute('class'), p.getAttribute('fill')])")
    ids = {int(m.group(1)) for cls, _ in drawn for m in [re.search(r"\bcompound-(\d+)\b", cls)] if m}
    assert ids == {r["id"] for r in rows(engine, "SELECT id FROM compound")}
    assert all(fill in PALETTES["open"] for _, fill in drawn)
    assert page.problems == []


def test_clicking_a_compound_opens_its_card(page, engine):
    c = compound(engine, "c.name = :name", name="乐福国际小区")
    open_map(page)
    page.evaluate(f"([lat, lon]) => {MAP}.setView([lat, lon], 16, {{animate: false}})", [c["lat"], c["lon"]])
    page.wait_for_timeout(400)  # marker clusters re-form after the zoom
    click_inside(page, c["id"])
    card = page.wait_for_selector(".leaflet-popup .card h3", timeout=5_000)
    assert card.inner_text() == c["name"]
    assert page.get_attribute(".leaflet-popup .card", "data-compound") == str(c["id"])
    text = page.inner_text(".leaflet-popup .card")
    assert c["community"] in text
    assert f"({c['open_issues']})" in text
    assert page.locator(".card.lookup").count() == 0  # the click did not fall through to the map
    assert page.problems == []


# Ends every open issue of a compound (the workflow allows `merged` from any open stage).
CLOSE_OPEN_ISSUES = """
    UPDATE issue SET stage = 'merged', stage_reason = '测试：合并', stage_changed_at = now(),
                     closed_at = now()
     WHERE compound_id = :id AND stage IN (SELECT code FROM stage WHERE is_open)"""


def test_new_issues_color_a_calm_compound_live(page, engine):
    c = compound(engine, "TRUE ORDER BY open_issues, c.id LIMIT 1")
    execute(engine, CLOSE_OPEN_ISSUES, id=c["id"])  # calm, whatever ran before
    open_map(page, "?mode=open")
    selector = f"path.compound-{c['id']}"
    before = page.evaluate(FILL, selector)
    assert before == modes.CALM
    for n in range(3):
        execute(engine, """INSERT INTO issue (title, category, channel, geom)
                           SELECT :title, 'road', 'phone', ST_PointOnSurface(geom)
                             FROM compound WHERE id = :id""", title=f"测试诉求 {n}", id=c["id"])
    page.wait_for_function(f"([sel, before]) => ({FILL})(sel) !== before",
                           arg=[selector, before], timeout=10_000)
    assert page.evaluate(FILL, selector) in modes.OPEN_COLORS
    assert page.problems == []


def test_closing_its_issues_turns_a_compound_grey_live(page, engine):
    c = compound(engine, "TRUE ORDER BY open_issues DESC, c.id LIMIT 1")
    assert c["open_issues"] > 0
    open_map(page, "?mode=sla")
    selector = f"path.compound-{c['id']}"
    before = page.evaluate(FILL, selector)
    assert before != modes.SLA_COLORS[0]
    closed = execute(engine, CLOSE_OPEN_ISSUES, id=c["id"])
    assert closed == c["open_issues"]
    page.wait_for_function(f"([sel, want]) => ({FILL})(sel) === want",
                           arg=[selector, modes.SLA_COLORS[0]], timeout=10_000)
    assert page.problems == []


def test_each_mode_has_its_own_legend_and_colors(page, app):
    with app.test_request_context():
        assert modes.mode_names() == MODE_NAMES
    legends = {}
    for mode in modes.MODES:
        open_map(page, f"?mode={mode}")
        assert page.inner_text(".gm-legend h4") == MODE_NAMES[mode]
        assert page.input_value(".gm-mode") == mode
        legends[mode] = page.inner_text(".gm-legend")
        fills = page.eval_on_selector_all("path.compound", "ps => ps.map(p => p.getAttribute('fill'))")
        assert set(fills) <= PALETTES[mode], mode
        assert len(set(fills)) > 1, mode
    assert len(set(legends.values())) == len(modes.MODES)
    assert page.problems == []


def test_mode_select_reloads_with_the_new_mode(page):
    open_map(page, "?mode=open")
    with page.expect_navigation():
        page.select_option(".gm-mode", "governance")
    assert "mode=governance" in page.url
    page.wait_for_function(READY, timeout=20_000)
    assert page.inner_text(".gm-legend h4") == MODE_NAMES["governance"]
    assert "三长齐全" in page.inner_text(".gm-legend")
    settle(page)
    assert page.problems == []


def test_search_finds_a_community_by_pinyin_initials(page, engine):
    box = rows(engine, """SELECT ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, ST_YMax(geom) y1
                            FROM community WHERE name = '江南小镇社区'""")[0]
    lookups = []
    page.on("request", lambda r: "/api/lookup" in r.url and lookups.append(r.url))
    open_map(page)
    zoom = page.evaluate(f"() => {MAP}.getZoom()")
    page.fill(".gm-search input", "jnxz")
    first = page.locator(".gm-results li").first
    first.wait_for(timeout=3_000)
    assert first.inner_text().startswith("江南小镇社区")
    first.click()
    # The map flies to the community: wait for it to arrive there, zoomed in.
    page.wait_for_function(f"""([b, zoom]) => {{
        const m = {MAP}, c = m.getCenter();
        return m.getZoom() > zoom && b.x0 < c.lng && c.lng < b.x1 && b.y0 < c.lat && c.lat < b.y1;
    }}""", arg=[box, zoom], timeout=3_000)
    assert page.input_value(".gm-search input") == "江南小镇社区"
    settle(page)
    assert lookups == []  # choosing a result is not also a click on the map below the list
    assert page.problems == []


def test_search_result_opens_the_compound_card(page):
    lookups = []
    page.on("request", lambda r: "/api/lookup" in r.url and lookups.append(r.url))
    open_map(page)
    page.fill(".gm-search input", "lfgj")
    page.locator(".gm-results li", has_text="乐福国际小区").click()
    page.wait_for_selector(".leaflet-popup .card h3", timeout=5_000)
    page.wait_for_timeout(500)  # time for a stray map click's lookup to replace the card
    settle(page)
    assert page.inner_text(".leaflet-popup .card h3") == "乐福国际小区"
    assert lookups == []
    assert page.problems == []


def test_phone_screen_shows_map_and_controls(page):
    width, height = 390, 844
    page.set_viewport_size({"width": width, "height": height})
    open_map(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-phone.png"))
    assert (ARTIFACTS / "map-phone.png").stat().st_size > 10_000

    # The map fills the screen between the shared navigation (folded to one bar) and the bar of
    # thumb actions at the bottom; on the map only the search and the locate button remain.
    bar = page.locator(".site-nav").bounding_box()
    box = page.locator(".folium-map").bounding_box()
    thumbs = page.locator(".gm-bottombar").bounding_box()
    assert bar["y"] <= 0 and bar["height"] < 60
    assert box["x"] <= 0 and box["y"] == bar["y"] + bar["height"] and box["width"] >= width
    assert thumbs["y"] == box["y"] + box["height"] and thumbs["y"] + thumbs["height"] == height
    assert page.locator(".gm-search").is_visible()
    for selector in (".gm-toolbar", ".gm-legend", ".gm-badge", ".leaflet-control-zoom", ".leaflet-control-layers"):
        assert not page.locator(selector).is_visible(), f"{selector} is not folded into the menu"
    # The menu holds them all, one under the other, inside the screen.
    page.click(".gm-menu-toggle")
    controls = {}
    for selector in (".gm-toolbar", ".gm-legend", ".gm-badge", ".leaflet-control-layers"):
        assert page.locator(selector).is_visible(), selector
        b = page.locator(selector).bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= width, selector
        controls[selector] = b
    overlapping = [(a, b) for a in controls for b in controls if a < b and overlap(controls[a], controls[b])]
    assert overlapping == []
    page.click(".gm-sheet-close")
    assert not page.locator(".gm-sheet").is_visible()
    centers = page.eval_on_selector_all("path.compound", """ps => ps.map(p => {
        const r = p.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })""")
    assert all(0 <= x <= width and 0 <= y <= height for x, y in centers)  # the whole subdistrict
    assert page.problems == []


def overlap(a, b):
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_english_page(page):
    open_map(page, "?lang=en")
    assert page.get_attribute("html", "lang") == "en"
    # English text needs the compiled catalogue (webmap/translations/en/…/messages.mo, built by make).
    assert page.title() == "Zhongxinlu Subdistrict colored map"
    assert page.inner_text(".gm-legend h4") == "Open issues"
    assert page.inner_text(".gm-badge .gm-sample") == "Sample data"
    assert page.inner_text(".gm-lang") == "中文"
    assert page.problems == []


def test_as_of_a_year_ago_loads(page):
    day = (dt.date.today() - dt.timedelta(days=365)).isoformat()
    requested = []
    page.on("request", lambda r: "/api/layers/" in r.url and requested.append(r.url))
    open_map(page, f"?as_of={day}")
    assert page.input_value(".gm-asof") == day
    assert page.inner_text(".gm-asof-note") == day
    layers = [u for u in requested if "compounds.geojson" in u or "issues.geojson" in u]
    assert layers and all(f"as_of={day}" in u for u in layers)
    assert page.problems == []


def test_no_personal_data_reaches_the_page(page, engine):
    names = [r["name"] for r in rows(engine, """
        SELECT h.name FROM head h
         WHERE NOT EXISTS (  -- a two-character name can be part of a place name (东方明珠 holds 方明)
               SELECT 1 FROM (SELECT name AS text FROM compound UNION ALL SELECT name FROM community
                              UNION ALL SELECT name FROM grid UNION ALL SELECT name FROM venue
                              UNION ALL SELECT name FROM building UNION ALL SELECT title FROM issue) public
                WHERE strpos(public.text, h.name) > 0)
         ORDER BY h.compound_id = (SELECT id FROM compound WHERE name = '乐福国际小区') DESC, h.id
         LIMIT 20""")]
    leader = rows(engine, """SELECT g.leader_name FROM grid g JOIN compound c ON c.grid_id = g.id
                              WHERE c.name = '乐福国际小区'""")[0]["leader_name"]
    names.append(leader)
    c = compound(engine, "c.name = :name", name="乐福国际小区")
    responses = []
    page.on("response", lambda r: responses.append(r))
    open_map(page)
    # What a visitor can make the page fetch: a compound card, a lookup, the buildings.
    where = [c["lat"], c["lon"]]
    page.evaluate("([id, lat, lon]) => GridMap.openCompound(id, L.latLng(lat, lon))", [c["id"], *where])
    page.wait_for_selector(".leaflet-popup .card h3")
    page.evaluate(f"([lat, lon]) => {MAP}.fire('click', {{latlng: L.latLng(lat, lon)}})", where)
    page.wait_for_selector(".card.lookup")
    with page.expect_response(lambda r: "/api/layers/buildings.geojson" in r.url):
        page.evaluate(f"([lat, lon]) => {MAP}.setView([lat, lon], 17, {{animate: false}})", where)
    settle(page)

    bodies = [("page.content()", page.content())]
    bodies += [(r.url, r.text()) for r in responses
               if r.request.resource_type in ("document", "fetch", "xhr") and r.status != 304]
    fetched = " ".join(url for url, _ in bodies)
    for part in ("/api/layers/compounds.geojson", "/api/layers/issues.geojson", f"/api/compounds/{c['id']}",
                 "/api/lookup", "/api/layers/buildings.geojson"):
        assert part in fetched, part
    assert "*" in page.inner_text(".card.lookup")  # names are there, masked
    leaks = [(url, m) for url, text in bodies for m in PHONE.findall(text)]
    leaks += [(url, n) for url, text in bodies for n in names if n in text]
    assert leaks == []
    assert page.problems == []


def test_venues_and_liaison_stations_come_from_their_layers(page, engine):
    stations = rows(engine, "SELECT count(*) AS n FROM venue_platform WHERE platform = 'npc_station'")[0]["n"]
    venue = rows(engine, """SELECT v.name, count(mt.id) AS meetings FROM venue v LEFT JOIN meeting mt ON mt.venue_id = v.id
                            GROUP BY v.id ORDER BY count(mt.id) DESC, v.id LIMIT 1""")[0]
    page.goto(page.base + "/")
    page.wait_for_function(READY)
    # the stations are shown from the start, one star each
    page.wait_for_function(f"document.querySelectorAll('.awesome-marker .fa-star').length === {stations}")
    # the venues layer is in the layer control, off until asked for
    assert page.locator(".awesome-marker .fa-chair").count() == 0
    page.hover(".leaflet-control-layers")
    page.get_by_text("协商议事场所", exact=True).click()
    page.wait_for_function("document.querySelectorAll('.awesome-marker').length > 60")
    popup = page.evaluate(f"""(() => {{ let text = null;
        {MAP}.eachLayer(l => {{ if (l.getTooltip && l.getTooltip() && l.getTooltip().getContent() === {venue['name']!r}) {{
            l.openPopup(); text = l.getPopup().getContent(); }} }});
        return text; }})()""")
    assert popup.startswith(venue["name"]) and f"协商活动 {venue['meetings']} 次" in popup
    assert not page.problems, page.problems
