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
# --- what requests may carry: the document says every bound the API checks, so a request
# valid by this document is never refused as invalid (400); anything that depends on data
# (an item's modifier rules, a table's state) is refused as 409/403/404 instead.
MAX_INT = 2**53 - 1
MAX_CASH = 10_000_000  # payments.services.MAX_CASH
REF = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
PATH_ID = {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999}
AMOUNT = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_CASH,
    "description": "Minor units of the venue's currency (cents), at most 100,000.00.",
}
AMOUNT_OR_ZERO = {**AMOUNT, "minimum": 0}
REASON = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": r"^[^\u0000]*\S[^\u0000]*$",
    "description": "Why (required; at most 200 characters, not only spaces).",
}
NO_NUL = r"^[^\u0000]*$"  # PostgreSQL stores no NUL character
NOTE = {"type": "string", "maxLength": 200, "pattern": NO_NUL}
QUANTITY = {"type": "integer", "minimum": 1, "maximum": 999}
SEAT = {"type": "integer", "minimum": 0, "maximum": 99, "description": "0 = shared"}
COURSE = {"type": "integer", "minimum": 1, "maximum": 9}
GUESTS = {"type": "integer", "minimum": 0, "maximum": 500}
PERCENT = {
    "oneOf": [
        {"type": "number", "minimum": 0, "maximum": 100},
        {"type": "string", "pattern": r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$"},
    ]
}
ID_LIST = {"type": "array", "items": REF, "maxItems": 500}
SERVER_REF = {**REF, "description": "Default: the signed-in staff member."}
MONEY = {"type": "integer", "description": "Minor units of the venue's currency (cents)."}
DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["21", "12.5"]}
TIME = {"type": "string", "format": "date-time"}
VERSION = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_INT,
    "description": "The check version the client last saw. A stale version is merged where "
    "the write cannot conflict (adding lines, sending, firing) and refused with 409 "
    "`stale_version` where it would (a line or the check header changed since).",
}


def null_is_absent(schema: dict) -> dict:
    """The API reads a JSON null as an absent field: say so for every optional property of a
    request body (a required one must be there, and not null)."""
    if "oneOf" in schema:
        return {**schema, "oneOf": [null_is_absent(branch) for branch in schema["oneOf"]]}
    if schema.get("type") != "object" or "properties" not in schema:
        return schema
    required = set(schema.get("required", ()))
    properties = {
        name: prop if name in required or _allows_null(prop) else nullable(prop)
        for name, prop in schema["properties"].items()
    }
    return {**schema, "properties": properties}


def _allows_null(prop: dict) -> bool:
    return prop.get("type") == "null" or any(
        branch.get("type") == "null" for branch in prop.get("oneOf", ())
    )


def json_body(schema: dict, required: bool = True) -> dict:
    return {
        "required": required,
        "content": {"application/json": {"schema": null_is_absent(schema)}},
    }


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
        "schema": PATH_ID,
    }


