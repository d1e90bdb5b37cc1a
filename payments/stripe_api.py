"""The one module that imports `stripe`: every call Brigade makes to Stripe, as plain dicts.

The official SDK's `StripeClient` talks to real Stripe, or to the local emulator when
`STRIPE_API_BASE` is set (`make run` sets it). Every write carries our own idempotency key,
which the caller has stored before the call (payments/card.py), so a retried or repeated call
can never create a second PaymentIntent or capture twice; the SDK's own network retries reuse
that key. Stripe's errors become `StripeFailure` (a DomainError) with Stripe's code; a call
whose answer never came is `maybe_delivered` and must be resolved by retrieving the object.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from restaurant.errors import DomainError

WEBHOOK_TOLERANCE_SECONDS = 300
API_VERSION = stripe.api_version  # what the pinned SDK sends: 2026-10-28.endive


class StripeFailure(DomainError):
    """Stripe refused the call, or its answer never came (`maybe_delivered`)."""

    status = 502

    def __init__(self, message: str, *, code: str, maybe_delivered: bool = False, **extra):
        super().__init__(_reader_messages().get(code, message), code=code)
        self.maybe_delivered = maybe_delivered
        # Another request with the same idempotency key is still running at Stripe (after
        # waiting for it): it will finish the work; look at the object instead of failing.
        self.in_flight = code == "idempotency_key_in_use"
        self.extra = extra
        # The reader or the payment is in a state that refuses this: a conflict, not an outage.
        if not maybe_delivered and (extra.get("http_status") or 0) in (400, 402, 404):
            self.status = 409


def _reader_messages() -> dict[str, str]:
    return {
        "terminal_reader_busy": _(
            "The reader is busy with another payment: finish or cancel it there first."
        ),
        "terminal_reader_offline": _(
            "The reader is offline: check that it is switched on and on the network."
        ),
        "terminal_reader_timeout": _(
            "The reader did not answer in time; Brigade checks what it shows before anything "
            "is tried again."
        ),
        "stripe_unreachable": _(
            "Stripe did not answer; the payment is checked again before anything is retried."
        ),
    }


class StripeNotConfigured(DomainError):
    code = "stripe_not_configured"
    status = 409


class BadSignature(DomainError):
    code = "bad_signature"
    status = 400


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


@lru_cache(maxsize=4)
def _client_for(key: str, base: str, retries: int) -> stripe.StripeClient:
    kwargs = {"max_network_retries": retries}
    if base:
        kwargs["base_addresses"] = {"api": base}
    return stripe.StripeClient(key, **kwargs)


def _client() -> stripe.StripeClient:
    if not configured():
        raise StripeNotConfigured(_("Card payments are not set up: STRIPE_SECRET_KEY is missing."))
    return _client_for(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES
    )


def _plain(obj) -> dict:
    return json.loads(json.dumps(obj.to_dict(recursive=True), default=str))


# Waits (seconds) for another request with the same idempotency key to finish at Stripe
# (409 idempotency_key_in_use: two tablets sending one payment's call at once), after the SDK's
# own retries: then the same request is sent again and Stripe replays the first one's answer.
IN_FLIGHT_WAITS = (0.25, 0.5, 1.0, 2.0)


def _call(fn, *args, **kwargs) -> dict:
    for wait in (*IN_FLIGHT_WAITS, None):
        try:
            return _plain(fn(*args, **kwargs))
        except stripe.APIConnectionError as exc:
            raise StripeFailure(
                _(
                    "Stripe did not answer; the payment is checked again before anything is "
                    "retried."
                ),
                code="stripe_unreachable",
                maybe_delivered=True,
            ) from exc
        except stripe.StripeError as exc:
            failure = _failure(exc)
            if not failure.in_flight or wait is None:
                raise failure from exc
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _failure(exc: stripe.StripeError) -> StripeFailure:
    body = (exc.json_body or {}).get("error", {}) if isinstance(exc.json_body, dict) else {}
    code = exc.code or body.get("code") or "stripe_error"
    message = body.get("message") or str(exc.user_message or exc) or code
    return StripeFailure(
        message,
        code=code,
        maybe_delivered=(
            code in ("terminal_reader_timeout", "idempotency_key_in_use")
            or (exc.http_status or 0) >= 500
        ),
        decline_code=body.get("decline_code"),
        http_status=exc.http_status,
    )


def _options(key: str | None) -> dict:
    return {"idempotency_key": key} if key else {}


# --- PaymentIntents ---------------------------------------------------------------------------


def payment_intent_create(
    *, amount: int, currency: str, metadata: dict, description: str, idempotency_key: str
) -> dict:
    """A card-present PaymentIntent with manual capture (authorize now, capture with the tip).

    The pinned API version (2026-09-30.endive on) no longer takes `payment_method_types`:
    `allowed_payment_method_types` limits the PaymentIntent to card_present, and Stripe answers
    with the usable ones in `payment_method_types`."""
    return _call(
        _client().v1.payment_intents.create,
        params={
            "amount": amount,
            "currency": currency.lower(),
            "allowed_payment_method_types": ["card_present"],
            "capture_method": "manual",
            "metadata": {k: str(v) for k, v in metadata.items()},
            "description": description[:200],
        },
        options=_options(idempotency_key),
    )


def payment_intent_retrieve(pi_id: str) -> dict:
    return _call(_client().v1.payment_intents.retrieve, pi_id, params={"expand": ["latest_charge"]})


def payment_intent_capture(pi_id: str, *, amount_to_capture: int, idempotency_key: str) -> dict:
    return _call(
        _client().v1.payment_intents.capture,
        pi_id,
        params={"amount_to_capture": amount_to_capture, "expand": ["latest_charge"]},
        options=_options(idempotency_key),
    )


def payment_intent_cancel(pi_id: str, *, idempotency_key: str) -> dict:
    return _call(_client().v1.payment_intents.cancel, pi_id, options=_options(idempotency_key))


# --- Terminal -----------------------------------------------------------------------------------


def reader_process_payment_intent(
    reader_id: str, *, pi_id: str, tip_eligible: int | None, idempotency_key: str
) -> dict:
    """Show the payment on the reader: with on-reader tipping (`tip_eligible`: the amount the
    reader's tip suggestions are computed on) or without (`None`: the tip was chosen on the
    tablet and is already in the amount)."""
    config: dict = {"skip_tipping": True}
    if tip_eligible is not None:
        config = {"tipping": {"amount_eligible": tip_eligible}}
    return _call(
        _client().v1.terminal.readers.process_payment_intent,
        reader_id,
        params={"payment_intent": pi_id, "process_config": config},
        options=_options(idempotency_key),
    )


def reader_cancel_action(reader_id: str, *, idempotency_key: str) -> dict:
    return _call(
        _client().v1.terminal.readers.cancel_action,
        reader_id,
        options=_options(idempotency_key),
    )


def reader_retrieve(reader_id: str) -> dict:
    return _call(_client().v1.terminal.readers.retrieve, reader_id)


def reader_register(*, registration_code: str, label: str, location: str) -> dict:
    return _call(
        _client().v1.terminal.readers.create,
        params={"registration_code": registration_code, "label": label, "location": location},
    )


def reader_present_test_card(reader_id: str, *, number: str, tip: int = 0) -> dict:
    """Test mode only: a simulated reader is tapped with a test card (and a tip chosen)."""
    params: dict = {"type": "card_present", "card_present": {"number": number}}
    if tip:
        params["amount_tip"] = tip
    return _call(
        _client().v1.test_helpers.terminal.readers.present_payment_method,
        reader_id,
        params=params,
    )


def location_create(*, display_name: str, address: dict, configuration: str | None) -> dict:
    """A Terminal location (`address` holds only filled-in parts: Stripe refuses empty
    strings), its readers configured by `configuration` (configuration_overrides)."""
    params: dict = {"display_name": display_name, "address": address}
    if configuration:
        params["configuration_overrides"] = configuration
    return _call(_client().v1.terminal.locations.create, params=params)


def location_retrieve(location_id: str) -> dict:
    return _call(_client().v1.terminal.locations.retrieve, location_id)


def location_set_configuration(location_id: str, *, configuration: str) -> dict:
    return _call(
        _client().v1.terminal.locations.update,
        location_id,
        params={"configuration_overrides": configuration},
    )


def configuration_create(*, name: str, tipping: dict | None) -> dict:
    """A Terminal Configuration: `tipping` is {currency: {percentages, fixed_amounts,
    smart_tip_threshold}} for on-reader tips (None: no tipping screen)."""
    params: dict = {"name": name}
    if tipping:
        params["tipping"] = tipping
    return _call(_client().v1.terminal.configurations.create, params=params)


def configuration_update(configuration_id: str, *, tipping: dict | None) -> dict:
    """Replace the Configuration's tipping (None unsets it: the readers stop offering tips)."""
    return _call(
        _client().v1.terminal.configurations.update,
        configuration_id,
        params={"tipping": tipping or ""},
    )


