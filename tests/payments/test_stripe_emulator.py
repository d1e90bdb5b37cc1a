"""The local Stripe emulator, driven by the real ``stripe`` SDK over HTTP (no mocks).

The emulator runs in-process on a free port; a tiny HTTP receiver stands in for Brigade's
webhook endpoint and keeps every delivery it gets.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe
from django.core.management import call_command

from payments.stripe_emulator import API_VERSION, EmulatorServer

API_KEY = "sk_test_brigade_emulator"
SECRET = "whsec_test_emulator"


# --- fixtures ----------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint that records what it gets and answers with queued statuses."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length).decode("utf-8")
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(
                        {
                            "payload": payload,
                            "signature": self.headers.get("Stripe-Signature"),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def clear(self):
        with self.lock:
            self.requests.clear()
            self.statuses.clear()

    def events(self, only_ok: bool = True) -> list[dict]:
        with self.lock:
            return [
                json.loads(r["payload"])
                for r in self.requests
                if not only_ok or 200 <= r["status"] < 300
            ]


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


@pytest.fixture(scope="module")
def running(receiver):
    emulator = EmulatorServer(
        port=0,
        api_key=API_KEY,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_backoff=0.05,
        log=lambda line: None,
    )
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(running, receiver):
    running.reset()
    receiver.clear()
    return running


@pytest.fixture
def client(emu):
    return stripe.StripeClient(API_KEY, base_addresses={"api": emu.url}, max_network_retries=2)


TIPPING = {"eur": {"percentages": [5, 10, 15]}}


@pytest.fixture
def reader(client):
    """A simulated WisePOS E at a location whose Configuration offers tips in euros."""
    configuration = client.v1.terminal.configurations.create(
        params={"name": "Bistro", "tipping": TIPPING}
    )
    location = client.v1.terminal.locations.create(
        params={
            "display_name": "Bistro",
            "address": {
                "line1": "Prinsengracht 1",
                "city": "Amsterdam",
                "postal_code": "1015",
                "country": "NL",
            },
            "configuration_overrides": configuration.id,
        }
    )
    return client.v1.terminal.readers.create(
        params={"registration_code": "simulated-wpe", "label": "Bar", "location": location.id}
    )


def new_pi(client, amount=2350, capture_method="manual", **extra):
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "allowed_payment_method_types": ["card_present"],
            "capture_method": capture_method,
            **extra,
        }
    )


def present(client, reader, number="4242424242424242", tip=None):
    params = {"type": "card_present", "card_present": {"number": number}}
    if tip is not None:
        params["amount_tip"] = tip
    return client.v1.test_helpers.terminal.readers.present_payment_method(reader.id, params=params)


def control(emu, path, data=None, method=None):
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(
        emu.url + path, data=body, method=method or ("POST" if body is not None else "GET")
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def types(events):
    return [e["type"] for e in events]


# --- terminal setup ----------------------------------------------------------------------------


AMSTERDAM = {
    "line1": "Keizersgracht 1",
    "postal_code": "1015 CJ",
    "city": "Amsterdam",
    "country": "NL",
}


def test_connection_token_location_and_reader_registration(client):
    location = client.v1.terminal.locations.create(
        params={"display_name": "Bistro", "address": AMSTERDAM}
    )
    assert location.id.startswith("tml_")
    assert location.object == "terminal.location"
    assert location.address.country == "NL"
    assert client.v1.terminal.locations.retrieve(location.id).display_name == "Bistro"
    assert [loc.id for loc in client.v1.terminal.locations.list().data] == [location.id]

    token = client.v1.terminal.connection_tokens.create(params={"location": location.id})
    assert token.object == "terminal.connection_token"
    assert token.secret.startswith("pst_test_")
    assert token.location == location.id
    assert "location" not in client.v1.terminal.connection_tokens.create()

    reader = client.v1.terminal.readers.create(
        params={"registration_code": "simulated-wpe", "label": "Bar", "location": location.id}
    )
    assert reader.id.startswith("tmr_")
    assert reader.device_type == "simulated_wisepos_e"
    assert (reader.status, reader.action, reader.livemode) == ("online", None, False)
    assert reader.serial_number
    other = client.v1.terminal.readers.create(params={"registration_code": "simulated-wpe"})
    listed = client.v1.terminal.readers.list(params={"location": location.id})
    assert [r.id for r in listed.data] == [reader.id]
    assert len(client.v1.terminal.readers.list().data) == 2

    assert client.v1.terminal.readers.update(reader.id, params={"label": "Terrace"}).label == (
        "Terrace"
    )
    deleted = client.v1.terminal.readers.delete(other.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.retrieve(other.id)
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.connection_tokens.create(params={"location": "tml_nope"})
    assert exc.value.code == "resource_missing"


def test_a_location_needs_a_complete_address_without_empty_strings(client, emu):
    def refused(address, **extra):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.terminal.locations.create(
                params={"display_name": "Bistro", "address": address, **extra}
            )
        return exc.value.code, exc.value.param

    # Stripe cannot "unset" an address part on create: an empty string is refused
    assert refused({**AMSTERDAM, "city": ""}) == ("parameter_invalid_empty", "address[city]")
    assert refused({**AMSTERDAM, "line2": ""}) == ("parameter_invalid_empty", "address[line2]")
    # the parts a location needs
    for part in ("line1", "city", "postal_code", "country"):
        address = {k: v for k, v in AMSTERDAM.items() if k != part}
        assert refused(address) == ("parameter_missing", f"address[{part}]"), part
    assert refused({**AMSTERDAM, "country": "Netherlands"})[0] == "country_code_invalid"
    # a state where the country has them (US, CA, AU)
    san_francisco = {
        "line1": "1234 Main Street",
        "city": "San Francisco",
        "postal_code": "94111",
        "country": "US",
    }
    assert refused(san_francisco) == ("parameter_missing", "address[state]")
    assert emu.state.locations == {}
    us = client.v1.terminal.locations.create(
        params={"display_name": "SF", "address": {**san_francisco, "state": "CA"}}
    )
    assert (us.address.state, us.address.line2) == ("CA", None)
    # updates keep what is not sent, and cannot empty a part either
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.locations.update(us.id, params={"address": {"state": ""}})
    assert exc.value.code == "parameter_invalid_empty"
    moved = client.v1.terminal.locations.update(us.id, params={"address": {"line2": "Suite 5"}})
    assert (moved.address.line1, moved.address.line2) == ("1234 Main Street", "Suite 5")


def test_simulated_readers_are_reported_as_stripe_reports_them(client, emu):
    location = client.v1.terminal.locations.create(
        params={"display_name": "Bistro", "address": AMSTERDAM}
    )
    registered = client.v1.terminal.readers.create(
        params={"registration_code": "simulated-wpe", "location": location.id}
    )
    assert re.fullmatch(
        r"simulated-wpe-[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{2}-[a-z0-9]{3}", registered.serial_number
    )
    assert registered.label == registered.serial_number  # no label given
    assert (registered.device_sw_version, registered.status) == ("", "online")
    # afterwards Stripe reports a simulated reader offline; it takes actions all the same
    reader = client.v1.terminal.readers.retrieve(registered.id)
    assert reader.status == "offline"
    pi = new_pi(client)
    shown = client.v1.terminal.readers.process_payment_intent(
        reader.id, params={"payment_intent": pi.id}
    )
    assert shown.action.status == "in_progress" and shown.action.api_error is None
    by_serial = client.v1.terminal.readers.list(params={"serial_number": reader.serial_number})
    assert [r.id for r in by_serial.data] == [reader.id]
    assert client.v1.terminal.readers.list(params={"status": "online"}).data == []


def test_authentication_is_required(emu):
    bad = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": emu.url})
    with pytest.raises(stripe.AuthenticationError) as exc:
        bad.v1.payment_intents.list()
    assert exc.value.http_status == 401
    assert "Invalid API Key" in exc.value.user_message

    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(emu.url + "/v1/payment_intents", timeout=5)
    assert raw.value.code == 401
    assert "did not provide an API key" in json.loads(raw.value.read())["error"]["message"]


# --- payments on the reader --------------------------------------------------------------------


def test_approve_with_on_reader_tip_then_capture(client, emu, reader):
    pi = new_pi(client, 2350, metadata={"check": "12"})
    assert (pi.status, pi.object, pi.livemode) == (
        "requires_payment_method",
        "payment_intent",
        False,
    )
    assert pi.id.startswith("pi_")

    processing = client.v1.terminal.readers.process_payment_intent(
        reader.id,
        params={"payment_intent": pi.id, "process_config": {"tipping": {"amount_eligible": 2350}}},
    )
    action = processing.action
    assert (action.type, action.status) == ("process_payment_intent", "in_progress")
    assert action.process_payment_intent.payment_intent == pi.id
    assert action.process_payment_intent.process_config.tipping.amount_eligible == 2350

    done = present(client, reader, tip=300)
    assert done.action.status == "succeeded"

    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "requires_capture"
    assert pi.amount == 2650  # inclusive of the tip chosen on the reader
    assert pi.amount_details.tip.amount == 300
    assert pi.amount_capturable == 2650
    charge = pi.latest_charge
    assert charge.id.startswith("ch_")
    assert (charge.captured, charge.amount, charge.status) == (False, 2650, "succeeded")
    card = charge.payment_method_details.card_present
    assert (card.brand, card.last4, card.amount_authorized) == ("visa", "4242", 2650)
    assert charge.payment_method_details.type == "card_present"
    assert card.reader == reader.id

    captured = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 2650})
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        "succeeded",
        2650,
        0,
    )
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.captured, charge.amount_captured, charge.amount_refunded) == (True, 2650, 0)

    assert emu.dispatcher.wait_idle()
    assert types(emu.dispatcher.deliveries()) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "terminal.reader.action_succeeded",
        "charge.captured",
        "payment_intent.succeeded",
    ]


def test_tips_on_the_reader_need_a_tipping_configuration_for_the_currency(client, emu):
    def location(**extra):
        return client.v1.terminal.locations.create(
            params={"display_name": "Bar", "address": AMSTERDAM, **extra}
        )

    def tip_taken(location_id, currency="eur") -> int:
        reader = client.v1.terminal.readers.create(
            params={"registration_code": "simulated-wpe", "location": location_id}
        )
        pi = new_pi(client, 2000, currency=currency)
        client.v1.terminal.readers.process_payment_intent(
            reader.id,
            params={
                "payment_intent": pi.id,
                "process_config": {"tipping": {"amount_eligible": 2000}},
            },
        )
        present(client, reader, tip=300)
        pi = client.v1.payment_intents.retrieve(pi.id)
        return pi.amount - 2000

    plain = location()
    assert tip_taken(plain.id) == 0  # no Configuration with tipping: no tip screen, no tip
    configuration = client.v1.terminal.configurations.create(
        params={
            "tipping": {
                "eur": {
                    "percentages": [5, 10, 15],
                    "fixed_amounts": [100, 200, 300],
                    "smart_tip_threshold": 1000,
                }
            }
        }
    )
    assert configuration.id.startswith("tmc_") and configuration.is_account_default is False
    assert configuration.tipping.eur.smart_tip_threshold == 1000
    tipping = location(configuration_overrides=configuration.id)
    assert tip_taken(tipping.id) == 300
    assert tip_taken(tipping.id, currency="gbp") == 0  # tipping is per currency
    # the account default Configuration applies where a location has no override
    [default] = client.v1.terminal.configurations.list(params={"is_account_default": True}).data
    client.v1.terminal.configurations.update(default.id, params={"tipping": TIPPING})
    assert tip_taken(plain.id) == 300
    client.v1.terminal.configurations.update(default.id, params={"tipping": ""})
    assert tip_taken(plain.id) == 0
    # unset the override: back to the default (no tipping)
    client.v1.terminal.locations.update(tipping.id, params={"configuration_overrides": ""})
    assert tip_taken(tipping.id) == 0

    def refused(tipping):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.terminal.configurations.create(params={"tipping": tipping})
        return exc.value.code, exc.value.param

    assert refused({"xyz": {"percentages": [5]}}) == ("parameter_unknown", "tipping[xyz]")
    assert refused({"eur": {"percentages": [5, 10, 15, 20]}})[1] == "tipping[eur][percentages]"
    assert refused({"eur": {"percentages": [5], "smart_tip_threshold": 500}})[1] == (
        "tipping[eur][smart_tip_threshold]"
    )
    assert refused({"eur": {"percentages": [5]}, "usd": {"fixed_amounts": [100]}})[1] == "tipping"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        location(configuration_overrides="tmc_missing")
    assert exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.terminal.configurations.delete(default.id)


def test_skip_tipping_ignores_amount_tip(client, reader):
    pi = new_pi(client, 1800)
    client.v1.terminal.readers.process_payment_intent(
        reader.id, params={"payment_intent": pi.id, "process_config": {"skip_tipping": True}}
    )
    present(client, reader, tip=500)
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.amount, pi.amount_capturable) == ("requires_capture", 1800, 1800)
    assert pi.amount_details.tip.to_dict() == {}


def test_decline_then_approve_on_the_same_payment_intent(client, emu, reader):
    pi = new_pi(client, 4200)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    failed = present(client, reader, number="4000000000000002", tip=400)
    assert failed.action.status == "failed"
    assert failed.action.failure_code == "card_declined"
    assert failed.action.failure_message

    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.amount) == ("requires_payment_method", 4200)
    assert pi.last_payment_error.code == "card_declined"
    assert pi.last_payment_error.decline_code == "generic_decline"
    assert pi.last_payment_error.type == "card_error"
    assert client.v1.charges.retrieve(pi.latest_charge).status == "failed"

    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    poor = present(client, reader, number="4000000000009995")
    assert poor.action.status == "failed"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.last_payment_error.decline_code == "insufficient_funds"

    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    ok = present(client, reader, number="5555555555554444", tip=100)
    assert ok.action.status == "succeeded"
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["payment_method"]})
    assert (pi.status, pi.amount, pi.last_payment_error) == ("requires_capture", 4300, None)
    assert pi.payment_method.card_present.brand == "mastercard"
    assert pi.payment_method.card_present.last4 == "4444"

    assert emu.dispatcher.wait_idle()
    sent = types(emu.dispatcher.deliveries())
    assert sent.count("payment_intent.payment_failed") == 2
    assert sent.count("terminal.reader.action_failed") == 2
    assert sent[-1] == "terminal.reader.action_succeeded"


def test_reader_busy_and_wrong_payment_intent_state(client, reader):
    first, second = new_pi(client), new_pi(client)
    client.v1.terminal.readers.process_payment_intent(
        reader.id, params={"payment_intent": first.id}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": second.id}
        )
    assert exc.value.code == "terminal_reader_busy"

    present(client, reader)
    with pytest.raises(stripe.InvalidRequestError) as exc:  # already authorized
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": first.id}
        )
    assert exc.value.code == "intent_invalid_state"  # Stripe's code for processing it now
    assert exc.value.error.payment_intent.status == "requires_capture"

    with pytest.raises(stripe.InvalidRequestError) as exc:  # nothing waiting for a card
        present(client, reader)
    assert exc.value.http_status == 400


def test_a_declined_action_carries_its_api_error(client, emu, reader):
    pi = new_pi(client, 4200)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    failed = present(client, reader, number="4000000000009995")
    error = failed.action.api_error
    assert (error.type, error.code, error.decline_code) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert error.message == "Your card has insufficient funds."
    assert error.doc_url.endswith("/card-declined")
    assert error.request_log_url.startswith("https://dashboard.stripe.com/test/logs/req_")
    # a failure that the reader itself causes has none
    control(emu, "/_emulator/config", {"cancel_action_style": "failed"})
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    canceled = client.v1.terminal.readers.cancel_action(reader.id)
    assert canceled.action.failure_code == "canceled" and canceled.action.api_error is None


def test_stripes_test_amounts_decline_an_approving_card(client, reader):
    outcomes = {}
    for amount in (1000, 1001, 1002, 1003, 1005, 1055, 1065, 1075, 1099):
        pi = new_pi(client, amount)
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": pi.id}
        )
        present(client, reader, number="4242424242424242")
        pi = client.v1.payment_intents.retrieve(pi.id)
        error = pi.last_payment_error
        outcomes[amount] = error.decline_code if error else pi.status
    assert outcomes == {
        1000: "requires_capture",
        1001: "call_issuer",
        1002: "offline_pin_required",
        1003: "online_or_offline_pin_required",
        1005: "generic_decline",
        1055: "incorrect_pin",
        1065: "withdrawal_count_limit_exceeded",
        1075: "pin_try_exceeded",
        1099: "requires_capture",
    }


def test_timeout_fault_leaves_the_action_running(client, emu, reader):
    pi = new_pi(client)
    control(emu, "/_emulator/faults", {"timeout_next": "process_payment_intent"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": pi.id}, options={"idempotency_key": "pp-1"}
        )
    assert exc.value.code == "terminal_reader_timeout"

    # the caller cannot know, but the reader did get the action
    current = client.v1.terminal.readers.retrieve(reader.id)
    assert current.action.status == "in_progress"
    assert current.action.process_payment_intent.payment_intent == pi.id
    # retrying with the same key replays the saved answer, a new key finds the reader busy
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": pi.id}, options={"idempotency_key": "pp-1"}
        )
    assert exc.value.code == "terminal_reader_timeout"
    assert exc.value.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": pi.id}
        )
    assert exc.value.code == "terminal_reader_busy"

    assert present(client, reader).action.status == "succeeded"
    assert control(emu, "/_emulator/faults")["timeout_next"] == []


def test_reader_offline_fault(client, emu, reader):
    pi = new_pi(client)
    control(emu, "/_emulator/faults", {"reader_offline": reader.id})
    assert client.v1.terminal.readers.retrieve(reader.id).status == "offline"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": pi.id}
        )
    assert exc.value.code == "terminal_reader_offline"
    control(emu, "/_emulator/faults", {"reader_online": reader.id})
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})


def test_cancel_action(client, emu, reader):
    pi = new_pi(client)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    canceled = client.v1.terminal.readers.cancel_action(reader.id)
    assert canceled.action is None  # as in the API reference's example
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError):  # nothing left to cancel
        client.v1.terminal.readers.cancel_action(reader.id)

    # the reader is free again; the other documented-looking style keeps a failed action
    control(emu, "/_emulator/config", {"cancel_action_style": "failed"})
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    failed = client.v1.terminal.readers.cancel_action(reader.id)
    assert (failed.action.status, failed.action.failure_code) == ("failed", "canceled")
    assert emu.dispatcher.wait_idle()
    assert types(emu.dispatcher.deliveries())[-1] == "terminal.reader.action_failed"


def test_cancel_payment_intent(client, emu, reader):
    pi = new_pi(client)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader)
    canceled = client.v1.payment_intents.cancel(
        pi.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    assert canceled.canceled_at
    charge = client.v1.charges.retrieve(canceled.latest_charge)
    assert (charge.captured, charge.refunded) == (False, True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"


def test_automatic_capture_succeeds_on_the_reader(client, reader):
    pi = new_pi(client, 1500, capture_method="automatic")
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader, tip=150)
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert (pi.status, pi.amount, pi.amount_received) == ("succeeded", 1650, 1650)
    assert pi.latest_charge.captured is True


def test_increment_authorization(client, reader):
    pi = new_pi(
        client,
        2000,
        payment_method_options={
            "card_present": {"request_incremental_authorization_support": True}
        },
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.increment_authorization(pi.id, params={"amount": 2500})
    assert exc.value.code == "payment_intent_unexpected_state"
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader)
    grown = client.v1.payment_intents.increment_authorization(pi.id, params={"amount": 2500})
    assert (grown.amount, grown.amount_capturable) == (2500, 2500)
    assert client.v1.payment_intents.capture(pi.id).amount_received == 2500


# --- captures and refunds ----------------------------------------------------------------------


def authorized(client, reader, amount=3000):
    pi = new_pi(client, amount)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader)
    return client.v1.payment_intents.retrieve(pi.id)


def test_capture_more_than_capturable_is_refused(client, reader):
    pi = authorized(client, reader, 3000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 3001})
    assert exc.value.code == "amount_too_large"
    assert exc.value.param == "amount_to_capture"
    partial = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 2500})
    assert (partial.status, partial.amount_received) == ("succeeded", 2500)
    charge = client.v1.charges.retrieve(partial.latest_charge)
    assert (charge.amount_captured, charge.amount_refunded) == (2500, 500)  # rest released


def test_refunds_partial_then_full_then_too_much(client, emu, reader):
    pi = authorized(client, reader, 3000)
    with pytest.raises(stripe.InvalidRequestError) as exc:  # not captured: cancel instead
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert exc.value.code == "charge_not_refundable"
    client.v1.payment_intents.capture(pi.id)

    first = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1000})
    assert first.id.startswith("re_")
    assert (first.status, first.amount, first.charge) == ("succeeded", 1000, pi.latest_charge)
    assert client.v1.refunds.retrieve(first.id).amount == 1000
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 2001})
    assert exc.value.code == "amount_too_large"

    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 2000
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})
    assert exc.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list(params={"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    assert len(client.v1.refunds.list(params={"limit": 1}).data) == 1

    assert emu.dispatcher.wait_idle()
    sent = types(emu.dispatcher.deliveries())
    assert sent.count("refund.created") == 2
    assert sent.count("charge.refunded") == 2


# --- idempotency, errors, faults on the wire ---------------------------------------------------


def test_idempotent_replay_and_key_reuse(client, emu):
    params = {"amount": 999, "currency": "eur", "allowed_payment_method_types": ["card_present"]}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "bill-7"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "bill-7"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert len(emu.state.payment_intents) == 1

    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params={**params, "amount": 1000}, options={"idempotency_key": "bill-7"}
        )
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(
            params={"payment_intent": first.id}, options={"idempotency_key": "bill-7"}
        )
    assert len(emu.state.payment_intents) == 1


def at_once(*calls):
    """Run the calls in threads started together; their results (or exceptions), in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # returned for the test to look at
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_requests_with_one_key_get_409_while_the_first_runs(emu):
    bare = stripe.StripeClient(API_KEY, base_addresses={"api": emu.url}, max_network_retries=0)
    params = {"amount": 990, "currency": "eur", "allowed_payment_method_types": ["card_present"]}
    control(emu, "/_emulator/faults", {"slow_next": {"op": "payment_intents.create", "ms": 400}})

    def create():
        return bare.v1.payment_intents.create(params=params, options={"idempotency_key": "k-1"})

    first, second = at_once(create, lambda: (time.sleep(0.1), create())[1])
    assert isinstance(first, stripe.PaymentIntent)
    assert isinstance(second, stripe.StripeError)
    assert second.http_status == 409  # the SDK raises APIError for a 409
    assert second.json_body["error"]["code"] == "idempotency_key_in_use"
    assert len(emu.state.payment_intents) == 1
    # once the first has answered, the same key is its replay
    again = create()
    assert again.id == first.id and again.last_response.headers["Idempotent-Replayed"] == "true"
    # the SDK retries a 409 with backoff: with retries, the second caller gets the replay
    control(emu, "/_emulator/faults", {"slow_next": {"op": "payment_intents.create", "ms": 300}})
    patient = stripe.StripeClient(API_KEY, base_addresses={"api": emu.url}, max_network_retries=2)

    def create_k2(client):
        return client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-2"})

    one, two = at_once(lambda: create_k2(bare), lambda: (time.sleep(0.1), create_k2(patient))[1])
    assert one.id == two.id and len(emu.state.payment_intents) == 2