CHECK_ID = path_param("check_id", "The check's id.")
LINE_ID = path_param("line_id", "An order line of the check.")
DRAWER_ID = path_param("drawer_id", "A cash drawer.")
SESSION_ID = path_param("session_id", "A drawer session.")
PAYMENT_ID = path_param("payment_id", "A payment.")
IDEMPOTENCY = {"$ref": "#/components/parameters/IdempotencyKey"}
APPROVER_PIN_HEADER = {"$ref": "#/components/parameters/ApproverPin"}
APPROVER_PIN = {
    "type": "string",
    "writeOnly": True,
    "description": "A manager's PIN approving this action (or the X-Approver-PIN header). "
    "Never in the URL: a query string with a PIN is refused (400 `secret_in_url`).",
}

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
        # 400 everywhere: a secret in the query string is refused on every route.
        "responses": {
            "200": response,
            **(extra or {}),
            **errors("400", "401", "403", *extra_errors),
        },
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
            "status": {"enum": ["open", "closed", "voided", "merged"]},
            "version": INT,
            "server": ref("StaffRef"),
            "table": nullable(obj({"id": ID, "name": STR})),
            "guest_count": INT,
            "tab_name": STR,
            "floor_status": ref("FloorStatus"),
            "opened_at": TIME,
            "closed_at": nullable(TIME),
            "paid_amount": {**MONEY, "description": "Paid toward the check so far (no tips)."},
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
            "service_charge": {**MONEY, "description": "Included in subtotal and total."},
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
                    "seq": {
                        **INT,
                        "description": (
                            "The venue's last event when the check was read. A write's answer "
                            "carries the seq from before its own events, which get their "
                            "numbers at commit and then arrive on the websocket."
                        ),
                    },
                },
                ("currency", "lines", "adjustments", "totals", "seq"),
            ),
        ]
    },
    "Payment": obj(
        {
            "id": ID,
            "check": ID,
            "part": ID,
            "method": {"enum": ["cash", "card"]},
            "status": {"enum": ["pending", "succeeded", "failed", "canceled"]},
            "amount": {**MONEY, "description": "Paid toward the part (exact)."},
            "tip": MONEY,
            "tip_percent": nullable(DECIMAL),
            "rounding": {**MONEY, "description": "Cash rounding: collected - amount - tip."},
            "collected": {**MONEY, "description": "amount + tip + rounding."},
            "tendered": nullable(MONEY),
            "change": MONEY,
            "card_brand": STR,
            "card_last4": STR,
            "channel": {"enum": ["", "reader", "tap_to_pay"]},
            "reader": nullable(ID),
            "tip_on_reader": BOOL,
            "stripe_payment_intent": nullable(STR),
            "attempts": INT,
            "failure_code": STR,
            "failure_message": {**STR, "description": "Why the last try failed (declined...)."},
            "refunded": MONEY,
            "server": {**ID, "description": "The check's server, to whom the tip goes."},
            "taken_by": ID,
            "drawer_session": nullable(ID),
            "created_at": TIME,
        },
        ("id", "part", "method", "status", "amount", "tip", "rounding", "change"),
    ),
    "TipOption": obj({"percent": INT, "amount": MONEY}, ("percent", "amount")),
    "BillPart": obj(
        {
            "id": ID,
            "position": INT,
            "label": STR,
            "kind": {"enum": ["even", "lines", "amount"]},
            "status": {"enum": ["open", "paid"]},
            "fixed_amount": nullable(MONEY),
            "total": MONEY,
            "tax": MONEY,
            "taxes": array(ref("TaxLine")),
            "discount": MONEY,
            "service_charge": MONEY,
            "paid": MONEY,
            "tips": MONEY,
            "balance": MONEY,
            "cash_due": {**MONEY, "description": "The balance rounded to the cash step."},
            "tip_basis": MONEY,
            "tip_options": array(ref("TipOption")),
            "shares": array(
                obj(
                    {"line": ID, "numerator": INT, "denominator": INT},
                    ("line", "numerator", "denominator"),
                )
            ),
            "payments": array(ref("Payment")),
        },
        ("id", "label", "kind", "status", "total", "taxes", "paid", "balance", "payments"),
    ),
    "Bill": obj(
        {
            "check": ID,
            "number": INT,
            "status": STR,
            "version": INT,
            "currency": STR,
            "total": MONEY,
            "tax": MONEY,
            "taxes": array(ref("TaxLine")),
            "service_charge": MONEY,
            "paid": MONEY,
            "tips": MONEY,
            "balance": MONEY,
            "cash_rounding": {**INT, "description": "Cash is rounded to this step (5 = 5 cents)."},
            "tip_presets": array(INT),
            "tip_basis": obj({"before_tax": BOOL, "before_discount": BOOL}),
            "parts": array(ref("BillPart")),
            "unassigned": {
                **obj({"total": MONEY, "taxes": array(ref("TaxLine"))}),
                "description": "What no part covers yet (lines added after a split by item).",
            },
            "settled": BOOL,
        },
        ("check", "version", "total", "paid", "balance", "parts", "unassigned", "settled"),
    ),
    "DrawerSession": obj(
        {
            "id": ID,
            "drawer": obj({"id": ID, "name": STR}),
            "status": {"enum": ["open", "closed"]},
            "opened_by": nullable(ref("StaffRef")),
            "opened_at": TIME,
            "opening_float": MONEY,
            "closed_by": nullable(ref("StaffRef")),
            "closed_at": nullable(TIME),
            "expected": nullable(MONEY),
            "counted": nullable(MONEY),
            "denominations": {"type": "object", "additionalProperties": INT},
            "variance": {
                **nullable(MONEY),
                "description": "counted - expected: negative is short.",
            },
            "note": STR,
            "report": obj(
                {
                    "float": MONEY,
                    "cash_sales": MONEY,
                    "cash_tips": MONEY,
                    "rounding": MONEY,
                    "pay_in": MONEY,
                    "pay_out": MONEY,
                    "payments": INT,
                    "expected": MONEY,
                }
            ),
        },
        ("id", "drawer", "status", "opening_float"),
    ),
    "Ticket": obj({"id": ID, "station": STR, "kind": STR, "rush": BOOL}),
    "Event": obj(
        {"seq": INT, "type": STR, "v": INT, "at": nullable(TIME), "data": {"type": "object"}},
        ("seq", "type", "data"),
    ),
    "ModifierChoice": obj(
        {
            "modifier": REF,
            "quantity": {**INT, "minimum": 1, "maximum": 99, "default": 1},
            "choices": {
                **array(ref("ModifierChoice")),
                "description": "Answers the chosen modifier's nested group.",
            },
        },
        ("modifier",),
        additionalProperties=False,
    ),
}

