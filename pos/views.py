"""The front-of-house tablet web app at /pos/.

The pages here only pair the browser with a device and serve the app shell; everything the
tablet does after that goes through the JSON API (/api/v1/, pos/api/) and the websocket
(/ws/pos/). The views stay thin: pairing, PIN sign-in and every write are services.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from pos.auth import DEVICE_COOKIE, idle_seconds
from restaurant import permissions, throttle
from restaurant.errors import DomainError
from restaurant.forms import PairingCodeForm
from restaurant.js_strings import TABLET, js_strings
from restaurant.models import Device
from restaurant.selectors import staff_for_user, staff_for_venue
from restaurant.services import (
    device_by_token,
    device_create,
    device_pair,
)
from restaurant.web import device_cookie_set


def _device(request: HttpRequest) -> Device | None:
    return device_by_token(request.COOKIES.get(DEVICE_COOKIE, ""))


class ManagerPairForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    device_name = forms.CharField(
        label=gettext_lazy("Name of this tablet"),
        max_length=60,
        initial=gettext_lazy("Tablet"),
        help_text=gettext_lazy("For example 'Bar tablet' or 'Terrace 1'."),
    )


def _staff_json(device: Device) -> list[dict]:
    staff = staff_for_venue(venue=device.venue)
    return [
        {
            "id": s.pk,
            "name": s.display_name,
            "role": s.role,
            "initials": "".join(part[:1] for part in s.display_name.split()[:2]).upper(),
        }
        for s in staff
    ]


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def tablet(request: HttpRequest) -> HttpResponse:
    """The tablet app; or, on a browser that is not paired yet, "Pair this tablet"."""
    device = _device(request)
    if device is not None and device.kind == Device.Kind.TABLET:
        config = {
            "api": reverse("api:me").removesuffix("me"),  # /api/v1/
            "ws": "/ws/pos/",
            "idleSeconds": idle_seconds(),
            "currency": device.venue.currency,
            "venue": device.venue.name,
            "device": device.name,
            "staff": _staff_json(device),
        }
        response = render(
            request,
            "pos/app.html",
            {"device": device, "config": config, "strings": js_strings(TABLET)},
        )
        # Browsers keep a cookie at most 400 days whatever its max-age (Chrome, Safari):
        # renewing it whenever the app loads keeps a tablet in daily use paired.
        device_cookie_set(request, response, request.COOKIES[DEVICE_COOKIE])
        return response
    form = PairingCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            throttle.check("pair", request)
            try:
                device, token = device_pair(
                    code=form.cleaned_data["code"], kinds=frozenset({Device.Kind.TABLET})
                )
            except DomainError:
                throttle.failed("pair", request)
                raise
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            response = redirect(reverse("pos:tablet"))
            device_cookie_set(request, response, token)
            return response
    status = 400 if request.method == "POST" else 200
    wrong_kind = device is not None  # paired, but as a kitchen screen or phone
    return render(request, "pos/pair.html", {"form": form, "wrong_kind": wrong_kind}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def pair_as_manager(request: HttpRequest) -> HttpResponse:
    """A manager or owner pairs this browser with their username and password."""
    form = ManagerPairForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            throttle.check("pair-manager", request)
        except DomainError as error:
            form.add_error(None, error.message)
            return render(request, "pos/pair_manager.html", {"form": form}, status=429)
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        staff = None
        if user is not None:
            staff = next(
                (s for s in staff_for_user(user=user) if permissions.staff_can(s, "floor.edit")),
                None,
            )
        if staff is None:
            throttle.failed("pair-manager", request)
            form.add_error(
                None,
                _("Wrong username or password, or you are not a manager or owner here."),
            )
        else:
            try:
                device = device_create(
                    venue=staff.venue,
                    name=form.cleaned_data["device_name"],
                    kind=Device.Kind.TABLET,
                    actor=staff,
                )
                device, token = device_pair(code=device.pairing_code)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                response = redirect(reverse("pos:tablet"))
                device_cookie_set(request, response, token)
                return response
    status = 400 if request.method == "POST" else 200
    return render(request, "pos/pair_manager.html", {"form": form}, status=status)
