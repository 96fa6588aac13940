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

ROLES = ("public", "grid_leader", "community_staff", "deputy", "official", "admin")
AREA_ROLES = ("grid_leader", "community_staff", "deputy")   # useless without an area
HASHER = PasswordHasher()


class UserError(ValueError):
    """A user command was refused; the message says why (zh-CN)."""


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
        raise UserError(f"没有这个区、街道或社区：{names[0]}（网格请写成 社区/网格）"
                        " (no such district, subdistrict or community)")
    if len(found) > 1:
        levels = "、".join(LEVEL_ZH[r["level"]] for r in found)
        raise UserError(f"“{names[0]}”同时是{levels}的名称，请写出上级，如 区/街道"
                        " (ambiguous name: write its parent too)")
    level, place = found[0]["level"], found[0]["id"]
    for name in names[1:]:
        if level == LEVELS[-1]:
            raise UserError(f"网格之下没有更小的范围：{part} (there is nothing below a grid)")
        child = LEVELS[LEVELS.index(level) + 1]
        row = db.rows(f"SELECT id FROM {child} WHERE {_PARENT[child]} = :p AND name = :n",
                      {"p": place, "n": name}, conn=conn)
        if not row:
            raise UserError(f"没有这个{LEVEL_ZH[child]}：{part} (no such {child})")
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
        raise UserError(f"未知角色：{role}（可选 {', '.join(ROLES)}）")
    if not name or not name.strip():
        raise UserError("用户名不能为空")
    if len(password) < 8:
        raise UserError("密码至少 8 位")
    with db.joined(conn, eng) as conn:
        if db.rows("SELECT 1 FROM app_user WHERE name = :n", {"n": name}, conn=conn):
            raise UserError(f"用户已存在：{name}")
        places = resolve_area(conn, area)
        if role in AREA_ROLES and not any(places.values()):
            raise UserError(f"角色 {role} 需要 --area（区、街道、社区或网格）")
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
            raise UserError(f"没有这个用户：{name}")
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


LIVE_SESSION = """token_hash = :t
           AND last_seen_at > now() - make_interval(secs => :idle)
           AND created_at > now() - make_interval(secs => :absolute)"""
TOUCH_SESSION = f"UPDATE user_session SET last_seen_at = now() WHERE {LIVE_SESSION} RETURNING user_id"
PEEK_SESSION = f"SELECT user_id FROM user_session WHERE {LIVE_SESSION}"
# The account with its area. ``community_ids`` holds the communities named directly and every
# community of its subdistricts and districts, so the scope stays one predicate in SQL
# (layers/scope.py); subdistrict_ids and district_ids are the areas as named.
SESSION_ACCOUNT = """
    WITH s AS ({session}),
    u AS (SELECT u.id, u.name, u.role FROM s JOIN app_user u ON u.id = s.user_id AND NOT u.disabled),
    a AS (SELECT a.* FROM user_area a JOIN u ON u.id = a.user_id)
    SELECT u.id, u.name, u.role,
           ARRAY(SELECT grid_id FROM a WHERE grid_id IS NOT NULL ORDER BY 1) AS grid_ids,
           ARRAY(SELECT community_id FROM a WHERE community_id IS NOT NULL
                 UNION SELECT m.id FROM a JOIN community m ON m.subdistrict_id = a.subdistrict_id
                 UNION SELECT m.id FROM a JOIN subdistrict sd ON sd.district_id = a.district_id
                                         JOIN community m ON m.subdistrict_id = sd.id
                 ORDER BY 1) AS community_ids,
           ARRAY(SELECT subdistrict_id FROM a WHERE subdistrict_id IS NOT NULL ORDER BY 1)
               AS subdistrict_ids,
           ARRAY(SELECT district_id FROM a WHERE district_id IS NOT NULL ORDER BY 1) AS district_ids
      FROM u"""


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
    r = rows[0]
    return Account(r["id"], r["name"], r["role"], tuple(r["grid_ids"]), tuple(r["community_ids"]),
                   tuple(r["subdistrict_ids"]), tuple(r["district_ids"]))


def add_api_key(name, eng=None):
    """Create an API key; returns the key, which is not stored and cannot be shown again."""
    key = secrets.token_urlsafe(32)
    with db.transaction(eng) as conn:
        if db.rows("SELECT 1 FROM api_key WHERE name = :n", {"n": name}, conn=conn):
            raise UserError(f"API key 已存在：{name}")
        db.execute("INSERT INTO api_key (name, key_hash) VALUES (:n, :h)",
                  {"n": name, "h": _sha256(key)}, conn=conn)
    return key


def api_key_name(key):
    """The name of an enabled API key, or None."""
    rows = db.rows("SELECT name FROM api_key WHERE key_hash = :h AND NOT disabled", {"h": _sha256(key)})
    return rows[0]["name"] if rows else None


SESSION_IDLE = dt.timedelta(hours=2)
SESSION_ABSOLUTE = dt.timedelta(hours=12)
