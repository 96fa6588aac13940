"""The data version: a sequence every change to the map's tables advances (see migration
0002). Reading it is one cheap query, which is what makes an unchanged poll a 304."""
import functools

from layers import db, features


def current():
    if not _on_citus(str(db.engine().url)):
        return db.scalar("SELECT last_value FROM data_version", timeout_ms=2_000)
    # On Citus a change to an issue runs on its worker, where the coordinator's sequence is out
    # of reach: the communities' versions (kept beside the issues) join the coordinator's.
    row = db.rows("SELECT (SELECT last_value FROM data_version) AS v,"
                  " (SELECT coalesce(sum(version), 0) FROM community_state) AS c", timeout_ms=2_000)[0]
    return f"{row['v']}.{row['c']}"


@functools.lru_cache(maxsize=16)
def _on_citus(url):
    return db.scalar("SELECT count(*) > 0 FROM pg_extension WHERE extname = 'citus'", timeout_ms=2_000)


# The versions of the communities in a bbox (every community when None): a change anywhere in
# them (issues, compounds, buildings, 三长, grids) moves the sum, a change elsewhere in the
# city does not. Venues and meetings are not kept per community: their layers use current().
AREA = """
    SELECT coalesce(sum(cs.version), 0) AS area_version, count(*) AS communities
      FROM community m JOIN community_state cs ON cs.community_id = m.id
     WHERE {where}"""


def of_area(bbox=None):
    where, params = features.bbox_clause(bbox, "m.geom")
    row = db.rows(AREA.format(where=where), params, timeout_ms=2_000)[0]
    return f"{row['area_version']}.{row['communities']}"
