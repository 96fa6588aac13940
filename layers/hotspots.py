"""What the hotspot analysis reads from PostGIS, for the extent's issues only: the filtered
issues counted per grid cell, the study area and the outlines drawn under it, the DBSCAN
clusters of recent issues, and the compounds with most open and overdue issues.

Every result is bounded by what a page can draw, whatever the number of issues: cells
(``geo.hotspot.MAX_CELLS``), the largest clusters, the top compounds. The Gi* statistic
itself is pure computation (``geo.hotspot``); every filter is applied here, in SQL.
"""
import dataclasses
import datetime as dt

import numpy as np
import shapely

from geo import hotspot
from layers import db, features, hierarchy, issues
from layers.issue_filter import OVERDUE, where

CLUSTER_DAYS = 90        # clusters are of the last 90 days of the window
CLUSTER_EPS_M = 60       # two issues within 60 m are neighbours …
CLUSTER_MIN_POINTS = 5   # … and five such make a cluster
CLUSTER_LIMIT = 50       # the largest clusters drawn
HULL_MARGIN_M = 15       # drawn around a cluster's convex hull, so that it is never a line
CONTEXT_COMPOUNDS = 600  # compound outlines are drawn for an extent with at most this many

# The issues counted per cell in PostGIS (two floor() per issue, the grid of geo.hotspot):
# one row of three arrays, as many entries as occupied cells.
BINS = f"""
    WITH b AS (
        SELECT floor((ST_X(i.geom) - :lon0) * :kx / :size)::bigint AS col,
               floor((ST_Y(i.geom) - :lat0) * :ky / :size)::bigint AS row, count(*) AS n
          FROM issue i WHERE {{where}} GROUP BY 1, 2)
    SELECT coalesce(array_agg(col), '{{{{}}}}') AS col, coalesce(array_agg(row), '{{{{}}}}') AS row,
           coalesce(array_agg(n), '{{{{}}}}') AS n FROM b"""


def cells(f, grid):
    """(cell keys, counts) of the issues matching ``f`` on ``grid``, the occupied cells only."""
    clause, params = where(f)
    row = db.rows(BINS.format(where=clause), dict(params, **grid.params()))[0]
    return (hotspot.pack(np.asarray(row["col"], dtype=np.int64), np.asarray(row["row"], dtype=np.int64)),
            np.asarray(row["n"], dtype=np.int64))


def study_area(area):
    """The area's outline (a shapely geometry)."""
    return shapely.geometry.shape(hierarchy.outline(area))


def is_sample(area):
    """Whether the area holds sample data (示例数据), which the page must say."""
    return db.scalar(f"""SELECT coalesce(bool_or(s.is_sample), false) FROM subdistrict s
                          WHERE s.id IN (SELECT m.subdistrict_id FROM community m WHERE {area.where("m.id")})""",
                     area.params)


# The children of the extent (and, when few enough, its compounds) drawn under the cells,
# simplified to what shows at the extent's scale.
OUTLINES = "SELECT id, name, ST_SimplifyPreserveTopology(geom, :tolerance) AS geom FROM ({children}) c ORDER BY id"
COMPOUNDS = f"""
    SELECT c.id, c.name, ST_SimplifyPreserveTopology(c.geom, :tolerance) AS geom FROM compound c
     WHERE {{where}} ORDER BY c.id LIMIT {CONTEXT_COMPOUNDS + 1}"""


def outlines(area, tolerance):
    """The outlines of the area's children (its districts, subdistricts or communities), as
    a GeoDataFrame."""
    sql = OUTLINES.format(children=hierarchy.CHILDREN[area.level])
    return features.read(sql, dict(area.params, tolerance=tolerance))


def compounds(area, tolerance):
    """The area's compound outlines (context under the cells) as a GeoDataFrame, or None when
    there are more than ``CONTEXT_COMPOUNDS``."""
    frame = features.read(COMPOUNDS.format(where=area.where("c.community_id")), dict(area.params, tolerance=tolerance))
    return None if len(frame) > CONTEXT_COMPOUNDS else frame


