"""The phone app on the server side: the web app manifest and its icons, the service worker,
the map page's head, the area bundle a phone keeps offline (only the user's own area, phones
logged), and signing out clearing the site's storage."""
import io
import json

import pytest
from PIL import Image

from tests.helpers import add_user, login, q


@pytest.fixture(scope="module")
def people(app, engine):
    add_user(app, "o_grid", "grid_leader", "汇丰社区/第1网格")
    add_user(app, "o_official", "official")
    add_user(app, "o_gone", "grid_leader", "汇丰社区/第1网格")
    grid_id = q(engine, "SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                        "WHERE m.name = '汇丰社区' AND g.name = '第1网格'")[0][0]
    return {"grid_id": grid_id}


def test_manifest_makes_the_app_installable(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    m = json.loads(r.get_data(as_text=True))
    assert m["name"] == "中心路街道 彩色动态图" and m["short_name"] == "彩色动态图"
    assert m["display"] == "standalone" and m["start_url"] == "/?panel=myarea" and m["scope"] == "/"
    assert m["theme_color"].startswith("#")
    sizes = {(i["sizes"], i["purpose"]) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    assert client.get(m["start_url"]).status_code == 200
    for icon in m["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.mimetype == "image/png"
        image = Image.open(io.BytesIO(got.data))
        assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]
    assert client.get("/icons/nothing.png").status_code == 404


def test_manifest_in_english(client):
    m = json.loads(client.get("/manifest.webmanifest?lang=en").get_data(as_text=True))
    assert "Zhongxinlu" in m["name"] or "map" in m["name"].lower()


def test_service_worker_is_served_from_the_root(client):
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/" and "no-cache" in r.headers["Cache-Control"]
    body = r.get_data(as_text=True)
    assert 'addEventListener("fetch"' in body and "/api/offline/area" in body


def test_map_page_links_the_manifest_and_the_offline_scripts(client):
    html = client.get("/").get_data(as_text=True)
    for needle in ('<link rel="manifest" href="/manifest.webmanifest">', 'name="theme-color"',
                   'name="apple-mobile-web-app-capable" content="yes"',
                   '<link rel="apple-touch-icon" href="/icons/apple-touch-icon.png">',
                   '<script src="/static/outbox.js"></script>', '<script src="/static/offline.js"></script>'):
        assert needle in html
    assert client.get("/icons/apple-touch-icon.png").status_code == 200


def test_area_bundle_needs_a_session(client):
    r = client.get("/api/offline/area")
    assert r.status_code == 401 and r.get_json()["error"]


def test_area_bundle_is_for_users_with_an_area(app, client, people):
    login(client, "o_official")
    r = client.get("/api/offline/area")
    assert r.status_code == 403 and r.get_json()["error"]


def _phones(value):
    """Every value of a ``phone`` member anywhere in a JSON value."""
    if isinstance(value, dict):
        found = {v for k, v in value.items() if k.endswith("phone") and v}
        return found.union(*(_phones(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_phones(v) for v in value))
    return set()


def test_area_bundle_holds_the_own_area_only(app, client, engine, people):
    login(client, "o_grid")
    r = client.get("/api/offline/area")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    b = r.get_json()
    grid = people["grid_id"]
    own = {row[0] for row in q(engine, "SELECT id FROM compound WHERE grid_id = :g", g=grid)}
    assert own and {f["properties"]["id"] for f in b["compounds"]["features"]} == own
    assert {c["id"] for c in b["my_area"]["compounds"]} == own
    assert b["compounds"]["legend"] and all(f["properties"]["mine"] for f in b["compounds"]["features"])
    buildings = {row[0] for row in q(engine, "SELECT b.id FROM building b JOIN compound c ON c.id = b.compound_id "
                                             "WHERE c.grid_id = :g", g=grid)}
    assert buildings and {f["properties"]["id"] for f in b["buildings"]["features"]} == buildings
    open_issues = {row[0] for row in q(engine, "SELECT i.id FROM issue i JOIN stage s ON s.code = i.stage "
                                               "WHERE s.is_open AND i.grid_id = :g", g=grid)}
    assert {f["properties"]["id"] for f in b["issues"]["features"]} == open_issues
    assert all(f["properties"]["compound_id"] in own | {None} for f in b["issues"]["features"])
    assert b["synced_at"] and b["strings"]["notKept"]

    # the 三长 of the area with their phones; nobody else's contact is in it
    inside = {row[0] for row in q(engine, "SELECT h.phone FROM head h JOIN compound c ON c.id = h.compound_id "
                                          "WHERE c.grid_id = :g AND h.phone IS NOT NULL AND h.retired_on IS NULL",
                                  g=grid)}
    outside = {row[0] for row in q(engine, "SELECT h.phone FROM head h JOIN compound c ON c.id = h.compound_id "
                                           "WHERE c.grid_id <> :g AND h.phone IS NOT NULL", g=grid)}
    outside |= {row[0] for row in q(engine, "SELECT leader_phone FROM grid WHERE id <> :g AND leader_phone IS NOT NULL",
                                    g=grid)}
    text = r.get_data(as_text=True)
    assert inside and all(phone in text for phone in inside)
    assert outside and not any(phone in text for phone in outside)
    leader = {row[0] for row in q(engine, "SELECT leader_phone FROM grid WHERE id = :g", g=grid)}
    assert _phones(b) <= inside | leader


def test_area_bundle_logs_the_phones_it_carries(app, client, engine, people):
    login(client, "o_grid")
    before = q(engine, "SELECT count(*) FROM personal_data_access WHERE user_name = 'o_grid'")[0][0]
    client.get("/api/offline/area")
    logged = q(engine, "SELECT count(*) FROM personal_data_access WHERE user_name = 'o_grid' "
                       "AND route LIKE '%/api/offline/area%'")[0][0]
    after = q(engine, "SELECT count(*) FROM personal_data_access WHERE user_name = 'o_grid'")[0][0]
    assert logged > 0 and after > before


def test_area_bundle_answers_401_once_the_session_ends(app, client, people):
    login(client, "o_gone")
    assert client.get("/api/offline/area").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "disable", "o_gone"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/offline/area").status_code == 401


def test_signing_out_clears_the_sites_storage(app, client, people):
    login(client, "o_grid")
    r = client.post("/logout")
    assert r.status_code == 302
    assert r.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/api/offline/area").status_code == 401


def test_nothing_kept_page_is_plain(client):
    html = client.get("/offline").get_data(as_text=True)
    assert "本机没有保存的数据" in html and "<script" not in html
    assert "no data kept on this device" in client.get("/offline?lang=en").get_data(as_text=True)