def test_requests_with_different_keys_are_not_serialized(client, emu):
    control(
        emu,
        "/_emulator/faults",
        {"slow_next": {"op": "payment_intents.create", "ms": 500, "count": 3}},
    )
    started = time.monotonic()
    created = at_once(*[lambda: new_pi(client) for _ in range(3)])
    assert all(isinstance(pi, stripe.PaymentIntent) for pi in created)
    assert time.monotonic() - started < 1.2  # side by side, not 3 x 0.5 s one after the other
    assert len({pi.id for pi in created}) == 3


def test_fail_next_http_is_retried_with_the_same_key(client, emu):
    control(emu, "/_emulator/faults", {"fail_next_http": 500})
    pi = new_pi(client)  # the SDK retries the 500 with its idempotency key
    assert [p["id"] for p in emu.state.payment_intents.values()] == [pi.id]


def test_dropped_response_is_replayed_on_retry(client, emu, reader):
    pi = authorized(client, reader)
    control(emu, "/_emulator/faults", {"drop_response_next": "capture"})
    captured = client.v1.payment_intents.capture(pi.id)
    assert captured.status == "succeeded"
    assert captured.last_response.headers.get("Idempotent-Replayed") == "true"
    assert emu.dispatcher.wait_idle()
    assert types(emu.dispatcher.deliveries()).count("payment_intent.succeeded") == 1


