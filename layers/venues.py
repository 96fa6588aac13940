"""Venues (协商议事场所) with their platforms and meeting counts, and the liaison stations
where deputies are received."""
from layers import features

VENUES = """
    SELECT v.id, v.name, m.name AS community,
           (SELECT json_agg(vp.platform ORDER BY p.name_zh) FROM venue_platform vp
              JOIN platform p ON p.code = vp.platform WHERE vp.venue_id = v.id) AS platforms,
           (SELECT count(*) FROM meeting mt WHERE mt.venue_id = v.id) AS meetings,
           (SELECT json_agg(json_build_array(to_char(r.held_on, 'YYYY-MM-DD'), r.title))
              FROM (SELECT held_on, title FROM meeting mt WHERE mt.venue_id = v.id
                     ORDER BY held_on DESC, id DESC LIMIT 3) r) AS recent,
           v.geom
      FROM venue v JOIN community m ON m.id = v.community_id
     WHERE {where} ORDER BY v.id"""

# Deputies have no location of their own: they are shown at the station they are received at.
STATIONS = """
    SELECT v.id, v.name, m.name AS community,
           count(d.id) FILTER (WHERE d.kind = 'npc_deputy') AS npc_deputies,
           v.geom
      FROM venue v JOIN community m ON m.id = v.community_id
      JOIN venue_platform vp ON vp.venue_id = v.id AND vp.platform = 'npc_station'
      LEFT JOIN deputy d ON d.liaison_station_id = v.id
     WHERE {where}
     GROUP BY v.id, m.name ORDER BY v.id"""


def venues(bbox=None):
    where, params = features.bbox_clause(bbox, "v.geom")
    return VENUES.format(where=where), params


def stations(bbox=None):
    where, params = features.bbox_clause(bbox, "v.geom")
    return STATIONS.format(where=where), params
