"""Source coordinate systems of imported data: EPSG codes, GCJ-02, and China's extent.

GCJ-02 (the offset used by AMap/Gaode and Tencent) is not an EPSG CRS, so PROJ and PostGIS
cannot transform it; the forward transform below is the widely published one, and the
inverse has no closed form, so it is found by fixed-point iteration.
All functions take and return longitude first, latitude second, as numpy arrays.
"""
import numpy as np
import pyproj
import shapely

GCJ02 = "gcj02"

# Generous lon/lat extent of China, used to tell lon/lat from projected metres and to catch
# a wrong CRS or swapped axes.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
# Outside this box the published algorithm leaves coordinates unshifted.
_GCJ_LON = (72.004, 137.8347)
_GCJ_LAT = (0.8293, 55.8271)

INVERSE_TOLERANCE = 1e-8  # degrees, about 1 mm
_MAX_ITERATIONS = 30


def parse_crs(text):
    """Normalise a user's ``--crs`` value.

    Parameters
    ----------
    text : str or int or None
        ``"gcj02"`` (any case), an EPSG code (``4547``, ``"EPSG:4490"``), or None.

    Returns
    -------
    str or None
        ``GCJ02``, ``"EPSG:<code>"`` or None.

    Raises
    ------
    ValueError
        When the value is neither gcj02 nor an EPSG code that PROJ knows.
    """
    if text is None:
        return None
    value = str(text).strip()
    if value.lower().replace("-", "") == GCJ02:
        return GCJ02
    code = value.upper().removeprefix("EPSG:")
    if not code.isdigit():
        raise ValueError(f"not an EPSG code or gcj02: {text!r}")
    try:
        pyproj.CRS.from_epsg(int(code))
    except pyproj.exceptions.CRSError:
        raise ValueError(f"unknown EPSG code: {code}") from None
    return f"EPSG:{int(code)}"


def _offset_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon, lat):
    """The GCJ-02 forward transform.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude; points outside China are returned unchanged.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = _offset_lat(x, y) * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = _offset_lon(x, y) * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = ((lon >= _GCJ_LON[0]) & (lon <= _GCJ_LON[1])
              & (lat >= _GCJ_LAT[0]) & (lat <= _GCJ_LAT[1]))
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def gcj02_to_wgs84(lon, lat):
    """The inverse of :func:`wgs84_to_gcj02`, by fixed-point iteration.

    The offset changes slowly with position, so correcting the guess by the forward
    transform's error converges in a handful of steps.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, within ``INVERSE_TOLERANCE`` degrees of the exact
        inverse (forward-transforming them gives back the input to that tolerance).
    """
    gcj_lon = np.asarray(lon, dtype=float)
    gcj_lat = np.asarray(lat, dtype=float)
    wgs_lon, wgs_lat = gcj_lon.copy(), gcj_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fwd_lon, fwd_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = fwd_lon - gcj_lon, fwd_lat - gcj_lat
        wgs_lon, wgs_lat = wgs_lon - err_lon, wgs_lat - err_lat
        if max(np.max(np.abs(err_lon), initial=0.0),
               np.max(np.abs(err_lat), initial=0.0)) < INVERSE_TOLERANCE:
            break
    return wgs_lon, wgs_lat


def gcj02_geometries_to_wgs84(geometries):
    """Convert shapely geometries drawn in GCJ-02 lon/lat to WGS84, vertex by vertex."""
    return shapely.transform(
        geometries, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))


def in_china(lon, lat):
    """True where a lon/lat point lies in China's extent."""
    lon, lat = np.asarray(lon), np.asarray(lat)
    return ((lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1])
            & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1]))


def looks_swapped(x, y):
    """True where (x, y) is outside China but (y, x) is inside: latitude and longitude swapped."""
    return ~in_china(x, y) & in_china(y, x)
