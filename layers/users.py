"""Users, their areas, server-side sessions and API keys.

A session is a random token in the signed cookie and a row here (its sha256). Logging out,
changing the password or disabling the user deletes the rows, so a copied cookie dies at
once. Passwords are argon2 hashes; API keys are stored as sha256 hashes and shown once.
"""
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from layers import db, faults
from layers.messages import Refusal

ROLES = ("public", "grid_leader", "community_staff", "deputy", "official", "admin")
AREA_ROLES = ("grid_leader", "community_staff", "deputy")   # useless without an area
HASHER = PasswordHasher()


class UserError(Refusal, ValueError):
    """A user command was refused; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    grid_ids: tuple = field(default_factory=tuple)
    community_ids: tuple = field(default_factory=tuple)   # with every community of the two below
    subdistrict_ids: tuple = field(default_factory=tuple)
    district_ids: tuple = field(default_factory=tuple)


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# An area is a path down the hierarchy: its first name is found at any level, each next one
# inside the previous (names of districts, subdistricts and communities are unique).
LEVELS = ("district", "subdistrict", "community", "grid")
LEVEL_ZH = {"district": "区", "subdistrict": "街道", "community": "社区", "grid": "网格"}
_PARENT = {"subdistrict": "district_id", "community": "subdistrict_id", "grid": "community_id"}
_TOP = """
    SELECT 'district' AS level, id FROM district WHERE name = :n
    UNION ALL SELECT 'subdistrict', id FROM subdistrict WHERE name = :n
    UNION ALL SELECT 'community', id FROM community WHERE name = :n"""


def _area(conn, part):
    """One ``--area`` item → (level, id)."""
    names = [n.strip() for n in part.split("/")]
    found = db.rows(_TOP, {"n": names[0]}, conn=conn)
    if not found:
        raise UserError("没有这个区、街道或社区：%(name)s（网格请写成 社区/网格）"
                        " (no such district, subdistrict or community)", name=names[0])
    if len(found) > 1:
        levels = "、".join(LEVEL_ZH[r["level"]] for r in found)
        raise UserError("“%(name)s”同时是%(levels)s的名称，请写出上级，如 区/街道"
                        " (ambiguous name: write its parent too)", name=names[0], levels=levels)
    level, place = found[0]["level"], found[0]["id"]
    for name in names[1:]:
        if level == LEVELS[-1]:
            raise UserError("网格之下没有更小的范围：%(area)s (there is nothing below a grid)", area=part)
        child = LEVELS[LEVELS.index(level) + 1]
        row = db.rows(f"SELECT id FROM {child} WHERE {_PARENT[child]} = :p AND name = :n",
                      {"p": place, "n": name}, conn=conn)
        if not row:
            raise UserError("没有这个%(level)s：%(area)s (no such %(kind)s)", level=LEVEL_ZH[child], area=part,
                                kind=child)
        level, place = child, row[0]["id"]
    return level, place


def resolve_area(conn, area):
    """``--area`` text → {level: [ids]} for the levels of ``LEVELS``. Items are separated by
    commas; each is a district (上街区), a subdistrict (中心路街道 or 上街区/中心路街道), a
    community (汇丰社区) or a grid (汇丰社区/第1网格)."""
    places = {level: [] for level in LEVELS}
    for part in filter(None, (p.strip() for p in (area or "").replace("，", ",").split(","))):
        level, place = _area(conn, part)
        places[level].append(place)
    return places


def add(name, role, password, area=None, eng=None, conn=None):
    """Create a user (in the caller's transaction ``conn`` if given); returns its id."""
    if role not in ROLES:
        raise UserError("未知角色：%(role)s（可选 %(choices)s）", role=role, choices=", ".join(ROLES))
    if not name or not name.strip():
        raise UserError("用户名不能为空")
    if len(password) < 8:
        raise UserError("密码至少 8 位")
    with db.joined(conn, eng) as conn:
        if db.rows("SELECT 1 FROM app_user WHERE name = :n", {"n": name}, conn=conn):
            raise UserError("用户已存在：%(name)s", name=name)
        places = resolve_area(conn, area)
        if role in AREA_ROLES and not any(places.values()):
            raise UserError("角色 %(role)s 需要 --area（区、街道、社区或网格）", role=role)
        user_id = db.scalar("INSERT INTO app_user (name, role, password_hash) VALUES (:n, :r, :h) "
                            "RETURNING id", {"n": name, "r": role, "h": HASHER.hash(password)}, conn=conn)
        for level, ids in places.items():
            for place in dict.fromkeys(ids):
                db.execute(f"INSERT INTO user_area (user_id, {level}_id) VALUES (:u, :p)",
                           {"u": user_id, "p": place}, conn=conn)
    return user_id


def disable(name, eng=None):
    """Disable a user and end all their sessions at once."""
    with db.transaction(eng) as conn:
        user_id = db.scalar("UPDATE app_user SET disabled = true WHERE name = :n RETURNING id",
                            {"n": name}, conn=conn)
        if user_id is None:
            raise UserError("没有这个用户：%(name)s", name=name)
        db.execute("DELETE FROM user_session WHERE user_id = :u", {"u": user_id}, conn=conn)


def set_password(user_id, password, eng=None):
    """Change a password; every session of the user ends."""
    if len(password) < 8:
        raise UserError("密码至少 8 位")
    with db.transaction(eng) as conn:
        db.execute("UPDATE app_user SET password_hash = :h, password_changed_at = now() WHERE id = :u",
                  {"h": HASHER.hash(password), "u": user_id}, conn=conn)
        db.execute("DELETE FROM user_session WHERE user_id = :u", {"u": user_id}, conn=conn)


def authenticate(name, password):
    """The user id for a right name and password of an enabled user, else None."""
    rows = db.rows("SELECT id, password_hash FROM app_user WHERE name = :n AND NOT disabled",
                   {"n": name})
    if not rows:
        HASHER.hash(password)  # spend the same time as a real check: don't reveal who exists
        return None
    try:
        HASHER.verify(rows[0]["password_hash"], password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return rows[0]["id"]


def open_session(user_id):
    """A new session token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.execute("INSERT INTO user_session (token_hash, user_id) VALUES (:t, :u)",
              {"t": _sha256(token), "u": user_id})
    return token


def close_session(token):
    db.execute("DELETE FROM user_session WHERE token_hash = :t", {"t": _sha256(token)})


# The areas of the rows ``a`` (of user_area or api_key_area). ``community_ids`` holds the
# communities named directly and every community of its subdistricts and districts, so the
# scope stays one predicate in SQL (layers/scope.py); subdistrict_ids and district_ids are the
# areas as named.
AREA_ARRAYS = """
           ARRAY(SELECT grid_id FROM a WHERE grid_id IS NOT NULL ORDER BY 1) AS grid_ids,
           ARRAY(SELECT community_id FROM a WHERE community_id IS NOT NULL
                 UNION SELECT m.id FROM a JOIN community m ON m.subdistrict_id = a.subdistrict_id
                 UNION SELECT m.id FROM a JOIN subdistrict sd ON sd.district_id = a.district_id
                                         JOIN community m ON m.subdistrict_id = sd.id
                 ORDER BY 1) AS community_ids,
           ARRAY(SELECT subdistrict_id FROM a WHERE subdistrict_id IS NOT NULL ORDER BY 1)
               AS subdistrict_ids,
           ARRAY(SELECT district_id FROM a WHERE district_id IS NOT NULL ORDER BY 1) AS district_ids"""

LIVE_SESSION = """token_hash = :t
           AND last_seen_at > now() - make_interval(secs => :idle)
           AND created_at > now() - make_interval(secs => :absolute)"""
TOUCH_SESSION = f"UPDATE user_session SET last_seen_at = now() WHERE {LIVE_SESSION} RETURNING user_id"
PEEK_SESSION = f"SELECT user_id FROM user_session WHERE {LIVE_SESSION}"
# The signed-in account (``session``: touching the session, or only reading it).
SESSION_ACCOUNT = f"""
    WITH s AS ({{session}}),
    u AS (SELECT u.id, u.name, u.role FROM s JOIN app_user u ON u.id = s.user_id AND NOT u.disabled),
    a AS (SELECT a.* FROM user_area a JOIN u ON u.id = a.user_id)
    SELECT u.id, u.name, u.role, {AREA_ARRAYS}
      FROM u"""


def _account(r, account_id, role):
    return Account(account_id, r["name"], role, tuple(r["grid_ids"]), tuple(r["community_ids"]),
                   tuple(r["subdistrict_ids"]), tuple(r["district_ids"]))


def account_for_session(token, idle, absolute):
    """The account behind a live session token (touching it), or None when the session is
    unknown, idle for longer than ``idle`` or older than ``absolute`` (timedeltas)."""
    params = {"t": _sha256(token), "idle": idle.total_seconds(), "absolute": absolute.total_seconds()}
    try:
        rows = db.rows(SESSION_ACCOUNT.format(session=TOUCH_SESSION), params)
    except sa.exc.DBAPIError as exc:
        if not faults.writes_refused(exc):
            raise
        # A read-only or full database: the signed-in still read, and the idle clock waits.
        rows = db.rows(SESSION_ACCOUNT.format(session=PEEK_SESSION), params)
    if not rows:
        return None
    return _account(rows[0], rows[0]["id"], rows[0]["role"])


def add_api_key(name, area=None, whole=False, eng=None):
    """Create an API key; returns the key, which is not stored and cannot be shown again.

    A key reads like an official: of ``area`` (as ``users add --area`` takes it), of the whole
    installation when ``whole``, else only what the public reads.
    """
    if not name or not name.strip():
        raise UserError("API key 名称不能为空 (the key needs a name)")
    if whole and area:
        raise UserError("--area 与 --whole 只能选一个 (give --area or --whole, not both)")
    key = secrets.token_urlsafe(32)
    with db.transaction(eng) as conn:
        if db.rows("SELECT 1 FROM api_key WHERE name = :n", {"n": name}, conn=conn):
            raise UserError("API key 已存在：%(name)s", name=name)
        places = resolve_area(conn, area)
        key_id = db.scalar("INSERT INTO api_key (name, key_hash, whole) VALUES (:n, :h, :w) RETURNING id",
                           {"n": name, "h": _sha256(key), "w": whole}, conn=conn)
        for level, ids in places.items():
            for place in dict.fromkeys(ids):
                db.execute(f"INSERT INTO api_key_area (api_key_id, {level}_id) VALUES (:k, :p)",
                           {"k": key_id, "p": place}, conn=conn)
    return key


API_KEY_ACCOUNT = f"""
    WITH k AS (SELECT id, name, whole FROM api_key WHERE key_hash = :h AND NOT disabled),
    a AS (SELECT a.* FROM api_key_area a JOIN k ON k.id = a.api_key_id)
    SELECT k.name, k.whole, {AREA_ARRAYS}
      FROM k"""


def account_for_api_key(key):
    """What an enabled API key reads as: an Account with no id (it is nobody's session), of
    role ``official`` when it has an area or the whole installation, else ``public``; None for
    an unknown or disabled key."""
    rows = db.rows(API_KEY_ACCOUNT, {"h": _sha256(key)})
    if not rows:
        return None
    r = rows[0]
    named = r["grid_ids"] or r["community_ids"] or r["subdistrict_ids"] or r["district_ids"]
    return _account(r, None, "official" if r["whole"] or named else "public")


def api_key_name(key):
    """The name of an enabled API key, or None."""
    rows = db.rows("SELECT name FROM api_key WHERE key_hash = :h AND NOT disabled", {"h": _sha256(key)})
    return rows[0]["name"] if rows else None


API_KEYS = """
    SELECT k.name, k.created_at, k.disabled, k.whole,
           (SELECT string_agg(coalesce(d.name, sd.name, m.name, m2.name || '/' || g.name), ', ')
              FROM api_key_area a
              LEFT JOIN district d ON d.id = a.district_id
              LEFT JOIN subdistrict sd ON sd.id = a.subdistrict_id
              LEFT JOIN community m ON m.id = a.community_id
              LEFT JOIN grid g ON g.id = a.grid_id
              LEFT JOIN community m2 ON m2.id = g.community_id
             WHERE a.api_key_id = k.id) AS area
      FROM api_key k ORDER BY k.name"""


def api_keys(eng=None):
    """Every API key (never the key itself): name, created_at, disabled, whole, area."""
    with db.transaction(eng) as conn:
        return [dict(r) for r in db.rows(API_KEYS, conn=conn)]


def disable_api_key(name, eng=None):
    with db.transaction(eng) as conn:
        if db.scalar("UPDATE api_key SET disabled = true WHERE name = :n RETURNING id", {"n": name},
                     conn=conn) is None:
            raise UserError("没有这个 API key：%(name)s", name=name)


SESSION_IDLE = dt.timedelta(hours=2)
SESSION_ABSOLUTE = dt.timedelta(hours=12)
