"""The kitchen screens' websocket, ws/kds/<station>/ (docs/realtime.md).

Authenticates in `connect` with the paired device cookie (a kitchen screen of the venue, whose
station is the one in the URL, or the expo, which may watch every station) before joining the
venue's group; otherwise it accepts and closes with 4401, so a browser sees the code. Then it
says hello with the venue's last `seq` and sends the kitchen's events: every ticket event, and
the changes of checks that have something in the kitchen (the audience "kitchen"), complete
(restaurant.consumers.VenueEventsConsumer fills any hole from the database).
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from kitchen.screens import DEVICE_COOKIE, screen_station
from restaurant.consumers import VenueEventsConsumer
from restaurant.errors import DomainError
from restaurant.models import Device
from restaurant.services import device_by_token


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


class KitchenConsumer(VenueEventsConsumer):
    audience = "kitchen"

    async def identify(self) -> int | None:
        slug = self.scope["url_route"]["kwargs"]["station"]
        identity = await _authenticate(self.scope, slug)
        if identity is None:
            return None
        venue_id, self.device_id = identity
        return venue_id