def test_parameter_errors(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"currency": "eur"})
    assert (exc.value.code, exc.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": "12.50", "currency": "eur"})
    assert exc.value.code == "parameter_invalid_integer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 100, "currency": "eur", "colour": "x"})
    assert exc.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.retrieve("pi_missing")
    assert (exc.value.http_status, exc.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.retrieve(new_pi(client).id, params={"expand": ["currency"]})
    assert "cannot be expanded" in exc.value.user_message


def test_the_pinned_version_refuses_payment_method_types(client, emu):
    # 2026-09-30.endive removed the parameter: Stripe answers 400 and creates nothing
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 1200, "currency": "eur", "payment_method_types": ["card_present"]},
            options={"idempotency_key": "pmt-1"},
        )
    assert exc.value.http_status == 400
    assert (exc.value.code, exc.value.param) == (
        "payment_method_types_no_longer_supported",
        "payment_method_types",
    )
    assert emu.state.payment_intents == {} and emu.state.events == {}
    # a validation error is not saved under the key: the corrected request runs
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1200,
            "currency": "eur",
            "allowed_payment_method_types": ["card_present", "ideal", "card_present"],
        },
        options={"idempotency_key": "pmt-2"},
    )
    assert pi.payment_method_types == ["card_present"]  # what is usable, incompatible left out
    assert pi.allowed_payment_method_types == ["card_present", "ideal", "card_present"]
    assert pi.automatic_payment_methods is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 1200,
                "currency": "eur",
                "allowed_payment_method_types": ["card_present"],
                "excluded_payment_method_types": ["card"],
            }
        )
    assert exc.value.code == "parameters_exclusive"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"payment_method_types": ["card"]})
    assert exc.value.code == "payment_method_types_no_longer_supported"


