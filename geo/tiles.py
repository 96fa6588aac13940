"""Web Mercator tile math for the XYZ scheme (OSM, Leaflet, MapLibre, the MVT spec): which
tiles exist and which WGS84 box a tile covers. No Flask, no database."""
import math

from geo.bbox import BBox

MAX_ZOOM = 22


def exists(z, x, y):
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z


def _lon(u):
    return u * 360.0 - 180.0


def _lat(v):
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * v))))


def bounds(z, x, y, margin=0.0):
    """The WGS84 box of tile z/x/y, grown by ``margin`` (a fraction of the tile's width) on
    every side and cut at the edges of the world, as ``ST_TileEnvelope(z, x, y, margin =>
    margin)`` transformed to EPSG:4326."""
    n = 2 ** z

    def clamp(t):
        return min(max(t, 0.0), 1.0)

    west, east = clamp((x - margin) / n), clamp((x + 1 + margin) / n)
    north, south = clamp((y - margin) / n), clamp((y + 1 + margin) / n)
    return BBox(_lon(west), _lat(south), _lon(east), _lat(north))

