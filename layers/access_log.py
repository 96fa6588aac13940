"""The personal-data access log (migration 0012): who was shown which contact, and when.

Rows are written by the database as a query shows a phone (``revealed()`` in the SQL of
lookup, compounds, buildings, myarea and roster) or by ``bulk`` for an export; here they are read.
"""
import json

from layers import db

KINDS = ("head", "grid_leader", "reporter", "roster_export", "ledger_export")
MAX_LIMIT = 1000


def revealed(kind, subject_sql, value_sql):
    """SQL showing ``value_sql`` and logging that it was shown (subject: ``kind`` ``subject_sql``)."""
    assert kind in KINDS
    return f"revealed('{kind}', {subject_sql}, {value_sql})"


def bulk(kind, contacts, detail, conn=None):
    """Log one bulk view (an export) of ``contacts`` contacts; ``detail`` (a dict) its scope."""
    assert kind in KINDS
    db.execute("SELECT revealed_bulk(:k, :n, :d)",
               {"k": kind, "n": contacts, "d": json.dumps(detail, ensure_ascii=False, default=str)},
               conn=conn)


ENTRIES = """
    SELECT id, to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS at,
           user_name, role, route, subject_kind, subject_id, contacts, detail
      FROM personal_data_access
     WHERE (CAST(:user AS text) IS NULL OR user_name = :user)
       AND (CAST(:kind AS text) IS NULL OR subject_kind = :kind)
       AND (CAST(:subject AS int) IS NULL OR subject_id = :subject)
       AND (CAST(:since AS date) IS NULL OR at >= (CAST(:since AS date) AT TIME ZONE 'Asia/Shanghai'))
     ORDER BY at DESC, id DESC
     LIMIT :limit"""


def entries(user=None, kind=None, subject=None, since=None, limit=100):
    """The newest rows first (times in Beijing time), filtered by any of the arguments."""
    return [dict(r) for r in db.rows(ENTRIES, {"user": user, "kind": kind, "subject": subject,
                                               "since": since, "limit": min(int(limit), MAX_LIMIT)})]
