"""The issue workflow: record an issue, move it through the six steps, claim and comment.

Every change is one transaction: the issue row (checked against its ``version``, so a stale
edit is refused) and its event-log entry are written together or not at all. The database
also refuses an illegal stage change (trigger ``issue_stage_guard``).
"""
import hashlib
import json

import sqlalchemy as sa

from layers import db, faults
from layers.messages import Refusal
from layers.scope import community_in_scope, in_scope

ORDER = ["reported", "topic", "notice", "consult", "implement", "publish", "feedback", "closed"]
ENDINGS = ("rejected", "merged")
SATISFACTION = ("satisfied", "mostly_satisfied", "unsatisfied")
IN_SCOPE = in_scope("i.community_id", "i.grid_id")
KEY_LOCK = 7_146_014  # advisory-lock class of idempotency keys (migrate.py holds 7_146_146)


class WorkflowError(Refusal):
    """Refused; ``status`` is the HTTP status to answer with, the message says why."""

    def __init__(self, msgid, status=409, **params):
        super().__init__(msgid, **params)
        self.status = status


class KeyReused(WorkflowError):
    """An idempotency key already stored for a different request."""

    def __init__(self):
        super().__init__("这个 Idempotency-Key 已用于另一份不同的诉求；新的诉求请用新的 key", 422)


