"""Checks: open, read, order, send and fire, comp, move, merge, print.

Every check write answers with the check as it is after the write (`check`, with its new
`version`), so the tablet re-renders from the response; the services hand that check back
with its state loaded where they can (`Check.state_version`), and only otherwise is it read
again. Ids from another venue are 404. A write may carry the `version` the client last saw:
where the write cannot conflict (adding lines, sending, firing, printing) a stale one is
merged, elsewhere it is refused with 409 `stale_version`.
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Body, Query, Router, Status
from pydantic import BeforeValidator, ConfigDict, Field

from kitchen import services as kitchen_services
from orders import modifiers as order_modifiers
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Adjustment, Check, OrderLine
from pos.api import serialize
from pos.api.core import STAFF, Caller, not_found, write
from pos.api.routers.check_schemas import (
    Adjustment as AdjustmentOut,
)
from pos.api.routers.check_schemas import (
    CheckListed,
    CheckOnly,
    CheckOut,
    Line,
    TicketRef,
)
from pos.api.schemas import (
    MAX_IDS,
    ApproverPin,
    ErrorBody,
    Flag,
    Id,
    Ids,
    In,
    Int,
    Money,
    Out,
    Version,
    bounded_text,
    decimal_number,
    must_be_text,
    responses,
)
from restaurant import permissions
from restaurant.errors import ValidationFailed
from restaurant.jsonio import MAX_INT
from restaurant.models import MenuItem, StaffMember, Table
from restaurant.queries import one
from restaurant.realtime import last_seq

router = Router(tags=["checks"])

# --- request field types -------------------------------------------------------------------------


Quantity = Annotated[Int, Field(ge=1, le=999)]
Seat = Annotated[Int, Field(ge=0, le=99, description="0 = shared")]
Course = Annotated[Int, Field(ge=1, le=9)]
Guests = Annotated[Int, Field(ge=0, le=500)]


Note = bounded_text(200)
TabName = bounded_text(80)
Reason = bounded_text(200, "Why (required; at most 200 characters).")
Percent = Annotated[
    Decimal,
    BeforeValidator(decimal_number),
    Field(description='Above 0 and at most 100, at most 3 decimals: 10, 12.5 or "12.5".'),
]
Amount = Annotated[
    Int, Field(ge=1, description="Minor units of the venue's currency (cents), above 0.")
]
AdjustmentKind = Annotated[Literal["comp", "discount"], BeforeValidator(must_be_text)]
CheckKind = Annotated[
    Literal["table", "bar_tab", "takeaway", "online"], BeforeValidator(must_be_text)
]
ModifierChoices = Annotated[
    list[Any],
    Field(
        max_length=MAX_IDS,
        description='The chosen modifiers: [{"modifier": id, "quantity": 1, "choices": '
        "[...]}], `choices` answering the chosen modifier's nested group. A choice the "
        "item's rules refuse names its group: `modifiers.<group code>`.",
    ),
]


# --- lookups (venue-scoped: another venue's id is simply not found) -------------------------


def _check(caller: Caller, check_id: int) -> Check:
    tab = one(
        Check.objects.select_related("table", "server").filter(pk=check_id, venue=caller.venue)
    )
    if tab is None:
        raise not_found(_("check"))
    tab.venue = caller.venue
    return tab


def _line(tab: Check, line_id: int, field: str | None = None) -> OrderLine:
    line = one(OrderLine.objects.select_related("tab").filter(pk=line_id, tab=tab))
    if line is None:
        raise not_found(_("line on this check"), field)
    return line


def _of_venue(caller: Caller, model, pk: int | None, what: str, field: str):
    """The `model` row `pk` of the caller's venue (None for no id); 404 naming `field`."""
    if pk is None:
        return None
    row = one(model.objects.filter(pk=pk, venue=caller.venue))
    if row is None:
        raise not_found(what, field)
    return row


def _may_see(caller: Caller, tab: Check) -> None:
    if tab.server_id != caller.staff.pk:
        permissions.require(caller.staff, "check.view_all")


