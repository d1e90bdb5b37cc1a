"""The tablets' websocket: live floor status, checks, 86 list (docs/realtime.md).

Authenticates in `connect` (the paired device cookie and the signed-in staff member in the
session) before joining the venue's group, then sends the tablet's events: everything of the
venue but the kitchen's tickets (the audience "tablet"), complete; the feed itself is
restaurant.consumers.VenueEventsConsumer.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from pos.auth import SESSION_DEVICE, SESSION_STAFF
from restaurant.consumers import VenueEventsConsumer
from restaurant.models import StaffMember
from restaurant.services import DEVICE_COOKIE, STAFF_DEVICE_KINDS, device_by_token


@database_sync_to_async
def _authenticate(scope) -> tuple[int, int, int] | None:
    """(venue id, device id, staff id) for a paired device with a signed-in, active staff
    member."""
    cookies = scope.get("cookies") or {}
    device = device_by_token(cookies.get(DEVICE_COOKIE, ""))
    session = scope.get("session")
    if device is None or session is None or device.kind not in STAFF_DEVICE_KINDS:
        return None  # a kitchen screen's cookie opens ws/kds/<station>/ only
    if session.get(SESSION_DEVICE) != device.pk:
        return None
    staff_id = session.get(SESSION_STAFF)
    if not staff_id:
        return None
    if not StaffMember.objects.filter(
        pk=staff_id, venue_id=device.venue_id, is_active=True
    ).exists():
        return None
    return device.venue_id, device.pk, staff_id


class TabletConsumer(VenueEventsConsumer):
    async def identify(self) -> int | None:
        identity = await _authenticate(self.scope)
        if identity is None:
            return None
        venue_id, self.device_id, self.staff_id = identity
        return venue_id
