"""Patrols (巡查打卡): a grid leader's visit to a compound, recorded once per idempotency key,
only inside the recorder's area, and refused when the phone was too far from the compound.

The last visit per compound is kept in ``patrol_state`` by a trigger (migration 0016); the
patrol color mode, the dashboard's coverage and 我的范围 read it.
"""
import hashlib
import json

from layers import db
from layers.messages import Refusal
from layers.scope import in_scope

KEY_LOCK = 7_146_016  # advisory-lock class of patrol idempotency keys


class PatrolError(Refusal):
    """Refused; ``status`` is the HTTP status, the message says why."""

    def __init__(self, msgid, status=400, **params):
        super().__init__(msgid, **params)
        self.status = status


def fingerprint(fields, actor):
    """A hash of who recorded what: a retry carries the same, another request does not."""
    photo = fields.get("photo")
    text = json.dumps({**{k: v for k, v in fields.items() if k != "photo"}, "actor": actor,
                       "photo": hashlib.sha256(photo[1]).hexdigest() if photo else None},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# The compound inside the recorder's area, and the distance in metres from the position to it
# (0 inside it).
COMPOUND = f"""
    SELECT c.id, c.community_id, c.name,
           CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE
                ST_Distance(c.geom::geography,
                            ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) END AS distance_m
      FROM compound c
     WHERE c.id = :compound_id AND {in_scope("c.community_id", "c.grid_id")}"""

ISSUES = f"""SELECT i.id, i.community_id FROM issue i
              WHERE i.id = ANY(CAST(:ids AS int[])) AND {in_scope("i.community_id", "i.grid_id")}"""

# The issues recorded with these idempotency keys (issue_request_key, migration 0014), inside
# the recorder's area: the keys first, then their issues by community and id (the keys are
# distributed by key, the issues by community: Citus joins them only this way).
ISSUE_KEYS = "SELECT key, issue_id, community_id FROM issue_request_key WHERE key = ANY(CAST(:keys AS text[]))"
KEYED_ISSUES = f"""SELECT i.id, i.community_id FROM issue i
                    WHERE i.community_id = ANY(CAST(:communities AS int[])) AND i.id = ANY(CAST(:ids AS int[]))
                      AND {in_scope("i.community_id", "i.grid_id")}"""

INSERT = """
    INSERT INTO patrol (community_id, compound_id, user_id, actor, visited_at, geom, distance_m,
                        placed_manually, nothing_found, note, idempotency_key, fingerprint)
    VALUES (:community_id, :compound_id, :user_id, :actor, coalesce(:visited_at, now()),
            CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                 ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
            :distance_m, :placed_manually, :nothing_found, :note, :key, :fingerprint)
    RETURNING id"""


def create(fields, actor, user_id, scope, max_distance_m, key=None):
    """Record a patrol. ``fields``: compound_id, lon/lat (None when unknown), placed_manually,
    nothing_found, note, issue_ids, issue_keys (idempotency keys of issue records, for issues
    recorded offline: the ids they were stored as), visited_at (None: now), photo ((mime, bytes)
    or None).
    Returns (patrol dict, created). A key already stored for the same request returns that
    patrol and created=False; for another request it is refused (422)."""
    with db.transaction() as conn:
        fingerprinted = fingerprint(fields, actor) if key is not None else None
        if key is not None:
            db.execute("SELECT pg_advisory_xact_lock(:lock, hashtext(:key))",
                       {"lock": KEY_LOCK, "key": key}, conn=conn)
            stored = db.rows("SELECT id, fingerprint FROM patrol WHERE idempotency_key = :key",
                             {"key": key}, conn=conn)
            if stored:
                if stored[0]["fingerprint"] != fingerprinted:
                    raise PatrolError("这个 Idempotency-Key 已用于另一次不同的巡查；新的巡查请用新的 key", 422)
                return get(stored[0]["id"], scope, conn=conn), False
        found = db.rows(COMPOUND, {"compound_id": fields["compound_id"], "lon": fields["lon"],
                                   "lat": fields["lat"], **scope}, conn=conn)
        if not found:
            raise PatrolError("没有这个楼院，或不在您的范围内", 404)
        compound = found[0]
        distance = compound["distance_m"]
        if distance is not None and distance > max_distance_m and not fields["placed_manually"]:
            raise PatrolError("您的位置距离“%(compound)s”%(distance)s 米，超过允许的 %(max)s 米，不能打卡；"
                              "请走近楼院再试，或在地图上手动选点（将标记为手动定位）", 422,
                              compound=compound["name"], distance=round(distance), max=round(max_distance_m))
        issues = db.rows(ISSUES, {"ids": fields["issue_ids"], **scope}, conn=conn) if fields["issue_ids"] else []
        missing = sorted(set(fields["issue_ids"]) - {r["id"] for r in issues})
        if missing:
            raise PatrolError("issue_ids：没有诉求 %(ids)s，或不在您的范围内", 400,
                              ids=", ".join(map(str, missing)))
        keys = fields.get("issue_keys") or []
        keyed = _keyed_issues(keys, scope, conn) if keys else []
        unknown = sorted(set(keys) - {r["key"] for r in keyed})
        if unknown:
            raise PatrolError("issue_keys：没有以 %(keys)s 记录的诉求（尚未同步？），或不在您的范围内", 400,
                              keys=", ".join(unknown))
        issues = list({r["id"]: r for r in [*issues, *keyed]}.values())
        patrol_id = db.scalar(INSERT, {
            "community_id": compound["community_id"], "compound_id": compound["id"], "user_id": user_id,
            "actor": actor, "visited_at": fields["visited_at"], "lon": fields["lon"], "lat": fields["lat"],
            "distance_m": distance, "placed_manually": fields["placed_manually"],
            "nothing_found": fields["nothing_found"], "note": fields["note"], "key": key,
            "fingerprint": fingerprinted}, conn=conn)
        for issue in issues:
            db.execute("INSERT INTO patrol_issue VALUES (:c, :p, :i, :ic)",
                       {"c": compound["community_id"], "p": patrol_id, "i": issue["id"],
                        "ic": issue["community_id"]}, conn=conn)
        if fields.get("photo"):
            db.execute("INSERT INTO patrol_photo VALUES (:c, :p, :m, :b)",
                       {"c": compound["community_id"], "p": patrol_id, "m": fields["photo"][0],
                        "b": fields["photo"][1]}, conn=conn)
        return get(patrol_id, scope, conn=conn), True


def _keyed_issues(keys, scope, conn):
    """[{key, id, community_id}] of the issues recorded with ``keys`` inside ``scope``."""
    stored = db.rows(ISSUE_KEYS, {"keys": keys}, conn=conn)
    if not stored:
        return []
    found = {(r["community_id"], r["id"]) for r in db.rows(KEYED_ISSUES, {
        "communities": sorted({r["community_id"] for r in stored}),
        "ids": sorted({r["issue_id"] for r in stored}), **scope}, conn=conn)}
    return [{"key": r["key"], "id": r["issue_id"], "community_id": r["community_id"]}
            for r in stored if (r["community_id"], r["issue_id"]) in found]


PATROLS = f"""
    SELECT p.id, p.compound_id, c.name AS compound, p.actor,
           to_char(p.visited_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS visited_at,
           ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, round(p.distance_m)::int AS distance_m,
           p.placed_manually, p.nothing_found, p.note,
           EXISTS (SELECT 1 FROM patrol_photo f WHERE f.patrol_id = p.id AND f.community_id = p.community_id)
               AS has_photo,
           coalesce((SELECT json_agg(pi.issue_id ORDER BY pi.issue_id) FROM patrol_issue pi
                      WHERE pi.patrol_id = p.id AND pi.community_id = p.community_id), '[]') AS issue_ids
      FROM patrol p JOIN compound c ON c.id = p.compound_id
     WHERE {{where}} AND {in_scope("c.community_id", "c.grid_id")}
     ORDER BY p.visited_at DESC, p.id DESC
     LIMIT :limit"""


def get(patrol_id, scope, conn=None):
    rows = db.rows(PATROLS.format(where="p.id = :id"), {"id": patrol_id, "limit": 1, **scope}, conn=conn)
    return dict(rows[0]) if rows else None


def recent(compound_id, scope, limit=20):
    """The latest visits of a compound inside the viewer's area; None when it is not there."""
    with db.transaction() as conn:
        if not db.rows(f"SELECT 1 FROM compound c WHERE c.id = :id AND {in_scope('c.community_id', 'c.grid_id')}",
                       {"id": compound_id, **scope}, conn=conn):
            return None
        return [dict(r) for r in db.rows(PATROLS.format(where="p.compound_id = :compound_id"),
                                         {"compound_id": compound_id, "limit": limit, **scope}, conn=conn)]


def photo(patrol_id, scope):
    """(mime, bytes) of a patrol's photo inside the viewer's area, else None."""
    rows = db.rows(f"""SELECT f.mime, f.content FROM patrol_photo f
                         JOIN patrol p ON p.id = f.patrol_id AND p.community_id = f.community_id
                         JOIN compound c ON c.id = p.compound_id
                        WHERE f.patrol_id = :id AND {in_scope("c.community_id", "c.grid_id")}""",
                   {"id": patrol_id, **scope})
    return (rows[0]["mime"], bytes(rows[0]["content"])) if rows else None


# Coverage: the share of an area's compounds visited in the last 7 and 30 days, per community
# and per grid, from the kept last visit (never the patrol history).
COVERAGE = """
WITH a AS MATERIALIZED ({communities}),
c AS MATERIALIZED (
    SELECT c.id, c.community_id, c.grid_id, s.last_patrol_at
      FROM compound c JOIN a ON a.community_id = c.community_id
      LEFT JOIN patrol_state s ON s.community_id = c.community_id AND s.compound_id = c.id),
per AS (
    SELECT o, level, id, name, compounds, week, month FROM (
        SELECT 'community' AS level, m.id, m.name, count(*)::int AS compounds,
               count(*) FILTER (WHERE c.last_patrol_at > :t - interval '7 days')::int AS week,
               count(*) FILTER (WHERE c.last_patrol_at > :t - interval '30 days')::int AS month, 0 AS o
          FROM c JOIN community m ON m.id = c.community_id GROUP BY m.id, m.name
        UNION ALL
        SELECT 'grid', g.id, m.name || ' ' || g.name, count(*)::int,
               count(*) FILTER (WHERE c.last_patrol_at > :t - interval '7 days')::int,
               count(*) FILTER (WHERE c.last_patrol_at > :t - interval '30 days')::int, 1
          FROM c JOIN grid g ON g.id = c.grid_id JOIN community m ON m.id = g.community_id
         GROUP BY g.id, g.name, m.name) x
     ORDER BY o, id
     LIMIT 1000)
SELECT level, id, name, compounds, week, month,
       round(100.0 * week / nullif(compounds, 0))::int AS week_pct,
       round(100.0 * month / nullif(compounds, 0))::int AS month_pct
  FROM per ORDER BY o, id"""


# Above a subdistrict, coverage is given per child area (a city's districts, a district's
# subdistricts): a row per community and grid of a whole city would fill the page with
# thousands of rows that grow with the city.
COVERAGE_BY_AREA = """
WITH a AS MATERIALIZED ({communities}),
per AS (
    SELECT p.id, p.name, count(*)::int AS compounds,
           count(*) FILTER (WHERE s.last_patrol_at > :t - interval '7 days')::int AS week,
           count(*) FILTER (WHERE s.last_patrol_at > :t - interval '30 days')::int AS month
      FROM compound c JOIN a ON a.community_id = c.community_id
      JOIN community m ON m.id = c.community_id JOIN subdistrict sd ON sd.id = m.subdistrict_id
      {join}
      LEFT JOIN patrol_state s ON s.community_id = c.community_id AND s.compound_id = c.id
     GROUP BY p.id, p.name)
SELECT '{level}' AS level, id, name, compounds, week, month,
       round(100.0 * week / nullif(compounds, 0))::int AS week_pct,
       round(100.0 * month / nullif(compounds, 0))::int AS month_pct
  FROM per ORDER BY id"""
CHILD_AREAS = {   # an area's level → (the level of its rows, the join naming them p)
    "city": ("district", "JOIN district p ON p.id = sd.district_id"),
    "district": ("subdistrict", "JOIN subdistrict p ON p.id = sd.id"),
}


def coverage(area, t):
    """Rows of (level, id, name, compounds, week, month, week_pct, month_pct) for ``area``
    (layers.hierarchy.Area) at the moment ``t``: per community and grid within a subdistrict
    or less, per district in a city and per subdistrict in a district."""
    if area.level in CHILD_AREAS:
        level, join = CHILD_AREAS[area.level]
        sql = COVERAGE_BY_AREA.format(communities=area.communities_sql(), level=level, join=join)
    else:
        sql = COVERAGE.format(communities=area.communities_sql())
    return [dict(r) for r in db.rows(sql, {**area.params, "t": t})]
