"""Card payments on Stripe Terminal: smart readers (server-driven) and Tap to Pay phones.

A card payment is a `Payment` (method card, status pending) created under the check's lock
before anything is sent to Stripe, with one PaymentIntent for its whole life:

    start:   Payment row + its idempotency keys stored  ->  PaymentIntent created (manual
             capture)  ->  reader: process_payment_intent (on-reader tip or skip_tipping)
    then:    webhook terminal.reader.action_succeeded / payment_intent.* (or the tablet's
             polling) -> `card_payment_sync`: retrieve the PaymentIntent, capture it with the
             tip if it is authorized, record what Stripe says -> the part is paid, the check
             may close
    declined: the payment stays pending with the reason; "try again" processes the same
             PaymentIntent again (a new attempt), or it is canceled

There is at most one pending card payment per part (a partial unique index), every Stripe
write carries an idempotency key stored before the call (`StripeCall`), and anything uncertain
(a timeout, a webhook out of order) is resolved by retrieving the PaymentIntent, never by
creating another one: a part can be charged once.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as order_services
from orders.models import Check
from orders.selectors import check_with_lines
from payments import stripe_api
from payments.models import CardReader, Payment, Refund, StripeCall, TerminalLocation, WebhookEvent
from payments.selectors import bill_for, payment_tip_basis
from payments.services import (
    _amount,
    _ensure_part,
    _lock_bill,
    _payable,
    _tip,
    payment_settled,
)
from restaurant import permissions
from restaurant.errors import Conflict, NotFound, ValidationFailed
from restaurant.models import StaffMember, Venue
from restaurant.money import format_money, percent_of

logger = logging.getLogger(__name__)


def _key(payment: Payment, operation: str) -> str:
    """The idempotency key of one operation on one payment, stored before it is used."""
    call = StripeCall.objects.filter(payment=payment, operation=operation).first()
    if call is None:
        try:
            with transaction.atomic():
                call = StripeCall.objects.create(
                    payment=payment,
                    operation=operation,
                    idempotency_key=f"brigade-{payment.pk}-{operation}-{uuid.uuid4().hex[:12]}",
                )
        except IntegrityError:  # another request stored it first: use theirs
            call = StripeCall.objects.get(payment=payment, operation=operation)
    return call.idempotency_key


def _reader(tab: Check, reader_id) -> CardReader:
    if isinstance(reader_id, bool) or not isinstance(reader_id, int):
        raise ValidationFailed(_("Choose a card reader."), code="reader_required", field="reader")
    reader = CardReader.objects.filter(pk=reader_id, venue_id=tab.venue_id, is_active=True).first()
    if reader is None:
        raise NotFound(_("No such card reader here."), field="reader")
    return reader


@transaction.atomic
def _card_payment_create(
    *,
    tab: Check,
    actor: StaffMember,
    part_id,
    channel: str,
    reader_id,
    amount,
    tip,
    tip_percent,
    tip_on_reader: bool,
    expected_version,
) -> Payment:
    tab, bill = _lock_bill(tab, actor, expected_version)
    if channel not in Payment.Channel.values:
        raise ValidationFailed(_("Pay on a reader or with Tap to Pay."), field="channel")
    reader = _reader(tab, reader_id) if channel == Payment.Channel.READER else None
    bill, view = _ensure_part(tab, bill, actor, part_id)
    pending = view.card_pending
    if pending is not None:
        if pending.channel != channel or pending.reader_id != (reader.pk if reader else None):
            raise Conflict(
                _("This part is already being paid by card elsewhere; cancel that first."),
                code="part_in_progress",
                field="part",
            )
        return pending  # a retried or concurrent "pay by card": the same payment
    amount = _payable(tab, view, amount)
    if tip_on_reader:
        if channel != Payment.Channel.READER or tip is not None or tip_percent is not None:
            raise ValidationFailed(
                _("A tip is chosen on the reader or on the tablet, not both."),
                code="tip_twice",
                field="tip_on_reader",
            )
        tip_value, percent = 0, None
    else:
        tip_value, percent = _tip(view, tab, amount, tip, tip_percent)
    payment = Payment.objects.create(
        venue_id=tab.venue_id,
        tab=tab,
        part=view.part,
        method=Payment.Method.CARD,
        status=Payment.Status.PENDING,
        channel=channel,
        reader=reader,
        amount=amount,
        tip=tip_value,
        tip_percent=percent,
        tip_basis=payment_tip_basis(view, tab.venue, amount),
        tip_on_reader=tip_on_reader,
        server=tab.server,
        taken_by=actor,
    )
    _key(payment, "create")
    order_services.check_paying(tab)
    order_services.check_bump(tab)
    order_services.check_audit(
        tab,
        action="payment.card_start",
        actor=actor,
        payment=payment.pk,
        part=view.part.pk,
        amount=amount,
        tip=tip_value,
        channel=channel,
    )
    return payment


def card_payment_start(
    *,
    tab: Check,
    actor: StaffMember,
    part_id: int | None = None,
    channel: str = Payment.Channel.READER,
    reader_id: int | None = None,
    amount: int | None = None,
    tip: int | None = None,
    tip_percent=None,
    tip_on_reader: bool = False,
    expected_version: int | None = None,
) -> Payment:
    """Start (or, retried, continue) a card payment for a part: the PaymentIntent for
    amount + tip, then the reader shows it (Tap to Pay: the phone app collects it)."""
    payment = _card_payment_create(
        tab=tab,
        actor=actor,
        part_id=part_id,
        channel=channel,
        reader_id=reader_id,
        amount=amount,
        tip=tip,
        tip_percent=tip_percent,
        tip_on_reader=tip_on_reader,
        expected_version=expected_version,
    )
    try:
        payment = _ensure_intent(payment)
    except stripe_api.StripeFailure as exc:
        if not exc.in_flight:
            raise
        # Another tablet's start is creating this payment's PaymentIntent right now (the same
        # stored key) and shows it on the reader: this one answers with the payment as it is.
        payment.refresh_from_db()
        return payment
    if payment.channel == Payment.Channel.READER and payment.attempts == 0:
        if payment.tip_on_reader:
            terminal_configuration_ensure(venue=tab.venue)  # the reader offers today's presets
        payment = _present_on_reader(payment)
    return payment


def _ensure_intent(payment: Payment) -> Payment:
    """The payment's one PaymentIntent (created with the stored key: a retry gets the same)."""
    if payment.stripe_payment_intent:
        return payment
    tab = payment.tab
    intent = stripe_api.payment_intent_create(
        amount=payment.amount + payment.tip,
        currency=tab.venue.currency,
        metadata={
            "venue": tab.venue.slug,
            "check": tab.pk,
            "check_number": tab.number,
            "part": payment.part_id,
            "payment": payment.pk,
        },
        description=f"{tab.venue.name} #{tab.number} {payment.part}",
        idempotency_key=_key(payment, "create"),
    )
    Payment.objects.filter(pk=payment.pk, stripe_payment_intent__isnull=True).update(
        stripe_payment_intent=intent["id"]
    )
    payment.refresh_from_db()
    payment.client_secret = intent.get("client_secret")
    return payment


