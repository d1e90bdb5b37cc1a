"""The /api/v1/ endpoints: thin handlers that read the request and call services and selectors.

Every check write answers with the check as it is after the write (`check`, with its new
`version`), so the tablet re-renders from the response. Ids from another venue are 404. See
pos/api/http.py for authentication, CSRF, idempotency and errors, and pos/api/openapi.py for
the document served at /api/v1/openapi.json.
"""

from __future__ import annotations

import hashlib
import json

from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from kitchen import services as kitchen_services
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Adjustment, Check, OrderLine
from pos.api import serialize
from pos.api.http import (
    PUBLIC,
    Call,
    endpoint,
    json_response,
    not_found,
    query_flag,
    query_int,
)
from restaurant import permissions
from restaurant import services as venue_services
from restaurant.errors import DomainError, ValidationFailed
from restaurant.models import Menu, MenuItem, MenuWindow, Modifier, StaffMember, Table
from restaurant.queries import one
from restaurant.realtime import events_after, last_seq
from restaurant.selectors import menus_available_at

EVENTS_LIMIT = 500

# --- lookups (venue-scoped: another venue's id is simply not found) -------------------------


def _check(call: Call, check_id: int) -> Check:
    tab = Check.objects.select_related("table", "server").filter(pk=check_id, venue=call.venue)
    tab = one(tab)
    if tab is None:
        raise not_found(_("check"))
    tab.venue = call.venue
    return tab


def _line(tab: Check, line_id: int, field: str | None = None) -> OrderLine:
    line = one(OrderLine.objects.select_related("tab").filter(pk=line_id, tab=tab))
    if line is None:
        raise not_found(_("line on this check"), field)
    return line


def _of_venue(call: Call, model, pk: int | None, what: str, field: str):
    """The `model` row `pk` of the caller's venue (None for no id); 404 naming `field`."""
    if pk is None:
        return None
    row = one(model.objects.filter(pk=pk, venue=call.venue))
    if row is None:
        raise not_found(what, field)
    return row


def _may_see(call: Call, tab: Check) -> None:
    if tab.server_id != call.staff.pk:
        permissions.require(call.staff, "check.view_all")


def _check_body(call: Call, check: Check | int) -> dict:
    """The full check as it is now (inside a write: after the write).

    A check that a service handed back with its state loaded after the change (the lines,
    modifiers and adjustments read once, under its lock: `Check.state_version`) is answered
    as it is; otherwise it is read again.
    """
    seq = last_seq(venue_id=call.venue.pk)
    if isinstance(check, Check) and getattr(check, "state_version", None) == check.version:
        check.venue = call.venue
        return serialize.check_json(check, seq=seq)
    check_id = check.pk if isinstance(check, Check) else check
    tab = order_selectors.check_with_lines(check_id=check_id, venue=call.venue)
    return serialize.check_json(tab, seq=seq)


# --- menus, floor, events ----------------------------------------------------------------------


