"""The OpenAPI 3.1 document of /api/v1/, served at /api/v1/openapi.json.

Hand-written, next to the code it describes: a new route in pos/api/urls.py needs its entry
here (tests/pos/test_api_openapi.py fails otherwise, both ways round).
"""

from __future__ import annotations

import copy

# --- small builders ------------------------------------------------------------------------------


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def nullable(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1}
MONEY = {"type": "integer", "description": "Minor units of the venue's currency (cents)."}
DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["21", "12.5"]}
TIME = {"type": "string", "format": "date-time"}
VERSION = {
    "type": "integer",
    "minimum": 1,
    "description": "The check version the client last saw. A stale version is merged where "
    "the write cannot conflict (adding lines, sending, firing) and refused with 409 "
    "`stale_version` where it would (a line or the check header changed since).",
}


def json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: str) -> dict:
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "405": "MethodNotAllowed",
        "409": "Conflict",
    }
    return {s: {"$ref": f"#/components/responses/{names[s]}"} for s in statuses}


def path_param(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": ID,
    }


CHECK_ID = path_param("check_id", "The check's id.")
LINE_ID = path_param("line_id", "An order line of the check.")
IDEMPOTENCY = {"$ref": "#/components/parameters/IdempotencyKey"}

PUBLIC_AUTH: list = []
DEVICE_AUTH = [{"deviceToken": []}, {"deviceCookie": [], "csrfToken": []}]
STAFF_READ = [{"staffToken": []}, {"deviceCookie": [], "sessionCookie": []}]
STAFF_WRITE = [{"staffToken": []}, {"deviceCookie": [], "sessionCookie": [], "csrfToken": []}]


def read(
    summary: str,
    response: dict,
    *,
    params=(),
    extra_errors=(),
    extra: dict | None = None,
    description: str = "",
) -> dict:
    op = {
        "summary": summary,
        "security": STAFF_READ,
        "parameters": list(params),
        "responses": {"200": response, **(extra or {}), **errors("401", "403", *extra_errors)},
    }
    if description:
        op["description"] = description
    return op


def write(
    summary: str,
    body: dict | None,
    response: dict,
    *,
    status: str = "200",
    params=(),
    description: str = "",
) -> dict:
    op = {
        "summary": summary,
        "security": STAFF_WRITE,
        "parameters": [*params, IDEMPOTENCY],
        "responses": {
            status: response,
            **errors("400", "401", "403", "404", "409"),
        },
    }
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = json_body(body)
    return op


CHECK_RESPONSE = ok(obj({"check": ref("Check")}, ("check",)))

# --- schemas -------------------------------------------------------------------------------------