def _present_on_reader(payment: Payment, *, retry: bool = False) -> Payment:
    """Show the PaymentIntent on the reader as the payment's next attempt (after a decline,
    the same PaymentIntent again).

    The attempt is taken with a compare-and-set on the count this request read, and taking it
    clears the previous attempt's failure: from then on every other request sees an attempt in
    progress. When another tablet's request took it first (two tablets starting or retrying one
    payment at once), that request sends it and this one answers with the payment as it is. So
    each attempt is sent once, under its own key stored before the call, and a count read a
    moment ago can never pick the key of an attempt that was already sent.

    If the reader refuses (busy, offline, the PaymentIntent in the wrong state), the attempt did
    not happen: the count, the previous failure and the key are put back; a start then records
    the refusal on its new payment for the tablet ("not taken, try again"), a retry leaves
    everything as it was. `terminal_reader_timeout` (or no answer) means the reader may have got
    it, and `idempotency_key_in_use` that another request is sending it: the reader is asked
    what it shows before anything is reported.
    """
    seen = (payment.attempts, payment.failure_code, payment.failure_message)
    attempt = payment.attempts + 1
    taken = Payment.objects.filter(
        pk=payment.pk, status=Payment.Status.PENDING, attempts=payment.attempts
    ).update(attempts=attempt, failure_code="", failure_message="")
    if not taken:  # another request took this attempt: it is in flight there
        payment.refresh_from_db()
        return payment
    operation = f"process-{attempt}"
    view = _part_view(payment)
    eligible = None
    if payment.tip_on_reader:
        eligible = payment_tip_basis(view, payment.tab.venue, payment.amount) if view else None
        eligible = eligible or payment.amount
    try:
        stripe_api.reader_process_payment_intent(
            payment.reader.stripe_id,
            pi_id=payment.stripe_payment_intent,
            tip_eligible=eligible,
            idempotency_key=_key(payment, operation),
        )
    except stripe_api.StripeFailure as exc:
        if exc.maybe_delivered and _shown_on_reader(payment) == payment.stripe_payment_intent:
            return _attempt_started(payment, attempt, had_failure=bool(seen[1]))  # it got there
        if exc.in_flight:  # still being sent by the request that holds its key
            payment.refresh_from_db()
            return payment
        with transaction.atomic():  # refused: the attempt did not happen
            StripeCall.objects.filter(payment=payment, operation=operation).delete()
            Payment.objects.filter(pk=payment.pk, attempts=attempt).update(
                attempts=seen[0], failure_code=seen[1], failure_message=seen[2]
            )
        if not retry:
            _failed_attempt(payment, exc.code, exc.message)
        payment.refresh_from_db()
        raise
    return _attempt_started(payment, attempt, had_failure=bool(seen[1]))


