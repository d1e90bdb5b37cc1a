"""The kitchen display screens at /kds/: pairing, and the station and expo pages.

A kitchen screen is a paired `Device` of kind "kds" with a station; it authenticates with the
same HttpOnly device cookie as a tablet (no staff sign-in on screens). The pages are app
shells; the screen loads its snapshot from the API (`GET /api/v1/kitchen/stations/<station>/
snapshot`, carrying the venue's event `seq`), listens on `ws/kds/<station>/`
(kitchen/consumers.py) and refetches the snapshot when something changed or it missed an
event. Every action (bump, start, recall, item status, acknowledge a void, serve at expo) is
an API write (kitchen/api.py) that answers with the fresh snapshot. See docs/realtime.md.

Access rules for a paired screen: its device kind is "kds" and not revoked; the station in the
URL is of the device's venue; it is the device's own station, unless the device is the expo
(the pass may open every station of its venue). `/kds/expo/` is the venue's expo station.

This module is edge code: it checks who is calling and renders pages; the rules live in
kitchen/services.py.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from restaurant import permissions, throttle
from restaurant.errors import DomainError, NotFound, PermissionDenied
from restaurant.forms import PairingCodeForm
from restaurant.js_strings import KITCHEN_SCREEN, js_strings
from restaurant.models import Device, StaffMember, Station
from restaurant.selectors import staff_for_user
from restaurant.services import (
    DEVICE_COOKIE,
    device_by_token,
    device_create,
    device_pair,
)
from restaurant.web import device_cookie_set

EXPO = "expo"  # /kds/expo/: the venue's expo station, whatever its slug

#: The keyboard bump bar (docs/realtime.md, "Kitchen screens"). Each action lists the
#: `KeyboardEvent.key` values that trigger it; `select` keys pick the nth visible ticket.
#: Override per station slug with the optional setting KDS_KEYMAPS = {"bar": {"bump": ["0"]}}.
DEFAULT_KEYMAP: dict[str, list[str]] = {
    "select": ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "bump": ["Enter", "b", "B"],
    "start": ["s", "S"],
    "recall": ["r", "R"],
    "next": ["ArrowRight", "ArrowDown", "PageDown"],
    "prev": ["ArrowLeft", "ArrowUp", "PageUp"],
    "allday": ["a", "A"],
    "bumped": ["h", "H"],
    "clear": ["Escape"],
}


KEY_NAMES = {
    "ArrowRight": "→",
    "ArrowLeft": "←",
    "ArrowUp": "↑",
    "ArrowDown": "↓",
    "PageDown": "PgDn",
    "PageUp": "PgUp",
    "Escape": "Esc",
    " ": "Space",
}


def _key_names(keys: list[str], limit: int = 2) -> list[str]:
    names: list[str] = []
    for key in keys:
        name = KEY_NAMES.get(key, key.upper() if len(key) == 1 else key)
        if name not in names:
            names.append(name)
    return names[:limit]


def key_legend(keymap: dict[str, list[str]], *, expo: bool) -> list[tuple[list[str], str]]:
    """The bump bar's keys as shown at the bottom of the screen: ([key names], what it does)."""
    select = keymap.get("select") or []
    rows: list[tuple[list[str], str]] = []
    if select:
        first, last = _key_names(select[:1])[0], _key_names(select[-1:])[0]
        rows.append(([first if len(select) == 1 else f"{first}–{last}"], _("select")))
    actions = [("bump", _("serve") if expo else _("bump"))]
    if not expo:
        actions += [
            ("start", _("start")),
            ("recall", _("recall")),
            ("allday", _("all day")),
            ("bumped", _("recently bumped")),
        ]
    actions += [("prev", _("previous page")), ("next", _("next page"))]
    for action, label in actions:
        names = _key_names(keymap.get(action) or [], limit=1 if action in ("prev", "next") else 2)
        if names:
            rows.append((names, label))
    return rows