LINE_FIELDS = {
    "item": REF,
    "quantity": {**QUANTITY, "default": 1},
    "seat": {**SEAT, "default": 0},
    "course": nullable(COURSE),
    "note": NOTE,
    "modifiers": {**array(ref("ModifierChoice")), "maxItems": 100},
}

REQUESTS = {
    "LineAdd": null_is_absent(
        obj({**LINE_FIELDS, "version": VERSION}, ("item",), additionalProperties=False)
    ),
    "LinesAdd": null_is_absent(
        obj(
            {
                "lines": {
                    **array(
                        null_is_absent(obj(LINE_FIELDS, ("item",), additionalProperties=False))
                    ),
                    "minItems": 1,
                    "maxItems": 100,
                    "description": (
                        "All of them or none; an error names its line: "
                        "`lines.2.modifiers.doneness`."
                    ),
                },
                "version": VERSION,
            },
            ("lines",),
            additionalProperties=False,
        )
    ),
}

# --- paths ------------------------------------------------------------------------------------


def _paths() -> dict:
    line_and_check = ok(obj({"line": ref("Line"), "check": ref("Check")}, ("line", "check")))
    availability = obj({"available": BOOL}, ("available",), additionalProperties=False)
    bill_only = ok(obj({"bill": ref("Bill")}, ("bill",)))
    bill_and_check = ok(obj({"bill": ref("Bill"), "check": ref("Check")}, ("bill", "check")))
    session_only = ok(obj({"session": ref("DrawerSession")}, ("session",)))
    card_answer = ok(
        obj(
            {"payment": ref("Payment"), "bill": ref("Bill"), "check": ref("Check")},
            ("payment", "bill", "check"),
        )
    )
    return {
        "/auth/pair": {
            "post": {
                "summary": "Pair a device with its pairing code; returns its token once",
                "security": PUBLIC_AUTH,
                "requestBody": json_body(
                    obj(
                        {"code": {**STR, "maxLength": 20, "pattern": NO_NUL}},
                        ("code",),
                        additionalProperties=False,
                    )
                ),
                "responses": {
                    "200": ok(obj({"device": ref("Device"), "token": STR}, ("device", "token"))),
                    **errors("400", "403"),
                },
                "description": "A code that pairs nothing (or pairs a kitchen screen) is 403 "
                "`bad_pairing_code` / `wrong_device_kind`; after 5 of those from one address "
                "in 15 minutes, 403 `throttled` (with `retry_after`).",
            }
        },
        "/auth/pin": {
            "post": {
                "summary": "Sign a staff member in on the device with their PIN",
                "description": "Every attempt is logged. Five wrong PINs in 15 minutes lock PIN "
                "entry on every device of the venue (a PIN alone), or for the staff member named "
                "(`staff`): 403 `locked_out` with `retry_after` and a Retry-After header. A "
                "kitchen screen signs nobody in (403 `wrong_device_kind`). With the "
                "tablet's device cookie the session is signed in as well.",
                "security": DEVICE_AUTH,
                "requestBody": json_body(
                    obj(
                        {
                            "pin": {**STR, "pattern": "^[0-9]{4,6}$"},
                            "staff": {
                                **REF,
                                "description": "Who is signing in (optional): the PIN must be "
                                "theirs, and a wrong one counts against them only.",
                            },
                        },
                        ("pin",),
                        additionalProperties=False,
                    )
                ),
                "responses": {
                    "200": ok(ref("PinResult")),
                    **errors("400", "401", "403", "404"),
                },
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
                        "schema": {"enum": ["1", "true", "0", "false"]},
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
                params=[
                    {
                        "name": "after",
                        "in": "query",
                        "schema": {**INT, "minimum": 0, "maximum": 999_999_999_999_999},
                    }
                ],
                extra_errors=("400",),
            )
        },
        "/checks": {
            "get": read(
                "Open checks, or today's closed ones (all of them, or only mine)",
                ok(obj({"seq": INT, "checks": array(ref("CheckSummary"))})),
                params=[
                    {
                        "name": "mine",
                        "in": "query",
                        "schema": {"enum": ["1", "true", "0", "false"]},
                    },
                    {"name": "status", "in": "query", "schema": {"enum": ["open", "closed"]}},
                ],
                extra_errors=("400",),
            ),
            "post": write(
                "Open a check: a table (with guests), a bar tab (with a name), takeaway",
                {
                    "oneOf": [
                        obj(
                            {
                                "kind": {"const": "table"},
                                "table": REF,
                                "guest_count": {**GUESTS, "minimum": 1},
                                "tab_name": {**STR, "maxLength": 80, "pattern": NO_NUL},
                                "server": SERVER_REF,
                            },
                            ("kind", "table", "guest_count"),
                            additionalProperties=False,
                        ),
                        obj(
                            {
                                "kind": {"const": "bar_tab"},
                                "guest_count": GUESTS,
                                "tab_name": {
                                    **STR,
                                    "minLength": 1,
                                    "maxLength": 80,
                                    "pattern": r"^[^\u0000]*\S[^\u0000]*$",
                                },
                                "server": SERVER_REF,
                            },
                            ("kind", "tab_name"),
                            additionalProperties=False,
                        ),
                        obj(
                            {
                                "kind": {"enum": ["takeaway", "online"]},
                                "guest_count": GUESTS,
                                "tab_name": {**STR, "maxLength": 80, "pattern": NO_NUL},
                                "server": SERVER_REF,
                            },
                            ("kind",),
                            additionalProperties=False,
                        ),
                    ],
                    "description": "A table needs its table and at least one guest; a bar tab "
                    "its name.",
                },
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
                "Add an item (with modifiers) to the check, or several at once",
                {
                    "oneOf": [
                        {"$ref": "#/components/schemas/LineAdd"},
                        {"$ref": "#/components/schemas/LinesAdd"},
                    ]
                },
                {
                    **ok(
                        {
                            "oneOf": [
                                obj(
                                    {"line": ref("Line"), "check": ref("Check")}, ("line", "check")
                                ),
                                obj(
                                    {"lines": array(ref("Line")), "check": ref("Check")},
                                    ("lines", "check"),
                                ),
                            ]
                        }
                    ),
                    "description": "Added",
                },
                status="201",
                params=[CHECK_ID],
                description="Never conflicts: an add against a stale version is merged.",
            )
        },
        "/checks/{check_id}/lines/{line_id}": {
            "patch": write(
                "Change a line's quantity, note or course",
                obj(
                    {"quantity": QUANTITY, "note": NOTE, "course": COURSE, "version": VERSION},
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
                    {"reason": REASON, "approver_pin": APPROVER_PIN, "version": VERSION},
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
                    {"line_ids": ID_LIST, "rush_ids": ID_LIST, "version": VERSION},
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
                    {"course": COURSE, "version": VERSION},
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
                        "line": {**REF, "description": "Omit for the whole check."},
                        "kind": {"enum": ["comp", "discount"]},
                        "percent": PERCENT,
                        "amount": AMOUNT,
                        "reason": REASON,
                        "approver_pin": APPROVER_PIN,
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
                    {"name": "reason", "in": "query", "schema": REASON},
                    {"name": "version", "in": "query", "schema": VERSION},
                    APPROVER_PIN_HEADER,
                ],
                description="reason and version go in the JSON body or the query string; "
                "the approval PIN goes in the body or the X-Approver-PIN header, never in "
                "the URL (400 `secret_in_url`).",
            )
            | {
                "requestBody": json_body(
                    obj(
                        {"reason": REASON, "approver_pin": APPROVER_PIN, "version": VERSION},
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
                    {"line_ids": {**ID_LIST, "minItems": 1}, "seat": SEAT, "version": VERSION},
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
                            **ID_LIST,
                            "description": "Given: these lines move (to_table or to_check). "
                            "Omitted: the whole check moves (to_table and/or to_server).",
                        },
                        "to_table": REF,
                        "to_check": REF,
                        "to_server": REF,
                        "guest_count": {
                            **GUESTS,
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
                    {"other": REF, "version": VERSION},
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
                    {"guest_count": GUESTS, "version": VERSION},
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
        "/checks/{check_id}/bill": {
            "get": read(
                "The bill: each part to the cent, VAT per rate, paid and left",
                bill_only,
                params=[CHECK_ID],
                extra_errors=("404",),
            )
        },
        "/checks/{check_id}/bill/split": {
            "post": write(
                "Split what is not paid yet",
                obj(
                    {
                        "mode": {"enum": ["whole", "even", "seat", "items", "amounts"]},
                        "ways": {**INT, "minimum": 2, "maximum": 50, "description": "even"},
                        "groups": {
                            **array({**array(SEAT), "maxItems": 100}),
                            "maxItems": 100,
                            "description": "seat: seat groups such as [[1, 2], [3], [4]]; "
                            "omit for one part per seat. Shared lines (seat 0) are shared "
                            "equally.",
                        },
                        "parts": {
                            **array(
                                obj(
                                    {
                                        "label": {**STR, "maxLength": 60, "pattern": NO_NUL},
                                        "lines": {
                                            "type": "object",
                                            "description": 'line id -> share: 1, "1/3" or [1, 3]',
                                        },
                                    },
                                    ("lines",),
                                )
                            ),
                            "description": "items: what each part pays.",
                        },
                        "amounts": {
                            **array(AMOUNT),
                            "maxItems": 50,
                            "description": "amounts: fixed parts; the rest is one more part.",
                        },
                        "version": VERSION,
                    },
                    ("mode",),
                    additionalProperties=False,
                ),
                bill_and_check,
                params=[CHECK_ID],
                description="Parts that have payments stay as they are; all other open parts "
                "are replaced. Errors: `unknown_line`, `bad_fraction`, `line_overassigned`, "
                "`amounts_exceed_total`, `no_seats`, `seat_twice`, `stale_version`.",
            )
        },
        "/checks/{check_id}/bill/parts/{part_id}/split": {
            "post": write(
                "Split one unpaid part again (a seat pays in two halves)",
                obj(
                    {"ways": {**INT, "minimum": 2, "maximum": 50}, "version": VERSION},
                    ("ways",),
                    additionalProperties=False,
                ),
                bill_and_check,
                params=[CHECK_ID, path_param("part_id", "A part of the check's bill.")],
            )
        },
        "/checks/{check_id}/payments": {
            "post": write(
                "Take a cash payment for a part (or the whole check)",
                obj(
                    {
                        "part": {
                            **REF,
                            "description": "Omit when the bill has one open part "
                            "or is not split (the whole check).",
                        },
                        "method": {"enum": ["cash"]},
                        "amount": {
                            **AMOUNT,
                            "description": "Toward the part; omit for its "
                            "balance. More than the balance is refused (`overpayment`).",
                        },
                        "tip": AMOUNT_OR_ZERO,
                        "tip_percent": {
                            **PERCENT,
                            "description": "Of this payment's share of the part's tip basis.",
                        },
                        "tendered": {
                            **AMOUNT_OR_ZERO,
                            "description": "Cash handed over; default: "
                            "exactly what is due after rounding.",
                        },
                        "drawer_session": {**REF, "description": "When several drawers are open."},
                        "version": VERSION,
                    },
                    ("method",),
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {"payment": ref("Payment"), "bill": ref("Bill"), "check": ref("Check")},
                        ("payment", "bill", "check"),
                    ),
                    "Paid",
                ),
                status="201",
                params=[CHECK_ID],
                description="A fully paid check closes and its table frees up. Errors: "
                "`overpayment`, `part_paid`, `part_required`, `tendered_short`, "
                "`no_open_drawer`, `drawer_required`, `tip_too_large`, `check_not_open`, "
                "`stale_version`.",
            )
        },
        "/checks/{check_id}/close": {
            "post": write(
                "Close a check that owes nothing (all comped)",
                obj({"version": VERSION}, additionalProperties=False),
                bill_and_check,
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/reopen": {
            "post": write(
                "Reopen a closed check (a manager's PIN approves)",
                obj(
                    {"reason": REASON, "approver_pin": APPROVER_PIN},
                    ("reason",),
                    additionalProperties=False,
                ),
                bill_and_check,
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/receipts": {
            "post": write(
                "Give a receipt: print, email or none (also for closed checks: reprint)",
                obj(
                    {
                        "part": {**REF, "description": "Omit for the whole check."},
                        "kind": {"enum": ["print", "email", "none"]},
                        "email": {
                            **STR,
                            "format": "email",
                            "maxLength": 254,
                            "description": "For kind email (required there); checked when given.",
                        },
                        "reprint": BOOL,
                    },
                    ("kind",),
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {
                            "receipt": obj(
                                {
                                    "id": ID,
                                    "kind": STR,
                                    "part": nullable(ID),
                                    "email": STR,
                                    "reprint": BOOL,
                                }
                            )
                        },
                        ("receipt",),
                    ),
                    "Given",
                ),
                status="201",
                params=[CHECK_ID],
            )
        },
        "/checks/{check_id}/card-payments": {
            "post": write(
                "Pay a part by card: on a smart reader, or with Tap to Pay on a phone",
                obj(
                    {
                        "part": {**REF, "description": "Omit when the bill has one open part."},
                        "channel": {"enum": ["reader", "tap_to_pay"], "default": "reader"},
                        "reader": {**REF, "description": "reader: which one (GET /readers)."},
                        "amount": {
                            **AMOUNT,
                            "description": "Toward the part; default: its balance.",
                        },
                        "tip": {
                            **AMOUNT_OR_ZERO,
                            "description": "Chosen on the tablet: in the amount "
                            "charged, the reader skips its tip screen.",
                        },
                        "tip_percent": PERCENT,
                        "tip_on_reader": {
                            **BOOL,
                            "description": "The guest picks the tip on "
                            "the reader (its suggestions use the venue's tip "
                            "basis).",
                        },
                        "version": VERSION,
                    },
                    additionalProperties=False,
                ),
                ok(
                    obj(
                        {
                            "payment": ref("Payment"),
                            "client_secret": {
                                **nullable(STR),
                                "description": "tap_to_pay: for the Terminal SDK on the "
                                "phone to collect and confirm the PaymentIntent (null while "
                                "another request is still creating it: start again).",
                            },
                            "bill": ref("Bill"),
                            "check": ref("Check"),
                        },
                        ("payment", "bill", "check"),
                    ),
                    "Started (or, retried, the same payment)",
                ),
                status="201",
                params=[CHECK_ID],
                description="One card payment in progress per part: a retried or concurrent "
                "request returns the same payment and PaymentIntent. Errors: `part_in_progress`, "
                "`terminal_reader_busy`, `terminal_reader_offline`, `terminal_reader_timeout`, "
                "`overpayment`, `part_paid`, `stale_version`, `stripe_not_configured`.",
            )
        },
        "/card-payments/{payment_id}": {
            "get": read(
                "How a card payment is going (polled by the tablet; asks Stripe when the "
                "webhook is late)",
                card_answer,
                params=[PAYMENT_ID],
                extra_errors=("404", "409"),
            )
        },
        "/card-payments/{payment_id}/retry": {
            "post": write(
                "Show a declined card payment on the reader again (same PaymentIntent)",
                None,
                card_answer,
                params=[PAYMENT_ID],
                description=(
                    "When the reader already shows this payment (another tap, another "
                    "tablet), the payment is answered as it is and nothing is sent. Errors: "
                    "409 `terminal_reader_busy` (the reader shows another payment) and "
                    "`terminal_reader_offline`; a refused retry changes nothing."
                ),
            )
        },
        "/card-payments/{payment_id}/cancel": {
            "post": write(
                "Cancel a card payment that is still waiting (the reader's screen and the "
                "PaymentIntent)",
                None,
                card_answer,
                params=[PAYMENT_ID],
            )
        },
        "/card-payments/{payment_id}/capture": {
            "post": write(
                "Tap to Pay: capture after the phone collected and confirmed the card",
                None,
                card_answer,
                params=[PAYMENT_ID],
                description="Errors: `not_authorized` (the PaymentIntent is not authorized).",
            )
        },
        "/payments/{payment_id}/refunds": {
            "post": write(
                "Refund a captured card payment, fully or partly (a manager's PIN approves)",
                obj(
                    {
                        "amount": {**AMOUNT, "description": "Default: all that is left."},
                        "reason": REASON,
                        "approver_pin": APPROVER_PIN,
                    },
                    ("reason",),
                    additionalProperties=False,
                ),
                ok(obj({"refund": {"type": "object"}, "payment": ref("Payment")})),
                status="201",
                params=[PAYMENT_ID],
            )
        },
        "/readers": {
            "get": read(
                "The venue's card readers",
                ok(
                    obj(
                        {
                            "readers": array(
                                obj(
                                    {
                                        "id": ID,
                                        "label": STR,
                                        "device_type": STR,
                                        "stripe_id": STR,
                                    }
                                )
                            )
                        }
                    )
                ),
            )
        },
        "/terminal/connection-token": {
            "post": write(
                "Tap to Pay: a Stripe Terminal connection token for this signed-in device",
                None,
                ok(obj({"secret": STR, "location": STR}, ("secret", "location"))),
            )
        },
        "/terminal/location": {
            "get": read(
                "Tap to Pay: the venue's Stripe Terminal location",
                ok(obj({"location": obj({"id": STR, "display_name": STR})})),
                extra_errors=("409",),
                description="409 `stripe_not_configured` (or a Stripe error) when Stripe "
                "cannot be asked.",
            )
        },
        "/drawers": {
            "get": read(
                "Cash drawers and their open sessions",
                ok(
                    obj(
                        {
                            "drawers": array(
                                obj(
                                    {
                                        "id": ID,
                                        "name": STR,
                                        "session": nullable(ref("DrawerSession")),
                                    }
                                )
                            ),
                            "may_manage": BOOL,
                        },
                        ("drawers",),
                    )
                ),
            )
        },
        "/drawers/{drawer_id}/open": {
            "post": write(
                "Open a drawer with the counted float",
                obj(
                    {"opening_float": AMOUNT_OR_ZERO},
                    ("opening_float",),
                    additionalProperties=False,
                ),
                session_only,
                status="201",
                params=[DRAWER_ID],
            )
        },
        "/drawer-sessions/{session_id}": {
            "get": read(
                "A drawer session with what is expected in it",
                session_only,
                params=[SESSION_ID],
                extra_errors=("404",),
            )
        },
        "/drawer-sessions/{session_id}/movements": {
            "post": write(
                "Pay cash in or out of the drawer, with the reason",
                obj(
                    {"kind": {"enum": ["pay_in", "pay_out"]}, "amount": AMOUNT, "reason": REASON},
                    ("kind", "amount", "reason"),
                    additionalProperties=False,
                ),
                ok(obj({"movement": {"type": "object"}, "session": ref("DrawerSession")})),
                status="201",
                params=[SESSION_ID],
            )
        },
        "/drawer-sessions/{session_id}/close": {
            "post": write(
                "Close the drawer with the count; the variance is recorded",
                obj(
                    {
                        "counted": AMOUNT_OR_ZERO,
                        "denominations": {
                            "type": "object",
                            "propertyNames": {"pattern": "^[1-9][0-9]{0,7}$"},
                            "additionalProperties": {**INT, "minimum": 0, "maximum": 100_000},
                            "minProperties": 1,
                            "maxProperties": 50,
                            "description": "value in minor units -> how many, such as "
                            '{"5000": 2, "200": 7}',
                        },
                        "note": NOTE,
                    },
                    additionalProperties=False,
                ),
                session_only,
                params=[SESSION_ID],
                description="Errors: `drawer_closed` (closed already), `count_mismatch`, "
                "`count_required`.",
            )
        },
        "/items/{item_id}/availability": {
            "post": write(
                "86 an item (available false) or bring it back",
                availability,
                ok(
                    obj(
                        {
                            "item": obj(
                                {"id": ID, "available": BOOL, "stock_count": nullable(INT)}
                            ),
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
            "ApproverPin": {
                "name": "X-Approver-PIN",
                "in": "header",
                "required": False,
                "description": "A manager's PIN approving the action, for clients that cannot "
                "send it in the JSON body (`approver_pin`); never in the URL.",
                "schema": {"type": "string"},
            },
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Required by clients on every write: a fresh key (UUID) per user "
                "action, resent with each retry. The same key with a different request is "
                "refused (409 `idempotency_key_reused`).",
                "schema": {"type": "string", "maxLength": 100},
            },
        },
        "responses": {
            "BadRequest": {
                "description": "Invalid input (`invalid_json`, `invalid_type`, "
                "`unknown_field`, `reason_required`, `modifiers.<group>` errors...), or a "
                "secret (a PIN, token or code) in the query string (`secret_in_url`).",
                **ERROR_RESPONSE,
            },
            "Unauthorized": {
                "description": "Not signed in (`device_not_paired`, `pin_required`, `locked`).",
                **ERROR_RESPONSE,
            },
            "Forbidden": {
                "description": "Not allowed (`permission_denied`, `approval_required`, "
                "`bad_approval_pin`, `locked_out`, `csrf_failed`, `wrong_device_kind`, "
                "`bad_pairing_code`, `throttled`).",
                **ERROR_RESPONSE,
            },
            "NotFound": {"description": "No such thing at this venue.", **ERROR_RESPONSE},
            "MethodNotAllowed": {"description": "Wrong method.", **ERROR_RESPONSE},
            "Conflict": {
                "description": "Refused by the state of things (`stale_version`, "
                "`bad_version`, `already_voided`, `item_unavailable`, `check_not_open`, "
                "`idempotency_key_reused`, and every rule this document cannot say because "
                "it depends on data: an item's modifier rules, a table's guests...).",
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
