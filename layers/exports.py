"""What the exports read: the issue ledger (台账), the 三长 roster (电子底册) and a community's
figures, each limited in SQL to what the viewer may see.

The ledger uses the issue list's own filter (``layers.issue_filter``), so an export holds
exactly the issues the list shows. Reporters are read only when asked for, in full inside
the viewer's area and masked outside it; the roster leaves out every row outside it.
"""
import datetime as dt

from layers import access_log, db
from layers.issue_filter import FROM, OVERDUE_COLUMN, where
from layers.scope import in_scope

ISSUE_IN_SCOPE = in_scope("i.community_id", "i.grid_id")

REPORTER_COLUMNS = f""",
           CASE WHEN {ISSUE_IN_SCOPE} THEN r.name ELSE mask_name(r.name) END AS reporter_name,
           CASE WHEN {ISSUE_IN_SCOPE} THEN r.phone ELSE mask_phone(r.phone) END AS reporter_phone,
           {ISSUE_IN_SCOPE} AND coalesce(r.name, r.phone) IS NOT NULL AS reporter_shown"""

# The most issues one ledger holds (a spreadsheet of a district's years); more is refused
# (db.TooManyRows) with a request to narrow the extent or the filter.
LEDGER_MAX = 100_000

# A title stays withheld (NULL) until the issue is taken up as a topic, outside the area.
LEDGER = f"""
    SELECT i.id, CASE WHEN {ISSUE_IN_SCOPE} OR i.stage <> 'reported' THEN i.title END AS title,
           CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END AS category_name,
           CASE WHEN :en THEN ch.name_en ELSE ch.name_zh END AS channel_name,
           i.stage, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name,
           m.name AS community, g.name AS grid, c.name AS compound,
           (i.reported_at AT TIME ZONE 'Asia/Shanghai')::date AS reported_on,
           (i.stage_changed_at AT TIME ZONE 'Asia/Shanghai')::date AS stage_changed_on,
           {OVERDUE_COLUMN} AS overdue,
           coalesce(i.result, i.stage_reason) AS result, i.satisfaction{{reporters}}
      FROM {FROM}
      JOIN channel ch ON ch.code = i.channel
      JOIN community m ON m.id = i.community_id
      LEFT JOIN grid g ON g.id = i.grid_id
      LEFT JOIN compound c ON c.id = i.compound_id
      {{reporter_join}}
     WHERE {{where}}
     ORDER BY i.reported_at DESC, i.id DESC"""


def ledger(f, scope, *, reporters, en=False):
    """The issues matching ``f`` (an ``IssueFilter``), newest first, as dicts.

    With ``reporters`` each row also has ``reporter_name`` and ``reporter_phone``: in full
    inside ``scope`` (``layers.scope``), masked outside it. Without, the reporter table is
    not read at all.
    """
    clause, params = where(f)
    sql = LEDGER.format(where=clause, reporters=REPORTER_COLUMNS if reporters else "",
                        reporter_join="LEFT JOIN issue_reporter r ON r.community_id = i.community_id AND r.issue_id = i.id" if reporters else "")
    with db.transaction() as conn:
        found = [dict(r) for r in db.rows(sql, dict(params, **scope, en=en), max_rows=LEDGER_MAX, conn=conn)]
        if reporters:
            access_log.bulk("ledger_export", sum(r["reporter_shown"] for r in found),
                            {"scope": scope, "filter": f}, conn=conn)
    return found


# Only the heads in office inside the viewer's area: a row outside it is not read at all.
ROSTER = f"""
    SELECT m.name AS community, g.name AS grid, c.name AS compound, b.name AS building, u.name AS unit,
           CASE WHEN :en THEN r.name_en ELSE r.name_zh END AS role_name, h.name, h.phone,
           h.appointed_on, h.certificate_no
      FROM head h JOIN head_role r ON r.code = h.role
      JOIN compound c ON c.id = h.compound_id
      JOIN community m ON m.id = c.community_id
      LEFT JOIN grid g ON g.id = c.grid_id
      LEFT JOIN building b ON b.id = h.building_id
      LEFT JOIN unit u ON u.id = h.unit_id
     WHERE h.retired_on IS NULL AND {in_scope("c.community_id", "c.grid_id")}
     ORDER BY m.id, g.id NULLS LAST, c.id, r.rank, b.id NULLS FIRST, u.id NULLS FIRST, h.id"""


def roster(scope, en=False):
    """The current 三长 of the viewer's area, by community, grid, compound and post; logged as
    one bulk view of their phones."""
    with db.transaction() as conn:
        found = [dict(r) for r in db.rows(ROSTER, dict(scope, en=en), conn=conn)]
        access_log.bulk("roster_export", sum(r["phone"] is not None for r in found), {"scope": scope},
                        conn=conn)
    return found


# A community's headline figures; "the last 12 months" ends now (Beijing days for meetings).
FIGURES = f"""
    WITH b AS (SELECT i.stage, st.is_open, i.closed_at, {OVERDUE_COLUMN} AS overdue
                 FROM {FROM} WHERE i.community_id = :id)
    SELECT m.name,
           (SELECT coalesce(bool_or(is_sample), false) FROM subdistrict) AS sample,
           (SELECT count(*) FROM compound c WHERE c.community_id = m.id) AS compounds,
           (SELECT count(*) FROM b WHERE is_open) AS open,
           (SELECT count(*) FROM b WHERE overdue) AS overdue,
           (SELECT count(*) FROM b WHERE stage = 'closed' AND closed_at > :t - interval '12 months')
               AS resolved_12m,
           (SELECT count(*) FROM meeting mt JOIN venue v ON v.id = mt.venue_id
             WHERE v.community_id = m.id
               AND mt.held_on > ((:t AT TIME ZONE 'Asia/Shanghai') - interval '12 months')::date)
               AS meetings_12m,
           (SELECT json_agg(json_build_object(
                       'code', st.code, 'name', CASE WHEN :en THEN st.name_en ELSE st.name_zh END,
                       'count', (SELECT count(*) FROM b WHERE b.stage = st.code)) ORDER BY st.ordinal)
              FROM stage st WHERE st.is_open) AS open_by_stage
      FROM community m WHERE m.id = :id"""


def community_figures(community_id, en=False):
    """The figures of a community's report, or None when there is no such community."""
    found = db.rows(FIGURES, {"id": community_id, "en": en, "t": dt.datetime.now(dt.timezone.utc)})
    return dict(found[0]) if found else None
