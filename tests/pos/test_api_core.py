"""pos/api/core.py's pieces on their own: a write view in a module with postponed annotations
keeps its body, and pydantic's errors become ours with the dotted path of the bad value."""

from __future__ import annotations

from ninja import Router

from pos.api.core import PUBLIC, BrigadeAPI, validation_error, write
from pos.api.schemas import In, Int


class PingIn(In):
    count: Int


def test_a_write_view_with_string_annotations_still_reads_its_body():
    router = Router()

    @router.post("ping", auth=PUBLIC)
    @write()
    def ping(request, body: PingIn):
        return {"count": body.count}

    api = BrigadeAPI(urls_namespace="core-test")
    api.add_router("", router)
    operation = api.get_openapi_schema(path_prefix="")["paths"]["/ping"]["post"]
    # Without the wrapper's own signature the body would be read from the query string.
    assert "requestBody" in operation
    assert operation["parameters"] == []


def test_pydantic_errors_name_the_dotted_path_and_our_code():
    missing = validation_error([{"loc": ("body", "body", "lines", 2, "item"), "type": "missing"}])
    assert (missing.code, missing.field) == ("required", "lines.2.item")
    extra = validation_error([{"loc": ("body", "body", "x"), "type": "extra_forbidden"}])
    assert (extra.code, extra.field) == ("unknown_field", "x")
    wrong = validation_error([{"loc": ("query", "after"), "type": "int_parsing", "msg": "no"}])
    assert (wrong.code, wrong.field) == ("invalid_type", "after")
    long_list = {"loc": ("body", "body", "line_ids"), "type": "too_long"}
    long_list["ctx"] = {"field_type": "List"}
    assert validation_error([long_list]).code == "too_many"
    long_text = {
        "loc": ("body", "body", "note"),
        "type": "too_long",
        "ctx": {"field_type": "Value"},
    }
    assert validation_error([long_text]).code == "too_long"


def test_validation_messages_are_in_the_venues_language():
    from django.utils import translation

    error = [{"loc": ("body", "body", "quantity"), "type": "greater_than_equal", "ctx": {"ge": 1}}]
    assert validation_error(error).message == "quantity must be at least 1."
    with translation.override("nl"):
        assert validation_error(error).message == "quantity moet minstens 1 zijn."
