"""Kitchen services: sending to stations, firing courses, voids reaching the kitchen.

Each wraps the orders service that changes the check and, in the same transaction, makes the
tickets each station sees and writes their realtime events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kitchen import realtime
from kitchen.models import PrintJob, Ticket, TicketItem
from kitchen.printing import prebill_print, ticket_print
from orders import services as order_services
from orders.models import Check, OrderLine
from restaurant.errors import Conflict, ValidationFailed
from restaurant.models import StaffMember, Station


def _stations(venue_id: int) -> dict[str, Station]:
    return {s.slug: s for s in Station.objects.filter(venue_id=venue_id).select_related("printer")}


@dataclass
class KitchenSend:
    """What a send or a fire did: the check (with its lines, modifiers and adjustments loaded
    after the change, when anything changed), the lines sent or fired now, and the tickets
    made or lit at the stations."""

    tab: Check
    lines: list[OrderLine] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)


def _make_tickets(
    tab: Check, lines: list[OrderLine], actor: StaffMember | None, kind: str | None = None
) -> list[Ticket]:
    """One ticket per station for these lines (all from one send batch): two inserts in all."""
    stations = _stations(tab.venue_id)
    by_station: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if line.station_slug in stations:
            by_station[line.station_slug].append(line)
    if not by_station:
        return []
    seen = set()
    if kind is None:  # a station's first ticket of a check is the order, later ones additions
        seen = set(
            Ticket.objects.filter(
                tab=tab, kind__in=[Ticket.Kind.ORDER, Ticket.Kind.ADDITION]
            ).values_list("station_id", flat=True)
        )
    plan = sorted(by_station.items())
    tickets = [
        Ticket(
            venue_id=tab.venue_id,
            tab=tab,
            station=stations[slug],
            kind=kind or (Ticket.Kind.ADDITION if stations[slug].pk in seen else Ticket.Kind.ORDER),
            send_batch=station_lines[0].send_batch or 0,
            rush=any(line.rush for line in station_lines),
            sent_by=actor,
        )
        for slug, station_lines in plan
    ]
    Ticket.objects.bulk_create(tickets)
    TicketItem.objects.bulk_create(
        TicketItem(
            ticket=ticket,
            line=line,
            quantity=line.quantity,
            course=line.course,
            held=line.fired_at is None,
            fired_at=line.fired_at,
        )
        for ticket, (_slug, station_lines) in zip(tickets, plan, strict=True)
        for line in station_lines
    )
    for ticket, (_slug, station_lines) in zip(tickets, plan, strict=True):
        realtime.ticket_sent(
            ticket, realtime.TICKET_CREATED, lines=[line.pk for line in station_lines]
        )
        ticket_print(ticket=ticket)
    return tickets


@transaction.atomic
def lines_send(
    *,
    tab: Check,
    actor: StaffMember,
    line_ids: list[int] | None = None,
    rush_ids: list[int] | None = None,
) -> KitchenSend:
    """Send new lines to the kitchen: one ticket per station; held courses greyed."""
    lines = order_services.lines_send(tab=tab, actor=actor, line_ids=line_ids, rush_ids=rush_ids)
    locked = lines[0].tab if lines else tab
    return KitchenSend(tab=locked, lines=lines, tickets=_make_tickets(locked, lines, actor))


@transaction.atomic
def course_fire(*, tab: Check, actor: StaffMember, course: int) -> KitchenSend:
    """Fire a course: held items on the stations' tickets light up; unsent lines are sent."""
    lines = order_services.course_fire(tab=tab, actor=actor, course=course)
    held_items = list(
        TicketItem.objects.select_related("ticket", "ticket__station", "ticket__station__printer")
        .filter(line__in=lines, held=True)
        .order_by("pk")
    )
    now = timezone.now()
    touched: dict[int, Ticket] = {}
    for item in held_items:
        item.held = False
        item.fired_at = now
        touched[item.ticket_id] = item.ticket
    TicketItem.objects.bulk_update(held_items, ["held", "fired_at"])
    for ticket in touched.values():
        realtime.ticket_sent(ticket, realtime.TICKET_FIRED)
        fired = [item for item in held_items if item.ticket_id == ticket.pk]
        ticket_print(ticket=ticket, kind=PrintJob.Kind.FIRE, items=fired)
    on_tickets = {item.line_id for item in held_items}
    new_lines = [line for line in lines if line.pk not in on_tickets]
    locked = lines[0].tab if lines else tab
    return KitchenSend(
        tab=locked,
        lines=lines,
        tickets=list(touched.values()) + _make_tickets(locked, new_lines, actor),
    )


