"""The 电子底册 in Chromium, on a desk (1400×900) and a phone (390×844): a save is confirmed
and an error shown in the edited row, retiring asks first and can be undone, and the
history reads as before → after; nothing is wider than the screen."""
from pathlib import Path

import pytest

from tests.helpers import add_user, browser_login, q
from tests.test_desk_browser import CJK, visible_text_outside_data

SHOTS = Path("/tmp/dev/shots-roster")
SIZES = {"desk": (1400, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def compound(app, engine):
    add_user(app, "rb_staff", "community_staff", "汇丰社区")
    return q(engine, "SELECT c.id FROM compound c JOIN community m ON m.id = c.community_id "
                     "WHERE m.name = '汇丰社区' AND EXISTS (SELECT 1 FROM head h WHERE h.compound_id = c.id "
                     "AND h.retired_on IS NULL) ORDER BY c.id LIMIT 1")[0][0]


def _no_overflow(page):
    page.wait_for_load_state("load")   # every stylesheet applied (a busy machine may be slow to serve one)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _in_view(page, locator):
    box = locator.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("size", SIZES)
def test_roster_save_error_retire_undo_history(page, engine, compound, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    browser_login(page, "rb_staff", next_path=f"/roster?compound={compound}")
    page.wait_for_selector("table.heads tr[data-id]")
    _no_overflow(page)
    head_id = int(page.locator("table.heads tr[data-id]:not(.retired)").last.get_attribute("data-id"))
    row = page.locator(f"tr[data-id='{head_id}']")
    for button in (".save", ".retire", "a.history"):
        _in_view(page, row.locator(button))

    # An error is shown in the row, right beside the field.
    row.locator("input[name=phone]").fill("123")
    row.locator(".save").click()
    status = row.locator(".status.error")
    status.wait_for()
    assert "电话" in status.inner_text()
    _in_view(page, status)
    row.scroll_into_view_if_needed()
    _shot(page, f"{size}-error")
    page.problems.clear()  # the 400 of the refused save is expected

    # A save is confirmed in the row.
    row.locator("input[name=name]").fill(f"新名{size}")
    row.locator("input[name=phone]").fill("13800002222")
    row.locator(".save").click()
    row.locator(".status.ok").wait_for()
    assert "已保存" in row.locator(".status").inner_text()
    assert q(engine, "SELECT name, phone FROM head WHERE id = :h", h=head_id)[0] == (f"新名{size}", "13800002222")
    _shot(page, f"{size}-saved")

    # 卸任 looks unlike 保存, asks first, cancel keeps the head.
    save_bg = row.locator(".save").evaluate("b => getComputedStyle(b).backgroundColor")
    retire_bg = row.locator(".retire").evaluate("b => getComputedStyle(b).backgroundColor")
    assert save_bg != retire_bg
    row.locator(".retire").click()
    row.locator(".confirm").wait_for()
    _in_view(page, row.locator(".confirm-retire"))
    _shot(page, f"{size}-confirm")
    row.locator(".cancel").click()
    assert q(engine, "SELECT retired_on FROM head WHERE id = :h", h=head_id)[0][0] is None
    row.locator(".retire").click()
    row.locator(".confirm-retire").click()
    page.wait_for_selector(f"tr[data-id='{head_id}'].retired")
    assert q(engine, "SELECT retired_on IS NOT NULL FROM head WHERE id = :h", h=head_id)[0][0]
    assert "已卸任" in row.locator(".status").inner_text()
    _in_view(page, row.locator(".unretire"))
    _shot(page, f"{size}-retired")

    # Undo the same day: the head serves again, and the history says so.
    row.locator(".unretire").click()
    page.wait_for_selector(f"tr[data-id='{head_id}']:not(.retired) .status.ok")
    assert q(engine, "SELECT retired_on FROM head WHERE id = :h", h=head_id)[0][0] is None

    row.locator("a.history").click()
    page.wait_for_selector("table.history tr.event")
    _no_overflow(page)
    actions = page.locator("table.history .action").all_inner_texts()
    assert actions[:3] == ["撤销卸任", "卸任", "修改"]
    assert "→" in page.locator("tr.event.edit").first.inner_text()
    assert f"新名{size}" in page.locator("tr.event.edit").first.inner_text()
    _shot(page, f"{size}-history")
    page.go_back()
    page.click("a.history-link")
    page.wait_for_selector("table.history tr.event")
    _no_overflow(page)
    _shot(page, f"{size}-compound-history")
    assert page.problems == []


@pytest.mark.parametrize("size", SIZES)
def test_english_roster_and_history_show_no_chinese_outside_data(page, compound, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    browser_login(page, "rb_staff", next_path=f"/roster?compound={compound}&lang=en")
    page.wait_for_selector("table.heads tr[data-id]")
    for path in (f"/roster?compound={compound}&lang=en", f"/roster/compounds/{compound}/history?lang=en"):
        page.goto(page.base + path)
        page.wait_for_load_state("networkidle")
        _no_overflow(page)
        text = visible_text_outside_data(page)
        assert [text[max(0, m.start() - 20):m.end() + 20] for m in CJK.finditer(text)] == [], path
    _shot(page, f"{size}-history-en")
    assert page.problems == []