def keymap_for(station: Station) -> dict[str, list[str]]:
    overrides = getattr(settings, "KDS_KEYMAPS", {}) or {}
    keymap = {action: list(keys) for action, keys in DEFAULT_KEYMAP.items()}
    for action, keys in (overrides.get(station.slug) or overrides.get("*") or {}).items():
        if action in keymap and isinstance(keys, list | tuple):
            keymap[action] = [str(k) for k in keys]
    return keymap


# --- who is calling -----------------------------------------------------------------------------


def screen_device(request: HttpRequest) -> Device | None:
    """The paired, not revoked kitchen screen this browser is, or None."""
    device = device_by_token(request.COOKIES.get(DEVICE_COOKIE, ""))
    if device is None or device.kind != Device.Kind.KITCHEN_SCREEN:
        return None
    return device


def screen_station(device: Device, slug: str) -> Station:
    """The station `slug` (or "expo") as this screen may see it; a DomainError otherwise."""
    if device.station is None:
        raise PermissionDenied(
            _("This screen has no station yet; choose one for it in the back office."),
            code="no_station",
        )
    if slug == EXPO:
        if not device.station.is_expo:
            raise PermissionDenied(
                _("This screen shows %(station)s, not the expo.") % {"station": device.station},
                code="wrong_station",
            )
        return device.station
    station = Station.objects.filter(venue_id=device.venue_id, slug=slug).first()
    if station is None:
        raise NotFound(_("No such station here."), code="not_found", field="station")
    if station.pk != device.station_id and not device.station.is_expo:
        raise PermissionDenied(
            _("This screen shows %(station)s.") % {"station": device.station},
            code="wrong_station",
        )
    return station


def screen_url(station: Station) -> str:
    if station.is_expo:
        return reverse("kds:expo")
    return reverse("kds:station", kwargs={"station": station.slug})


def _manager_profiles(request: HttpRequest) -> list[StaffMember]:
    """The signed-in back office user's owner/manager profiles (may pair screens)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return [s for s in staff_for_user(user=user) if permissions.staff_can(s, "floor.edit")]


# --- pairing ------------------------------------------------------------------------------------


def _pairing_page(
    request: HttpRequest,
    form: PairingCodeForm | None = None,
    *,
    suggested: str = "",
    status: int = 200,
) -> HttpResponse:
    cookie = request.COOKIES.get(DEVICE_COOKIE, "")
    device = device_by_token(cookie)
    profiles = _manager_profiles(request)
    stations = []
    if profiles:
        stations = list(
            Station.objects.filter(venue__in=[p.venue_id for p in profiles])
            .select_related("venue")
            .order_by("venue__name", "-is_expo", "sort_order", "name")
        )
    context = {
        "form": form or PairingCodeForm(),
        # Paired as a tablet or phone: this browser is not a kitchen screen.
        "wrong_kind": device is not None and device.kind != Device.Kind.KITCHEN_SCREEN,
        # A cookie that no longer opens anything: the screen was revoked (or paired elsewhere).
        "revoked": bool(cookie) and device is None,
        "manager_stations": stations,
        "many_venues": len({p.venue_id for p in profiles}) > 1,
        "suggested": suggested,
    }
    return render(request, "kitchen/kds_pair.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """/kds/: a paired screen goes to its station; otherwise "Pair this screen"."""
    device = screen_device(request)
    if request.method == "GET" and device is not None:
        if device.station is None:
            return _message(
                request,
                _("No station yet"),
                _(
                    "This screen is paired, but has no station. Choose its station in the back "
                    "office (Devices), then reload."
                ),
                status=409,
                reload=True,
            )
        return redirect(screen_url(device.station))
    form = PairingCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            throttle.check("pair", request)  # the same count as /pos/ and the API's pairing
        except DomainError as error:
            form.add_error("code", error.message)
            return _pairing_page(request, form, status=429)
        kind = (
            Device.objects.filter(pairing_code=code, revoked_at__isnull=True)
            .values_list("kind", flat=True)
            .first()
        )
        if kind is not None and kind != Device.Kind.KITCHEN_SCREEN:
            throttle.failed("pair", request)
            # Refused before pairing, so the code still works on the device it was made for.
            form.add_error(
                "code",
                _(
                    "That code is for a %(kind)s. In the back office, add a device of kind "
                    "'Kitchen screen' with its station, and type that code here."
                )
                % {"kind": Device.Kind(kind).label.lower()},
            )
        else:
            try:
                device, token = device_pair(code=code)
            except DomainError as error:
                throttle.failed("pair", request)
                form.add_error("code", error.message)
            else:
                target = screen_url(device.station) if device.station else reverse("kds:home")
                response = redirect(target)
                device_cookie_set(request, response, token)
                return response
    status = 400 if request.method == "POST" else 200
    return _pairing_page(request, form, status=status)


@never_cache
@require_POST
def pair_station(request: HttpRequest) -> HttpResponse:
    """A signed-in owner or manager pairs this browser as a station's screen in one tap."""
    profiles = {p.venue_id: p for p in _manager_profiles(request)}
    station_id = request.POST.get("station", "")
    station = (
        Station.objects.filter(pk=int(station_id), venue_id__in=list(profiles)).first()
        if station_id.isdigit()
        else None
    )
    if station is None:
        return _message(
            request,
            _("Not allowed"),
            _("Sign in to the back office as an owner or manager of this venue first."),
            status=403,
        )
    try:
        with transaction.atomic():
            device = device_create(
                venue=station.venue,
                name=_("%(station)s screen") % {"station": station.name},
                kind=Device.Kind.KITCHEN_SCREEN,
                station=station,
                actor=profiles[station.venue_id],
            )
            device, token = device_pair(code=device.pairing_code)
    except DomainError as error:
        return _message(request, _("Could not pair"), error.message, status=error.status)
    response = redirect(screen_url(station))
    device_cookie_set(request, response, token)
    return response