@transaction.atomic
def line_void(
    *,
    line: OrderLine,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
    expected_version: int | None = None,
) -> OrderLine:
    """Void a line; when it had reached the kitchen, its station gets a VOID ticket.

    Whether it had is decided under the line's lock (orders.services.line_void_locked), not
    from the caller's copy: a send that commits just before the void still gets its VOID.
    """
    voided = order_services.line_void_locked(
        line=line,
        actor=actor,
        reason=reason,
        approver=approver,
        expected_version=expected_version,
    )
    line = voided.line
    if voided.was_sent:
        TicketItem.objects.filter(line=line).update(voided=True)
        station = Station.objects.filter(venue_id=line.tab.venue_id, slug=line.station_slug).first()
        if station is not None:
            ticket = Ticket.objects.create(
                venue_id=line.tab.venue_id,
                tab=line.tab,
                station=station,
                kind=Ticket.Kind.VOID,
                send_batch=line.send_batch or 0,
                sent_by=actor,
            )
            TicketItem.objects.create(
                ticket=ticket,
                line=line,
                quantity=line.quantity,
                course=line.course,
                held=False,
                fired_at=timezone.now(),
                voided=True,
            )
            realtime.ticket_sent(ticket, realtime.TICKET_VOID)
            ticket_print(ticket=ticket)
    return line


# --- Kitchen screens: item status, bump, recall, expo ------------------------------------------


def _lock_ticket(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(no_key=True)
        .select_related("station", "tab")
        .get(pk=ticket.pk)
    )


def _food_ready_check(tab_id: int) -> None:
    """When every fired, unserved kitchen item of a check is ready, its lines are ready."""
    items = list(
        TicketItem.objects.filter(
            line__tab_id=tab_id,
            held=False,
            voided=False,
            line__served_at__isnull=True,
        )
        .exclude(ticket__kind=Ticket.Kind.VOID)
        .exclude(line__status=OrderLine.Status.VOIDED)
        .values_list("line_id", "status")
    )
    if items and all(status == TicketItem.Status.READY for _line, status in items):
        order_services.lines_mark_ready(line_ids=sorted({line for line, _s in items}))


@transaction.atomic
def ticket_item_set_status(*, item: TicketItem, status: str) -> TicketItem:
    """Mark one item new, cooking or ready on a station screen."""
    if status not in TicketItem.Status.values:
        raise ValidationFailed(_("Unknown status %(s)s.") % {"s": status}, field="status")
    ticket = _lock_ticket(item.ticket)
    item = TicketItem.objects.select_for_update(no_key=True).get(pk=item.pk)
    if item.voided or item.held:
        raise Conflict(_("This item is voided or held."), code="item_not_active")
    if item.status != status:
        item.status = status
        item.save(update_fields=["status"])
        realtime.ticket_changed(ticket, realtime.TICKET_UPDATED)
        if status == TicketItem.Status.READY:
            _food_ready_check(ticket.tab_id)
    return item


@transaction.atomic
def ticket_start(*, ticket: Ticket) -> Ticket:
    """The cook starts a ticket: its new, fired items are cooking."""
    ticket = _lock_ticket(ticket)
    changed = ticket.items.filter(status=TicketItem.Status.NEW, held=False, voided=False).update(
        status=TicketItem.Status.COOKING
    )
    if changed:
        realtime.ticket_changed(ticket, realtime.TICKET_UPDATED)
    return ticket


