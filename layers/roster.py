"""The 电子底册: the 三长 contacts, read and kept up to date within the viewer's area.

Every change is checked against the row's ``version`` (a stale edit is refused, never
silently overwritten) and recorded in the append-only ``head_event`` audit trail.
"""
import json

from layers import db
from layers.access_log import revealed
from layers.scope import in_scope

IN_SCOPE = in_scope("c.community_id", "c.grid_id")


class StaleEdit(Exception):
    """Someone else changed the contact since it was read."""


class NotFound(Exception):
    """No such contact in the viewer's area."""


class TooLate(Exception):
    """Only a retirement made today can be undone."""


class Invalid(ValueError):
    """The submitted contact is invalid; the message says why (zh-CN)."""


CONTACT = f"""
    SELECT h.id, h.role, r.name_zh AS role_name, h.name,
           {revealed('head', 'h.id', 'h.phone')} AS phone, h.compound_id, c.name AS compound,
           h.building_id, b.name AS building, h.unit_id, u.name AS unit,
           to_char(h.appointed_on, 'YYYY-MM-DD') AS appointed_on, h.certificate_no,
           to_char(h.retired_on, 'YYYY-MM-DD') AS retired_on, h.version
      FROM head h JOIN head_role r ON r.code = h.role
      JOIN compound c ON c.id = h.compound_id
      LEFT JOIN building b ON b.id = h.building_id
      LEFT JOIN unit u ON u.id = h.unit_id
     WHERE {IN_SCOPE} AND {{where}}
     ORDER BY c.id, r.rank, b.id NULLS FIRST, u.id NULLS FIRST, h.id"""


def contact(head_id, scope, conn=None):
    """One contact inside the viewer's area; NotFound outside it (no hint that it exists)."""
    rows = db.rows(CONTACT.format(where="h.id = :id"), {"id": head_id, **scope}, conn=conn)
    if not rows:
        raise NotFound(head_id)
    return dict(rows[0])


def role_names(en=False):
    """The name of each 三长 role by its code, in English when ``en``."""
    return {r["code"]: r["name_en"] if en else r["name_zh"]
            for r in db.rows("SELECT code, name_zh, name_en FROM head_role")}


def compound_roster(compound_id, scope):
    """The 三长 of a compound in the viewer's area: the serving ones, and those retired today
    (so a retirement can still be undone after the page is reloaded)."""
    return [dict(r) for r in db.rows(
        CONTACT.format(where="h.compound_id = :c AND (h.retired_on IS NULL OR h.retired_on = current_date)"),
        {"c": compound_id, **scope})]


def _audit(conn, head_id, actor, action, before, after):
    db.execute("INSERT INTO head_event (head_id, actor, action, before, after) "
               "VALUES (:h, :a, :act, CAST(:b AS jsonb), CAST(:af AS jsonb))",
               {"h": head_id, "a": actor, "act": action,
                "b": json.dumps(before, ensure_ascii=False) if before else None,
                "af": json.dumps(after, ensure_ascii=False) if after else None}, conn=conn)


EDITABLE = ("name", "phone", "appointed_on", "certificate_no")


def edit(head_id, changes, version, scope, actor):
    """Change a contact's details if nobody changed it since ``version`` was read."""
    with db.transaction() as conn:
        before = contact(head_id, scope, conn)
        updated = db.rows(
            "UPDATE head SET name = :name, phone = :phone, appointed_on = CAST(:appointed_on AS date),"
            " certificate_no = :certificate_no, version = version + 1"
            " WHERE id = :id AND version = :version AND retired_on IS NULL RETURNING id",
            {**{k: changes.get(k, before[k]) for k in EDITABLE}, "id": head_id, "version": version},
            conn=conn)
        if not updated:
            raise StaleEdit(head_id)
        after = contact(head_id, scope, conn)
        _audit(conn, head_id, actor, "edit", before, after)
    return after


def _today(conn):
    """The database's current_date (its time zone decides the day, as before)."""
    return db.scalar("SELECT current_date", conn=conn)


def retire(head_id, version, scope, actor, retired_on=None):
    with db.transaction() as conn:
        before = contact(head_id, scope, conn)
        # today's date as a value, not current_date inside coalesce(): Citus refuses a volatile
        # default in a CASE or COALESCE of a write to a reference table
        updated = db.rows(
            "UPDATE head SET retired_on = CAST(:d AS date), version = version + 1"
            " WHERE id = :id AND version = :version AND retired_on IS NULL RETURNING id",
            {"d": retired_on or _today(conn), "id": head_id, "version": version}, conn=conn)
        if not updated:
            raise StaleEdit(head_id)
        after = contact(head_id, scope, conn)
        _audit(conn, head_id, actor, "retire", before, after)
    return after


