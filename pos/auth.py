"""Who is calling: the paired device, and the staff member signed in on it.

Tablet web app: the device token lives in an HttpOnly cookie (`brigade_device`) set when the
browser is paired; the signed-in staff member lives in the Django session, and is signed out
after `POS_IDLE_LOCK_SECONDS` without activity.

API clients (a phone app, a script): `Authorization: Device <device token>` for calls that
only need the device (PIN sign-in), then `Authorization: Bearer <staff token>` with the token
that `POST /api/v1/auth/pin` returns: signed, bound to the device and the staff member, valid
for `POS_STAFF_TOKEN_HOURS`, void as soon as the device is revoked or the staff deactivated.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.middleware.csrf import rotate_token
from django.utils.translation import gettext as _

from restaurant.errors import DomainError, PermissionDenied
from restaurant.models import Device, StaffMember
from restaurant.queries import one
from restaurant.services import DEVICE_COOKIE, STAFF_DEVICE_KINDS, device_by_token

SESSION_STAFF = "pos_staff_id"
SESSION_DEVICE = "pos_device_id"
SESSION_SEEN = "pos_last_seen"
STAFF_TOKEN_SALT = "brigade.pos.staff-token"
# The idle clock is refreshed at most this often, so reads don't rewrite the session each time.
SEEN_RESOLUTION_SECONDS = 5


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401


def idle_seconds() -> int:
    return int(getattr(settings, "POS_IDLE_LOCK_SECONDS", 120))


def _authorization(request) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    return scheme.lower(), value.strip()


def device_from_request(request) -> Device | None:
    """The paired tablet or phone calling (None: no paired device); a kitchen screen is
    refused (403 `wrong_device_kind`): it shows its station and signs nobody in."""
    device = _any_device(request)
    if device is not None and device.kind not in STAFF_DEVICE_KINDS:
        raise PermissionDenied(
            _("A kitchen screen cannot sign staff in or take orders; use a tablet."),
            code="wrong_device_kind",
        )
    return device


def _any_device(request) -> Device | None:
    scheme, value = _authorization(request)
    if scheme == "device":
        return device_by_token(value)
    if scheme == "bearer":
        payload = _staff_token_payload(value)
        if payload is None:
            return None
        device = one(
            Device.objects.select_related("venue")
            .filter(pk=payload["d"], revoked_at__isnull=True)
            .exclude(token_digest="")
        )
        return device
    return device_by_token(request.COOKIES.get(DEVICE_COOKIE, ""))


def staff_token_for(*, device: Device, staff: StaffMember) -> str:
    return signing.dumps({"d": device.pk, "s": staff.pk}, salt=STAFF_TOKEN_SALT)


def _staff_token_payload(token: str) -> dict | None:
    max_age = int(getattr(settings, "POS_STAFF_TOKEN_HOURS", 12)) * 3600
    try:
        payload = signing.loads(token, salt=STAFF_TOKEN_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or "d" not in payload or "s" not in payload:
        return None
    return payload


def session_sign_in(request, *, device: Device, staff: StaffMember) -> None:
    request.session.cycle_key()
    rotate_token(request)  # a new CSRF token for the new user
    request.session[SESSION_DEVICE] = device.pk
    request.session[SESSION_STAFF] = staff.pk
    request.session[SESSION_SEEN] = int(time.time())


def session_sign_out(request) -> None:
    for key in (SESSION_STAFF, SESSION_SEEN):
        request.session.pop(key, None)
    # A new session key: a request still in flight that saves the old session (a keep-alive
    # GET racing the sign-out) cannot sign the user back in.
    request.session.cycle_key()


def current_staff(request, *, touch: bool = True) -> tuple[Device, StaffMember]:
    """The device and signed-in staff member, or NotAuthenticated (401) / PermissionDenied."""
    device = device_from_request(request)
    if device is None:
        raise NotAuthenticated(
            _("This device is not paired with Brigade."), code="device_not_paired"
        )
    scheme, value = _authorization(request)
    if scheme == "bearer":
        payload = _staff_token_payload(value)
        staff_id = payload["s"] if payload else None
    else:
        staff_id = request.session.get(SESSION_STAFF)
        if request.session.get(SESSION_DEVICE) != device.pk:
            staff_id = None
        seen = request.session.get(SESSION_SEEN, 0)
        if staff_id and time.time() - seen > idle_seconds():
            session_sign_out(request)
            raise NotAuthenticated(_("The tablet locked itself; enter your PIN."), code="locked")
        if staff_id and touch and time.time() - seen >= SEEN_RESOLUTION_SECONDS:
            request.session[SESSION_SEEN] = int(time.time())
    if not staff_id:
        raise NotAuthenticated(_("Enter your PIN first."), code="pin_required")
    staff = one(
        StaffMember.objects.select_related("user").filter(
            pk=staff_id, venue_id=device.venue_id, is_active=True
        )
    )
    if staff is None:
        raise PermissionDenied(_("This staff member is not active here."), code="staff_inactive")
    staff.venue = device.venue  # the same row, read once with the device
    return device, staff