@transaction.atomic
def ticket_bump(*, ticket: Ticket, by: str = "") -> Ticket:
    """Bump a ticket: its fired items are ready; it leaves the screen once nothing is held.

    A VOID ticket is acknowledged by bumping it. Bumping twice does nothing twice.
    """
    ticket = _lock_ticket(ticket)
    if ticket.bumped_at is not None:
        return ticket
    now = timezone.now()
    ticket.items.filter(held=False, voided=False).exclude(status=TicketItem.Status.READY).update(
        status=TicketItem.Status.READY
    )
    fields = []
    if ticket.kind == Ticket.Kind.VOID:
        ticket.acknowledged_at = now
        fields.append("acknowledged_at")
    if not ticket.items.filter(held=True, voided=False).exists():
        ticket.bumped_at = now
        ticket.bumped_by = by[:60]
        fields += ["bumped_at", "bumped_by"]
    if fields:
        ticket.save(update_fields=fields)
    if ticket.bumped_at is not None and ticket.kind != Ticket.Kind.VOID:
        ticket_print(ticket=ticket, kind=PrintJob.Kind.CHIT)  # when the station asks for chits
    realtime.ticket_changed(ticket, realtime.TICKET_BUMPED)
    if ticket.kind != Ticket.Kind.VOID:
        _food_ready_check(ticket.tab_id)
    return ticket


@transaction.atomic
def ticket_recall(*, station: Station, ticket: Ticket | None = None) -> Ticket | None:
    """Undo a bump: the given ticket, or the station's last bumped one, comes back."""
    qs = Ticket.objects.select_for_update(no_key=True).filter(
        station=station, bumped_at__isnull=False
    )
    ticket = (qs.filter(pk=ticket.pk) if ticket else qs.order_by("-bumped_at", "-pk")).first()
    if ticket is None:
        return None
    ticket.bumped_at = None
    ticket.bumped_by = ""
    ticket.save(update_fields=["bumped_at", "bumped_by"])
    if ticket.kind != Ticket.Kind.VOID:
        ticket.items.filter(voided=False, held=False, status=TicketItem.Status.READY).update(
            status=TicketItem.Status.COOKING
        )
        # The order is no longer all ready: take "food ready" back for the whole check until
        # this ticket is bumped again.
        unserved = list(
            OrderLine.objects.filter(
                tab_id=ticket.tab_id, ready_at__isnull=False, served_at__isnull=True
            ).values_list("pk", flat=True)
        )
        if unserved:
            order_services.lines_mark_ready(line_ids=unserved, ready=False)
    ticket = _lock_ticket(ticket)
    realtime.ticket_changed(ticket, realtime.TICKET_RECALLED)
    return ticket


def _order_tickets(tab: Check, send_batch: int | None):
    """The tickets (locked, by id) with food for this check: sent for it, or for lines that a
    transfer or merge brought to it."""
    ids = set(
        Ticket.objects.filter(items__line__tab=tab)
        .exclude(kind=Ticket.Kind.VOID)
        .values_list("pk", flat=True)
    )
    tickets = Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids)
    if send_batch is not None:
        tickets = tickets.filter(send_batch=send_batch)
    return tickets.order_by("pk")


@transaction.atomic
def order_ready(*, tab: Check, send_batch: int | None = None, by: str = "expo") -> list[Ticket]:
    """Expo calls an order ready: every station's ticket of it is bumped (stations that only
    print never bump), so the server's tablet shows "food ready"."""
    tickets = _order_tickets(tab, send_batch).filter(bumped_at__isnull=True)
    return [ticket_bump(ticket=ticket, by=by) for ticket in tickets]


@transaction.atomic
def order_serve(*, tab: Check, send_batch: int | None = None) -> list[OrderLine]:
    """Expo sends an order out: its ready (or all fired) lines are served, tickets bumped."""
    tickets = list(_order_tickets(tab, send_batch))
    items = TicketItem.objects.filter(ticket__in=tickets, held=False, voided=False, line__tab=tab)
    line_ids = sorted(set(items.values_list("line_id", flat=True)))
    items.update(status=TicketItem.Status.READY)
    now = timezone.now()
    for ticket in tickets:
        if ticket.bumped_at is None and not ticket.items.filter(held=True, voided=False).exists():
            ticket.bumped_at = now
            ticket.bumped_by = "expo"
            ticket.save(update_fields=["bumped_at", "bumped_by"])
            realtime.ticket_changed(ticket, realtime.TICKET_BUMPED)
    return order_services.lines_mark_served(line_ids=line_ids)


@transaction.atomic
def check_prebill_print(*, tab: Check, actor: StaffMember) -> Check:
    """Print the check for the table: the floor shows "check printed", the receipt printer
    gets the pre-bill, both in one transaction."""
    tab = order_services.prebill_print(tab=tab, actor=actor)
    prebill_print(tab=tab)
    return tab