def _attempt_started(payment: Payment, attempt: int, *, had_failure: bool) -> Payment:
    """The reader took the attempt: a failure recorded while it was being sent is an earlier
    attempt's (a late webhook), and tablets that showed the last failure update."""
    cleared = (
        Payment.objects.filter(pk=payment.pk, attempts=attempt)
        .exclude(failure_code="", failure_message="")
        .update(failure_code="", failure_message="")
    )
    payment.refresh_from_db()
    if had_failure or cleared:
        _tell_tablets(payment)
    return payment


def _reader_action(payment: Payment) -> dict:
    """What the payment's reader shows now ({} when Stripe could not be asked)."""
    try:
        state = stripe_api.reader_retrieve(payment.reader.stripe_id)
    except stripe_api.StripeFailure:
        return {}
    return state.get("action") or {}


def _shown_on_reader(payment: Payment) -> str | None:
    """The PaymentIntent the reader is busy with, if it is busy with one."""
    action = _reader_action(payment)
    if action.get("status") != "in_progress":
        return None
    intent = (action.get("process_payment_intent") or {}).get("payment_intent")
    return intent.get("id") if isinstance(intent, dict) else intent


def _failed_attempt(payment: Payment, code: str, message: str) -> None:
    changed = (
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING)
        .exclude(failure_code=code[:60], failure_message=message[:255])
        .update(failure_code=code[:60], failure_message=message[:255])
    )
    if changed:
        _tell_tablets(payment)


def _tell_tablets(payment: Payment) -> None:
    with transaction.atomic():
        tab = Check.objects.select_for_update(no_key=True).get(pk=payment.tab_id)
        order_services.check_changed(tab)


def _part_view(payment: Payment):
    tab = check_with_lines(check_id=payment.tab_id, venue=payment.tab.venue)
    return bill_for(tab).part(payment.part_id)


def card_payment_retry(*, payment: Payment, actor: StaffMember) -> Payment:
    """After a decline (or a reader that did not take it): show the same payment again.

    The reader is looked at first. Showing this very payment already (a second tap on "try
    again", another tablet's retry): there is nothing to do, and nothing changes. Busy with
    another payment: refused with `terminal_reader_busy`, and nothing changes either."""
    permissions.require(actor, "payment.take")
    payment = _pending_card(payment, actor)
    if payment.channel != Payment.Channel.READER:
        raise ValidationFailed(_("Tap to Pay retries on the phone."), code="not_a_reader")
    payment = card_payment_sync(payment=payment)
    if payment.status != Payment.Status.PENDING:
        return payment
    shown = _shown_on_reader(payment)
    if shown == payment.stripe_payment_intent:
        return payment
    if payment.attempts and not payment.failure_code:
        # No failure heard of: the attempt is on the reader, or another tablet is sending it
        # right now. Nothing is sent again; a failure comes by webhook (or the tablet's poll).
        return payment
    if shown:
        raise stripe_api.StripeFailure(
            _("The reader is busy with another payment: finish or cancel it there first."),
            code="terminal_reader_busy",
            http_status=400,
        )
    if payment.tip_on_reader:
        terminal_configuration_ensure(venue=payment.tab.venue)
    return _present_on_reader(payment, retry=True)


