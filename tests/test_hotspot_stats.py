"""Gi* hotspot statistics (geo/hotspot.py): a hand-computed example, a planted cluster found,
uniform noise left alone, and the binning of points into the study area."""
import math

import h3.api.numpy_int as h3n
import numpy as np
import pytest
from scipy.stats import norm

from geo import hotspot

CENTRE = h3n.latlng_to_cell(34.81, 113.29, 9)  # inside 中心路街道


def disk(k, centre=CENTRE):
    return np.sort(np.asarray(h3n.grid_disk(centre, k), dtype=np.uint64))


def uniform_points(rng, area, n):
    """``n`` points drawn uniformly over the bounding box of ``area``, kept when in ``area``."""
    corners = np.array([ll for c in area.tolist() for ll in h3n.cell_to_boundary(c)])
    lat = rng.uniform(corners[:, 0].min(), corners[:, 0].max(), n)
    lon = rng.uniform(corners[:, 1].min(), corners[:, 1].max(), n)
    keep = np.isin(hotspot.point_cells(lon, lat, 9), area)
    return lon[keep], lat[keep]


def test_hand_computed_example():
    """19 cells (a cell and two rings), 10 points in the centre, none elsewhere.

    n = 19, x̄ = 10/19, S² = 100/19 − (10/19)² = 1800/361.
    The centre and the first ring see the centre and have 7 neighbours (W = 7):
        Gi* = (10 − 7·10/19) / (√1800/19 · √((19·7 − 49)/18)) = 120/√8400 ≈ 1.309
    On the outer ring, the six corners have 4 neighbours in the area, the six edges 5:
        Gi* = −(4·10/19) / (√1800/19 · √((76 − 16)/18)) = −40/√6000 ≈ −0.516
        Gi* = −(5·10/19) / (√1800/19 · √((95 − 25)/18)) = −50/√7000 ≈ −0.598
    """
    cells = disk(2)
    counts = np.where(cells == CENTRE, 10, 0)
    result = hotspot.gi_star(cells, counts)
    near = np.isin(result.cells, disk(1))
    assert result.z[near] == pytest.approx([120 / math.sqrt(8400)] * 7)
    assert sorted(result.z[~near]) == pytest.approx([-50 / math.sqrt(7000)] * 6 + [-40 / math.sqrt(6000)] * 6)
    assert result.p[result.cells == CENTRE][0] == pytest.approx(2 * norm.sf(120 / math.sqrt(8400)))
    assert result.p[result.cells == CENTRE][0] == pytest.approx(0.1904, abs=1e-4)
    assert set(result.classes) == {"ns"}


def test_classes_follow_the_confidence_levels():
    z = np.array([3.0, 2.2, 1.7, 1.0, -1.7, -2.2, -3.0])
    p = 2 * norm.sf(np.abs(z))
    assert list(hotspot.classify(z, p)) == ["hot-99", "hot-95", "hot-90", "ns", "cold-90", "cold-95", "cold-99"]


def test_no_variation_is_not_significant():
    cells = disk(3)
    for counts in (np.zeros(cells.size), np.full(cells.size, 4)):
        result = hotspot.gi_star(cells, counts)
        assert np.all(result.z == 0) and np.all(result.p == 1) and set(result.classes) == {"ns"}


def test_a_planted_cluster_is_hot_99():
    rng = np.random.default_rng(7)
    area = disk(6)  # 127 cells
    lon, lat = uniform_points(rng, area, 2500)
    # 7 cells (a cell three rings out and its ring) get 40 more points each, near their centres.
    planted = disk(1, h3n.grid_ring(CENTRE, 3)[0])
    extra = np.array([h3n.cell_to_latlng(c) for c in planted.tolist() for _ in range(40)])
    extra += rng.uniform(-0.0006, 0.0006, extra.shape)
    assert set(hotspot.point_cells(extra[:, 1], extra[:, 0], 9)) == set(planted)
    result = hotspot.hotspots(np.r_[lon, extra[:, 1]], np.r_[lat, extra[:, 0]], 9, area)
    assert result.cells.size == area.size and result.counts.sum() == lon.size + len(extra)
    assert set(result.classes[np.isin(result.cells, planted)]) == {"hot-99"}
    far = ~np.isin(result.cells, disk(2, h3n.grid_ring(CENTRE, 3)[0]))
    assert not any(c.startswith("hot") for c in result.classes[far])


def test_uniform_noise_has_no_significant_cell():
    rng = np.random.default_rng(0)
    area = disk(6)
    lon, lat = uniform_points(rng, area, 2500)
    result = hotspot.hotspots(lon, lat, 9, area)
    # By chance about 1 % of the 127 cells reach 99 % (10 % reach 90 %); this seed gives 0 (and 5).
    at_99 = sum(c.endswith("-99") for c in result.classes)
    assert at_99 <= 1 and at_99 == 0
    assert sum(c != "ns" for c in result.classes) <= 0.10 * area.size


def test_zero_cells_of_the_area_take_part_and_stray_cells_join():
    area = disk(2)
    outside = h3n.grid_ring(CENTRE, 4)[0]
    lat, lon = h3n.cell_to_latlng(outside)
    result = hotspot.hotspots([lon, lon], [lat, lat], 9, area)
    assert result.cells.size == area.size + 1
    assert result.counts[result.cells == outside][0] == 2 and result.counts.sum() == 2


def test_area_cells_cover_a_polygon():
    square = {"type": "Polygon", "coordinates": [[(113.28, 34.80), (113.30, 34.80), (113.30, 34.82),
                                                  (113.28, 34.82), (113.28, 34.80)]]}
    cells = hotspot.area_cells(square, 9)
    # about 4.1 km² of 0.105 km² cells
    assert 30 <= cells.size <= 50 and np.all(np.diff(cells.astype(np.int64)) > 0)
    assert hotspot.cell_name(cells[0]).startswith("89")
    ring = hotspot.cell_polygon(cells[0])
    assert len(ring) == 7 and ring[0] == ring[-1]
