"""Compounds: the figures each color mode needs, the layer, and the popup card."""
import datetime as dt

from layers import db, features
from layers.access_log import revealed
from layers.issues import state_sql, t_params
from layers.scope import PUBLIC, in_scope

# A head is in office at :t when appointed by then and not yet retired.
IN_OFFICE = "(h.appointed_on IS NULL OR h.appointed_on <= :t) AND (h.retired_on IS NULL OR h.retired_on > :t)"

# Which posts are empty: every head_role at its level (compound, building, unit) needs someone.
# The role list is data (head_role), so a subdistrict that adds a role needs no code change.
MISSING_HEADS = f"""
      (SELECT count(*) FROM head_role r WHERE r.level = 'compound' AND NOT EXISTS (
           SELECT 1 FROM head h WHERE h.role = r.code AND h.compound_id = c.id AND {IN_OFFICE}))
    + (SELECT count(*) FROM head_role r JOIN building b ON b.compound_id = c.id
        WHERE r.level = 'building' AND NOT EXISTS (
           SELECT 1 FROM head h WHERE h.role = r.code AND h.building_id = b.id AND {IN_OFFICE}))
    + (SELECT count(*) FROM head_role r JOIN building b ON b.compound_id = c.id
         JOIN unit u ON u.building_id = b.id
        WHERE r.level = 'unit' AND NOT EXISTS (
           SELECT 1 FROM head h WHERE h.role = r.code AND h.unit_id = u.id AND {IN_OFFICE}))"""

# The state the color modes read, as a relation of (compound_id, community_id, open_issues,
# due_soon_at, due_at, missing_heads, has_org, last_patrol_at). Now: compound_state and
# patrol_state, kept by triggers (migrations 0006, 0016), so coloring a viewport reads only its
# own rows. At a past moment: replayed from the event log and the patrols, for the compounds
# of the bbox only, each tally grouped by (community, compound) apart and joined to the
# compounds after (on Citus a distributed subquery grouped by its distribution column; a
# lateral join from the compound reference table into the shards is refused).
STATE_NOW = """SELECT s.compound_id, s.community_id, s.open_issues, s.due_soon_at, s.due_at, s.missing_heads,
                      s.has_org, p.last_patrol_at
                 FROM compound_state s
                 LEFT JOIN patrol_state p ON p.community_id = s.community_id AND p.compound_id = s.compound_id
                WHERE {named}"""
STATE_AS_OF = f"""
    SELECT c.id AS compound_id, c.community_id, coalesce(o.n, 0)::int AS open_issues,
           o.due_soon_at, o.due_at, {MISSING_HEADS} AS missing_heads,
           EXISTS (SELECT 1 FROM self_governance_org g WHERE g.compound_id = c.id
                    AND (g.founded_on IS NULL OR g.founded_on <= :t)) AS has_org,
           p.last_patrol_at
      FROM compound c
      LEFT JOIN (
          SELECT i.community_id, i.compound_id, count(*) AS n,
                 min(e.at + make_interval(days => st.deadline_days) * 0.75) AS due_soon_at,
                 min(e.at + make_interval(days => st.deadline_days)) AS due_at
            FROM issue i
            JOIN compound c ON c.id = i.compound_id
            CROSS JOIN LATERAL (SELECT to_stage, at FROM issue_event e
                                 WHERE e.community_id = i.community_id AND e.issue_id = i.id AND e.at <= :t AND e.kind = 'stage'
                                 ORDER BY e.at DESC, e.id DESC LIMIT 1) e
            JOIN stage st ON st.code = e.to_stage AND st.is_open
           WHERE i.reported_at <= :t AND {{where}} AND {{named_i}}
           GROUP BY i.community_id, i.compound_id) o ON o.community_id = c.community_id AND o.compound_id = c.id
      LEFT JOIN (
          SELECT p.community_id, p.compound_id, max(p.visited_at) AS last_patrol_at
            FROM patrol p
            JOIN compound c ON c.id = p.compound_id
           WHERE p.visited_at <= :t AND {{where}} AND {{named_p}}
           GROUP BY p.community_id, p.compound_id) p ON p.community_id = c.community_id AND p.compound_id = c.id
     WHERE {{where}}"""