def configuration_retrieve(configuration_id: str) -> dict:
    return _call(_client().v1.terminal.configurations.retrieve, configuration_id)


def configuration_account_default() -> dict | None:
    found = _call(
        _client().v1.terminal.configurations.list, params={"is_account_default": True, "limit": 1}
    )
    return (found.get("data") or [None])[0]


def connection_token_create(*, location: str | None) -> dict:
    params = {"location": location} if location else {}
    return _call(_client().v1.terminal.connection_tokens.create, params=params)


# --- Refunds ------------------------------------------------------------------------------------


def refund_create(pi_id: str, *, amount: int, idempotency_key: str) -> dict:
    return _call(
        _client().v1.refunds.create,
        params={"payment_intent": pi_id, "amount": amount},
        options=_options(idempotency_key),
    )


# --- Webhooks -----------------------------------------------------------------------------------


def webhook_event(payload: bytes, signature: str | None) -> dict:
    """The event in a webhook request, if its `Stripe-Signature` is right for the raw body and
    at most five minutes old; `BadSignature` otherwise."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BadSignature(_("Webhooks are not set up: STRIPE_WEBHOOK_SECRET is missing."))
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature(_("The webhook's signature is not valid.")) from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise BadSignature(_("The webhook is not a Stripe event."))
    return event