def test_older_api_versions_get_the_older_parameters_and_fields(client, emu):
    dahlia = {"stripe_version": "2026-07-29.dahlia"}  # allowed_… added, payment_method_types kept
    old = client.v1.payment_intents.create(
        params={"amount": 800, "currency": "eur", "payment_method_types": ["card_present"]},
        options=dahlia,
    )
    assert old.payment_method_types == ["card_present"]
    earlier = {"stripe_version": "2026-05-27.dahlia"}  # before allowed_payment_method_types
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 800, "currency": "eur", "allowed_payment_method_types": ["card"]},
            options=earlier,
        )
    assert exc.value.code == "parameter_unknown"
    assert "allowed_payment_method_types" not in client.v1.payment_intents.retrieve(
        old.id, options=earlier
    )
    assert client.v1.payment_intents.retrieve(old.id).allowed_payment_method_types is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.retrieve(old.id, options={"stripe_version": "endive"})
    assert "Invalid Stripe API version" in exc.value.user_message


def test_update_metadata_and_amount(client, reader):
    pi = new_pi(client, 1000, metadata={"check": "1", "table": "5"})
    pi = client.v1.payment_intents.update(
        pi.id, params={"amount": 1200, "metadata": {"table": "", "waiter": "ana"}}
    )
    assert pi.amount == 1200
    assert pi.metadata.to_dict() == {"check": "1", "waiter": "ana"}
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"amount": 1300})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert client.v1.payment_intents.list().data[0].id == pi.id


