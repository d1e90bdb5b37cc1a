"""Pairing a device, signing staff in with a PIN, and who is signed in."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Router

from pos.api import serialize
from pos.api.core import DEVICE, PUBLIC, STAFF, client_ip, not_found, uses_token
from pos.api.schemas import Id, In, Out, Text, responses
from pos.auth import session_sign_in, session_sign_out, staff_token_for
from restaurant import permissions, throttle
from restaurant import services as venue_services
from restaurant.errors import DomainError
from restaurant.models import StaffMember
from restaurant.queries import one
from restaurant.web import enforce_csrf

router = Router(tags=["auth"])


class StaffRef(Out):
    id: int
    name: str
    role: str


class VenueRef(Out):
    id: int
    name: str
    slug: str


class DeviceOut(Out):
    id: int
    name: str
    kind: str
    venue: VenueRef


class VenueOut(Out):
    id: int
    name: str
    slug: str
    currency: str
    timezone: str
    language: str
    prices_include_tax: bool
    tip_presets: list[int]


class PairIn(In):
    code: Text


class PairOut(Out):
    device: DeviceOut
    token: str


@router.post("auth/pair", auth=PUBLIC, response=responses({200: PairOut}))
def auth_pair(request, body: PairIn):
    """Pair a device with the code an owner showed for it; answers its device token."""
    throttle.check("pair", request)
    try:
        device, token = venue_services.device_pair(
            code=body.code, kinds=venue_services.STAFF_DEVICE_KINDS
        )
    except DomainError:
        throttle.failed("pair", request)
        raise
    return {"device": serialize.device_json(device), "token": token}


class PinIn(In):
    pin: Text
    staff: Id | None = None


class PinOut(Out):
    staff: StaffRef
    device: DeviceOut
    token: str
    token_type: str
    expires_in: int


@router.post("auth/pin", auth=DEVICE, response=responses({200: PinOut}))
def auth_pin(request, body: PinIn):
    """Sign a staff member in on this device with their PIN (the tablet's session, and a
    staff token for `Authorization: Bearer`)."""
    caller = request.auth
    named = None
    if body.staff is not None:
        named = one(StaffMember.objects.filter(pk=body.staff, venue=caller.venue))
        if named is None:
            raise not_found(_("staff member"), "staff")
    staff = venue_services.pin_sign_in(
        device=caller.device, pin=body.pin, staff=named, ip_address=client_ip(request)
    )
    if not uses_token(request):  # the tablet web app: its session is signed in
        session_sign_in(request, device=caller.device, staff=staff)
    return {
        "staff": serialize.staff_ref(staff),
        "device": serialize.device_json(caller.device),
        "token": staff_token_for(device=caller.device, staff=staff),
        "token_type": "Bearer",
        "expires_in": int(getattr(settings, "POS_STAFF_TOKEN_HOURS", 12)) * 3600,
    }


class SignedOut(Out):
    signed_out: bool


@router.post("auth/logout", auth=PUBLIC, response=responses({200: SignedOut}))
def auth_logout(request):
    """Sign out of the tablet's session (a staff token is forgotten by its client)."""
    if not uses_token(request):
        enforce_csrf(request)
        session_sign_out(request)
        # A new session key: a request that read the signed-in session before this one (a
        # keep-alive GET racing the sign-out) cannot save it back over the sign-out.
        request.session.cycle_key()
    return {"signed_out": True}


class MeOut(Out):
    staff: StaffRef
    device: DeviceOut
    venue: VenueOut
    permissions: list[str]


@router.get("me", auth=STAFF, response=responses({200: MeOut}))
def me(request):
    """Who is signed in, on which device and venue, and what they may do."""
    caller = request.auth
    return {
        "staff": serialize.staff_ref(caller.staff),
        "device": serialize.device_json(caller.device),
        "venue": serialize.venue_json(caller.venue),
        "permissions": sorted(
            p for p in permissions.PERMISSIONS if permissions.staff_can(caller.staff, p)
        ),
    }
