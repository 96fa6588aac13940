"""`GET /openapi.json`: the JSON API described in OpenAPI 3 (built with apispec).

The descriptions are data: ``SCHEMAS`` and ``PARAMETERS`` (``webmap.openapi_schemas``) and
``PATHS`` below. A test fails when a route under /api/ or /open311/ is missing here, or a
path here has no route, so the document stays true to the app.
"""
import functools
import re

from apispec import APISpec
from flask import Blueprint, jsonify

from webmap.openapi_schemas import ISSUE_FILTERS, PARAMETERS, SCHEMAS, nullable, string

bp = Blueprint("openapi", __name__)

VERSION = "1.0"

SESSION = [{"session": []}]
SESSION_CSRF = [{"session": [], "csrf": []}]
PUBLIC_OR_SESSION = [{}, {"session": []}]  # the public sees masked data; signed in, their area in full


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path(name, description=None):
    return {"name": name, "in": "path", "schema": {"type": "integer", "minimum": 0},
            **({"description": description} if description else {})}


def _query(name, kind, description, required=False):
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind},
            "description": description}


def _body(schema, *more_types):
    content = {"application/json": {"schema": schema}}
    content.update({t: {"schema": s} for t, s in more_types})
    return {"required": True, "content": content}


OBJECT = {"type": "object"}
ISSUE_FILTER_PARAMS = [f"filter_{name}" for name in ISSUE_FILTERS]
OPEN311_LIST = ("service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size")

