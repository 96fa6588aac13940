"""The map in a grid leader's hand (Chromium at 390×844, touch): cards and forms open as a
sheet at the bottom that no control covers, record mode says what to do and can be cancelled,
issue dots sit above compounds and buildings, issues at one spot open as a list, every issue
reference opens the map at the issue with its actions, an advance shows at once on the marker
and the card, and what a thumb taps is at least 44 px tall with text of at least 14 px."""
import pytest

from tests.helpers import add_user, browser_login, q
from webmap.mapview import STAGE_COLORS

PHONE = {"width": 390, "height": 844}
READY = ("() => document.documentElement.dataset.gridmap === 'ready'"
         " && document.documentElement.dataset.workflow === 'ready'"
         " && document.querySelectorAll('path.compound').length === 62"
         " && document.querySelectorAll('path.gm-issue').length > 0")
AREA = "汇丰社区/第1网格"

# The point of the screen where a place (lon, lat) is drawn.
SCREEN_POINT = """([lon, lat]) => {
  const map = window[GridMap.mapName()], p = map.latLngToContainerPoint(L.latLng(lat, lon));
  const box = map.getContainer().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""
# Whether the element drawn at an element's center is that element (or inside it).
ON_TOP = """el => {
  const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  return !!hit && (hit === el || el.contains(hit));
}"""


@pytest.fixture(scope="module")
def leader(app):
    add_user(app, "ph_grid", "grid_leader", AREA)
    return "ph_grid"


@pytest.fixture
def phone(leader, new_page):
    page = new_page(PHONE, touch=True)
    browser_login(page, leader)
    page.wait_for_function(READY, timeout=30_000)
    return page


def open_map(page, query=""):
    page.goto(page.base + "/" + query)
    page.wait_for_function(READY, timeout=30_000)


def grid_point(engine, nth=0):
    """An interior point of the ``nth`` compound of the leader's grid, and the compound's id."""
    return q(engine, """SELECT ST_X(p), ST_Y(p), c.id FROM compound c JOIN grid g ON g.id = c.grid_id
        JOIN community m ON m.id = c.community_id, ST_PointOnSurface(c.geom) p
        WHERE m.name = '汇丰社区' AND g.name = '第1网格' ORDER BY c.id LIMIT 1 OFFSET :n""", n=nth)[0]


def tap_map(page, lon, lat):
    x, y = page.evaluate(SCREEN_POINT, [lon, lat])
    page.mouse.click(x, y)


def inside_screen(box):
    return (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
            and box["y"] + box["height"] <= PHONE["height"] + 0.5)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_record_form_is_a_sheet_no_control_covers(phone, engine, lang):
    page = phone
    open_map(page, f"?lang={lang}")
    lon, lat, _ = grid_point(engine)
    page.click(".gm-bottombar [data-slot=record] button")
    banner = page.locator(".gm-banner")
    banner.wait_for(state="visible")
    assert banner.inner_text().startswith("点击地图选择位置" if lang == "zh" else "Tap the map")
    tap_map(page, lon, lat)
    form = page.locator(".gm-sheet form.gm-record")
    form.wait_for(state="visible")
    assert not banner.is_visible()
    # every field, the title and the close button are on screen and are what a tap there hits
    for selector in ("h4", "select[name=category]", "select[name=channel]", "input[name=title]",
                     "textarea[name=description]"):
        el = form.locator(selector)
        el.scroll_into_view_if_needed()
        assert inside_screen(el.bounding_box()), selector
        assert el.evaluate(ON_TOP), f"{selector} is covered"
    close = page.locator(".gm-sheet-close")
    assert inside_screen(close.bounding_box()) and close.evaluate(ON_TOP)
    assert close.bounding_box()["height"] >= 44 and close.bounding_box()["width"] >= 44
    sheet = page.locator(".gm-sheet").bounding_box()
    assert sheet["x"] == 0 and sheet["width"] == PHONE["width"]   # full width
    # a real tap on the category select reaches it
    category = form.locator("select[name=category]")
    category.scroll_into_view_if_needed()
    box = category.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("document.activeElement.name") == "category"
    close.click()
    assert not page.locator(".gm-sheet").is_visible()
    assert page.problems == []


def test_record_mode_can_be_cancelled(phone, engine):
    page = phone
    lon, lat, _ = grid_point(engine)
    page.click(".gm-bottombar [data-slot=record] button")
    page.click(".gm-banner .gm-banner-cancel")
    assert not page.locator(".gm-banner").is_visible()
    tap_map(page, lon, lat)
    # the tap was a plain one again: the place's card (the lookup or the compound), no form
    page.locator(".gm-sheet .card").wait_for(state="visible")
    assert page.locator(".gm-record").count() == 0


def test_issue_dots_sit_above_compounds_and_buildings(phone, engine):
    page = phone
    zs = page.evaluate("""() => {
      const z = name => +getComputedStyle(document.querySelector('.leaflet-' + name + '-pane')).zIndex;
      const dot = document.querySelector('path.gm-issue');
      return [z('overlay'), z('gm-issues'), dot.closest('.leaflet-pane').classList.contains('leaflet-gm-issues-pane')];
    }""")
    assert zs[1] > zs[0] and zs[2], zs

    def check():
        dots = page.locator("path.gm-issue")
        hits = misses = 0
        for i in range(dots.count()):
            dot = dots.nth(i)
            box = dot.bounding_box()
            if not box or not inside_screen(box):
                continue
            below = page.evaluate("""([x, y]) => { const el = document.elementFromPoint(x, y);
                return el ? (el.closest('.leaflet-control, .gm-bottombar, .gm-sheet, .site-nav') ? 'control' :
                             el.classList.contains('gm-issue') ? 'issue' : el.getAttribute('class') || el.tagName) : null; }""",
                                  [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
            if below == "issue":
                hits += 1
            elif below != "control":
                misses += 1
        return hits, misses

    hits, misses = check()
    assert hits >= 3 and misses == 0, (hits, misses)
    # close up, with the buildings drawn, the dots are still on top
    lon, lat = q(engine, """SELECT ST_X(i.geom), ST_Y(i.geom) FROM issue i JOIN building b ON ST_DWithin(b.geom, i.geom, 0.0003)
        JOIN stage st ON st.code = i.stage AND st.is_open LIMIT 1""")[0]
    page.evaluate("([lon, lat]) => window[GridMap.mapName()].setView(L.latLng(lat, lon), 18, {animate: false})", [lon, lat])
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane path').length > 80")
    page.wait_for_timeout(300)
    hits, misses = check()
    assert hits >= 1 and misses == 0, (hits, misses)


def test_a_compound_tapped_in_my_area_opens_in_front(phone, engine):
    page = phone
    open_map(page, "?panel=myarea")
    _, _, compound_id = grid_point(engine)
    link = page.locator(f".gm-sheet .gm-compounds li[data-id='{compound_id}'] a")
    link.click()
    card = page.locator(f".gm-sheet .card[data-compound='{compound_id}']")
    card.wait_for(state="visible")
    assert not page.locator(".gm-compounds").is_visible()   # the list gave way to the card
    assert card.locator("h3").evaluate(ON_TOP)
    calls = card.locator("a[href^='tel:']")
    assert calls.count() >= 1
    for i in range(calls.count()):
        assert calls.nth(i).bounding_box()["height"] >= 44


def _issue_shown(page, issue_id):
    card = page.locator(f".gm-sheet .gm-issue-card[data-issue='{issue_id}']")
    card.wait_for(state="visible", timeout=15_000)
    page.locator(f".gm-sheet .gm-actions[data-issue='{issue_id}']").wait_for(timeout=15_000)
    zoom = page.evaluate("window[GridMap.mapName()].getZoom()")
    assert zoom >= 18
    # the issue's dot is in sight above the sheet
    dot = page.locator(f"path.gm-issue-{issue_id}")
    if dot.count():
        box, sheet = dot.bounding_box(), page.locator(".gm-sheet").bounding_box()
        assert box and box["y"] + box["height"] <= sheet["y"] and box["y"] >= 0
    return card


def test_my_area_issue_rows_open_the_issue(phone):
    page = phone
    open_map(page, "?panel=myarea")
    row = page.locator(".gm-sheet .gm-issues a.gm-open-issue").first
    issue_id = int(row.get_attribute("data-issue"))
    assert row.bounding_box()["height"] >= 44
    row.click()
    _issue_shown(page, issue_id)
    assert page.url.endswith("?panel=myarea")   # opened in place, no reload


def test_the_confirmation_of_a_record_opens_the_new_issue(phone, engine):
    page = phone
    lon, lat, _ = grid_point(engine)
    page.click(".gm-bottombar [data-slot=record] button")
    tap_map(page, lon, lat)
    page.fill(".gm-sheet .gm-record input[name=title]", "手机记录 路灯不亮")
    page.click(".gm-sheet .gm-record button[type=submit]")
    done = page.locator(".gm-sheet .gm-done[data-issue]")
    done.wait_for(timeout=15_000)
    issue_id = int(done.get_attribute("data-issue"))
    assert q(engine, "SELECT title FROM issue WHERE id = :i", i=issue_id)[0][0] == "手机记录 路灯不亮"
    page.click(f".gm-sheet a.gm-open-issue[data-issue='{issue_id}']")
    card = _issue_shown(page, issue_id)
    assert "手机记录 路灯不亮" in card.inner_text()


def test_issues_at_one_spot_open_as_a_list(phone, engine):
    page = phone
    lon, lat, _ = grid_point(engine, 1)   # a spot no other test records at
    assert not q(engine, "SELECT 1 FROM issue WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.0002)",
                 x=lon, y=lat)
    titles = ["同一地点 一", "同一地点 二", "同一地点 三"]
    ids = page.evaluate("""([lon, lat, titles]) => Promise.all(titles.map(t => {
        const body = new FormData();
        Object.entries({category: 'road', channel: 'bench_talk', title: t, lon: lon, lat: lat}).forEach(([k, v]) => body.append(k, v));
        return fetch('/api/issues', {method: 'POST', body: body,
                     headers: {'X-CSRFToken': document.querySelector("input[name=csrf_token]").value}})
          .then(r => r.json()).then(b => b.id);
    }))""", [lon, lat, titles])
    assert all(ids), ids
    open_map(page)
    page.evaluate("([lon, lat]) => window[GridMap.mapName()].setView(L.latLng(lat, lon), 19, {animate: false})", [lon, lat])
    page.wait_for_timeout(500)
    x, y = page.evaluate(SCREEN_POINT, [lon, lat])
    cluster = page.locator(".marker-cluster").filter(has_text="3")
    cluster.wait_for(state="visible")
    box = cluster.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - x) < 10 and abs(box["y"] + box["height"] / 2 - y) < 10
    cluster.click()
    rows = page.locator(".gm-sheet .gm-issue-list a.gm-open-issue")
    rows.first.wait_for(state="visible")
    assert sorted(int(rows.nth(i).get_attribute("data-issue")) for i in range(rows.count())) == sorted(ids)
    assert all(rows.nth(i).bounding_box()["height"] >= 44 for i in range(rows.count()))
    page.locator(".gm-sheet .gm-issue-list a", has_text="同一地点 二").click()
    card = _issue_shown(page, ids[1])
    assert "同一地点 二" in card.inner_text()


def test_an_advance_shows_at_once_on_the_marker_and_the_card(phone, engine):
    page = phone
    issue_id = q(engine, """SELECT i.id FROM issue i JOIN grid g ON g.id = i.grid_id
        JOIN community m ON m.id = g.community_id WHERE i.stage = 'reported' AND m.name = '汇丰社区' AND g.name = '第1网格'
        ORDER BY i.id LIMIT 1""")[0][0]
    page.evaluate(f"GridMap.showIssue({issue_id})")
    card = _issue_shown(page, issue_id)
    dot = page.locator(f"path.gm-issue-{issue_id}")
    assert dot.get_attribute("fill") == STAGE_COLORS["reported"]
    assert "诉求收集" in card.locator(".gm-card-stage").inner_text()
    page.click(f".gm-sheet .gm-actions[data-issue='{issue_id}'] button[type=submit]")
    page.locator(".gm-sheet .gm-done[data-stage='topic']").wait_for(timeout=15_000)
    # at once, before the next poll: the dot's color and the card's stage
    assert dot.get_attribute("fill") == STAGE_COLORS["topic"]
    stage_line = card.locator(".gm-card-stage").inner_text()
    assert "确定议题" in stage_line and "诉求收集" not in stage_line
    assert "诉求收集" not in page.locator(".gm-sheet").inner_text()   # never the old and the new stage at once
    # and the next poll keeps them
    page.wait_for_timeout(6_000)
    assert dot.get_attribute("fill") == STAGE_COLORS["topic"]
    assert "确定议题" in card.locator(".gm-card-stage").inner_text()
    assert q(engine, "SELECT stage FROM issue WHERE id = :i", i=issue_id)[0][0] == "topic"


def test_thumb_targets_and_text_size(phone, engine):
    page = phone
    # the bar at the bottom, within thumb reach
    for button in page.locator(".gm-bottombar button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["y"] > PHONE["height"] * 0.85
    labels = page.locator(".gm-bottombar button").all_inner_texts()
    assert any("我的范围" in t for t in labels) and any("记录诉求" in t for t in labels) and any("巡查打卡" in t for t in labels)
    # a compound's card: calls, buttons and text
    _, _, compound_id = grid_point(engine)
    page.evaluate(f"""() => {{ const m = window[GridMap.mapName()];
        GridMap.openCompound({compound_id}, m.getCenter()); }}""")
    card = page.locator(f".gm-sheet .card[data-compound='{compound_id}']")
    card.wait_for(state="visible")
    small = page.evaluate("""() => [...document.querySelectorAll('.gm-sheet a, .gm-sheet button, .gm-sheet select, .gm-sheet input')]
        .filter(el => el.offsetParent).map(el => [el.outerHTML.slice(0, 60), el.getBoundingClientRect().height])
        .filter(([_, h]) => h < 44)""")
    assert small == []
    tiny = page.evaluate("""() => { const out = [];
        const walk = document.createTreeWalker(document.querySelector('.gm-sheet'), NodeFilter.SHOW_TEXT);
        while (walk.nextNode()) { const t = walk.currentNode;
          if (t.textContent.trim() && parseFloat(getComputedStyle(t.parentElement).fontSize) < 14) out.push(t.textContent.trim()); }
        return out; }""")
    assert tiny == []
