"""GET /openapi.json: a valid OpenAPI 3 document that describes every JSON route, and only those."""
from openapi_spec_validator import validate

from webmap.openapi import openapi_path

METHODS = {"get", "post", "put", "patch", "delete"}
DOCUMENTED = ("/api/", "/open311/")


def routes(app):
    """(OpenAPI path, method) of every rule under /api/ and /open311/."""
    return {(openapi_path(rule.rule), method.lower())
            for rule in app.url_map.iter_rules() if rule.rule.startswith(DOCUMENTED)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def operations(document):
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_the_document_is_valid_openapi_3(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_json_route_is_documented(app, client):
    documented = operations(client.get("/openapi.json").get_json())
    assert routes(app) - documented == set()


def test_every_documented_path_is_a_route(app, client):
    documented = operations(client.get("/openapi.json").get_json())
    rules = {(openapi_path(r.rule), m.lower()) for r in app.url_map.iter_rules()
             for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented - rules == set()


def test_security_schemes_and_error_schema(client):
    components = client.get("/openapi.json").get_json()["components"]
    schemes = components["securitySchemes"]
    assert schemes["session"]["in"] == "cookie"
    assert schemes["csrf"] == {**schemes["csrf"], "in": "header", "name": "X-CSRFToken"}
    assert schemes["open311_api_key"]["name"] == "api_key"
    error = components["schemas"]["Error"]
    assert error["required"] == ["error"] and list(error["properties"]) == ["error"]
    assert error["properties"]["error"]["type"] == "string"
    for body in ("IssueCreate", "IssueAdvance", "ContactEdit", "Meeting"):
        assert components["schemas"][body]["properties"]


def test_path_conversion():
    assert openapi_path("/api/issues/<int:issue_id>/advance") == "/api/issues/{issue_id}/advance"
    assert openapi_path("/api/layers/<layer>.geojson") == "/api/layers/{layer}.geojson"
    assert openapi_path("/open311/v2/requests/<int:service_request_id>.<fmt>") == \
        "/open311/v2/requests/{service_request_id}.{fmt}"