def state(as_of=None, bbox=None):
    """(SQL, params) of the state relation at ``as_of`` (now when None), for ``bbox`` (on
    Citus, only the shards of the communities in it are read)."""
    if as_of is None:
        (named,), ids = features.community_clause(bbox, "s.community_id")
        return STATE_NOW.format(named=named), dict(t_params(None), **ids)
    where, params = features.bbox_clause(bbox, "c.geom")
    (named_i, named_p), ids = features.community_clause(bbox, "i.community_id", "p.community_id")
    return (STATE_AS_OF.format(where=where, named_i=named_i, named_p=named_p),
            dict(params, **ids, **t_params(as_of)))


def open_counts(as_of=None, bbox=None):
    """The distinct non-zero open-issue counts per compound (what the open mode classes)."""
    sql, params = state(as_of, bbox)
    return [r["open_issues"] for r in db.rows(
        f"SELECT DISTINCT open_issues FROM ({sql}) s WHERE open_issues > 0 ORDER BY 1", params)]


def interior_point(compound_id):
    """(lon, lat) of a point inside the compound, or None when there is no such compound."""
    rows = db.rows("SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM compound, ST_PointOnSurface(geom) p "
                   "WHERE id = :id", {"id": compound_id})
    return (rows[0]["lon"], rows[0]["lat"]) if rows else None


def grid_color_count():
    return db.scalar("SELECT coalesce(max(color), 0) + 1 FROM grid")


# The class of a compound in each mode, 0-based, from the state ``s`` at :t; the fill is
# :colors[class + 1]. Open: 0 for none, else the number of :breaks below the count (capped;
# the breaks ascend, and width_bucket counts those at or below count - 1; no subquery, which
# Citus could not run beside the state's shards).
CLASS = {
    "open": """CASE WHEN s.open_issues = 0 THEN 0
                    ELSE 1 + least(cardinality(CAST(:breaks AS int[])) - 1,
                                   width_bucket(s.open_issues - 1, CAST(:breaks AS int[]))) END""",
    "sla": """CASE WHEN s.open_issues = 0 THEN 0 WHEN s.due_at < :t THEN 3
                   WHEN s.due_soon_at < :t THEN 2 ELSE 1 END""",
    "grid": "coalesce(g.color % cardinality(CAST(:colors AS text[])), -1)",
    "governance": "2 * (s.missing_heads > 0)::int + (NOT s.has_org)::int",
    # Days since the last patrol: within 7, within 30, longer, never. (The two moments come
    # as parameters: timestamptz - interval is only stable, and Citus pushes down no
    # FROM-less subquery that calls what is not immutable.)
    "patrol": """CASE WHEN s.last_patrol_at IS NULL THEN 3
                      WHEN s.last_patrol_at >= :week_ago THEN 0
                      WHEN s.last_patrol_at >= :month_ago THEN 1 ELSE 2 END""",
}
PATROL_CLASSES = ("week", "month", "longer", "never")
# What ``cls`` says: the class, except in the grid mode where it is the grid, and in the
# patrol mode its name.
CLS = {"grid": "c.grid_id::text",
       "patrol": "(ARRAY[" + ", ".join(f"'{c}'" for c in PATROL_CLASSES) + "])[k.k + 1]"}

