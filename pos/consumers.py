"""The tablets' websocket: live floor status, checks, 86 list (docs/realtime.md).

Authenticates in `connect` (the paired device cookie and the signed-in staff member in the
session) before joining the venue's group, then forwards every venue event. The client keeps
the last `seq` it applied; on a gap it asks for a catch-up (`{"type": "catchup", "after": n}`)
or refetches its snapshot over HTTP. Pings are answered with pongs (heartbeat).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from restaurant.realtime import events_after, last_seq, venue_group
from restaurant.services import device_by_token

CATCHUP_LIMIT = 500


@database_sync_to_async
def _authenticate(scope) -> tuple[int, int] | None:
    """(venue id, staff id) for a paired device with a signed-in, active staff member."""
    from pos.auth import DEVICE_COOKIE, SESSION_DEVICE, SESSION_STAFF
    from restaurant.models import StaffMember

    cookies = scope.get("cookies") or {}
    device = device_by_token(cookies.get(DEVICE_COOKIE, ""))
    session = scope.get("session")
    if device is None or session is None:
        return None
    if session.get(SESSION_DEVICE) != device.pk:
        return None
    staff_id = session.get(SESSION_STAFF)
    if not staff_id:
        return None
    if not StaffMember.objects.filter(
        pk=staff_id, venue_id=device.venue_id, is_active=True
    ).exists():
        return None
    return device.venue_id, staff_id


@database_sync_to_async
def _catchup(venue_id: int, after: int) -> list[dict]:
    return events_after(venue_id=venue_id, after=after, limit=CATCHUP_LIMIT)


@database_sync_to_async
def _last_seq(venue_id: int) -> int:
    return last_seq(venue_id=venue_id)


class TabletConsumer(AsyncJsonWebsocketConsumer):
    venue_id: int | None = None

    async def connect(self):
        identity = await _authenticate(self.scope)
        if identity is None:
            # Accept, then close with 4401: a refusal before accept is an HTTP 403 on the
            # handshake, which a browser reports only as 1006; 4401 tells the tablet to ask
            # for a PIN instead of reconnecting forever.
            await self.accept()
            await self.close(code=4401)
            return
        self.venue_id, self.staff_id = identity
        self.group = venue_group(self.venue_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "seq": await _last_seq(self.venue_id), "v": 1})

    async def disconnect(self, code):
        if self.venue_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        elif kind == "catchup":
            after = content.get("after")
            if not isinstance(after, int) or after < 0:
                await self._error("bad_request", "catchup needs a non-negative integer 'after'")
                return
            events = await _catchup(self.venue_id, after)
            # If more than the limit were missed, the client must re-snapshot.
            await self.send_json(
                {"type": "catchup", "events": events, "complete": len(events) < CATCHUP_LIMIT}
            )
        else:
            await self._error("unknown_type", "Unknown message type")

    async def _error(self, code: str, message: str):
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    async def venue_event(self, message):
        await self.send_json({"type": "event", "event": message["event"]})
