"""A tour of every page of the app in Chromium, as one role, that records what a page must
never do: break its Content-Security-Policy, run injected script (``window.__xss``), open
a dialog, log a console error. Shared by the CSP and the hostile-text browser tests.

The tour uses each page as a user would (the map's modes, search, cards, the lookup, issue
popups with their step forms, the record form, the my-area panel; the dashboard's charts
and their tooltips; the hotspot ranking) so that every piece of data-built HTML is drawn."""
MAP = "window[document.querySelector('.folium-map').id]"
READY = ("document.documentElement.dataset.gridmap === 'ready'"
         " && document.querySelectorAll('path.compound').length >= 62"
         " && document.querySelector('.gm-legend h4') !== null")

# Reports each CSP violation to the test as it happens (it survives navigations).
WATCH = """
document.addEventListener('securitypolicyviolation', e => window.__cspReport(
    [e.violatedDirective, e.blockedURI, (e.sourceFile || '') + ':' + e.lineNumber, e.sample].join(' | ')));
"""


def watch(page):
    """Record CSP violations and dialogs on ``page`` in ``page.problems``."""
    page.context.expose_function("__cspReport", lambda text: page.problems.append(f"CSP: {text}"))
    page.context.add_init_script(WATCH)

    def dialog(d):
        page.problems.append(f"dialog: {d.type} {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    page.inflight = set()
    page.on("request", lambda r: page.inflight.add(r))
    page.on("requestfinished", lambda r: page.inflight.discard(r))
    page.on("requestfailed", lambda r: page.inflight.discard(r))
    page.visited = []
    return page


def settle(page, timeout=8):
    """Wait until no request is in flight (the map polls every 5 s): leaving a page with a
    request in flight aborts it, which would count as a failure."""
    for _ in range(timeout * 20):
        if not page.inflight:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"requests still in flight: {page.inflight}")


