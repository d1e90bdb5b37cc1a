"""The kitchen screens' calls on the API (/api/v1/kitchen/...): snapshots, bump, start, recall,
item status, acknowledge a void, and the expo's ready and serve.

A kitchen screen is a paired `Device` of kind "kds" with a station (`SCREEN`): it calls with its
HttpOnly device cookie (and `X-CSRFToken` on writes), or with `Authorization: Device <token>`.
No staff member signs in on a screen. Who may see what (kitchen/screens.py `screen_station`):
a screen acts on its own station, the expo screen on every station of its venue, and only the
expo screen has the expo's calls.

Every write is a `@write()`: one transaction and at most once per `Idempotency-Key`. The screens
send a fresh key per tap and repeat it when they retry, so a double-sent tap bumps once (the
second answer is the first one, with `Idempotent-Replayed: true`); a second tap of its own is
refused with 409 `already_bumped` and changes nothing. Each write answers with the screen's
fresh snapshot, carrying the venue's event `seq` (docs/realtime.md).
"""

import functools
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from kitchen import services as kitchen_services
from kitchen.models import Ticket, TicketItem
from kitchen.screens import EXPO, screen_station
from kitchen.selectors import all_day_counts, expo_snapshot, station_snapshot
from orders.models import Check
from pos.api.core import SAFE_METHODS, Auth, Caller, not_found, write
from pos.api.schemas import In, Int, Out, responses
from pos.auth import NotAuthenticated
from restaurant.errors import Conflict, NotFound, ValidationFailed
from restaurant.models import Device, Station
from restaurant.services import DEVICE_COOKIE, device_by_token
from restaurant.web import enforce_csrf

router = Router(tags=["kitchen"])


# --- who is calling ------------------------------------------------------------------------------