def fingerprint(fields, actor):
    """A hash of who recorded what: a retry carries the same, another request does not."""
    photo = fields.get("photo")
    text = json.dumps({**{k: v for k, v in fields.items() if k != "photo"}, "actor": actor,
                       "photo": hashlib.sha256(photo[1]).hexdigest() if photo else None},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@faults.retried
def create(fields, actor, scope, key=None):
    """Record an issue at (lon, lat) in WGS84; PostGIS fills community, grid and compound.
    Returns (id, created). A point outside the subdistrict is refused (status 400), one outside
    the recorder's area too (status 403), and nothing is written.

    With an idempotency ``key`` the issue is stored once: a retry with the same key and the
    same request returns the first issue's id and created=False; the same key with another
    request is refused (KeyReused). Retries of one key queue behind a transaction-scoped lock,
    and the key's primary key backs it up."""
    try:
        with db.transaction() as conn:
            if key is not None:
                fingerprinted = fingerprint(fields, actor)
                db.execute("SELECT pg_advisory_xact_lock(:lock, hashtext(:key))",
                           {"lock": KEY_LOCK, "key": key}, conn=conn)
                stored = db.rows("SELECT issue_id, fingerprint FROM issue_request_key WHERE key = :key",
                                 {"key": key}, conn=conn)
                if stored:
                    if stored[0]["fingerprint"] != fingerprinted:
                        raise KeyReused()
                    return stored[0]["issue_id"], False
            # The community first, on the coordinator: on Citus it routes the INSERT to its shard
            # (docs/scaling.md §3.1); issue_locate checks it and fills grid and compound.
            community = db.scalar(
                "SELECT id FROM community WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
                " ORDER BY id LIMIT 1", fields, conn=conn)
            if community is None:
                raise WorkflowError("该位置不在中心路街道范围内，无法登记诉求", 400)
            issue_id = db.scalar(
                "INSERT INTO issue (community_id, title, description, category, channel, geom) VALUES"
                " (:community, :title, :description, :category, :channel,"
                "  ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id",
                {**fields, "community": community}, conn=conn)
            if not db.scalar(f"SELECT coalesce({IN_SCOPE}, false) FROM issue i "
                             "WHERE i.id = :id AND i.community_id = :c",
                             {"id": issue_id, "c": community, **scope}, conn=conn):
                raise WorkflowError("该位置不在您的范围内，无法登记诉求", 403)
            if fields.get("reporter_name") or fields.get("reporter_phone"):
                db.execute("INSERT INTO issue_reporter (issue_id, community_id, name, phone)"
                           " VALUES (:i, :c, :n, :p)",
                           {"i": issue_id, "c": community, "n": fields.get("reporter_name"),
                            "p": fields.get("reporter_phone")}, conn=conn)
            if fields.get("photo"):
                db.execute("INSERT INTO issue_photo (issue_id, community_id, mime, content)"
                           " VALUES (:i, :c, :m, :content)",
                           {"i": issue_id, "c": community, "m": fields["photo"][0],
                            "content": fields["photo"][1]}, conn=conn)
            db.execute("INSERT INTO issue_event (issue_id, community_id, actor, to_stage, note) "
                       "VALUES (:i, :c, :a, 'reported', :n)",
                       {"i": issue_id, "c": community, "a": actor,
                        "n": fields.get("note") or "收集诉求"}, conn=conn)
            if key is not None:
                db.execute("INSERT INTO issue_request_key (key, fingerprint, issue_id, community_id)"
                           " VALUES (:key, :fingerprint, :i, :c)",
                           {"key": key, "fingerprint": fingerprinted, "i": issue_id, "c": community},
                           conn=conn)
    except sa.exc.IntegrityError as exc:
        if "outside the subdistrict" in str(exc.orig):
            raise WorkflowError("该位置不在中心路街道范围内，无法登记诉求", 400) from None
        raise
    return issue_id, True


def _locked(conn, issue_id, scope):
    """The issue row, locked until the transaction ends. The stage is looked up only after the
    lock: a join in the locking query would be re-checked against the stage the row had
    before a concurrent change, and lose the row. The community is found first: the lock then
    names it, and on Citus runs on that one shard (a FOR UPDATE over every shard is refused)."""
    community = db.scalar("SELECT community_id FROM issue WHERE id = :id", {"id": issue_id}, conn=conn)
    rows = db.rows(f"SELECT i.id, i.community_id, i.stage, i.version FROM issue i "
                   f"WHERE i.id = :id AND i.community_id = :c AND {IN_SCOPE} FOR UPDATE",
                   {"id": issue_id, "c": community, **scope}, conn=conn)
    if not rows:
        raise WorkflowError("没有这件诉求，或不在您的范围内", 404)
    issue = dict(rows[0])
    issue["is_open"] = db.scalar("SELECT is_open FROM stage WHERE code = :s", {"s": issue["stage"]},
                                 conn=conn)
    return issue


def next_stage(stage):
    return ORDER[ORDER.index(stage) + 1] if stage in ORDER[:-1] else None


@faults.retried
def advance(issue_id, to, version, actor, scope, *, note=None, meeting_id=None, result=None,
            satisfaction=None, reason=None, merged_into=None):
    """Move an issue one step forward, or end it as rejected/merged (with a reason)."""
    with db.transaction() as conn:
        issue = _locked(conn, issue_id, scope)
        if issue["version"] != version:
            raise WorkflowError("该诉求已被他人更新，请刷新后再试")
        current = issue["stage"]
        if not issue["is_open"]:
            raise WorkflowError("诉求已是“%(stage)s”状态，不能再变更", stage=current)
        into_community = None
        if to in ENDINGS:
            if not (reason or "").strip():
                raise WorkflowError("不予受理或合并需要填写理由", 400)
            if to == "merged":
                into_community = _merge_target_community(conn, issue_id, merged_into, scope)
        elif to != next_stage(current):
            raise WorkflowError("不能从“%(stage)s”直接到“%(to)s”，下一步应为“%(next)s”",
                                stage=current, to=to, next=next_stage(current))
        if to == "consult":
            _check_meeting(conn, meeting_id, scope)
        if to == "publish" and not (result or "").strip():
            raise WorkflowError("公示结果需要填写办理结果", 400)
        if to == "feedback" and satisfaction not in SATISFACTION:
            raise WorkflowError("反馈情况需要选择满意度（满意 / 基本满意 / 不满意）", 400)
        db.execute(
            "UPDATE issue SET stage = :to, version = version + 1, stage_changed_at = now(),"
            " stage_reason = coalesce(:reason, stage_reason), merged_into_id = coalesce(:into, merged_into_id),"
            " merged_into_community_id = coalesce(:into_community, merged_into_community_id),"
            " result = coalesce(:result, result), satisfaction = coalesce(:sat, satisfaction),"
            " closed_at = CASE WHEN :to IN ('closed', 'rejected', 'merged') THEN now() END"
            " WHERE id = :id AND community_id = :c",
            {"to": to, "reason": reason if to in ENDINGS else None, "into": merged_into,
             "into_community": into_community, "result": result, "sat": satisfaction,
             "id": issue_id, "c": issue["community_id"]}, conn=conn)
        db.execute("INSERT INTO issue_event (issue_id, community_id, actor, from_stage, to_stage, note,"
                   " meeting_id) VALUES (:i, :c, :a, :f, :t, :n, :m)",
                   {"i": issue_id, "c": issue["community_id"], "a": actor, "f": current, "t": to,
                    "n": note or reason, "m": meeting_id}, conn=conn)
        if meeting_id:
            db.execute("INSERT INTO meeting_issue (meeting_id, issue_id, community_id) VALUES (:m, :i, :c)"
                       " ON CONFLICT DO NOTHING",
                       {"m": meeting_id, "i": issue_id, "c": issue["community_id"]}, conn=conn)
        return version + 1


def _check_meeting(conn, meeting_id, scope):
    """The meeting must exist and be held at a venue of the writer's area."""
    if meeting_id is None:
        raise WorkflowError("开展协商需要关联一次协商活动", 400)
    if not db.rows("SELECT 1 FROM meeting m JOIN venue v ON v.id = m.venue_id WHERE m.id = :m AND "
                   f"{community_in_scope('v.community_id')}", {"m": meeting_id, **scope}, conn=conn):
        raise WorkflowError("没有这次协商活动，或不在您的范围内：%(id)s", 404, id=meeting_id)


def _merge_target_community(conn, issue_id, merged_into, scope):
    """The community of the issue to merge into (the second half of the merged_into key,
    migration 0009), once it is known to be another issue in the viewer's scope."""
    if merged_into is None or merged_into == issue_id:
        raise WorkflowError("合并需要指定另一件诉求", 400)
    rows = db.rows(f"SELECT i.community_id FROM issue i WHERE i.id = :id AND {IN_SCOPE}",
                   {"id": merged_into, **scope}, conn=conn)
    if not rows:
        raise WorkflowError("没有这件诉求，或不在您的范围内：%(id)s", 404, id=merged_into)
    return rows[0]["community_id"]


@faults.retried
def note(issue_id, kind, text, actor, scope):
    """A deputy's claim (认领) or anyone's comment, in the event log; the stage stays."""
    with db.transaction() as conn:
        issue = _locked(conn, issue_id, scope)
        if kind == "claim" and db.rows(
                "SELECT 1 FROM issue_event WHERE community_id = :c AND issue_id = :i AND kind = 'claim'"
                " AND actor = :a", {"i": issue_id, "c": issue["community_id"], "a": actor}, conn=conn):
            raise WorkflowError("您已认领这件诉求")
        db.execute("INSERT INTO issue_event (issue_id, community_id, actor, from_stage, to_stage, note, kind)"
                   " VALUES (:i, :c, :a, :s, :s, :n, :k)",
                   {"i": issue_id, "c": issue["community_id"], "a": actor, "s": issue["stage"],
                    "n": text, "k": kind}, conn=conn)


def photo(issue_id, scope):
    rows = db.rows(f"SELECT p.mime, p.content FROM issue_photo p "
                   f"JOIN issue i ON i.id = p.issue_id AND i.community_id = p.community_id "
                   f"WHERE p.issue_id = :id AND {IN_SCOPE}", {"id": issue_id, **scope})
    return (rows[0]["mime"], bytes(rows[0]["content"])) if rows else None
