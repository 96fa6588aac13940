"""Place search: districts, subdistricts, communities, grids and compounds by Chinese name,
pinyin initials (jnxz → 江南小镇社区) or full pinyin prefix (jiangnan → 江南小镇社区).

The places are indexed in ``place_search`` (migration 0008). ``refresh`` adds the places not
yet there, with pinyin from pypinyin; whatever writes places calls it (the sample loader, the
importers, the synthetic city) in its own transaction. Triggers drop the rows of renamed and
deleted places and keep parents and bounds current, so a search never reads the places.
"""
import csv
import functools
import io
import re

from pypinyin import lazy_pinyin
from tqdm import tqdm

from layers import db

KINDS = ("district", "subdistrict", "community", "compound", "grid")   # also the ranking
LIMIT = 10
MAX_QUERY = 50                      # characters of q
REFRESH_LOCK = 7_146_008            # advisory lock id (migrations hold 7_146_146)
# What goes into a pinyin key: initials and syllables, digits and Latin letters, lower case.
_KEY = re.compile(r"[^a-z0-9]")

# The parent of each kind: (its table, the column pointing to it).
_PARENT = {"district": None, "subdistrict": ("district", "district_id"),
           "community": ("subdistrict", "subdistrict_id"), "grid": ("community", "community_id"),
           "compound": ("community", "community_id")}


def _unindexed(kind):
    parent = _PARENT[kind]
    parent_id, parent_name = ("p.id", "p.name") if parent else ("NULL::int", "NULL::text")
    parent_join = f"JOIN {parent[0]} p ON p.id = x.{parent[1]}" if parent else ""
    return f"""
        SELECT '{kind}' AS kind, x.id, x.name, {parent_id} AS parent_id, {parent_name} AS parent,
               ST_XMin(x.geom) AS minx, ST_YMin(x.geom) AS miny, ST_XMax(x.geom) AS maxx,
               ST_YMax(x.geom) AS maxy
          FROM {kind} x {parent_join}
         WHERE NOT EXISTS (SELECT 1 FROM place_search s WHERE s.kind = '{kind}' AND s.id = x.id)"""


UNINDEXED = " UNION ALL ".join(_unindexed(kind) for kind in KINDS)

_INDEXED = ("kind", "id", "name", "parent_id", "parent", "initials", "pinyin", "minx", "miny", "maxx", "maxy")


@functools.lru_cache(maxsize=100_000)
def pinyin_keys(name):
    """(initials, full pinyin) of a name, lower case, only letters and digits:
    江南小镇社区 → ("jnxzsq", "jiangnanxiaozhenshequ"); Latin letters and digits are kept
    whole (SOHO小区3号院 → "sohoxq3hy")."""
    initials, syllables = [], []
    # A run of other characters comes back marked, so it is kept whole in the initials too.
    for item in lazy_pinyin(name, errors=lambda run: "\0" + run):
        if item.startswith("\0"):
            initials.append(item[1:])
            syllables.append(item[1:])
        else:
            initials.append(item[:1])
            syllables.append(item)
    return _key("".join(initials)), _key("".join(syllables))


def _key(text):
    return _KEY.sub("", text.lower())


def refresh(conn=None, eng=None, progress=False):
    """Index every place not yet in ``place_search`` (in the caller's transaction ``conn``
    if given); returns how many were added. Cheap when nothing is new."""
    with db.joined(conn, eng) as conn:
        # One refresh at a time: a second one waits, then sees what the first added.
        db.execute("SELECT pg_advisory_xact_lock(:id)", {"id": REFRESH_LOCK}, conn=conn)
        places = db.rows(UNINDEXED, conn=conn, max_rows=10_000_000)
        if not places:
            return 0
        # COPY: a city's 50,000 compounds in a second, where parameters take several.
        rows = io.StringIO()
        writer = csv.writer(rows)
        for place in tqdm(places, desc="拼音索引", unit="个", disable=not progress):
            writer.writerow([*(place[c] for c in _INDEXED[:5]), *pinyin_keys(place["name"]),
                             *(place[c] for c in _INDEXED[7:])])
        rows.seek(0)
        conn.connection.driver_connection.cursor().copy_expert(
            f"COPY place_search ({', '.join(_INDEXED)}) FROM STDIN WITH (FORMAT csv)", rows)
        # New grams wait in the GIN index's pending list, which every search would scan
        # until autovacuum comes by: merge them into the index now.
        db.execute("SELECT gin_clean_pending_list('place_search_grams_idx')", conn=conn)
    return len(places)


# A broad query ("j", "区") matches thousands of places, so the candidates come from small
# index-ordered scans, each stopping after a few rows: per kind, the first names, initials or
# pinyin with the query as prefix; then a few names that contain it. Only those are ranked.
CANDIDATES_PER_SCAN = 10
CONTAINING = 50
_COLUMNS = "kind, id, name, parent, initials, pinyin, minx, miny, maxx, maxy"


def _prefix_scans(column, parameter):
    return [f"(SELECT {_COLUMNS} FROM place_search WHERE kind = '{kind}' AND {column} LIKE :{parameter}"
            f" ORDER BY {column} LIMIT {CANDIDATES_PER_SCAN})" for kind in KINDS]


def _search_sql(pinyin):
    """The search for a query that may be pinyin (only Latin letters and digits) or not."""
    scans = _prefix_scans("initials", "key_prefix") + _prefix_scans("pinyin", "key_prefix") if pinyin \
        else _prefix_scans("name", "name_prefix")
    scans.append(f"(SELECT {_COLUMNS} FROM place_search WHERE grams @> search_grams(lower(:q))"
                 f" AND strpos(lower(name), lower(:q)) > 0 LIMIT {CONTAINING})")
    return f"""
        SELECT DISTINCT kind, id, name, parent, minx, miny, maxx, maxy,
               CASE WHEN lower(name) = lower(:q) OR initials = :key OR pinyin = :key THEN 0
                    WHEN name LIKE :name_prefix OR initials LIKE :key_prefix OR pinyin LIKE :key_prefix THEN 1
                    ELSE 2 END AS tier,
               array_position(CAST(:kinds AS text[]), kind) AS kind_rank, char_length(name) AS length
          FROM ({" UNION ALL ".join(scans)}) c
         ORDER BY tier, kind_rank, length, name, id
         LIMIT :limit"""


SEARCH = {pinyin: _search_sql(pinyin) for pinyin in (True, False)}


def _like_prefix(text):
    return re.sub(r"([\\%_])", r"\\\1", text) + "%"


def search(q, limit=LIMIT):
    """Places matching ``q``: exact matches first, then those that start with it, then those
    that contain it; larger places before smaller, shorter names before longer. Each is
    {kind, id, name, parent, bounds [[south, west], [north, east]]}."""
    q = q.strip()
    key = re.sub(r"\s+", "", q.lower())
    pinyin = key if key and not _KEY.search(key) else None   # only letters and digits
    rows = db.rows(SEARCH[pinyin is not None], {
        "q": q, "key": pinyin, "key_prefix": pinyin and pinyin + "%", "name_prefix": _like_prefix(q),
        "kinds": list(KINDS), "limit": limit})
    return [{"kind": r["kind"], "id": r["id"], "name": r["name"], "parent": r["parent"],
             "bounds": [[r["miny"], r["minx"]], [r["maxy"], r["maxx"]]]} for r in rows]
