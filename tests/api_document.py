"""Every /api/v1/ response the test suite produces is checked against the generated document.

tests/conftest.py wraps django.test.Client so each response under /api/v1/ goes through
`check_response`: its status must be one the operation declares, and its JSON body must
validate against that status's schema (a 304 has no body). A mismatch fails the test with the
operation, the status and the validation error.

Nothing is skipped but the document and the interactive docs themselves: a served route the
document does not describe fails.
"""

from __future__ import annotations

import functools
import json
import re

import jsonschema_rs
import pytest

PREFIX = "/api/v1"
NOT_OPERATIONS = {"/openapi.json", "/docs"}  # the document itself and the interactive docs


@functools.cache
def document() -> dict:
    """The generated document, built once per test session (as served: JSON types only)."""
    from pos.api.app import api

    return json.loads(json.dumps(api.get_openapi_schema()))


def doc_path(route: str) -> str:
    """Django's "api/v1/checks/<api_id:check_id>/send" -> "/checks/{check_id}/send"."""
    route = route.removeprefix(PREFIX.strip("/") + "/")
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


@functools.cache
def _validator(path: str, method: str, status: str):
    doc = document()
    if path is None:
        schema = {"$ref": "#/components/schemas/Error"}
    else:
        response = doc["paths"][path][method]["responses"][status]
        content = response.get("content") or {}
        if "application/json" not in content:
            return None
        schema = dict(content["application/json"].get("schema") or {})
    schema["components"] = doc["components"]
    return jsonschema_rs.Draft202012Validator(schema)


def _validate(response, validator, where: str) -> None:
    if getattr(response, "streaming", False):
        return
    content = response.content
    if validator is None:
        if content:
            pytest.fail(f"{where}: the document declares no body, the API sent {content[:200]!r}")
        return
    if "json" not in response.get("Content-Type", ""):
        pytest.fail(f"{where}: not JSON ({response.get('Content-Type')}): {content[:200]!r}")
    body = json.loads(content)
    errors = list(validator.iter_errors(body))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.instance_path) or "(the body)"
        pytest.fail(
            f"{where}: the body does not match the document at {at}: {first.message}\n"
            f"body: {json.dumps(body)[:1000]}",
            pytrace=False,
        )


def operation_for(request_path: str, method: str):
    """("/checks/{check_id}/send", "post", match) for a request path, or None when the path
    is not one of the API's operations (outside /api/v1/, the old edge, the document)."""
    from django.urls import Resolver404, resolve

    if not request_path.startswith(PREFIX + "/"):
        return None
    try:
        match = resolve(request_path)
    except Resolver404:
        return None
    return doc_path(match.route), method.lower(), match


def check_response(response, request_path: str, method: str) -> None:
    found = operation_for(request_path, method)
    if found is None:
        return
    path, method, match = found
    status = str(response.status_code)
    where = f"{method.upper()} {path} answered {status}"
    if match.url_name == "unknown":  # the JSON 404 for any other path
        if response.status_code >= 400:
            _validate(response, _validator(None, "", ""), where)
        return
    if path in NOT_OPERATIONS:
        return  # the document and the docs page: not operations
    item = document()["paths"].get(path)
    if item is None:
        pytest.fail(f"{where}: {PREFIX}{path} is served but not in the document", pytrace=False)
    if method not in item:  # a method the route does not answer: the JSON 405
        if response.status_code != 405:
            pytest.fail(f"{where}: the document has no {method.upper()} here", pytrace=False)
        _validate(response, _validator(None, "", ""), where)
        return
    declared = item[method]["responses"]
    if status not in declared:
        pytest.fail(
            f"{where}: the operation declares only {', '.join(sorted(declared))}\n"
            f"body: {response.content[:500]!r}",
            pytrace=False,
        )
    if status == "304":
        if response.content:
            pytest.fail(f"{where}: a 304 has no body", pytrace=False)
        return
    _validate(response, _validator(path, method, status), where)


def install(monkeypatch) -> None:
    """Wrap django.test.Client.request: every response is checked before the test sees it."""
    from django.test.client import Client

    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        check_response(response, environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", ""))
        return response

    monkeypatch.setattr(Client, "request", request)
