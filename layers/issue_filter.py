"""Issues matching a filter: the one WHERE clause behind the issue list, the dashboard's
links, the exports and the hotspot layer, so a figure and the list it links to always agree.

The definitions are the maintained ones (migration 0006): an issue is open while it has a
deadline (``due_at``), overdue once that has passed, and a closed issue's on-time verdict
(``closed_on_time``) is fixed when it closes. Days and months are Beijing days (UTC+8),
whatever the server's time zone.
"""
import datetime as dt
from dataclasses import dataclass, fields

from layers import db
from layers.hierarchy import CITY, Area
from layers.scope import PUBLIC, in_scope

BEIJING = dt.timezone(dt.timedelta(hours=8))

# A query that shows issues reads them through this FROM: ``i`` the issue, ``st`` its stage,
# ``cat`` its category. The WHERE clause reads ``i`` alone, so that a query that only counts
# or places issues reads ``issue i`` and nothing more.
FROM = """issue i
      JOIN stage st ON st.code = i.stage
      JOIN category cat ON cat.code = i.category"""
LIVELIHOOD = "i.category IN (SELECT code FROM category WHERE livelihood)"

# Overdue at :t: open and past the deadline of its stage (the map's red SLA class). As a
# condition it reads the partial indexes on due_at; as a column it is false once closed.
OVERDUE = "i.due_at < :t"
OVERDUE_COLUMN = f"coalesce({OVERDUE}, false)"

# On time, and late (neither for rejected and merged issues): a closed issue closed within
# the deadlines of the stages it went through, an open one not (yet) overdue.
ON_TIME = "(i.closed_on_time OR i.due_at >= :t)"
LATE = "(NOT i.closed_on_time OR i.due_at < :t)"

LINKED_TO_PLATFORM = """i.id IN (SELECT mi.issue_id FROM meeting_issue mi JOIN meeting mt ON mt.id = mi.meeting_id
                                 WHERE mt.platform = :platform)"""

# A list's total is counted exactly from the tallies or the deadline index where the filter
# allows; otherwise up to this many, and shown as "more than" beyond (a narrower filter
# finds the rest).
COUNT_CAP = 2_000


@dataclass(frozen=True)
class IssueFilter:
    """Which issues; every field None means "any" (and the area the whole installation).

    ``since``/``until`` are inclusive Beijing days of reporting. ``stage`` is ``open`` (any
    open stage) or a stage code (``closed`` is the stage 已办结). ``platform`` keeps issues
    linked to a meeting of that platform; ``overdue``, ``livelihood`` and ``on_time`` keep
    issues for which that is true (or, for ``on_time=False``, late).
    """
    area: Area = CITY
    since: dt.date | None = None
    until: dt.date | None = None
    category: str | None = None
    channel: str | None = None
    stage: str | None = None
    compound: int | None = None
    platform: str | None = None
    overdue: bool | None = None
    livelihood: bool | None = None
    on_time: bool | None = None

    def given(self):
        """The names of the fields that filter (the area aside)."""
        return {f.name for f in fields(self) if f.name != "area" and getattr(self, f.name) is not None}


def day_start(day):
    return dt.datetime.combine(day, dt.time.min, tzinfo=BEIJING)


def now():
    return {"t": dt.datetime.now(dt.timezone.utc)}


def where(f):
    """The WHERE clause for ``f`` over ``issue i``, and its parameters (``:t`` is now)."""
    clauses, params = [f.area.where("i.community_id")], dict(now(), **f.area.params)
    if f.since is not None:
        clauses.append("i.reported_at >= :since")
        params["since"] = day_start(f.since)
    if f.until is not None:
        clauses.append("i.reported_at < :until")
        params["until"] = day_start(f.until + dt.timedelta(days=1))
    for name, column in (("category", "i.category"), ("channel", "i.channel"), ("compound", "i.compound_id")):
        if getattr(f, name) is not None:
            clauses.append(f"{column} = :{name}")
            params[name] = getattr(f, name)
    if f.stage == "open":
        clauses.append("i.due_at IS NOT NULL")
    elif f.stage is not None:
        clauses.append("i.stage = :stage")
        params["stage"] = f.stage
    if f.platform is not None:
        clauses.append(LINKED_TO_PLATFORM)
        params["platform"] = f.platform
    if f.overdue is not None:
        clauses.append(OVERDUE if f.overdue else f"NOT {OVERDUE_COLUMN}")
    if f.livelihood is not None:
        clauses.append(LIVELIHOOD if f.livelihood else f"NOT {LIVELIHOOD}")
    if f.on_time is not None:
        clauses.append(f"{ON_TIME if f.on_time else LATE} IS TRUE")
    return " AND ".join(clauses), params


# The counts behind the dashboard's figures, from the maintained state: the tallies per
# community × stage × category × on-time verdict, the issues reported per Beijing month,
# and the open issues past their deadline (the partial index on community_id, due_at).
TALLY = """SELECT coalesce(sum(t.n), 0) FROM issue_tally t
             JOIN stage st ON st.code = t.stage JOIN category cat ON cat.code = t.category
            WHERE {where}"""
MONTH = "SELECT coalesce(sum(t.n), 0) FROM issue_month t WHERE {where} AND t.month = :since"
OVERDUE_COUNT = f"SELECT count(*) FROM issue i WHERE {{where}} AND {OVERDUE}"
BOUNDED_COUNT = "SELECT count(*) FROM (SELECT 1 FROM issue i WHERE {where} LIMIT :cap + 1) x"


def _whole_month(f):
    return (f.since is not None and f.since.day == 1 and f.until is not None
            and f.until == ((f.since + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)))


