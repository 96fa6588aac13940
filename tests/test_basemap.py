"""Basemaps: offline by default; on a GCJ-02 (Gaode) basemap overlays are shifted when drawn
and clicks are shifted back before lookup."""
import json

import sqlalchemy as sa
from pyproj import Geod

from app import create_app
from geo.crs import wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")


def test_default_page_loads_no_tiles(client):
    html = client.get("/").get_data(as_text=True)
    assert "tileLayer" not in html and '"gcj02": false' in html


def test_gaode_page_draws_shifted_overlays(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database, "BASEMAP": "gaode"})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "autonavi.com" in html and '"gcj02": true' in html
    app.extensions["gridmap_engine"].dispose()


def test_intranet_xyz_template(database):
    template = "http://tiles.intranet.local/{z}/{x}/{y}.png"
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database, "BASEMAP": template})
    assert template in app.test_client().get("/").get_data(as_text=True)
    app.extensions["gridmap_engine"].dispose()


def test_layer_api_shifts_to_gcj02(client):
    plain = client.get("/api/layers/venues.geojson").get_json()["features"][0]
    shifted = client.get("/api/layers/venues.geojson?crs=gcj02").get_json()["features"][0]
    (lon, lat), (glon, glat) = plain["geometry"]["coordinates"], shifted["geometry"]["coordinates"]
    expected = wgs84_to_gcj02(lon, lat)
    assert abs(glon - expected[0]) < 2e-6 and abs(glat - expected[1]) < 2e-6
    _, _, metres = GEOD.inv(lon, lat, glon, glat)
    assert 300 < metres < 650


def test_a_click_on_gaode_finds_the_right_compound(client, engine):
    with engine.connect() as conn:
        compound, lon, lat = conn.execute(sa.text(
            "SELECT c.name, ST_X(p), ST_Y(p) FROM compound c, ST_PointOnSurface(c.geom) p "
            "WHERE c.name = '乐福国际小区'")).one()
    glon, glat = wgs84_to_gcj02(lon, lat)
    found = client.get(f"/api/lookup?lon={float(glon)}&lat={float(glat)}&crs=gcj02").get_json()
    assert found["compound"] == compound
    # the same click taken as WGS84 lands ~590 m off, in another place
    wrong = client.get(f"/api/lookup?lon={float(glon)}&lat={float(glat)}")
    assert wrong.status_code == 404 or json.loads(wrong.data).get("compound") != compound
