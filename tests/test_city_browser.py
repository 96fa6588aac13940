"""A synthetic city on the map, in headless Chromium: beside the sample, `synth city` builds
districts, subdistricts and a few hundred compounds, and the map page (drawing from tiles above
TILES_ABOVE compounds) shows them in their mode's colors, with the legend, and opens the same
compound card as the GeoJSON map. The page holds nothing of the city itself."""
import pytest
import sqlalchemy as sa

from app import create_app
from data import synth
from tests.test_tiles_browser import DRAWN, FILLS, MAP, near
from webmap import modes


@pytest.fixture(scope="module")
def app(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database, "TILES_ABOVE": 200})
    synth.load(app.extensions["gridmap_engine"], 300, 6_000, seed=7, progress=False)
    yield app
    app.extensions["gridmap_engine"].dispose()


def city_compound(engine):
    """A compound of the synthetic city, its district, and the point inside it farthest from
    its open issues (a click there hits the compound, not an issue dot)."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("""
            SELECT c.id, c.name, ST_X(p) AS lon, ST_Y(p) AS lat, d.name AS district
              FROM (SELECT * FROM compound ORDER BY id DESC LIMIT 1 OFFSET 40) c
              JOIN community m ON m.id = c.community_id JOIN subdistrict s ON s.id = m.subdistrict_id
              JOIN district d ON d.id = s.district_id
              CROSS JOIN LATERAL (
                  SELECT g.geom AS p FROM ST_Dump(ST_GeneratePoints(ST_Buffer(c.geom, -0.0002), 60, 146)) g
                   ORDER BY (SELECT min(ST_Distance(g.geom, i.geom)) FROM issue i
                              WHERE i.compound_id = c.id AND i.due_at IS NOT NULL) DESC NULLS FIRST
                   LIMIT 1) pick""")).mappings().one())


def test_the_synthetic_city_is_drawn_from_tiles_with_colors_legend_and_a_card(page, engine):
    c = city_compound(engine)
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(page.base + "/?mode=governance")
    page.wait_for_function("document.documentElement.dataset.gridmap === 'ready'"
                           " && document.querySelectorAll('.gm-legend .legend-row').length === 4", timeout=20_000)
    html = page.content()
    assert c["name"] not in html and "path.compound" not in html
    page.evaluate(f"{MAP}.setView([{c['lat']}, {c['lon']}], 16, {{animate: false}})")
    page.wait_for_function(DRAWN)
    drawn = [f for f in page.evaluate(FILLS) if near(f, set(modes.GOVERNANCE.values()))]
    assert drawn, "no compound of the city drawn in a governance color"
    legend = page.eval_on_selector_all(".gm-legend .legend-row i", "els => els.map(e => e.style.background)")
    assert len(legend) == 4
    # The compound's card, as on the GeoJSON map (at zoom 16: buildings are drawn from 17).
    spot = page.evaluate(f"""(() => {{ const m = {MAP};
        const p = m.latLngToContainerPoint([{c['lat']}, {c['lon']}]);
        const r = document.querySelector('.folium-map').getBoundingClientRect();
        return [r.x + p.x, r.y + p.y]; }})()""")
    page.mouse.click(*spot)
    page.wait_for_selector(f".leaflet-popup .card[data-compound='{c['id']}']")
    assert c["name"] in page.inner_text(".leaflet-popup .card")
    assert any("/tiles/compounds,buildings,issues/16/" in u and "mode=governance" in u for u in requested)
    assert page.problems == []


def test_search_finds_a_district_of_the_city(client, engine):
    district = city_compound(engine)["district"]
    found = client.get("/api/search", query_string={"q": district}).get_json()["results"]
    assert found[0]["name"] == district and found[0]["kind"] == "district"
