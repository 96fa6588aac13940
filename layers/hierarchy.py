"""The area tree above the compounds: the city (the whole installation), its districts, their
subdistricts and their communities.

An ``Area`` is one place of that tree, or, for a viewer whose area is several places, their
communities. Every figure and list of an area is limited to its communities in SQL
(``Area.where``): the communities of a district are a join, never a list built in Python.
"""
from dataclasses import dataclass

from layers import db

LEVELS = ("city", "district", "subdistrict", "community")
MINE = "mine"          # the viewer's own communities, when they are not one place of the tree
CHILD = {"city": "district", "district": "subdistrict", "subdistrict": "community"}

# The communities of an area (community_id), each with the child of the area it lies in
# (child_id): a district of the city, a subdistrict of a district, else the community itself.
COMMUNITIES = {
    "city": """SELECT m.id AS community_id, s.district_id AS child_id
                 FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id""",
    "district": """SELECT m.id AS community_id, m.subdistrict_id AS child_id
                     FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id
                    WHERE s.district_id = :area_id""",
    "subdistrict": """SELECT m.id AS community_id, m.id AS child_id
                        FROM community m WHERE m.subdistrict_id = :area_id""",
    "community": "SELECT m.id AS community_id, m.id AS child_id FROM community m WHERE m.id = :area_id",
    MINE: """SELECT m.id AS community_id, m.id AS child_id
               FROM community m WHERE m.id = ANY(CAST(:area_communities AS int[]))""",
}

# The children of an area (a community is its own child).
CHILDREN = {
    "city": "SELECT 'district' AS level, id, name, geom FROM district",
    "district": "SELECT 'subdistrict' AS level, id, name, geom FROM subdistrict WHERE district_id = :area_id",
    "subdistrict": "SELECT 'community' AS level, id, name, geom FROM community WHERE subdistrict_id = :area_id",
    "community": "SELECT 'community' AS level, id, name, geom FROM community WHERE id = :area_id",
    MINE: """SELECT 'community' AS level, id, name, geom FROM community
               WHERE id = ANY(CAST(:area_communities AS int[]))""",
}
CHILDREN_BOUNDS = """
    SELECT level, id, name,
           round(ST_XMin(geom)::numeric, 6) AS minx, round(ST_YMin(geom)::numeric, 6) AS miny,
           round(ST_XMax(geom)::numeric, 6) AS maxx, round(ST_YMax(geom)::numeric, 6) AS maxy
      FROM ({children}) c ORDER BY id"""

# The places above an area and the area itself, from the district down.
TRAIL = {
    "district": "SELECT d.id AS district_id, d.name AS district FROM district d WHERE d.id = :area_id",
    "subdistrict": """SELECT d.id AS district_id, d.name AS district, s.id AS subdistrict_id, s.name AS subdistrict
                        FROM subdistrict s JOIN district d ON d.id = s.district_id WHERE s.id = :area_id""",
    "community": """SELECT d.id AS district_id, d.name AS district, s.id AS subdistrict_id, s.name AS subdistrict,
                           m.id AS community_id, m.name AS community
                      FROM community m JOIN subdistrict s ON s.id = m.subdistrict_id
                      JOIN district d ON d.id = s.district_id WHERE m.id = :area_id""",
}

OUTLINE = {
    "city": "SELECT ST_Union(geom) FROM district",
    "district": "SELECT geom FROM district WHERE id = :area_id",
    "subdistrict": "SELECT geom FROM subdistrict WHERE id = :area_id",
    "community": "SELECT geom FROM community WHERE id = :area_id",
    MINE: "SELECT ST_Union(geom) FROM community WHERE id = ANY(CAST(:area_communities AS int[]))",
}


@dataclass(frozen=True)
class Area:
    """A place of the tree (``level`` and ``id``; the city has none), or the viewer's own
    ``communities`` (level ``mine``)."""
    level: str = "city"
    id: int | None = None
    communities: tuple = ()

    @property
    def params(self):
        return {"area_id": self.id, "area_communities": list(self.communities)}

    @property
    def key(self):
        """The ``?area=`` value that names this area (None for the viewer's own)."""
        if self.level == MINE:
            return None
        return self.level if self.id is None else f"{self.level}:{self.id}"

    def where(self, column):
        """SQL that is true when ``column`` (a community id) lies in the area; takes ``params``."""
        if self.level == "city":
            return "TRUE"
        if self.level == "community":
            return f"{column} = :area_id"
        if self.level == MINE:
            return f"{column} = ANY(CAST(:area_communities AS int[]))"
        return f"{column} IN (SELECT a.community_id FROM ({COMMUNITIES[self.level]}) a)"

    def communities_sql(self):
        """A SELECT of (community_id, child_id) for every community of the area."""
        return COMMUNITIES[self.level]


