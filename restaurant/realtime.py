"""The realtime event log: the one module that writes and publishes events.

A service calls `event_emit` inside its transaction. The event row gets the venue's next
sequence number (gap-free, monotonic) and is published to the venue's channel-layer group only
after the transaction commits, so a screen never hears of a change that was rolled back. The
database is the truth; the channel layer only wakes screens up: a screen that misses a message
(a dropped connection, channels_redis dropping a message over capacity) sees a gap in `seq` and
fetches a fresh snapshot. See docs/realtime.md.

This lives in `restaurant` (the lowest layer) rather than `kitchen`, so services of every app
(orders, kitchen, payments, the venue's 86 list) write their events in their own transactions.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F

from restaurant.models import Event, EventSequence

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1


def venue_group(venue_id: int) -> str:
    return f"venue.{venue_id}"


def event_as_message(event: Event) -> dict:
    return {
        "seq": event.seq,
        "type": event.type,
        "v": event.version,
        "at": event.created_at.isoformat() if event.created_at else None,
        "data": event.data,
    }


def _jsonable(data: dict) -> dict:
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def event_emit(*, venue_id: int, type: str, data: dict | None = None, version: int = 1) -> Event:
    """Write an event in the current transaction; publish it after commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change")
    EventSequence.objects.get_or_create(venue_id=venue_id)
    # Lock the venue's counter last, increment, read back: a gap-free per-venue sequence.
    EventSequence.objects.select_for_update().filter(venue_id=venue_id).update(
        last_seq=F("last_seq") + 1
    )
    seq = EventSequence.objects.values_list("last_seq", flat=True).get(venue_id=venue_id)
    event = Event.objects.create(
        venue_id=venue_id, seq=seq, type=type, version=version, data=_jsonable(data or {})
    )
    message = event_as_message(event)
    transaction.on_commit(lambda: publish(venue_id, message))
    return event


def publish(venue_id: int, message: dict) -> None:
    """Send one event to the venue's group. Losing it is survivable (clients re-snapshot)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            venue_group(venue_id), {"type": "venue.event", "event": message}
        )
    except Exception:  # the database has the event; screens will catch up on their next gap
        logger.exception("could not publish event %s of venue %s", message.get("seq"), venue_id)


def events_after(*, venue_id: int, after: int, limit: int = 500) -> list[dict]:
    """Events with seq > after, oldest first (for catching up without a full snapshot)."""
    rows = Event.objects.filter(venue_id=venue_id, seq__gt=after).order_by("seq")[:limit]
    return [event_as_message(e) for e in rows]


def last_seq(*, venue_id: int) -> int:
    return (
        EventSequence.objects.filter(venue_id=venue_id).values_list("last_seq", flat=True).first()
        or 0
    )