SCHEMAS = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {**STR, "description": "Stable machine-readable code."},
                    "message": {**STR, "description": "Human message, in the venue language."},
                    "field": nullable(STR),
                    "retry_after": {**INT, "description": "Seconds to wait (lockouts)."},
                },
                ("code", "message", "field"),
            )
        },
        ("error",),
    ),
    "StaffRef": obj({"id": ID, "name": STR, "role": STR}, ("id", "name", "role")),
    "Device": obj(
        {
            "id": ID,
            "name": STR,
            "kind": {"enum": ["tablet", "kds", "phone"]},
            "venue": obj({"id": ID, "name": STR, "slug": STR}),
        },
        ("id", "name", "kind", "venue"),
    ),
    "Venue": obj(
        {
            "id": ID,
            "name": STR,
            "slug": STR,
            "currency": STR,
            "timezone": STR,
            "language": STR,
            "prices_include_tax": BOOL,
            "tip_presets": array(INT),
        }
    ),
    "Me": obj(
        {
            "staff": ref("StaffRef"),
            "device": ref("Device"),
            "venue": ref("Venue"),
            "permissions": array(STR),
        },
        ("staff", "device", "venue", "permissions"),
    ),
    "PinResult": obj(
        {
            "staff": ref("StaffRef"),
            "device": ref("Device"),
            "token": {**STR, "description": "Staff token for `Authorization: Bearer`."},
            "token_type": {"const": "Bearer"},
            "expires_in": {**INT, "description": "Seconds the token stays valid."},
        },
        ("staff", "token", "expires_in"),
    ),
    "MenuModifier": obj(
        {
            "id": ID,
            "name": STR,
            "plu": STR,
            "price_delta": MONEY,
            "available": BOOL,
            "default": BOOL,
            "group": nullable(ref("ModifierGroup")),
        },
        ("id", "name", "price_delta", "available", "default", "group"),
    ),
    "ModifierGroup": obj(
        {
            "id": ID,
            "code": {**STR, "description": "Errors about this group have field modifiers.<code>."},
            "name": STR,
            "min": INT,
            "max": INT,
            "free": INT,
            "max_per_modifier": INT,
            "required": BOOL,
            "rule": {**STR, "examples": ["choose 1", "up to 2, 1 free"]},
            "modifiers": array(ref("MenuModifier")),
        },
        ("id", "code", "name", "min", "max", "free", "max_per_modifier", "rule", "modifiers"),
    ),
    "MenuItem": obj(
        {
            "id": ID,
            "name": STR,
            "description": STR,
            "plu": STR,
            "price": MONEY,
            "tax_rate": obj({"id": ID, "code": STR, "rate": DECIMAL}),
            "available": {**BOOL, "description": "False when 86'd (or out of stock)."},
            "stock_count": nullable(INT),
            "default_course": INT,
            "prep_minutes": INT,
            "station": nullable(STR),
            "modifier_groups": array(ref("ModifierGroup")),
        },
        ("id", "name", "plu", "price", "tax_rate", "available", "modifier_groups"),
    ),
    "Menu": obj(
        {
            "id": ID,
            "name": STR,
            "available_now": BOOL,
            "windows": array(
                obj({"weekdays": array(INT), "starts_at": STR, "ends_at": STR}),
            ),
            "categories": array(
                obj({"id": ID, "name": STR, "color": STR, "items": array(ref("MenuItem"))})
            ),
        },
        ("id", "name", "available_now", "categories"),
    ),
    "Menus": obj(
        {"currency": STR, "prices_include_tax": BOOL, "menus": array(ref("Menu"))},
        ("currency", "menus"),
    ),
    "FloorTable": obj(
        {
            "id": ID,
            "name": STR,
            "seats": INT,
            "shape": {"enum": ["square", "round", "rectangle", "bar_seat"]},
            "x": INT,
            "y": INT,
            "width": INT,
            "height": INT,
            "status": ref("FloorStatus"),
            "check": nullable(
                obj(
                    {
                        "id": ID,
                        "number": INT,
                        "server": ref("StaffRef"),
                        "guest_count": INT,
                        "version": INT,
                        "opened_at": TIME,
                    }
                )
            ),
        },
        ("id", "name", "status", "check"),
    ),
    "FloorStatus": {
        "enum": [
            "free",
            "seated",
            "ordered",
            "food_fired",
            "food_ready",
            "check_printed",
            "paying",
        ]
    },
    "Floor": obj(
        {
            "seq": {**INT, "description": "Apply websocket events with a higher seq."},
            "areas": array(obj({"id": ID, "name": STR, "tables": array(ref("FloorTable"))})),
            "tabs": array(ref("CheckSummary")),
        },
        ("seq", "areas"),
    ),
    "CheckSummary": obj(
        {
            "id": ID,
            "number": INT,
            "kind": {"enum": ["table", "bar_tab", "takeaway", "online"]},
            "label": STR,
            "status": {"enum": ["open", "closed", "voided"]},
            "version": INT,
            "server": ref("StaffRef"),
            "table": nullable(obj({"id": ID, "name": STR})),
            "guest_count": INT,
            "tab_name": STR,
            "floor_status": ref("FloorStatus"),
            "opened_at": TIME,
            "total": MONEY,
        },
        ("id", "number", "kind", "status", "version"),
    ),
    "LineModifier": obj(
        {
            "id": ID,
            "modifier": nullable(ID),
            "group": STR,
            "name": STR,
            "plu": STR,
            "price_delta": MONEY,
            "quantity": INT,
            "free_quantity": INT,
            "modifiers": array(ref("LineModifier")),
        },
        ("name", "price_delta", "quantity", "free_quantity", "modifiers"),
    ),
    "Adjustment": obj(
        {
            "id": ID,
            "kind": {"enum": ["comp", "discount"]},
            "line": nullable(ID),
            "percent": nullable(DECIMAL),
            "amount": nullable(MONEY),
            "reason": STR,
            "actor": ID,
            "approved_by": nullable(ID),
            "created_at": TIME,
        },
        ("id", "kind", "reason"),
    ),
    "Line": obj(
        {
            "id": ID,
            "item": nullable(ID),
            "name": STR,
            "plu": STR,
            "quantity": INT,
            "seat": {**INT, "description": "0 = shared"},
            "course": INT,
            "note": STR,
            "status": {"enum": ["new", "sent", "voided"]},
            "rush": BOOL,
            "station": STR,
            "tax_code": STR,
            "tax_rate": DECIMAL,
            "unit_price": MONEY,
            "unit_total": {**MONEY, "description": "Unit price with modifiers."},
            "total": {**MONEY, "description": "unit_total x quantity; 0 when voided."},
            "discount": MONEY,
            "total_after_discounts": MONEY,
            "changed_version": INT,
            "created_at": TIME,
            "sent_at": nullable(TIME),
            "fired_at": nullable(TIME),
            "ready_at": nullable(TIME),
            "served_at": nullable(TIME),
            "voided_at": nullable(TIME),
            "void_reason": STR,
            "modifiers": array(ref("LineModifier")),
            "adjustments": array(ref("Adjustment")),
        },
        ("id", "name", "quantity", "seat", "course", "status", "unit_price", "total"),
    ),
    "TaxLine": obj(
        {"code": STR, "rate": DECIMAL, "net": MONEY, "tax": MONEY, "gross": MONEY},
        ("code", "rate", "net", "tax", "gross"),
    ),
    "Totals": obj(
        {
            "before_discounts": MONEY,
            "discount": MONEY,
            "subtotal": MONEY,
            "tax": MONEY,
            "total": MONEY,
            "prices_include_tax": BOOL,
            "taxes": array(ref("TaxLine")),
        },
        ("before_discounts", "discount", "subtotal", "tax", "total", "taxes"),
    ),
    "Check": {
        "allOf": [
            ref("CheckSummary"),
            obj(
                {
                    "currency": STR,
                    "header_version": INT,
                    "note": STR,
                    "fired_courses": array(INT),
                    "prebill_printed_at": nullable(TIME),
                    "paying_since": nullable(TIME),
                    "closed_at": nullable(TIME),
                    "lines": array(ref("Line")),
                    "adjustments": {
                        **array(ref("Adjustment")),
                        "description": "Check-level comps and discounts.",
                    },
                    "totals": ref("Totals"),
                    "seq": INT,
                },
                ("currency", "lines", "adjustments", "totals", "seq"),
            ),
        ]
    },
    "Ticket": obj({"id": ID, "station": STR, "kind": STR, "rush": BOOL}),
    "Event": obj(
        {"seq": INT, "type": STR, "v": INT, "at": nullable(TIME), "data": {"type": "object"}},
        ("seq", "type", "data"),
    ),
    "ModifierChoice": obj(
        {
            "modifier": ID,
            "quantity": {**INT, "minimum": 1, "default": 1},
            "choices": {
                **array(ref("ModifierChoice")),
                "description": "Answers the chosen modifier's nested group.",
            },
        },
        ("modifier",),
        additionalProperties=False,
    ),
}