def _check_body(caller: Caller, check: Check | int) -> dict:
    """The full check as it is now (inside a write: after the write).

    A check that a service handed back with its state loaded after the change (the lines,
    modifiers and adjustments read once, under its lock: `Check.state_version`) is answered
    as it is; otherwise it is read again.
    """
    seq = last_seq(venue_id=caller.venue.pk)
    if isinstance(check, Check) and getattr(check, "state_version", None) == check.version:
        check.venue = caller.venue
        return serialize.check_json(check, seq=seq)
    check_id = check.pk if isinstance(check, Check) else check
    tab = order_selectors.check_with_lines(check_id=check_id, venue=caller.venue)
    return serialize.check_json(tab, seq=seq)


def _tab_of(line: OrderLine, tab: Check) -> Check | int:
    """The check a service handed back on the line (with its state, when it loaded it), or
    the check's id to read it again; never a query of its own."""
    return line.tab if OrderLine.tab.is_cached(line) else tab.pk


def _find_line(check_body: dict, line_id: int) -> dict | None:
    return next((x for x in check_body["lines"] if x["id"] == line_id), None)


def _tickets_json(tickets) -> list[dict]:
    return [
        {"id": t.pk, "station": t.station.slug, "kind": t.kind, "rush": t.rush} for t in tickets
    ]


# --- checks --------------------------------------------------------------------------------------


class ChecksOut(Out):
    seq: int
    checks: list[CheckListed] = Field(description="At most 200.")


@router.get("checks", auth=STAFF, response=responses({200: ChecksOut}))
def checks_list(
    request,
    status: Annotated[
        Literal["open", "closed"],
        Query("open", description="Open checks, or the ones closed today."),
    ] = "open",
    mine: Annotated[Flag, Query(False, description="Only the signed-in staff member's.")] = False,
):
    """Open checks, or today's closed ones: all of them (with `check.view_all`), or only
    mine."""
    caller = request.auth
    if status == Check.Status.CLOSED:
        rows = order_selectors.closed_checks(venue=caller.venue).select_related("venue")
    else:
        rows = order_selectors.open_checks(venue=caller.venue).select_related("venue")
    if mine:
        rows = rows.filter(server=caller.staff)
    else:
        permissions.require(caller.staff, "check.view_all")
    rows = rows.prefetch_related(None).prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.prefetch_related("modifiers", "adjustments"),
        ),
        Prefetch("adjustments", queryset=Adjustment.objects.order_by("pk")),
    )
    return {
        "seq": last_seq(venue_id=caller.venue.pk),
        "checks": [
            serialize.check_summary(tab, total=order_selectors.totals_for(tab).total)
            for tab in rows[:200]
        ],
    }


def documented(**extra):
    """A schema's document says more than its fields check (what the services refuse with
    their own codes): `properties` are merged into the fields' own, `required` added."""

    def update(schema: dict) -> None:
        for name, prop in extra.get("properties", {}).items():
            schema.setdefault("properties", {}).setdefault(name, {}).update(prop)
        for name in extra.get("required", ()):  # required: not null either
            prop = schema.get("properties", {}).get(name, {})
            kinds = [b for b in prop.pop("anyOf", ()) if b.get("type") != "null"]
            prop.update(kinds[0] if len(kinds) == 1 else {"anyOf": kinds} if kinds else {})
        if "required" in extra:
            schema["required"] = sorted({*schema.get("required", ()), *extra["required"]})
        schema.update({k: v for k, v in extra.items() if k not in ("properties", "required")})

    return update


NOT_BLANK = r"^[^\u0000]*\S[^\u0000]*$"
REQUIRED_REASON = {"minLength": 1, "pattern": NOT_BLANK}


class CheckOpenIn(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "properties": {
                        "kind": {"const": "table"},
                        "guest_count": {"type": "integer", "minimum": 1},
                    },
                    "required": ["kind", "table", "guest_count"],
                },
                {
                    "properties": {
                        "kind": {"const": "bar_tab"},
                        "tab_name": {"type": "string", "minLength": 1, "pattern": NOT_BLANK},
                        "table": {"type": "null"},
                    },
                    "required": ["kind", "tab_name"],
                },
                {
                    "properties": {
                        "kind": {"enum": ["takeaway", "online"]},
                        "table": {"type": "null"},
                    },
                    "required": ["kind"],
                },
            ],
            "description": "A table needs its table and at least one guest; a bar tab its name.",
        },
    )

    kind: CheckKind
    table: Id | None = Field(None, description="A table check: its table.")
    guest_count: Guests | None = Field(None, description="A table needs at least one guest.")
    tab_name: TabName | None = Field(None, description="A bar tab's name (required for one).")
    server: Id | None = Field(None, description="Default: the signed-in staff member.")


