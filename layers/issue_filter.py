"""Issues matching a filter: the one WHERE clause behind the issue list, the dashboard's
links and the hotspot layer, so a figure and the list it links to always agree.

Days and months are Beijing days (UTC+8), whatever the server's time zone.
"""
import datetime as dt
from dataclasses import dataclass

from layers import db
from layers.issues import SLA, STATE_NOW
from layers.scope import PUBLIC, in_scope

BEIJING = dt.timezone(dt.timedelta(hours=8))

# Every query here reads issues through this FROM: ``s`` the state now (stage and since, as
# the map's SLA colors read it), ``i`` the issue, ``st`` its stage, ``cat`` its category.
FROM = f"""({STATE_NOW}) s JOIN issue i ON i.id = s.id
      JOIN stage st ON st.code = s.stage
      JOIN category cat ON cat.code = i.category"""

# Overdue: open and longer in its stage than the stage's deadline (the map's red SLA class).
OVERDUE = f"(({SLA}) = 3)"

# On time (NULL for rejected and merged issues, which are not counted either way):
# - closed within the sum of the deadlines of the open stages it went through (from its event
#   log), counted from reporting to closing;
# - open and not overdue in its current stage.
ON_TIME = f"""(CASE
    WHEN s.stage = 'closed' THEN
        coalesce(i.closed_at, s.since) - i.reported_at <= make_interval(days => (
            SELECT coalesce(sum(d.deadline_days), 0)::int FROM stage d
             WHERE d.is_open AND d.code IN (SELECT e.to_stage FROM issue_event e WHERE e.issue_id = i.id)))
    WHEN st.is_open THEN NOT {OVERDUE}
END)"""

LINKED_TO_PLATFORM = """EXISTS (SELECT 1 FROM meeting_issue mi JOIN meeting mt ON mt.id = mi.meeting_id
                        WHERE mi.issue_id = i.id AND mt.platform = :platform)"""


@dataclass(frozen=True)
class IssueFilter:
    """Which issues; every field None means "any".

    ``since``/``until`` are inclusive Beijing days of reporting. ``stage`` is ``open`` (any
    open stage) or a stage code (``closed`` is the stage 已办结). ``platform`` keeps issues
    linked to a meeting of that platform; ``overdue``, ``livelihood`` and ``on_time`` keep
    issues for which that is true (or, for ``on_time=False``, not on time).
    """
    since: dt.date | None = None
    until: dt.date | None = None
    category: str | None = None
    channel: str | None = None
    stage: str | None = None
    community: int | None = None
    compound: int | None = None
    platform: str | None = None
    overdue: bool | None = None
    livelihood: bool | None = None
    on_time: bool | None = None


def day_start(day):
    return dt.datetime.combine(day, dt.time.min, tzinfo=BEIJING)


def where(f):
    """The WHERE clause for ``f`` over ``FROM``, and its parameters (``:t`` is now)."""
    clauses, params = [], {"t": dt.datetime.now(dt.timezone.utc)}
    if f.since is not None:
        clauses.append("i.reported_at >= :since")
        params["since"] = day_start(f.since)
    if f.until is not None:
        clauses.append("i.reported_at < :until")
        params["until"] = day_start(f.until + dt.timedelta(days=1))
    for name, column in (("category", "i.category"), ("channel", "i.channel"),
                         ("community", "i.community_id"), ("compound", "i.compound_id")):
        if getattr(f, name) is not None:
            clauses.append(f"{column} = :{name}")
            params[name] = getattr(f, name)
    if f.stage == "open":
        clauses.append("st.is_open")
    elif f.stage is not None:
        clauses.append("s.stage = :stage")
        params["stage"] = f.stage
    if f.platform is not None:
        clauses.append(LINKED_TO_PLATFORM)
        params["platform"] = f.platform
    if f.overdue is not None:
        clauses.append(OVERDUE if f.overdue else f"NOT {OVERDUE}")
    if f.livelihood is not None:
        clauses.append("cat.livelihood" if f.livelihood else "NOT cat.livelihood")
    if f.on_time is not None:
        clauses.append(f"{ON_TIME} IS {'TRUE' if f.on_time else 'FALSE'}")
    return " AND ".join(clauses) or "TRUE", params


# The reporter is never read here; a title stays withheld until the issue is taken up as a
# topic, outside the viewer's area.
LIST = f"""
    SELECT i.id, CASE WHEN {in_scope("i.community_id", "i.grid_id")} OR s.stage <> 'reported'
                      THEN i.title END AS title,
           s.stage, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name,
           CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END AS category_name,
           m.name AS community, c.name AS compound,
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on
      FROM {FROM}
      JOIN community m ON m.id = i.community_id
      LEFT JOIN compound c ON c.id = i.compound_id
     WHERE {{where}}
     ORDER BY i.reported_at DESC, i.id DESC
     LIMIT :limit OFFSET :offset"""

COUNT = f"SELECT count(*) FROM {FROM} WHERE {{where}}"


def issues(f, *, limit, offset=0, scope=PUBLIC, en=False):
    """(total, rows): how many issues match ``f``, and one page of them, newest first.
    ``scope`` is the viewer's area (``layers.scope``)."""
    clause, params = where(f)
    with db.transaction() as conn:
        total = db.scalar(COUNT.format(where=clause), params, conn=conn)
        found = db.rows(LIST.format(where=clause),
                        dict(params, **scope, limit=limit, offset=offset, en=en), conn=conn)
    return total, [dict(r) for r in found]


CHOICES = """
    SELECT json_build_object(
      'stage', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                ORDER BY ordinal) FROM stage),
      'category', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                   ORDER BY ordinal) FROM category),
      'channel', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                  ORDER BY code) FROM channel),
      'platform', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                   ORDER BY code) FROM platform),
      'community', (SELECT json_agg(json_build_array(id, name) ORDER BY id) FROM community))"""


def choices(en=False):
    """The values each coded filter may take, as {field: [[code, name], …]}."""
    return db.scalar(CHOICES, {"en": en})
