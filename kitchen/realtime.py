"""The kitchen's realtime events: every ticket change is published through here.

Each function writes one event in the caller's transaction through the venue-wide event log
(`restaurant.realtime.event_emit`: a per-venue, gap-free `seq`, published to the venue's group
only after commit). The log itself lives in `restaurant` because services below the kitchen
(checks and their floor status, the 86 list) write events in their own transactions too, and
`orders` may not import `kitchen`. The protocol is described in docs/realtime.md.
"""

from __future__ import annotations

from kitchen.models import Ticket
from restaurant.realtime import event_emit

TICKET_CREATED = "ticket.created"
TICKET_FIRED = "ticket.fired"
TICKET_VOID = "ticket.void"
TICKET_UPDATED = "ticket.updated"
TICKET_BUMPED = "ticket.bumped"
TICKET_RECALLED = "ticket.recalled"


def ticket_sent(ticket: Ticket, type_: str, *, lines: list[int] | None = None) -> None:
    """A ticket reached its station (created, fired or a void): with the lines on it
    (`lines`: their ids, when the caller has them at hand)."""
    if lines is None:
        lines = [item.line_id for item in ticket.items.all()]
    event_emit(
        venue_id=ticket.venue_id,
        type=type_,
        data={
            "ticket": ticket.pk,
            "check": ticket.tab_id,
            "station": ticket.station.slug,
            "kind": ticket.kind,
            "lines": lines,
        },
    )


def ticket_changed(ticket: Ticket, type_: str) -> None:
    """A ticket changed on a screen (item status, bump, recall)."""
    event_emit(
        venue_id=ticket.venue_id,
        type=type_,
        data={
            "ticket": ticket.pk,
            "check": ticket.tab_id,
            "station": ticket.station.slug,
            "bumped": ticket.bumped_at is not None,
        },
    )
