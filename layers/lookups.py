"""The lookup lists (stage, category, channel, platform): codes for checking input, the lists
a form offers, and names by code in the page's language."""
from layers import db

TABLES = ("stage", "category", "channel", "platform")


def codes(table):
    """The codes of a lookup list, e.g. every category."""
    assert table in TABLES
    return {r["code"] for r in db.rows(f"SELECT code FROM {table}")}


def names(en=False):
    """{list: {code: name}} for stages, categories, platforms and 三长 roles, in English or Chinese."""
    column = "name_en" if en else "name_zh"
    return {table: {r["code"]: r["name"] for r in db.rows(f"SELECT code, {column} AS name FROM {table}")}
            for table in ("stage", "category", "platform", "head_role")}


def choices():
    """The lists a form needs: categories, channels, stages, platforms, venues."""
    pick = lambda sql: [dict(r) for r in db.rows(sql)]
    return dict(
        categories=pick("SELECT code, name_zh, name_en FROM category ORDER BY ordinal"),
        channels=pick("SELECT code, name_zh, name_en, online FROM channel ORDER BY online, code"),
        stages=pick("SELECT code, name_zh, name_en, is_open, deadline_days FROM stage ORDER BY ordinal"),
        platforms=pick("SELECT code, name_zh, name_en FROM platform ORDER BY code"),
        venues=pick("SELECT v.id, v.name, json_agg(vp.platform) AS platforms FROM venue v "
                    "JOIN venue_platform vp ON vp.venue_id = v.id GROUP BY v.id ORDER BY v.id"))
