"""The generated OpenAPI document (pos/api/app.py) describes exactly the routes pos/api/urls.py
serves: every route with its methods and nothing else, its path parameters, the
Idempotency-Key of writes, a description, the request schema and a schema for every status."""

import json
import re

import pytest

from pos.api import urls as api_urls
from pos.api.app import _operation_for, _operations, api
from restaurant.errors import CODES, code_table

METHODS = {"get", "post", "put", "patch", "delete"}
NOT_OPERATIONS = {"/openapi.json", "/docs"}  # the document and the interactive docs
SIGN_IN_AND_OUT = {"/auth/pair", "/auth/pin", "/auth/logout"}  # before there is a venue
# POSTs that change nothing (a computation with a body): no Idempotency-Key.
READS_BY_POST = {
    "/checks/{check_id}/bill/parts/{part_id}/cash-quote",
    "/checks/{check_id}/bill/split-preview",
    "/drawer-sessions/{session_id}/count",
    "/items/{item_id}/quote",
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def document() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))


def is_catch_all(pattern) -> bool:
    return pattern.name == "unknown"


def served_routes() -> dict[str, set[str]]:
    routes = {}
    for pattern in api_urls.urlpatterns:
        if is_catch_all(pattern):
            continue
        route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        methods = {m.lower() for m in pattern.callback.api_methods}
        routes.setdefault(route, set()).update(methods)
    for route in NOT_OPERATIONS:
        routes.pop(route)
    return routes


def documented_routes(doc) -> dict[str, set[str]]:
    return {path: set(item) & METHODS for path, item in doc["paths"].items()}


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def ninja_operation(path: str, method: str):
    op = _operation_for(api, path, method)
    assert op is not None, f"no operation for {method} {path}"
    return op


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


def resolve(doc, reference: str):
    assert reference.startswith("#/"), reference
    node = doc
    for part in reference[2:].split("/"):
        assert part in node, reference
        node = node[part]
    return node


def test_every_route_is_documented_with_its_methods_and_nothing_else():
    served = served_routes()
    documented = documented_routes(document())
    assert len(served) >= 40
    assert served == documented
    # Only the JSON 404 is left out, and it is the last pattern.
    assert [p for p in api_urls.urlpatterns if is_catch_all(p)] == [api_urls.urlpatterns[-1]]
    # Each route is served by the one API (the old hand-written edge is gone).
    views = {op.view_func for _prefix, _raw, op in _operations(api)}
    assert len(views) == sum(map(len, served.values()))


def test_path_parameters_match_the_route():
    for path, method, op in operations(document()):
        names = set(re.findall(r"{(\w+)}", path))
        declared = [p for p in op.get("parameters", []) if p.get("in") == "path"]
        assert {p["name"] for p in declared} == names, (method, path)
        for parameter in declared:
            assert parameter["required"] is True, (method, path)
            kind = "integer" if parameter["name"].endswith("_id") else "string"
            assert parameter["schema"]["type"] == kind, (method, path, parameter)


def test_writes_take_an_idempotency_key_and_answer_errors():
    writes = 0
    for path, method, op in operations(document()):
        headers = {p["name"] for p in op.get("parameters", []) if p.get("in") == "header"}
        if method == "get":
            assert "Idempotency-Key" not in headers, path
            continue
        if path in SIGN_IN_AND_OUT | READS_BY_POST:
            assert "Idempotency-Key" not in headers, path
            continue
        writes += 1
        assert "Idempotency-Key" in headers, (method, path)
        assert {"400", "401", "403", "404", "409"} <= set(op["responses"]), (method, path)
        assert getattr(ninja_operation(path, method).view_func, "brigade_write", False), path
    assert writes >= 30


def test_every_operation_is_described_with_its_request_and_every_response():
    doc = document()
    for path, method, op in operations(doc):
        where = (method, path)
        assert op.get("description", "").strip(), where
        assert op["operationId"] and op["tags"], where
        takes_body = any(
            getattr(m, "__ninja_param_source__", None) == "body"
            for m in ninja_operation(path, method).models
        )
        if takes_body:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            # One schema, maybe wrapped (allOf [it]; anyOf [it, null] for an optional body).
            wrapped = schema.get("anyOf") or schema.get("allOf") or [schema]
            options = [o for o in wrapped if o != {"type": "null"}]
            assert len(options) == 1, where
            body = resolve(doc, options[0]["$ref"]) if "$ref" in options[0] else options[0]
            assert body.get("type") == "object" and "properties" in body, where
            assert body.get("additionalProperties") is False, where  # unknown fields refused
        else:
            assert "requestBody" not in op, where
        assert any(s.startswith("2") for s in op["responses"]), where
        for status, response in op["responses"].items():
            assert response["description"], (where, status)
            if status in ("204", "304"):
                assert "content" not in response, (where, status)
                continue
            schema = response["content"]["application/json"]["schema"]
            if status.startswith(("4", "5")):
                assert schema == ERROR_REF, (where, status)
            else:
                assert schema, (where, status)
        assert {"400", "401", "403", "404", "405"} <= set(op["responses"]) or path in (
            SIGN_IN_AND_OUT
        ), where


def test_the_error_codes_are_listed_from_the_registry():
    doc = document()
    code = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]
    assert set(code["enum"]) == CODES
    assert "`bad_version` | 409 |" in code["description"]
    assert doc["x-error-codes"] == code_table()


def test_the_document_is_valid_json_and_its_refs_resolve(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    doc = json.loads(response.content)
    assert doc["openapi"] == "3.1.0"
    assert doc == document()
    for reference in set(refs(doc)):
        resolve(doc, reference)
    schemes = doc["components"]["securitySchemes"]
    assert {"deviceToken", "staffToken", "deviceCookie", "sessionCookie", "csrfToken"} == set(
        schemes
    )
    assert schemes["staffToken"] == {**schemes["staffToken"], "type": "http", "scheme": "bearer"}
    for path, method, op in operations(doc):
        assert isinstance(op["security"], list), (method, path)
        for requirement in op["security"]:
            assert set(requirement) <= set(schemes)
        if path not in SIGN_IN_AND_OUT:
            assert op["security"], (method, path)  # everything else needs a caller
    for name in ("Error", "ErrorBody"):
        assert name in doc["components"]["schemas"]


@pytest.mark.django_db
def test_the_document_needs_no_sign_in(client):
    assert client.get("/api/v1/openapi.json").status_code == 200


@pytest.mark.django_db
def test_the_interactive_docs_are_for_signed_in_staff_only(client, place):
    from tests.pos.conftest import pair_device, tablet

    anonymous = client.get("/api/v1/docs")
    assert anonymous.status_code in (302, 401, 403)
    assert b"swagger" not in anonymous.content.lower()
    # A paired device whose staff member has not signed in sees no docs either.
    paired = client.get(
        "/api/v1/docs", headers={"Authorization": f"Device {pair_device(place.venue)}"}
    )
    assert paired.status_code in (302, 401, 403)
    signed_in = tablet(place.venue, "1111").client.get("/api/v1/docs")
    assert signed_in.status_code == 200
    assert b"swagger" in signed_in.content.lower()


def test_bounds_are_in_json_schema_words():
    """pydantic writes bounds on validated types as `ge`/`le`; the document says `minimum`."""
    doc = document()
    text = json.dumps(doc)
    assert not re.search(r'"(ge|le|gt|lt)": -?\d', text)
    lines = doc["components"]["schemas"]["LinesAddIn"]["properties"]
    quantity = next(o for o in lines["quantity"]["anyOf"] if o.get("type") == "integer")
    assert (quantity["minimum"], quantity["maximum"]) == (1, 999)
