"""Card payments: smart readers and Tap to Pay.

These writes call Stripe, so they are `@write(atomic=False)`: payments/card.py commits its own
steps, and a call to Stripe never runs inside a transaction that could roll back what was
stored before it.
"""

from django.utils.translation import gettext as _
from ninja import Router, Status

from payments import card
from payments.models import CardReader, Payment
from pos.api import serialize
from pos.api.core import STAFF, Caller, not_found, write
from pos.api.routers.checks import _check, _check_body, _may_see
from pos.api.routers.payment_schemas import (
    CardAnswer,
    CardIn,
    ConnectionTokenOut,
    LocationOut,
    ReadersOut,
)
from pos.api.routers.payments import bill_body
from pos.api.schemas import responses
from restaurant import permissions
from restaurant.errors import Conflict
from restaurant.queries import one

router = Router(tags=["cards"])

PAYMENT = "card-payments/{api_id:payment_id}"


def payment_of(caller: Caller, payment_id: int) -> Payment:
    """A payment of the caller's venue; it, its bill and its check follow the check's rules."""
    payment = one(
        Payment.objects.select_related("tab__venue", "reader", "part").filter(
            pk=payment_id, venue=caller.venue
        )
    )
    if payment is None:
        raise not_found(_("payment"))
    _may_see(caller, payment.tab)
    return payment


def _card_body(caller: Caller, payment: Payment, **extra) -> dict:
    payment = Payment.objects.select_related("reader").get(pk=payment.pk)
    return {
        **extra,
        "payment": serialize.payment_json(payment),
        "bill": bill_body(caller, payment.tab_id),
        "check": _check_body(caller, payment.tab_id),
    }


@router.get("readers", auth=STAFF, response=responses({200: ReadersOut}))
def readers(request):
    """The venue's card readers."""
    caller = request.auth
    permissions.require(caller.staff, "payment.take")
    rows = CardReader.objects.filter(venue=caller.venue, is_active=True).order_by("label")
    return {
        "readers": [
            {"id": r.pk, "label": r.label, "device_type": r.device_type, "stripe_id": r.stripe_id}
            for r in rows
        ]
    }


@router.post(
    "checks/{api_id:check_id}/card-payments",
    auth=STAFF,
    response=responses({201: CardAnswer}),
    exclude_unset=True,
)
@write(atomic=False)
def card_payment_create(request, check_id: int, body: CardIn):
    """Pay a part by card: on a smart reader, or with Tap to Pay on a phone. One card payment
    in progress per part: a retried or concurrent request returns the same payment and
    PaymentIntent. Errors: `part_in_progress`, `terminal_reader_busy`,
    `terminal_reader_offline`, `terminal_reader_timeout`, `overpayment`, `part_paid`,
    `stale_version`, `stripe_not_configured`."""
    caller = request.auth
    tab = _check(caller, check_id)
    payment = card.card_payment_start(
        tab=tab,
        actor=caller.staff,
        part_id=body.part,
        channel=body.channel or Payment.Channel.READER,
        reader_id=body.reader,
        amount=body.amount,
        tip=body.tip,
        tip_percent=body.tip_percent,
        tip_on_reader=bool(body.tip_on_reader),
        expected_version=body.version,
    )
    extra = {}
    if payment.channel == Payment.Channel.TAP_TO_PAY:
        extra["client_secret"] = card.client_secret(payment)
    return Status(201, _card_body(caller, payment, **extra))


@router.get(PAYMENT, auth=STAFF, response=responses({200: CardAnswer}), exclude_unset=True)
def card_payment(request, payment_id: int):
    """How a card payment is going (polled by the tablet; asks Stripe when the webhook is
    late)."""
    caller = request.auth
    payment = card.card_payment_poll(payment=payment_of(caller, payment_id))
    return _card_body(caller, payment)


@router.post(
    f"{PAYMENT}/retry", auth=STAFF, response=responses({200: CardAnswer}), exclude_unset=True
)
@write(atomic=False)
def card_payment_retry(request, payment_id: int):
    """Show a declined card payment on the reader again (same PaymentIntent). When the reader
    already shows this payment (another tap, another tablet), the payment is answered as it is
    and nothing is sent. Errors: 409 `terminal_reader_busy` (the reader shows another payment)
    and `terminal_reader_offline`; a refused retry changes nothing."""
    caller = request.auth
    payment = card.card_payment_retry(payment=payment_of(caller, payment_id), actor=caller.staff)
    return _card_body(caller, payment)


@router.post(
    f"{PAYMENT}/cancel", auth=STAFF, response=responses({200: CardAnswer}), exclude_unset=True
)
@write(atomic=False)
def card_payment_cancel(request, payment_id: int):
    """Cancel a card payment that is still waiting (the reader's screen and the
    PaymentIntent)."""
    caller = request.auth
    payment = card.card_payment_cancel(payment=payment_of(caller, payment_id), actor=caller.staff)
    return _card_body(caller, payment)


@router.post(
    f"{PAYMENT}/capture", auth=STAFF, response=responses({200: CardAnswer}), exclude_unset=True
)
@write(atomic=False)
def card_payment_capture(request, payment_id: int):
    """Tap to Pay: capture after the phone collected and confirmed the card. Errors:
    `not_authorized` (the PaymentIntent is not authorized yet)."""
    caller = request.auth
    payment = payment_of(caller, payment_id)
    permissions.require(caller.staff, "payment.take")
    payment = card.card_payment_sync(payment=payment)
    if payment.status == Payment.Status.PENDING:
        raise Conflict(
            _("The card has not been authorized yet: collect it on the phone first."),
            code="not_authorized",
        )
    return _card_body(caller, payment)


@router.post("terminal/connection-token", auth=STAFF, response=responses({200: ConnectionTokenOut}))
@write(atomic=False)
def connection_token(request):
    """Tap to Pay: a Stripe Terminal connection token for this signed-in device."""
    caller = request.auth
    permissions.require(caller.staff, "payment.take")
    location = card.venue_location(caller.venue)
    token = card.connection_token(venue=caller.venue)
    return {"secret": token["secret"], "location": location.stripe_id}


@router.get("terminal/location", auth=STAFF, response=responses({200: LocationOut}))
def terminal_location(request):
    """Tap to Pay: the venue's Stripe Terminal location. 409 `stripe_not_configured` (or a
    Stripe error) when Stripe cannot be asked."""
    caller = request.auth
    permissions.require(caller.staff, "payment.take")
    location = card.venue_location(caller.venue)
    return {"location": {"id": location.stripe_id, "display_name": location.display_name}}