# ``mine`` marks the compounds of a user's own area (not for those who see everything).
LAYER = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid,
           coalesce((CAST(:colors AS text[]))[k.k + 1], '#cccccc') AS fill, {{cls}} AS cls,
           s.open_issues, NOT :scope_all AND {in_scope("c.community_id", "c.grid_id")} AS mine, c.geom
      FROM compound c
      JOIN ({{state}}) s ON s.community_id = c.community_id AND s.compound_id = c.id
      JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
      CROSS JOIN LATERAL (SELECT {{klass}} AS k) k
     WHERE {{where}}
     ORDER BY c.id"""


def query(mode, style, bbox=None, scope=PUBLIC, as_of=None):
    """The compound layer in ``mode``: each compound's ``fill`` and ``cls`` from the state, with
    ``style`` the mode's parameters (colors, and breaks for the open mode; webmap.modes)."""
    state_sql, state_params = state(as_of, bbox)
    where, params = features.bbox_clause(bbox, "c.geom")
    sql = LAYER.format(state=state_sql, klass=CLASS[mode], cls=CLS.get(mode, "k.k::text"), where=where)
    t = state_params["t"]
    return sql, dict(params, **state_params, **scope, breaks=list(style.get("breaks", [])),
                     colors=list(style["colors"]), week_ago=t - dt.timedelta(days=7),
                     month_ago=t - dt.timedelta(days=30))


# Inside the viewer's area names and phones in full; outside, masked names and no phones.
FULL = in_scope("c.community_id", "c.grid_id")
CARD = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid,
           CASE WHEN {FULL} THEN g.leader_name ELSE mask_name(g.leader_name) END AS grid_leader,
           CASE WHEN {FULL} THEN {revealed('grid_leader', 'g.id', 'g.leader_phone')} END AS grid_leader_phone,
           c.households,
           (SELECT json_agg(o.name ORDER BY o.id) FROM self_governance_org o
             WHERE o.compound_id = c.id) AS orgs
      FROM compound c JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
     WHERE c.id = :id"""

CARD_HEADS = f"""
    SELECT r.name_zh AS role, r.code AS role_code, b.name AS building, u.name AS unit,
           CASE WHEN {FULL} THEN h.name ELSE mask_name(h.name) END AS name,
           CASE WHEN {FULL} THEN {revealed('head', 'h.id', 'h.phone')} END AS phone
      FROM head h JOIN head_role r ON r.code = h.role
      JOIN compound c ON c.id = h.compound_id
      LEFT JOIN building b ON b.id = h.building_id
      LEFT JOIN unit u ON u.id = h.unit_id
     WHERE h.compound_id = :id AND {IN_OFFICE}
       AND r.level = ANY(:levels)
     ORDER BY r.rank, b.id NULLS FIRST, u.id NULLS FIRST"""

# The open issues at :t (now, or replayed from the event log for an as-of date).
CARD_ISSUES = f"""
    WITH s AS ({{state}})
    SELECT i.id, CASE WHEN {in_scope("i.community_id", "i.grid_id")} OR s.stage <> 'reported'
                      THEN i.title END AS title,
           s.stage, st.name_zh AS stage_name
      FROM s JOIN issue i ON i.community_id = s.community_id AND i.id = s.id JOIN stage st ON st.code = s.stage
     WHERE s.compound_id = :id AND st.is_open
     ORDER BY i.reported_at DESC LIMIT 30"""


def card(compound_id, scope=PUBLIC, as_of=None):
    """What the compound popup shows (at ``as_of``, else now), or None when there is no such
    compound. Only the compound head is listed here; building and unit heads are on the buildings.
    """
    with db.transaction() as conn:
        head = db.rows(CARD, {"id": compound_id, **scope}, conn=conn)
        if not head:
            return None
        result = dict(head[0])
        result["heads"] = [dict(r) for r in db.rows(
            CARD_HEADS, {"id": compound_id, "levels": ["compound"], **scope, **t_params(as_of)},
            conn=conn)]
        result["open_issues"] = [dict(r) for r in db.rows(
            CARD_ISSUES.format(state=state_sql(as_of)), {"id": compound_id, **scope, **t_params(as_of)},
            conn=conn)]
    return result
