"""The dashboard's figures and chart series for an area, in one query over the maintained
state (migration 0006), so its cost grows with the area's communities, never with the
history of its issues:

- ``issue_tally`` (community × stage × category × on-time verdict) gives the stages,
  categories, open, closed, on time and late, and the resolved livelihood issues;
- ``issue_month`` (community × Beijing month of reporting) gives the monthly series;
- the partial index on ``issue (community_id, due_at)`` counts the open issues overdue now.

Each count uses the definitions of ``layers.issue_filter`` (overdue: ``due_at < now``; on
time: closed on time, or open and not overdue), so each number equals the length of the
issue list it links to.
"""
from layers import db
from layers.hierarchy import CHILDREN
from layers.issue_filter import OVERDUE, now

MONTHS = 24

# The seed document's figures over the whole database, counted directly: the sample
# loader's summary (a dashboard reads them per area, below).
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

# ``a`` holds the area's communities with the child area each lies in; ``t`` the tallies
# summed per child; ``late`` the overdue issues per child. The sum joins the communities'
# SELECT itself rather than ``a``: a city's tally has about 150,000 rows, and with the join
# in view the planner can sum them in parallel (half the time).
DASHBOARD = f"""
WITH a AS MATERIALIZED ({{communities}}),
summed AS MATERIALIZED (
    SELECT c.child_id, t.stage, t.category, t.on_time, sum(t.n)::int AS n
      FROM issue_tally t JOIN ({{communities}}) c ON c.community_id = t.community_id GROUP BY 1, 2, 3, 4),
t AS MATERIALIZED (
    SELECT s.*, st.is_open, cat.livelihood FROM summed s
      JOIN stage st ON st.code = s.stage JOIN category cat ON cat.code = s.category),
late AS MATERIALIZED (
    SELECT a.child_id, count(*)::int AS n FROM issue i JOIN a ON a.community_id = i.community_id
     WHERE {OVERDUE} GROUP BY 1),
per_child AS (
    SELECT c.level, c.id, c.name, coalesce(x.open, 0) AS open, coalesce(x.closed, 0) AS closed,
           coalesce(x.closed_on_time, 0) AS closed_on_time, coalesce(x.closed_late, 0) AS closed_late,
           coalesce(late.n, 0) AS overdue
      FROM ({{children}}) c
      LEFT JOIN (SELECT child_id, sum(n) FILTER (WHERE is_open)::int AS open,
                        sum(n) FILTER (WHERE stage = 'closed')::int AS closed,
                        sum(n) FILTER (WHERE on_time = 1)::int AS closed_on_time,
                        sum(n) FILTER (WHERE on_time = 2)::int AS closed_late
                   FROM t GROUP BY child_id) x ON x.child_id = c.id
      LEFT JOIN late ON late.child_id = c.id),
months AS (
    SELECT g::date AS month
      FROM generate_series(date_trunc('month', :t AT TIME ZONE 'Asia/Shanghai') - interval '{MONTHS - 1} months',
                           date_trunc('month', :t AT TIME ZONE 'Asia/Shanghai'), interval '1 month') g),
per_month AS (
    SELECT n.month, sum(n.n)::int AS n FROM issue_month n JOIN a ON a.community_id = n.community_id
     WHERE n.month >= (SELECT min(month) FROM months) GROUP BY 1),
per_stage AS (SELECT stage, sum(n)::int AS n FROM t GROUP BY 1),
per_category AS (SELECT category, sum(n)::int AS n FROM t GROUP BY 1),
venues AS (SELECT v.id FROM venue v JOIN a ON a.community_id = v.community_id),
meetings AS (SELECT mt.id, mt.platform FROM meeting mt JOIN venues v ON v.id = mt.venue_id),
deputies AS (SELECT DISTINCT d.id, d.kind FROM deputy d JOIN deputy_community dc ON dc.deputy_id = d.id
               JOIN a ON a.community_id = dc.community_id),
-- The area's issues linked to meetings, per platform: distinct by (issue, community) first,
-- which on Citus each shard does for its own communities.
linked AS MATERIALIZED (
    SELECT l.platform, count(*)::int AS n
      FROM (SELECT DISTINCT mt.platform, mi.community_id, mi.issue_id FROM meeting_issue mi
              JOIN meeting mt ON mt.id = mi.meeting_id JOIN a ON a.community_id = mi.community_id) l
     GROUP BY 1)
SELECT json_build_object(
  'sample', (SELECT coalesce(bool_or(s.is_sample), false) FROM subdistrict s
              WHERE s.id IN (SELECT m.subdistrict_id FROM community m JOIN a ON a.community_id = m.id)),
  'figures', json_build_object(
      'communities', (SELECT count(*) FROM a),
      'compounds', (SELECT count(*) FROM compound c JOIN a ON a.community_id = c.community_id),
      'venues', (SELECT count(*) FROM venues),
      'meetings', (SELECT count(*) FROM meetings),
      'npc', (SELECT count(*) FROM deputies WHERE kind = 'npc_deputy'),
      'cppcc', (SELECT count(*) FROM deputies WHERE kind = 'cppcc_member'),
      'orgs', (SELECT count(DISTINCT o.compound_id) FROM self_governance_org o
                 JOIN compound c ON c.id = o.compound_id JOIN a ON a.community_id = c.community_id),
      'issues', (SELECT coalesce(sum(n), 0) FROM t),
      'resolved', (SELECT coalesce(sum(n), 0) FROM t WHERE stage = 'closed' AND livelihood)),
  'open', (SELECT coalesce(sum(n), 0) FROM t WHERE is_open),
  'overdue', (SELECT coalesce(sum(n), 0) FROM late),
  'resolved_livelihood', (SELECT coalesce(sum(n), 0) FROM t WHERE stage = 'closed' AND livelihood),
  'stages', (SELECT json_agg(json_build_object(
                 'code', st.code, 'name', CASE WHEN :en THEN st.name_en ELSE st.name_zh END,
                 'count', coalesce(x.n, 0)) ORDER BY st.ordinal)
               FROM stage st LEFT JOIN per_stage x ON x.stage = st.code),
  'months', (SELECT json_agg(json_build_object(
                 'month', to_char(mo.month, 'YYYY-MM'),
                 'count', coalesce(x.n, 0)) ORDER BY mo.month)
               FROM months mo LEFT JOIN per_month x ON x.month = mo.month),
  'children', (SELECT coalesce(json_agg(json_build_object(
                 'level', c.level, 'id', c.id, 'name', c.name, 'open', c.open, 'closed', c.closed,
                 'on_time', c.closed_on_time + c.open - c.overdue, 'late', c.closed_late + c.overdue,
                 'on_time_rate', round(100.0 * (c.closed_on_time + c.open - c.overdue)
                                       / nullif(c.closed_on_time + c.closed_late + c.open, 0), 1))
                 ORDER BY c.id), '[]')
                 FROM per_child c),
  'categories', (SELECT json_agg(json_build_object(
                 'code', c.code, 'name', CASE WHEN :en THEN c.name_en ELSE c.name_zh END,
                 'count', coalesce(x.n, 0)) ORDER BY c.ordinal)
               FROM category c LEFT JOIN per_category x ON x.category = c.code),
  'platforms', (SELECT json_agg(json_build_object(
                 'code', p.code, 'name', CASE WHEN :en THEN p.name_en ELSE p.name_zh END,
                 'meetings', (SELECT count(*) FROM meetings mt WHERE mt.platform = p.code),
                 'issues', coalesce(x.n, 0))
                 ORDER BY p.code)
               FROM platform p LEFT JOIN linked x ON x.platform = p.code))"""


def figures(area, en=False):
    """Everything the dashboard shows for ``area`` (``layers.hierarchy.Area``), as one
    JSON-ready dict.

    ``figures`` are the seed document's counts within the area; ``stages``, ``months`` (the
    last 24, Beijing time, by reporting date), ``children`` (the area's districts,
    subdistricts or communities — a community is its own child — with open, closed, on time,
    late and the on-time rate in %), ``categories`` and ``platforms`` (meetings held in the
    area, and the area's issues linked to meetings) are the chart series.
    """
    sql = DASHBOARD.format(communities=area.communities_sql(), children=CHILDREN[area.level])
    return db.scalar(sql, dict(now(), **area.params, en=en))
