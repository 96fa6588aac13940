"""Hotspot statistics: issues counted per square cell of a metric grid, and the Getis-Ord Gi*
z-score per cell.

Pure numpy/scipy/shapely: no Flask, no database. The grid (``Grid``) is laid over the study
area's bounds in local metres (the WGS84 lengths of a degree at the area's middle latitude:
across a city the cells stay square to well under 1 %), so that PostGIS can count a million
issues into cells with two ``floor()`` each (``layers.hotspots``) and only the cells travel.
Zero-count cells of the study area take part, so that "hot" means "more than the area around
it", not "has any issues at all".

Gi* is computed in closed form (Getis & Ord 1992; Ord & Getis 1995) with binary weights:
a cell's neighbourhood is the cell itself and the eight cells around it (queen contiguity),
restricted to the study area.
"""
import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.stats import norm

# Cell sizes (metres) a page may ask for; the default suits a subdistrict's streets.
SIZES = (100, 200, 300, 500, 1000, 2000, 5000)
DEFAULT_SIZE = 200
# At most this many cells over the area's bounds: what a page can draw (a cell is ~200 bytes).
MAX_CELLS = 2500

# (two-sided p below, confidence) from the strictest; the class is e.g. "hot-99".
LEVELS = ((0.01, "99"), (0.05, "95"), (0.10, "90"))
NOT_SIGNIFICANT = "ns"
CLASSES = ("hot-99", "hot-95", "hot-90", NOT_SIGNIFICANT, "cold-90", "cold-95", "cold-99")

# A cell's key packs its column and row (each within ±2^19 of the origin) into one integer,
# so that sorting, searching and the neighbour offsets are plain integer arithmetic.
_BITS = 20
_HALF = 1 << (_BITS - 1)
NEIGHBOUR_OFFSETS = np.array([dc * (1 << _BITS) + dr for dc in (-1, 0, 1) for dr in (-1, 0, 1)], dtype=np.int64)


class GridTooFine(ValueError):
    """The cell size asked for would give more cells than a page can draw."""

    def __init__(self, smallest):
        super().__init__(f"the smallest cell size for this area is {smallest} m")
        self.smallest = smallest


def metres_per_degree(lat):
    """(east, north) metres per degree of longitude and of latitude at ``lat`` (WGS84)."""
    phi = math.radians(lat)
    east = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    north = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    return east, north


@dataclass(frozen=True)
class Grid:
    """Square cells of ``size`` metres, column 0 and row 0 starting at (``lon0``, ``lat0``);
    ``kx``, ``ky`` are metres per degree east and north."""
    lon0: float
    lat0: float
    size: int
    kx: float
    ky: float

    @classmethod
    def over(cls, bounds, size):
        """The grid of ``size`` metres over ``bounds`` (minx, miny, maxx, maxy in degrees)."""
        kx, ky = metres_per_degree((bounds[1] + bounds[3]) / 2)
        return cls(float(bounds[0]), float(bounds[1]), int(size), kx, ky)

    def index(self, lon, lat):
        """(column, row) of the cells holding points (arrays of int64)."""
        col = np.floor((np.asarray(lon, dtype=float) - self.lon0) * self.kx / self.size)
        row = np.floor((np.asarray(lat, dtype=float) - self.lat0) * self.ky / self.size)
        return col.astype(np.int64), row.astype(np.int64)

    def corner(self, col, row):
        """(lon, lat) of the south-west corner of cells."""
        return (self.lon0 + np.asarray(col) * self.size / self.kx,
                self.lat0 + np.asarray(row) * self.size / self.ky)

    def polygon(self, key):
        """The boundary of the cell ``key`` as a closed GeoJSON ring of [lon, lat]."""
        col, row = unpack(key)
        (x0, x1), (y0, y1) = self.corner([col, col + 1], [row, row + 1])
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return [[round(float(x), 6), round(float(y), 6)] for x, y in ring]

    def params(self):
        """The grid as SQL parameters, for ``floor((x - :lon0) * :kx / :size)``."""
        return {"lon0": self.lon0, "lat0": self.lat0, "size": self.size, "kx": self.kx, "ky": self.ky}


def cells_over(bounds, size):
    """How many cells of ``size`` metres cover ``bounds``."""
    kx, ky = metres_per_degree((bounds[1] + bounds[3]) / 2)
    return (max(1, math.ceil((bounds[2] - bounds[0]) * kx / size))
            * max(1, math.ceil((bounds[3] - bounds[1]) * ky / size)))


