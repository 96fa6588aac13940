"""公示: what a community publishes — topics under way and results — with no personal data."""
from layers import db

COMMUNITIES = "SELECT id, name FROM community ORDER BY id"

# Topics: taken up for consultation and not yet ended. Results: published (publish onward).
TOPICS = """
    SELECT i.id, i.title, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name, i.stage, CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END AS category, c.name AS compound,
           to_char(i.stage_changed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS since
      FROM issue i JOIN stage st ON st.code = i.stage JOIN category cat ON cat.code = i.category
      LEFT JOIN compound c ON c.id = i.compound_id
     WHERE i.community_id = :id AND i.stage IN ('topic', 'notice', 'consult', 'implement')
     ORDER BY st.ordinal DESC, i.stage_changed_at DESC"""

RESULTS = """
    SELECT i.id, i.title, i.result, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name, CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END AS category, c.name AS compound,
           to_char(coalesce(p.at, i.stage_changed_at) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS published_on,
           i.satisfaction,
           (SELECT count(*) FROM meeting_issue mi WHERE mi.community_id = i.community_id AND mi.issue_id = i.id) AS meetings
      FROM issue i JOIN stage st ON st.code = i.stage JOIN category cat ON cat.code = i.category
      LEFT JOIN compound c ON c.id = i.compound_id
      LEFT JOIN LATERAL (SELECT at FROM issue_event e WHERE e.community_id = i.community_id AND e.issue_id = i.id AND e.to_stage = 'publish'
                          ORDER BY at DESC LIMIT 1) p ON true
     WHERE i.community_id = :id AND i.stage IN ('publish', 'feedback', 'closed') AND i.result IS NOT NULL
       AND coalesce(p.at, i.stage_changed_at) > now() - interval '1 year'
     ORDER BY coalesce(p.at, i.stage_changed_at) DESC"""


def communities():
    return [dict(r) for r in db.rows(COMMUNITIES)]


def community_notice(community_id, en=False):
    """{name, topics, results} for a community (lists named in English when ``en``), or None if
    there is no such community; ``satisfaction`` is a code."""
    with db.transaction() as conn:
        rows = db.rows("SELECT name FROM community WHERE id = :id", {"id": community_id}, conn=conn)
        if not rows:
            return None
        return {"name": rows[0]["name"],
                "topics": [dict(r) for r in db.rows(TOPICS, {"id": community_id, "en": en}, conn=conn)],
                "results": [dict(r) for r in db.rows(RESULTS, {"id": community_id, "en": en}, conn=conn)]}
