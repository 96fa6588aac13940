"""Consultation meetings (协商活动) at venues, linked to the issues they discussed."""
from layers import db
from layers.messages import Refusal
from layers.scope import community_in_scope, in_scope

KINDS = ("party_member", "resident_rep", "heads", "volunteer", "npc_deputy", "cppcc_member")


class MeetingError(Refusal, ValueError):
    """The meeting was refused; ``status`` is the HTTP status, the message says why."""

    def __init__(self, msgid, status=400, **params):
        super().__init__(msgid, **params)
        self.status = status


def create(fields, scope):
    """Record a meeting at a venue of the writer's area; the platform must be one the venue
    serves, the issues must be in the area too. Returns its id."""
    with db.transaction() as conn:
        platforms = [r["platform"] for r in db.rows(
            "SELECT vp.platform FROM venue_platform vp JOIN venue v ON v.id = vp.venue_id"
            f" WHERE vp.venue_id = :v AND {community_in_scope('v.community_id')}",
            {"v": fields["venue_id"], **scope}, conn=conn)]
        if not platforms:
            raise MeetingError("没有这个协商议事场所，或不在您的范围内：%(id)s", 404, id=fields["venue_id"])
        if fields["platform"] not in platforms:
            raise MeetingError("该场所不承担“%(platform)s”平台（可选：%(choices)s）",
                               platform=fields["platform"], choices="、".join(platforms))
        unknown = set(fields["attendee_kinds"]) - set(KINDS)
        if unknown:
            raise MeetingError("未知的参会人员类别：%(kinds)s", kinds="、".join(sorted(unknown)))
        # The meeting (a reference table on Citus) is written before the issues are read from
        # every shard: Citus refuses a write to a reference table after a parallel read in the
        # same transaction. Issues not found roll it back.
        meeting_id = db.scalar(
            "INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count, attendee_kinds,"
            " minutes) VALUES (:venue_id, :platform, CAST(:held_on AS date), :title, :attendee_count,"
            " CAST(:attendee_kinds AS text[]), :minutes) RETURNING id", fields, conn=conn)
        issue_ids = fields.get("issue_ids") or []
        found = {r["id"]: r["community_id"] for r in db.rows(
            f"SELECT i.id, i.community_id FROM issue i WHERE i.id = ANY(CAST(:ids AS int[])) AND "
            f"{in_scope('i.community_id', 'i.grid_id')}", {"ids": issue_ids, **scope}, conn=conn)}
        if set(issue_ids) - set(found):
            raise MeetingError("没有这些诉求，或不在您的范围内：%(ids)s", 404,
                               ids=", ".join(map(str, sorted(set(issue_ids) - set(found)))))
        for issue_id in issue_ids:
            db.execute("INSERT INTO meeting_issue (meeting_id, issue_id, community_id) VALUES (:m, :i, :c)",
                       {"m": meeting_id, "i": issue_id, "c": found[issue_id]}, conn=conn)
    return meeting_id


# The meetings, then their issues in a second query: the links are spread over the shards of
# the issues' communities (Citus cannot run a subquery per meeting row on them).
RECENT = """
    SELECT m.id, m.title, to_char(m.held_on, 'YYYY-MM-DD') AS held_on, m.platform,
           p.name_zh AS platform_name, m.attendee_count, m.attendee_kinds, m.minutes
      FROM meeting m JOIN platform p ON p.code = m.platform
     WHERE m.venue_id = :v ORDER BY m.held_on DESC, m.id DESC LIMIT :n"""
LINKED = """
    SELECT meeting_id, issue_id FROM meeting_issue WHERE meeting_id = ANY(CAST(:ids AS int[]))
     ORDER BY meeting_id, issue_id"""


def _linked(meetings):
    """{meeting id: [issue ids]} of these meetings."""
    found = {}
    for r in db.rows(LINKED, {"ids": [m["id"] for m in meetings]}) if meetings else []:
        found.setdefault(r["meeting_id"], []).append(r["issue_id"])
    return found


def recent(venue_id, limit=10):
    meetings = [dict(r) for r in db.rows(RECENT, {"v": venue_id, "n": limit})]
    linked = _linked(meetings)
    return [{**m, "issue_ids": linked.get(m["id"])} for m in meetings]


# The /meetings page of a viewer's area: the venues to hold a meeting at, the open issues it
# may take up, and the recent meetings.
PAGE_VENUES = f"""
    SELECT v.id, v.name, m.name AS community,
           (SELECT json_agg(json_build_object('code', p.code, 'name', CASE WHEN :en THEN p.name_en ELSE p.name_zh END) ORDER BY p.code)
              FROM venue_platform vp JOIN platform p ON p.code = vp.platform
             WHERE vp.venue_id = v.id) AS platforms
      FROM venue v JOIN community m ON m.id = v.community_id
     WHERE {community_in_scope("v.community_id")} ORDER BY m.id, v.id"""

PAGE_OPEN_ISSUES = f"""
    SELECT i.id, i.title, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name FROM issue i JOIN stage st ON st.code = i.stage
     WHERE st.is_open AND {in_scope("i.community_id", "i.grid_id")}
     ORDER BY i.reported_at DESC LIMIT 200"""

PAGE_RECENT = f"""
    SELECT mt.id, to_char(mt.held_on, 'YYYY-MM-DD') AS held_on, mt.title, v.name AS venue,
           CASE WHEN :en THEN p.name_en ELSE p.name_zh END AS platform, mt.attendee_count
      FROM meeting mt JOIN venue v ON v.id = mt.venue_id JOIN platform p ON p.code = mt.platform
     WHERE {community_in_scope("v.community_id")}
     ORDER BY mt.held_on DESC, mt.id DESC LIMIT 30"""


def page(scope, en=False):
    """{venues, issues, recent} of the /meetings page, within ``scope`` (lists named in English
    when ``en``)."""
    params = {**scope, "en": en}
    recent = [dict(r) for r in db.rows(PAGE_RECENT, params)]
    linked = _linked(recent)
    return {"venues": db.rows(PAGE_VENUES, params), "issues": db.rows(PAGE_OPEN_ISSUES, params),
            "recent": [{**m, "issues": len(linked.get(m["id"], []))} for m in recent]}