def _tally(f, conn, extra=()):
    """Issues of the area by the tallies: stage, category, livelihood, on-time verdict."""
    clauses, params = [f.area.where("t.community_id"), *extra], dict(f.area.params)
    if f.stage == "open":
        clauses.append("st.is_open")
    elif f.stage is not None:
        clauses.append("t.stage = :stage")
        params["stage"] = f.stage
    if f.category is not None:
        clauses.append("t.category = :category")
        params["category"] = f.category
    if f.livelihood is not None:
        clauses.append("cat.livelihood" if f.livelihood else "NOT cat.livelihood")
    return db.scalar(TALLY.format(where=" AND ".join(clauses)), params, conn=conn)


def _overdue(f, conn):
    return db.scalar(OVERDUE_COUNT.format(where=f.area.where("i.community_id")), dict(now(), **f.area.params),
                     conn=conn)


def count(f, conn=None):
    """(how many issues match ``f``, exact): exact from the maintained state when the filter
    allows, else counted up to ``COUNT_CAP`` + 1 and not exact beyond ``COUNT_CAP``."""
    given = f.given()
    with db.joined(conn) as conn:
        if given <= {"stage", "category", "livelihood"}:
            return _tally(f, conn), True
        if given == {"since", "until"} and _whole_month(f):
            return db.scalar(MONTH.format(where=f.area.where("t.community_id")),
                             dict(f.area.params, since=f.since), conn=conn), True
        if given <= {"overdue", "stage"} and f.overdue and f.stage in (None, "open"):
            return _overdue(f, conn), True
        if given == {"on_time"}:
            # on time: closed on time, and open not overdue; late: closed late, and overdue
            closed = _tally(f, conn, ["t.on_time = 1" if f.on_time else "t.on_time = 2"])
            if not f.on_time:
                return closed + _overdue(f, conn), True
            return closed + _tally(IssueFilter(area=f.area, stage="open"), conn) - _overdue(f, conn), True
        clause, params = where(f)
        n = db.scalar(BOUNDED_COUNT.format(where=clause), dict(params, cap=COUNT_CAP), conn=conn)
        return min(n, COUNT_CAP), n <= COUNT_CAP


# The reporter is never read here; a title stays withheld until the issue is taken up as a
# topic, outside the viewer's area; an open issue's Beijing days past its due date
# (``days_overdue``: 0 is due today, NULL when closed) and its grid leader (masked outside
# the viewer's area). ``{page}`` is the page's issues, newest first: many
# matches are found soonest by walking the index on (reported_at, id) and filtering; few are
# found by filtering first (the indexes on stage, community, compound, reported_at) and
# sorting them, since a walk would pass most of the history before it had a page.
LIST = f"""
    WITH page AS ({{page}})
    SELECT i.id, CASE WHEN {in_scope("i.community_id", "i.grid_id")} OR i.stage <> 'reported'
                      THEN i.title END AS title,
           i.stage, CASE WHEN :en THEN st.name_en ELSE st.name_zh END AS stage_name,
           CASE WHEN :en THEN cat.name_en ELSE cat.name_zh END AS category_name,
           m.name AS community, c.name AS compound,
           to_char(i.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on,
           CASE WHEN isfinite(i.due_at) THEN (CAST(:t AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date
                - (i.due_at AT TIME ZONE 'Asia/Shanghai')::date END AS days_overdue,
           i.due_at < :t AS overdue,
           CASE WHEN {in_scope("i.community_id", "i.grid_id")} THEN g.leader_name
                ELSE mask_name(g.leader_name) END AS grid_leader
      FROM page JOIN issue i ON i.id = page.id AND i.community_id = page.community_id
      JOIN stage st ON st.code = i.stage
      JOIN category cat ON cat.code = i.category
      JOIN community m ON m.id = i.community_id
      LEFT JOIN compound c ON c.id = i.compound_id
      LEFT JOIN grid g ON g.id = i.grid_id
     ORDER BY i.reported_at DESC, i.id DESC"""
WALK = """SELECT i.id, i.community_id FROM issue i WHERE {where}
          ORDER BY i.reported_at DESC, i.id DESC LIMIT :limit OFFSET :offset"""
FILTER_FIRST = """
    WITH found AS MATERIALIZED (SELECT i.id, i.community_id, i.reported_at FROM issue i WHERE {where})
    SELECT id, community_id FROM found ORDER BY reported_at DESC, id DESC LIMIT :limit OFFSET :offset"""
FEW = 20_000   # matches up to which filtering first is the cheaper way to a page


def issues(f, *, limit, offset=0, scope=PUBLIC, en=False):
    """(total, exact, rows): how many issues match ``f`` (see ``count``), and one page of
    them, newest first. ``scope`` is the viewer's area (``layers.scope``)."""
    clause, params = where(f)
    with db.transaction() as conn:
        total, exact = count(f, conn)
        if total == 0:
            return total, exact, []
        page = (FILTER_FIRST if exact and total <= FEW else WALK).format(where=clause)
        found = db.rows(LIST.format(page=page), dict(params, **scope, limit=limit, offset=offset, en=en), conn=conn)
    return total, exact, [dict(r) for r in found]


CHOICES = """
    SELECT json_build_object(
      'stage', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                ORDER BY ordinal) FROM stage),
      'category', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                   ORDER BY ordinal) FROM category),
      'channel', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                  ORDER BY code) FROM channel),
      'platform', (SELECT json_agg(json_build_array(code, CASE WHEN :en THEN name_en ELSE name_zh END)
                                   ORDER BY code) FROM platform))"""


def choices(en=False):
    """The values each coded filter may take, as {field: [[code, name], …]}."""
    return db.scalar(CHOICES, {"en": en})