def _pending_card(payment: Payment, actor: StaffMember) -> Payment:
    if actor.venue_id != payment.venue_id:
        raise NotFound(_("No such payment here."))
    payment = Payment.objects.select_related("tab__venue", "reader", "part").get(pk=payment.pk)
    if payment.method != Payment.Method.CARD:
        raise ValidationFailed(_("That is not a card payment."), code="not_card")
    if payment.status != Payment.Status.PENDING:
        raise Conflict(
            _("That card payment is %(status)s already.")
            % {"status": payment.get_status_display().lower()},
            code="payment_not_pending",
        )
    return payment


def card_payment_sync(*, payment: Payment) -> Payment:
    """Bring a pending card payment in line with its PaymentIntent (idempotent, any order):
    capture it with the tip once authorized, then record it; or record a decline or a cancel."""
    payment = Payment.objects.select_related("tab__venue", "reader", "part").get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING or not payment.stripe_payment_intent:
        return payment
    intent = stripe_api.payment_intent_retrieve(payment.stripe_payment_intent)
    if intent.get("status") == "requires_capture":
        try:
            intent = stripe_api.payment_intent_capture(
                payment.stripe_payment_intent,
                amount_to_capture=intent.get("amount_capturable") or intent["amount"],
                idempotency_key=_key(payment, "capture"),
            )
        except stripe_api.StripeFailure as exc:
            if not exc.in_flight:
                raise
            return payment  # a webhook and a poll at once: the other one captures and records
    return _record(payment.pk, intent)


def _card_details(intent: dict) -> tuple[str, str]:
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return "", ""
    details = (charge.get("payment_method_details") or {}).get("card_present") or {}
    return (details.get("brand") or "")[:20], (details.get("last4") or "")[:4]


@transaction.atomic
def _record(payment_id: int, intent: dict) -> Payment:
    payment = Payment.objects.select_related("tab", "part").get(pk=payment_id)
    tab = Check.objects.select_for_update(no_key=True).get(pk=payment.tab_id)
    payment = (
        Payment.objects.select_for_update(no_key=True).select_related("part").get(pk=payment_id)
    )
    if payment.status != Payment.Status.PENDING:
        return payment  # recorded already (a webhook and a poll at once)
    status = intent.get("status")
    if status == "succeeded":
        received = intent.get("amount_received") or intent.get("amount") or 0
        tip = ((intent.get("amount_details") or {}).get("tip") or {}).get("amount")
        if tip is None:
            tip = max(0, received - payment.amount)
        full = check_with_lines(check_id=tab.pk, venue=tab.venue)
        view = bill_for(full).part(payment.part_id)
        payment.tip = tip
        payment.card_brand, payment.card_last4 = _card_details(intent)
        payment.status = Payment.Status.SUCCEEDED
        payment.succeeded_at = timezone.now()
        payment.failure_code = payment.failure_message = ""
        payment.save()
        if tab.status == Check.Status.OPEN and view is not None:
            payment_settled(tab=tab, view=view, payment=payment, actor=payment.taken_by)
        else:  # the check was closed meanwhile: the money is recorded, a manager sorts it out
            order_services.check_audit(
                tab, action="payment.card_late", actor=None, payment=payment.pk
            )
    elif status == "canceled":
        payment.status = Payment.Status.CANCELED
        payment.save(update_fields=["status", "updated_at"])
        order_services.check_bump(tab)
    elif status == "requires_payment_method" and intent.get("last_payment_error"):
        error = intent["last_payment_error"]
        declined = _decline_ref(error)
        if declined and declined == payment.declined_charge:
            return payment  # known: recorded before (a newer attempt may have cleared it since)
        code = (error.get("decline_code") or error.get("code") or "")[:60]
        message = (error.get("message") or _("Declined."))[:255]
        changed = (payment.failure_code, payment.failure_message) != (code, message)
        payment.failure_code, payment.failure_message = code, message
        payment.declined_charge = declined[:255]
        payment.save(
            update_fields=["failure_code", "failure_message", "declined_charge", "updated_at"]
        )
        if changed:
            order_services.check_changed(tab)
    return payment