# --- webhooks ----------------------------------------------------------------------------------


def test_webhooks_are_signed_and_verifiable(client, emu, receiver, reader):
    pi = new_pi(client)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader)
    assert emu.dispatcher.wait_idle()
    with receiver.lock:
        delivered = list(receiver.requests)
    assert len(delivered) == 4
    for request in delivered:
        event = stripe.Webhook.construct_event(request["payload"], request["signature"], SECRET)
        assert event.id.startswith("evt_")
        assert (event.object, event.livemode, event.api_version) == ("event", False, API_VERSION)
        assert isinstance(event.created, int)
    last = stripe.Webhook.construct_event(
        delivered[-1]["payload"], delivered[-1]["signature"], SECRET
    )
    assert last.type == "terminal.reader.action_succeeded"
    assert last.data.object.action.process_payment_intent.payment_intent == pi.id
    assert last.request.idempotency_key  # the present_payment_method call that caused it
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivered[0]["payload"], delivered[0]["signature"], "whsec_x"
        )
    assert stripe.api_version == API_VERSION

    log = control(emu, "/_emulator/events")["data"]
    assert [d["status"] for d in log] == ["delivered"] * 4
    assert client.v1.events.retrieve(log[0]["id"]).type == "payment_intent.created"


def test_webhooks_are_rendered_in_the_endpoints_api_version(client, emu, receiver, reader):
    pi = new_pi(client)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader, number="4000000000000002")
    assert emu.dispatcher.wait_idle()
    latest = {e["type"]: e for e in receiver.events()}
    failed = latest["terminal.reader.action_failed"]
    assert failed["api_version"] == API_VERSION
    assert failed["data"]["object"]["action"]["api_error"]["decline_code"] == "generic_decline"
    assert latest["payment_intent.created"]["data"]["object"]["allowed_payment_method_types"]
    # an endpoint made on an older version gets the older shapes
    receiver.clear()
    assert (
        control(emu, "/_emulator/config", {"webhook_api_version": "2026-03-25.dahlia"})[
            "webhook_api_version"
        ]
        == "2026-03-25.dahlia"
    )
    try:
        older = new_pi(client)
        client.v1.terminal.readers.process_payment_intent(
            reader.id, params={"payment_intent": older.id}
        )
        present(client, reader, number="4000000000000002")
        assert emu.dispatcher.wait_idle()
        latest = {e["type"]: e for e in receiver.events()}
        failed = latest["terminal.reader.action_failed"]
        assert failed["api_version"] == "2026-03-25.dahlia"
        assert "api_error" not in failed["data"]["object"]["action"]
        created = latest["payment_intent.created"]["data"]["object"]
        assert "allowed_payment_method_types" not in created
        # the API still answers in the request's (the SDK's) version
        event = client.v1.events.retrieve(failed["id"])
        assert event.api_version == API_VERSION
        assert event.data.object.action.api_error.code == "card_declined"
    finally:
        control(emu, "/_emulator/config", {"webhook_api_version": ""})