def idle(page):
    """Let the page settle (its fetches answered), then check nothing injected ran."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)
    assert page.evaluate("typeof window.__xss") == "undefined", f"injected script ran on {page.url}"


def leave(page):
    """Stop the page's polling timers and the map's movements (which fetch on moveend), and
    wait for what is in flight, so that leaving the page aborts nothing."""
    if page.url.startswith(page.base):
        page.evaluate("""() => {
            for (let i = setTimeout(() => {}, 0); i > 0; i--) { clearTimeout(i); clearInterval(i); }
            const el = document.querySelector('.folium-map');
            if (el && window[el.id]) { window[el.id].stop(); window[el.id].off('moveend'); }
        }""")
        page.wait_for_timeout(100)
    settle(page)


def visit(page, path, ready=None):
    leave(page)
    page.goto(page.base + path)
    if ready:
        page.wait_for_function(ready, timeout=20_000)
    idle(page)
    page.visited.append(path)


# -- the map --------------------------------------------------------------------------------

def open_map(page, query=""):
    visit(page, "/" + query, READY)


def compound_cards(page, places):
    """Open the card of each compound (id, lat, lon) as a click on it does, and its tooltip."""
    for id, lat, lon in places:
        page.evaluate("([id, lat, lon]) => GridMap.openCompound(id, L.latLng(lat, lon))", [id, lat, lon])
        page.wait_for_selector(f".leaflet-popup .card[data-compound='{id}']", timeout=8_000)
        idle(page)
    tooltips(page)


def tooltips(page):
    """Open every tooltip the map binds: a feature's own, and a layer group's on each member
    (folium's GeoJsonTooltip is bound to the group)."""
    page.evaluate(f"""() => {MAP}.eachLayer(l => {{
        if (!l.getTooltip || !l.getTooltip()) return;
        if (l.feature) {{ l.openTooltip(); l.closeTooltip(); }}
        else if (l.eachLayer) l.eachLayer(c => {{ if (c.feature && c.getBounds) {{
            const at = {{latlng: c.getBounds().getCenter()}};
            c.fire('mouseover', at, true); c.fire('mouseout', at, true); }} }});
    }})""")
    idle(page)


def lookups(page, places):
    """A tap on the map at each (lat, lon): the lookup card."""
    for lat, lon in places:
        page.evaluate(f"([lat, lon]) => {MAP}.fire('click', {{latlng: L.latLng(lat, lon)}})", [lat, lon])
        page.wait_for_selector(".leaflet-popup .card.lookup", timeout=8_000)
        idle(page)


def issue_popups(page, issue_ids, actions):
    """Open each issue's card as its references do (GridMap.showIssue: from its marker when it is
    drawn); ``actions``: the viewer may act on it (its step form)."""
    for issue_id in issue_ids:
        page.evaluate(f"GridMap.showIssue({issue_id})")
        page.wait_for_selector(f".leaflet-popup .gm-issue-card[data-issue='{issue_id}'] h4", timeout=15_000)
        if actions:
            page.wait_for_selector(f".gm-actions[data-issue='{issue_id}']", timeout=15_000)
        idle(page)


def search(page, term):
    page.fill(".gm-search input", term)
    page.locator(".gm-results li").first.wait_for(timeout=5_000)
    idle(page)
    page.locator(".gm-results li").first.click()
    idle(page)


def record_form(page, lat, lon):
    """The record button, then a tap: the form opens (nothing is sent)."""
    page.click(".gm-record-control button")
    page.evaluate(f"([lat, lon]) => {MAP}.fire('click', {{latlng: L.latLng(lat, lon)}})", [lat, lon])
    page.wait_for_selector(".gm-record input[name=title]", timeout=5_000)
    idle(page)


def heat_and_venues(page):
    """Every overlay of the layer control switched on (the heat layer, venues, stations)."""
    page.evaluate("""() => document.querySelectorAll('.leaflet-control-layers-selector').forEach(
        box => { if (!box.checked) box.click(); })""")
    idle(page)


def map_tour(page, places, issue_ids, *, signed_in, recorder=False, my_area=False, search_term="xpmy",
             modes=True):
    """The map (in every mode, in both languages, if ``modes``), with every card, popup and
    panel it draws."""
    for mode in ("sla", "grid", "governance") if modes else ():
        open_map(page, f"?mode={mode}")
    open_map(page)
    heat_and_venues(page)
    if my_area:
        page.wait_for_selector(".gm-myarea .gm-compounds li", timeout=8_000)
        page.locator(".gm-myarea .gm-compounds li a").first.click()
        page.wait_for_selector(".leaflet-popup .card h3", timeout=8_000)
        idle(page)
    search(page, search_term)
    compound_cards(page, places)
    lookups(page, [(lat, lon) for _id, lat, lon in places])
    issue_popups(page, issue_ids, actions=signed_in)
    if recorder:
        record_form(page, *places[0][1:])
    if modes:
        open_map(page, "?lang=en")
        open_map(page, "?lang=zh_CN")


# -- the other pages -----------------------------------------------------------------------

DASHBOARD_READY = "document.documentElement.dataset.dashboard === 'ready'"
HOTSPOTS_READY = "document.documentElement.dataset.hotspots === 'ready'"


def chart_tooltips(page):
    """Hover over the middle of every chart (ECharts draws its tooltip there)."""
    for chart in page.locator(".chart .canvas").all():
        box = chart.bounding_box()
        for fx, fy in ((0.5, 0.5), (0.3, 0.7), (0.7, 0.3)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(60)
    idle(page)


def dashboard(page, query=""):
    page.set_viewport_size({"width": 1920, "height": 1080})
    visit(page, "/dashboard" + query, DASHBOARD_READY)
    chart_tooltips(page)
    page.set_viewport_size({"width": 1280, "height": 800})


def hotspots(page, query=""):
    visit(page, "/hotspots" + query, HOTSPOTS_READY)
    tabs = page.locator(".hs-tabs button")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        idle(page)
    rows = page.locator(".hs-rank li[data-i] .hs-name")
    if rows.count():
        rows.first.click()
        idle(page)


def notices(page, community_ids):
    visit(page, "/notice/")
    for community_id in community_ids:
        visit(page, f"/notice/community/{community_id}")


def ogc(page):
    for path in ("/ogc?f=html", "/ogc/collections?f=html", "/ogc/conformance?f=html"):
        visit(page, path)
    for collection in ("communities", "grids", "compounds", "issues", "venues"):
        visit(page, f"/ogc/collections/{collection}?f=html")
        visit(page, f"/ogc/collections/{collection}/items?f=html&limit=500")


def pages_tour(page, community_ids, *, roster=False, meetings=False, issue_list=True, roster_compounds=(),
               ogc_pages=True):
    dashboard(page)
    for community_id in community_ids:
        dashboard(page, f"?area=community:{community_id}")
    hotspots(page)
    notices(page, community_ids)
    if ogc_pages:
        ogc(page)
    if issue_list:
        visit(page, "/issues")
        visit(page, "/issues?stage=open")
    if roster:
        visit(page, "/roster")
        for compound_id in roster_compounds:
            visit(page, f"/roster?compound={compound_id}")
    if meetings:
        visit(page, "/meetings")


def clean(page):
    """Nothing went wrong on the tour: the problems, each once, else an empty list."""
    return sorted(set(page.problems))


def sign_in(page, name, password):
    page.goto(page.base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(page.base + "/")
    page.visited.append("/login")