def _decline_ref(error: dict) -> str:
    """What tells one decline from the next: its failed charge (else its payment method)."""
    charge = error.get("charge")
    if isinstance(charge, dict):
        charge = charge.get("id")
    method = error.get("payment_method")
    if isinstance(method, dict):
        method = method.get("id")
    return str(charge or method or "")


def card_payment_cancel(*, payment: Payment, actor: StaffMember) -> Payment:
    """Stop a card payment that is still waiting: the reader's screen, then the PaymentIntent.
    If the guest paid at that very moment, the payment is recorded instead."""
    permissions.require(actor, "payment.take")
    payment = _pending_card(payment, actor)
    if payment.channel == Payment.Channel.READER and payment.reader_id:
        # Nothing on the reader any more, or it is offline: the PaymentIntent decides below.
        with contextlib.suppress(stripe_api.StripeFailure):
            stripe_api.reader_cancel_action(
                payment.reader.stripe_id,
                idempotency_key=_key(payment, f"cancel-action-{payment.attempts}"),
            )
    if payment.stripe_payment_intent:
        try:
            intent = stripe_api.payment_intent_cancel(
                payment.stripe_payment_intent, idempotency_key=_key(payment, "cancel")
            )
        except stripe_api.StripeFailure as exc:
            if exc.in_flight:  # canceled from another tablet this very moment
                return Payment.objects.get(pk=payment.pk)
            if exc.code != "payment_intent_unexpected_state":
                raise
            return card_payment_sync(payment=payment)  # it was paid meanwhile
        return _record(payment.pk, intent)
    return _record(payment.pk, {"status": "canceled"})


def _approver_for_refund(actor: StaffMember, approver: StaffMember | None) -> StaffMember:
    approver = approver or actor
    if approver.venue_id != actor.venue_id or not permissions.staff_can(
        approver, "discount.approve"
    ):
        raise permissions.PermissionDenied(
            _("A manager must approve a refund."), code="approval_required", field="approver"
        )
    return approver


def payment_refund(
    *,
    payment: Payment,
    actor: StaffMember,
    amount: int | None,
    reason: str,
    approver: StaffMember | None = None,
) -> Refund:
    """Give money back on a captured card payment, fully or partly (a manager approves)."""
    permissions.require(actor, "payment.take")
    approver = _approver_for_refund(actor, approver)
    reason = reason.strip()[:200] if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed(
            _("Say why the money goes back."), code="reason_required", field="reason"
        )
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(no_key=True)
            .select_related("tab__venue")
            .get(pk=payment.pk)
        )
        if payment.venue_id != actor.venue_id:
            raise NotFound(_("No such payment here."))
        if payment.method != Payment.Method.CARD or payment.status != Payment.Status.SUCCEEDED:
            raise Conflict(
                _("Only a captured card payment can be refunded; cancel one that is waiting."),
                code="not_refundable",
            )
        left = payment.amount + payment.tip - payment.refunded
        amount = left if amount is None else _amount(amount, "amount", payment.tab)
        if amount > left:
            raise ValidationFailed(
                _("%(amount)s is more than the %(left)s that can still be refunded.")
                % {
                    "amount": format_money(amount, payment.tab.venue.currency),
                    "left": format_money(left, payment.tab.venue.currency),
                },
                code="refund_too_large",
                field="amount",
            )
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            reason=reason,
            staff=actor,
            approved_by=approver,
            idempotency_key=f"brigade-refund-{uuid.uuid4().hex}",
        )
        payment.refunded += amount
        payment.save(update_fields=["refunded", "updated_at"])
    try:
        result = stripe_api.refund_create(
            payment.stripe_payment_intent, amount=amount, idempotency_key=refund.idempotency_key
        )
    except stripe_api.StripeFailure as exc:
        if not exc.maybe_delivered:
            with transaction.atomic():
                Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED)
                Payment.objects.filter(pk=payment.pk).update(refunded=payment.refunded - amount)
        raise
    Refund.objects.filter(pk=refund.pk).update(
        stripe_id=result.get("id", ""),
        status=Refund.Status.SUCCEEDED
        if result.get("status") == "succeeded"
        else Refund.Status.PENDING,
    )
    with transaction.atomic():
        tab = Check.objects.select_for_update(no_key=True).get(pk=payment.tab_id)
        order_services.check_audit(
            tab,
            action="payment.refund",
            actor=actor,
            approved_by=approver,
            reason=reason,
            payment=payment.pk,
            amount=amount,
        )
    refund.refresh_from_db()
    return refund