# Distances in metres on the local scale of the grid (ST_Scale by metres per degree), so
# that nothing depends on a projected CRS of one region.
CLUSTERS = f"""
    WITH p AS (
        SELECT i.id, i.compound_id, i.geom,
               ST_ClusterDBSCAN(ST_Scale(i.geom, :kx, :ky), eps := :eps, minpoints := :minpoints) OVER () AS cluster
          FROM issue i WHERE {{where}}),
    c AS (
        SELECT cluster, count(*) AS issues, ST_Collect(geom) AS points,
               mode() WITHIN GROUP (ORDER BY compound_id) AS compound_id
          FROM p WHERE cluster IS NOT NULL GROUP BY cluster
         ORDER BY issues DESC, cluster LIMIT {CLUSTER_LIMIT})
    SELECT row_number() OVER (ORDER BY c.issues DESC, c.cluster) AS id, c.issues,
           k.name AS compound,
           round(ST_X(ST_Centroid(c.points))::numeric, 6) AS lon,
           round(ST_Y(ST_Centroid(c.points))::numeric, 6) AS lat,
           ST_Scale(ST_Buffer(ST_ConvexHull(ST_Scale(c.points, :kx, :ky)), {HULL_MARGIN_M}, 4),
                    1 / :kx, 1 / :ky) AS geom
      FROM c LEFT JOIN compound k ON k.id = c.compound_id
     ORDER BY id"""


def cluster_window(f, today=None):
    """``f`` narrowed to the last ``CLUSTER_DAYS`` days of its window (ending today when open)."""
    end = f.until or today or issues.today()
    start = end - dt.timedelta(days=CLUSTER_DAYS - 1)
    return dataclasses.replace(f, since=max(start, f.since) if f.since else start, until=end)


def clusters(f, grid):
    """The ``CLUSTER_LIMIT`` largest DBSCAN clusters of the issues matching ``f`` in the last
    90 days of its window, as a GeoJSON FeatureCollection (text): the hull with a margin;
    issues, the most frequent compound and the centroid (``lon``, ``lat``) as properties."""
    clause, params = where(cluster_window(f))
    scale = {"kx": grid.kx, "ky": grid.ky}
    return features.feature_collection(CLUSTERS.format(where=clause),
                                       dict(params, **scale, eps=CLUSTER_EPS_M, minpoints=CLUSTER_MIN_POINTS))


# Issues counted per compound first (narrow rows), then the top ones named and placed.
RANKING = f"""
    WITH c AS (
        SELECT i.compound_id, count(*) AS open, count(*) FILTER (WHERE {OVERDUE}) AS overdue
          FROM issue i WHERE {{where}} AND i.compound_id IS NOT NULL
         GROUP BY 1 HAVING {{having}} ORDER BY {{order}}, 1 LIMIT :limit)
    SELECT k.id, k.name, m.name AS community, c.open, c.overdue,
           ST_XMin(k.geom) AS minx, ST_YMin(k.geom) AS miny, ST_XMax(k.geom) AS maxx, ST_YMax(k.geom) AS maxy
      FROM c JOIN compound k ON k.id = c.compound_id JOIN community m ON m.id = k.community_id
     ORDER BY {{order}}, k.id"""


def ranking(f, limit=10):
    """The compounds with most open issues, and with most overdue ones (issues open now,
    whenever reported: the window and stage of ``f`` do not apply, its other filters do)."""
    clause, params = where(dataclasses.replace(f, since=None, until=None, stage="open"))
    with db.transaction() as conn:
        return {key: [dict(r) for r in db.rows(RANKING.format(where=clause, order=order, having=having),
                                               dict(params, limit=limit), conn=conn)]
                for key, order, having in (
                    ("open", "open DESC, overdue DESC", "TRUE"),
                    ("overdue", "overdue DESC, open DESC", f"count(*) FILTER (WHERE {OVERDUE}) > 0"))}
