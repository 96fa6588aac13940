"""Which community, grid and compound contain a point, and who is responsible there."""
from layers import db
from layers.access_log import revealed
from layers.compounds import IN_OFFICE
from layers.issues import t_params
from layers.scope import PUBLIC, in_scope

GRID_FULL = in_scope("m.id", "g.id")
COMPOUND_FULL = in_scope("c.community_id", "c.grid_id")

LOOKUP = f"""
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom)
    SELECT m.id AS community_id, m.name AS community,
           g.id AS grid_id, g.name AS grid,
           CASE WHEN {GRID_FULL} THEN g.leader_name ELSE mask_name(g.leader_name) END AS grid_leader,
           CASE WHEN {GRID_FULL} THEN {revealed('grid_leader', 'g.id', 'g.leader_phone')} END AS grid_leader_phone,
           c.id AS compound_id, c.name AS compound,
           (SELECT json_agg(json_build_object(
                       'role', r.name_zh, 'role_code', r.code,
                       'name', CASE WHEN {COMPOUND_FULL} THEN h.name ELSE mask_name(h.name) END,
                       'phone', CASE WHEN {COMPOUND_FULL} THEN {revealed('head', 'h.id', 'h.phone')} END) ORDER BY h.id)
              FROM head h JOIN head_role r ON r.code = h.role
             WHERE h.compound_id = c.id AND r.level = 'compound' AND {IN_OFFICE}) AS heads
      FROM p
      JOIN community m ON ST_Covers(m.geom, p.geom)
      LEFT JOIN grid g ON g.community_id = m.id AND ST_Covers(g.geom, p.geom)
      LEFT JOIN compound c ON c.community_id = m.id AND ST_Covers(c.geom, p.geom)
     ORDER BY m.id, g.id, c.id
     LIMIT 1"""
# The open counts, with the community found above as a constant: on Citus this reads the one
# shard of that community (docs/scaling.md §4).
OPEN_ISSUES = """
    SELECT (SELECT s.open_issues FROM compound_state s
             WHERE s.community_id = :community AND s.compound_id = :compound) AS compound_open_issues,
           (SELECT s.open_issues FROM grid_state s
             WHERE s.community_id = :community AND s.grid_id = :grid) AS grid_open_issues"""


def lookup(lon, lat, scope=PUBLIC):
    """The places at (lon, lat) in WGS84, or None when the point is outside the subdistrict."""
    with db.transaction() as conn:
        rows = db.rows(LOOKUP, {"lon": lon, "lat": lat, **scope, **t_params(None)}, conn=conn)
        if not rows:
            return None
        found = dict(rows[0])
        found.update(db.rows(OPEN_ISSUES, {"community": found["community_id"], "compound": found["compound_id"],
                                           "grid": found["grid_id"]}, conn=conn)[0])
    return found
