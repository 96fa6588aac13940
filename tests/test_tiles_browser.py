"""webmap/static/tilelayers.js in headless Chromium: a page with only a Leaflet map and the
module draws the sample's compounds from vector tiles in their mode's colors, labels the
issue cells with counts that add up, and hands clicks on a compound or an issue to the page;
and the map page itself, made to draw from tiles, shows colors, legend and the cards."""
import pytest

from app import create_app
from webmap import mapview, modes
from tests.helpers import rows

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/vendor/leaflet/dist/leaflet.css">
<script src="/vendor/leaflet/dist/leaflet.js"></script>
<script src="/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"></script>
<script src="/static/tilelayers.js"></script>
<style>html, body, #map { margin: 0; height: 100%; }</style></head>
<body><div id="map"></div><script>
  var map = L.map("map", {zoomSnap: 0}).setView([CENTER], ZOOM);
  var cfg = {mode: "governance", asOf: null, stageColors: STAGES};
  window.clicks = [];
  var tiles = TileLayers.add(map, cfg, {
    compound: function (id) { clicks.push(["compound", id]); },
    issue: function (id) { clicks.push(["issue", id]); }
  });
  tiles.layer.on("load", function () { document.body.dataset.loaded = "yes"; });
</script></body></html>"""

# Each tile canvas's colors where a compound is filled (alpha of fillOpacity 0.8).
FILLS = """() => {
  const seen = new Set();
  for (const c of document.querySelectorAll('.leaflet-overlay-pane canvas')) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 16) {
      if (Math.abs(d[i + 3] - 204) <= 2) seen.add('#' + [d[i], d[i + 1], d[i + 2]].map(v => v.toString(16).padStart(2, '0')).join(''));
    }
  }
  return [...seen];
}"""


@pytest.fixture(scope="module")
def app(database):
    """The app of this module: its map page draws from tiles above 10 compounds (the sample's 62)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database, "TILES_ABOVE": 10})
    yield app
    app.extensions["gridmap_engine"].dispose()


def near(color, palette):
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return any(all(abs(a - int(p[i:i + 2], 16)) <= 3 for a, i in zip(rgb, (1, 3, 5))) for p in palette)


def open_page(page, lat, lon, zoom):
    html = (PAGE.replace("CENTER", f"{lat}, {lon}").replace("ZOOM", str(zoom))
            .replace("STAGES", str(mapview.STAGE_COLORS).replace("'", '"')))
    page.route(page.base + "/tiles-test.html", lambda r: r.fulfill(body=html, content_type="text/html"))
    page.goto(page.base + "/tiles-test.html")
    page.wait_for_function("document.body.dataset.loaded === 'yes'")


def click_at(page, lat, lon):
    point = page.evaluate(f"(() => {{ const p = map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    page.mouse.click(*point)


def lonely_compound_and_issue(engine):
    """A compound with no open issue, at its interior point farthest from every open issue, and
    the open issue farthest from the others: a click on either cannot hit something else."""
    c = rows(engine, """
        SELECT c.id, ST_X(p) AS lon, ST_Y(p) AS lat
          FROM compound c CROSS JOIN LATERAL ST_PointOnSurface(c.geom) p
          JOIN compound_state s ON s.compound_id = c.id AND s.open_issues = 0
         ORDER BY (SELECT min(ST_Distance(p, i.geom)) FROM issue i WHERE i.due_at IS NOT NULL) DESC LIMIT 1""")[0]
    i = rows(engine, """
        SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat FROM issue i WHERE i.due_at IS NOT NULL
         ORDER BY (SELECT min(ST_Distance(i.geom, j.geom)) FROM issue j
                    WHERE j.due_at IS NOT NULL AND j.id <> i.id) DESC LIMIT 1""")[0]
    return c, i


def test_compounds_are_drawn_from_tiles_in_the_modes_colors_and_answer_clicks(page, engine):
    c, i = lonely_compound_and_issue(engine)
    open_page(page, c["lat"], c["lon"], 16)
    fills = page.evaluate(FILLS)
    palette = set(modes.GOVERNANCE.values())
    drawn = [f for f in fills if near(f, palette)]
    assert len(drawn) >= 2, fills
    click_at(page, c["lat"], c["lon"])
    page.evaluate(f"document.body.dataset.loaded = ''; map.setView([{i['lat']}, {i['lon']}], 17, {{animate: false}})")
    page.wait_for_function("document.body.dataset.loaded === 'yes'")
    click_at(page, i["lat"], i["lon"])
    assert page.evaluate("clicks") == [["compound", c["id"]], ["issue", i["id"]]]
    assert page.problems == []


def test_issue_cells_carry_their_counts_and_zoom_in_on_a_click(page, engine):
    e = rows(engine, "SELECT ST_X(ST_Centroid(b)) AS lon, ST_Y(ST_Centroid(b)) AS lat "
                     "FROM (SELECT ST_Extent(geom)::geometry b FROM subdistrict) s")[0]
    open_page(page, e["lat"], e["lon"], 12)
    labels = page.eval_on_selector_all(".gm-cell-label", "els => els.map(e => +e.textContent)")
    total = rows(engine, "SELECT count(*) AS n FROM issue WHERE due_at IS NOT NULL")[0]["n"]
    assert labels and sum(labels) == total
    biggest = page.evaluate("""(() => {
        const els = [...document.querySelectorAll('.gm-cell-label')];
        const e = els.sort((a, b) => b.textContent - a.textContent)[0].getBoundingClientRect();
        return [e.x + e.width / 2, e.y + e.height / 2]; })()""")
    page.mouse.click(*biggest)
    page.wait_for_function("map.getZoom() === 14")
    assert page.evaluate("clicks") == []
    assert page.problems == []


def test_refresh_reloads_the_tiles_and_the_heat_layer_draws_the_cells(page, engine):
    e = rows(engine, "SELECT ST_X(ST_Centroid(b)) AS lon, ST_Y(ST_Centroid(b)) AS lat "
                     "FROM (SELECT ST_Extent(geom)::geometry b FROM subdistrict) s")[0]
    open_page(page, e["lat"], e["lon"], 13)
    with page.expect_request(lambda r: "/tiles/compounds,buildings,issues/13/" in r.url and "v=1" in r.url):
        page.evaluate("document.body.dataset.loaded = ''; tiles.refresh()")
    page.wait_for_function("document.body.dataset.loaded === 'yes'")
    painted = page.evaluate("""new Promise(done => {
        map.removeLayer(tiles.layer);
        const heat = TileLayers.heat().layer.addTo(map);
        heat.on('load', () => {
          let n = 0;
          for (const c of document.querySelectorAll('.leaflet-overlay-pane canvas')) {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          }
          done([n, document.querySelectorAll('.gm-cell-label').length]);
        });
    })""")
    assert painted[0] > 1000 and painted[1] == 0
    assert page.problems == []


MAP = "window[document.querySelector('.folium-map').id]"
# Every tile of the compounds and issues in view is drawn (VectorGrid marks a drawn tile loaded).
DRAWN = """(() => { const all = document.querySelectorAll('.leaflet-overlay-pane canvas');
  return all.length > 0 && [...all].every(c => c.classList.contains('leaflet-tile-loaded')); })()"""


def test_the_map_page_draws_from_tiles_with_colors_legend_and_cards(page, engine):
    c, i = lonely_compound_and_issue(engine)
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(page.base + "/?mode=sla")
    page.wait_for_function("document.documentElement.dataset.gridmap === 'ready'"
                           " && document.querySelector('.gm-legend h4') !== null", timeout=20_000)
    assert page.locator("path.compound").count() == 0        # no GeoJSON compounds
    page.evaluate(f"{MAP}.setView([{c['lat']}, {c['lon']}], 16, {{animate: false}})")
    page.wait_for_function(DRAWN)
    assert [f for f in page.evaluate(FILLS) if near(f, set(modes.SLA_COLORS.values()))]
    legend = page.eval_on_selector_all(".gm-legend .legend-row i", "els => els.map(e => e.style.background)")
    assert len(legend) == 4
    point = page.evaluate(f"(() => {{ const p = {MAP}.latLngToContainerPoint([{c['lat']}, {c['lon']}]);"
                          " const r = document.querySelector('.folium-map').getBoundingClientRect();"
                          " return [r.x + p.x, r.y + p.y]; })()")
    page.mouse.click(*point)
    page.wait_for_selector(f".leaflet-popup .card[data-compound='{c['id']}']")
    page.evaluate(f"{MAP}.closePopup(); {MAP}.setView([{i['lat']}, {i['lon']}], 17, {{animate: false}})")
    page.wait_for_function(DRAWN)
    page.mouse.click(*point)      # the same place on screen: now the issue
    page.wait_for_selector(".leaflet-popup .card h4")
    stage = rows(engine, "SELECT name_zh FROM stage s JOIN issue i ON i.stage = s.code WHERE i.id = :id", id=i["id"])[0]
    assert stage["name_zh"] in page.inner_text(".leaflet-popup .card")
    assert not [u for u in requested if "/api/lookup" in u]   # a click on a feature is not a map click
    assert any("/tiles/compounds,buildings,issues/17/" in u for u in requested)
    assert page.problems == []


def test_close_up_an_issue_dot_is_drawn_over_its_building_and_a_building_opens_its_card(page, engine):
    """Buildings come in the tiles, under the issues: a tap on a dot over a building opens the
    issue, a tap elsewhere on the building the building's card."""
    found = rows(engine, """SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, b.id AS building,
            ST_X(far) AS far_lon, ST_Y(far) AS far_lat
          FROM issue i JOIN stage st ON st.code = i.stage AND st.is_open
          JOIN building b ON ST_Within(i.geom, ST_Buffer(b.geom, -0.00001))
          CROSS JOIN LATERAL (SELECT g.geom AS far FROM ST_Dump(ST_GeneratePoints(ST_Buffer(b.geom, -0.00002), 40, 7)) g
                               ORDER BY ST_Distance(g.geom, i.geom) DESC LIMIT 1) pick
         WHERE NOT EXISTS (SELECT 1 FROM issue o WHERE o.id <> i.id AND ST_DWithin(o.geom, i.geom, 0.0001))
         ORDER BY i.id LIMIT 1""")[0]
    page.goto(page.base + "/")
    page.wait_for_function("document.documentElement.dataset.gridmap === 'ready'", timeout=20_000)
    page.evaluate(f"{MAP}.setView([{found['lat']}, {found['lon']}], 19, {{animate: false}})")
    page.wait_for_function(DRAWN)
    page.wait_for_timeout(300)
    at = f"(([lat, lon]) => {{ const p = {MAP}.latLngToContainerPoint([lat, lon]);" \
         " const r = document.querySelector('.folium-map').getBoundingClientRect(); return [r.x + p.x, r.y + p.y]; })"
    page.mouse.click(*page.evaluate(at, [found["lat"], found["lon"]]))
    page.wait_for_selector(f".leaflet-popup .card[data-issue='{found['id']}']")
    page.evaluate(f"{MAP}.closePopup()")
    page.mouse.click(*page.evaluate(at, [found["far_lat"], found["far_lon"]]))
    page.wait_for_selector(f".leaflet-popup .card[data-building='{found['building']}']")
    assert page.problems == []
