"""Finishing touches to the generated OpenAPI document (BrigadeAPI.get_openapi_schema).

- The error codes, from the one registry (restaurant.errors.ErrorCode): the Error schema's
  `code` becomes an enum of every registered code, its description a table of each code's
  usual status and meaning, and `x-error-codes` the same table for code generators.
- Bounds in JSON Schema's words: pydantic writes a bound on a type that has a before-validator
  (`Annotated[Int, Field(ge=1)]`, Int checking whole numbers first) as `ge`/`le`, keywords
  JSON Schema does not know, so clients and schemathesis would not see the bound at all.
  Every integer of a body is within ±(2^53 - 1) (restaurant/jsonio.py refuses others).
- An optional body is absent or an object, never `null` (ninja writes `anyOf [X, null]`).
"""

from __future__ import annotations

from restaurant.errors import ErrorCode, code_table
from restaurant.jsonio import MAX_INT

BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def finish(schema: dict) -> dict:
    standard_bounds(schema)
    bodies = [schema.get("components", {}).get("schemas", {})]
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                content = operation["requestBody"].get("content", {}).get("application/json")
                if content:
                    content["schema"] = _not_null(content.get("schema", {}))
                    bodies.append(content["schema"])
    for body in bodies:
        json_integers(body)
    describe_error_codes(schema)
    return schema


def _not_null(body: dict) -> dict:
    options = [o for o in body.get("anyOf", ()) if o != {"type": "null"}]
    if "anyOf" in body and len(options) == 1 and len(body) == 1:
        return options[0]
    return body


def json_integers(node) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", -MAX_INT)
            node.setdefault("maximum", MAX_INT)
        for value in node.values():
            json_integers(value)
    elif isinstance(node, list):
        for value in node:
            json_integers(value)


def standard_bounds(node) -> None:
    if isinstance(node, dict):
        for ours, standard in BOUNDS.items():
            value = node.get(ours)
            # A bound is a number; a property named "ge" would be a schema (a dict).
            if isinstance(value, int | float) and not isinstance(value, bool):
                node.setdefault(standard, node.pop(ours))
        for value in node.values():
            standard_bounds(value)
    elif isinstance(node, list):
        for value in node:
            standard_bounds(value)


def describe_error_codes(schema: dict) -> None:
    body = schema.get("components", {}).get("schemas", {}).get("ErrorBody")
    if body is None:
        return
    codes = sorted(ErrorCode, key=lambda c: (c.status, c.value))
    rows = "\n".join(f"| `{c.value}` | {c.status} | {c.meaning} |" for c in codes)
    code = body["properties"]["code"]
    code["enum"] = [c.value for c in codes]
    code["description"] = (
        "Stable machine-readable code, one of these (the usual status; some codes also come "
        "with another, e.g. a Stripe code is 409 or 502):\n\n"
        "| code | status | meaning |\n|---|---|---|\n" + rows
    )
    schema.setdefault("x-error-codes", code_table())