CITY = Area()


def community_ids(level, id=None):
    """The ids of the communities of a place of the tree (the city has no id), ascending."""
    area = Area(level, id)
    return [r["community_id"] for r in db.rows(
        f"SELECT community_id FROM ({area.communities_sql()}) a ORDER BY 1", area.params)]


def trail(area):
    """[(level, id, name)] of the places from the district down to ``area`` (empty for the
    city), or None when there is no such place."""
    if area.level not in TRAIL:
        return []
    found = db.rows(TRAIL[area.level], area.params)
    if not found:
        return None
    row = found[0]
    return [(level, row[f"{level}_id"], row[level]) for level in LEVELS[1:] if f"{level}_id" in row]


def children(area):
    """The children of ``area`` with their bounds (a community's is itself), in id order."""
    return [dict(r) for r in db.rows(CHILDREN_BOUNDS.format(children=CHILDREN[area.level]), area.params)]


def only_child(area):
    """The one child of a city or district that has exactly one, else None: an installation of
    one subdistrict opens on that subdistrict, not on a city of one bar."""
    if area.level not in ("city", "district"):
        return None
    found = db.rows(f"SELECT id FROM ({CHILDREN[area.level]}) c LIMIT 2", area.params)
    return Area(CHILD[area.level], found[0]["id"]) if len(found) == 1 else None


def outline(area):
    """The area's outline as a GeoJSON geometry (dict)."""
    return db.scalar(f"SELECT ST_AsGeoJSON(g, 6)::json FROM ({OUTLINE[area.level]}) x(g)", area.params)


def bounds(area):
    """(minx, miny, maxx, maxy) of the area."""
    return tuple(db.rows(f"SELECT ST_XMin(g) AS minx, ST_YMin(g) AS miny, ST_XMax(g) AS maxx, ST_YMax(g) AS maxy"
                         f" FROM ({OUTLINE[area.level]}) x(g)", area.params)[0].values())


def within(select_sql, area):
    """``select_sql`` (a layer with a ``geom`` column) kept to the features inside the area: a
    feature whose interior point lies in its outline. Takes ``area.params``."""
    if area.level == "city":
        return select_sql
    return (f"SELECT f.* FROM ({select_sql}) f, ({OUTLINE[area.level]}) o(g)"
            f" WHERE ST_Intersects(ST_PointOnSurface(f.geom), o.g)")


# The communities of a viewer's areas: every community of their districts and subdistricts,
# their communities, and the communities of their grids.
VIEWER_COMMUNITIES = """
    SELECT coalesce(array_agg(m.id ORDER BY m.id), '{}') FROM community m
     WHERE m.id = ANY(CAST(:communities AS int[]))
        OR m.subdistrict_id = ANY(CAST(:subdistricts AS int[]))
        OR m.subdistrict_id IN (SELECT id FROM subdistrict WHERE district_id = ANY(CAST(:districts AS int[])))
        OR m.id IN (SELECT community_id FROM grid WHERE id = ANY(CAST(:grids AS int[])))"""


def viewer_area(*, districts=(), subdistricts=(), communities=(), grids=()):
    """The area of a viewer whose areas are these districts, subdistricts, communities and
    grids (ids): the one place they make up, else their communities (a grid leader's grids
    count as their communities, as the figures are kept per community); None when they have
    no area."""
    places = [("district", i) for i in districts] + [("subdistrict", i) for i in subdistricts]
    ids = db.scalar(VIEWER_COMMUNITIES, {"districts": list(districts), "subdistricts": list(subdistricts),
                                         "communities": list(communities), "grids": list(grids)})
    if not ids:
        return None
    if not places and len(ids) == 1:
        return Area("community", ids[0])
    if len(places) == 1 and len(community_ids(*places[0])) == len(ids):
        return Area(*places[0])
    return Area(MINE, communities=tuple(ids))


def empty(eng):
    """Whether the installation holds no subdistrict yet (``make run`` then loads the sample)."""
    with db.transaction(eng) as conn:
        return not db.scalar("SELECT count(*) FROM subdistrict", conn=conn)