def screen_token(request: HttpRequest) -> str | None:
    """The device token a screen calls with: `Authorization: Device <token>`, else its cookie.
    None when another kind of Authorization is sent (a staff token is no screen)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _sep, value = header.partition(" ")
        return value.strip() if scheme.lower() == "device" else None
    return request.COOKIES.get(DEVICE_COOKIE, "")


class ScreenAuth(Auth):
    """A paired, not revoked kitchen screen; cookie-authenticated writes carry the CSRF token.

    Any other caller (no device, a revoked one, a tablet or phone) is 401 `device_not_paired`,
    as the screens have always answered: the page then reloads and offers to pair."""

    def __init__(self):
        super().__init__("device")

    def __call__(self, request: HttpRequest) -> Caller:
        token = screen_token(request)
        device = device_by_token(token) if token else None
        if device is None or device.kind != Device.Kind.KITCHEN_SCREEN:
            raise NotAuthenticated(
                _("This screen is not paired with Brigade."), code="device_not_paired"
            )
        by_cookie = not request.META.get("HTTP_AUTHORIZATION")  # as screen_token() decided
        if request.method not in SAFE_METHODS and by_cookie:
            enforce_csrf(request)
        return Caller(request=request, device=device)


SCREEN = ScreenAuth()


def _station(caller: Caller, slug: str, *, expo: bool) -> Station:
    """The station of the URL as this screen may see it; the expo's calls are the expo's."""
    target = screen_station(caller.device, slug)
    if expo != target.is_expo:
        raise NotFound(
            _("This call is for the expo screen.")
            if expo
            else _("The expo screen has its own calls."),
            code="not_found",
        )
    return target


# --- schemas -------------------------------------------------------------------------------------


class NoBody(In):
    """These calls take no fields: an empty body, or `{}`."""


def _not_negative(value: int) -> int:
    if value < 0:
        raise PydanticCustomError("invalid_type", "must be a whole number, 0 or more")
    return value


SendBatch = Annotated[
    Int,
    AfterValidator(_not_negative),
    Field(
        json_schema_extra={"minimum": 0},
        description="The order's `send` (from the expo snapshot): only that send of the check. "
        "Absent: every send.",
    ),
]


class ExpoOrderIn(In):
    send: SendBatch | None = None


class ItemStatusIn(In):
    status: Literal["new", "cooking", "ready"] = Field(description="The item's new status.")


class StationRef(Out):
    slug: str
    name: str
    is_expo: bool
    warn_after: int = Field(description="Seconds after which a ticket's timer turns amber.")
    late_after: int = Field(description="Seconds after which a ticket's timer turns red.")


class ModifierOut(Out):
    name: str
    quantity: int
    children: list["ModifierOut"]


class TicketItemOut(Out):
    id: int
    line: int
    quantity: int
    name: str
    plu: str
    seat: int = Field(description="0 = shared.")
    course: int
    note: str
    held: bool
    fired_at: str | None
    status: Literal["new", "cooking", "ready"]
    voided: bool
    moved_to: str | None = Field(description="The check the line was moved to, if another.")
    modifiers: list[ModifierOut]


class TicketOut(Out):
    id: int
    kind: str
    station: str
    check: int
    number: int
    label: str
    server: str
    guests: int
    rush: bool
    created_at: str
    bumped_at: str | None
    acknowledged_at: str | None
    state: str = Field(description="new, cooking, ready, held or void.")
    also_at: list[str] = Field(description="Other stations with an open ticket of this order.")
    addition: bool
    items: list[TicketItemOut]


class Count(Out):
    name: str
    count: int


class StationSnapshot(Out):
    seq: int = Field(description="The venue's event seq this snapshot is current to.")
    station: StationRef
    tickets: list[TicketOut]
    recently_bumped: list[TicketOut]
    all_day: list[Count]
    all_day_modifiers: list[Count]
    now: str = Field(description="The server's clock (ISO 8601), for the tickets' timers.")


class ExpoItemOut(Out):
    line: int
    quantity: int
    name: str
    seat: int
    course: int
    held: bool
    voided: bool
    status: str


class ExpoStationOut(Out):
    ticket: int
    station: str
    name: str
    state: str
    bumped: bool
    items: list[ExpoItemOut]


class ExpoOrderOut(Out):
    check: int
    number: int
    label: str
    server: str
    send: int
    created_at: str
    rush: bool
    stations: list[ExpoStationOut]
    ready: bool = Field(description="Every station's part of the order is ready.")


class ExpoSnapshot(Out):
    seq: int
    orders: list[ExpoOrderOut]
    station: StationRef
    now: str


class BumpOut(Out):
    ticket: int
    bumped: bool = Field(description="False while a held course keeps the ticket on screen.")
    label: str
    snapshot: StationSnapshot


class TicketDone(Out):
    ticket: int
    snapshot: StationSnapshot


class Recalled(Out):
    ticket: int
    label: str
    snapshot: StationSnapshot


class ItemStatusOut(Out):
    item: int
    status: str
    snapshot: StationSnapshot


class OrderReadyOut(Out):
    check: int
    label: str
    snapshot: ExpoSnapshot


class OrderServedOut(Out):
    check: int
    label: str
    served: list[int] = Field(description="The order lines served.")
    snapshot: ExpoSnapshot


# --- reads ---------------------------------------------------------------------------------------


def _station_body(station: Station) -> dict[str, Any]:
    body = station_snapshot(station=station)
    body["all_day_modifiers"] = all_day_counts(station=station, with_modifiers=True)
    body["now"] = timezone.now().isoformat()
    return body


def _expo_body(station: Station) -> dict[str, Any]:
    body = expo_snapshot(venue_id=station.venue_id)
    body["station"] = {
        "slug": station.slug,
        "name": station.name,
        "is_expo": True,
        "warn_after": station.warn_after_seconds,
        "late_after": station.late_after_seconds,
    }
    body["now"] = timezone.now().isoformat()
    return body


def with_snapshot(*, expo: bool):
    """Answer a write with the screen's fresh snapshot, read after the write's transaction
    committed: its `seq` covers the write's own events, which the screen then ignores when they
    arrive on its socket. A replayed write gets the snapshot as it is now."""

    def wrap(view):
        @functools.wraps(view)  # keeps `@write`'s marks for the document
        def run(request, *args, **kwargs):
            answer = view(request, *args, **kwargs)
            station = _station(request.auth, kwargs.get("slug", EXPO), expo=expo)
            answer.value["snapshot"] = _expo_body(station) if expo else _station_body(station)
            return answer

        return run

    return wrap


STATION = "kitchen/stations/{slug:slug}"
TICKET = STATION + "/tickets/{api_id:ticket_id}"


@router.get(f"{STATION}/snapshot", auth=SCREEN, response=responses({200: StationSnapshot}))
def kitchen_station_snapshot(request, slug: str):
    """Everything a station's screen shows: open tickets, recently bumped, all-day counts, with
    the event `seq` it is current to."""
    return _station_body(_station(request.auth, slug, expo=False))


@router.get("kitchen/expo/snapshot", auth=SCREEN, response=responses({200: ExpoSnapshot}))
def kitchen_expo_snapshot(request):
    """The expo screen: every order not yet served, with each station's progress on it."""
    return _expo_body(_station(request.auth, EXPO, expo=True))