def test_webhook_retried_after_failure(client, emu, receiver):
    receiver.statuses.extend([500, 503])
    new_pi(client)
    assert emu.dispatcher.wait_idle()
    [record] = emu.dispatcher.deliveries()
    assert record["status"] == "delivered"
    assert [a["status"] for a in record["attempts"]] == [500, 503, 200]
    assert len(receiver.events()) == 1


def test_duplicate_webhooks_fault(client, emu, receiver):
    control(emu, "/_emulator/faults", {"duplicate_webhooks": True})
    pi = new_pi(client)
    assert emu.dispatcher.wait_idle()
    events = receiver.events()
    assert [e["id"] for e in events] == [events[0]["id"]] * 2
    assert events[0]["data"]["object"]["id"] == pi.id
    [record] = emu.dispatcher.deliveries()
    assert (record["copies"], record["delivered"]) == (2, 2)


def test_reorder_webhooks_fault(client, emu, receiver, reader):
    control(emu, "/_emulator/faults", {"reorder_webhooks": {"window_ms": 5000}})
    pi = new_pi(client)
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    present(client, reader)
    time.sleep(0.1)
    assert receiver.events() == []  # held
    assert emu.dispatcher.wait_idle()  # releases the batch
    emitted = [d["id"] for d in emu.dispatcher.deliveries()]
    assert [e["id"] for e in receiver.events()] == list(reversed(emitted))
    control(emu, "/_emulator/faults", method="DELETE")
    assert control(emu, "/_emulator/faults")["reorder_webhooks"] is False


