"""The map page holds nothing that grows with the city: above TILES_ABOVE compounds it embeds no
areas, venues or issues and draws from the vector tiles; below, the sample keeps its GeoJSON layers.
Neither embeds a search index or heat points (both are fetched for the view)."""
import json
import re

import pytest

from app import create_app


def embeds(text, html):
    """Whether the page holds ``text``, as it is or as folium writes it into JSON (\\uXXXX)."""
    return text in html or json.dumps(text)[1:-1] in html


def page_config(html):
    return json.loads(re.search(r"GridMap\.configure\((\{.*?\})\);</script>", html, re.S).group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def tiled_app(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database, "TILES_ABOVE": 10})
    yield app
    app.extensions["gridmap_engine"].dispose()


def test_the_sample_map_keeps_its_live_geojson_layers(client):
    html = client.get("/").get_data(as_text=True)
    config = page_config(html)
    assert config["tiled"] is False
    assert "GridMap.fetchLayer('compounds'" in html and embeds("江南小镇社区", html)
    assert "search" not in config  # names are looked up through /api/search


def test_above_the_threshold_the_page_embeds_no_areas_and_draws_tiles(tiled_app):
    response = tiled_app.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["tiled"] is True and config["sample"] is True
    assert not embeds("江南小镇社区", html) and "GridMap.fetchLayer(" not in html
    # the page is the same size however many compounds, issues and areas there are
    assert len(response.data) < 500_000
    # the heat layer is there, empty until the page asks for the cells in view
    assert re.search(rf"var {config['heat']} = L\.heatLayer\(\s*\[\]", html)


# Officials at each level open the map on their own extent: the city (no area), a district, a
# subdistrict. The second district 测试区 lies east of the sample's 上街区 (tests/test_extent.py).
from tests.test_extent import second  # noqa: E402,F401  (the fixture)
from tests.helpers import add_user, login  # noqa: E402


def fitted_bounds(html):
    found = re.search(r"\.fitBounds\(\s*(\[\[.*?\]\])", html, re.S).group(1)
    (south, west), (north, east) = json.loads(found)
    return west, south, east, north


@pytest.mark.parametrize("name, area, extent_sql", [
    ("m_city", None, "SELECT ST_Extent(geom) FROM subdistrict"),
    ("m_district", "测试区", "SELECT ST_Extent(geom) FROM district WHERE name = '测试区'"),
    ("m_subdistrict", "上街区/中心路街道", "SELECT ST_Extent(geom) FROM subdistrict WHERE name = '中心路街道'"),
])
def test_each_official_opens_the_map_on_their_own_extent(app, engine, second, name, area, extent_sql):
    from tests.helpers import q
    add_user(app, name, "official", area)
    client = login(app.test_client(), name)
    west, south, east, north = fitted_bounds(client.get("/").get_data(as_text=True))
    minx, miny, maxx, maxy = q(engine, f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ({extent_sql}) x(e)")[0]
    assert (west, south, east, north) == pytest.approx((minx, miny, maxx, maxy), abs=1e-5)


def test_the_area_tree_drills_down_from_the_city(client, second):
    city = client.get("/api/areas?area=city").get_json()
    assert [t["name"] for t in city["trail"]] == ["郑州市"]
    assert [(c["level"], c["name"]) for c in city["children"]] == [("district", "上街区"), ("district", "测试区")]
    district = client.get(f"/api/areas?area={city['children'][1]['area']}").get_json()
    assert [t["name"] for t in district["trail"]] == ["郑州市", "测试区"]
    assert [c["name"] for c in district["children"]] == ["测试街道"]
    sub = client.get(f"/api/areas?area={district['children'][0]['area']}").get_json()
    assert [c["name"] for c in sub["children"]] == ["东测社区", "西测社区"]
    community = client.get(f"/api/areas?area={sub['children'][0]['area']}").get_json()
    assert community["children"] == [] and community["trail"][-1]["name"] == "东测社区"
    (south, west), (north, east) = community["bounds"]
    assert (west, south, east, north) == pytest.approx((113.40, 34.79, 113.42, 34.83))
    assert client.get("/api/areas?area=district:999999").status_code == 400
    assert client.get("/api/areas?area=nowhere").status_code == 400


CENTER = "(() => { const c = window[document.querySelector('.folium-map').id].getCenter(); return [c.lng, c.lat]; })()"
# The place the breadcrumb ends at (the current area) is the last plain span of the trail.
HERE = "[...document.querySelectorAll('.gm-areas > span')].pop()?.textContent === '{}'"


def test_the_map_drills_down_and_keeps_the_area(page, second):
    page.goto(page.base + "/?area=city")
    page.wait_for_function("document.querySelector('.gm-areas select') !== null")
    page.wait_for_function(HERE.format("郑州市"))
    page.select_option(".gm-areas select", label="测试区")
    page.wait_for_function(HERE.format("测试区"))
    assert "area=district" in page.url
    page.select_option(".gm-areas select", label="测试街道")
    page.wait_for_function(HERE.format("测试街道"))
    assert page.evaluate(CENTER) == pytest.approx((113.42, 34.81), abs=0.005)
    page.click(".gm-areas a[data-area='city']")
    page.wait_for_function(HERE.format("郑州市"))
    assert "area=city" in page.url
    # a reload opens where the drill-down left off
    page.goto(page.base + f"/?area=subdistrict:{second['subdistrict']}")
    page.wait_for_function(HERE.format("测试街道"))
    assert page.evaluate(CENTER) == pytest.approx((113.42, 34.81), abs=0.005)
    assert not page.problems, page.problems
