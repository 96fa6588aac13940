"""The viewer's area as a SQL predicate: personal data is shown in full only where it holds.

Queries take the parameters :scope_all, :scope_grids and :scope_communities (from
``webmap.viewer.Viewer.scope_params``); the public passes false and two empty lists.
"""
from layers import db

PUBLIC = {"scope_all": False, "scope_grids": [], "scope_communities": []}


def in_scope(community, grid):
    """SQL that is true when a row with these community and grid columns is in scope."""
    return (f"(:scope_all OR {community} = ANY(CAST(:scope_communities AS int[]))"
            f" OR {grid} = ANY(CAST(:scope_grids AS int[])))")


# The extent of each level of area (``webmap.viewer.Viewer.extent``): the envelopes of a few
# rows by primary key, or of the districts for the whole installation.
_EXTENT = {
    "city": "SELECT ST_Extent(geom) FROM district",
    **{level: f"SELECT ST_Extent(geom) FROM {level} WHERE id = ANY(CAST(:ids AS int[]))"
       for level in ("district", "subdistrict", "community", "grid")},
}


def bounds(level, ids=None):
    """[[south, west], [north, east]] of an extent ``(level, ids)``, as Leaflet takes it; None
    when it holds no geometry (an empty installation)."""
    box = db.scalar(f"SELECT ARRAY[ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e)]"
                    f" FROM ({_EXTENT[level]}) x(e)", {"ids": list(ids or ())})
    return None if box is None or box[0] is None else [box[:2], box[2:]]