def _message(
    request: HttpRequest,
    title: str,
    message: str,
    *,
    status: int = 200,
    link: tuple[str, str] | None = None,
    reload: bool = False,
) -> HttpResponse:
    return render(
        request,
        "kitchen/kds_message.html",
        {"title": title, "message": message, "link": link, "reload": reload},
        status=status,
    )


# --- the screens --------------------------------------------------------------------------------


def _render_screen(request: HttpRequest, device: Device, station: Station) -> HttpResponse:
    expo = station.is_expo
    keymap = keymap_for(station)
    api = reverse("api:openapi").removesuffix("openapi.json")  # /api/v1/
    base = f"{api}kitchen/expo/" if expo else f"{api}kitchen/stations/{station.slug}/"
    config = {
        "mode": "expo" if expo else "station",
        "station": station.slug,
        "stationName": station.name,
        "venue": device.venue.name,
        "device": device.name,
        "timezone": device.venue.timezone,
        "locale": device.venue.language,
        "snapshot": base + "snapshot",
        "base": base,
        "ws": f"/ws/kds/{EXPO if expo else station.slug}/",
        "warnAfter": station.warn_after_seconds,
        "lateAfter": station.late_after_seconds,
    }
    context = {
        "device": device,
        "station": station,
        "config": config,
        "strings": js_strings(KITCHEN_SCREEN),
        "keymap": json.dumps(keymap),
        "legend": key_legend(keymap, expo=expo),
    }
    template = "kitchen/kds_expo.html" if expo else "kitchen/kds_station.html"
    return render(request, template, context)


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET"])
def station_screen(request: HttpRequest, station: str) -> HttpResponse:
    """/kds/<station>/: the station's screen for its paired device."""
    device = screen_device(request)
    if device is None:
        return _pairing_page(request, suggested=station)
    try:
        target = screen_station(device, station)
    except DomainError as error:
        link = None
        if device.station is not None:
            link = (screen_url(device.station), _("Open %(s)s") % {"s": device.station.name})
        return _message(
            request, _("Not this screen"), error.message, status=error.status, link=link
        )
    if target.is_expo and station != EXPO:
        return redirect(reverse("kds:expo"))
    return _render_screen(request, device, target)


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET"])
def expo_screen(request: HttpRequest) -> HttpResponse:
    return station_screen(request, EXPO)