# --- station writes ------------------------------------------------------------------------------


def _ticket(station: Station, ticket_id: int, *, lock: bool = False) -> Ticket:
    tickets = Ticket.objects.filter(pk=ticket_id, venue_id=station.venue_id, station=station)
    if lock:
        tickets = tickets.select_for_update(no_key=True)
    ticket = tickets.first()
    if ticket is None:
        raise NotFound(_("No such ticket at this station."), field="ticket")
    return ticket


def _label(ticket: Ticket) -> str:
    return Check.objects.select_related("table").get(pk=ticket.tab_id).label


@router.post(f"{TICKET}/bump", auth=SCREEN, response=responses({200: BumpOut}))
@with_snapshot(expo=False)
@write()
def kitchen_ticket_bump(request, slug: str, ticket_id: int, body: NoBody | None = None):
    """Bump a ticket: its fired items are ready and it leaves the screen (it stays while a held
    course of it waits). A ticket already bumped is refused (409 `already_bumped`)."""
    caller = request.auth
    station = _station(caller, slug, expo=False)
    ticket = _ticket(station, ticket_id, lock=True)
    if ticket.bumped_at is not None:
        raise Conflict(_("This ticket is already bumped."), code="already_bumped", field="ticket")
    ticket = kitchen_services.ticket_bump(ticket=ticket, by=caller.device.name)
    return {
        "ticket": ticket.pk,
        "bumped": ticket.bumped_at is not None,
        "label": _label(ticket),
    }


@router.post(f"{TICKET}/start", auth=SCREEN, response=responses({200: TicketDone}))
@with_snapshot(expo=False)
@write()
def kitchen_ticket_start(request, slug: str, ticket_id: int, body: NoBody | None = None):
    """Start a ticket: its new, fired items are cooking."""
    station = _station(request.auth, slug, expo=False)
    ticket = kitchen_services.ticket_start(ticket=_ticket(station, ticket_id))
    return {"ticket": ticket.pk}


@router.post(f"{TICKET}/recall", auth=SCREEN, response=responses({200: Recalled}))
@with_snapshot(expo=False)
@write()
def kitchen_ticket_recall(request, slug: str, ticket_id: int, body: NoBody | None = None):
    """Bring a bumped ticket back on the screen (409 `not_bumped` if it is not bumped)."""
    station = _station(request.auth, slug, expo=False)
    ticket = kitchen_services.ticket_recall(station=station, ticket=_ticket(station, ticket_id))
    if ticket is None:
        raise Conflict(_("This ticket is not bumped."), code="not_bumped", field="ticket")
    return {"ticket": ticket.pk, "label": _label(ticket)}