def add(fields, scope, actor, conn=None, action="add"):
    """Appoint a new head in a compound of the viewer's area; returns the new contact."""
    with db.joined(conn) as conn:
        # The post's building and unit must be of that compound, or the row would reach into
        # another compound (and perhaps another area).
        allowed = db.rows(
            f"SELECT 1 FROM compound c WHERE c.id = :c AND {IN_SCOPE}"
            " AND (CAST(:b AS int) IS NULL OR EXISTS"
            "      (SELECT 1 FROM building b WHERE b.id = :b AND b.compound_id = c.id))"
            " AND (CAST(:u AS int) IS NULL OR EXISTS"
            "      (SELECT 1 FROM unit u JOIN building b ON b.id = u.building_id WHERE u.id = :u"
            "        AND b.compound_id = c.id AND u.building_id = coalesce(CAST(:b AS int), u.building_id)))",
            {"c": fields.get("compound_id"), "b": fields.get("building_id"), "u": fields.get("unit_id"),
             **scope}, conn=conn)
        if not allowed:
            raise NotFound(fields.get("compound_id"))
        head_id = db.scalar(
            "INSERT INTO head (role, name, phone, compound_id, building_id, unit_id, appointed_on,"
            " certificate_no) VALUES (:role, :name, :phone, :compound_id, :building_id, :unit_id,"
            " CAST(:appointed_on AS date), :certificate_no) RETURNING id",
            {**{k: fields.get(k) for k in ("role", "name", "phone", "compound_id", "building_id",
                                           "unit_id", "certificate_no")},
             "appointed_on": fields.get("appointed_on") or _today(conn)}, conn=conn)
        after = contact(head_id, scope, conn)
        _audit(conn, head_id, actor, action, None, after)
    return after


def replace(head_id, fields, version, scope, actor):
    """Retire a head and appoint a successor to the same post, in one transaction."""
    with db.transaction() as conn:
        old = contact(head_id, scope, conn)
        updated = db.rows("UPDATE head SET retired_on = current_date, version = version + 1"
                          " WHERE id = :id AND version = :version AND retired_on IS NULL RETURNING id",
                          {"id": head_id, "version": version}, conn=conn)
        if not updated:
            raise StaleEdit(head_id)
        _audit(conn, head_id, actor, "retire", old, contact(head_id, scope, conn))
        post = {k: old[k] for k in ("role", "compound_id", "building_id", "unit_id")}
        return add({**post, **fields}, scope, actor, conn=conn, action="replace")


def unretire(head_id, version, scope, actor):
    """Undo today's retirement: the contact serves again; the undo is its own audit event."""
    with db.transaction() as conn:
        before = contact(head_id, scope, conn)
        if before["retired_on"] is None:
            raise StaleEdit(head_id)
        updated = db.rows(
            "UPDATE head SET retired_on = NULL, version = version + 1"
            " WHERE id = :id AND version = :version AND retired_on = current_date RETURNING id",
            {"id": head_id, "version": version}, conn=conn)
        if not updated:
            if before["version"] == version:
                raise TooLate(head_id)
            raise StaleEdit(head_id)
        after = contact(head_id, scope, conn)
        _audit(conn, head_id, actor, "unretire", before, after)
    return after


# The fields a reader of the history cares about, in the order they are shown.
SHOWN = ("role_name", "compound", "building", "unit", "name", "phone", "appointed_on",
         "certificate_no", "retired_on")

def _shown(column):
    """An audit record with its phone shown as the roster shows one (logged as revealed)."""
    phone = revealed("head", "e.head_id", f"{column}->>'phone'")
    return (f"CASE WHEN {column} ? 'phone' THEN jsonb_set({column}, ARRAY['phone'], coalesce(to_jsonb({phone}), "
            f"'null'::jsonb)) ELSE {column} END")


EVENTS = f"""
    SELECT e.id, to_char(e.at, 'YYYY-MM-DD HH24:MI') AS at, e.actor, e.action,
           {_shown("e.before")} AS before, {_shown("e.after")} AS after,
           e.head_id, h.name AS head, h.role, r.name_zh AS role_name
      FROM head_event e JOIN head h ON h.id = e.head_id
      JOIN head_role r ON r.code = h.role
      JOIN compound c ON c.id = h.compound_id
     WHERE {IN_SCOPE} AND {{where}}
     ORDER BY e.at DESC, e.id DESC"""


def changes(before, after):
    """What an event changed, field by field: ``[{field, before, after}]`` (values as text)."""
    before, after = before or {}, after or {}
    return [{"field": k, "before": before.get(k), "after": after.get(k)}
            for k in SHOWN if before.get(k) != after.get(k)]


def _events(where, params, scope):
    return [{**dict(r), "changes": changes(r.before, r.after)}
            for r in db.rows(EVENTS.format(where=where), {**params, **scope})]


def history(head_id, scope):
    """Who changed a contact, when, and what from what to what (newest first)."""
    contact(head_id, scope)
    return _events("e.head_id = :h", {"h": head_id}, scope)


def compound_history(compound_id, scope):
    """Every change to the 三长 of a compound in the viewer's area (newest first)."""
    return _events("h.compound_id = :c", {"c": compound_id}, scope)
