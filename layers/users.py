"""Users, their areas, server-side sessions and API keys.

A session is a random token in the signed cookie and a row here (its sha256). Logging out,
changing the password or disabling the user deletes the rows, so a copied cookie dies at
once. Passwords are argon2 hashes; API keys are stored as sha256 hashes and shown once.
"""
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from layers import db

ROLES = ("public", "grid_leader", "community_staff", "deputy", "official", "admin")
HASHER = PasswordHasher()


class UserError(ValueError):
    """A user command was refused; the message says why (zh-CN)."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    grid_ids: tuple = field(default_factory=tuple)
    community_ids: tuple = field(default_factory=tuple)


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def resolve_area(conn, area):
    """``--area`` text → (grid ids, community ids). Names are separated by commas; a grid is
    written 社区/网格 (e.g. 汇丰社区/第1网格), a community by its name."""
    grids, communities = [], []
    for part in filter(None, (p.strip() for p in (area or "").replace("，", ",").split(","))):
        if "/" in part:
            community, grid = part.split("/", 1)
            row = db.rows("SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                          "WHERE m.name = :c AND g.name = :g", {"c": community, "g": grid}, conn=conn)
            if not row:
                raise UserError(f"没有这个网格：{part}")
            grids.append(row[0]["id"])
        else:
            row = db.rows("SELECT id FROM community WHERE name = :n", {"n": part}, conn=conn)
            if not row:
                raise UserError(f"没有这个社区：{part}（网格请写成 社区/网格）")
            communities.append(row[0]["id"])
    return grids, communities


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
        grids, communities = resolve_area(conn, area)
        if role in ("grid_leader", "community_staff", "deputy") and not (grids or communities):
            raise UserError(f"角色 {role} 需要 --area（网格或社区）")
        user_id = db.scalar("INSERT INTO app_user (name, role, password_hash) VALUES (:n, :r, :h) "
                            "RETURNING id", {"n": name, "r": role, "h": HASHER.hash(password)}, conn=conn)
        for g in grids:
            db.execute("INSERT INTO user_area (user_id, grid_id) VALUES (:u, :g)", {"u": user_id, "g": g},
                      conn=conn)
        for c in communities:
            db.execute("INSERT INTO user_area (user_id, community_id) VALUES (:u, :c)",
                      {"u": user_id, "c": c}, conn=conn)
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


SESSION_ACCOUNT = """
    WITH s AS (
        UPDATE user_session SET last_seen_at = now()
         WHERE token_hash = :t
           AND last_seen_at > now() - make_interval(secs => :idle)
           AND created_at > now() - make_interval(secs => :absolute)
        RETURNING user_id)
    SELECT u.id, u.name, u.role,
           coalesce(array_agg(a.grid_id) FILTER (WHERE a.grid_id IS NOT NULL), '{}') AS grid_ids,
           coalesce(array_agg(a.community_id) FILTER (WHERE a.community_id IS NOT NULL), '{}')
               AS community_ids
      FROM s JOIN app_user u ON u.id = s.user_id AND NOT u.disabled
      LEFT JOIN user_area a ON a.user_id = u.id
     GROUP BY u.id"""


def account_for_session(token, idle, absolute):
    """The account behind a live session token (touching it), or None when the session is
    unknown, idle for longer than ``idle`` or older than ``absolute`` (timedeltas)."""
    rows = db.rows(SESSION_ACCOUNT, {"t": _sha256(token), "idle": idle.total_seconds(),
                                     "absolute": absolute.total_seconds()})
    if not rows:
        return None
    r = rows[0]
    return Account(r["id"], r["name"], r["role"], tuple(r["grid_ids"]), tuple(r["community_ids"]))


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
