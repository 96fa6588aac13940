"""Gi* hotspot statistics (geo/hotspot.py): a hand-computed example, a planted cluster found,
uniform noise left alone, the grid's cells and sizes, and the study area."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from geo import hotspot

SUBDISTRICT = (113.27, 34.79, 113.31, 34.83)  # 中心路街道's bounds, about 3.7 × 4.4 km
GRID = hotspot.Grid.over(SUBDISTRICT, 300)


def block(k, centre=(20, 20)):
    """The (2k + 1)² cells around ``centre`` (column, row), as sorted keys."""
    col, row = np.meshgrid(np.arange(centre[0] - k, centre[0] + k + 1), np.arange(centre[1] - k, centre[1] + k + 1))
    return np.sort(hotspot.pack(col.ravel(), row.ravel()))


def uniform_points(rng, cells, n):
    """``n`` points drawn uniformly over ``cells`` (a square block of GRID)."""
    col, row = hotspot.unpack(cells)
    (x0, x1), (y0, y1) = GRID.corner([col.min(), col.max() + 1], [row.min(), row.max() + 1])
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


def test_hand_computed_example():
    """9 cells (a cell and its ring of eight), 9 points in the centre, none elsewhere.

    n = 9, x̄ = 1, S² = 81/9 − 1 = 8.
    The centre sees all 9 cells (W = 9 = n): undefined, so 0.
    An edge cell sees 6 cells, the centre among them (W = 6):
        Gi* = (9 − 6) / (√8 · √((9·6 − 36)/8)) = 3/√18 ≈ 0.707
    A corner cell sees 4 (W = 4):
        Gi* = (9 − 4) / (√8 · √((36 − 16)/8)) = 5/√20 ≈ 1.118
    """
    cells = block(1)
    centre = hotspot.pack(20, 20)
    counts = np.where(cells == centre, 9, 0)
    result = hotspot.gi_star(cells, counts)
    col, row = hotspot.unpack(result.cells)
    corner = (col != 20) & (row != 20)
    edge = (col == 20) ^ (row == 20)
    assert result.z[result.cells == centre][0] == 0
    assert result.z[edge] == pytest.approx([3 / math.sqrt(18)] * 4)
    assert result.z[corner] == pytest.approx([5 / math.sqrt(20)] * 4)
    assert result.p[corner][0] == pytest.approx(2 * norm.sf(5 / math.sqrt(20)))
    assert set(result.classes) == {"ns"}


def test_classes_follow_the_confidence_levels():
    z = np.array([3.0, 2.2, 1.7, 1.0, -1.7, -2.2, -3.0])
    p = 2 * norm.sf(np.abs(z))
    assert list(hotspot.classify(z, p)) == ["hot-99", "hot-95", "hot-90", "ns", "cold-90", "cold-95", "cold-99"]


def test_no_variation_is_not_significant():
    cells = block(3)
    for counts in (np.zeros(cells.size), np.full(cells.size, 4)):
        result = hotspot.gi_star(cells, counts)
        assert np.all(result.z == 0) and np.all(result.p == 1) and set(result.classes) == {"ns"}


def test_a_planted_cluster_is_hot_99():
    rng = np.random.default_rng(7)
    area = block(6)  # 169 cells
    lon, lat = uniform_points(rng, area, 3000)
    # The 9 cells around (23, 18) get 30 more points each, inside each cell.
    planted = block(1, (23, 18))
    col, row = hotspot.unpack(np.repeat(planted, 30))
    x, y = GRID.corner(col + rng.uniform(0.05, 0.95, col.size), row + rng.uniform(0.05, 0.95, row.size))
    occupied, counts = hotspot.bin_points(np.r_[lon, x], np.r_[lat, y], GRID)
    result = hotspot.hotspots(occupied, counts, area)
    assert result.cells.size == area.size and result.counts.sum() == lon.size + x.size
    assert set(result.classes[np.isin(result.cells, planted)]) == {"hot-99"}
    far = ~np.isin(result.cells, block(2, (23, 18)))
    assert not any(c.startswith("hot") for c in result.classes[far])


def test_uniform_noise_has_no_significant_cell():
    """By chance about 1 % of the 169 cells reach 99 % and 10 % reach 90 %; neighbouring
    z-scores move together, so one draw varies a lot: five draws are judged together."""
    area = block(6)
    significant = []
    for seed in range(5):
        lon, lat = uniform_points(np.random.default_rng(seed), area, 3000)
        result = hotspot.hotspots(*hotspot.bin_points(lon, lat, GRID), area)
        assert sum(c.endswith("-99") for c in result.classes) <= 0.03 * area.size
        significant.append(sum(c != "ns" for c in result.classes))
    assert sum(significant) <= 0.10 * 5 * area.size


def test_zero_cells_of_the_area_take_part_and_stray_cells_join():
    area = block(2)
    outside = hotspot.pack(30, 30)
    result = hotspot.hotspots([outside, hotspot.pack(20, 20)], [2, 1], area)
    assert result.cells.size == area.size + 1
    assert result.counts[result.cells == outside][0] == 2 and result.counts.sum() == 3


def test_points_fall_in_the_cell_drawn_around_them():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(113.27, 113.31, 500), rng.uniform(34.79, 34.83, 500)
    keys = hotspot.pack(*GRID.index(lon, lat))
    for key, x, y in zip(keys[:50], lon, lat):
        ring = np.asarray(GRID.polygon(key))
        assert ring[0].tolist() == ring[-1].tolist() and len(ring) == 5
        assert ring[:, 0].min() - 1e-6 <= x <= ring[:, 0].max() + 1e-6
        assert ring[:, 1].min() - 1e-6 <= y <= ring[:, 1].max() + 1e-6
    # 300 m cells, in metres on the ground: about 300 m each way
    ring = np.asarray(GRID.polygon(keys[0]))
    east, north = hotspot.metres_per_degree(34.81)
    assert (ring[1, 0] - ring[0, 0]) * east == pytest.approx(300, abs=0.5)
    assert (ring[2, 1] - ring[1, 1]) * north == pytest.approx(300, abs=0.5)


def test_area_cells_cover_a_polygon():
    square = {"type": "Polygon", "coordinates": [[(113.28, 34.80), (113.30, 34.80), (113.30, 34.82),
                                                  (113.28, 34.82), (113.28, 34.80)]]}
    cells = hotspot.area_cells(square, GRID, SUBDISTRICT)
    # about 1.83 km × 2.22 km of 300 m cells: 6 × 7 or so
    assert 30 <= cells.size <= 56 and np.all(np.diff(cells) > 0)
    col, row = hotspot.unpack(cells)
    x, y = GRID.corner(col + 0.5, row + 0.5)
    assert np.all((113.28 < x) & (x < 113.30) & (34.80 < y) & (y < 34.82))


def test_the_cell_size_keeps_a_city_drawable():
    assert hotspot.choose_size(SUBDISTRICT) == hotspot.DEFAULT_SIZE
    assert hotspot.choose_size(SUBDISTRICT, 100) == 100
    city = (113.35, 34.70, 114.20, 35.10)  # about 78 × 44 km
    size = hotspot.choose_size(city)
    assert hotspot.cells_over(city, size) <= hotspot.MAX_CELLS < hotspot.cells_over(city, size // 2)
    with pytest.raises(hotspot.GridTooFine) as refused:
        hotspot.choose_size(city, 300)
    assert refused.value.smallest == size
