"""The realtime event log: the one module that writes and publishes events.

A service calls `event_emit` inside its transaction. The event is written as the transaction's
last statements, right before COMMIT (restaurant/db/backends/events.py), with the venue's next
sequence number (gap-free, monotonic: the counter row is locked only for that flush and the
commit), and the transaction's events are published together to the venue's channel-layer
group only after it commits, so a screen never hears of a change that was rolled back. The
database is the truth; the channel layer only wakes screens up: a screen that misses a message
(a dropped connection, channels_redis dropping a message over capacity) sees a gap in `seq` and
fetches a fresh snapshot. See docs/realtime.md.

This lives in `restaurant` (the lowest layer) rather than `kitchen`, so services of every app
(orders, kitchen, payments, the venue's 86 list) write their events in their own transactions.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from restaurant.models import Event, EventSequence
from restaurant.queries import one

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 2


# --- who hears what (docs/realtime.md, "Audiences") ---------------------------------------------
# A socket is sent the events of its venue that its kind of screen draws, nothing else: the
# kitchen's screens never hear of lines still being typed, tablets never of tickets. Each
# socket's stream is complete for its audience (the consumer fills any hole from the database),
# so a client no longer needs every number to know it missed nothing.


def _tablet_wants(message: dict) -> bool:
    return not message["type"].startswith("ticket.")


def _kitchen_wants(message: dict) -> bool:
    # A check with nothing sent is on no kitchen screen; its changes are not the kitchen's.
    return message["type"] != "check.changed" or bool(message["data"].get("kitchen", True))


AUDIENCES = {"tablet": _tablet_wants, "kitchen": _kitchen_wants}


def frame_of(audience: str, *, after: int, seq: int, messages: list[dict]) -> str | None:
    """The `events` frame for one audience: its events among `messages`, which cover every
    event with after < seq' <= seq. None when it wants none of them."""
    wanted = [m for m in messages if AUDIENCES[audience](m)]
    if not wanted:
        return None
    return json.dumps(
        {"type": "events", "after": after, "seq": seq, "events": wanted}, ensure_ascii=False
    )


def venue_group(venue_id: int) -> str:
    return f"venue.{venue_id}"


def device_group(device_id: int) -> str:
    """Every open websocket of one paired device (a tablet or a kitchen screen)."""
    return f"device.{device_id}"


# The close code of a socket whose device was revoked (or is no longer paired): the client
# stops reconnecting and shows its pairing screen (docs/realtime.md, "Close codes").
CLOSE_REVOKED = 4403


