"""Issues: their state now or replayed at a past moment from the event log, and the layer."""
import datetime as dt

from layers import db, features
from layers.scope import PUBLIC, in_scope

# The state of every issue at :t. "Now" reads the issue row; a past moment replays the
# append-only event log (the last event at or before :t), skipping issues not yet reported.
STATE_NOW = """
    SELECT i.id, i.compound_id, i.community_id, i.stage, i.stage_changed_at AS since
      FROM issue i"""
STATE_AS_OF = """
    SELECT i.id, i.compound_id, i.community_id, e.to_stage AS stage, e.at AS since
      FROM issue i
      CROSS JOIN LATERAL (SELECT to_stage, at FROM issue_event e
                           WHERE e.community_id = i.community_id AND e.issue_id = i.id AND e.at <= :t
                           ORDER BY e.at DESC, e.id DESC LIMIT 1) e
     WHERE i.reported_at <= :t"""

# 0 closed, 1 on time, 2 due soon (three quarters of the stage's days used), 3 overdue.
SLA = """CASE WHEN NOT st.is_open THEN 0
              WHEN :t - s.since > make_interval(days => st.deadline_days) THEN 3
              WHEN :t - s.since > make_interval(days => st.deadline_days) * 0.75 THEN 2
              ELSE 1 END"""

SLA_STATES = ["none", "on_time", "due_soon", "overdue"]


def state_sql(as_of):
    return STATE_AS_OF if as_of is not None else STATE_NOW


BEIJING = dt.timezone(dt.timedelta(hours=8))


def today():
    """Today's date where the subdistrict is (the server may well run on UTC)."""
    return dt.datetime.now(BEIJING).date()


def t_params(as_of):
    """The SQL parameter :t: now, or the end of the as-of day in Beijing time."""
    if as_of is None:
        return {"t": dt.datetime.now(dt.timezone.utc)}
    return {"t": dt.datetime.combine(as_of, dt.time.max, tzinfo=BEIJING)}


# Titles of issues not yet taken up as topics stay internal outside the viewer's area.
LAYER = f"""
    WITH s AS ({{state}})
    SELECT i.id, s.stage, st.name_zh AS stage_name, i.category, cat.name_zh AS category_name,
           CASE WHEN {in_scope("i.community_id", "i.grid_id")} OR s.stage <> 'reported'
                THEN i.title END AS title,
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on,
           {{sla}} AS sla, i.geom
      FROM s JOIN issue i ON i.community_id = s.community_id AND i.id = s.id
      JOIN stage st ON st.code = s.stage
      JOIN category cat ON cat.code = i.category
     WHERE st.is_open AND {{where}} AND {{named}}
     ORDER BY i.id"""


def query(bbox=None, as_of=None, scope=PUBLIC):
    where, params = features.bbox_clause(bbox, "i.geom")
    (named,), ids = features.community_clause(bbox, "i.community_id")
    sql = LAYER.format(state=state_sql(as_of), sla=SLA, where=where, named=named)
    return sql, dict(params, **ids, **scope, **t_params(as_of))


# The heat layer: open issues in a bbox, binned into cells of :cell degrees (a few screen
# pixels at the map's zoom), so its size follows the screen, not the number of issues.
HEAT_NOW = """
    SELECT round(ST_Y(ST_Centroid(ST_Collect(i.geom)))::numeric, 6) AS lat,
           round(ST_X(ST_Centroid(ST_Collect(i.geom)))::numeric, 6) AS lon, count(*) AS n
      FROM issue i WHERE i.due_at IS NOT NULL AND {where} AND {named}
     GROUP BY ST_SnapToGrid(i.geom, :cell)"""
HEAT_AS_OF = """
    WITH s AS ({state})
    SELECT round(ST_Y(ST_Centroid(ST_Collect(i.geom)))::numeric, 6) AS lat,
           round(ST_X(ST_Centroid(ST_Collect(i.geom)))::numeric, 6) AS lon, count(*) AS n
      FROM s JOIN issue i ON i.community_id = s.community_id AND i.id = s.id JOIN stage st ON st.code = s.stage
     WHERE st.is_open AND {where} AND {named}
     GROUP BY ST_SnapToGrid(i.geom, :cell)"""


def heat_cells(bbox, cell, as_of=None):
    """[lat, lon, count] of the open issues in ``bbox``, binned into ``cell``-degree cells."""
    where, params = features.bbox_clause(bbox, "i.geom")
    (named,), ids = features.community_clause(bbox, "i.community_id")
    if as_of is None:
        sql = HEAT_NOW.format(where=where, named=named)
    else:
        sql = HEAT_AS_OF.format(state=STATE_AS_OF, where=where, named=named)
    return [[float(r["lat"]), float(r["lon"]), r["n"]]
            for r in db.rows(sql, dict(params, **ids, cell=cell, **t_params(as_of)), max_rows=50_000)]
