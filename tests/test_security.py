"""The security headers (webmap/security.py): the CSP on every page (no 'unsafe-inline'
scripts, a fresh nonce, the basemap's tile hosts for images), no-store on whatever may carry
personal data, HSTS over HTTPS only (and behind a trusted proxy)."""
import re

import pytest

from app import create_app
from tests.helpers import add_user, login, q

PAGES = ("/", "/login", "/hotspots", "/dashboard", "/notice/", "/ogc?f=html")


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


@pytest.fixture(scope="module")
def leader(app, engine):
    grid = q(engine, "SELECT m.name || '/' || g.name FROM grid g JOIN community m ON m.id = g.community_id "
                     "ORDER BY g.id LIMIT 1")[0][0]
    add_user(app, "sec_leader", "grid_leader", grid)
    return "sec_leader"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    d = directives(response)
    for name in ("script-src", "style-src"):
        assert d[name][0] == "'self'" and "'unsafe-inline'" not in d[name] and "'unsafe-eval'" not in d[name]
        assert all(s == "'self'" or s.startswith("'nonce-") for s in d[name])
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    assert d["default-src"] == ["'self'"] and d["img-src"] == ["'self'", "data:", "blob:"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_a_template_page_nonces_nothing_it_does_not_write(client):
    """Pages without inline blocks carry no nonce; their handlers live in static files."""
    response = client.get("/notice/")
    assert "'nonce-" not in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+=", html)


def test_folium_pages_nonce_every_inline_block(client):
    for path in ("/", "/hotspots"):
        response = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        html = response.get_data(as_text=True)
        blocks = re.findall(r"<(script|style)\b([^>]*)>", html)
        inline = [attrs for _tag, attrs in blocks if "src=" not in attrs]
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_basemap_tile_hosts_are_allowed_images(database):
    for basemap, hosts in (("osm", ["https://tile.openstreetmap.org"]),
                           ("gaode", [f"https://webrd0{s}.is.autonavi.com" for s in "1234"]),
                           ("https://{s}.tiles.example.cn/{z}/{x}/{y}.png",
                            ["https://a.tiles.example.cn", "https://b.tiles.example.cn", "https://c.tiles.example.cn"]),
                           ("http://x.cn;script-src *", [])):
        app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database, "BASEMAP": basemap})
        response = app.test_client().get("/login")
        assert directives(response)["img-src"] == ["'self'", "data:", "blob:"] + hosts, basemap
        app.extensions["gridmap_engine"].dispose()


def test_personal_answers_are_not_stored(app, client, engine, leader):
    compound_id, lon, lat = q(engine, "SELECT c.id, ST_X(p), ST_Y(p) FROM compound c, ST_PointOnSurface(c.geom) p "
                                      "ORDER BY c.id LIMIT 1")[0]
    anonymous = client.get("/api/layers/compounds.geojson")
    assert anonymous.headers["Cache-Control"] == "no-cache" and anonymous.headers["ETag"]
    login(client, leader)
    personal = ("/api/my-area", f"/api/compounds/{compound_id}", f"/api/lookup?lon={lon}&lat={lat}",
                f"/api/layers/buildings.geojson?bbox={lon - .001},{lat - .001},{lon + .001},{lat + .001}",
                "/roster", "/", "/ogc/collections/issues/items")
    for path in personal:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path
        assert "ETag" not in response.headers, path
    # what never asks who is looking, or never carries personal data, keeps its caching
    assert "no-store" not in client.get("/open311/v2/requests.json").headers.get("Cache-Control", "")
    for path, cache in (("/api/layers/compounds.geojson", "no-cache"), ("/tiles/compounds/15/26693/13023.pbf",
                                                                        "public, max-age=60"),
                        ("/api/search?q=xpmy", "public, max-age=60")):
        response = client.get(path)
        assert response.headers["Cache-Control"] == cache, path


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://gridmap.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # a proxy's word is not taken unless the app is told it sits behind one
    forwarded = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forwarded.headers


def test_hsts_behind_a_trusted_proxy(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database, "FORWARDED_PROXIES": 1})
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/healthz", headers={"X-Forwarded-Proto": "http"}).headers
    app.extensions["gridmap_engine"].dispose()