@router.post("checks", auth=STAFF, response=responses({201: CheckOnly}))
@write()
def checks_create(request, body: CheckOpenIn):
    """Open a check: a table (with its guests), a bar tab (with a name), takeaway or online."""
    caller = request.auth
    table = _of_venue(caller, Table, body.table, _("table"), "table")
    server = _of_venue(caller, StaffMember, body.server, _("staff member"), "server")
    tab = order_services.check_open(
        venue=caller.venue,
        actor=caller.staff,
        kind=body.kind,
        table=table,
        guest_count=body.guest_count or 0,
        tab_name=body.tab_name or "",
        server=server,
    )
    order_selectors.check_state_empty(tab)  # just opened: nothing on it yet
    tab.state_version = tab.version
    return Status(201, {"check": _check_body(caller, tab)})


@router.get("checks/{api_id:check_id}", auth=STAFF, response=responses({200: CheckOut}))
def check_detail(request, check_id: int):
    """A check with its lines, comps and discounts, and totals (another server's check needs
    `check.view_all`)."""
    caller = request.auth
    tab = _check(caller, check_id)
    _may_see(caller, tab)
    return _check_body(caller, tab.pk)


# --- lines ---------------------------------------------------------------------------------------


class NewLineIn(In):
    item: Id
    quantity: Quantity | None = Field(None, description="Default 1.")
    seat: Seat | None = Field(None, description="Default 0 (shared).")
    course: Course | None = Field(None, description="Default: the item's course.")
    note: Note | None = None
    modifiers: ModifierChoices | None = None


SINGLE_LINE_FIELDS = ("item", "quantity", "seat", "course", "note", "modifiers")