def choose_size(bounds, size=None):
    """The cell size for an area with these bounds: ``size`` when given (``GridTooFine``
    when it gives more than ``MAX_CELLS``), else ``DEFAULT_SIZE`` or the smallest of
    ``SIZES`` coarse enough."""
    smallest = next((s for s in SIZES if cells_over(bounds, s) <= MAX_CELLS), SIZES[-1])
    if size is None:
        return max(DEFAULT_SIZE, smallest)
    if size < smallest:
        raise GridTooFine(smallest)
    return size


def pack(col, row):
    """Cell keys of (column, row) arrays."""
    return ((np.asarray(col, dtype=np.int64) + _HALF) << _BITS) | (np.asarray(row, dtype=np.int64) + _HALF)


def unpack(key):
    key = np.asarray(key, dtype=np.int64)
    return (key >> _BITS) - _HALF, (key & ((1 << _BITS) - 1)) - _HALF


def cell_name(key):
    col, row = unpack(key)
    return f"{int(col)},{int(row)}"


def bin_points(lon, lat, grid):
    """Points counted per cell: the occupied cell keys (ascending) and their counts."""
    cells, counts = np.unique(pack(*grid.index(lon, lat)), return_counts=True)
    return cells, counts.astype(np.int64)


def area_cells(geo, grid, bounds):
    """The cells over ``bounds`` whose centres lie in the polygon ``geo`` (a GeoJSON
    geometry dict or a shapely geometry): the study area, as sorted keys."""
    polygon = shapely.geometry.shape(geo) if isinstance(geo, dict) else geo
    cols, rows = grid.index([bounds[2]], [bounds[3]])
    col, row = np.meshgrid(np.arange(cols[0] + 1), np.arange(rows[0] + 1), indexing="ij")
    x, y = grid.corner(col.ravel() + 0.5, row.ravel() + 0.5)
    inside = shapely.contains_xy(polygon, x, y)
    return np.sort(pack(col.ravel()[inside], row.ravel()[inside]))


@dataclass(frozen=True)
class GiStar:
    """Gi* of every cell of a study area, in the order of ``cells`` (ascending keys).

    Attributes
    ----------
    cells : numpy.ndarray of int64
        Cell keys (``pack``).
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


def neighbourhoods(cells):
    """Binary Gi* weights: each cell with itself and the eight around it, within ``cells``.

    Parameters
    ----------
    cells : numpy.ndarray of int64, ascending and unique

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n × n``, 1 where column j is in row i's neighbourhood (the diagonal included).
    """
    n = cells.size
    others = (cells[:, None] + NEIGHBOUR_OFFSETS[None, :]).ravel()
    rows = np.repeat(np.arange(n), NEIGHBOUR_OFFSETS.size)
    cols = np.searchsorted(cells, others)
    inside = cols < n
    inside[inside] = cells[cols[inside]] == others[inside]
    return sparse.csr_matrix((np.ones(inside.sum()), (rows[inside], cols[inside])), shape=(n, n))


def gi_star(cells, counts):
    """Getis-Ord Gi* of counts over a study area.

    For cell i with neighbourhood weights w_ij (1 for the cell itself and the eight around
    it, else 0), n cells, mean x̄ and standard deviation S = sqrt(Σx²/n − x̄²)::

        Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1))),   W_i = Σ_j w_ij

    (binary weights make Σ_j w_ij² equal to W_i).

    Parameters
    ----------
    cells : array_like of int64
        Every cell of the study area, zero-count cells included; unique.
    counts : array_like of int
        Points per cell, aligned with ``cells``.

    Returns
    -------
    GiStar
        Sorted by cell key.
    """
    cells = np.asarray(cells, dtype=np.int64)
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


def hotspots(occupied, occupied_counts, area):
    """Gi* over the study area ``area`` (keys, from ``area_cells``) of the counts of the
    ``occupied`` cells (keys, from PostGIS or ``bin_points``).

    An occupied cell outside ``area`` (a point near the edge whose cell's centre is outside
    the polygon) joins the study area.

    Returns
    -------
    GiStar
    """
    occupied = np.asarray(occupied, dtype=np.int64)
    cells = np.union1d(np.asarray(area, dtype=np.int64), occupied)
    counts = np.zeros(cells.size, dtype=np.int64)
    np.add.at(counts, np.searchsorted(cells, occupied), np.asarray(occupied_counts, dtype=np.int64))
    return gi_star(cells, counts)
