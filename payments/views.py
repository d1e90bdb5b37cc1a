"""Pages and hooks of the payments app: Stripe's webhook, and the simulated reader (test mode).

/payments/stripe/webhook/ is called by Stripe (or the local emulator): the signature on the raw
body decides, nothing else. /payments/readers/ shows what each simulated reader displays and
lets a person tap a test card on it (Stripe test mode and the emulator only).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import card, stripe_api
from payments.models import CardReader
from restaurant.admin import admin_venue_ids
from restaurant.errors import DomainError
from restaurant.jsonio import json_loads, request_body
from restaurant.models import Venue
from restaurant.money import format_money

TEST_CARDS = [
    ("4242424242424242", gettext_lazy("Visa — approved")),
    ("5555555555554444", gettext_lazy("Mastercard — approved")),
    ("4000000000000002", gettext_lazy("Card declined")),
    ("4000000000009995", gettext_lazy("Insufficient funds")),
]


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        payload = request_body(request)
        # The shared loader's bounds (depth, numbers, text) before anything parses it.
        json_loads(payload)
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    try:
        event = card.webhook_receive(
            payload=payload, signature=request.headers.get("Stripe-Signature")
        )
    except stripe_api.BadSignature as exc:
        return JsonResponse(exc.as_dict(), status=400)
    except stripe_api.StripeFailure as exc:
        # Stored, but Stripe could not be asked about it now: answer 500 so Stripe retries.
        return JsonResponse(exc.as_dict(), status=500)
    return JsonResponse({"received": event.stripe_id, "result": event.result})


def _test_mode() -> bool:
    return settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def _readers(request):
    venues = admin_venue_ids(request, "payment.take")
    readers = CardReader.objects.filter(is_active=True).select_related("venue")
    if venues is not None:
        readers = readers.filter(venue_id__in=venues)
    return readers.order_by("venue__name", "label")


def _screen(reader: CardReader) -> dict:
    """What the reader shows now, from Stripe: idle, or an amount with tip choices."""
    try:
        state = stripe_api.reader_retrieve(reader.stripe_id)
    except DomainError as exc:
        return {"error": exc.message}
    action = state.get("action") or {}
    process = action.get("process_payment_intent") or {}
    screen = {"status": action.get("status") or "idle", "failure": action.get("failure_message")}
    intent_id = process.get("payment_intent")
    if intent_id and action.get("status") == "in_progress":
        intent = stripe_api.payment_intent_retrieve(intent_id)
        venue: Venue = reader.venue
        config = process.get("process_config") or {}
        screen["amount"] = format_money(intent["amount"], venue.currency)
        screen["tips"] = []
        if not config.get("skip_tipping"):
            # What the reader's Configuration offers (nothing without one), on the amount the
            # server gave it for tips (amount_eligible), else on the whole amount.
            eligible = (config.get("tipping") or {}).get("amount_eligible") or intent["amount"]
            try:
                tips = card.reader_tip_suggestions(
                    reader=reader, currency=intent["currency"], eligible=eligible
                )
            except DomainError:
                tips = []
            screen["tips"] = [
                {**tip, "text": format_money(tip["amount"], venue.currency)} for tip in tips
            ]
    return screen


@staff_member_required
def simulated_readers(request):
    if not _test_mode():
        raise PermissionDenied("Simulated readers exist in Stripe test mode only.")
    readers = [(reader, _screen(reader)) for reader in _readers(request)]
    return render(
        request,
        "payments/simulated_readers.html",
        {
            "readers": readers,
            "cards": TEST_CARDS,
            "title": _("Simulated card readers"),
            "reader_error": request.session.pop("reader_error", None),
            # Refresh while waiting for a payment; not while one is shown (a refresh would
            # reset the tip the person is choosing).
            "refresh": not any(screen.get("amount") for _reader, screen in readers),
        },
    )


@staff_member_required
@require_POST
def simulated_reader_tap(request, reader_id: int):
    if not _test_mode():
        raise PermissionDenied("Simulated readers exist in Stripe test mode only.")
    reader = _readers(request).filter(pk=reader_id).first()
    if reader is None:
        return HttpResponse(status=404)
    number = request.POST.get("number", "")
    tip = request.POST.get("tip", "0")
    if number not in {n for n, _label in TEST_CARDS} or not tip.isdigit():
        return HttpResponse(status=400)
    try:
        stripe_api.reader_present_test_card(reader.stripe_id, number=number, tip=int(tip))
    except DomainError as exc:
        request.session["reader_error"] = exc.message
    return redirect("payments:readers")
