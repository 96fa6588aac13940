"""The data version: a sequence every change to the map's tables advances (see migration
0002). Reading it is one cheap query, which is what makes an unchanged poll a 304."""
from layers import db, features


def current():
    if not db.on_citus():
        return db.scalar("SELECT last_value FROM data_version", timeout_ms=2_000)
    # On Citus a change to an issue runs on its worker, where the coordinator's sequence is out
    # of reach: the communities' versions (kept beside the issues) join the coordinator's.
    row = db.rows("SELECT (SELECT last_value FROM data_version) AS v,"
                  " (SELECT coalesce(sum(version), 0) FROM community_state) AS c", timeout_ms=2_000)[0]
    return f"{row['v']}.{row['c']}"


# The versions of the communities in a bbox (every community when None): a change anywhere in
# them (issues, compounds, buildings, 三长, grids) moves the sum, a change elsewhere in the
# city does not. Venues and meetings are not kept per community: their layers use current().
# On Citus the communities are named (features.community_clause), so the sum reads their
# shards only.
AREA = """
    SELECT coalesce(sum(cs.version), 0) AS area_version, count(*) AS communities
      FROM community m JOIN community_state cs ON cs.community_id = m.id
     WHERE {where} AND {named}"""


def of_area(bbox=None):
    where, params = features.bbox_clause(bbox, "m.geom")
    (named,), ids = features.community_clause(bbox, "cs.community_id")
    row = db.rows(AREA.format(where=where, named=named), dict(params, **ids), timeout_ms=2_000)[0]
    return f"{row['area_version']}.{row['communities']}"