def test_control_state_and_reset(client, emu, reader):
    pi = new_pi(client)
    state = control(emu, "/_emulator/state")
    assert [p["id"] for p in state["payment_intents"]] == [pi.id]
    assert [r["id"] for r in state["readers"]] == [reader.id]
    assert state["webhooks"]["url"].endswith("/webhook")
    client.v1.terminal.readers.process_payment_intent(reader.id, params={"payment_intent": pi.id})
    tapped = control(
        emu,
        f"/_emulator/readers/{reader.id}/present_payment_method",
        {"number": "4242424242424242", "amount_tip": 100},
    )
    assert tapped["action"]["status"] == "succeeded"
    assert control(emu, "/_emulator/reset", {}) == {"ok": True}
    assert control(emu, "/_emulator/state")["payment_intents"] == []
    with pytest.raises(urllib.error.HTTPError) as exc:
        control(emu, "/_emulator/faults", {"no_such_fault": 1})
    assert exc.value.code == 400


# --- the management command --------------------------------------------------------------------


def test_management_command_serves_and_stops_on_sigterm():
    out = io.StringIO()

    def stop_when_listening():
        # the banner is printed once the SIGTERM handler is in place; without it, no signal
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = out.getvalue()
            if "listening on " in text:
                url = text.split("listening on ", 1)[1].split()[0]
                try:
                    urllib.request.urlopen(url + "/_emulator/health", timeout=2).read()
                finally:
                    os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.02)

    threading.Thread(target=stop_when_listening, daemon=True).start()
    call_command(
        "stripe_emulator", "--port", "0", "--webhook-url", "", "--api-key", API_KEY, stdout=out
    )
    text = out.getvalue()
    assert '"GET /_emulator/health" 200' in text
    assert text.rstrip().endswith("Stripe emulator stopped.")


def test_refund_payment_on_the_reader(client, emu, reader):
    pi = authorized(client, reader, 2000)
    client.v1.payment_intents.capture(pi.id)
    started = client.v1.terminal.readers.refund_payment(
        reader.id, params={"payment_intent": pi.id, "amount": 500}
    )
    assert (started.action.type, started.action.status) == ("refund_payment", "in_progress")
    done = present(client, reader)
    assert done.action.status == "succeeded"
    refund = client.v1.refunds.retrieve(done.action.refund_payment.refund)
    assert (refund.amount, refund.payment_intent) == (500, pi.id)
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 500