class LinesAddIn(In):
    """One line's fields, or `lines`: several lines, all of them or none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["item"],
                    "properties": {"item": {"type": "integer"}, "lines": {"type": "null"}},
                },
                {
                    "required": ["lines"],
                    "properties": {
                        "lines": {"type": "array", "minItems": 1, "maxItems": 100},
                        **{name: {"type": "null"} for name in SINGLE_LINE_FIELDS},
                    },
                },
            ]
        },
    )

    item: Id | None = Field(None, description="One line: the menu item (required for one).")
    quantity: Quantity | None = Field(None, description="Default 1.")
    seat: Seat | None = Field(None, description="Default 0 (shared).")
    course: Course | None = Field(None, description="Default: the item's course.")
    note: Note | None = None
    modifiers: ModifierChoices | None = None
    lines: list[NewLineIn] | None = Field(
        None,
        description="Several lines (1 to 100), all of them or none; an error names its line: "
        "`lines.2.modifiers.doneness`. Not with the single line's fields.",
    )
    version: Version | None = None


class LineAdded(Out):
    line: Line
    check: CheckOut


class LinesAdded(Out):
    lines: list[Line]
    check: CheckOut


@router.post(
    "checks/{api_id:check_id}/lines",
    auth=STAFF,
    response=responses({201: LineAdded | LinesAdded}),
)
@write()
def line_add(request, check_id: int, body: LinesAddIn):
    """Add an item (with its modifiers) to the check, or several at once with `lines`. Never
    conflicts: an add against a stale version is merged."""
    caller = request.auth
    if "lines" in body.model_fields_set:
        return _lines_add(caller, check_id, body)
    if body.item is None:
        raise ValidationFailed(_("item is required."), code="required", field="item")
    tab = _check(caller, check_id)
    # Adding a line never conflicts: a stale version is merged (only its form is checked).
    order_services.guard_version(tab, body.version)
    item = one(
        MenuItem.objects.select_related("tax_rate", "station", "category__menu")
        .select_related("category__default_station")
        .filter(pk=body.item, venue=caller.venue)
    )
    if item is None:
        raise not_found(_("menu item"), "item")
    line = order_services.line_add(
        tab=tab,
        actor=caller.staff,
        item=item,
        quantity=1 if body.quantity is None else body.quantity,
        seat=body.seat or 0,
        course=body.course,
        note=body.note or "",
        modifiers=body.modifiers or [],
    )
    check = _check_body(caller, line.tab)
    return Status(201, {"line": _find_line(check, line.pk), "check": check})


def _lines_add(caller: Caller, check_id: int, body: LinesAddIn):
    single = sorted(set(body.model_fields_set) & set(SINGLE_LINE_FIELDS))
    if single:
        raise ValidationFailed(
            _("Send either one line's fields or a list of lines, not both."),
            code="unknown_field",
            field=single[0],
        )
    if body.lines is None:
        raise ValidationFailed(_("lines is required."), code="required", field="lines")
    specs = [
        order_services.NewLine(
            item=entry.item,
            quantity=1 if entry.quantity is None else entry.quantity,
            seat=entry.seat or 0,
            course=entry.course,
            note=entry.note or "",
            modifiers=entry.modifiers or [],
        )
        for entry in body.lines
    ]
    tab = _check(caller, check_id)
    order_services.guard_version(tab, body.version)  # adding never conflicts: merged
    added = order_services.lines_add(tab=tab, actor=caller.staff, lines=specs)
    check = _check_body(caller, added[0].tab)
    return Status(201, {"lines": [_find_line(check, line.pk) for line in added], "check": check})


class LineUpdateIn(In):
    quantity: Quantity | None = None
    note: Note | None = None
    course: Course | None = None
    version: Version | None = None


class LineAndCheck(Out):
    line: Line
    check: CheckOut


class QuoteIn(In):
    quantity: Quantity | None = Field(None, description="Default 1.")
    modifiers: ModifierChoices | None = None


class QuotedModifier(Out):
    modifier: int
    name: str
    quantity: int
    free_quantity: int = Field(description="Units the group gives free.")
    amount: Money = Field(description="Its price change for one unit of the line (nested).")
    choices: list["QuotedModifier"]


QuotedModifier.model_rebuild()


class LineQuote(Out):
    item: int
    quantity: int
    unit_total: Money = Field(description="The item's price with these choices, for one unit.")
    total: Money = Field(description="unit_total x quantity: what the line will cost.")
    complete: bool = Field(description="Whether the line can be added with these choices.")
    problem: ErrorBody | None = Field(
        description="The first rule the choices still break (a group below its minimum)."
    )
    modifiers: list[QuotedModifier]


def _quoted(chosen) -> list[dict]:
    return [
        {
            "modifier": c.modifier.pk,
            "name": c.modifier.name,
            "quantity": c.quantity,
            "free_quantity": c.free_quantity,
            "amount": c.amount,
            "choices": _quoted(c.children),
        }
        for c in chosen
    ]


@router.post("items/{api_id:item_id}/quote", auth=STAFF, response=responses({200: LineQuote}))
def line_quote(request, item_id: int, body: QuoteIn):
    """What a line of this item with these choices will cost, priced as adding it would price
    it (free units included). The modifier dialog shows it while the choices are made: a group
    still below its minimum is `problem`, not a refusal; every other rule is refused as adding
    the line would refuse it. Changes nothing."""
    caller = request.auth
    permissions.require(caller.staff, "check.order")
    item = one(MenuItem.objects.filter(pk=item_id, venue=caller.venue))
    if item is None:
        raise not_found(_("menu item"))
    quantity = body.quantity or 1
    quote = order_modifiers.line_quote(item=item, choices=body.modifiers)
    return {
        "item": item.pk,
        "quantity": quantity,
        "unit_total": quote.unit_total,
        "total": quote.unit_total * quantity,
        "complete": quote.problem is None,
        "problem": quote.problem.as_dict()["error"] if quote.problem else None,
        "modifiers": _quoted(quote.chosen),
    }


@router.patch(
    "checks/{api_id:check_id}/lines/{api_id:line_id}",
    auth=STAFF,
    response=responses({200: LineAndCheck}),
)
@write()
def line_update(request, check_id: int, line_id: int, body: LineUpdateIn):
    """Change a line's quantity, note or course while it is not sent (a sent line is voided
    and ordered again)."""
    caller = request.auth
    tab = _check(caller, check_id)
    line = _line(tab, line_id)
    line = order_services.line_update(
        line=line,
        actor=caller.staff,
        quantity=body.quantity,
        note=body.note,
        course=body.course,
        expected_version=body.version,
    )
    check = _check_body(caller, _tab_of(line, tab))
    return {"line": _find_line(check, line.pk), "check": check}


class LineVoidIn(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=documented(required=["reason"], properties={"reason": REQUIRED_REASON}),
    )

    reason: Reason | None = None
    approver_pin: ApproverPin | None = None
    version: Version | None = None


@router.post(
    "checks/{api_id:check_id}/lines/{api_id:line_id}/void",
    auth=STAFF,
    response=responses({200: LineAndCheck}),
)
@write(approval="line.void_approve", field_map={"approver": "approver_pin"})
def line_void(request, check_id: int, line_id: int, body: LineVoidIn):
    """Void a line, with a reason. A line the kitchen has needs a manager's approval PIN
    (a manager voiding it approves it themselves); its station gets a VOID ticket."""
    caller = request.auth
    tab = _check(caller, check_id)
    line = _line(tab, line_id)
    line = kitchen_services.line_void(
        line=line,
        actor=caller.staff,
        reason=body.reason or "",
        approver=caller.approver,
        expected_version=body.version,
    )
    check = _check_body(caller, _tab_of(line, tab))
    return {"line": _find_line(check, line.pk), "check": check}


# --- the kitchen ---------------------------------------------------------------------------------


class SendIn(In):
    line_ids: Ids | None = Field(None, description="Default: every new line.")
    rush_ids: Ids | None = Field(None, description="Lines the kitchen should rush.")
    version: Version | None = None


class SendOut(Out):
    sent: list[int]
    tickets: list[TicketRef]
    check: CheckOut


@router.post("checks/{api_id:check_id}/send", auth=STAFF, response=responses({200: SendOut}))
@write(field_map={"lines": "line_ids"})
def send(request, check_id: int, body: SendIn):
    """Send new lines to the kitchen (all of them, or the given ones): one ticket per station,
    later courses held. Never conflicts: each line goes to the kitchen once."""
    caller = request.auth
    tab = _check(caller, check_id)
    order_services.guard_version(tab, body.version)
    sent = kitchen_services.lines_send(
        tab=tab, actor=caller.staff, line_ids=body.line_ids, rush_ids=body.rush_ids
    )
    return {
        "sent": sorted(line.pk for line in sent.lines),
        "tickets": _tickets_json(sent.tickets),
        "check": _check_body(caller, sent.tab),
    }


class FireIn(In):
    course: Course
    version: Version | None = None


class FireOut(Out):
    fired: list[int]
    tickets: list[TicketRef]
    check: CheckOut


@router.post("checks/{api_id:check_id}/fire", auth=STAFF, response=responses({200: FireOut}))
@write()
def fire(request, check_id: int, body: FireIn):
    """Fire a course: its held lines go to the cooks (unsent ones are sent). Never conflicts:
    a course fires what is not fired yet."""
    caller = request.auth
    tab = _check(caller, check_id)
    order_services.guard_version(tab, body.version)
    fired = kitchen_services.course_fire(tab=tab, actor=caller.staff, course=body.course)
    return {
        "fired": sorted(line.pk for line in fired.lines),
        "tickets": _tickets_json(fired.tickets),
        "check": _check_body(caller, fired.tab),
    }


# --- comps and discounts -------------------------------------------------------------------------


class AdjustmentIn(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=documented(
            required=["kind", "reason"], properties={"reason": REQUIRED_REASON}
        ),
    )

    line: Id | None = Field(None, description="The line; omit for the whole check.")
    kind: AdjustmentKind = Field(description="A comp takes all of it; a discount a part.")
    percent: Percent | None = None
    amount: Amount | None = None
    reason: Reason | None = None
    approver_pin: ApproverPin | None = None
    version: Version | None = None


class AdjustmentAdded(Out):
    adjustment: AdjustmentOut
    check: CheckOut


@router.post(
    "checks/{api_id:check_id}/adjustments",
    auth=STAFF,
    response=responses({201: AdjustmentAdded}),
)
@write(approval="discount.approve", field_map={"approver": "approver_pin", "lines": "line"})
def adjustment_add(request, check_id: int, body: AdjustmentIn):
    """Comp or discount a line or the whole check (a percentage or an amount), with a reason
    and a manager's approval PIN (a manager approves their own)."""
    caller = request.auth
    tab = _check(caller, check_id)
    line = _line(tab, body.line, "line") if body.line is not None else None
    adjustment = order_services.adjustment_add(
        tab=tab,
        actor=caller.staff,
        kind=body.kind,
        reason=body.reason or "",
        approver=caller.approver,
        line=line,
        percent=body.percent,
        amount=body.amount,
        expected_version=body.version,
    )
    return Status(
        201,
        {
            "adjustment": serialize.adjustment_json(adjustment),
            "check": _check_body(caller, adjustment.tab),
        },
    )


