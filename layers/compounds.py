"""Compounds: the figures each color mode needs, the layer, and the popup card."""
import json

import pandas as pd
import sqlalchemy as sa

from layers import db, features
from layers.issues import SLA, state_sql, t_params
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

STATS = """
    WITH s AS ({state}),
    open AS (
        SELECT s.compound_id, count(*) AS open_issues, max({sla}) AS sla
          FROM s JOIN stage st ON st.code = s.stage AND st.is_open
         WHERE s.compound_id IS NOT NULL
         GROUP BY s.compound_id)
    SELECT c.id, c.name, c.grid_id, c.community_id,
           coalesce(o.open_issues, 0) AS open_issues, coalesce(o.sla, 0) AS sla,
           {missing} AS missing_heads,
           EXISTS (SELECT 1 FROM self_governance_org g WHERE g.compound_id = c.id
                    AND (g.founded_on IS NULL OR g.founded_on <= :t)) AS has_org
      FROM compound c LEFT JOIN open o ON o.compound_id = c.id
     ORDER BY c.id"""


def stats_query(as_of=None):
    return STATS.format(state=state_sql(as_of), sla=SLA, missing=MISSING_HEADS), t_params(as_of)


def stats(as_of=None):
    """One row per compound: open issues, worst SLA state, empty 三长 posts, self-governance."""
    sql, params = stats_query(as_of)
    with db.transaction() as conn:
        return pd.read_sql(sa.text(sql), conn, params=params)


# ``mine`` marks the compounds of a user's own area (not for those who see everything).
LAYER = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid, s.fill, s.cls, s.open_issues,
           NOT :scope_all AND {in_scope("c.community_id", "c.grid_id")} AS mine, c.geom
      FROM compound c
      JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
      LEFT JOIN json_to_recordset(CAST(:styles AS json)) AS s(id int, fill text, cls text, open_issues int)
             ON s.id = c.id
     WHERE {{where}}
     ORDER BY c.id"""


def query(styles, bbox=None, scope=PUBLIC):
    """The compound layer with each compound's ``fill`` color and class from ``styles``
    (a list of {id, fill, cls, open_issues} computed by the color mode)."""
    where, params = features.bbox_clause(bbox, "c.geom")
    return LAYER.format(where=where), dict(params, **scope,
                                           styles=json.dumps(styles, ensure_ascii=False))


# Inside the viewer's area names and phones in full; outside, masked names and no phones.
FULL = in_scope("c.community_id", "c.grid_id")
CARD = f"""
    SELECT c.id, c.name, m.name AS community, g.name AS grid,
           CASE WHEN {FULL} THEN g.leader_name ELSE mask_name(g.leader_name) END AS grid_leader,
           CASE WHEN {FULL} THEN g.leader_phone END AS grid_leader_phone,
           c.households,
           (SELECT json_agg(o.name ORDER BY o.id) FROM self_governance_org o
             WHERE o.compound_id = c.id) AS orgs
      FROM compound c JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
     WHERE c.id = :id"""

CARD_HEADS = f"""
    SELECT r.name_zh AS role, b.name AS building, u.name AS unit,
           CASE WHEN {FULL} THEN h.name ELSE mask_name(h.name) END AS name,
           CASE WHEN {FULL} THEN h.phone END AS phone
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
      FROM s JOIN issue i ON i.id = s.id JOIN stage st ON st.code = s.stage
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
