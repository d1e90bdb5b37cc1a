"""Websocket consumers of the venue app: a liveness ping, and the base of every screen's feed."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from restaurant.errors import ValidationFailed
from restaurant.jsonio import MAX_MESSAGE_BYTES, json_loads
from restaurant.realtime import PROTOCOL_VERSION, events_after, last_seq, venue_group


def _decode(text_data: str | None):
    """A client's message through the shared JSON loader (bounded depth, numbers and size):
    a hostile message is answered with an error, never a closed socket (1011)."""
    if not text_data or len(text_data) > MAX_MESSAGE_BYTES:
        return None
    try:
        return json_loads(text_data)
    except ValidationFailed:
        return None


class PingConsumer(AsyncJsonWebsocketConsumer):
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


class VenueEventsConsumer(AsyncJsonWebsocketConsumer):
    """A screen's feed of its venue's events (docs/realtime.md), shared by tablets and kitchens.

    A subclass says who is connecting (`identify`: the venue id, or None to refuse). Then:
    a refusal is accepted and closed with 4401 (a close before accept is an HTTP 403 on the
    handshake, which a browser reports only as 1006; 4401 tells the client to pair or sign in
    again); an accepted client joins `venue.<id>` first and then gets `hello` with the last
    `seq`, so an event committed in between arrives twice at worst and the copy is ignored.
    Pings get pongs carrying the last `seq` (a client whose *last* message was dropped has no
    later event to show the gap: the heartbeat shows it); `catchup` answers the events after
    `n` from the database.
    """

    CATCHUP_LIMIT = 500
    venue_id: int | None = None

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
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(
            {"type": "hello", "seq": await _last_seq(venue_id), "v": PROTOCOL_VERSION}
        )

    async def disconnect(self, code):
        if self.venue_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = _decode(text_data)
        if not isinstance(content, dict):
            await self._error("bad_request", "Messages are JSON objects")
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "ping":
            seq = await _last_seq(self.venue_id)
            await self.send_json({"type": "pong", "id": content.get("id"), "seq": seq})
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
                    "events": events,
                    "complete": len(events) < self.CATCHUP_LIMIT,
                }
            )
        else:
            await self._error("unknown_type", "Unknown message type")

    async def _error(self, code: str, message: str):
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    async def venue_event(self, message):
        await self.send_json({"type": "event", "event": message["event"]})


@database_sync_to_async
def _catchup(venue_id: int, after: int, limit: int) -> list[dict]:
    return events_after(venue_id=venue_id, after=after, limit=limit)


@database_sync_to_async
def _last_seq(venue_id: int) -> int:
    return last_seq(venue_id=venue_id)
