"""In Chromium: the issue list's map link opens the map at the issue with its card, and the
community PDF shows that it is being made until the download starts."""
import pytest

from tests.helpers import add_user, browser_login, q

READY = "document.documentElement.dataset.gridmap === 'ready'"


@pytest.fixture(scope="module")
def official(app):
    add_user(app, "ob_official", "official")
    return "ob_official"


def test_map_link_opens_the_issue(page, engine, official):
    issue_id, title = q(engine, "SELECT id, title FROM issue WHERE stage = 'topic' "
                                "ORDER BY reported_at DESC, id DESC LIMIT 1")[0]
    browser_login(page, official, next_path="/issues?stage=topic")
    page.wait_for_selector("table.issues")
    page.locator(f"tr[data-id='{issue_id}'] a.on-map").click()
    page.wait_for_function(READY, timeout=20_000)
    card = page.wait_for_selector(f".leaflet-popup .card[data-issue='{issue_id}']", timeout=10_000)
    assert title in card.inner_text()
    lon, lat = q(engine, "SELECT ST_X(geom), ST_Y(geom) FROM issue WHERE id = :i", i=issue_id)[0]
    in_view = page.evaluate(f"window[document.querySelector('.folium-map').id].getBounds().contains([{lat}, {lon}])")
    assert in_view and card.is_visible()
    assert page.problems == []


def test_the_community_pdf_shows_progress(page, engine, official):
    community = q(engine, "SELECT id FROM community WHERE name = '汇丰社区'")[0][0]
    browser_login(page, official, next_path=f"/issues?area=community:{community}")
    page.wait_for_selector("table.issues")
    link = page.locator("a[data-busy]", has_text="PDF")
    label = link.inner_text()
    with page.expect_download(timeout=30_000) as download:
        link.click()
        page.wait_for_selector("a[data-busy][aria-busy='true']", timeout=5_000)
        assert "正在生成" in link.inner_text()
    assert download.value.suggested_filename.endswith(".pdf")
    page.wait_for_selector("a[data-busy][data-downloaded='true']")
    assert link.inner_text() == label and link.get_attribute("aria-busy") is None
    assert page.problems == []
