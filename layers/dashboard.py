"""The dashboard's figures and chart series, counted in PostGIS in one query.

Every issue count uses the definitions of ``layers.issue_filter`` (state now, overdue, on
time, Beijing months), so each number equals the length of the issue list it links to.
"""
import datetime as dt

from layers import db
from layers.issue_filter import FROM, ON_TIME, OVERDUE

# The seed document's figures (also the sample loader's summary).
FIGURES_SQL = """
SELECT (SELECT count(*) FROM community) AS communities,
       (SELECT count(*) FROM compound) AS compounds,
       (SELECT count(*) FROM venue) AS venues,
       (SELECT count(*) FROM meeting) AS meetings,
       (SELECT count(*) FROM deputy WHERE kind = 'npc_deputy') AS npc,
       (SELECT count(*) FROM deputy WHERE kind = 'cppcc_member') AS cppcc,
       (SELECT count(DISTINCT compound_id) FROM self_governance_org) AS orgs,
       (SELECT count(*) FROM issue) AS issues,
       (SELECT count(*) FROM issue JOIN category c ON c.code = issue.category
         WHERE issue.stage = 'closed' AND c.livelihood) AS resolved
"""

MONTHS = 24

DASHBOARD = f"""
WITH b AS (
    SELECT i.id, i.community_id, i.category, s.stage, st.is_open, cat.livelihood,
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month,
           {OVERDUE} AS overdue, {ON_TIME} AS on_time
      FROM {FROM}),
per_community AS (
    SELECT community_id,
           count(*) FILTER (WHERE is_open) AS open,
           count(*) FILTER (WHERE stage = 'closed') AS closed,
           count(*) FILTER (WHERE on_time) AS on_time,
           count(*) FILTER (WHERE NOT on_time) AS late
      FROM b GROUP BY community_id),
months AS (
    SELECT to_char(g, 'YYYY-MM') AS month
      FROM generate_series(date_trunc('month', :t AT TIME ZONE 'Asia/Shanghai') - interval '{MONTHS - 1} months',
                           date_trunc('month', :t AT TIME ZONE 'Asia/Shanghai'), interval '1 month') g)
SELECT json_build_object(
  'sample', (SELECT coalesce(bool_or(is_sample), false) FROM subdistrict),
  'figures', (SELECT row_to_json(f) FROM ({FIGURES_SQL}) f),
  'open', (SELECT count(*) FROM b WHERE is_open),
  'overdue', (SELECT count(*) FROM b WHERE overdue),
  'resolved_livelihood', (SELECT count(*) FROM b WHERE stage = 'closed' AND livelihood),
  'stages', (SELECT json_agg(json_build_object(
                 'code', st.code, 'name', CASE WHEN :en THEN st.name_en ELSE st.name_zh END,
                 'count', (SELECT count(*) FROM b WHERE b.stage = st.code)) ORDER BY st.ordinal)
               FROM stage st),
  'months', (SELECT json_agg(json_build_object(
                 'month', mo.month, 'count', (SELECT count(*) FROM b WHERE b.month = mo.month))
                 ORDER BY mo.month)
               FROM months mo),
  'communities', (SELECT json_agg(json_build_object(
                 'id', m.id, 'name', m.name, 'open', coalesce(pc.open, 0), 'closed', coalesce(pc.closed, 0),
                 'on_time', coalesce(pc.on_time, 0), 'late', coalesce(pc.late, 0),
                 'on_time_rate', round(100.0 * pc.on_time / nullif(pc.on_time + pc.late, 0), 1))
                 ORDER BY m.id)
               FROM community m LEFT JOIN per_community pc ON pc.community_id = m.id),
  'categories', (SELECT json_agg(json_build_object(
                 'code', c.code, 'name', CASE WHEN :en THEN c.name_en ELSE c.name_zh END,
                 'count', (SELECT count(*) FROM b WHERE b.category = c.code)) ORDER BY c.ordinal)
               FROM category c),
  'platforms', (SELECT json_agg(json_build_object(
                 'code', p.code, 'name', CASE WHEN :en THEN p.name_en ELSE p.name_zh END,
                 'meetings', (SELECT count(*) FROM meeting mt WHERE mt.platform = p.code),
                 'issues', (SELECT count(DISTINCT mi.issue_id) FROM meeting_issue mi
                              JOIN meeting mt ON mt.id = mi.meeting_id WHERE mt.platform = p.code))
                 ORDER BY p.code)
               FROM platform p))"""


def figures(en=False):
    """Everything the dashboard shows, as one JSON-ready dict.

    ``figures`` are the seed document's counts; ``stages``, ``months`` (the last 24, Beijing
    time, by reporting date), ``communities`` (open, closed, on time, late and the on-time
    rate in %), ``categories`` and ``platforms`` (meetings, and issues linked to them) are
    the chart series. On time is defined in ``layers.issue_filter.ON_TIME``.
    """
    return db.scalar(DASHBOARD, {"t": dt.datetime.now(dt.timezone.utc), "en": en})
