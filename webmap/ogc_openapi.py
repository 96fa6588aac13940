"""The OpenAPI 3.0 document of ``/ogc`` (OGC API – Features' oas30 conformance class)."""


def _param(name, where, schema, description, required=False, **more):
    return {"name": name, "in": where, "required": required, "schema": schema,
            "description": description, **more}


def _ok(*types):
    return {"200": {"description": "OK", "content": {t: {"schema": {"type": "object"}} for t in types}},
            "400": {"$ref": "#/components/responses/Error"}}


def document(server, collections, crs):
    """The document for a server at ``server`` (scheme and host) with these collection ids and CRSs."""
    f = _param("f", "query", {"type": "string", "enum": ["json", "html"]}, "Response format.")
    lang = _param("lang", "query", {"type": "string", "enum": ["zh_CN", "en"]}, "Message language.")
    collection = _param("collectionId", "path", {"type": "string", "enum": collections}, "Collection.", True)
    crs_param = _param("crs", "query", {"type": "string", "format": "uri", "enum": crs, "default": crs[0]},
                       "CRS of the returned coordinates (axis order as the CRS defines).")
    items = [collection, f, lang, crs_param,
             _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
                    "Features per page (more is capped at 10,000)."),
             _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip."),
             _param("after", "query", {"type": "integer", "minimum": 0},
                    "Keyset paging (next links): the features with ids above this one."),
             _param("before", "query", {"type": "integer", "minimum": 0},
                    "Keyset paging (prev links): the features with ids just below this one."),
             _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                    "minx,miny,maxx,maxy in bbox-crs.", style="form", explode=False),
             _param("bbox-crs", "query", {"type": "string", "format": "uri", "enum": crs, "default": crs[0]},
                    "CRS of bbox."),
             _param("datetime", "query", {"type": "string"},
                    "Reported time of issues: an instant or an interval, `..` for an open end."),
             _param("stage", "query", {"type": "string"}, "Issues: stage codes, comma-separated."),
             _param("category", "query", {"type": "string"}, "Issues: category codes, comma-separated."),
             _param("community", "query", {"type": "string"}, "Community names, comma-separated."),
             _param("grid", "query", {"type": "string"}, "Compounds: grid names, comma-separated."),
             _param("compound", "query", {"type": "string"}, "Buildings: compound names, comma-separated.")]
    fid = _param("featureId", "path", {"type": "string"}, "Feature id.", True)

    def get(summary, parameters, *types):
        return {"get": {"summary": summary, "parameters": parameters, "responses": _ok(*types)}}

    return {
        "openapi": "3.0.3",
        "security": [{}, {"apiKey": []}, {"bearer": []}],
        "info": {"title": "OGC API – Features", "version": "1.0"},
        "servers": [{"url": server}],
        "paths": {
            "/ogc": get("Landing page", [f, lang], "application/json", "text/html"),
            "/ogc/conformance": get("Conformance classes", [f, lang], "application/json", "text/html"),
            "/ogc/api": get("This document", [f, lang], "application/vnd.oai.openapi+json;version=3.0"),
            "/ogc/collections": get("Collections", [f, lang], "application/json", "text/html"),
            "/ogc/collections/{collectionId}": get("A collection", [collection, f, lang],
                                                   "application/json", "text/html"),
            "/ogc/collections/{collectionId}/queryables": get(
                "The properties a query may filter on (JSON Schema)", [collection, f, lang],
                "application/schema+json", "text/html"),
            "/ogc/collections/{collectionId}/items": get("Features", items, "application/geo+json", "text/html"),
            "/ogc/collections/{collectionId}/items/{featureId}": get(
                "A feature", [collection, fid, f, lang, crs_param], "application/geo+json", "text/html"),
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                           "description": "From `flask --app app apikeys add NAME --area AREA`: personal "
                                          "data in full inside AREA; without a key, public fields only."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "The same key as a bearer token."}},
            "responses": {"Error": {"description": "Bad request: {code, description, status}",
                                               "content": {"application/json": {"schema": {
                                                   "type": "object", "required": ["code", "description"],
                                                   "properties": {"code": {"type": "string"},
                                                                  "description": {"type": "string"},
                                                                  "status": {"type": "integer"}}}}}}}},
    }
