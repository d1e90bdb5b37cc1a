"""The /api/v1/ endpoints for bills: split, pay (cash), tips, receipts, close, reopen, drawers.

Thin handlers over payments/services.py; every write answers with the bill (and the check)
as it is after the write. See pos/api/views.py for the conventions.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from orders import services as order_services
from payments import card, receipts
from payments import selectors as pay_selectors
from payments import services as pay_services
from payments.models import CardReader, Drawer, DrawerSession, Payment
from pos.api import serialize
from pos.api.http import Call, endpoint, not_found
from pos.api.views import _check, _check_body, _may_see
from restaurant import permissions
from restaurant.errors import Conflict, ValidationFailed
from restaurant.text import REASON_MAX_LENGTH, clean_text


def _bill_body(call: Call, check_id: int) -> dict:
    bill = pay_selectors.bill_of(check_id=check_id, venue=call.venue)
    return serialize.bill_json(bill)


def _answer(call: Call, check_id: int, **extra) -> dict:
    return {**extra, "bill": _bill_body(call, check_id), "check": _check_body(call, check_id)}


@endpoint()
def bill(call: Call, check_id: int):
    tab = _check(call, check_id)
    _may_see(call, tab)
    return {"bill": _bill_body(call, tab.pk)}


@endpoint(write=True, fields=("mode", "ways", "groups", "parts", "amounts", "version"))
def bill_split(call: Call, check_id: int):
    tab = _check(call, check_id)
    pay_services.bill_split(
        tab=tab,
        actor=call.staff,
        mode=call.get_str("mode", required=True),
        ways=call.get_int("ways"),
        groups=call.get_list("groups"),
        parts=call.get_list("parts"),
        amounts=call.get_list("amounts"),
        expected_version=call.version(),
    )
    return _answer(call, tab.pk)


@endpoint(write=True, fields=("ways", "version"))
def part_split(call: Call, check_id: int, part_id: int):
    tab = _check(call, check_id)
    pay_services.part_split(
        tab=tab,
        actor=call.staff,
        part_id=part_id,
        ways=call.get_int("ways", required=True),
        expected_version=call.version(),
    )
    return _answer(call, tab.pk)


@endpoint(
    write=True,
    fields=(
        "part",
        "method",
        "amount",
        "tip",
        "tip_percent",
        "tendered",
        "drawer_session",
        "version",
    ),
)
def payment_create(call: Call, check_id: int):
    tab = _check(call, check_id)
    method = call.get_str("method", required=True)
    if method != Payment.Method.CASH:
        raise ValidationFailed(
            _("Payments here are taken in cash; card payments go through the reader."),
            code="bad_method",
            field="method",
        )
    payment = pay_services.payment_cash(
        tab=tab,
        actor=call.staff,
        part_id=call.get_int("part"),
        amount=call.get_int("amount"),
        tip=call.get_int("tip"),
        tip_percent=call.get_decimal("tip_percent"),
        tendered=call.get_int("tendered"),
        drawer_session_id=call.get_int("drawer_session"),
        expected_version=call.version(),
    )
    return 201, _answer(call, tab.pk, payment=serialize.payment_json(payment))


@endpoint(write=True, fields=("version",))
def bill_close(call: Call, check_id: int):
    tab = _check(call, check_id)
    pay_services.bill_close(tab=tab, actor=call.staff, expected_version=call.version())
    return _answer(call, tab.pk)


@endpoint(
    write=True,
    fields=("reason",),
    field_map={"approver": "approver_pin"},
    approval="check.reopen",
)
def reopen(call: Call, check_id: int):
    tab = _check(call, check_id)
    order_services.check_reopen(
        tab=tab, actor=call.staff, approver=call.approver, reason=call.get_str("reason")
    )
    return _answer(call, tab.pk)


@endpoint(write=True, fields=("part", "kind", "email", "reprint"))
def receipt_create(call: Call, check_id: int):
    tab = _check(call, check_id)
    receipt = receipts.receipt_give(
        tab=tab,
        actor=call.staff,
        part_id=call.get_int("part"),
        kind=call.get_str("kind", required=True),
        email=call.get_str("email"),
        reprint=bool(call.get_bool("reprint", default=False)),
    )
    return 201, {
        "receipt": {
            "id": receipt.pk,
            "kind": receipt.kind,
            "part": receipt.part_id,
            "email": receipt.email,
            "reprint": receipt.reprint,
        }
    }


# --- drawers -----------------------------------------------------------------------------------


def _drawer(call: Call, drawer_id: int) -> Drawer:
    drawer = Drawer.objects.filter(pk=drawer_id, venue=call.venue).first()
    if drawer is None:
        raise not_found(_("cash drawer"))
    return drawer


def _session(call: Call, session_id: int) -> DrawerSession:
    session = (
        DrawerSession.objects.select_related("drawer", "opened_by", "closed_by")
        .filter(pk=session_id, venue=call.venue)
        .first()
    )
    if session is None:
        raise not_found(_("drawer session"))
    return session


def _session_body(session: DrawerSession) -> dict:
    session = DrawerSession.objects.select_related("drawer", "opened_by", "closed_by").get(
        pk=session.pk
    )
    return serialize.drawer_session_json(session, pay_selectors.drawer_expected(session))


@endpoint()
def drawers(call: Call):
    permissions.require(call.staff, "payment.take")  # who takes cash sees the drawers
    open_by_drawer = {s.drawer_id: s for s in pay_selectors.open_drawer_sessions(call.venue)}
    may_manage = permissions.staff_can(call.staff, "drawer.manage")
    rows = []
    for drawer in Drawer.objects.filter(venue=call.venue, is_active=True).order_by("name"):
        session = open_by_drawer.get(drawer.pk)
        body = None
        if session is not None:
            body = _session_body(session) if may_manage else serialize.drawer_session_json(session)
        rows.append({"id": drawer.pk, "name": drawer.name, "session": body})
    return {"drawers": rows, "may_manage": may_manage}


@endpoint(write=True, fields=("opening_float",))
def drawer_open(call: Call, drawer_id: int):
    drawer = _drawer(call, drawer_id)
    session = pay_services.drawer_open(
        drawer=drawer,
        actor=call.staff,
        opening_float=call.get_int("opening_float", required=True),
    )
    return 201, {"session": _session_body(session)}


@endpoint()
def drawer_session(call: Call, session_id: int):
    permissions.require(call.staff, "drawer.manage")
    return {"session": _session_body(_session(call, session_id))}


@endpoint(write=True, fields=("kind", "amount", "reason"))
def drawer_movement(call: Call, session_id: int):
    session = _session(call, session_id)
    movement = pay_services.drawer_movement_add(
        session=session,
        actor=call.staff,
        kind=call.get_str("kind", required=True),
        amount=call.get_int("amount", required=True),
        reason=call.get_str("reason"),
    )
    return 201, {
        "movement": {
            "id": movement.pk,
            "kind": movement.kind,
            "amount": movement.amount,
            "reason": movement.reason,
        },
        "session": _session_body(session),
    }


@endpoint(write=True, fields=("counted", "denominations", "note"))
def drawer_close(call: Call, session_id: int):
    session = _session(call, session_id)
    denominations = call.data.get("denominations")
    if denominations is not None and not isinstance(denominations, dict):
        raise ValidationFailed(
            _("denominations must be an object."), code="invalid_type", field="denominations"
        )
    session = pay_services.drawer_close(
        session=session,
        actor=call.staff,
        counted=call.get_int("counted"),
        denominations=denominations,
        note=call.get_str("note"),
    )
    return {"session": _session_body(session)}


# --- card payments: smart readers and Tap to Pay ------------------------------------------------


def _payment(call: Call, payment_id: int) -> Payment:
    payment = (
        Payment.objects.select_related("tab__venue", "reader", "part")
        .filter(pk=payment_id, venue=call.venue)
        .first()
    )
    if payment is None:
        raise not_found(_("payment"))
    _may_see(call, payment.tab)  # a payment, its bill and its check follow the check's rules
    return payment


def _card_body(call: Call, payment: Payment, **extra) -> dict:
    payment = Payment.objects.select_related("reader").get(pk=payment.pk)
    return {
        **extra,
        "payment": serialize.payment_json(payment),
        "bill": _bill_body(call, payment.tab_id),
        "check": _check_body(call, payment.tab_id),
    }


@endpoint()
def readers(call: Call):
    permissions.require(call.staff, "payment.take")
    rows = CardReader.objects.filter(venue=call.venue, is_active=True).order_by("label")
    return {
        "readers": [
            {"id": r.pk, "label": r.label, "device_type": r.device_type, "stripe_id": r.stripe_id}
            for r in rows
        ]
    }


@endpoint(
    write=True,
    atomic=False,
    fields=(
        "part",
        "channel",
        "reader",
        "amount",
        "tip",
        "tip_percent",
        "tip_on_reader",
        "version",
    ),
)
def card_payment_create(call: Call, check_id: int):
    tab = _check(call, check_id)
    payment = card.card_payment_start(
        tab=tab,
        actor=call.staff,
        part_id=call.get_int("part"),
        channel=call.get_str("channel", default=Payment.Channel.READER),
        reader_id=call.get_int("reader"),
        amount=call.get_int("amount"),
        tip=call.get_int("tip"),
        tip_percent=call.get_decimal("tip_percent"),
        tip_on_reader=bool(call.get_bool("tip_on_reader", default=False)),
        expected_version=call.version(),
    )
    extra = {}
    if payment.channel == Payment.Channel.TAP_TO_PAY:
        extra["client_secret"] = card.client_secret(payment)
    return 201, _card_body(call, payment, **extra)


@endpoint()
def card_payment(call: Call, payment_id: int):
    payment = card.card_payment_poll(payment=_payment(call, payment_id))
    return _card_body(call, payment)


@endpoint(write=True, atomic=False)
def card_payment_retry(call: Call, payment_id: int):
    payment = card.card_payment_retry(payment=_payment(call, payment_id), actor=call.staff)
    return _card_body(call, payment)


@endpoint(write=True, atomic=False)
def card_payment_cancel(call: Call, payment_id: int):
    payment = card.card_payment_cancel(payment=_payment(call, payment_id), actor=call.staff)
    return _card_body(call, payment)


@endpoint(write=True, atomic=False)
def card_payment_capture(call: Call, payment_id: int):
    """Tap to Pay: the phone app collected and confirmed the PaymentIntent; capture it."""
    payment = _payment(call, payment_id)
    permissions.require(call.staff, "payment.take")
    payment = card.card_payment_sync(payment=payment)
    if payment.status == Payment.Status.PENDING:
        raise Conflict(
            _("The card has not been authorized yet: collect it on the phone first."),
            code="not_authorized",
        )
    return _card_body(call, payment)


@endpoint(
    write=True,
    atomic=False,
    fields=("amount", "reason"),
    field_map={"approver": "approver_pin"},
    approval="discount.approve",
)
def payment_refund(call: Call, payment_id: int):
    payment = _payment(call, payment_id)
    # payments.card would cut a long reason to its column: refuse one that does not fit.
    reason = clean_text(call.get_str("reason"), field="reason", max_length=REASON_MAX_LENGTH)
    refund = card.payment_refund(
        payment=payment,
        actor=call.staff,
        amount=call.get_int("amount"),
        reason=reason,
        approver=call.approver,
    )
    return 201, {
        "refund": {
            "id": refund.pk,
            "amount": refund.amount,
            "status": refund.status,
            "stripe_id": refund.stripe_id,
        },
        "payment": serialize.payment_json(Payment.objects.get(pk=payment.pk)),
    }


@endpoint(write=True, atomic=False)
def connection_token(call: Call):
    """Tap to Pay: a connection token for the Stripe Terminal SDK on this staff device."""
    permissions.require(call.staff, "payment.take")
    location = card.venue_location(call.venue)
    token = card.connection_token(venue=call.venue)
    return {"secret": token["secret"], "location": location.stripe_id}


@endpoint()
def terminal_location(call: Call):
    permissions.require(call.staff, "payment.take")
    location = card.venue_location(call.venue)
    return {"location": {"id": location.stripe_id, "display_name": location.display_name}}
