"""GeoJSON built by PostGIS: a layer's SELECT becomes a FeatureCollection in one query,
so no Python object is made per feature. Coordinates keep 6 decimals (about 0.1 m)."""
import json

import geopandas as gpd
import sqlalchemy as sa
from flask import g, has_app_context

from layers import db


def bbox_clause(bbox, column="geom"):
    """A spatial filter on ``column`` for ``bbox`` (or no filter), and its parameters."""
    if bbox is None:
        return "TRUE", {}
    return (f"{column} && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)", bbox.params())


# The communities that meet a bbox, from the reference table (its GiST index).
COMMUNITIES_IN = """SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM community
                     WHERE geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"""


def community_clause(bbox, *columns):
    """On Citus, a filter of each of ``columns`` (a distributed table's community_id) to the
    communities that meet ``bbox``, looked up first (once per request and bbox): the statement
    then goes to their shards (two or three for a street) instead of every shard. No filter
    without a bbox, nor on one node, where the spatial index alone finds the rows. Returns
    (one clause per column, the parameters)."""
    if bbox is None or not db.on_citus():
        return ("TRUE",) * len(columns), {}
    known = g.setdefault("communities_in", {}) if has_app_context() else {}
    if bbox not in known:
        known[bbox] = list(db.scalar(COMMUNITIES_IN, bbox.params()))
    return (tuple(f"{c} = ANY(CAST(:in_communities AS int[]))" for c in columns),
            {"in_communities": known[bbox]})


# The rows of a layer's SELECT (a ``geom`` column, the rest properties) as a JSON array. The
# rows are gathered first (MATERIALIZED): on Citus they come from the shards, and the encoding
# of whole rows runs on the coordinator, which is the only place Citus can run it.
FEATURES_SQL = """WITH f AS MATERIALIZED ({select})
                  SELECT coalesce(json_agg(ST_AsGeoJSON(f.*, 'geom', 6)::json), '[]'::json)::text FROM f"""


def feature_collection(select_sql, params, *, members=None, conn=None):
    """The rows of ``select_sql`` (one column ``geom``, the rest properties) as GeoJSON text.

    ``members`` are extra top-level members of the FeatureCollection (e.g. a legend).
    """
    features = db.scalar(FEATURES_SQL.format(select=select_sql), params, conn=conn)
    extra = "".join(f",{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}"
                    for k, v in (members or {}).items())
    return f'{{"type":"FeatureCollection","features":{features}{extra}}}'


def read(select_sql, params, *, conn=None):
    """The rows of ``select_sql`` as a GeoDataFrame in EPSG:4326 (for folium and printing)."""
    if conn is None:
        with db.transaction() as own:
            return read(select_sql, params, conn=own)
    return gpd.read_postgis(sa.text(select_sql), conn, geom_col="geom", params=params, crs=4326)
