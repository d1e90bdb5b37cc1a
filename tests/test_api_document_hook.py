"""The hook that checks every /api/v1/ response of the suite against the generated document
(tests/api_document.py) catches what it should."""

import json

import pytest
from django.http import HttpResponse, JsonResponse

from tests.api_document import check_response, doc_path, document

ME = {
    "staff": {"id": 1, "name": "Ann", "role": "server"},
    "device": {
        "id": 2,
        "name": "Tablet",
        "kind": "tablet",
        "venue": {"id": 3, "name": "Brasserie", "slug": "brasserie"},
    },
    "venue": {
        "id": 3,
        "name": "Brasserie",
        "slug": "brasserie",
        "currency": "EUR",
        "timezone": "Europe/Amsterdam",
        "language": "nl",
        "prices_include_tax": True,
        "tip_presets": [5, 10],
    },
    "permissions": ["check.open"],
}
ERROR = {"error": {"code": "pin_required", "message": "Sign in.", "field": None}}


def fails(response, path, method="GET") -> str:
    with pytest.raises(pytest.fail.Exception) as failure:
        check_response(response, path, method)
    return str(failure.value)


def test_a_matching_response_passes():
    check_response(JsonResponse(ME), "/api/v1/me", "GET")
    check_response(JsonResponse(ERROR, status=401), "/api/v1/me", "GET")


def test_an_undeclared_key_or_a_wrong_type_fails_naming_the_operation():
    message = fails(JsonResponse({**ME, "extra": 1}), "/api/v1/me")
    assert "GET /me answered 200" in message and "extra" in message
    message = fails(JsonResponse({**ME, "permissions": "all"}), "/api/v1/me")
    assert "permissions" in message
    assert "code" in fails(JsonResponse({"error": {"code": "nope"}}, status=401), "/api/v1/me")


def test_an_undeclared_status_fails():
    assert "declares only" in fails(JsonResponse(ERROR, status=418), "/api/v1/me")


def test_a_304_has_no_body_and_a_method_not_served_is_a_json_405():
    if "304" in document()["paths"]["/me"]["get"]["responses"]:
        assert "304" in fails(HttpResponse(b"{}", status=304), "/api/v1/me")
    assert "no POST" in fails(JsonResponse(ME), "/api/v1/me", "POST")
    check_response(JsonResponse(ERROR, status=405), "/api/v1/me", "POST")


def test_other_paths_are_left_alone_and_the_json_404_is_an_error():
    check_response(HttpResponse(b"<html>"), "/pos/", "GET")
    check_response(HttpResponse(b"{}"), "/api/v1/openapi.json", "GET")
    check_response(JsonResponse(ERROR, status=404), "/api/v1/no/such/thing", "GET")
    fails(JsonResponse({"oops": True}, status=404), "/api/v1/no/such/thing")


def test_routes_become_document_paths():
    assert doc_path("api/v1/checks/<api_id:check_id>/send") == "/checks/{check_id}/send"
    assert json.loads(json.dumps(document()))["openapi"] == "3.1.0"
