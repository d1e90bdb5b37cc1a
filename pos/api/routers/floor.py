"""What a tablet shows before it opens a check: the menus, the floor, realtime catch-up, 86s."""

import hashlib
import json
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from ninja import Query, Router
from pydantic import Field

from orders import selectors as order_selectors
from pos.api import serialize
from pos.api.core import STAFF, not_found, write
from pos.api.routers.auth import StaffRef
from pos.api.routers.check_schemas import CheckSummary, FloorStatus, Time
from pos.api.schemas import Bool, Flag, In, Money, Out, responses
from restaurant import services as venue_services
from restaurant.models import Menu, MenuItem, MenuWindow, Modifier
from restaurant.queries import one
from restaurant.realtime import events_after, last_seq
from restaurant.selectors import menus_available_at

router = Router(tags=["floor"])

EVENTS_LIMIT = 500
MAX_SEQ = 999_999_999_999_999


# --- menus ---------------------------------------------------------------------------------------


class MenuModifier(Out):
    id: int
    name: str
    plu: str
    price_delta: Money
    available: bool
    default: bool
    group: "ModifierGroup | None" = Field(description="The group this choice opens, if any.")


class ModifierGroup(Out):
    id: int
    code: str = Field(description="Errors about this group have field modifiers.<code>.")
    name: str
    min: int
    max: int
    free: int
    max_per_modifier: int
    required: bool
    rule: str = Field(examples=["choose 1", "up to 2, 1 free"])
    modifiers: list[MenuModifier]


class TaxRateRef(Out):
    id: int
    code: str
    rate: str | None


class MenuItemOut(Out):
    id: int
    name: str
    description: str
    plu: str
    price: Money
    tax_rate: TaxRateRef
    available: bool = Field(description="False when 86'd (or out of stock).")
    stock_count: int | None
    default_course: int
    prep_minutes: int
    station: str | None
    modifier_groups: list[ModifierGroup]


class MenuWindowOut(Out):
    weekdays: list[int]
    starts_at: str
    ends_at: str


class CategoryOut(Out):
    id: int
    name: str
    color: str
    items: list[MenuItemOut]


class MenuOut(Out):
    id: int
    name: str
    available_now: bool
    windows: list[MenuWindowOut]
    categories: list[CategoryOut]


class Menus(Out):
    currency: str
    prices_include_tax: bool
    menus: list[MenuOut]


MenuModifier.model_rebuild()


@router.get(
    "menus",
    auth=STAFF,
    response=responses({200: Menus, 304: None}),
    openapi_extra={
        "responses": {
            200: {"headers": {"ETag": {"schema": {"type": "string"}}}},
            304: {"description": "Not modified: the If-None-Match ETag is current."},
        },
        "parameters": [
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The ETag of a menu the client holds (304 when it is current).",
            }
        ],
    },
)
def menus(
    request,
    show_all: Annotated[
        Flag,
        Query(
            False,
            alias="all",
            description="Include active menus outside their time windows "
            "(with available_now false).",
        ),
    ] = False,
):
    """The menus available now, with items, modifier groups and availability. Cacheable: the
    ETag changes whenever the answer would (an 86, a price, a window opening); 304 answers an
    If-None-Match with the current ETag."""
    venue = request.auth.venue
    if show_all:
        rows = list(
            Menu.objects.filter(venue=venue, is_active=True)
            .select_related("venue")
            .prefetch_related(Prefetch("windows", queryset=MenuWindow.objects.all()))
        )
    else:
        rows = menus_available_at(venue=venue)
    body = serialize.MenuTree(venue, rows).as_json()
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    etag = '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'
    tags = _if_none_match(request)
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
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


# --- the floor -----------------------------------------------------------------------------------


class FloorCheck(Out):
    id: int
    number: int
    server: StaffRef | None
    guest_count: int
    version: int
    opened_at: Time | None


