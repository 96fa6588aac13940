"""Issues as Open311 GeoReport v2 services and service requests, built as JSON by PostGIS.

What a request shows is what the public may see (DOMAIN.md, personal data): never the
reporter; the resident's text only once the issue was taken up as a topic, and then with
anything that looks like a phone, ID-card or account number blanked out.
"""
import re

from layers import db

# Runs of 7+ digits (mobile and fixed-line numbers, ID cards, accounts) and 0371-12345678.
# One pattern for Python and for PostgreSQL's regexp_replace (it reads the same in both).
IDENTIFYING_NUMBER = r"[0-9]{7,}|0[0-9]{2,3}-[0-9]{7,8}"
BLANK = "***"


def redact(text):
    return re.sub(IDENTIFYING_NUMBER, BLANK, text)


def _iso(column):
    """A timestamptz as W3C datetime in Beijing time (China has no daylight saving)."""
    return f"""to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')"""


def _redacted(column):
    return f"regexp_replace({column}, :identifying, '{BLANK}', 'g')"


SERVICES = """
    SELECT coalesce(json_agg(json_build_object(
               'service_code', code,
               'service_name', CASE WHEN :en THEN name_en ELSE name_zh END,
               'description', CASE WHEN :en THEN description_en ELSE description_zh END,
               'metadata', false, 'type', 'realtime', 'keywords', keywords,
               'group', CASE WHEN :en THEN group_en ELSE group_zh END) ORDER BY ordinal), '[]')::text
      FROM category"""

# Taken up as a topic: from 'topic' to 'closed'. A rejected or merged issue may never have
# been one, so its text stays internal too.
PUBLIC_TEXT = "i.stage NOT IN ('reported', 'rejected', 'merged')"

REQUEST = f"""json_build_object(
    'service_request_id', i.id::text,
    'status', CASE WHEN st.is_open THEN 'open' ELSE 'closed' END,
    'status_notes', {_redacted(f"CASE WHEN i.stage IN ('rejected', 'merged') THEN i.stage_reason "
                               f"WHEN {PUBLIC_TEXT} THEN i.result END")},
    'service_name', CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END,
    'service_code', i.category,
    'description', CASE WHEN {PUBLIC_TEXT}
                        THEN {_redacted("coalesce(nullif(i.description, ''), i.title)")} END,
    'agency_responsible', m.name,
    'service_notice', CASE WHEN :en THEN st.name_en ELSE st.name_zh END,
    'requested_datetime', {_iso("i.reported_at")},
    'updated_datetime', {_iso("greatest(i.stage_changed_at, (SELECT max(e.at) FROM issue_event e "
                               "WHERE e.community_id = i.community_id AND e.issue_id = i.id))")},
    'expected_datetime', CASE WHEN st.is_open
                              THEN {_iso("i.stage_changed_at + make_interval(days => st.deadline_days)")} END,
    'address', m.name || ' ' || c.name,
    'address_id', NULL, 'zipcode', NULL,
    'lat', round(ST_Y(i.geom)::numeric, 6), 'long', round(ST_X(i.geom)::numeric, 6),
    'media_url', NULL)"""

# One page by the index on (reported_at DESC, id DESC), then its requests built; the total is
# a count over the same window (the view bounds it to 90 days), never a window function
# that would build every matching request first.
REQUESTS = f"""
    WITH page AS (
        SELECT i.id, i.community_id, i.reported_at FROM issue i
         WHERE {{where}}
         ORDER BY i.reported_at DESC, i.id DESC
         LIMIT :limit OFFSET :offset)
    SELECT coalesce(json_agg({REQUEST} ORDER BY p.reported_at DESC, p.id DESC), '[]')::text AS body
      FROM page p JOIN issue i ON i.id = p.id AND i.community_id = p.community_id
      JOIN stage st ON st.code = i.stage JOIN category cat ON cat.code = i.category
      JOIN community m ON m.id = i.community_id LEFT JOIN compound c ON c.id = i.compound_id"""
TOTAL = "SELECT count(*) FROM issue i WHERE {where}"


def services(en=False):
    """services.json: every category as an Open311 service (JSON text)."""
    return db.scalar(SERVICES, {"en": en})


def service_codes():
    return {r["code"] for r in db.rows("SELECT code FROM category")}


def service_name_zh(code):
    return db.scalar("SELECT name_zh FROM category WHERE code = :c", {"c": code})


def requests(*, ids=None, codes=None, since=None, until=None, open_states=None, limit=50, offset=0,
             en=False):
    """(JSON text of one page of requests, newest first; how many match in all).

    ``ids`` overrides every other filter, as the spec says. ``open_states`` is the set of
    open-ness values wanted (open → true, closed → false); None wants both.
    """
    where, params = [], {"limit": limit, "offset": offset, "en": en, "identifying": IDENTIFYING_NUMBER}
    if ids is not None:
        where.append("i.id = ANY(CAST(:ids AS int[]))")
        params["ids"] = list(ids)
    else:
        if codes is not None:
            where.append("i.category = ANY(CAST(:codes AS text[]))")
            params["codes"] = list(codes)
        if since is not None:
            where.append("i.reported_at >= :since")
            params["since"] = since
        if until is not None:
            where.append("i.reported_at <= :until")
            params["until"] = until
        if open_states is not None:  # an issue is open while it has a deadline (due_at)
            where.append("(i.due_at IS NOT NULL) = ANY(CAST(:open_states AS boolean[]))")
            params["open_states"] = list(open_states)
    clause = " AND ".join(where) or "TRUE"
    with db.transaction() as conn:
        body = db.scalar(REQUESTS.format(where=clause), params, conn=conn)
        total = db.scalar(TOTAL.format(where=clause), params, conn=conn)
    return body, total


def reply_days():
    """Days the community has to decide on a new issue (the deadline of stage 'reported')."""
    return db.scalar("SELECT deadline_days FROM stage WHERE code = 'reported'")
