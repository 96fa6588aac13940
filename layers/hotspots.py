"""What the hotspot analysis reads from PostGIS: the filtered issues' points, the study area,
the DBSCAN clusters of recent issues, and the compounds with most open and overdue issues.

The Gi* statistic itself is pure computation (``geo.hotspot``); every filter is applied here,
in SQL.
"""
import dataclasses
import datetime as dt

import numpy as np

from layers import db, features, issues
from layers.issue_filter import FROM, OVERDUE, where

METRIC_SRID = 4547       # CGCS2000 / 3-degree Gauss-Kruger CM 114E: metres around 上街区
CLUSTER_DAYS = 90        # clusters are of the last 90 days of the window
CLUSTER_EPS_M = 60       # two issues within 60 m are neighbours …
CLUSTER_MIN_POINTS = 5   # … and five such make a cluster
HULL_MARGIN_M = 15       # drawn around a cluster's convex hull, so that it is never a line

# One row of two arrays: no Python object per issue.
POINTS = f"""
    SELECT coalesce(array_agg(ST_X(i.geom) ORDER BY i.id), ARRAY[]::float8[]) AS lon,
           coalesce(array_agg(ST_Y(i.geom) ORDER BY i.id), ARRAY[]::float8[]) AS lat
      FROM {FROM} WHERE {{where}}"""


def points(f):
    """(lon, lat) arrays of the issues matching ``f``."""
    clause, params = where(f)
    row = db.rows(POINTS.format(where=clause), params)[0]
    return np.asarray(row["lon"], dtype=float), np.asarray(row["lat"], dtype=float)


COMPOUNDS = "SELECT id, name, geom FROM compound ORDER BY id"


def compounds():
    """The compound outlines (context under the hotspot cells), as a GeoDataFrame."""
    return features.read(COMPOUNDS, {})


AREA = """
    SELECT ST_AsGeoJSON(ST_Union(geom), 7)::json FROM {table}
     WHERE :community IS NULL OR id = :community"""


def area(community=None):
    """The study area as a GeoJSON geometry: the community when one is chosen (the others
    would only dilute it), else the subdistrict."""
    table = "subdistrict" if community is None else "community"
    return db.scalar(AREA.format(table=table), {"community": community})


CLUSTERS = f"""
    WITH p AS (
        SELECT i.id, i.compound_id, i.geom,
               ST_ClusterDBSCAN(ST_Transform(i.geom, {METRIC_SRID}), eps := :eps,
                                minpoints := :minpoints) OVER () AS cluster
          FROM {FROM} WHERE {{where}}),
    c AS (
        SELECT cluster, count(*) AS issues, ST_Collect(geom) AS points,
               mode() WITHIN GROUP (ORDER BY compound_id) AS compound_id
          FROM p WHERE cluster IS NOT NULL GROUP BY cluster)
    SELECT row_number() OVER (ORDER BY c.issues DESC, c.cluster) AS id, c.issues,
           k.name AS compound,
           round(ST_X(ST_Centroid(c.points))::numeric, 6) AS lon,
           round(ST_Y(ST_Centroid(c.points))::numeric, 6) AS lat,
           ST_Transform(ST_Buffer(ST_ConvexHull(ST_Transform(c.points, {METRIC_SRID})),
                                  {HULL_MARGIN_M}, 4), 4326) AS geom
      FROM c LEFT JOIN compound k ON k.id = c.compound_id
     ORDER BY id"""


def cluster_window(f, today=None):
    """``f`` narrowed to the last ``CLUSTER_DAYS`` days of its window (ending today when open)."""
    end = f.until or today or issues.today()
    start = end - dt.timedelta(days=CLUSTER_DAYS - 1)
    return dataclasses.replace(f, since=max(start, f.since) if f.since else start, until=end)


def clusters(f):
    """DBSCAN clusters of the issues matching ``f`` in the last 90 days of its window, as a
    GeoJSON FeatureCollection (text): the hull with a margin; issues, the most frequent
    compound and the centroid (``lon``, ``lat``) as properties."""
    clause, params = where(cluster_window(f))
    return features.feature_collection(CLUSTERS.format(where=clause),
                                       dict(params, eps=CLUSTER_EPS_M, minpoints=CLUSTER_MIN_POINTS))


RANKING = f"""
    SELECT k.id, k.name, m.name AS community,
           count(*) AS open, count(*) FILTER (WHERE {OVERDUE}) AS overdue,
           ST_XMin(k.geom) AS minx, ST_YMin(k.geom) AS miny, ST_XMax(k.geom) AS maxx, ST_YMax(k.geom) AS maxy
      FROM {FROM}
      JOIN compound k ON k.id = i.compound_id
      JOIN community m ON m.id = k.community_id
     WHERE {{where}}
     GROUP BY k.id, m.name
    HAVING {{having}}
     ORDER BY {{order}}, k.id
     LIMIT :limit"""


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

