"""The OpenAPI document describes exactly the routes pos/api/urls.py serves."""

import json
import re

import pytest

from pos.api import urls as api_urls
from pos.api.http import unknown_endpoint
from pos.api.openapi import document

METHODS = {"get", "post", "put", "patch", "delete"}


def served_routes() -> dict[str, set[str]]:
    routes = {}
    for pattern in api_urls.urlpatterns:
        if pattern.callback is unknown_endpoint:
            continue
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        routes["/" + route] = {m.lower() for m in pattern.callback.api_methods}
    return routes


def documented_routes(doc) -> dict[str, set[str]]:
    return {path: set(item) & METHODS for path, item in doc["paths"].items()}


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_route_is_documented_with_its_methods_and_nothing_else():
    served = served_routes()
    documented = documented_routes(document())
    assert len(served) >= 20
    assert served == documented
    # Only the JSON 404 is left out.
    assert [p for p in api_urls.urlpatterns if p.callback is unknown_endpoint] == [
        api_urls.urlpatterns[-1]
    ]


def test_path_parameters_match_the_route():
    for path, item in document()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            assert declared == names, (method, path)


def test_writes_take_an_idempotency_key_and_answer_errors():
    sign_in_and_out = {"/auth/pair", "/auth/pin", "/auth/logout"}
    for path, item in document()["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["responses"], (method, path)
            if method == "get" or path in sign_in_and_out:
                continue
            assert {"$ref": "#/components/parameters/IdempotencyKey"} in op["parameters"], path
            assert {"400", "401", "403", "404", "409"} <= set(op["responses"]), path


def test_the_document_is_valid_json_and_its_refs_resolve(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"] == "3.1.0"
    assert doc == json.loads(json.dumps(document()))
    for reference in set(refs(doc)):
        assert reference.startswith("#/")
        node = doc
        for part in reference[2:].split("/"):
            assert part in node, reference
            node = node[part]
    schemes = doc["components"]["securitySchemes"]
    assert {"deviceToken", "staffToken", "deviceCookie", "sessionCookie", "csrfToken"} == set(
        schemes
    )
    for item in doc["paths"].values():
        for op in item.values():
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes)
    for name in ("Check", "Line", "Menu", "Error", "Floor"):
        assert name in doc["components"]["schemas"]


@pytest.mark.django_db
def test_the_document_needs_no_sign_in(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
