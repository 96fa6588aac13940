"""Hotspot statistics: points binned into H3 cells and the Getis-Ord Gi* z-score per cell.

Pure numpy/scipy: no Flask, no database. The caller gives points (or cell ids and counts)
and the study area's cells; zero-count cells of the area take part, so that "hot" means
"more than the area around it", not "has any issues at all".

Gi* is computed in closed form (Getis & Ord 1992; Ord & Getis 1995) with binary weights:
a cell's neighbourhood is the cell itself and its ring of six (``grid_disk(cell, 1)``),
restricted to the study area.
"""
from dataclasses import dataclass
from itertools import repeat

import h3
import h3.api.numpy_int as h3n
import numpy as np
from scipy import sparse
from scipy.stats import norm

# Street scale: resolution 7 cells are ~5 km² (half the subdistrict), 10 are ~0.015 km².
RESOLUTIONS = range(7, 11)
DEFAULT_RESOLUTION = 9

# (two-sided p below, confidence) from the strictest; the class is e.g. "hot-99".
LEVELS = ((0.01, "99"), (0.05, "95"), (0.10, "90"))
NOT_SIGNIFICANT = "ns"
CLASSES = ("hot-99", "hot-95", "hot-90", NOT_SIGNIFICANT, "cold-90", "cold-95", "cold-99")


@dataclass(frozen=True)
class GiStar:
    """Gi* of every cell of a study area, in the order of ``cells`` (ascending ids).

    Attributes
    ----------
    cells : numpy.ndarray of uint64
        H3 cell ids (integer form).
    counts : numpy.ndarray of int64
        Points per cell.
    z : numpy.ndarray of float64
        The Gi* z-score; 0 where it is undefined (no variation, or the neighbourhood is the
        whole area).
    p : numpy.ndarray of float64
        Two-sided p-value of ``z`` under the normal distribution.
    classes : numpy.ndarray of str
        One of ``CLASSES``.
    """
    cells: np.ndarray
    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    classes: np.ndarray


def point_cells(lon, lat, resolution):
    """The H3 cell of every point.

    h3-py 4 has no vectorised ``latlng_to_cell``; the per-point call of its numpy-int API
    costs about half a microsecond, so a million points take about half a second.

    Parameters
    ----------
    lon, lat : array_like of float
        WGS84 degrees.
    resolution : int

    Returns
    -------
    numpy.ndarray of uint64
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return np.fromiter(map(h3n.latlng_to_cell, lat.tolist(), lon.tolist(), repeat(resolution, lat.size)),
                       dtype=np.uint64, count=lat.size)


def bin_points(lon, lat, resolution):
    """Points counted per H3 cell.

    Returns
    -------
    cells : numpy.ndarray of uint64
        The occupied cells, ascending.
    counts : numpy.ndarray of int64
    """
    cells, counts = np.unique(point_cells(lon, lat, resolution), return_counts=True)
    return cells, counts.astype(np.int64)


def area_cells(geo, resolution):
    """The cells whose centres lie in a polygon: the study area.

    Parameters
    ----------
    geo : dict or object with ``__geo_interface__``
        A (Multi)Polygon in WGS84 lon/lat (GeoJSON order).
    resolution : int

    Returns
    -------
    numpy.ndarray of uint64, ascending
    """
    return np.unique(np.asarray(h3n.geo_to_cells(geo, resolution), dtype=np.uint64))


def neighbourhoods(cells):
    """Binary Gi* weights: each cell with itself and its k=1 ring, within ``cells``.

    Parameters
    ----------
    cells : numpy.ndarray of uint64, ascending and unique

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n × n``, 1 where column j is in row i's neighbourhood (the diagonal included).
    """
    disks = [h3n.grid_disk(c, 1) for c in cells.tolist()]
    sizes = np.fromiter(map(len, disks), dtype=np.int64, count=len(disks))
    rows = np.repeat(np.arange(cells.size), sizes)
    others = np.concatenate(disks).astype(np.uint64) if disks else np.empty(0, np.uint64)
    cols = np.searchsorted(cells, others)
    inside = cols < cells.size
    inside[inside] = cells[cols[inside]] == others[inside]
    n = cells.size
    return sparse.csr_matrix((np.ones(inside.sum()), (rows[inside], cols[inside])), shape=(n, n))


def gi_star(cells, counts):
    """Getis-Ord Gi* of counts over a study area.

    For cell i with neighbourhood weights w_ij (1 for the cell itself and its ring, else 0),
    n cells, mean x̄ and standard deviation S = sqrt(Σx²/n − x̄²)::

        Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1))),   W_i = Σ_j w_ij

    (binary weights make Σ_j w_ij² equal to W_i).

    Parameters
    ----------
    cells : array_like of uint64
        Every cell of the study area, zero-count cells included; unique.
    counts : array_like of int
        Points per cell, aligned with ``cells``.

    Returns
    -------
    GiStar
        Sorted by cell id.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    counts = np.asarray(counts, dtype=np.int64)
    order = np.argsort(cells)
    cells, counts = cells[order], counts[order]
    if np.unique(cells).size != cells.size:
        raise ValueError("cells must be unique")
    n = cells.size
    x = counts.astype(float)
    z = np.zeros(n)
    if n > 1:
        weights = neighbourhoods(cells)
        w = np.asarray(weights.sum(axis=1)).ravel()
        lag = weights @ x
        mean = x.mean()
        spread = x.std() * np.sqrt((n * w - w * w) / (n - 1))  # std: population, ddof=0
        defined = spread > 0
        z[defined] = (lag[defined] - mean * w[defined]) / spread[defined]
    p = 2 * norm.sf(np.abs(z))
    return GiStar(cells, counts, z, p, classify(z, p))


def classify(z, p):
    """Hot/cold at 99, 95 or 90 % confidence (two-sided ``p``), else not significant.

    Returns
    -------
    numpy.ndarray of str
        ``hot-99`` … ``cold-99`` or ``ns``.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    classes = np.full(z.shape, NOT_SIGNIFICANT, dtype=object)
    for limit, confidence in reversed(LEVELS):  # the strictest level written last wins
        significant = p < limit
        classes[significant & (z > 0)] = f"hot-{confidence}"
        classes[significant & (z < 0)] = f"cold-{confidence}"
    return classes


def hotspots(lon, lat, resolution, area):
    """Bin points and compute Gi* over the study area ``area`` (cells, from ``area_cells``).

    A cell holding points but lying outside ``area`` (a point near the edge whose cell's
    centre is outside the polygon) joins the study area.

    Returns
    -------
    GiStar
    """
    occupied, occupied_counts = bin_points(lon, lat, resolution)
    cells = np.union1d(np.asarray(area, dtype=np.uint64), occupied)
    counts = np.zeros(cells.size, dtype=np.int64)
    counts[np.searchsorted(cells, occupied)] = occupied_counts
    return gi_star(cells, counts)


def cell_polygon(cell):
    """The boundary of ``cell`` as a closed GeoJSON ring of [lon, lat]."""
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3n.cell_to_boundary(cell)]
    return ring + ring[:1]


def cell_name(cell):
    """The usual hexadecimal name of an integer cell id."""
    return h3.int_to_str(int(cell))
