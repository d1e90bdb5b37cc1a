"""Kitchen services: sending to stations, firing courses, voids reaching the kitchen.

Each wraps the orders service that changes the check and, in the same transaction, makes the
tickets each station sees and writes their realtime events.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from kitchen.models import Ticket, TicketItem
from orders import services as order_services
from orders.models import Check, OrderLine
from restaurant.models import StaffMember, Station
from restaurant.realtime import event_emit


def _stations(venue_id: int) -> dict[str, Station]:
    return {s.slug: s for s in Station.objects.filter(venue_id=venue_id)}


def _ticket_event(ticket: Ticket, type_: str) -> None:
    event_emit(
        venue_id=ticket.venue_id,
        type=type_,
        data={
            "ticket": ticket.pk,
            "check": ticket.tab_id,
            "station": ticket.station.slug,
            "kind": ticket.kind,
            "lines": [item.line_id for item in ticket.items.all()],
        },
    )


def _make_tickets(
    tab: Check, lines: list[OrderLine], actor: StaffMember | None, kind: str | None = None
) -> list[Ticket]:
    """One ticket per station for these lines (all from one send batch)."""
    stations = _stations(tab.venue_id)
    by_station: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if line.station_slug in stations:
            by_station[line.station_slug].append(line)
    tickets = []
    for slug, station_lines in sorted(by_station.items()):
        batch = station_lines[0].send_batch or 0
        first = not Ticket.objects.filter(
            tab=tab, station=stations[slug], kind__in=[Ticket.Kind.ORDER, Ticket.Kind.ADDITION]
        ).exists()
        ticket = Ticket.objects.create(
            venue_id=tab.venue_id,
            tab=tab,
            station=stations[slug],
            kind=kind or (Ticket.Kind.ORDER if first else Ticket.Kind.ADDITION),
            send_batch=batch,
            rush=any(line.rush for line in station_lines),
            sent_by=actor,
        )
        TicketItem.objects.bulk_create(
            TicketItem(
                ticket=ticket,
                line=line,
                quantity=line.quantity,
                course=line.course,
                held=line.fired_at is None,
                fired_at=line.fired_at,
            )
            for line in station_lines
        )
        _ticket_event(ticket, "ticket.created")
        tickets.append(ticket)
    return tickets


@transaction.atomic
def lines_send(
    *,
    tab: Check,
    actor: StaffMember,
    line_ids: list[int] | None = None,
    rush_ids: list[int] | None = None,
) -> list[Ticket]:
    """Send new lines to the kitchen: one ticket per station; held courses greyed."""
    lines = order_services.lines_send(tab=tab, actor=actor, line_ids=line_ids, rush_ids=rush_ids)
    return _make_tickets(tab, lines, actor)


@transaction.atomic
def course_fire(*, tab: Check, actor: StaffMember, course: int) -> list[Ticket]:
    """Fire a course: held items on the stations' tickets light up; unsent lines are sent."""
    lines = order_services.course_fire(tab=tab, actor=actor, course=course)
    held_items = list(
        TicketItem.objects.select_related("ticket", "ticket__station")
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
        _ticket_event(ticket, "ticket.fired")
    on_tickets = {item.line_id for item in held_items}
    new_lines = [line for line in lines if line.pk not in on_tickets]
    return list(touched.values()) + _make_tickets(tab, new_lines, actor)


@transaction.atomic
def line_void(
    *,
    line: OrderLine,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
    expected_version: int | None = None,
) -> OrderLine:
    """Void a line; when it had reached the kitchen, its station gets a VOID ticket."""
    was_sent = line.status == OrderLine.Status.SENT
    line = order_services.line_void(
        line=line,
        actor=actor,
        reason=reason,
        approver=approver,
        expected_version=expected_version,
    )
    if was_sent:
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
            _ticket_event(ticket, "ticket.void")
    return line
