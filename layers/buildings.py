"""Buildings (楼栋), shown from street-level zoom, each with its 楼栋长 and 单元长."""
from layers import db, features
from layers.access_log import revealed
from layers.scope import PUBLIC, in_scope

# Heads are personal data: in full inside the viewer's area; outside it masked names, no phones.
# A phone shown is logged as it is shown (revealed()); a caller that shows only some of the
# rows (a page of OGC features) takes the phones unlogged and logs those it shows (SHOWN_PHONE).
FULL = in_scope("c.community_id", "c.grid_id")
LOGGED_PHONE = revealed("head", "h.id", "h.phone")
SHOWN_PHONE = "CASE WHEN current_setting('transaction_read_only') = 'off' THEN h.phone END"
BUILDINGS = f"""
    SELECT b.id, b.name, c.name AS compound, b.floors,
           (SELECT json_agg(json_build_object(
                       'role', r.name_zh, 'role_code', r.code, 'unit', u.name,
                       'name', CASE WHEN {FULL} THEN h.name ELSE mask_name(h.name) END,
                       'phone', CASE WHEN {FULL} THEN {{phone}} END)
                     ORDER BY r.rank, u.id NULLS FIRST)
              FROM head h JOIN head_role r ON r.code = h.role
              LEFT JOIN unit u ON u.id = h.unit_id
             WHERE h.building_id = b.id AND h.retired_on IS NULL) AS heads,
           (SELECT count(*) FROM unit u WHERE u.building_id = b.id) AS units,
           b.geom
      FROM building b JOIN compound c ON c.id = b.compound_id
     WHERE {{where}} ORDER BY b.id"""


def query(bbox=None, scope=PUBLIC, phone=LOGGED_PHONE):
    where, params = features.bbox_clause(bbox, "b.geom")
    return BUILDINGS.format(where=where, phone=phone), dict(params, **scope)


def count(bbox):
    where, params = features.bbox_clause(bbox, "geom")
    return db.scalar(f"SELECT count(*) FROM building WHERE {where}", params)