REQUESTS = {
    "LineAdd": obj(
        {
            "item": ID,
            "quantity": {**INT, "default": 1},
            "seat": {**INT, "default": 0},
            "course": nullable(INT),
            "note": STR,
            "modifiers": array(ref("ModifierChoice")),
            "version": VERSION,
        },
        ("item",),
        additionalProperties=False,
    ),
}

# --- paths ------------------------------------------------------------------------------------


def _paths() -> dict:
    line_and_check = ok(obj({"line": ref("Line"), "check": ref("Check")}, ("line", "check")))
    availability = obj({"available": BOOL}, ("available",), additionalProperties=False)
    return {
        "/auth/pair": {
            "post": {
                "summary": "Pair a device with its pairing code; returns its token once",
                "security": PUBLIC_AUTH,
                "requestBody": json_body(obj({"code": STR}, ("code",), additionalProperties=False)),
                "responses": {
                    "200": ok(obj({"device": ref("Device"), "token": STR}, ("device", "token"))),
                    **errors("400"),
                },
            }
        },
        "/auth/pin": {
            "post": {
                "summary": "Sign a staff member in on the device with their PIN",
                "description": "Every attempt is logged; 5 wrong PINs lock the device "
                "(403 `locked_out` with `retry_after` and a Retry-After header). With the "
                "tablet's device cookie the session is signed in as well.",
                "security": DEVICE_AUTH,
                "requestBody": json_body(
                    obj(
                        {"pin": {**STR, "pattern": "^[0-9]{4,6}$"}},
                        ("pin",),
                        additionalProperties=False,
                    )
                ),
                "responses": {"200": ok(ref("PinResult")), **errors("400", "401", "403")},
            }
        },
        "/auth/logout": {
            "post": {
                "summary": "Sign the staff member out of the tablet's session",
                "description": "Staff tokens are stateless: an API client forgets its token.",
                "security": [*STAFF_WRITE, {}],
                "responses": {
                    "200": ok(obj({"signed_out": BOOL})),
                    **errors("403"),
                },
            }
        },
        "/me": {"get": read("Who is signed in, on which device", ok(ref("Me")))},
        "/menus": {
            "get": read(
                "The menus available now, with items, modifier groups and availability",
                {
                    **ok(ref("Menus")),
                    "headers": {"ETag": {"schema": STR}},
                },
                params=[
                    {
                        "name": "all",
                        "in": "query",
                        "schema": {"enum": ["1", "true"]},
                        "description": "Include active menus outside their time windows "
                        "(with available_now false).",
                    },
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "schema": STR,
                        "description": "The ETag of a menu the client holds.",
                    },
                ],
                description="Cacheable: the ETag changes whenever the answer would (an 86, "
                "a price, a window opening).",
                extra={"304": {"description": "Not modified (the If-None-Match ETag)."}},
            )
        },
        "/floor": {
            "get": read(
                "The floor plan: areas, tables, their status and open checks",
                ok(ref("Floor")),
            )
        },
        "/events": {
            "get": read(
                "Realtime events after a seq, for catching up without a snapshot",
                ok(
                    obj(
                        {
                            "events": array(ref("Event")),
                            "last_seq": INT,
                            "complete": {
                                **BOOL,
                                "description": "False: more were missed; fetch a snapshot.",
                            },
                        },
                        ("events", "last_seq", "complete"),
                    )
                ),
                params=[{"name": "after", "in": "query", "schema": {**INT, "minimum": 0}}],
                extra_errors=("400",),
            )
        },
        "/checks": {
            "get": read(
                "Open checks (all of them, or only mine)",
                ok(obj({"seq": INT, "checks": array(ref("CheckSummary"))})),
                params=[
                    {"name": "mine", "in": "query", "schema": {"enum": ["1", "true"]}},
                    {"name": "status", "in": "query", "schema": {"enum": ["open"]}},
                ],
                extra_errors=("400",),
            ),
            "post": write(
                "Open a check: a table (with guests), a bar tab (with a name), takeaway",
                obj(
                    {
                        "kind": {"enum": ["table", "bar_tab", "takeaway", "online"]},
                        "table": ID,
                        "guest_count": INT,
                        "tab_name": STR,
                        "server": {**ID, "description": "Default: the signed-in staff member."},
                    },
                    ("kind",),
                    additionalProperties=False,
                ),
                ok(obj({"check": ref("Check")}, ("check",)), "Opened"),
                status="201",
            ),
        },
        "/checks/{check_id}": {
            "get": read(
                "A check with its lines, comps and totals",
                ok(ref("Check")),
                params=[CHECK_ID],
                extra_errors=("404",),
            )
        },
        "/checks/{check_id}/lines": {
            "post": write(
                "Add an item (with modifiers) to the check",
                {"$ref": "#/components/schemas/LineAdd"},
                {**line_and_check, "description": "Added"},
                status="201",
                params=[CHECK_ID],
                description="Never conflicts: an add against a stale version is merged.",
            )
        },
        "/checks/{check_id}/lines/{line_id}": {
            "patch": write(
                "Change a line's quantity, note or course",
                obj(
                    {"quantity": INT, "note": STR, "course": INT, "version": VERSION},
                    additionalProperties=False,
                ),
                line_and_check,
                params=[CHECK_ID, LINE_ID],
            )
        },
        "/checks/{check_id}/lines/{line_id}/void": {
            "post": write(
                "Void a line (a sent line needs a manager's approval PIN)",
                obj(
                    {"reason": STR, "approver_pin": STR, "version": VERSION},
                    ("reason",),
                    additionalProperties=False,
                ),
                line_and_check,
                params=[CHECK_ID, LINE_ID],
            )
        },
        "/checks/{check_id}/send": {
            "post": write(
                "Send new lines to the kitchen (all, or the given ones)",
                obj(
                    {"line_ids": array(ID), "rush_ids": array(ID), "version": VERSION},
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {
                            "sent": array(ID),
                            "tickets": array(ref("Ticket")),
                            "check": ref("Check"),
                        },
                        ("sent", "tickets", "check"),
                    )
                ),
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/fire": {
            "post": write(
                "Fire a course: its held lines go to the cooks",
                obj(
                    {"course": {**INT, "minimum": 1}, "version": VERSION},
                    ("course",),
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {
                            "fired": array(ID),
                            "tickets": array(ref("Ticket")),
                            "check": ref("Check"),
                        },
                        ("fired", "tickets", "check"),
                    )
                ),
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/adjustments": {
            "post": write(
                "Comp or discount a line or the whole check",
                obj(
                    {
                        "line": {**ID, "description": "Omit for the whole check."},
                        "kind": {"enum": ["comp", "discount"]},
                        "percent": {"oneOf": [{"type": "number"}, DECIMAL]},
                        "amount": MONEY,
                        "reason": STR,
                        "approver_pin": STR,
                        "version": VERSION,
                    },
                    ("kind", "reason"),
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {"adjustment": ref("Adjustment"), "check": ref("Check")},
                        ("adjustment", "check"),
                    ),
                    "Added",
                ),
                status="201",
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/adjustments/{adjustment_id}": {
            "delete": write(
                "Remove a comp or discount",
                None,
                ok(obj({"removed": ID, "check": ref("Check")}, ("removed", "check"))),
                params=[
                    CHECK_ID,
                    path_param("adjustment_id", "A comp or discount on the check."),
                    {"name": "reason", "in": "query", "schema": STR},
                    {"name": "approver_pin", "in": "query", "schema": STR},
                    {"name": "version", "in": "query", "schema": VERSION},
                ],
                description="reason, approver_pin and version go in the JSON body or the "
                "query string.",
            )
            | {
                "requestBody": json_body(
                    obj(
                        {"reason": STR, "approver_pin": STR, "version": VERSION},
                        additionalProperties=False,
                    ),
                    required=False,
                )
            }
        },
        "/checks/{check_id}/move-seat": {
            "post": write(
                "Move lines to another seat",
                obj(
                    {"line_ids": array(ID), "seat": INT, "version": VERSION},
                    ("line_ids", "seat"),
                    additionalProperties=False,
                ),
                CHECK_RESPONSE,
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/transfer": {
            "post": write(
                "Move lines to another table or check, or the whole check to another "
                "table or server",
                obj(
                    {
                        "line_ids": {
                            **array(ID),
                            "description": "Given: these lines move (to_table or to_check). "
                            "Omitted: the whole check moves (to_table and/or to_server).",
                        },
                        "to_table": ID,
                        "to_check": ID,
                        "to_server": ID,
                        "guest_count": {
                            **INT,
                            "description": "Guests of a new check at to_table (lines only).",
                        },
                        "version": VERSION,
                    },
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {"check": ref("Check"), "target": ref("Check")},
                        ("check", "target"),
                    )
                ),
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/merge": {
            "post": write(
                "Merge another open check into this one",
                obj(
                    {"other": ID, "version": VERSION},
                    ("other",),
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {
                            "check": ref("Check"),
                            "merged": obj({"id": ID, "status": STR, "version": INT}),
                        },
                        ("check", "merged"),
                    )
                ),
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/guests": {
            "post": write(
                "Change the number of guests",
                obj(
                    {"guest_count": INT, "version": VERSION},
                    ("guest_count",),
                    additionalProperties=False,
                ),
                CHECK_RESPONSE,
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/prebill": {
            "post": write(
                "Print the check for the guests (pre-bill)",
                obj({"version": VERSION}, additionalProperties=False),
                CHECK_RESPONSE,
                params=[CHECK_ID],
            )
        },
        "/items/{item_id}/availability": {
            "post": write(
                "86 an item (available false) or bring it back",
                availability,
                ok(
                    obj(
                        {
                            "item": obj({"id": ID, "available": BOOL, "stock_count": INT}),
                            "seq": INT,
                        }
                    )
                ),
                params=[path_param("item_id", "A menu item.")],
            )
        },
        "/modifiers/{modifier_id}/availability": {
            "post": write(
                "86 a modifier (available false) or bring it back",
                availability,
                ok(obj({"modifier": obj({"id": ID, "available": BOOL}), "seq": INT})),
                params=[path_param("modifier_id", "A modifier.")],
            )
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": PUBLIC_AUTH,
                "responses": {"200": ok({"type": "object"})},
            }
        },
    }


