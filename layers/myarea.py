"""A signed-in user's own area: its compounds (longest unpatrolled first, never visited at the
top), their 三长 and the open issues, most overdue first."""
from layers import db
from layers.access_log import revealed
from layers.issues import SLA, STATE_NOW, t_params
from layers.scope import in_scope

COMPOUNDS = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid, g.leader_name AS grid_leader,
           {revealed('grid_leader', 'g.id', 'g.leader_phone')} AS grid_leader_phone,
           to_char(p.last_patrol_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS last_patrol_on,
           floor(extract(epoch FROM (:t - p.last_patrol_at)) / 86400)::int AS days_since_patrol,
           ST_XMin(c.geom) AS minx, ST_YMin(c.geom) AS miny, ST_XMax(c.geom) AS maxx, ST_YMax(c.geom) AS maxy,
           (SELECT json_agg(json_build_object('id', h.id, 'role', r.name_zh, 'role_code', r.code, 'name', h.name,
                                              'phone', {revealed('head', 'h.id', 'h.phone')}, 'building', b.name, 'unit', u.name)
                            ORDER BY r.rank, b.id NULLS FIRST, u.id NULLS FIRST)
              FROM head h JOIN head_role r ON r.code = h.role
              LEFT JOIN building b ON b.id = h.building_id LEFT JOIN unit u ON u.id = h.unit_id
             WHERE h.compound_id = c.id AND h.retired_on IS NULL AND r.level = 'compound') AS heads
      FROM compound c JOIN community m ON m.id = c.community_id LEFT JOIN grid g ON g.id = c.grid_id
      LEFT JOIN patrol_state p ON p.community_id = c.community_id AND p.compound_id = c.id
     WHERE {in_scope("c.community_id", "c.grid_id")}
     ORDER BY p.last_patrol_at NULLS FIRST, m.id, g.id, c.id
     LIMIT 200"""

ISSUES = f"""
    WITH s AS ({STATE_NOW})
    SELECT i.id, i.title, s.stage, st.name_zh AS stage_name, c.name AS compound, {SLA} AS sla,
           ceil(extract(epoch FROM (:t - s.since)) / 86400 - st.deadline_days) AS days_over,  -- never "0 days" late
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on
      FROM s JOIN issue i ON i.community_id = s.community_id AND i.id = s.id JOIN stage st ON st.code = s.stage AND st.is_open
      LEFT JOIN compound c ON c.id = i.compound_id
     WHERE {in_scope("i.community_id", "i.grid_id")}
     ORDER BY sla DESC, days_over DESC, i.id
     LIMIT 100"""

BOUNDS = f"""
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
        SELECT ST_Extent(g.geom)::geometry AS e FROM grid g
         WHERE {in_scope("g.community_id", "g.id")}) x"""


def my_area(scope):
    params = {**scope, **t_params(None)}
    with db.transaction() as conn:
        compounds = [dict(r) for r in db.rows(COMPOUNDS, params, conn=conn)]
        issues = [dict(r) for r in db.rows(ISSUES, params, conn=conn)]
    return {"compounds": compounds, "issues": issues}


def bounds(scope):
    """[[south, west], [north, east]] of the viewer's area, or None when it has none."""
    rows = db.rows(BOUNDS, scope)
    minx, miny, maxx, maxy = rows[0].values() if rows else (None,) * 4
    return None if minx is None else [[miny, minx], [maxy, maxx]]


# The row is read first (on Citus: from its shard), the reporter revealed after, on the
# coordinator, where revealed() writes the access log.
ISSUE = f"""
    WITH d AS MATERIALIZED ({{row}})
    SELECT d.id, d.title, d.description, d.category, d.category_name, d.channel, d.stage,
           d.stage_name, d.community, d.grid, d.compound, d.reported_at,
           {revealed('reporter', 'd.id', 'd.r_name')} AS reporter_name,
           {revealed('reporter', 'd.id', 'd.r_phone')} AS reporter_phone, d.version,
           d.lon, d.lat, d.events, d.recent_meetings
      FROM d"""
ISSUE_ROW = f"""
    SELECT i.id, i.title, i.description, i.category, cat.name_zh AS category_name, i.channel,
           i.stage, st.name_zh AS stage_name, m.name AS community, g.name AS grid, c.name AS compound,
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS reported_at,
           r.name AS r_name, r.phone AS r_phone, i.version,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
           (SELECT json_agg(json_build_object('at', to_char(e.at, 'YYYY-MM-DD HH24:MI'), 'actor', e.actor,
                   'from', e.from_stage, 'to', e.to_stage, 'note', e.note) ORDER BY e.at, e.id)
              FROM issue_event e WHERE e.community_id = i.community_id AND e.issue_id = i.id) AS events,
           (SELECT json_agg(json_build_object('id', mt.id, 'title', mt.title, 'venue', mt.venue,
                                              'held_on', to_char(mt.held_on, 'YYYY-MM-DD'))
                            ORDER BY mt.held_on DESC, mt.id DESC)
              FROM (SELECT mt.id, mt.title, mt.held_on, v.name AS venue FROM meeting mt
                      JOIN venue v ON v.id = mt.venue_id WHERE v.community_id = i.community_id
                     ORDER BY mt.held_on DESC, mt.id DESC LIMIT 15) mt) AS recent_meetings
      FROM issue i JOIN stage st ON st.code = i.stage JOIN category cat ON cat.code = i.category
      JOIN community m ON m.id = i.community_id
      LEFT JOIN grid g ON g.id = i.grid_id LEFT JOIN compound c ON c.id = i.compound_id
      LEFT JOIN issue_reporter r ON r.community_id = i.community_id AND r.issue_id = i.id
     WHERE i.id = :id AND {in_scope("i.community_id", "i.grid_id")}"""


def issue(issue_id, scope):
    """An issue with its reporter and history, only inside the viewer's area (else None)."""
    rows = db.rows(ISSUE.format(row=ISSUE_ROW), {"id": issue_id, **scope})
    return dict(rows[0]) if rows else None