@router.post(f"{STATION}/recall", auth=SCREEN, response=responses({200: Recalled}))
@with_snapshot(expo=False)
@write()
def kitchen_recall_last(request, slug: str, body: NoBody | None = None):
    """Bring the station's last bumped ticket back (409 `nothing_to_recall`)."""
    station = _station(request.auth, slug, expo=False)
    ticket = kitchen_services.ticket_recall(station=station)
    if ticket is None:
        raise Conflict(_("Nothing to recall."), code="nothing_to_recall")
    return {"ticket": ticket.pk, "label": _label(ticket)}


@router.post(f"{TICKET}/ack", auth=SCREEN, response=responses({200: TicketDone}))
@with_snapshot(expo=False)
@write()
def kitchen_ticket_ack(request, slug: str, ticket_id: int, body: NoBody | None = None):
    """Acknowledge a VOID ticket: the cook has seen it and it leaves the screen (409
    `not_void` for another ticket, `already_bumped` when it was acknowledged)."""
    caller = request.auth
    station = _station(caller, slug, expo=False)
    ticket = _ticket(station, ticket_id, lock=True)
    if ticket.kind != Ticket.Kind.VOID:
        raise Conflict(_("Only a VOID ticket is acknowledged."), code="not_void", field="ticket")
    if ticket.bumped_at is not None:
        raise Conflict(
            _("This ticket is already acknowledged."), code="already_bumped", field="ticket"
        )
    ticket = kitchen_services.ticket_bump(ticket=ticket, by=caller.device.name)
    return {"ticket": ticket.pk}


@router.post(
    f"{STATION}/items/{{api_id:item_id}}/status",
    auth=SCREEN,
    response=responses({200: ItemStatusOut}),
)
@with_snapshot(expo=False)
@write()
def kitchen_item_status(request, slug: str, item_id: int, body: ItemStatusIn | None = None):
    """Mark one item of a ticket new, cooking or ready (409 `item_not_active` when it is
    held or voided)."""
    if body is None:  # an empty body: ninja has nothing to validate
        raise ValidationFailed(_("status is required."), code="required", field="status")
    station = _station(request.auth, slug, expo=False)
    item = TicketItem.objects.filter(
        pk=item_id, ticket__station=station, ticket__venue_id=station.venue_id
    ).first()
    if item is None:
        raise NotFound(_("No such item at this station."), field="item")
    item = kitchen_services.ticket_item_set_status(item=item, status=body.status)
    return {"item": item.pk, "status": item.status}


# --- expo writes ---------------------------------------------------------------------------------


def _open_check(station: Station, check_id: int) -> Check:
    tab = (
        Check.objects.filter(pk=check_id, venue_id=station.venue_id, status=Check.Status.OPEN)
        .select_related("table")
        .first()
    )
    if tab is None:
        raise not_found(_("open check"), "check")
    return tab


@router.post(
    "kitchen/expo/orders/{api_id:check_id}/ready",
    auth=SCREEN,
    response=responses({200: OrderReadyOut}),
)
@with_snapshot(expo=True)
@write()
def kitchen_order_ready(request, check_id: int, body: ExpoOrderIn | None = None):
    """The pass calls an order ready: every station's ticket of it is bumped (a print-only
    station never bumps), so the server's tablet shows "food ready"."""
    station = _station(request.auth, EXPO, expo=True)
    tab = _open_check(station, check_id)
    kitchen_services.order_ready(tab=tab, send_batch=body.send if body else None)
    return {"check": tab.pk, "label": tab.label}


@router.post(
    "kitchen/expo/orders/{api_id:check_id}/serve",
    auth=SCREEN,
    response=responses({200: OrderServedOut}),
)
@with_snapshot(expo=True)
@write()
def kitchen_order_serve(request, check_id: int, body: ExpoOrderIn | None = None):
    """The order went out: its ready (or all fired) lines are served, its tickets bumped."""
    station = _station(request.auth, EXPO, expo=True)
    tab = _open_check(station, check_id)
    lines = kitchen_services.order_serve(tab=tab, send_batch=body.send if body else None)
    return {
        "check": tab.pk,
        "label": tab.label,
        "served": [line.pk for line in lines],
    }
