"""The dashboard and the hotspot page in headless Chromium: they load clean (no off-site
request, no console error), the charts and the hotspot layers are drawn, a bar leads to its
issues and a ranked compound zooms the map to it."""
import re
from pathlib import Path

import pytest

from tests.helpers import public_ledger_app

ARTIFACTS = Path(__file__).parent / "artifacts"
CHARTS = ("months", "platforms", "communities", "on-time", "categories")
HOTSPOTS_READY = "document.documentElement.dataset.hotspots === 'ready'"
DASHBOARD_READY = "document.documentElement.dataset.dashboard === 'ready'"
MAP = "window[document.querySelector('.folium-map').id]"


@pytest.fixture(scope="module")
def app(database):
    """The ledger opened to everyone (``PUBLIC_LEDGER``): this module reads it as the public."""
    yield from public_ledger_app(database)


def open_dashboard(page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{page.base}/dashboard")
    page.wait_for_function(DASHBOARD_READY, timeout=15_000)
    page.wait_for_load_state("networkidle")


def test_the_dashboard_draws_its_charts_on_a_wall_screen(page):
    open_dashboard(page)
    assert page.title().startswith("数据看板")
    for chart in CHARTS:
        canvas = page.locator(f"#chart-{chart} canvas")
        assert canvas.count() >= 1, chart
        box = canvas.first.bounding_box()
        assert box["width"] > 300 and box["height"] > 150, chart
    # Everything fits the screen: no scrolling on the wall.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    assert page.problems == []


def test_a_bar_leads_to_its_issues(page):
    open_dashboard(page)
    # The pixel of the first category's bar, from the chart itself.
    target = page.evaluate("""() => {
        const el = document.getElementById('chart-categories');
        const chart = echarts.getInstanceByDom(el);
        const option = chart.getOption();
        const data = option.series[0].data, names = option.yAxis[0].data;
        const i = data.length - 1;  // drawn bottom-up: the last is the first category
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [data[i].value / 2, names[i]]);
        const r = el.getBoundingClientRect();
        return {x: r.left + x, y: r.top + y, href: data[i].href, count: data[i].value};
    }""")
    with page.expect_navigation():
        page.mouse.click(target["x"], target["y"])
    assert page.url.endswith(target["href"])
    assert int(page.get_attribute("#total", "data-total")) == target["count"]
    assert page.locator("tr[data-id]").count() == target["count"]
    assert page.problems == []


def test_a_headline_number_leads_to_its_issues(page):
    open_dashboard(page)
    link = page.locator("a.total.alert")
    shown = int(link.get_attribute("data-count"))
    with page.expect_navigation():
        link.click()
    assert "overdue=1" in page.url
    assert int(page.inner_text("#total")) == shown
    assert page.problems == []


def test_a_child_area_drills_down_and_the_trail_leads_back(page):
    open_dashboard(page)
    link = page.locator("nav.drill a.child").nth(1)
    name = link.inner_text()
    with page.expect_navigation():
        link.click()
    page.wait_for_function(DASHBOARD_READY, timeout=15_000)
    assert "area=community:" in page.url
    assert page.inner_text("h1").startswith(name) and page.inner_text("nav.drill .trail b") == name
    assert page.locator("#chart-communities canvas").count() >= 1
    with page.expect_navigation():
        page.locator("nav.drill .trail a", has_text="中心路街道").click()
    page.wait_for_function(DASHBOARD_READY, timeout=15_000)
    assert page.locator("nav.drill a.child").count() == 14
    assert page.problems == []


def open_hotspots(page, query=""):
    page.goto(f"{page.base}/hotspots{query}")
    page.wait_for_function(HOTSPOTS_READY, timeout=15_000)
    page.wait_for_load_state("networkidle")


def test_the_hotspot_page_draws_cells_clusters_and_ranking(page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_hotspots(page)
    assert page.title().startswith("诉求热点分析")
    summary = page.inner_text(".hs-summary")
    cells = int(re.search(r"(\d+) 格", summary).group(1))
    assert page.locator("path.hs-cell").count() == cells
    assert page.locator("path.hs-hot-99").count() >= 1
    assert page.locator(".hs-cluster-label").count() == page.locator("path.hs-cluster").count() >= 1
    assert page.locator(".hs-rank li").count() == 10
    assert page.inner_text(".gm-badge .gm-sample") == "示例数据"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hotspots.png"))
    assert page.problems == []


def test_hovering_a_cell_tells_its_figures(page):
    open_hotspots(page)
    box = page.locator("path.hs-hot-99").first.bounding_box()
    # a point inside the cell: its centre (outlines above it take no pointer events)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.wait_for_selector(".leaflet-tooltip", timeout=3_000).inner_text()
    assert "Gi* z 值" in tooltip and "诉求" in tooltip
    assert page.problems == []


def test_a_ranked_compound_zooms_the_map_to_it(page):
    open_hotspots(page)
    zoom = page.evaluate(f"{MAP}.getZoom()")
    page.locator(".hs-rank li .hs-name").first.click()
    page.wait_for_function(f"{MAP}.getZoom() > {zoom}", timeout=5_000)
    inside = page.evaluate(f"""() => {{
        const c = {MAP}.getCenter();
        const r = JSON.parse(document.querySelector('.hs-rank li').dataset.bounds);
        return c.lat > r[0][0] && c.lat < r[1][0] && c.lng > r[0][1] && c.lng < r[1][1];
    }}""")
    assert inside
    assert page.problems == []


def test_the_filter_form_reloads_with_the_choice(page):
    open_hotspots(page)
    page.select_option(".hs-filters select[name=stage]", "open")
    page.select_option(".hs-filters select[name=cell]", "100")
    with page.expect_navigation():
        page.click(".hs-filters button[type=submit]")
    page.wait_for_function(HOTSPOTS_READY, timeout=15_000)
    assert "stage=open" in page.url and "cell=100" in page.url and "category=" not in page.url
    assert page.locator("path.hs-cell").count() > 300
    assert page.problems == []
