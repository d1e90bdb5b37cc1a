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

from pos import throttle
from pos.auth import DEVICE_COOKIE, idle_seconds
from restaurant import permissions
from restaurant.errors import DomainError
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


class PairingCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Pairing code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "ABC-123",
                "autofocus": True,
            }
        ),
    )


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


def _js_strings() -> dict[str, str]:
    """Every string the tablet's JavaScript shows, translated for this request."""
    return {
        # generic
        "cancel": _("Cancel"),
        "close": _("Close"),
        "ok": _("OK"),
        "back": _("Back"),
        "retry": _("Retry"),
        "loading": _("Loading…"),
        "network_error": _("No connection to the server. Check the wifi and try again."),
        "server_error": _("Something went wrong on the server. Try again."),
        "reconnecting": _("Reconnecting…"),
        "connected": _("Live"),
        "offline": _("Offline"),
        "updated_elsewhere": _("Updated by another tablet"),
        "stale_reloaded": _("This check was changed on another tablet; it has been reloaded."),
        "locked": _("The tablet locked itself; enter your PIN."),
        # PIN
        "enter_pin": _("Enter your PIN"),
        "wrong_pin": _("Wrong PIN"),
        "locked_out": _("Too many wrong PINs. Try again in %(s)s s."),
        "pin_hint": _("Type your 4–6 digit PIN"),
        "switch_user": _("Switch user"),
        "signed_in_as": _("Signed in as %(name)s"),
        # floor
        "floor": _("Floor"),
        "free": _("Free"),
        "seated": _("Seated"),
        "ordered": _("Ordered"),
        "food_fired": _("Food fired"),
        "food_ready": _("Food ready"),
        "check_printed": _("Check printed"),
        "paying": _("Paying"),
        "food_ready_toast": _("Food ready — table %(table)s"),
        "how_many_guests": _("How many guests at table %(table)s?"),
        "more_guests": _("More…"),
        "bar_tab": _("Bar tab"),
        "takeaway": _("Takeaway"),
        "my_checks": _("My checks"),
        "all_checks": _("All open checks"),
        "no_checks": _("No open checks."),
        "name_on_tab": _("Name on the tab"),
        "name_optional": _("Name (optional)"),
        "open_tab": _("Open tab"),
        "open_check": _("Open check"),
        "guests_n": _("%(n)s guests"),
        "guest_1": _("1 guest"),
        "seats_n": _("%(n)s seats"),
        # TRANSLATORS: guests at a table on the floor plan, kept short ("3 gst")
        "guests_short": _("%(n)s gst"),
        "check_n": _("#%(n)s"),
        # check
        "table_n": _("Table %(name)s"),
        "search": _("Search name or PLU"),
        "shared": _("Shared"),
        "seat": _("Seat"),
        "seat_n": _("Seat %(n)s"),
        "course": _("Course"),
        "course_n": _("Course %(n)s"),
        "auto": _("Auto"),
        "send": _("Send"),
        "sent_n": _("Sent %(n)s lines to the kitchen."),
        "nothing_to_send": _("Nothing new to send."),
        "fire_course": _("Fire course %(n)s"),
        "fired_course": _("Course %(n)s fired."),
        "print_check": _("Print check"),
        "check_printed_toast": _("Check printed."),
        "void": _("Void"),
        "comp_discount": _("Comp / Discount"),
        "move_seat": _("Move to seat"),
        "transfer": _("Transfer"),
        "merge": _("Merge"),
        "guests": _("Guests"),
        "back_to_floor": _("Floor"),
        "status_new": _("new"),
        "status_sent": _("sent"),
        "status_held": _("held"),
        "status_fired": _("fired"),
        "status_ready": _("ready"),
        "status_served": _("served"),
        "status_voided": _("voided"),
        "rush": _("rush"),
        # TRANSLATORS: button marking the selected unsent line to be cooked at once on Send
        "mark_rush": _("Rush"),
        "sent_n_rush": _("Sent %(n)s lines to the kitchen, %(r)s as rush."),
        "check_closed": _("Check #%(n)s (%(label)s) is no longer open."),
        "held": _("held"),
        "fired": _("fired"),
        "subtotal": _("Subtotal"),
        "discounts": _("Discounts"),
        "total": _("Total"),
        "vat_incl": _("incl. VAT %(rate)s%%"),
        "vat_excl": _("VAT %(rate)s%%"),
        "empty_check": _("Nothing ordered yet. Tap an item to add it."),
        "select_line_first": _("Tap a line on the check first."),
        "item_86": _("86'd"),
        "n_left": _("%(n)s left"),
        "mode_86": _("86 mode"),
        "mode_86_hint": _("86 mode: tap an item to take it off (or put it back on) the menu."),
        "confirm_86": _("Take %(item)s off the menu (86)?"),
        "confirm_un86": _("Put %(item)s back on the menu?"),
        "do_86": _("86 it"),
        "do_un86": _("Back on the menu"),
        "item_86_done": _("%(item)s is 86'd."),
        "item_un86_done": _("%(item)s is back on the menu."),
        "not_found_plu": _("No item with PLU %(plu)s."),
        "no_results": _("No items match."),
        "added": _("Added %(item)s"),
        "comp": _("Comp"),
        "discount": _("Discount"),
        "line_label": _("Line"),
        "apply_to": _("Apply to"),
        "what": _("Comp or discount"),
        "whole_check": _("Whole check"),
        # modifier dialog
        "add": _("Add"),
        "add_to_check": _("Add to check"),
        "quantity": _("Quantity"),
        "note": _("Note"),
        "note_placeholder": _("Allergy, no onions, …"),
        "required": _("required"),
        "done": _("done"),
        "free_tag": _("free"),
        "max_reached": _("%(group)s: %(rule)s"),
        # void
        "void_line": _("Void %(item)s"),
        "reason": _("Reason"),
        "reason_other": _("Other reason"),
        "reason_changed_mind": _("Guest changed their mind"),
        "reason_wrong_entry": _("Entered by mistake"),
        "reason_sent_back": _("Sent back by the guest"),
        "reason_too_long": _("Took too long"),
        "reason_dropped": _("Spilled or dropped"),
        "reason_86": _("Out of stock"),
        "manager_approval": _("Manager PIN to approve"),
        "approval_needed_sent": _("This line was sent to the kitchen: a manager must approve."),
        "voided_toast": _("%(item)s voided."),
        # comp/discount
        "percent": _("Percent"),
        "amount": _("Amount"),
        "amount_placeholder": _("e.g. 5.00"),
        "apply": _("Apply"),
        "reason_regular": _("Regular guest"),
        "reason_complaint": _("Complaint"),
        "reason_staff": _("Staff meal"),
        "reason_promo": _("Promotion"),
        "reason_birthday": _("Birthday"),
        "adjusted_toast": _("Applied."),
        # move / transfer / merge / guests
        "move_to_seat": _("Move the selected line to which seat?"),
        "moved_toast": _("Moved."),
        "transfer_to_table": _("To another table"),
        "transfer_to_server": _("To another server"),
        "transfer_what_lines": _("Transfer the selected line"),
        "transfer_what_check": _("Transfer the whole check"),
        "transferred_toast": _("Transferred."),
        "merge_into": _("Merge which check into this one?"),
        "merged_toast": _("Checks merged."),
        "set_guests": _("How many guests?"),
        "guests_toast": _("Guests updated."),
        "no_other_checks": _("There is no other open check."),
    }


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
            {"device": device, "config": config, "strings": _js_strings()},
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
                device, token = device_pair(code=form.cleaned_data["code"])
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
