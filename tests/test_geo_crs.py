"""geo.crs: the GCJ-02 transform and its inverse, CRS parsing, China's extent."""
import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo import crs

# Published test vectors of the eviltransform libraries: (WGS84 lat, lon) -> (GCJ-02 lat, lon).
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),    # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),    # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),    # Beijing
]
SHANGJIE = (113.29, 34.81)


@pytest.mark.parametrize("wgs,gcj", VECTORS)
def test_forward_matches_published_vectors(wgs, gcj):
    lon, lat = crs.wgs84_to_gcj02(wgs[1], wgs[0])
    assert lon == pytest.approx(gcj[1], abs=1e-12)
    assert lat == pytest.approx(gcj[0], abs=1e-12)


@pytest.mark.parametrize("wgs,gcj", VECTORS)
def test_inverse_recovers_published_vectors(wgs, gcj):
    lon, lat = crs.gcj02_to_wgs84(gcj[1], gcj[0])
    assert abs(lon - wgs[1]) < 1e-7
    assert abs(lat - wgs[0]) < 1e-7


def test_inverse_round_trips_a_grid_over_china_vectorised():
    lon, lat = np.meshgrid(np.linspace(74, 135, 40), np.linspace(4, 53, 40))
    back_lon, back_lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon.ravel(), lat.ravel()))
    assert back_lon.shape == (1600,)
    assert np.max(np.abs(back_lon - lon.ravel())) < 1e-7
    assert np.max(np.abs(back_lat - lat.ravel())) < 1e-7


def test_offset_at_shangjie_is_about_590_metres():
    # At 上街区 GCJ-02 moves a point about 0.0064° east and 0.0009° south.
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(*SHANGJIE)
    _, _, metres = Geod(ellps="WGS84").inv(SHANGJIE[0], SHANGJIE[1], gcj_lon, gcj_lat)
    assert 570 < metres < 610


def test_outside_china_is_unchanged():
    lon, lat = crs.wgs84_to_gcj02([-104.9903, 2.35], [39.7392, 48.85])
    assert lon.tolist() == [-104.9903, 2.35]
    assert lat.tolist() == [39.7392, 48.85]


def test_geometries_are_converted_vertex_by_vertex():
    gcj = shapely.box(*crs.wgs84_to_gcj02(113.28, 34.80), *crs.wgs84_to_gcj02(113.281, 34.801))
    wgs = crs.gcj02_geometries_to_wgs84(np.array([gcj, None]))
    assert wgs[1] is None
    assert np.allclose(wgs[0].bounds, (113.28, 34.80, 113.281, 34.801), atol=1e-7)


@pytest.mark.parametrize("text,expected", [
    (None, None), ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("4547", "EPSG:4547"),
    (4490, "EPSG:4490"), ("epsg:4326", "EPSG:4326"), (" EPSG:3857 ", "EPSG:3857"),
])
def test_parse_crs(text, expected):
    assert crs.parse_crs(text) == expected


@pytest.mark.parametrize("text", ["wgs84", "EPSG:999999", "bd09", ""])
def test_parse_crs_refuses_garbage(text):
    with pytest.raises(ValueError):
        crs.parse_crs(text)


def test_china_extent_and_swapped_axes():
    x = np.array([113.29, 34.81, 500000.0, 2.35])
    y = np.array([34.81, 113.29, 3850000.0, 48.85])
    assert crs.in_china(x, y).tolist() == [True, False, False, False]
    assert crs.looks_swapped(x, y).tolist() == [False, True, False, False]