def device_sockets_close(device_id: int) -> bool:
    """Tell every open websocket of the device, on every server process, to close with
    CLOSE_REVOKED (restaurant.consumers.VenueEventsConsumer.device_revoked). Called after the
    revocation has committed. Returns whether the message was handed to the channel layer; a
    lost message leaves the socket open until its next HTTP call answers 401 (as before)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(
            device_group(device_id), {"type": "device.revoked", "device": device_id}
        )
    except Exception:  # the revocation itself has committed; every HTTP call now answers 401
        logger.exception("could not tell the sockets of device %s to close", device_id)
        return False
    return True


def event_as_message(event: Event) -> dict:
    return {
        "seq": event.seq,
        "type": event.type,
        "v": event.version,
        "at": event.created_at.isoformat() if event.created_at else None,
        "data": event.data,
    }


def _jsonable(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


class _Batch:
    """The events one transaction wrote, published together once it has committed."""

    __slots__ = ("events", "published")

    def __init__(self):
        self.events: list[Event] = []
        self.published = False

    def written(self, events: list[Event]) -> None:
        self.events.extend(events)

    def publish(self) -> None:
        # Every event of the transaction registered this callback (so one survives whatever
        # savepoint was rolled back); the first to run publishes them all.
        if self.published:
            return
        self.published = True
        by_venue: dict[int, list[Event]] = {}
        for event in self.events:
            by_venue.setdefault(event.venue_id, []).append(event)
        for venue_id, events in by_venue.items():
            publish(venue_id, [event_as_message(event) for event in events])


def event_emit(*, venue_id: int, type: str, data: dict | None = None, version: int = 1) -> Event:
    """Add an event to the current transaction; it is written just before the transaction
    commits (with the venue's next `seq`) and published after.

    The returned event has its `seq` once the transaction has written it.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change")
    event = Event(
        venue_id=venue_id,
        type=type,
        version=version,
        data=_jsonable(data or {}),
        created_at=timezone.now(),
    )
    if not getattr(connection, "brigade_event_log", False):
        # A database backend without the pre-commit hook (restaurant/db/backends): write now,
        # holding the venue's counter until commit. Correct, only slower.
        write_events(connection, [event])
        batch = _Batch()
        batch.written([event])
    else:
        if connection.event_batch is None:
            connection.event_batch = _Batch()
        batch = connection.event_batch
        connection.event_pending(event)
    transaction.on_commit(batch.publish)
    return event


def write_events(connection, events: list[Event]) -> None:
    """Write events with their venues' next sequence numbers: per venue (ascending, so two
    transactions never wait on each other's counters in opposite orders) one counter update
    and one multi-row insert. Called by the backend right before COMMIT."""
    if not events:
        return
    by_venue: dict[int, list[Event]] = {}
    for event in events:
        by_venue.setdefault(event.venue_id, []).append(event)
    quote = connection.ops.quote_name
    counter = quote(EventSequence._meta.db_table)
    table = quote(Event._meta.db_table)
    fields = [Event._meta.get_field(name) for name in EVENT_COLUMNS]
    columns = ", ".join(quote(f.column) for f in fields)
    # Table and column names come from the models; every value is a bound parameter.
    bump = (
        f"INSERT INTO {counter} (venue_id, last_seq) VALUES (%s, %s) "  # noqa: S608
        f"ON CONFLICT (venue_id) DO UPDATE SET last_seq = {counter}.last_seq + %s "
        "RETURNING last_seq"
    )
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for venue_id in sorted(by_venue):
            batch = by_venue[venue_id]
            cursor.execute(bump, [venue_id, len(batch), len(batch)])
            last = cursor.fetchone()[0]
            for offset, event in enumerate(batch):
                event.seq = last - len(batch) + 1 + offset
            params = [
                field.get_db_prep_save(getattr(event, field.attname), connection)
                for event in batch
                for field in fields
            ]
            insert = f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * len(batch))  # noqa: S608
            cursor.execute(insert, params)


EVENT_COLUMNS = ("venue", "seq", "type", "version", "data", "created_at")


def publish(venue_id: int, messages: list[dict]) -> None:
    """Send one transaction's events to the venue's group, as one channel-layer message.

    The frames each audience's sockets send are encoded here, once, not once per socket:
    `frames[audience]` is that audience's `events` frame for a socket whose stream is complete
    up to the seq before these events (the usual case); a socket that is behind or ahead builds
    its own from `events`. Losing the message is survivable: sockets notice the hole and fill
    it from the database.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    first, last = messages[0]["seq"], messages[-1]["seq"]
    frames = {
        audience: frame_of(audience, after=first - 1, seq=last, messages=messages)
        for audience in AUDIENCES
    }
    try:
        async_to_sync(layer.group_send)(
            venue_group(venue_id),
            {
                "type": "venue.events",
                "first": first,
                "seq": last,
                "events": messages,
                "frames": frames,
            },
        )
    except Exception:  # the database has the events; sockets fill the hole from it
        logger.exception("could not publish events %s..%s of venue %s", first, last, venue_id)


def events_after(*, venue_id: int, after: int, limit: int = 500) -> list[dict]:
    """Events with seq > after, oldest first (for catching up without a full snapshot)."""
    rows = Event.objects.filter(venue_id=venue_id, seq__gt=after).order_by("seq")[:limit]
    return [event_as_message(e) for e in rows]


def last_seq(*, venue_id: int) -> int:
    """The venue's last committed seq (inside a writing transaction: before its own events,
    which get their numbers at commit)."""
    return (
        one(EventSequence.objects.filter(venue_id=venue_id).values_list("last_seq", flat=True)) or 0
    )
