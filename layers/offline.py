"""The area bundle a signed-in user's phone keeps for offline use (GET /api/offline/area).

Everything is scoped in SQL to the user's own area (layers.scope): their compounds, the
buildings in them with their 三长, and their open issues; phones go through ``revealed()``
(layers/access_log.py), so each phone a bundle carries is in the access log. The pieces have
the shapes of the online answers (the compounds, buildings and issues layers; /api/my-area),
so the service worker can answer those requests from the bundle when the network is gone.
"""
import json

from layers import buildings, compounds, db, features, issues, myarea
from layers.scope import in_scope

COMPOUNDS_IN_AREA = in_scope("c.community_id", "c.grid_id")
ISSUES_IN_AREA = in_scope("i.community_id", "i.grid_id")
# The layer's issues with the compound each lies in (the compound cards list them offline).
ISSUES = """SELECT f.*, i.compound_id FROM ({layer}) f JOIN issue i ON i.id = f.id"""


def bundle(scope, style, legend, synced_at, strings):
    """The user's area as JSON text: compounds (styled with the open mode's ``style``),
    buildings, open issues and the my-area panel, stamped ``synced_at`` (ISO 8601), with the
    ``strings`` the service worker answers with offline."""
    state_sql, state_params = compounds.state()
    compound_sql = compounds.LAYER.format(state=state_sql, klass=compounds.CLASS["open"],
                                          cls="k.k::text", where=COMPOUNDS_IN_AREA)
    building_sql = buildings.BUILDINGS.format(where=COMPOUNDS_IN_AREA, phone=buildings.LOGGED_PHONE)
    issue_sql = ISSUES.format(layer=issues.LAYER.format(state=issues.state_sql(None), sla=issues.SLA,
                                                        where=ISSUES_IN_AREA, named="TRUE"))
    with db.transaction() as conn:
        parts = {
            "compounds": features.feature_collection(
                compound_sql, {**state_params, **scope, "breaks": list(style.get("breaks", [])),
                               "colors": list(style["colors"])},
                members={"legend": legend, "mode": "open"}, conn=conn),
            "buildings": features.feature_collection(building_sql, scope, conn=conn),
            "issues": features.feature_collection(issue_sql, {**scope, **issues.t_params(None)}, conn=conn),
        }
    parts["my_area"] = json.dumps(myarea.my_area(scope), ensure_ascii=False, default=str)
    parts["synced_at"] = json.dumps(synced_at)
    parts["strings"] = json.dumps(strings, ensure_ascii=False)
    return "{" + ",".join(f'"{k}":{v}' for k, v in parts.items()) + "}"