class AdjustmentRemoveIn(In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=documented(properties={"reason": REQUIRED_REASON})
    )

    reason: Reason | None = None
    approver_pin: ApproverPin | None = None
    version: Version | None = None


class AdjustmentRemoved(Out):
    removed: int
    check: CheckOut


@router.delete(
    "checks/{api_id:check_id}/adjustments/{api_id:adjustment_id}",
    auth=STAFF,
    response=responses({200: AdjustmentRemoved}),
    openapi_extra={"requestBody": {"required": False}},
)
@write(approval="discount.approve", field_map={"approver": "approver_pin"})
def adjustment_remove(
    request,
    check_id: int,
    adjustment_id: int,
    body: Annotated[AdjustmentRemoveIn, Body(None)] = None,
    reason: Annotated[
        Reason | None,
        Query(None, description="The reason, for clients whose DELETE has no body."),
    ] = None,
    version: Annotated[
        int | None, Query(None, ge=1, le=MAX_INT, description="The version, likewise.")
    ] = None,
):
    """Take a comp or discount off again, with a reason and a manager's approval. DELETE
    bodies are not always passed on by clients and proxies: the reason and version may come
    in the query string; the approval PIN never does (it would reach access logs): the body
    or the X-Approver-PIN header."""
    caller = request.auth
    tab = _check(caller, check_id)
    adjustment = one(Adjustment.objects.filter(pk=adjustment_id, tab=tab))
    if adjustment is None:
        raise not_found(_("comp or discount on this check"))
    if body is None:  # no body at all
        body = AdjustmentRemoveIn()
    adjustment = order_services.adjustment_remove(  # the body first; null counts as absent
        adjustment=adjustment,
        actor=caller.staff,
        reason=(reason if body.reason is None else body.reason) or "",
        approver=caller.approver,
        expected_version=version if body.version is None else body.version,
    )
    return {"removed": adjustment.pk, "check": _check_body(caller, adjustment.tab)}


