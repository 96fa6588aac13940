"""The pages around the map on a phone (Chromium at 390×844, touch): a tap on an issue in a
list (the issue list, the overdue list) opens the map at that issue; nothing is wider than the
screen; call links are a finger tall; the dashboard's chart labels do not overlap."""
import pytest

from tests.helpers import CHART_TEXTS, add_user, browser_login, overlap, q

PHONE = {"width": 390, "height": 844}
MAP_READY = "() => document.documentElement.dataset.gridmap === 'ready'"

# Every link and button shown, with its box; the page's width.
LAYOUT = """() => ({
  scroll: document.documentElement.scrollWidth,
  controls: [...document.querySelectorAll('a, button, input, select')]
    .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
    .map(el => { const r = el.getBoundingClientRect();
                 return {what: el.tagName + ' ' + (el.textContent || el.name || '').trim().slice(0, 30),
                         left: r.left, right: r.right}; })
})"""


@pytest.fixture
def phone(new_page):
    return new_page(PHONE, touch=True)


@pytest.fixture(scope="module")
def users(app):
    add_user(app, "pp_official", "official")
    add_user(app, "pp_grid", "grid_leader", "汇丰社区/第1网格")
    add_user(app, "pp_staff", "community_staff", "汇丰社区")


def fits_the_screen(page):
    page.wait_for_load_state("load")   # every stylesheet applied (a busy machine may be slow to serve one)
    layout = page.evaluate(LAYOUT)
    assert layout["scroll"] <= PHONE["width"], f"{page.url} is {layout['scroll']} px wide"
    outside = [c["what"] for c in layout["controls"] if c["left"] < 0 or c["right"] > PHONE["width"] + 0.5]
    assert outside == [], f"{page.url}: off the screen: {outside[:5]}"


def tap_lands_on_the_issue(page, row, issue_id, cell):
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
    # a finger on that cell: whatever covers it takes the tap
    row.locator(cell).scroll_into_view_if_needed()
    spot = row.locator(cell).bounding_box()
    page.touchscreen.tap(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
    page.wait_for_url(f"{page.base}/?issue={issue_id}")
    page.wait_for_function(MAP_READY, timeout=30_000)
    page.wait_for_selector(f".card[data-issue='{issue_id}']", state="visible", timeout=15_000)


def test_a_tap_on_an_issue_in_the_list_opens_the_map_at_it(phone, engine, users):
    page = phone
    issue_id = q(engine, "SELECT id FROM issue WHERE stage = 'topic' ORDER BY reported_at DESC, id DESC LIMIT 1")[0][0]
    browser_login(page, "pp_official", next_path="/issues?stage=topic")
    page.wait_for_selector("table.issues")
    fits_the_screen(page)
    tap_lands_on_the_issue(page, page.locator(f"table.issues tr[data-id='{issue_id}']"), issue_id, "td.title")
    assert page.problems == []


def test_a_tap_on_an_overdue_issue_opens_the_map_at_it(phone, engine, users):
    page = phone
    browser_login(page, "pp_grid", next_path="/dashboard")
    page.wait_for_selector("html[data-dashboard=ready]")
    page.locator(".stages a.total.alert").tap()   # 已超期: the overdue list
    page.wait_for_selector("table.issues")
    assert "overdue=1" in page.url
    fits_the_screen(page)
    row = page.locator("table.issues tr[data-id]").first
    issue_id = int(row.get_attribute("data-id"))
    assert row.locator(".due .overdue").count() == 1
    tap_lands_on_the_issue(page, row, issue_id, "td.due")
    assert page.problems == []


def test_the_roster_fits_a_phone_and_its_call_links_are_a_finger_tall(phone, engine, users):
    page = phone
    compound = q(engine, """SELECT c.id FROM compound c JOIN grid g ON g.id = c.grid_id JOIN community m ON m.id = c.community_id
        WHERE m.name = '汇丰社区' AND g.name = '第1网格' AND EXISTS (SELECT 1 FROM head h WHERE h.compound_id = c.id
        AND h.phone IS NOT NULL AND h.retired_on IS NULL) ORDER BY c.id LIMIT 1""")[0][0]
    for user in ("pp_grid", "pp_official", "pp_staff"):
        page.context.clear_cookies()
        browser_login(page, user, next_path=f"/roster?compound={compound}")
        page.wait_for_selector("table.heads")
        fits_the_screen(page)
        calls = page.locator("a[href^='tel:']")
        for i in range(calls.count()):
            box = calls.nth(i).bounding_box()
            size = calls.nth(i).evaluate("a => parseFloat(getComputedStyle(a).fontSize)")
            assert box["height"] >= 44 and size >= 14, (user, calls.nth(i).inner_text(), box, size)
        if user != "pp_staff":
            assert calls.count() > 0, user   # readers call; editors edit the number
    assert page.problems == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_dashboards_chart_labels_are_readable_on_a_phone(phone, users, lang):
    page = phone
    browser_login(page, "pp_official", next_path="/dashboard" + ("?lang=en" if lang == "en" else ""))
    page.wait_for_selector("html[data-dashboard=ready]")
    fits_the_screen(page)
    charts = page.evaluate(CHART_TEXTS)
    assert len(charts) == 5
    problems = []
    for chart in charts:
        texts = chart["texts"]
        assert texts, chart["id"]
        for t in texts:
            if t["size"] < 12:
                problems.append((chart["id"], "small", t["text"], t["size"]))
            if t["x"] < -0.5 or t["y"] < -0.5 or t["x"] + t["w"] > chart["width"] + 0.5 \
                    or t["y"] + t["h"] > chart["height"] + 0.5:
                problems.append((chart["id"], "cut off", t["text"]))
            if t["text"].endswith(("...", "…")):
                problems.append((chart["id"], "truncated", t["text"]))
        for i, a in enumerate(texts):
            problems += [(chart["id"], "overlap", a["text"], b["text"]) for b in texts[i + 1:] if overlap(a, b)]
    assert problems == [], (sorted({p[1] for p in problems}), [p for p in problems if p[1] != "small"][:10])
    # a platform's name is broken between words, not one character a line
    platforms = next(c for c in charts if c["id"] == "chart-platforms")
    assert max(len(t["text"]) for t in platforms["texts"]) >= 4
    assert page.problems == []


def test_a_tap_on_a_public_topic_opens_the_map_at_it(phone, engine):
    """The 公示 page, signed out: a topic under consultation leads to the map at it."""
    page = phone
    community, issue_id = q(engine, """SELECT community_id, id FROM issue WHERE stage IN ('notice', 'consult', 'implement')
        ORDER BY community_id, id LIMIT 1""")[0]
    page.goto(f"{page.base}/notice/community/{community}")
    row = page.locator(f"table.topics tr[data-issue='{issue_id}']")
    row.wait_for()
    fits_the_screen(page)
    tap_lands_on_the_issue(page, row, issue_id, "td:first-child")
    assert page.problems == []
