"""Websocket consumers of the venue app: a liveness ping, and the base of every screen's feed."""

import asyncio
import logging
import time
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from restaurant.errors import ValidationFailed
from restaurant.jsonio import MAX_MESSAGE_BYTES, json_loads
from restaurant.models import Device
from restaurant.realtime import (
    AUDIENCES,
    CLOSE_REVOKED,
    PROTOCOL_VERSION,
    device_group,
    events_after,
    frame_of,
    last_seq,
    venue_group,
)


def _decode(text_data: str | None):
    """A client's message through the shared JSON loader (bounded depth, numbers and size):
    a hostile message is answered with an error, never a closed socket (1011)."""
    if not text_data or len(text_data) > MAX_MESSAGE_BYTES:
        return None
    try:
        return json_loads(text_data)
    except ValidationFailed:
        return None


class Consumer(AsyncJsonWebsocketConsumer):
    """A websocket consumer whose messages do not each cost a trip to a thread.

    Channels' `dispatch` runs Django's `close_old_connections` in a worker thread before every
    handler, for every message of every socket: with fifty screens that was 11% of a busy
    server's CPU (bench/RESULTS.md). Our consumers touch the database only inside
    `database_sync_to_async`, which closes stale connections itself around each call, so the
    extra trip does nothing for them."""

    async def dispatch(self, message):
        name = str(message.get("type", "")).replace(".", "_")
        handler = None if name.startswith("_") else getattr(self, name, None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class PingConsumer(Consumer):
    async def connect(self):
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = _decode(text_data)
        if not isinstance(content, dict):
            await self.send_json(
                {"type": "error", "error": {"code": "bad_request", "message": "Bad message"}}
            )
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        else:
            await self.send_json(
                {"type": "error", "error": {"code": "unknown_type", "message": "Unknown type"}}
            )


logger = logging.getLogger(__name__)

# A heartbeat's `seq` may be this old: the last seq is read from the database at most once a
# second per venue and server process, however many screens ping.
SEQ_FRESH_SECONDS = 1.0


class _KnownSeqs:
    """The last `seq` this server process knows of, per venue, for heartbeats.

    Moved forward by every event that passes through the process and by the `hello` of every
    new socket; read from the database when it is older than SEQ_FRESH_SECONDS (one read for
    all the sockets pinging meanwhile). So a thousand idle screens cost about one query a
    second, not one per ping, and a screen whose last message was dropped still learns of it
    within a heartbeat or two.
    """

    def __init__(self):
        self.known: dict[int, int] = {}
        self.read_at: dict[int, float] = {}
        self.locks: dict[int, asyncio.Lock] = {}

    def saw(self, venue_id: int, seq: int) -> None:
        if seq > self.known.get(venue_id, -1):
            self.known[venue_id] = seq

    def _fresh(self, venue_id: int) -> bool:
        read_at = self.read_at.get(venue_id)
        return read_at is not None and time.monotonic() - read_at < SEQ_FRESH_SECONDS

    async def get(self, venue_id: int) -> int:
        if not self._fresh(venue_id):
            lock = self.locks.setdefault(venue_id, asyncio.Lock())
            async with lock:
                if not self._fresh(venue_id):  # another socket may have read it meanwhile
                    self.saw(venue_id, await _last_seq(venue_id))
                    self.read_at[venue_id] = time.monotonic()
        return self.known[venue_id]


# One per event loop (a server process has one; tests start several).
_known_seqs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _KnownSeqs]" = (
    weakref.WeakKeyDictionary()
)


def known_seqs() -> _KnownSeqs:
    loop = asyncio.get_running_loop()
    seqs = _known_seqs.get(loop)
    if seqs is None:
        seqs = _known_seqs[loop] = _KnownSeqs()
    return seqs