@endpoint()
def menus(call: Call):
    show_all = query_flag(call.request, "all")
    if show_all:
        rows = list(
            Menu.objects.filter(venue=call.venue, is_active=True)
            .select_related("venue")
            .prefetch_related(Prefetch("windows", queryset=MenuWindow.objects.all()))
        )
    else:
        rows = menus_available_at(venue=call.venue)
    body = serialize.MenuTree(call.venue, rows).as_json()
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    etag = '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'
    tags = _if_none_match(call.request)
    if etag in tags or "*" in tags:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(payload, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Authorization", "Cookie", "Accept-Language"))
    return response


def _if_none_match(request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    tags = {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
    return tags


@endpoint()
def floor(call: Call):
    seq = last_seq(venue_id=call.venue.pk)  # first: a later event is never missed
    rows = order_selectors.floor(venue=call.venue)
    tabs = list(order_selectors.open_checks(venue=call.venue).filter(table__isnull=True))
    return serialize.floor_json(call.venue, rows, seq=seq, open_tabs=tabs)


@endpoint()
def events(call: Call):
    after = query_int(call.request, "after", default=0)
    rows = events_after(venue_id=call.venue.pk, after=after, limit=EVENTS_LIMIT)
    return {
        "events": rows,
        "last_seq": last_seq(venue_id=call.venue.pk),
        "complete": len(rows) < EVENTS_LIMIT,
    }


# --- checks ------------------------------------------------------------------------------------


@endpoint()
def checks_list(call: Call):
    status = call.request.GET.get("status", "open")
    if status not in (Check.Status.OPEN, Check.Status.CLOSED):
        raise ValidationFailed(
            _("List open checks (status=open) or today's closed ones (status=closed)."),
            code="invalid",
            field="status",
        )
    mine = query_flag(call.request, "mine")
    if status == Check.Status.CLOSED:
        rows = order_selectors.closed_checks(venue=call.venue).select_related("venue")
    else:
        rows = order_selectors.open_checks(venue=call.venue).select_related("venue")
    if mine:
        rows = rows.filter(server=call.staff)
    else:
        permissions.require(call.staff, "check.view_all")
    rows = rows.prefetch_related(None).prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.prefetch_related("modifiers", "adjustments"),
        ),
        Prefetch("adjustments", queryset=Adjustment.objects.order_by("pk")),
    )
    return {
        "seq": last_seq(venue_id=call.venue.pk),
        "checks": [
            serialize.check_summary(tab, total=order_selectors.totals_for(tab).total)
            for tab in rows[:200]
        ],
    }


@endpoint(write=True, fields=("kind", "table", "guest_count", "tab_name", "server"))
def checks_create(call: Call):
    kind = call.get_str("kind", required=True)
    table = _of_venue(call, Table, call.get_int("table"), _("table"), "table")
    guest_count = call.get_int("guest_count", default=0)
    tab_name = call.get_str("tab_name")
    server = _of_venue(call, StaffMember, call.get_int("server"), _("staff member"), "server")
    tab = order_services.check_open(
        venue=call.venue,
        actor=call.staff,
        kind=kind,
        table=table,
        guest_count=guest_count,
        tab_name=tab_name,
        server=server,
    )
    order_selectors.check_state_empty(tab)  # just opened: nothing on it yet
    tab.state_version = tab.version
    return 201, {"check": _check_body(call, tab)}


@endpoint()
def check_detail(call: Call, check_id: int):
    tab = _check(call, check_id)
    _may_see(call, tab)
    return _check_body(call, tab.pk)


LINE_FIELDS = ("item", "quantity", "seat", "course", "note", "modifiers")


@endpoint(write=True, fields=(*LINE_FIELDS, "version", "lines"))
def line_add(call: Call, check_id: int):
    if "lines" in call.data:
        return _lines_add(call, check_id)
    tab = _check(call, check_id)
    item_id = call.get_int("item", required=True)
    quantity = call.get_int("quantity", default=1)
    seat = call.get_int("seat", default=0)
    course = call.get_int("course")
    note = call.get_str("note")
    modifiers = call.get_list("modifiers", default=[])
    # Adding a line never conflicts: a stale version is merged (only its form is checked).
    order_services.guard_version(tab, call.version())
    item = one(
        MenuItem.objects.select_related("tax_rate", "station", "category__menu")
        .select_related("category__default_station")
        .filter(pk=item_id, venue=call.venue)
    )
    if item is None:
        raise not_found(_("menu item"), "item")
    line = order_services.line_add(
        tab=tab,
        actor=call.staff,
        item=item,
        quantity=quantity,
        seat=seat,
        course=course,
        note=note,
        modifiers=modifiers,
    )
    body = _check_body(call, line.tab)
    return 201, {"line": _find_line(body, line.pk), "check": body}


def _lines_add(call: Call, check_id: int):
    """Several lines in one call: `{"lines": [{item, quantity, ...}, ...]}`, all or none."""
    single = sorted(set(call.data) & set(LINE_FIELDS))
    if single:
        raise ValidationFailed(
            _("Send either one line's fields or a list of lines, not both."),
            code="unknown_field",
            field=single[0],
        )
    raw = call.get_list("lines", required=True)
    specs = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ValidationFailed(
                _("Each line is an object."), code="invalid_type", field=f"lines.{index}"
            )
        unknown = sorted(set(entry) - set(LINE_FIELDS))
        if unknown:
            raise ValidationFailed(
                _("Unknown field %(field)s.") % {"field": unknown[0]},
                code="unknown_field",
                field=f"lines.{index}.{unknown[0]}",
            )
        line = Call(request=call.request, data=entry)
        try:
            specs.append(
                order_services.NewLine(
                    item=line.get_int("item", required=True),
                    quantity=line.get_int("quantity", default=1),
                    seat=line.get_int("seat", default=0),
                    course=line.get_int("course"),
                    note=line.get_str("note"),
                    modifiers=line.get_list("modifiers", default=[]),
                )
            )
        except DomainError as exc:
            exc.field = f"lines.{index}.{exc.field}"
            raise
    tab = _check(call, check_id)
    order_services.guard_version(tab, call.version())  # adding never conflicts: merged
    added = order_services.lines_add(tab=tab, actor=call.staff, lines=specs)
    body = _check_body(call, added[0].tab)
    return 201, {"lines": [_find_line(body, line.pk) for line in added], "check": body}


def _find_line(check_body: dict, line_id: int) -> dict | None:
    return next((x for x in check_body["lines"] if x["id"] == line_id), None)


@endpoint(write=True, fields=("quantity", "note", "course", "version"))
def line_update(call: Call, check_id: int, line_id: int):
    tab = _check(call, check_id)
    line = _line(tab, line_id)
    quantity = call.get_int("quantity")
    note = call.get_str("note", default=None)
    course = call.get_int("course")
    order_services.line_update(
        line=line,
        actor=call.staff,
        quantity=quantity,
        note=note,
        course=course,
        expected_version=call.version(),
    )
    body = _check_body(call, tab.pk)
    return {"line": _find_line(body, line.pk), "check": body}


@endpoint(
    write=True,
    fields=("reason", "version"),
    field_map={"approver": "approver_pin"},
    approval="line.void_approve",
)
def line_void(call: Call, check_id: int, line_id: int):
    tab = _check(call, check_id)
    line = _line(tab, line_id)
    reason = call.get_str("reason")
    version = call.version()
    kitchen_services.line_void(
        line=line, actor=call.staff, reason=reason, approver=call.approver, expected_version=version
    )
    body = _check_body(call, tab.pk)
    return {"line": _find_line(body, line.pk), "check": body}


def _tickets_json(tickets) -> list[dict]:
    return [
        {"id": t.pk, "station": t.station.slug, "kind": t.kind, "rush": t.rush} for t in tickets
    ]


@endpoint(write=True, fields=("line_ids", "rush_ids", "version"), field_map={"lines": "line_ids"})
def send(call: Call, check_id: int):
    tab = _check(call, check_id)
    line_ids = call.get_ids("line_ids")
    rush_ids = call.get_ids("rush_ids")
    # Sending never conflicts (each line goes to the kitchen once): the version is only
    # checked to be one the check has had.
    order_services.guard_version(tab, call.version())
    sent = kitchen_services.lines_send(
        tab=tab, actor=call.staff, line_ids=line_ids, rush_ids=rush_ids
    )
    return {
        "sent": sorted(line.pk for line in sent.lines),
        "tickets": _tickets_json(sent.tickets),
        "check": _check_body(call, sent.tab),
    }


@endpoint(write=True, fields=("course", "version"))
def fire(call: Call, check_id: int):
    tab = _check(call, check_id)
    course = call.get_int("course", required=True)
    # Firing never conflicts (a course fires what is not fired yet): the version is only
    # checked to be one the check has had.
    order_services.guard_version(tab, call.version())
    fired = kitchen_services.course_fire(tab=tab, actor=call.staff, course=course)
    return {
        "fired": sorted(line.pk for line in fired.lines),
        "tickets": _tickets_json(fired.tickets),
        "check": _check_body(call, fired.tab),
    }


@endpoint(
    write=True,
    fields=("line", "kind", "percent", "amount", "reason", "version"),
    field_map={"approver": "approver_pin", "lines": "line"},
    approval="discount.approve",
)
def adjustment_add(call: Call, check_id: int):
    tab = _check(call, check_id)
    line_id = call.get_int("line")
    line = _line(tab, line_id, "line") if line_id is not None else None
    kind = call.get_str("kind", required=True)
    percent = call.get_decimal("percent")
    amount = call.get_int("amount")
    reason = call.get_str("reason")
    version = call.version()
    adjustment = order_services.adjustment_add(
        tab=tab,
        actor=call.staff,
        kind=kind,
        reason=reason,
        approver=call.approver,
        line=line,
        percent=percent,
        amount=amount,
        expected_version=version,
    )
    adjustment = Adjustment.objects.get(pk=adjustment.pk)
    return 201, {
        "adjustment": serialize.adjustment_json(adjustment),
        "check": _check_body(call, tab.pk),
    }


@endpoint(
    write=True,
    fields=("reason", "version"),
    field_map={"approver": "approver_pin"},
    approval="discount.approve",
)
def adjustment_remove(call: Call, check_id: int, adjustment_id: int):
    tab = _check(call, check_id)
    adjustment = one(Adjustment.objects.filter(pk=adjustment_id, tab=tab))
    if adjustment is None:
        raise not_found(_("comp or discount on this check"))
    # DELETE bodies are not always passed on by clients and proxies: the reason and version
    # may come in the query string. The approval PIN never does (it would reach access logs;
    # pos/api/http.py refuses it there): the body or the X-Approver-PIN header.
    query = call.request.GET
    if "reason" not in call.data and "reason" in query:
        call.data["reason"] = query["reason"]
    if "version" not in call.data:
        call.data["version"] = query_int(call.request, "version")
    reason = call.get_str("reason")
    version = call.version()
    order_services.adjustment_remove(
        adjustment=adjustment,
        actor=call.staff,
        reason=reason,
        approver=call.approver,
        expected_version=version,
    )
    return {"removed": adjustment.pk, "check": _check_body(call, tab.pk)}


@endpoint(write=True, fields=("line_ids", "seat", "version"), field_map={"lines": "line_ids"})
def move_seat(call: Call, check_id: int):
    tab = _check(call, check_id)
    line_ids = call.get_ids("line_ids", required=True)
    seat = call.get_int("seat", required=True)
    order_services.lines_move_seat(
        tab=tab, actor=call.staff, line_ids=line_ids, seat=seat, expected_version=call.version()
    )
    return {"check": _check_body(call, tab.pk)}


@endpoint(
    write=True,
    fields=("line_ids", "to_table", "to_check", "to_server", "guest_count", "version"),
    field_map={"lines": "line_ids"},
)
def transfer(call: Call, check_id: int):
    tab = _check(call, check_id)
    line_ids = call.get_ids("line_ids")
    to_table = _of_venue(call, Table, call.get_int("to_table"), _("table"), "to_table")
    to_check = _of_venue(call, Check, call.get_int("to_check"), _("check"), "to_check")
    to_server = _of_venue(
        call, StaffMember, call.get_int("to_server"), _("staff member"), "to_server"
    )
    guest_count = call.get_int("guest_count")
    version = call.version()
    if line_ids is not None:
        if to_server is not None:
            raise ValidationFailed(
                _("Lines move to a table or a check; to change the server, move the whole check."),
                field="to_server",
            )
        target = order_services.lines_transfer(
            tab=tab,
            actor=call.staff,
            line_ids=line_ids,
            to_check=to_check,
            to_table=to_table,
            guest_count=1 if guest_count is None else guest_count,
            expected_version=version,
        )
    else:
        if to_check is not None:
            raise ValidationFailed(
                _("To move a whole check onto another check, merge them."), field="to_check"
            )
        if guest_count is not None:
            raise ValidationFailed(
                _("guest_count only applies when lines move to a new check."),
                field="guest_count",
            )
        target = order_services.check_transfer(
            tab=tab,
            actor=call.staff,
            to_table=to_table,
            to_server=to_server,
            expected_version=version,
        )
    return {"check": _check_body(call, tab.pk), "target": _check_body(call, target.pk)}


@endpoint(write=True, fields=("other", "version"))
def merge(call: Call, check_id: int):
    tab = _check(call, check_id)
    other = _of_venue(call, Check, call.get_int("other", required=True), _("check"), "other")
    result = order_services.checks_merge(
        tab=tab, actor=call.staff, other=other, expected_version=call.version()
    )
    gone = other.pk if result.pk == tab.pk else tab.pk
    closed = Check.objects.filter(pk=gone).values("id", "status", "version").first()
    return {"check": _check_body(call, result.pk), "merged": closed}


@endpoint(write=True, fields=("guest_count", "version"))
def guests(call: Call, check_id: int):
    tab = _check(call, check_id)
    guest_count = call.get_int("guest_count", required=True)
    order_services.check_set_guests(
        tab=tab, actor=call.staff, guest_count=guest_count, expected_version=call.version()
    )
    return {"check": _check_body(call, tab.pk)}


@endpoint(write=True, fields=("version",))
def prebill(call: Call, check_id: int):
    tab = _check(call, check_id)
    order_services.guard_version(tab, call.version())  # printing never conflicts
    result = kitchen_services.check_prebill_print(tab=tab, actor=call.staff)
    return {"check": _check_body(call, result.pk)}


# --- 86 ------------------------------------------------------------------------------------------


@endpoint(write=True, fields=("available",))
def item_availability(call: Call, item_id: int):
    item = one(MenuItem.objects.filter(pk=item_id, venue=call.venue))
    if item is None:
        raise not_found(_("menu item"))
    available = call.get_bool("available", required=True)
    item = venue_services.menu_item_set_available(item=item, available=available, actor=call.staff)
    return {
        "item": {"id": item.pk, "available": item.is_available, "stock_count": item.stock_count},
        "seq": last_seq(venue_id=call.venue.pk),
    }


@endpoint(write=True, fields=("available",))
def modifier_availability(call: Call, modifier_id: int):
    modifier = one(Modifier.objects.filter(pk=modifier_id, group__venue=call.venue))
    if modifier is None:
        raise not_found(_("modifier"))
    available = call.get_bool("available", required=True)
    modifier = venue_services.modifier_set_available(
        modifier=modifier, available=available, actor=call.staff
    )
    return {
        "modifier": {"id": modifier.pk, "available": modifier.is_available},
        "seq": last_seq(venue_id=call.venue.pk),
    }


# --- the document --------------------------------------------------------------------------------


@endpoint(auth=PUBLIC)
def openapi_document(call: Call):
    from pos.api.openapi import document

    return json_response(document())
