"""The conformance checker (tests/payments/stripe_conformance.py) against the pinned SDK's types.

The card tests (test_card.py) record everything Brigade's SDK client sends the emulator and
everything it answers, and fail on any mismatch; these tests show that the checker does catch
each kind of mismatch, so a green card run means something.
"""

from __future__ import annotations

import stripe

from tests.payments import stripe_conformance as conformance


def test_the_pinned_sdk_is_what_the_checker_reads():
    assert stripe.VERSION == "16.1.0"
    assert stripe.api_version == "2026-10-28.endive"
    create = conformance.endpoint_for("post", "/v1/payment_intents")
    assert create.operation == "payment_intents.create"
    assert create.params.__name__ == "PaymentIntentCreateParams"
    assert create.returns is stripe.PaymentIntent
    process = conformance.endpoint_for("post", "/v1/terminal/readers/tmr_1/process_payment_intent")
    assert process.returns is stripe.terminal.Reader
    listed = conformance.endpoint_for("get", "/v1/terminal/readers")
    assert listed.operation == "terminal.readers.list"
    assert conformance.endpoint_for("post", "/v1/terminal/spaceships") is None


def test_requests_with_removed_unknown_empty_or_mistyped_parameters_are_caught():
    problems = conformance.check_request(
        "post",
        "/v1/payment_intents",
        {
            "amount": "12.50",
            "currency": "eur",
            "payment_method_types": ["card_present"],
            "colour": "red",
            "description": "",
            "confirm": "yes",
            "metadata": {"check": "12"},
        },
    )
    assert problems == [
        "payment_intents.create: amount: expected an integer, got '12.50'",
        "payment_intents.create: payment_method_types: unknown parameter (removed in "
        "2026-09-30.endive: use allowed_payment_method_types)",
        "payment_intents.create: colour: unknown parameter (not a parameter of "
        "PaymentIntentCreateParams)",
        "payment_intents.create: description: an empty string, but this parameter cannot be unset",
        "payment_intents.create: confirm: not a boolean",
    ]
    # nested: an address part emptied, a required hash member missing
    assert conformance.check_request(
        "post", "/v1/terminal/locations", {"display_name": "Bistro", "address": {"city": ""}}
    ) == [
        "terminal.locations.create: address[city]: an empty string, but this parameter cannot "
        "be unset",
        "terminal.locations.create: address[country]: required, missing",
    ]
    # where Stripe can unset (Literal['']), an empty string is fine
    assert (
        conformance.check_request(
            "post", "/v1/terminal/locations/tml_1", {"configuration_overrides": "", "metadata": ""}
        )
        == []
    )
    assert conformance.check_request(
        "post",
        "/v1/terminal/readers/tmr_1/process_payment_intent",
        {"payment_intent": "pi_1", "process_config": {"tipping": {"amount_eligible": "x"}}},
    ) == [
        "terminal.readers.process_payment_intent: process_config[tipping][amount_eligible]: "
        "expected an integer, got 'x'"
    ]
    assert conformance.check_request("post", "/v1/charges/ch_1/explode", {}) == [
        "POST /v1/charges/ch_1/explode: no such call in the pinned SDK"
    ]


def _reader(**changes) -> dict:
    reader = {
        "id": "tmr_1",
        "object": "terminal.reader",
        "action": None,
        "device_sw_version": "",
        "device_type": "simulated_wisepos_e",
        "ip_address": "0.0.0.0",
        "label": "Bar",
        "last_seen_at": None,
        "livemode": False,
        "location": "tml_1",
        "metadata": {},
        "serial_number": "simulated-wpe-abc-def-gh-ijk",
        "status": "offline",
    }
    return {**reader, **changes}


def test_answers_are_checked_field_by_field_recursively():
    path = "/v1/terminal/readers/tmr_1"
    assert conformance.check_response("get", path, 200, _reader()) == []
    missing = {k: v for k, v in _reader().items() if k != "serial_number"}
    assert conformance.check_response("get", path, 200, missing) == [
        "terminal.readers.retrieve.serial_number: missing (not Optional on Reader)"
    ]
    action = {
        "type": "process_payment_intent",
        "status": "in_progress",
        "process_payment_intent": {"payment_intent": "pi_1", "process_config": {"tips": 1}},
        "failure_code": None,
        "failure_message": None,
        "api_error": None,
    }
    assert conformance.check_response("get", path, 200, _reader(action=action)) == [
        "terminal.readers.retrieve.action.process_payment_intent.process_config.tips: not a "
        "field of Reader.Action.ProcessPaymentIntent.ProcessConfig"
    ]
    assert conformance.check_response("get", path, 200, _reader(livemode="no", object="reader"))
    # an expanded object is checked as the resource it is
    expanded = {**action, "process_payment_intent": {"payment_intent": {"id": "pi_1"}}}
    problems = conformance.check_response("get", path, 200, _reader(action=expanded))
    assert (
        "terminal.readers.retrieve.action.process_payment_intent.payment_intent.amount: "
        "missing (not Optional on PaymentIntent)" in problems
    )
    listed = {"object": "list", "data": [_reader(status=3)], "has_more": False, "url": "/v1/x"}
    assert conformance.check_response("get", "/v1/terminal/readers", 200, listed)
    # errors are ErrorObjects
    error = {"error": {"type": "invalid_request_error", "code": "x", "shoe_size": 44}}
    assert conformance.check_response("post", "/v1/payment_intents", 400, error) == [
        "payment_intents.create error.shoe_size: not a field of ErrorObject"
    ]


def test_webhook_events_are_an_event_around_the_resource_they_name():
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": 1,
        "data": {"object": _reader()},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "terminal.reader.action_succeeded",
    }
    assert conformance.check_event(event) == []
    assert conformance.check_event({**event, "data": {"object": _reader(label=None)}}) == [
        "event terminal.reader.action_succeeded.data.object.label: null, but it is not nullable"
    ]
    assert conformance.check_event({**event, "pending_webhooks": "1"})