# --- webhooks -----------------------------------------------------------------------------------


def _intent_of(event: dict) -> str | None:
    obj = (event.get("data") or {}).get("object") or {}
    kind = obj.get("object")
    if kind == "payment_intent":
        return obj.get("id")
    if kind == "terminal.reader":
        action = obj.get("action") or {}
        return (action.get("process_payment_intent") or {}).get("payment_intent")
    if kind in ("charge", "refund"):
        intent = obj.get("payment_intent")
        return intent.get("id") if isinstance(intent, dict) else intent
    return None


def _reader_failed(payment: Payment) -> None:
    """A reader action failed: record why, as the reader tells it now (a late event about an
    earlier attempt changes nothing while the reader shows the payment again). A decline is
    the API error behind it (`action.api_error`, card_error with its decline code); otherwise
    the reader's own failure (the guest canceled, a timeout)."""
    payment = Payment.objects.select_related("reader").get(pk=payment.pk)
    if payment.reader is None:
        return
    action = _reader_action(payment)
    process = action.get("process_payment_intent") or {}
    intent = process.get("payment_intent")
    intent = intent.get("id") if isinstance(intent, dict) else intent
    if action.get("status") != "failed" or intent != payment.stripe_payment_intent:
        return
    error = action.get("api_error") or {}
    code = error.get("decline_code") or error.get("code") or action.get("failure_code")
    message = error.get("message") or action.get("failure_message")
    _failed_attempt(
        payment,
        code or "reader_action_failed",
        message or _("The reader did not take the payment."),
    )


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify, store by event id (a duplicate does nothing), then handle: whatever the event
    says, the PaymentIntent is fetched again, so events can come in any order."""
    event = stripe_api.webhook_event(payload, signature)
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                stripe_id=event["id"], type=str(event.get("type", ""))[:80], payload=event
            )
    except IntegrityError:
        stored = WebhookEvent.objects.get(stripe_id=event["id"])
        if stored.processed_at is not None:
            return stored  # seen and handled before: a duplicate does nothing
        # Stored, but its handling failed (Stripe unreachable): Stripe's retry handles it now.
    if event.get("api_version") != stripe_api.API_VERSION:
        # The webhook endpoint renders events in its own API version: Brigade only takes ids
        # from them and fetches the objects in the pinned one, so an older endpoint still
        # works; set it to the pinned version all the same (README, real Stripe).
        logger.warning(
            "Stripe event %s is in API version %s, not %s: set the webhook endpoint's version",
            event["id"],
            event.get("api_version"),
            stripe_api.API_VERSION,
        )
    intent_id = _intent_of(event)
    payment = Payment.objects.filter(stripe_payment_intent=intent_id).first() if intent_id else None
    result = "ignored"
    if payment is not None:
        if event.get("type") == "terminal.reader.action_failed" and payment.status == "pending":
            _reader_failed(payment)
        payment = card_payment_sync(payment=payment)
        result = f"payment {payment.pk}: {payment.status}"
    WebhookEvent.objects.filter(pk=stored.pk).update(
        processed_at=timezone.now(), result=result[:200]
    )
    stored.refresh_from_db()
    return stored


def card_payment_poll(*, payment: Payment) -> Payment:
    """The tablet asks how a card payment is going; past STRIPE_POLL_AFTER_SECONDS without a
    webhook, Brigade asks Stripe itself (the fallback when webhooks are late or lost)."""
    payment = Payment.objects.get(pk=payment.pk)
    waited = (timezone.now() - payment.updated_at).total_seconds()
    if payment.status == Payment.Status.PENDING and waited >= settings.STRIPE_POLL_AFTER_SECONDS:
        # Stripe unreachable: the payment stays as it is and the next poll asks again.
        with contextlib.suppress(stripe_api.StripeFailure):
            payment = card_payment_sync(payment=payment)
    return payment


# --- Tap to Pay -----------------------------------------------------------------------------


def client_secret(payment: Payment) -> str | None:
    """The PaymentIntent's client secret, for the phone app's Terminal SDK to collect it."""
    secret = getattr(payment, "client_secret", None)
    if secret:
        return secret
    if not payment.stripe_payment_intent:
        return None  # another request is creating it right now: the app asks again
    return stripe_api.payment_intent_retrieve(payment.stripe_payment_intent).get("client_secret")


def venue_location(venue) -> TerminalLocation:
    """The venue's Terminal location (made in Stripe the first time a phone or reader asks)."""
    return terminal_location_ensure(venue=venue)