class FloorTable(Out):
    id: int
    name: str
    seats: int
    shape: Literal["square", "round", "rectangle", "bar_seat"]
    x: int
    y: int
    width: int
    height: int
    status: FloorStatus
    check: FloorCheck | None


class FloorArea(Out):
    id: int
    name: str
    tables: list[FloorTable]


class Floor(Out):
    seq: int = Field(description="Apply websocket events with a higher seq.")
    areas: list[FloorArea]
    tabs: list[CheckSummary] = Field(description="Open checks without a table.")


@router.get("floor", auth=STAFF, response=responses({200: Floor}))
def floor(request):
    """The floor plan: areas, tables, their status and open check, and the open checks
    without a table (bar tabs, takeaway)."""
    venue = request.auth.venue
    seq = last_seq(venue_id=venue.pk)  # first: a later event is never missed
    rows = order_selectors.floor(venue=venue)
    tabs = list(order_selectors.open_checks(venue=venue).filter(table__isnull=True))
    return serialize.floor_json(venue, rows, seq=seq, open_tabs=tabs)


# --- realtime catch-up ---------------------------------------------------------------------------


class Event(Out):
    seq: int
    type: str
    v: int
    at: Time | None
    data: dict[str, Any]


class Events(Out):
    events: list[Event]
    last_seq: int
    complete: bool = Field(description="False: more were missed; fetch a snapshot.")


@router.get("events", auth=STAFF, response=responses({200: Events}))
def events(
    request,
    after: Annotated[
        int,
        Query(0, ge=0, le=MAX_SEQ, description="The last seq the client has applied."),
    ] = 0,
):
    """Realtime events after a seq, oldest first, for catching up without a snapshot (at most
    500; `complete` false means more were missed)."""
    venue = request.auth.venue
    rows = events_after(venue_id=venue.pk, after=after, limit=EVENTS_LIMIT)
    return {
        "events": rows,
        "last_seq": last_seq(venue_id=venue.pk),
        "complete": len(rows) < EVENTS_LIMIT,
    }


# --- 86 ------------------------------------------------------------------------------------------


class AvailabilityIn(In):
    available: Bool = Field(description="False: 86'd (sold out); true: back on.")


class ItemAvailability(Out):
    id: int
    available: bool
    stock_count: int | None


class ItemAvailabilityOut(Out):
    item: ItemAvailability
    seq: int


@router.post(
    "items/{api_id:item_id}/availability",
    auth=STAFF,
    response=responses({200: ItemAvailabilityOut}),
)
@write()
def item_availability(request, item_id: int, body: AvailabilityIn):
    """86 a menu item (available false) or bring it back; every tablet hears of it."""
    caller = request.auth
    item = one(MenuItem.objects.filter(pk=item_id, venue=caller.venue))
    if item is None:
        raise not_found(_("menu item"))
    item = venue_services.menu_item_set_available(
        item=item, available=body.available, actor=caller.staff
    )
    return {
        "item": {"id": item.pk, "available": item.is_available, "stock_count": item.stock_count},
        "seq": last_seq(venue_id=caller.venue.pk),
    }


class ModifierAvailability(Out):
    id: int
    available: bool


class ModifierAvailabilityOut(Out):
    modifier: ModifierAvailability
    seq: int


@router.post(
    "modifiers/{api_id:modifier_id}/availability",
    auth=STAFF,
    response=responses({200: ModifierAvailabilityOut}),
)
@write()
def modifier_availability(request, modifier_id: int, body: AvailabilityIn):
    """86 a modifier (no more fries as a side) or bring it back."""
    caller = request.auth
    modifier = one(Modifier.objects.filter(pk=modifier_id, group__venue=caller.venue))
    if modifier is None:
        raise not_found(_("modifier"))
    modifier = venue_services.modifier_set_available(
        modifier=modifier, available=body.available, actor=caller.staff
    )
    return {
        "modifier": {"id": modifier.pk, "available": modifier.is_available},
        "seq": last_seq(venue_id=caller.venue.pk),
    }
