"""The area layers that change rarely: the subdistrict outline, communities and grids."""
from layers import db, features
from layers.scope import PUBLIC, in_scope

SUBDISTRICT = """
    SELECT id, name, is_sample, geom FROM subdistrict WHERE {where}"""

COMMUNITIES = """
    SELECT m.id, m.name,
           (SELECT count(*) FROM compound c WHERE c.community_id = m.id) AS compounds,
           round(ST_X(ST_PointOnSurface(m.geom))::numeric, 6) AS label_lon,
           round(ST_Y(ST_PointOnSurface(m.geom))::numeric, 6) AS label_lat,
           m.geom
      FROM community m WHERE {where} ORDER BY m.id"""

# The grid leader is personal data: masked outside the viewer's area.
GRIDS = f"""
    SELECT g.id, g.name, m.name AS community,
           CASE WHEN {in_scope("g.community_id", "g.id")} THEN g.leader_name
                ELSE mask_name(g.leader_name) END AS leader,
           g.geom
      FROM grid g JOIN community m ON m.id = g.community_id WHERE {{where}} ORDER BY g.id"""


def _query(template, bbox, alias_geom, scope=PUBLIC):
    where, params = features.bbox_clause(bbox, alias_geom)
    return template.format(where=where), dict(params, **scope)


def subdistrict(bbox=None):
    return _query(SUBDISTRICT, bbox, "geom")


def communities(bbox=None):
    return _query(COMMUNITIES, bbox, "m.geom")


def grids(bbox=None, scope=PUBLIC):
    return _query(GRIDS, bbox, "g.geom", scope)


def geojson(query):
    sql, params = query
    return features.feature_collection(sql, params)


def read(query):
    sql, params = query
    return features.read(sql, params)


# The whole installation at a glance, in one cheap query: how many compounds (which decides
# how the map draws them), its bounds and whether it is sample data.
EXTENT = """
    SELECT (SELECT count(*) FROM compound) AS compounds,
           (SELECT coalesce(bool_or(is_sample), false) FROM subdistrict) AS sample,
           ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
      FROM (SELECT ST_Extent(geom) AS e FROM subdistrict) x"""


def extent():
    """{compounds, sample, bounds [[south, west], [north, east]]} of the installation."""
    r = db.rows(EXTENT)[0]
    bounds = ([[r["miny"], r["minx"]], [r["maxy"], r["maxx"]]] if r["minx"] is not None
              else [[34.79, 113.27], [34.83, 113.31]])
    return {"compounds": r["compounds"], "sample": r["sample"], "bounds": bounds}
