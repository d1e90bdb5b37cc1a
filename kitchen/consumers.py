"""The kitchen screens' websocket, ws/kds/<station>/ (docs/realtime.md).

Authenticates in `connect` with the paired device cookie (a kitchen screen of the venue, whose
station is the one in the URL, or the expo, which may watch every station) before joining the
venue's group; otherwise it accepts and closes with 4401, so a browser sees the code. Then it
says hello with the venue's last `seq` and forwards every venue event: `seq` is per venue, so a
screen must see every event to notice a gap, even those it does not draw. Pings are answered
with pongs that carry the last `seq` (heartbeat); a catch-up (`{"type": "catchup", "after": n}`)
answers the events after `n` from the database.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from kitchen.screens import DEVICE_COOKIE, screen_station
from restaurant.errors import DomainError
from restaurant.models import Device
from restaurant.realtime import PROTOCOL_VERSION, events_after, last_seq, venue_group
from restaurant.services import device_by_token

CATCHUP_LIMIT = 500


@database_sync_to_async
def _authenticate(scope, slug: str) -> tuple[int, int] | None:
    """(venue id, device id) for a paired kitchen screen allowed to watch `slug`."""
    cookies = scope.get("cookies") or {}
    device = device_by_token(cookies.get(DEVICE_COOKIE, ""))
    if device is None or device.kind != Device.Kind.KITCHEN_SCREEN:
        return None
    try:
        screen_station(device, slug)
    except DomainError:
        return None
    return device.venue_id, device.pk


@database_sync_to_async
def _catchup(venue_id: int, after: int) -> list[dict]:
    return events_after(venue_id=venue_id, after=after, limit=CATCHUP_LIMIT)


@database_sync_to_async
def _last_seq(venue_id: int) -> int:
    return last_seq(venue_id=venue_id)


class KitchenConsumer(AsyncJsonWebsocketConsumer):
    venue_id: int | None = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["station"]
        identity = await _authenticate(self.scope, slug)
        if identity is None:
            # Accept, then close with 4401: a close before accept is an HTTP 403 on the
            # handshake, which a browser only reports as 1006; 4401 tells the screen to go
            # back to "Pair this screen". Nothing was joined and nothing is sent.
            await self.accept()
            await self.close(code=4401)
            return
        self.venue_id, self.device_id = identity
        self.group = venue_group(self.venue_id)
        # Join first, then read seq: an event committed in between arrives both in the hello's
        # range and as a message, and the client ignores the copy (seq <= last).
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(
            {"type": "hello", "seq": await _last_seq(self.venue_id), "v": PROTOCOL_VERSION}
        )

    async def disconnect(self, code):
        if self.venue_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            # The pong carries the venue's last seq: a screen whose *last* message was dropped
            # has no later event to show the gap, so the heartbeat shows it.
            seq = await _last_seq(self.venue_id)
            await self.send_json({"type": "pong", "id": content.get("id"), "seq": seq})
        elif kind == "catchup":
            after = content.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self._error("bad_request", "catchup needs a non-negative integer 'after'")
                return
            events = await _catchup(self.venue_id, after)
            # More missed than the limit: `complete` is false and the client re-snapshots.
            await self.send_json(
                {"type": "catchup", "events": events, "complete": len(events) < CATCHUP_LIMIT}
            )
        else:
            await self._error("unknown_type", "Unknown message type")

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = await self.decode_json(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self._error("bad_request", "Messages are JSON objects")
            return
        await self.receive_json(content, **kwargs)

    async def _error(self, code: str, message: str):
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    async def venue_event(self, message):
        await self.send_json({"type": "event", "event": message["event"]})