# --- seats, tables, servers, merges --------------------------------------------------------------


class MoveSeatIn(In):
    line_ids: Annotated[Ids, Field(json_schema_extra={"minItems": 1})]
    seat: Seat
    version: Version | None = None


@router.post("checks/{api_id:check_id}/move-seat", auth=STAFF, response=responses({200: CheckOnly}))
@write(field_map={"lines": "line_ids"})
def move_seat(request, check_id: int, body: MoveSeatIn):
    """Move lines to another seat (0 = shared)."""
    caller = request.auth
    tab = _check(caller, check_id)
    lines = order_services.lines_move_seat(
        tab=tab,
        actor=caller.staff,
        line_ids=body.line_ids,
        seat=body.seat,
        expected_version=body.version,
    )
    return {"check": _check_body(caller, lines[0].tab if lines else tab.pk)}


class TransferIn(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "description": "Lines move to a table or a check.",
                    "required": ["line_ids"],
                    "properties": {"line_ids": {"type": "array", "minItems": 1}},
                    "oneOf": [{"required": ["to_table"]}, {"required": ["to_check"]}],
                    "not": {"required": ["to_server"]},
                },
                {
                    "description": "The whole check moves to a table and/or a server.",
                    "properties": {
                        "line_ids": {"type": "null"},
                        "to_check": {"type": "null"},
                        "guest_count": {"type": "null"},
                    },
                    "anyOf": [{"required": ["to_table"]}, {"required": ["to_server"]}],
                },
            ]
        },
    )

    line_ids: Ids | None = Field(
        None,
        description="Given: these lines move (to_table or to_check). Omitted: the whole "
        "check moves (to_table and/or to_server).",
    )
    to_table: Id | None = None
    to_check: Id | None = None
    to_server: Id | None = None
    guest_count: Guests | None = Field(
        None, description="Guests of a new check at to_table (lines only)."
    )
    version: Version | None = None


