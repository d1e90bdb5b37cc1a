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
        # bills and payments: the Pay screen
        "pay": _("Pay"),
        "paid": _("Paid"),
        "tips": _("Tips"),
        "balance": _("Balance"),
        "part_n": _("Part %(n)s"),
        "parts": _("Parts"),
        "part_open": _("open"),
        "part_paid": _("paid"),
        "part_partly": _("partly paid"),
        "pay_amount": _("Pay %(amount)s"),
        "split_in_2": _("Split in 2"),
        "split_apply": _("Split"),
        "split_again": _("Split again"),
        "split_again_hint": _("What is not paid yet becomes one part, to split further if needed."),
        "not_on_a_part": _("Not on any part yet: %(amount)s"),
        "not_split_hint": _("Not split: pay the whole check at once, or split it on the left."),
        "nothing_to_pay": _("Nothing left to pay."),
        "close_check": _("Close check"),
        "check_closed_free": _("Check closed — table free"),
        "back_to_floor_soon": _("Back to the floor in a moment…"),
        "split_evenly": _("Split evenly"),
        "ways": _("Ways"),
        "split_by_seat": _("Split by seat"),
        "seat_hint": _("One part per seat. Tap the seats that pay together, then Pay together."),
        "seats_joined": _("Seats %(seats)s"),
        "pay_together": _("Pay together"),
        "each_seat_alone": _("Each seat alone"),
        "shared_note": _("Shared items are split equally between the parts."),
        "split_by_item": _("Split by item"),
        "item": _("Item"),
        "items": _("Items"),
        "guest_n": _("Guest %(n)s"),
        "everyone": _("Everyone"),
        "each_pays": _("Each pays"),
        "share_left": _("%(share)s left"),
        "item_hint": _("Tap a guest's column on each line; a line shared by 3 is 1/3 each."),
        "lines_unassigned": _("Lines not on anyone yet: %(n)s"),
        "amounts_preview": _("Before check discounts; the bill shows each part to the cent."),
        "split_by_amount": _("Split by amount"),
        "amount_of_part": _("Amount of this part"),
        "add_part": _("Add part"),
        "rest_part": _("The rest"),
        "amount_hint": _("Type an amount and tap Add part; what is left becomes one more part."),
        "amount_too_much": _("Only %(left)s is left to split."),
        "remove": _("Remove"),
        "tip": _("Tip"),
        "tip_for": _("Tip · %(part)s"),
        "to_pay": _("%(amount)s to pay"),
        "tip_custom": _("Custom"),
        "no_tip": _("No tip"),
        "tip_pct": _("Tip %(percent)s%%"),
        "change_tip": _("Change tip"),
        "turn_to_guest": _("Turn to guest"),
        "amount_due": _("To pay"),
        "add_a_tip": _("Would you like to add a tip?"),
        "back_to_staff": _("Back to staff"),
        "cash": _("Cash"),
        "card": _("Card"),
        "cash_for": _("Cash · %(part)s"),
        "part_of_balance": _("%(amount)s of %(balance)s"),
        "toward_part": _("Toward the part"),
        "part_of_it": _("Part of it"),
        "part_of_it_hint": _("How much does the guest pay now? At most %(balance)s."),
        "half": _("Half"),
        "all_of_it": _("All of it"),
        "amount_at_most": _("Enter an amount above 0 and at most %(balance)s."),
        "cash_due": _("Cash due"),
        "cash_due_is": _("Cash due: %(amount)s"),
        "rounded_from": _("Rounded from %(amount)s (%(delta)s)"),
        "rounding": _("Rounding"),
        "tendered": _("Handed over"),
        "exact": _("Exact"),
        "other_amount": _("Other amount"),
        "change_due": _("Change"),
        "too_little": _("Too little"),
        "tendered_short": _("That is less than the %(amount)s due."),
        "take_cash": _("Take cash %(amount)s"),
        # paying a part by card on a reader (Stripe Terminal)
        "card_pay": _("Card %(amount)s"),
        "card_on_reader_hint": _("On a card reader: choose the reader next"),
        # TRANSLATORS: a button on the tip step: the card reader asks the guest for the tip
        "card_tip_on_reader_go": _("Card: guest tips on the reader"),
        "card_for": _("Card · %(part)s"),
        "card_reader_choose": _("Card reader"),
        "card_reader_one": _("the reader"),
        "card_no_readers": _("No card readers here yet (back office: Card readers)."),
        "card_tip_on_reader": _("Guest tips on the reader"),
        "card_tip_on_reader_hint": _("The reader offers %(presets)s or no tip"),
        "card_tip_here": _("Tip chosen here"),
        "card_to_charge": _("To charge on the card"),
        "card_plus_reader_tip": _("plus the tip the guest chooses on the reader"),
        "card_incl_tip": _("incl. tip %(tip)s"),
        "card_charge": _("Charge %(amount)s"),
        "card_starting": _("Sending to the reader…"),
        "card_cash_instead": _("Cash instead"),
        "card_waiting": _("Waiting for the card on %(reader)s — %(amount)s"),
        "card_waiting_hint": _("The guest taps, inserts or swipes the card on the reader."),
        "card_waiting_tip_hint": _(
            "The guest chooses a tip on the reader, then taps, inserts or swipes the card."
        ),
        "card_attempt": _("Attempt %(n)s"),
        "card_declined": _("Declined: %(message)s"),
        "card_declined_hint": _("Try again (or another card), or cancel and pay another way."),
        "card_not_taken": _("Not on the reader: %(message)s"),
        "card_not_taken_hint": _("Try again once the reader is free and online, or cancel."),
        "card_try_again": _("Try again"),
        "card_cancel": _("Cancel card payment"),
        "card_canceling": _("Canceling…"),
        "card_canceled": _("The card payment was canceled."),
        "card_leave": _("Close — the reader keeps waiting"),
        "card_paid_title": _("Card payment approved"),
        "card_charged": _("Charged on the card"),
        "card_approved": _("Approved — %(card)s"),
        "card_approved_tip": _("Approved — %(card)s, tip %(tip)s"),
        "part_on_card": _("on the card reader"),
        "part_card_failed": _("card not taken"),
        "part_paid_already": _("%(part)s is paid already."),
        "part_gone": _("This part is no longer on the bill."),
        "paid_title": _("Payment taken"),
        "no_change": _("No change"),
        "receipt": _("Receipt"),
        "receipt_print": _("Print"),
        "receipt_email": _("Email"),
        "receipt_none": _("No receipt"),
        "email_address": _("Email address"),
        "email_needed": _("Type the guest's email address."),
        "send_receipt": _("Send receipt"),
        "receipt_printed": _("The receipt is printing."),
        "receipt_emailed": _("Receipt sent to %(email)s."),
        "delete": _("Delete"),
        # closed checks
        "closed_checks": _("Closed checks"),
        "no_closed_checks": _("No checks closed today yet."),
        "closed_pick": _("Tap a check to see its bill."),
        "closed_at": _("closed %(time)s"),
        "status_check_open": _("open"),
        "status_check_closed": _("closed"),
        "status_check_voided": _("voided"),
        "status_check_merged": _("merged"),
        "reprint_part": _("Reprint"),
        "reprint_receipt": _("Reprint receipt"),
        "reopen": _("Reopen"),
        "reopen_check": _("Reopen #%(n)s (%(label)s)"),
        "reopen_approval": _("Reopening a closed check needs a manager's PIN."),
        "reopened_toast": _("Check #%(n)s is open again."),
        "reason_forgot_item": _("An item was forgotten"),
        "reason_wrong_payment": _("Wrong payment"),
        "reason_guest_ordered_more": _("The guest ordered more"),
        "refund": _("Refund"),
        "refund_title": _("Refund · #%(n)s (%(label)s)"),
        "refund_amount": _("Amount to refund"),
        "refund_all": _("All of it: %(amount)s"),
        "refund_amount_button": _("Refund %(amount)s"),
        "refund_approval": _("A refund needs a manager's PIN."),
        "refunded_already": _("%(amount)s was refunded already; at most %(left)s is left."),
        "refunded_n": _("refunded %(amount)s"),
        "refunded_toast": _("%(amount)s refunded to the card."),
        "reason_refund_complaint": _("Complaint"),
        "reason_refund_wrong_amount": _("Charged too much"),
        "reason_refund_double": _("Paid twice"),
        # cash drawers
        "drawers": _("Cash drawers"),
        "no_drawers": _("No cash drawers are set up."),
        "drawer_is_open": _("Open"),
        "drawer_is_closed": _("Closed"),
        "opened_by": _("Open since %(time)s (%(name)s)"),
        "drawer_managers_only": _("A manager sees what is in it."),
        "drawer_float": _("Float"),
        "drawer_cash_sales": _("Cash sales"),
        "drawer_tips": _("Cash tips"),
        "pay_in": _("Pay in"),
        "pay_out": _("Pay out"),
        "pay_in_out": _("Pay in / out"),
        "cash_payments": _("Cash payments"),
        "expected_now": _("Expected now"),
        "expected": _("Expected"),
        "counted": _("Counted"),
        "variance_short": _("Short %(amount)s"),
        "variance_over": _("Over %(amount)s"),
        "variance_exact": _("Exact: no difference"),
        "closed_by": _("Closed by %(name)s at %(time)s"),
        "open_drawer": _("Open drawer"),
        "open_drawer_named": _("Open %(drawer)s"),
        "all_drawers_open": _("Every drawer is open already."),
        "float_hint": _("Count the float and type it in: 1 5 0 0 0 is 150.00."),
        "drawer_opened": _("%(drawer)s is open with %(amount)s."),
        "reason_change_run": _("Change for the till"),
        "reason_supplier": _("Supplier paid in cash"),
        "reason_tips_out": _("Tips paid out"),
        "paid_in_toast": _("%(amount)s paid in."),
        "paid_out_toast": _("%(amount)s paid out."),
        "close_drawer": _("Close drawer"),
        "close_drawer_named": _("Close %(drawer)s"),
        "count_hint": _("Count what is in the drawer"),
        "notes": _("Notes"),
        "coins": _("Coins"),
        "note_optional": _("Note (optional)"),
        "drawer_closed_title": _("%(drawer)s is closed"),
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
