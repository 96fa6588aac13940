"""Consultation meetings (协商活动) at venues, linked to the issues they discussed."""
from layers import db
from layers.scope import in_scope

KINDS = ("party_member", "resident_rep", "heads", "volunteer", "npc_deputy", "cppcc_member")


class MeetingError(ValueError):
    """The meeting was refused; the message says why (zh-CN)."""


def create(fields, scope):
    """Record a meeting; the platform must be one the venue serves. Returns its id."""
    with db.transaction() as conn:
        platforms = [r["platform"] for r in db.rows(
            "SELECT platform FROM venue_platform WHERE venue_id = :v", {"v": fields["venue_id"]}, conn=conn)]
        if not platforms:
            raise MeetingError(f"没有这个协商议事场所：{fields['venue_id']}")
        if fields["platform"] not in platforms:
            raise MeetingError(f"该场所不承担“{fields['platform']}”平台（可选：{'、'.join(platforms)}）")
        unknown = set(fields["attendee_kinds"]) - set(KINDS)
        if unknown:
            raise MeetingError(f"未知的参会人员类别：{'、'.join(sorted(unknown))}")
        issue_ids = fields.get("issue_ids") or []
        found = {r["id"] for r in db.rows(
            f"SELECT i.id FROM issue i WHERE i.id = ANY(CAST(:ids AS int[])) AND "
            f"{in_scope('i.community_id', 'i.grid_id')}", {"ids": issue_ids, **scope}, conn=conn)}
        if set(issue_ids) - found:
            raise MeetingError(f"没有这些诉求，或不在您的范围内：{sorted(set(issue_ids) - found)}")
        meeting_id = db.scalar(
            "INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count, attendee_kinds,"
            " minutes) VALUES (:venue_id, :platform, CAST(:held_on AS date), :title, :attendee_count,"
            " CAST(:attendee_kinds AS text[]), :minutes) RETURNING id", fields, conn=conn)
        for issue_id in issue_ids:
            db.execute("INSERT INTO meeting_issue VALUES (:m, :i)", {"m": meeting_id, "i": issue_id},
                       conn=conn)
    return meeting_id


RECENT = """
    SELECT m.id, m.title, to_char(m.held_on, 'YYYY-MM-DD') AS held_on, m.platform,
           p.name_zh AS platform_name, m.attendee_count, m.attendee_kinds, m.minutes,
           (SELECT json_agg(mi.issue_id ORDER BY mi.issue_id) FROM meeting_issue mi
             WHERE mi.meeting_id = m.id) AS issue_ids
      FROM meeting m JOIN platform p ON p.code = m.platform
     WHERE m.venue_id = :v ORDER BY m.held_on DESC, m.id DESC LIMIT :n"""


def recent(venue_id, limit=10):
    return [dict(r) for r in db.rows(RECENT, {"v": venue_id, "n": limit})]


def recent_titles(limit=3):
    """{venue id: [(date, title), …]} of each venue's latest meetings, for the map popups."""
    rows = db.rows("""SELECT venue_id, to_char(held_on, 'YYYY-MM-DD') AS held_on, title FROM (
                        SELECT m.*, row_number() OVER (PARTITION BY venue_id ORDER BY held_on DESC, id DESC) n
                          FROM meeting m) x WHERE n <= :n ORDER BY venue_id, held_on DESC""", {"n": limit})
    out = {}
    for r in rows:
        out.setdefault(r["venue_id"], []).append((r["held_on"], r["title"]))
    return out