def connection_token(*, venue) -> dict:
    return stripe_api.connection_token_create(location=venue_location(venue).stripe_id)


# --- set-up: the venue's location and its readers -----------------------------------------------


# Stripe needs a location's state where the country has them, and a postal code everywhere
# but the few countries without them (the local emulator checks the same).
ADDRESS_STATE_COUNTRIES = frozenset({"AU", "CA", "US"})
NO_POSTAL_CODE_COUNTRIES = frozenset({"AE", "HK"})


def location_address(venue) -> dict:
    """The venue's address as a Stripe Terminal location takes it: only the parts that are
    filled in (Stripe refuses an empty string), and complete for the country, or
    `ValidationFailed` saying what is missing."""
    country = (venue.address_country or "").strip().upper()
    address = {
        "line1": (venue.address_line1 or "").strip(),
        "line2": (venue.address_line2 or "").strip(),
        "postal_code": (venue.address_postal_code or "").strip(),
        "city": (venue.address_city or "").strip(),
        "state": (venue.address_state or "").strip(),
        "country": country,
    }
    needed = [("line1", _("street and number"))]
    if country not in NO_POSTAL_CODE_COUNTRIES:
        needed.append(("postal_code", _("postal code")))
    needed += [("city", _("city")), ("country", _("country"))]
    if country in ADDRESS_STATE_COUNTRIES:
        needed.append(("state", _("state or province")))
    missing = [str(label) for key, label in needed if not address[key]]
    if missing:
        raise ValidationFailed(
            _(
                "Card readers need the full address of %(venue)s at Stripe. Fill in the "
                "venue's %(missing)s first (venue settings, Address)."
            )
            % {"missing": ", ".join(missing), "venue": venue.name},
            code="address_incomplete",
            field="address",
        )
    return {key: value for key, value in address.items() if value}


# The currencies a Terminal Configuration takes tipping in (stripe.params ConfigurationCreate-
# ParamsTipping); elsewhere the readers offer no tips.
TIPPING_CURRENCIES = frozenset(
    [
        "aed",
        "aud",
        "cad",
        "chf",
        "czk",
        "dkk",
        "eur",
        "gbp",
        "gip",
        "hkd",
        "huf",
        "jpy",
        "mxn",
        "myr",
        "nok",
        "nzd",
        "pln",
        "ron",
        "sek",
        "sgd",
        "usd",
    ]
)


def terminal_tipping(venue) -> dict:
    """The on-reader tipping of the venue's Terminal Configuration, from its tip presets: the
    percentages (a reader shows three), and with smart tips the fixed amounts offered below the
    threshold; in the venue's currency. Empty: the readers offer no tips."""
    currency = (venue.currency or "").lower()
    percentages = [
        p
        for p in (venue.tip_presets or [])
        if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100
    ][:3]
    if not percentages or currency not in TIPPING_CURRENCIES:
        return {}
    spec: dict = {"percentages": percentages}
    fixed = [a for a in (venue.tip_fixed_amounts or []) if isinstance(a, int) and a > 0][:3]
    if venue.tip_smart_threshold and fixed:
        spec["fixed_amounts"] = fixed
        spec["smart_tip_threshold"] = venue.tip_smart_threshold
    return {currency: spec}


