"""The map page holds nothing that grows with the city: above TILES_ABOVE compounds it embeds no
areas, venues or issues and draws from the vector tiles; below, the sample keeps its GeoJSON layers.
Neither embeds a search index or heat points (both are fetched for the view)."""
import json
import re

import pytest

from app import create_app


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
    assert "GridMap.fetchLayer('compounds'" in html and "江南小镇社区" in html
    assert "search" not in config  # names are looked up through /api/search


def test_above_the_threshold_the_page_embeds_no_areas_and_draws_tiles(tiled_app):
    response = tiled_app.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["tiled"] is True and config["sample"] is True
    assert "江南小镇社区" not in html and "GridMap.fetchLayer(" not in html
    # the page is the same size however many compounds, issues and areas there are
    assert len(response.data) < 500_000
    # the heat layer is there, empty until the page asks for the cells in view
    assert re.search(rf"var {config['heat']} = L\.heatLayer\(\s*\[\]", html)