class TransferOut(Out):
    check: CheckOut
    target: CheckOut


@router.post(
    "checks/{api_id:check_id}/transfer", auth=STAFF, response=responses({200: TransferOut})
)
@write(field_map={"lines": "line_ids"})
def transfer(request, check_id: int, body: TransferIn):
    """Move lines to another table or check, or the whole check to another table or
    server."""
    caller = request.auth
    tab = _check(caller, check_id)
    to_table = _of_venue(caller, Table, body.to_table, _("table"), "to_table")
    to_check = _of_venue(caller, Check, body.to_check, _("check"), "to_check")
    to_server = _of_venue(caller, StaffMember, body.to_server, _("staff member"), "to_server")
    if body.line_ids is not None:
        if to_server is not None:
            raise ValidationFailed(
                _("Lines move to a table or a check; to change the server, move the whole check."),
                field="to_server",
            )
        target = order_services.lines_transfer(
            tab=tab,
            actor=caller.staff,
            line_ids=body.line_ids,
            to_check=to_check,
            to_table=to_table,
            guest_count=1 if body.guest_count is None else body.guest_count,
            expected_version=body.version,
        )
        return {"check": _check_body(caller, tab.pk), "target": _check_body(caller, target)}
    if to_check is not None:
        raise ValidationFailed(
            _("To move a whole check onto another check, merge them."), field="to_check"
        )
    if body.guest_count is not None:
        raise ValidationFailed(
            _("guest_count only applies when lines move to a new check."),
            field="guest_count",
        )
    moved = order_services.check_transfer(
        tab=tab,
        actor=caller.staff,
        to_table=to_table,
        to_server=to_server,
        expected_version=body.version,
    )
    check = _check_body(caller, moved)
    return {"check": check, "target": check}


class MergeIn(In):
    other: Id = Field(description="The open check merged into this one (and closed).")
    version: Version | None = None


class MergedRef(Out):
    id: int
    status: str
    version: int


class MergeOut(Out):
    check: CheckOut
    merged: MergedRef = Field(description="The check merged away, now closed (`merged`).")


@router.post("checks/{api_id:check_id}/merge", auth=STAFF, response=responses({200: MergeOut}))
@write()
def merge(request, check_id: int, body: MergeIn):
    """Merge another open check into this one: its lines (with their comps) come over,
    the guests add up, and the other check is closed as merged."""
    caller = request.auth
    tab = _check(caller, check_id)
    other = _of_venue(caller, Check, body.other, _("check"), "other")
    result = order_services.checks_merge(
        tab=tab, actor=caller.staff, other=other, expected_version=body.version
    )
    gone = result.merged_away
    return {
        "check": _check_body(caller, result),
        "merged": {"id": gone.pk, "status": gone.status, "version": gone.version},
    }


class GuestsIn(In):
    guest_count: Guests = Field(description="A table check keeps at least one.")
    version: Version | None = None


@router.post("checks/{api_id:check_id}/guests", auth=STAFF, response=responses({200: CheckOnly}))
@write()
def guests(request, check_id: int, body: GuestsIn):
    """Change the number of guests."""
    caller = request.auth
    tab = _check(caller, check_id)
    tab = order_services.check_set_guests(
        tab=tab, actor=caller.staff, guest_count=body.guest_count, expected_version=body.version
    )
    return {"check": _check_body(caller, tab)}


class PrebillIn(In):
    version: Version | None = None


@router.post("checks/{api_id:check_id}/prebill", auth=STAFF, response=responses({200: CheckOnly}))
@write()
def prebill(request, check_id: int, body: PrebillIn):
    """Print the check for the guests (the pre-bill); the floor shows "check printed". Never
    conflicts."""
    caller = request.auth
    tab = _check(caller, check_id)
    order_services.guard_version(tab, body.version)  # printing never conflicts
    result = kitchen_services.check_prebill_print(tab=tab, actor=caller.staff)
    return {"check": _check_body(caller, result)}