PATHS = {
    "/healthz": {"get": {
        "summary": "Is the app up and PostGIS reachable", "tags": ["map"],
        "responses": {"200": _json({"type": "object", "properties": {"status": {"type": "string",
                                                                                "enum": ["ok"]}}}),
                      "503": _json({"type": "object", "properties": {"status": {"type": "string"},
                                                                     "reason": {"type": "string"}}},
                                   "The database is unreachable")}}},
    "/openapi.json": {"get": {
        "summary": "This document", "tags": ["map"], "responses": {"200": _json(OBJECT)}}},
    "/api/layers/{layer}.geojson": {"get": {
        "summary": "A map layer as GeoJSON (WGS84, 6 decimals), with an ETag", "tags": ["map"],
        "security": PUBLIC_OR_SESSION,
        "parameters": [{"name": "layer", "in": "path", "schema": {"type": "string", "enum": [
                           "communities", "grids", "compounds", "issues", "venues", "deputies", "buildings"]}},
                       "bbox", {"name": "mode", "in": "query", "description": "Coloring of compounds.",
                                "schema": {"type": "string", "enum": ["open", "sla", "grid", "governance", "patrol"]}},
                       "as_of", "crs",
                       {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The layer", "headers": {"ETag": {"schema": {"type": "string"}}},
                              "content": {"application/geo+json": {"schema": "FeatureCollection"}}},
                      "304": {"description": "Unchanged since the ETag sent"},
                      "400": "BadRequest", "404": "NotFound"}}},
    "/tiles/{layer}/{z}/{x}/{y}.pbf": {"get": {
        "summary": "A Mapbox Vector Tile (XYZ, Web Mercator) of one layer or several",
        "description": "Layers communities (id, name), grids (id, name, community), compounds (id, name, "
                       "community, grid, fill, cls, open_issues; colored by mode), buildings (id, name, "
                       "compound, floors, units), issues (open issues: points with id, stage, category, sla, "
                       "reported_on and a title once past reported, from zoom 16; below it cells with count "
                       "and overdue). Several layers joined by commas (compounds,issues) come in one tile. "
                       "No personal data: public and cacheable for 60 s. An empty tile is a 204; gzip when "
                       "accepted. See /tiles/{layer}.json for zoom ranges and fields.",
        "tags": ["map"],
        "parameters": [{"name": "layer", "in": "path", "schema": {"type": "string"},
                        "description": "communities, grids, compounds, buildings, issues, or several joined "
                                       "by commas."},
                       {"name": "z", "in": "path", "schema": {"type": "integer", "minimum": 0, "maximum": 22}},
                       {"name": "x", "in": "path", "schema": {"type": "integer", "minimum": 0}},
                       {"name": "y", "in": "path", "schema": {"type": "integer", "minimum": 0}},
                       {"name": "mode", "in": "query", "description": "Coloring of compounds (default open).",
                        "schema": {"type": "string", "enum": ["open", "sla", "grid", "governance", "patrol"]}},
                       {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
                        "description": "Compounds only: replay the end of this day; with mode=open, bbox "
                                       "names the extent the classes are computed over."},
                       "bbox", "lang", "crs", {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The tile", "headers": {"ETag": {"schema": {"type": "string"}}},
                              "content": {"application/vnd.mapbox-vector-tile": {
                                  "schema": {"type": "string", "format": "binary"}}}},
                      "204": {"description": "No feature in this tile"},
                      "304": {"description": "Unchanged since the ETag sent"},
                      "400": "BadRequest", "404": "NotFound"}}},
    "/tiles/{layer}.json": {"get": {
        "summary": "TileJSON 3.0.0 of a tile layer (for QGIS, MapLibre, Leaflet.VectorGrid)", "tags": ["map"],
        "parameters": [{"name": "layer", "in": "path", "schema": {"type": "string"}},
                       {"name": "mode", "in": "query",
                        "schema": {"type": "string", "enum": ["open", "sla", "grid", "governance", "patrol"]}},
                       "as_of", "bbox", "lang"],
        "responses": {"200": _json(OBJECT), "400": "BadRequest", "404": "NotFound"}}},
    "/api/lookup": {"get": {
        "summary": "Which community, grid and compound a point is in, and who is responsible",
        "tags": ["map"], "security": PUBLIC_OR_SESSION,
        "parameters": [_query("lon", "number", "WGS84 longitude", True),
                       _query("lat", "number", "WGS84 latitude", True), "crs"],
        "responses": {"200": _json(OBJECT), "400": "BadRequest", "404": "NotFound"}}},
    "/api/heat": {"get": {
        "summary": "Open issues in a bbox binned into cells of a few pixels at the zoom, for the heat layer",
        "tags": ["map"], "security": PUBLIC_OR_SESSION,
        "parameters": [_query("bbox", "string", "minx,miny,maxx,maxy in WGS84 (GCJ-02 with crs=gcj02)", True),
                       _query("zoom", "integer", "the map's zoom, 0–22 (default 15)"), "as_of", "crs"],
        "responses": {"200": _json(OBJECT), "400": "BadRequest"}}},
    "/api/search": {"get": {
        "summary": "Places by name or pinyin, for a search box", "tags": ["map"],
        "description": "Districts, subdistricts, communities, compounds and grids whose name contains q, "
                       "or whose pinyin initials or full pinyin start with it (jnxz and jiangnan both "
                       "find 江南小镇社区). At most 10, exact matches first, then those that start with q; "
                       "larger places first. Public: names and bounds only.",
        "parameters": [_query("q", "string", "1–50 characters.", True), "lang"],
        "responses": {"200": _json({"type": "object", "properties": {
                          "results": {"type": "array", "maxItems": 10, "items": "Place"}}}),
                      "400": "BadRequest"}}},
    "/api/areas": {"get": {
        "summary": "An area with its breadcrumb from the city down and its children with bounds (the map's drill-down)",
        "tags": ["map"], "security": PUBLIC_OR_SESSION,
        "parameters": [_query("area", "string", "city, district:ID, subdistrict:ID or community:ID; "
                                                "default the viewer's own area, else the installation")],
        "responses": {"200": _json(OBJECT), "400": "BadRequest"}}},
    "/api/legend": {"get": {
        "summary": "The legend of a color mode (colors and labels), for maps drawn from vector tiles",
        "tags": ["map"], "security": PUBLIC_OR_SESSION,
        "parameters": [{"name": "mode", "in": "query", "description": "Coloring of compounds.",
                        "schema": {"type": "string", "enum": ["open", "sla", "grid", "governance", "patrol"]}},
                       "as_of", _query("bbox", "string", "with as_of: the extent the open mode's classes cover")],
        "responses": {"200": _json(OBJECT), "400": "BadRequest"}}},
    "/api/compounds/{compound_id}": {"get": {
        "summary": "A compound's card (三长 masked outside the viewer's area)", "tags": ["map"],
        "security": PUBLIC_OR_SESSION, "parameters": [_path("compound_id"), "as_of"],
        "responses": {"200": _json(OBJECT), "400": "BadRequest", "404": "NotFound"}}},
    "/api/my-area": {"get": {
        "summary": "The signed-in user's compounds, their 三长 and open issues", "tags": ["area"],
        "security": SESSION, "responses": {"200": _json(OBJECT), "401": "Unauthorized"}}},
    "/api/offline/area": {"get": {
        "summary": "The signed-in user's area for offline use: compounds, buildings with their 三长, "
                   "open issues and the my-area panel (only their own area)", "tags": ["area"],
        "security": SESSION, "responses": {"200": _json(OBJECT), "401": "Unauthorized", "403": "Forbidden"}}},
    "/api/issues": {"post": {
        "summary": "Record an issue (grid leader, community staff, deputy, admin)", "tags": ["issues"],
        "security": SESSION_CSRF,
        "parameters": ["idempotency_key"],
        "requestBody": _body("IssueCreate", ("multipart/form-data", "IssueCreateMultipart"),
                             ("application/x-www-form-urlencoded", "IssueCreate")),
        "responses": {"201": _json("Created", "Recorded"),
                      "200": _json("Created", "Already recorded under this idempotency key"),
                      "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden",
                      "422": "KeyReused"}}},
    "/api/issues/{issue_id}": {"get": {
        "summary": "An issue with its reporter and history, inside the viewer's area", "tags": ["issues"],
        "security": SESSION, "parameters": [_path("issue_id")],
        "responses": {"200": _json("Issue"), "401": "Unauthorized", "404": "NotFound"}}},
    "/api/issues/{issue_id}/advance": {"post": {
        "summary": "Move an issue one step, or reject or merge it", "tags": ["issues"],
        "security": SESSION_CSRF, "parameters": [_path("issue_id")], "requestBody": _body("IssueAdvance"),
        "responses": {"200": _json("Advanced"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound", "409": "Conflict"}}},
    "/api/issues/{issue_id}/claim": {"post": {
        "summary": "A deputy claims (认领) an issue", "tags": ["issues"], "security": SESSION_CSRF,
        "parameters": [_path("issue_id")], "requestBody": _body("Note"),
        "responses": {"201": _json("Noted"), "401": "Unauthorized", "403": "Forbidden",
                      "404": "NotFound", "409": "Conflict"}}},
    "/api/issues/{issue_id}/comment": {"post": {
        "summary": "Comment on an issue", "tags": ["issues"], "security": SESSION_CSRF,
        "parameters": [_path("issue_id")], "requestBody": _body("Note"),
        "responses": {"201": _json("Noted"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound"}}},
    "/api/issues/{issue_id}/photo": {"get": {
        "summary": "The issue's photo", "tags": ["issues"], "security": SESSION,
        "parameters": [_path("issue_id")],
        "responses": {"200": {"description": "The photo", "content": {
                          "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "image/png": {"schema": {"type": "string", "format": "binary"}}}},
                      "401": "Unauthorized", "403": "Forbidden", "404": "NotFound"}}},
    "/api/contacts": {"post": {
        "summary": "Add a 三长 contact (community staff, admin)", "tags": ["roster"],
        "security": SESSION_CSRF, "requestBody": _body("ContactNew"),
        "responses": {"201": _json("Contact"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound"}}},
    "/api/contacts/{head_id}": {
        "get": {"summary": "A 三长 contact, inside the viewer's area", "tags": ["roster"], "security": SESSION,
                "parameters": [_path("head_id")],
                "responses": {"200": _json("Contact"), "401": "Unauthorized", "404": "NotFound"}},
        "patch": {"summary": "Edit a 三长 contact", "tags": ["roster"], "security": SESSION_CSRF,
                  "parameters": [_path("head_id")], "requestBody": _body("ContactEdit"),
                  "responses": {"200": _json("Contact"), "400": "BadRequest", "401": "Unauthorized",
                                "403": "Forbidden", "404": "NotFound", "409": "Conflict"}}},
    "/api/contacts/{head_id}/retire": {"post": {
        "summary": "Retire a 三长 contact", "tags": ["roster"], "security": SESSION_CSRF,
        "parameters": [_path("head_id")], "requestBody": _body("Version"),
        "responses": {"200": _json("Contact"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound", "409": "Conflict"}}},
    "/api/contacts/{head_id}/unretire": {"post": {
        "summary": "Undo today's retirement of a 三长 contact (recorded as its own event)",
        "tags": ["roster"], "security": SESSION_CSRF,
        "parameters": [_path("head_id")], "requestBody": _body("Version"),
        "responses": {"200": _json("Contact"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound", "409": "Conflict"}}},
    "/api/contacts/{head_id}/replace": {"post": {
        "summary": "Retire a 三长 contact and appoint a successor", "tags": ["roster"],
        "security": SESSION_CSRF, "parameters": [_path("head_id")], "requestBody": _body("ContactNew"),
        "responses": {"201": _json("Contact"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound", "409": "Conflict"}}},
    "/api/contacts/{head_id}/history": {"get": {
        "summary": "Who changed a 三长 entry, when, from what to what", "tags": ["roster"],
        "security": SESSION, "parameters": [_path("head_id")],
        "responses": {"200": _json({"type": "array", "items": OBJECT}), "401": "Unauthorized",
                      "404": "NotFound"}}},
    "/api/access-log": {"get": {
        "summary": "Who was shown which personal contact, and when (admins only; newest first)",
        "description": "One row per viewer, subject and request each time a 三长 or grid leader phone, or an "
                       "issue's reporter contact, is shown unmasked (lookup, cards, buildings, my area, "
                       "contacts, issue detail); an export is one row with the number of contacts. "
                       "Times are Beijing time.",
        "tags": ["roster"], "security": SESSION,
        "parameters": [_query("user", "string", "only this viewer (user name)"),
                       {"name": "kind", "in": "query", "description": "only this kind of subject",
                        "schema": {"type": "string", "enum": ["head", "grid_leader", "reporter",
                                                              "roster_export", "ledger_export"]}},
                       {"name": "subject", "in": "query", "description": "only this head, grid or issue id",
                        "schema": {"type": "integer", "minimum": 1}},
                       {"name": "since", "in": "query", "description": "from this day (Beijing time)",
                        "schema": {"type": "string", "format": "date"}},
                       {"name": "limit", "in": "query", "description": "at most this many rows (default 100)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": {"200": _json({"type": "array", "items": {"type": "object", "properties": {
                          "id": {"type": "integer"}, "at": string("YYYY-MM-DD HH:MM:SS"),
                          "user_name": {"type": "string"}, "role": {"type": "string"},
                          "route": string("method and path, e.g. GET /api/lookup"),
                          "subject_kind": {"type": "string"},
                          "subject_id": nullable("integer", "head, grid or issue id; null for an export"),
                          "contacts": {"type": "integer"},
                          "detail": nullable("string", "an export's scope and filter (JSON)")}}}),
                      "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden"}}},
    "/api/meetings": {"post": {
        "summary": "Record a consultation meeting (协商活动)", "tags": ["issues"], "security": SESSION_CSRF,
        "requestBody": _body("Meeting"),
        "responses": {"201": _json("Created"), "400": "BadRequest", "401": "Unauthorized",
                      "403": "Forbidden", "404": "NotFound"}}},
    "/api/venues/{venue_id}/meetings": {"get": {
        "summary": "Recent meetings at a venue", "tags": ["issues"], "parameters": [_path("venue_id")],
        "responses": {"200": _json({"type": "array", "items": OBJECT})}}},
    "/api/choices": {"get": {
        "summary": "Categories, channels, stages, platforms and venues for forms", "tags": ["issues"],
        "parameters": ["lang"], "responses": {"200": _json(OBJECT)}}},
    "/api/dashboard.json": {"get": {
        "summary": "The dashboard's figures and chart series of an area, each with its issue-list link",
        "tags": ["dashboard"], "parameters": ["filter_area", "lang"],
        "responses": {"200": _json(OBJECT), "400": "BadRequest"}}},
    "/api/hotspots.geojson": {"get": {
        "summary": "Gi* hotspot cells (squares counted in PostGIS) with DBSCAN clusters of recent issues",
        "tags": ["dashboard"], "parameters": ISSUE_FILTER_PARAMS + [
            _query("cell", "integer", "Cell size in metres: 100, 200, 300, 500, 1000, 2000 or 5000."), "crs", "lang"],
        "responses": {"200": {"description": "The cells", "content": {
            "application/geo+json": {"schema": "FeatureCollection"}}}, "400": "BadRequest"}}},
    "/open311/v2/services.{fmt}": {"get": {
        "summary": "Open311: the issue categories as services", "tags": ["open311"],
        "parameters": ["fmt", "lang"],
        "responses": {"200": _json({"type": "array", "items": "Open311Service"}), "400": "Open311Error"}}},
    "/open311/v2/requests.{fmt}": {
        "get": {
            "summary": "Open311: service requests, newest first",
            "description": "Without service_request_id, only requests of a window of at most 90 days "
                           "(default: the last 90 days). Extensions: page and page_size (default 50, "
                           "at most 200), with the total in X-Total-Count and the next page in Link.",
            "tags": ["open311"],
            "parameters": ["fmt", "lang",
                           _query("service_request_id", "string", "Comma-separated ids; overrides every "
                                                                  "other filter."),
                           _query("service_code", "string", "Comma-separated category codes."),
                           {"name": "start_date", "in": "query", "description": "On requested_datetime; "
                            "W3C datetime (Beijing time when no offset).",
                            "schema": {"type": "string", "format": "date-time"}},
                           {"name": "end_date", "in": "query", "description": "On requested_datetime.",
                            "schema": {"type": "string", "format": "date-time"}},
                           _query("status", "string", "open, closed, or open,closed."),
                           {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "page_size", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
            "responses": {"200": {"description": "One page of requests",
                                  "headers": {"X-Total-Count": {"schema": {"type": "integer"}},
                                              "Link": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {
                                      "schema": {"type": "array", "items": "Open311Request"}}}},
                          "400": "Open311Error", "404": "Open311Error"}},
        "post": {
            "summary": "Open311: report an issue (API key)", "tags": ["open311"],
            "security": [{"open311_api_key": []}], "parameters": ["fmt", "lang", "idempotency_key"],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": "Open311Create"},
                "multipart/form-data": {"schema": "Open311Create"}}},
            "responses": {"201": _json("Open311Created", "Recorded, stage reported"),
                          "200": _json("Open311Created", "Already recorded under this idempotency key"),
                          "400": "Open311Error", "403": "Open311Error", "404": "Open311Error",
                          "422": "Open311Error"}}},
    "/open311/v2/requests/{service_request_id}.{fmt}": {"get": {
        "summary": "Open311: one service request", "tags": ["open311"],
        "parameters": [_path("service_request_id"), "fmt", "lang"],
        "responses": {"200": _json({"type": "array", "items": "Open311Request"}),
                      "400": "Open311Error", "404": "Open311Error"}}},
}

# Patrols (巡查打卡): webmap/patrols.py (their schemas in openapi_schemas).
PATHS.update({
    "/api/patrols": {
        "post": {
            "summary": "Record a patrol (巡查打卡) at a compound (grid leader, community staff, admin)",
            "tags": ["patrols"], "security": SESSION_CSRF,
            "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"},
                            "description": "Made by the client (a UUID); the same key is stored once."}],
            "requestBody": _body("PatrolCreate", ("multipart/form-data", "PatrolCreateMultipart")),
            "responses": {"201": _json("Patrol", "Recorded"), "200": _json("Patrol", "A retry: the stored patrol"),
                          "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
                          "422": _json("Error", "Too far from the compound, or the key was used for "
                                                "another request")}},
        "get": {
            "summary": "A compound's recent patrols, inside the viewer's area", "tags": ["patrols"],
            "security": SESSION, "parameters": [_query("compound", "integer", "A compound id.", required=True)],
            "responses": {"200": _json({"type": "object", "properties": {
                              "patrols": {"type": "array", "items": "Patrol"}}}),
                          "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound"}}},
    "/api/patrols/{patrol_id}/photo": {"get": {
        "summary": "A patrol's photo", "tags": ["patrols"], "security": SESSION,
        "parameters": [_path("patrol_id")],
        "responses": {"200": {"description": "The photo", "content": {
                          "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "image/png": {"schema": {"type": "string", "format": "binary"}}}},
                      "401": "Unauthorized", "403": "Forbidden", "404": "NotFound"}}},
})

RESPONSES = {
    "BadRequest": _json("Error", "A parameter or the body is wrong; the message says which"),
    "Unauthorized": _json("Error", "Not signed in"),
    "Forbidden": _json("Error", "The role may not do this"),
    "NotFound": _json("Error", "Unknown, or outside the viewer's area"),
    "Conflict": _json("Error", "Stale version, or a move the workflow does not allow"),
    "KeyReused": _json("Error", "The idempotency key was already used for a different request"),
    "Open311Error": _json("Open311Error", "Open311 error list; the HTTP status is its code"),
}

SECURITY_SCHEMES = {
    "session": {"type": "apiKey", "in": "cookie", "name": "session",
                "description": "The signed session cookie set by POST /login."},
    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
             "description": "The CSRF token of the session (the csrf-token meta tag of any page); "
                            "required on every POST and PATCH with the session cookie."},
    "open311_api_key": {"type": "apiKey", "in": "query", "name": "api_key",
                        "description": "Sent as the form field api_key of the POST body (OpenAPI cannot "
                                       "name a body field here); from `flask --app app apikeys add NAME`."},
}

DESCRIPTION = ("The JSON API of the 中心路街道 彩色动态图 (grid governance map). Messages are Chinese by "
               "default, English with lang=en. Personal data (三长, reporters) is shown in full only "
               "inside the signed-in user's area, masked elsewhere, never to the public.")


@functools.cache
def document():
    spec = APISpec(title="中心路街道 彩色动态图 API", version=VERSION, openapi_version="3.0.3",
                   info={"description": DESCRIPTION})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, (location, parameter) in PARAMETERS.items():
        spec.components.parameter(name, location, parameter)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for path, operations in PATHS.items():
        spec.path(path=path, operations={method: _refusable(path, method, operation)
                                         for method, operation in operations.items()})
    return spec.to_dict()


def _refusable(path, method, operation):
    """Every JSON API write may be a 400 (its body fails its schema, or a browser session sends
    no CSRF token), as may every read that takes query parameters (webmap/validate.py); a path
    naming something by id is a 404 when there is no such thing."""
    if not path.startswith("/api/"):
        return operation
    responses = dict(operation["responses"])
    if method in ("post", "patch", "put", "delete") or operation.get("parameters"):
        responses.setdefault("400", "BadRequest")
    if "{" in path:
        responses.setdefault("404", "NotFound")
    return {**operation, "responses": responses}


def openapi_path(rule):
    """A Flask rule as an OpenAPI path: ``/api/issues/<int:issue_id>`` → ``/api/issues/{issue_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
