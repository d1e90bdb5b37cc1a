"""Reads for kitchen screens: a station's snapshot, the expo view, all-day counts.

A snapshot carries the venue's event `seq` read in the same transaction as the tickets, so a
screen applies only events after it and never misses or double-applies a change.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Prefetch

from kitchen.models import Ticket, TicketItem
from orders.models import LineModifier
from restaurant.models import Station
from restaurant.realtime import last_seq

RECENTLY_BUMPED = 12


def _modifier_tree(line) -> list[dict]:
    rows = list(line.modifiers.all())
    children: dict[int | None, list[LineModifier]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)

    def build(parent_id):
        return [
            {"name": m.name, "quantity": m.quantity, "children": build(m.pk)}
            for m in sorted(children.get(parent_id, []), key=lambda m: (m.sort_order, m.pk))
        ]

    return build(None)


def ticket_state(items: list[TicketItem]) -> str:
    """A ticket's state from its items: new, cooking or ready (voided items don't count)."""
    live = [i for i in items if not i.voided and not i.held]
    if not live:
        return "held" if any(i.held and not i.voided for i in items) else "void"
    if all(i.status == TicketItem.Status.READY for i in live):
        return "ready"
    if any(i.status != TicketItem.Status.NEW for i in live):
        return "cooking"
    return "new"


def current_check(ticket: Ticket, items: list[TicketItem]):
    """The check a ticket's food is for now: a transfer or merge moves lines, not tickets.

    The check most of its live lines are on (ties: the one it was sent for).
    """
    votes: dict[int, int] = {}
    checks = {ticket.tab_id: ticket.tab}
    for item in items:
        if item.voided:
            continue
        checks[item.line.tab_id] = item.line.tab
        votes[item.line.tab_id] = votes.get(item.line.tab_id, 0) + 1
    if not votes:
        return ticket.tab
    best = max(votes.values())
    if votes.get(ticket.tab_id) == best:
        return ticket.tab
    return checks[min(tab_id for tab_id, n in votes.items() if n == best)]


def ticket_as_dict(ticket: Ticket, also_at: list[str] | None = None) -> dict:
    items = list(ticket.items.all())
    tab = current_check(ticket, items)
    first_batch = min(
        (i.line.send_batch or 0 for i in items if i.line.send_batch), default=ticket.send_batch
    )
    return {
        "id": ticket.pk,
        "kind": ticket.kind,
        "station": ticket.station.slug,
        "check": tab.pk,
        "number": tab.number,
        "label": tab.label,
        "server": tab.server.display_name,
        "guests": tab.guest_count,
        "rush": ticket.rush,
        "created_at": ticket.created_at.isoformat(),
        "bumped_at": ticket.bumped_at.isoformat() if ticket.bumped_at else None,
        "acknowledged_at": ticket.acknowledged_at.isoformat() if ticket.acknowledged_at else None,
        "state": ticket_state(items),
        "also_at": also_at or [],
        "addition": ticket.kind == Ticket.Kind.ADDITION or first_batch > 1,
        "items": [
            {
                "id": item.pk,
                "line": item.line_id,
                "quantity": item.quantity,
                "name": item.line.name,
                "plu": item.line.plu,
                "seat": item.line.seat,
                "course": item.course,
                "note": item.line.note,
                "held": item.held,
                "fired_at": item.fired_at.isoformat() if item.fired_at else None,
                "status": item.status,
                "voided": item.voided,
                "moved_to": item.line.tab.label if item.line.tab_id != tab.pk else None,
                "modifiers": _modifier_tree(item.line),
            }
            for item in items
        ],
    }


def _tickets_qs():
    return Ticket.objects.select_related(
        "tab", "tab__server", "tab__table", "station"
    ).prefetch_related(
        Prefetch(
            "items",
            queryset=TicketItem.objects.select_related(
                "line", "line__tab", "line__tab__table", "line__tab__server"
            )
            .prefetch_related("line__modifiers")
            .order_by("course", "line__seat", "pk"),
        )
    )


def _also_at(tickets: list[Ticket]) -> dict[int, list[str]]:
    """For each ticket, the other stations with open tickets of the same check and send."""
    keys = {(t.tab_id, t.send_batch) for t in tickets}
    if not keys:
        return {}
    others = (
        Ticket.objects.filter(tab_id__in={k[0] for k in keys}, bumped_at__isnull=True)
        .exclude(kind=Ticket.Kind.VOID)
        .select_related("station")
    )
    names: dict[tuple[int, int], set[tuple[int, str]]] = defaultdict(set)
    for other in others:
        names[(other.tab_id, other.send_batch)].add((other.station.sort_order, other.station.name))
    result = {}
    for t in tickets:
        result[t.pk] = [
            name
            for _order, name in sorted(names.get((t.tab_id, t.send_batch), set()))
            if name != t.station.name
        ]
    return result


def all_day_counts(*, station: Station, with_modifiers: bool = False) -> list[dict]:
    """Fired, not yet bumped items at a station, counted by item (and modifiers)."""
    items = (
        TicketItem.objects.filter(
            ticket__station=station,
            ticket__bumped_at__isnull=True,
            held=False,
            voided=False,
        )
        .exclude(status=TicketItem.Status.READY)
        .exclude(ticket__kind=Ticket.Kind.VOID)
        .select_related("line")
        .prefetch_related("line__modifiers")
    )
    counts: Counter = Counter()
    for item in items:
        key = item.line.name
        if with_modifiers:
            mods = ", ".join(m.name for m in item.line.modifiers.all())
            key = f"{key} ({mods})" if mods else key
        counts[key] += item.quantity
    return [
        {"name": name, "count": n}
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def station_snapshot(*, station: Station) -> dict:
    """Everything a station screen shows, with the event seq it is current to."""
    with transaction.atomic():
        seq = last_seq(venue_id=station.venue_id)
        open_tickets = list(
            _tickets_qs()
            .filter(station=station, bumped_at__isnull=True)
            .order_by("-rush", "created_at", "pk")
        )
        bumped = list(
            _tickets_qs()
            .filter(station=station, bumped_at__isnull=False)
            .order_by("-bumped_at", "-pk")[:RECENTLY_BUMPED]
        )
        also = _also_at(open_tickets)
        counts = all_day_counts(station=station)
    return {
        "seq": seq,
        "station": {
            "slug": station.slug,
            "name": station.name,
            "is_expo": station.is_expo,
            "warn_after": station.warn_after_seconds,
            "late_after": station.late_after_seconds,
        },
        "tickets": [ticket_as_dict(t, also.get(t.pk)) for t in open_tickets],
        "recently_bumped": [ticket_as_dict(t) for t in bumped],
        "all_day": counts,
    }


def expo_snapshot(*, venue_id: int) -> dict:
    """Every order not yet served, with each station's progress on it."""
    with transaction.atomic():
        seq = last_seq(venue_id=venue_id)
        tickets = list(
            _tickets_qs()
            .filter(venue_id=venue_id, items__line__tab__status="open")
            .exclude(kind=Ticket.Kind.VOID)
            .distinct()
            .order_by("created_at", "pk")
        )
    orders: dict[tuple[int, int], dict] = {}
    for ticket in tickets:
        items = list(ticket.items.all())
        live = [i for i in items if not i.voided]
        if live and all(i.line.served_at for i in live):
            continue  # served: gone from the pass
        tab = current_check(ticket, items)
        if tab.status != "open":
            continue
        key = (tab.pk, ticket.send_batch)
        order = orders.setdefault(
            key,
            {
                "check": tab.pk,
                "number": tab.number,
                "label": tab.label,
                "server": tab.server.display_name,
                "send": ticket.send_batch,
                "created_at": ticket.created_at.isoformat(),
                "rush": False,
                "stations": [],
            },
        )
        order["rush"] = order["rush"] or ticket.rush
        order["stations"].append(
            {
                "ticket": ticket.pk,
                "station": ticket.station.slug,
                "name": ticket.station.name,
                "state": ticket_state(items),
                "bumped": ticket.bumped_at is not None,
                "items": [
                    {
                        "line": i.line_id,
                        "quantity": i.quantity,
                        "name": i.line.name,
                        "seat": i.line.seat,
                        "course": i.course,
                        "held": i.held,
                        "voided": i.voided,
                        "status": i.status,
                    }
                    for i in items
                ],
            }
        )
    result = sorted(orders.values(), key=lambda o: (not o["rush"], o["created_at"]))
    for order in result:
        states = [s["state"] for s in order["stations"] if s["state"] not in ("void",)]
        order["ready"] = bool(states) and all(s in ("ready",) for s in states)
    return {"seq": seq, "orders": result}