ERROR_RESPONSE = {"content": {"application/json": {"schema": ref("Error")}}}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Brigade POS API",
        "version": "1.0.0",
        "summary": "Everything the tablet does: checks, lines, modifiers, kitchen, comps.",
        "description": (
            "Authenticate a device (`POST /auth/pair`, then `Authorization: Device <token>`), "
            "sign a staff member in (`POST /auth/pin`), then call everything else with "
            "`Authorization: Bearer <staff token>`; the tablet web app uses its cookies "
            "(device cookie + session) and sends `X-CSRFToken` on writes.\n\n"
            "Money is an integer in minor units of `currency`. Errors are "
            '`{"error": {"code", "message", "field"}}` with a 4xx status; a request that '
            "fails changes nothing.\n\n"
            "Every write should carry an `Idempotency-Key` (a fresh UUID per user action, "
            "repeated on retries: a retried tap is applied once, and the replayed answer has "
            "`Idempotent-Replayed: true`) and the check `version` the client last saw. Every "
            "write answers with the check as it now is."
        ),
        "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    },
    "servers": [{"url": "/api/v1"}],
    "security": STAFF_READ,
    "components": {
        "securitySchemes": {
            "deviceToken": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Device <device token>` from POST /auth/pair.",
            },
            "staffToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The staff token from POST /auth/pin.",
            },
            "deviceCookie": {"type": "apiKey", "in": "cookie", "name": "brigade_device"},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            "csrfToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRFToken",
                "description": "Required on cookie-authenticated writes (the csrftoken cookie).",
            },
        },
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Required by clients on every write: a fresh key (UUID) per user "
                "action, resent with each retry. The same key with a different request is "
                "refused (409 `idempotency_key_reused`).",
                "schema": {"type": "string", "maxLength": 100},
            }
        },
        "responses": {
            "BadRequest": {
                "description": "Invalid input (`invalid_json`, `invalid_type`, "
                "`unknown_field`, `reason_required`, `modifiers.<group>` errors...).",
                **ERROR_RESPONSE,
            },
            "Unauthorized": {
                "description": "Not signed in (`device_not_paired`, `pin_required`, `locked`).",
                **ERROR_RESPONSE,
            },
            "Forbidden": {
                "description": "Not allowed (`permission_denied`, `approval_required`, "
                "`bad_approval_pin`, `locked_out`, `csrf_failed`).",
                **ERROR_RESPONSE,
            },
            "NotFound": {"description": "No such thing at this venue.", **ERROR_RESPONSE},
            "MethodNotAllowed": {"description": "Wrong method.", **ERROR_RESPONSE},
            "Conflict": {
                "description": "Refused by the state of things (`stale_version`, "
                "`already_voided`, `item_unavailable`, `check_not_open`, "
                "`idempotency_key_reused`...).",
                **ERROR_RESPONSE,
            },
        },
        "schemas": {**SCHEMAS, **REQUESTS},
    },
}


def document() -> dict:
    doc = copy.deepcopy(DOCUMENT)
    doc["paths"] = _paths()
    return doc