class VenueEventsConsumer(Consumer):
    """A screen's feed of its venue's events (docs/realtime.md), shared by tablets and kitchens.

    A subclass says who is connecting (`identify`: the venue id, or None to refuse; it sets
    `device_id` to the paired device's id) and which events its screens draw (`audience`,
    restaurant.realtime.AUDIENCES). A refusal is accepted and closed with 4401 (a close before
    accept is an HTTP 403 on the handshake, which a browser reports only as 1006; 4401 tells
    the client to pair or sign in again); an accepted client joins `device.<id>` and
    `venue.<id>` first and then gets `hello` with the venue's last `seq`.

    Revoking the device (restaurant.services.device_revoke) sends `device.revoked` to
    `device.<id>` after it commits: the socket leaves the venue's group, sends nothing more,
    and closes with CLOSE_REVOKED (4403), which the clients take as "pair this device again".

    The stream is complete for the audience: `covered` is the seq up to which this socket has
    been sent every event it wants. Each `events` frame says what it covers (`after` < seq <=
    `seq`); a channel-layer message that does not follow on from `covered` (one was dropped,
    or arrived late) is filled in from the database first, and copies of what was covered are
    skipped. A ping is answered after the same check against what the server process knows
    (`_KnownSeqs`, no query per ping), so a dropped *last* message is filled in too, and the
    pong's `seq` is the socket's `covered`. `catchup` answers the wanted events after `n`.
    """

    CATCHUP_LIMIT = 500
    # Behind by more than this many events, the socket asks the client to take a snapshot.
    FILL_LIMIT = 5000
    audience = "tablet"
    venue_id: int | None = None
    device_id: int | None = None
    covered = 0
    revoked = False

    async def identify(self) -> int | None:
        raise NotImplementedError

    async def connect(self):
        venue_id = await self.identify()
        if venue_id is None:
            await self.accept()
            await self.close(code=4401)
            return
        self.venue_id = venue_id
        self.group = venue_group(venue_id)
        self.wants = AUDIENCES[self.audience]
        if self.device_id is not None:
            await self.channel_layer.group_add(device_group(self.device_id), self.channel_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Read after joining the device's group: a revocation that committed after `identify`
        # but before the join sent its message to nobody, and is seen here instead.
        seq, paired = await _hello_state(venue_id, self.device_id)
        if not paired:
            await self._close_revoked()
            return
        known_seqs().saw(venue_id, seq)
        # Everything up to the hello's seq is in the snapshot the client takes; events after
        # it reach this socket (they are committed after the group was joined, or are filled
        # in from the database).
        self.covered = seq
        await self.send_json({"type": "hello", "seq": seq, "v": PROTOCOL_VERSION})

    async def disconnect(self, code):
        if self.venue_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.device_id is not None:
            await self.channel_layer.group_discard(device_group(self.device_id), self.channel_name)

    async def device_revoked(self, message):
        """The device was revoked (restaurant.realtime.device_sockets_close): close."""
        await self._close_revoked()

    async def _close_revoked(self) -> None:
        if self.revoked:
            return
        self.revoked = True  # from now on nothing is sent, whatever is still on its way
        if self.venue_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.close(code=CLOSE_REVOKED)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = _decode(text_data)
        if not isinstance(content, dict):
            await self._error("bad_request", "Messages are JSON objects")
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if self.revoked:
            return
        kind = content.get("type")
        if kind == "ping":
            known = await known_seqs().get(self.venue_id)
            if known > self.covered:  # a message still on its way, or one that was dropped
                await self._fill(known)
            await self.send_json({"type": "pong", "id": content.get("id"), "seq": self.covered})
        elif kind == "catchup":
            after = content.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self._error("bad_request", "catchup needs a non-negative integer 'after'")
                return
            events = await _catchup(self.venue_id, after, self.CATCHUP_LIMIT)
            # More missed than the limit: `complete` is false and the client re-snapshots.
            await self.send_json(
                {
                    "type": "catchup",
                    "events": [e for e in events if self.wants(e)],
                    "seq": events[-1]["seq"] if events else after,
                    "complete": len(events) < self.CATCHUP_LIMIT,
                }
            )
        else:
            await self._error("unknown_type", "Unknown message type")

    async def _error(self, code: str, message: str):
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    async def venue_events(self, message):
        """One committed transaction's events (restaurant.realtime.publish)."""
        first, seq = message["first"], message["seq"]
        if self.revoked:
            return
        known_seqs().saw(self.venue_id, seq)
        if seq <= self.covered:
            return  # covered already (filled in from the database before it arrived)
        if first > self.covered + 1:
            await self._fill(first - 1)  # one or more messages before it never came
            if seq <= self.covered:
                return  # the database had these too
        if first == self.covered + 1:
            frame = message["frames"].get(self.audience)  # encoded once for every socket
        else:  # it overlaps what the database filled in
            frame = frame_of(
                self.audience,
                after=self.covered,
                seq=seq,
                messages=[m for m in message["events"] if m["seq"] > self.covered],
            )
        if frame is not None:
            await self.send(text_data=frame)
        self.covered = seq

    async def _fill(self, upto: int) -> None:
        """Send this socket's events after `covered`, read from the database, up to at least
        `upto` (what was committed meanwhile comes too)."""
        logger.info(
            "venue %s socket %s filled from the database: covered %s, %s known",
            self.venue_id,
            self.channel_name,
            self.covered,
            upto,
        )
        sent = 0
        while self.covered < upto:
            events = await _catchup(self.venue_id, self.covered, self.CATCHUP_LIMIT)
            if not events:
                return  # not committed yet (the pong says what is covered)
            frame = frame_of(
                self.audience, after=self.covered, seq=events[-1]["seq"], messages=events
            )
            if frame is not None:
                await self.send(text_data=frame)
            self.covered = events[-1]["seq"]
            sent += len(events)
            if sent >= self.FILL_LIMIT and self.covered < upto:
                # Too far behind to replay: the client takes a snapshot instead.
                self.covered = await _last_seq(self.venue_id)
                await self.send_json({"type": "resync", "seq": self.covered})
                return


@database_sync_to_async
def _catchup(venue_id: int, after: int, limit: int) -> list[dict]:
    return events_after(venue_id=venue_id, after=after, limit=limit)


@database_sync_to_async
def _last_seq(venue_id: int) -> int:
    return last_seq(venue_id=venue_id)


@database_sync_to_async
def _hello_state(venue_id: int, device_id: int | None) -> tuple[int, bool]:
    """The venue's last seq, and whether the device is still paired (one trip to a thread)."""
    paired = device_id is None or (
        Device.objects.filter(pk=device_id, revoked_at__isnull=True).exists()
    )
    return last_seq(venue_id=venue_id), paired