def terminal_location_ensure(*, venue) -> TerminalLocation:
    """The venue's Terminal location, created in Stripe the first time it is needed from the
    venue's name and structured address, with a Configuration of its own that carries the
    venue's on-reader tipping (under the venue's row lock: two tablets asking at once make
    one)."""
    location = TerminalLocation.objects.filter(venue=venue).first()
    if location is not None:
        return location
    address = location_address(venue)
    with transaction.atomic():
        Venue.objects.select_for_update(no_key=True).filter(pk=venue.pk).first()
        location = TerminalLocation.objects.filter(venue=venue).first()
        if location is not None:
            return location
        tipping = terminal_tipping(venue)
        configuration = stripe_api.configuration_create(
            name=f"Brigade: {venue.name}"[:100], tipping=tipping
        )
        created = stripe_api.location_create(
            display_name=venue.name[:120], address=address, configuration=configuration["id"]
        )
        return TerminalLocation.objects.create(
            venue=venue,
            stripe_id=created["id"],
            display_name=venue.name[:120],
            configuration_id=configuration["id"],
            tipping=tipping,
        )


def terminal_configuration_ensure(*, venue) -> TerminalLocation:
    """Keep the readers' tipping what the venue's presets say: the location's Configuration is
    created (an older location has none) or updated when the presets changed since it was last
    set. Called before a payment with the tip on the reader, and when the venue is saved."""
    venue = Venue.objects.get(pk=venue.pk)  # the presets as they are now
    location = terminal_location_ensure(venue=venue)
    wanted = terminal_tipping(venue)
    if location.configuration_id and location.tipping == wanted:
        return location
    with transaction.atomic():
        location = TerminalLocation.objects.select_for_update(no_key=True).get(pk=location.pk)
        if location.configuration_id and location.tipping == wanted:
            return location
        if location.configuration_id:
            stripe_api.configuration_update(location.configuration_id, tipping=wanted)
        else:
            configuration = stripe_api.configuration_create(
                name=f"Brigade: {venue.name}"[:100], tipping=wanted
            )
            stripe_api.location_set_configuration(
                location.stripe_id, configuration=configuration["id"]
            )
            location.configuration_id = configuration["id"]
        location.tipping = wanted
        location.save(update_fields=["configuration_id", "tipping"])
    return location


def reader_tip_suggestions(*, reader: CardReader, currency: str, eligible: int) -> list[dict]:
    """What a reader offers the guest for a pre-tip amount `eligible`, from its location's
    Configuration at Stripe (else the account's default): percentages of it, or with smart tips
    the fixed amounts below the threshold. [] when it shows no tipping screen."""
    state = stripe_api.reader_retrieve(reader.stripe_id)
    location_id = state.get("location")
    location_id = location_id.get("id") if isinstance(location_id, dict) else location_id
    configuration = None
    if location_id:
        override = stripe_api.location_retrieve(location_id).get("configuration_overrides")
        if override:
            configuration = stripe_api.configuration_retrieve(override)
    if configuration is None:
        configuration = stripe_api.configuration_account_default() or {}
    spec = (configuration.get("tipping") or {}).get(currency.lower()) or {}
    threshold = spec.get("smart_tip_threshold")
    if threshold and eligible < threshold and spec.get("fixed_amounts"):
        return [{"percent": None, "amount": a} for a in spec["fixed_amounts"]]
    return [
        {"percent": p, "amount": percent_of(eligible, Decimal(p))}
        for p in spec.get("percentages") or []
    ]


def card_reader_register(
    *, venue, label: str, registration_code: str, actor: permissions.Actor
) -> CardReader:
    """Register a reader with Stripe at the venue's location ("simulated-wpe" registers a
    simulated WisePOS E in test mode) and keep it for the venue. For who manages the drawers
    (managers, owners) at that venue."""
    permissions.require(actor, "drawer.manage")
    permissions.require_venue(actor, venue.pk)
    label = (label or "").strip()[:60]
    if not label:
        raise ValidationFailed(_("Give the reader a label."), field="label")
    code = (registration_code or "").strip()
    if not code:
        raise ValidationFailed(
            _("Enter the code the reader shows (simulated-wpe for a simulated reader)."),
            field="registration_code",
        )
    location = terminal_location_ensure(venue=venue)
    reader = stripe_api.reader_register(
        registration_code=code, label=label, location=location.stripe_id
    )
    return CardReader.objects.create(
        venue=venue,
        label=label,
        stripe_id=reader["id"],
        location_id=location.stripe_id,
        device_type=reader.get("device_type", "")[:40],
    )
