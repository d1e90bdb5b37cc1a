"""Card payments end to end against the local Stripe emulator, through the real SDK.

The emulator runs in-process on a free port and sends its signed webhooks to a small receiver;
each test hands them to Brigade's webhook endpoint through the Django test client (in order,
twice, or backwards), so the database stays the test's. Nothing of ours is mocked.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from orders.models import Check
from payments import card, stripe_api
from payments import services as pay_services
from payments.models import (
    CardReader,
    Payment,
    Refund,
    StripeCall,
    TerminalLocation,
    WebhookEvent,
)
from payments.stripe_emulator import EmulatorServer
from restaurant.errors import Conflict, PermissionDenied, ValidationFailed
from restaurant.models import Event
from tests.actors import SETUP
from tests.payments import stripe_conformance
from tests.payments.conftest import table_check

API_KEY = "sk_test_brigade_emulator"
SECRET = "whsec_test_card_flows"
VISA, DECLINED = "4242424242424242", "4000000000000002"
EMULATOR: dict = {}


class Receiver:
    """Stands in for Brigade's webhook URL: keeps every signed delivery, answers 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries: list[tuple[bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.deliveries.append((body, self.headers.get("Stripe-Signature")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def take(self, wait: float = 0.5) -> list[tuple[bytes, str]]:
        """The deliveries so far (after the emulator's queue has had a moment to drain)."""
        deadline = time.monotonic() + wait
        seen = -1
        while time.monotonic() < deadline:
            with self.lock:
                count = len(self.deliveries)
            if count == seen:
                break
            seen = count
            time.sleep(0.08)
        with self.lock:
            taken, self.deliveries = self.deliveries, []
        return taken


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


@pytest.fixture(scope="module")
def emulator(receiver):
    server = EmulatorServer(
        port=0,
        api_key=API_KEY,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_backoff=0.05,
        log=lambda line: None,
        record=True,
    )
    server.start()
    EMULATOR["server"] = server
    yield server
    server.stop()


@pytest.fixture
def stripe_on(emulator, receiver, settings):
    """Brigade talks to the emulator. Afterwards, everything Brigade sent it and everything it
    answered (webhooks included) is checked against the pinned SDK's types: a test whose traffic
    does not conform fails (tests/payments/stripe_conformance.py)."""
    emulator.reset()
    receiver.take(wait=0.1)
    emulator.take_traffic()
    settings.STRIPE_API_BASE = emulator.url
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_POLL_AFTER_SECONDS = 3600  # tests say when to poll
    yield emulator
    emulator.dispatcher.wait_idle()
    problems = stripe_conformance.check_traffic(emulator.take_traffic())
    if problems:
        pytest.fail("Stripe traffic that the pinned SDK's types refuse:\n" + "\n".join(problems))


@pytest.fixture
def reader(bistro, stripe_on):
    return card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Table reader", registration_code="simulated-wpe"
    )


def deliver(receiver, *, twice=False, backwards=False) -> list:
    """Hand the emulator's webhooks to /payments/stripe/webhook/; returns the responses."""
    EMULATOR["server"].dispatcher.wait_idle()
    deliveries = receiver.take()
    if backwards:
        deliveries.reverse()
    client = Client()
    responses = []
    for body, signature in deliveries * (2 if twice else 1):
        responses.append(
            client.post(
                "/payments/stripe/webhook/",
                body,
                content_type="application/json",
                headers={"Stripe-Signature": signature},
            )
        )
    assert all(r.status_code == 200 for r in responses), [r.content for r in responses]
    return responses


def intents(emulator) -> list[dict]:
    with emulator.state.lock:
        return list(emulator.state.payment_intents.values())


def test_approved_with_the_tip_chosen_on_the_reader(bistro, till, reader, receiver, stripe_on):
    # Steak 24.50; the guest picks 10% on the reader (2.45 of the 24.50 tip basis)
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    payment = card.card_payment_start(
        tab=tab, actor=bistro.server, reader_id=reader.pk, tip_on_reader=True
    )
    assert payment.status == "pending" and payment.stripe_payment_intent
    state = stripe_api.reader_retrieve(reader.stripe_id)
    process = state["action"]["process_payment_intent"]
    assert process["payment_intent"] == payment.stripe_payment_intent
    assert process["process_config"]["tipping"]["amount_eligible"] == 2450
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA, tip=245)
    deliver(receiver)
    payment.refresh_from_db()
    assert (payment.status, payment.amount, payment.tip) == ("succeeded", 2450, 245)
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    intent = stripe_api.payment_intent_retrieve(payment.stripe_payment_intent)
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 2695)
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED and tab.paid_amount == 2450


def test_approved_with_the_tip_chosen_on_the_tablet(bistro, till, reader, receiver, stripe_on):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.beer, 2)])
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat")
    seat1 = next(v for v in bill.parts if v.part.label == "Seat 1")
    payment = card.card_payment_start(
        tab=tab, actor=bistro.server, part_id=seat1.part.pk, reader_id=reader.pk, tip_percent=15
    )
    assert payment.tip == 368  # 15% of 24.50 = 3.675 -> 3.68
    state = stripe_api.reader_retrieve(reader.stripe_id)
    assert state["action"]["process_payment_intent"]["process_config"].get("skip_tipping")
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA, tip=999)  # ignored
    deliver(receiver)
    payment.refresh_from_db()
    assert (payment.status, payment.tip) == ("succeeded", 368)
    intent = stripe_api.payment_intent_retrieve(payment.stripe_payment_intent)
    assert intent["amount_received"] == 2450 + 368
    tab.refresh_from_db()
    assert tab.status == Check.Status.OPEN and tab.paid_amount == 2450


def test_declined_then_approved_on_the_same_payment_intent(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert payment.failure_code in ("card_declined", "generic_decline")
    assert payment.failure_message
    payment = card.card_payment_retry(payment=payment, actor=bistro.server)
    assert payment.attempts == 2 and payment.failure_message == ""
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert len(intents(stripe_on)) == 1


def test_the_guest_cancels_and_pays_cash_instead(bistro, till, reader, receiver, stripe_on):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    with pytest.raises(Conflict) as exc:  # cash while the card is on the reader: refused
        pay_services.payment_cash(tab=tab, actor=bistro.server)
    assert exc.value.code == "part_in_progress"
    payment = card.card_payment_cancel(payment=payment, actor=bistro.server)
    assert payment.status == "canceled"
    intent = stripe_api.payment_intent_retrieve(payment.stripe_payment_intent)
    assert intent["status"] == "canceled"
    assert not stripe_api.reader_retrieve(reader.stripe_id).get("action") or (
        stripe_api.reader_retrieve(reader.stripe_id)["action"]["status"] != "in_progress"
    )
    deliver(receiver)  # the cancel's events change nothing more
    cash = pay_services.payment_cash(tab=tab, actor=bistro.server)
    assert cash.amount == 450
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED


def test_a_busy_reader_is_a_clear_refusal(bistro, till, reader, stripe_on):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    other, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.steak, 1)])
    card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    with pytest.raises(stripe_api.StripeFailure) as exc:
        card.card_payment_start(tab=other, actor=bistro.server, reader_id=reader.pk)
    assert exc.value.code == "terminal_reader_busy" and exc.value.status == 409
    assert "busy" in exc.value.message
    second = Payment.objects.get(tab=other)
    assert second.status == "pending" and second.failure_code == "terminal_reader_busy"


def test_a_reader_timeout_is_resolved_without_a_second_charge(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    stripe_on.apply_faults({"timeout_next": "process_payment_intent"})
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    # The call "failed" with terminal_reader_timeout, but the reader shows our payment:
    # Brigade asked the reader instead of trying again, so there is nothing to retry.
    assert payment.status == "pending" and payment.failure_code == ""
    again = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    assert again.pk == payment.pk and again.stripe_payment_intent == payment.stripe_payment_intent
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert len(intents(stripe_on)) == 1
    assert Payment.objects.filter(tab=tab).count() == 1


def test_duplicate_and_out_of_order_webhooks_record_one_payment(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1, 2)])  # two beers: 9.00
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    responses = deliver(receiver, twice=True, backwards=True)
    events = {json.loads(r.content)["received"] for r in responses}
    assert WebhookEvent.objects.count() == len(events)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    tab.refresh_from_db()
    assert tab.paid_amount == 900 and tab.status == Check.Status.CLOSED
    assert Payment.objects.filter(tab=tab, status="succeeded").count() == 1


def test_a_bad_signature_is_refused_and_nothing_is_stored(bistro, stripe_on):
    body = json.dumps({"id": "evt_forged", "type": "payment_intent.succeeded", "data": {}})
    response = Client().post(
        "/payments/stripe/webhook/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": f"t={int(time.time())},v1=deadbeef"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert WebhookEvent.objects.count() == 0
    unsigned = Client().post("/payments/stripe/webhook/", body, content_type="application/json")
    assert unsigned.status_code == 400


def test_polling_finds_the_payment_when_the_webhook_is_lost(
    bistro, till, reader, receiver, stripe_on, settings
):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    receiver.take()  # lost
    assert card.card_payment_poll(payment=payment).status == "pending"  # too early to ask
    settings.STRIPE_POLL_AFTER_SECONDS = 0
    assert card.card_payment_poll(payment=payment).status == "succeeded"


def test_partial_refund_needs_a_manager_and_never_exceeds_the_payment(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver)
    payment.refresh_from_db()
    with pytest.raises(PermissionDenied):
        card.payment_refund(payment=payment, actor=bistro.server, amount=500, reason="Cold")
    refund = card.payment_refund(
        payment=payment,
        actor=bistro.server,
        approver=bistro.manager,
        amount=500,
        reason="Steak was cold",
    )
    assert refund.status == Refund.Status.SUCCEEDED and refund.stripe_id.startswith("re_")
    payment.refresh_from_db()
    assert payment.refunded == 500
    with pytest.raises(ValidationFailed) as exc:
        card.payment_refund(payment=payment, actor=bistro.manager, amount=2000, reason="Everything")
    assert exc.value.code == "refund_too_large"
    assert Refund.objects.count() == 1
    charge = stripe_api.payment_intent_retrieve(payment.stripe_payment_intent)["latest_charge"]
    assert charge["amount_refunded"] == 500


def test_retried_start_reuses_the_payment_and_its_payment_intent(bistro, till, reader, stripe_on):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    first = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    second = card.card_payment_start(tab=tab, actor=bistro.server2, reader_id=reader.pk)
    assert first.pk == second.pk
    assert len(intents(stripe_on)) == 1


# --- Tap to Pay: the backend a Stripe Terminal phone app needs ----------------------------------


def phone_taps(emulator, intent_id: str, number: str = VISA) -> None:
    """What the Terminal SDK on the phone does when the guest taps (collect + confirm)."""
    import urllib.request

    request = urllib.request.Request(
        f"{emulator.url}/_emulator/payment_intents/{intent_id}/tap_to_pay",
        data=json.dumps({"number": number}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_tap_to_pay_token_location_intent_and_capture(bistro, till, stripe_on, receiver):
    from tests.pos.conftest import Api, pair_device, sign_in

    tab, _ = table_check(bistro, lines=[(bistro.risotto, 1), (bistro.risotto, 2)])
    assert Api().post("terminal/connection-token").status_code == 401
    phone = sign_in(pair_device(bistro.venue, "Daan's phone"), "1111")
    token = phone.post("terminal/connection-token", key="t1")
    assert token.status_code == 200, token.content
    location = phone.get("terminal/location").json()["location"]
    assert token.json()["secret"].startswith("pst_test_")
    assert token.json()["location"] == location["id"] and location["id"].startswith("tml_")
    bill = phone.post(f"checks/{tab.pk}/bill/split", {"mode": "seat"}, key="s1").json()["bill"]
    seat1 = bill["parts"][0]
    started = phone.post(
        f"checks/{tab.pk}/card-payments",
        {"part": seat1["id"], "channel": "tap_to_pay", "tip": 200},
        key="c1",
    )
    assert started.status_code == 201, started.content
    body = started.json()
    payment = body["payment"]
    assert body["client_secret"].startswith(payment["stripe_payment_intent"] + "_secret_")
    assert (payment["amount"], payment["tip"], payment["status"]) == (1950, 200, "pending")
    too_soon = phone.post(f"card-payments/{payment['id']}/capture", key="x0")
    assert too_soon.status_code == 409
    assert too_soon.json()["error"]["code"] == "not_authorized"
    phone_taps(stripe_on, payment["stripe_payment_intent"])
    captured = phone.post(f"card-payments/{payment['id']}/capture", key="x1")
    assert captured.status_code == 200, captured.content
    assert captured.json()["payment"]["status"] == "succeeded"
    assert captured.json()["payment"]["card_last4"] == "4242"
    intent = stripe_api.payment_intent_retrieve(payment["stripe_payment_intent"])
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 2150)
    deliver(receiver)  # the webhooks that follow change nothing
    assert Payment.objects.get(pk=payment["id"]).tip == 200
    # seat 2 starts on the phone, then the guest changes their mind
    seat2 = captured.json()["bill"]["parts"][1]
    started = phone.post(
        f"checks/{tab.pk}/card-payments",
        {"part": seat2["id"], "channel": "tap_to_pay"},
        key="c2",
    ).json()["payment"]
    canceled = phone.post(f"card-payments/{started['id']}/cancel", key="x2")
    assert canceled.json()["payment"]["status"] == "canceled"
    assert stripe_api.payment_intent_retrieve(started["stripe_payment_intent"])["status"] == (
        "canceled"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_tablets_paying_one_part_by_card_at_once_charge_it_once(
    bistro, till, reader, receiver, stripe_on
):
    from django.db import connection

    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    staff = [bistro.server, bistro.server2, bistro.manager] * 2
    barrier = threading.Barrier(len(staff))
    started: list[int] = []
    errors: list[str] = []

    def tap(actor):
        try:
            barrier.wait()
            started.append(card.card_payment_start(tab=tab, actor=actor, reader_id=reader.pk).pk)
        except Exception as exc:  # collected and asserted below
            errors.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(actor,)) for actor in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(started)) == 1
    assert len(intents(stripe_on)) == 1
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver, twice=True)
    payment = Payment.objects.get()
    assert payment.status == "succeeded"
    captures = [
        e for e in stripe_on.state.events.values() if e["type"] == "payment_intent.succeeded"
    ]
    assert len(captures) == 1


def test_only_stripe_api_imports_stripe():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    importers = []
    for app in ("restaurant", "orders", "kitchen", "payments", "pos"):
        for path in (root / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                if any(name == "stripe" or name.startswith("stripe.") for name in names):
                    importers.append(str(path.relative_to(root)))
    assert importers == ["payments/stripe_api.py"]


def test_a_start_refused_by_a_busy_reader_over_the_api_keeps_its_payment_intent(
    bistro, till, reader, stripe_on
):
    """Card writes are not one big transaction: what was stored before Stripe refused stays,
    so trying again uses the same PaymentIntent instead of leaving one behind."""
    from tests.pos.conftest import pair_device, sign_in

    api = sign_in(pair_device(bistro.venue), "1111")
    first, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    second, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.steak, 1)])
    ok = api.post(f"checks/{first.pk}/card-payments", {"reader": reader.pk}, key="a")
    assert ok.status_code == 201, ok.content
    busy = api.post(f"checks/{second.pk}/card-payments", {"reader": reader.pk}, key="b")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "terminal_reader_busy"
    waiting = Payment.objects.get(tab=second)
    assert (waiting.status, waiting.failure_code) == ("pending", "terminal_reader_busy")
    assert waiting.stripe_payment_intent and len(intents(stripe_on)) == 2
    cancel = api.post(f"card-payments/{ok.json()['payment']['id']}/cancel", key="c")
    assert cancel.json()["payment"]["status"] == "canceled"
    again = api.post(f"card-payments/{waiting.pk}/retry", key="d")
    assert again.status_code == 200, again.content
    assert again.json()["payment"]["stripe_payment_intent"] == waiting.stripe_payment_intent
    assert len(intents(stripe_on)) == 2


def test_a_webhook_whose_handling_failed_is_handled_when_stripe_sends_it_again(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    stripe_on.dispatcher.wait_idle()
    deliveries = receiver.take()
    # Stripe is unreachable while Brigade handles the events: stored, answered 500
    stripe_on.apply_faults({"fail_next_http": {"status": 500, "count": 50}})
    client = Client()
    first = [
        client.post(
            "/payments/stripe/webhook/",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        for body, signature in deliveries
    ]
    assert any(r.status_code == 500 for r in first)
    payment.refresh_from_db()
    assert payment.status == "pending"
    stripe_on.clear_faults()
    again = [
        client.post(
            "/payments/stripe/webhook/",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        for body, signature in deliveries
    ]
    assert all(r.status_code == 200 for r in again)
    payment.refresh_from_db()
    assert payment.status == "succeeded"


# --- the venue's Terminal location: Stripe needs a real, structured address -------------------


def test_the_location_is_created_from_the_venues_structured_address(bistro, stripe_on):
    venue = bistro.venue
    venue.address_line1, venue.address_line2 = "Keizersgracht 1", ""
    venue.address_postal_code, venue.address_city, venue.address_country = (
        "1015 CJ",
        "Amsterdam",
        "nl",
    )
    venue.save()
    reader = card.card_reader_register(
        actor=SETUP, venue=venue, label="Bar", registration_code="simulated-wpe"
    )
    location = TerminalLocation.objects.get(venue=venue)
    assert reader.location_id == location.stripe_id
    with stripe_on.state.lock:
        sent = stripe_on.state.locations[location.stripe_id]["address"]
    assert sent == {
        "line1": "Keizersgracht 1",
        "line2": None,  # not sent: Stripe refuses an empty string
        "postal_code": "1015 CJ",
        "city": "Amsterdam",
        "state": None,
        "country": "NL",
    }


def test_an_incomplete_address_is_refused_before_anything_is_made(bistro, stripe_on):
    venue = bistro.venue
    venue.address_line1, venue.address_city, venue.address_postal_code = "Dam 1", "", ""
    venue.save()
    with pytest.raises(ValidationFailed) as exc:
        card.card_reader_register(
            actor=SETUP, venue=venue, label="Bar", registration_code="simulated-wpe"
        )
    assert (exc.value.code, exc.value.field) == ("address_incomplete", "address")
    assert "postal code, city" in exc.value.message
    with translation.override("nl"), pytest.raises(ValidationFailed) as exc:
        card.venue_location(venue)
    assert "postcode, plaats" in exc.value.message
    # a US venue needs its state too
    venue.address_city, venue.address_postal_code, venue.address_country = "Austin", "78701", "US"
    venue.save()
    with pytest.raises(ValidationFailed) as exc:
        card.venue_location(venue)
    assert "state or province" in exc.value.message
    assert not TerminalLocation.objects.exists() and not CardReader.objects.exists()
    assert stripe_on.state.locations == {} and stripe_on.state.readers == {}


def test_the_admin_says_what_the_address_lacks_when_a_reader_is_added(client, bistro, stripe_on):
    venue = bistro.venue
    venue.address_postal_code = ""
    venue.save()
    user = bistro.manager.user
    user.is_staff = True
    user.save()
    client.force_login(user)
    add = reverse("admin:payments_cardreader_add")
    response = client.post(
        add, {"venue": venue.pk, "label": "Bar", "registration_code": "simulated-wpe"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "Card readers need the full address of Bistro at Stripe. Fill in the venue&#x27;s " in page
    )
    assert "postal code first" in page
    assert not CardReader.objects.exists() and stripe_on.state.locations == {}
    venue.address_postal_code = "1016 GV"
    venue.save()
    response = client.post(
        add, {"venue": venue.pk, "label": "Bar", "registration_code": "simulated-wpe"}
    )
    assert response.status_code == 302
    assert CardReader.objects.get().label == "Bar"


def test_every_call_brigade_makes_conforms_to_the_pinned_sdk(bistro, till, receiver, stripe_on):
    """Each card test's traffic is checked when it ends (stripe_on); this one walks every kind
    of call Brigade makes and checks that they were all seen and all conform."""
    reader = card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Table reader", registration_code="simulated-wpe"
    )
    card.connection_token(venue=bistro.venue)
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.beer, 1)])
    payment = card.card_payment_start(
        tab=tab, actor=bistro.server, reader_id=reader.pk, tip_on_reader=True
    )
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    payment = card.card_payment_retry(payment=payment, actor=bistro.server)
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA, tip=300)
    deliver(receiver)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    card.payment_refund(payment=payment, actor=bistro.manager, amount=100, reason="Cold")
    other, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.beer, 1)])
    waiting = card.card_payment_start(tab=other, actor=bistro.server, reader_id=reader.pk)
    card.card_payment_cancel(payment=waiting, actor=bistro.server)
    deliver(receiver)
    stripe_on.dispatcher.wait_idle()
    traffic = stripe_on.take_traffic()
    seen = {
        stripe_conformance.endpoint_for(e["method"], e["path"]).operation
        for e in traffic
        if e["kind"] == "api"
    }
    assert seen >= {
        "terminal.locations.create",
        "terminal.readers.create",
        "terminal.connection_tokens.create",
        "payment_intents.create",
        "terminal.readers.process_payment_intent",
        "test_helpers.terminal.readers.present_payment_method",
        "payment_intents.retrieve",
        "payment_intents.capture",
        "refunds.create",
        "terminal.readers.retrieve",
        "terminal.readers.cancel_action",
        "payment_intents.cancel",
    }, seen
    assert sum(e["kind"] == "event" for e in traffic) > 10
    assert stripe_conformance.check_traffic(traffic) == []


# --- on-reader tipping: a Terminal Configuration per venue, from its tip presets ---------------


def configuration_of(emulator, location: TerminalLocation) -> dict:
    with emulator.state.lock:
        assert emulator.state.locations[location.stripe_id]["configuration_overrides"] == (
            location.configuration_id
        )
        return dict(emulator.state.configurations[location.configuration_id])


def tip_on_reader(bistro, reader, table, item, tip: int, tab=None) -> Payment:
    if tab is None:
        tab, _ = table_check(bistro, table=table, lines=[(item, 1)])
    payment = card.card_payment_start(
        tab=tab, actor=bistro.server, reader_id=reader.pk, tip_on_reader=True
    )
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA, tip=tip)
    return card.card_payment_sync(payment=payment)


def test_the_readers_offer_the_venues_tip_presets_and_follow_them(bistro, till, stripe_on):
    reader = card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Table reader", registration_code="simulated-wpe"
    )
    location = TerminalLocation.objects.get(venue=bistro.venue)
    configuration = configuration_of(stripe_on, location)
    assert configuration["tipping"] == {
        "eur": {"percentages": [5, 10, 15], "fixed_amounts": None, "smart_tip_threshold": None}
    }
    paid = tip_on_reader(bistro, reader, bistro.table12, bistro.steak, tip=245)
    assert (paid.status, paid.tip) == ("succeeded", 245)

    # new presets, smart tips below €10: the next payment with the tip on the reader uses them
    venue = bistro.venue
    venue.tip_presets, venue.tip_smart_threshold, venue.tip_fixed_amounts = (
        [10, 15, 18, 20],
        1000,
        [100, 200],
    )
    venue.save()
    tab, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.beer, 1)])
    waiting = card.card_payment_start(
        tab=tab, actor=bistro.server, reader_id=reader.pk, tip_on_reader=True
    )
    assert configuration_of(stripe_on, location)["tipping"] == {
        "eur": {
            "percentages": [10, 15, 18],
            "fixed_amounts": [100, 200],
            "smart_tip_threshold": 1000,
        }
    }
    # a €4.50 beer is below the threshold: the reader offers the fixed amounts
    assert card.reader_tip_suggestions(reader=reader, currency="eur", eligible=450) == [
        {"percent": None, "amount": 100},
        {"percent": None, "amount": 200},
    ]
    assert card.reader_tip_suggestions(reader=reader, currency="eur", eligible=2450) == [
        {"percent": 10, "amount": 245},
        {"percent": 15, "amount": 368},
        {"percent": 18, "amount": 441},
    ]
    card.card_payment_cancel(payment=waiting, actor=bistro.server)

    # no presets: the Configuration's tipping is unset and the reader takes no tip
    venue.tip_presets = []
    venue.save()
    paid = tip_on_reader(bistro, reader, None, None, tip=300, tab=tab)
    assert configuration_of(stripe_on, location)["tipping"] is None
    assert (paid.status, paid.tip) == ("succeeded", 0)
    assert card.reader_tip_suggestions(reader=reader, currency="eur", eligible=450) == []


def test_a_location_made_before_configurations_gets_one(bistro, till, stripe_on):
    created = stripe_api.location_create(
        display_name="Bistro", address=card.location_address(bistro.venue), configuration=None
    )
    location = TerminalLocation.objects.create(
        venue=bistro.venue, stripe_id=created["id"], display_name="Bistro"
    )
    reader = card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Old reader", registration_code="simulated-wpe"
    )
    paid = tip_on_reader(bistro, reader, bistro.table12, bistro.steak, tip=200)
    assert (paid.status, paid.tip) == ("succeeded", 200)
    location.refresh_from_db()
    assert location.configuration_id.startswith("tmc_")
    assert configuration_of(stripe_on, location)["tipping"]["eur"]["percentages"] == [5, 10, 15]


def test_saving_the_venue_in_the_admin_updates_the_readers_tips(client, bistro, stripe_on):
    card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Bar", registration_code="simulated-wpe"
    )
    owner = bistro.manager  # managers may not edit the venue; make one an owner for this
    owner.role = "owner"
    owner.save()
    owner.user.is_staff = True
    owner.user.save()
    client.force_login(owner.user)
    venue = bistro.venue
    change = reverse("admin:restaurant_venue_change", args=[venue.pk])
    form = client.get(change).context["adminform"].form
    data = {
        name: ("on" if value is True else value)
        for name, value in form.initial.items()
        if value is not None and value is not False and name in form.fields
    }
    data.update(tip_presets="[8, 12]", tip_fixed_amounts="[]", tip_smart_threshold="0")
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    location = TerminalLocation.objects.get(venue=venue)
    assert configuration_of(stripe_on, location)["tipping"]["eur"]["percentages"] == [8, 12]
    assert location.tipping == {"eur": {"percentages": [8, 12]}}
    page = client.get(reverse("admin:payments_terminallocation_change", args=[location.pk]))
    assert "8%, 12%" in page.content.decode()


def test_the_simulated_readers_page_shows_the_tips_the_reader_offers(client, bistro, stripe_on):
    reader = card.card_reader_register(
        actor=SETUP, venue=bistro.venue, label="Table reader", registration_code="simulated-wpe"
    )
    user = bistro.manager.user
    user.is_staff = True
    user.save()
    client.force_login(user)
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk, tip_on_reader=True)
    page = client.get(reverse("payments:readers")).content.decode()
    assert 'value="368" data-percent="15"' in page  # 15% of the €24.50 steak
    # with smart tips below €30, a €24.50 steak gets the fixed amounts
    bistro.venue.tip_smart_threshold, bistro.venue.tip_fixed_amounts = 3000, [100, 250]
    bistro.venue.save()
    card.terminal_configuration_ensure(venue=bistro.venue)
    page = client.get(reverse("payments:readers")).content.decode()
    assert 'data-percent="15"' not in page
    assert 'value="100" data-fixed' in page and 'value="250" data-fixed' in page


# --- a refused or repeated "try again" changes nothing (issue 19, point 7) ---------------------


def card_state(payment: Payment) -> tuple:
    """What a refused or pointless retry must leave as it was."""
    payment = Payment.objects.get(pk=payment.pk)
    return (
        payment.attempts,
        payment.failure_code,
        payment.failure_message,
        payment.updated_at,
        StripeCall.objects.filter(payment=payment).count(),
        Event.objects.count(),
        Check.objects.get(pk=payment.tab_id).version,
    )


def stripe_writes(emulator) -> list[str]:
    return [
        stripe_conformance.endpoint_for(e["method"], e["path"]).operation
        for e in emulator.take_traffic()
        if e["kind"] == "api" and e["method"] != "GET"
    ]


def test_try_again_while_the_reader_shows_this_payment_changes_nothing(
    bistro, till, reader, receiver, stripe_on
):
    from tests.pos.conftest import pair_device, sign_in

    api = sign_in(pair_device(bistro.venue), "1111")
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    started = api.post(f"checks/{tab.pk}/card-payments", {"reader": reader.pk}, key="s1")
    payment = Payment.objects.get(pk=started.json()["payment"]["id"])
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    again = api.post(f"card-payments/{payment.pk}/retry", key="r1")
    assert again.status_code == 200 and again.json()["payment"]["attempts"] == 2
    deliver(receiver)
    before = card_state(payment)
    stripe_on.take_traffic()
    # the reader shows this payment (attempt 2): tapping "try again" once more is not "busy"
    twice = api.post(f"card-payments/{payment.pk}/retry", key="r2")
    assert twice.status_code == 200, twice.content
    assert twice.json()["payment"]["attempts"] == 2
    assert twice.json()["payment"]["failure_code"] == ""
    assert card_state(payment) == before
    assert stripe_writes(stripe_on) == []  # looked, sent nothing
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver)
    payment.refresh_from_db()
    assert (payment.status, payment.attempts) == ("succeeded", 2)


def test_try_again_refused_by_a_reader_busy_with_another_payment_changes_nothing(
    bistro, till, reader, receiver, stripe_on
):
    from tests.pos.conftest import pair_device, sign_in

    api = sign_in(pair_device(bistro.venue), "1111")
    first, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=first, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    other, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.steak, 1)])
    card.card_payment_start(tab=other, actor=bistro.server, reader_id=reader.pk)  # on the reader
    deliver(receiver)
    before = card_state(payment)
    assert before[1] == "generic_decline"
    stripe_on.take_traffic()
    busy = api.post(f"card-payments/{payment.pk}/retry", key="r1")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "terminal_reader_busy"
    assert card_state(payment) == before  # attempts, the decline shown, keys, events: as they were
    assert stripe_writes(stripe_on) == []
    # the same tap again later, once the reader is free, is a real new attempt
    card.card_payment_cancel(payment=Payment.objects.get(tab=other), actor=bistro.server)
    retried = api.post(f"card-payments/{payment.pk}/retry", key="r2")
    assert retried.status_code == 200 and retried.json()["payment"]["attempts"] == 2
    assert stripe_writes(stripe_on)[-1] == "terminal.readers.process_payment_intent"


def test_an_earlier_attempts_decline_is_not_recorded_again(
    bistro, till, reader, receiver, stripe_on
):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    payment = card.card_payment_retry(payment=payment, actor=bistro.server)
    assert (payment.attempts, payment.failure_code) == (2, "")
    # The PaymentIntent still carries attempt 1's last_payment_error; whatever asks Stripe now
    # (a poll, a late webhook) while attempt 2 is not on the reader must not bring it back.
    stripe_api.reader_cancel_action(reader.stripe_id, idempotency_key="cleared-elsewhere")
    before = card_state(payment)
    payment = card.card_payment_sync(payment=payment)
    assert payment.failure_code == "" and card_state(payment) == before
    # no failure known: "try again" sends nothing (attempt 2 may still be on its way)
    card.card_payment_retry(payment=payment, actor=bistro.server)
    assert card_state(payment) == before


def test_a_start_refused_by_the_reader_puts_its_attempt_back(bistro, till, reader, stripe_on):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    stripe_on.apply_faults({"reader_offline": reader.stripe_id})
    with pytest.raises(stripe_api.StripeFailure) as exc:
        card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    assert exc.value.code == "terminal_reader_offline"
    payment = Payment.objects.get(tab=tab)
    assert (payment.attempts, payment.failure_code) == (0, "terminal_reader_offline")
    assert not StripeCall.objects.filter(payment=payment, operation__startswith="process")
    stripe_on.apply_faults({"reader_online": reader.stripe_id})
    payment = card.card_payment_retry(payment=payment, actor=bistro.server)
    assert (payment.attempts, payment.failure_code) == (1, "")


# --- two tablets at once: one idempotency key in flight is "wait", never a failure -------------


def two_tablets(bistro):
    from tests.pos.conftest import pair_device, sign_in

    return (
        sign_in(pair_device(bistro.venue, "Tablet 1"), "1111"),
        sign_in(pair_device(bistro.venue, "Tablet 2"), "3333"),
    )


def both(*calls) -> list:
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tablets_starting_one_card_payment_at_once_share_it_without_a_failure(
    bistro, till, reader, receiver, stripe_on, settings
):
    # Stripe takes its time, and the SDK does not retry: Brigade itself waits out the 409
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_on.apply_faults(
        {
            "slow_next": [
                {"op": "payment_intents.create", "ms": 400},
                {"op": "process_payment_intent", "ms": 400},
            ]
        }
    )
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    one, two = two_tablets(bistro)
    answers = both(
        lambda: one.post(f"checks/{tab.pk}/card-payments", {"reader": reader.pk}, key="t1"),
        lambda: two.post(f"checks/{tab.pk}/card-payments", {"reader": reader.pk}, key="t2"),
    )
    assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
    assert len({a.json()["payment"]["id"] for a in answers}) == 1
    payment = Payment.objects.get(tab=tab)
    assert (payment.attempts, payment.failure_code) == (1, "")
    sent = [
        (e["path"], e["status"])
        for e in stripe_on.take_traffic()
        if e["kind"] == "api" and e["method"] == "POST"
    ]
    creates = [status for path, status in sent if path == "/v1/payment_intents"]
    assert 409 in creates and creates.count(200) >= 1  # in flight, then the replay
    assert len(intents(stripe_on)) == 1
    assert sum(path.endswith("/process_payment_intent") for path, _ in sent) == 1
    assert stripe_api.reader_retrieve(reader.stripe_id)["action"]["status"] == "in_progress"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tablets_trying_again_at_once_send_one_attempt(
    bistro, till, reader, receiver, stripe_on, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
    deliver(receiver)
    stripe_on.take_traffic()
    stripe_on.apply_faults({"slow_next": {"op": "process_payment_intent", "ms": 400}})
    one, two = two_tablets(bistro)
    answers = both(
        lambda: one.post(f"card-payments/{payment.pk}/retry", key="a"),
        lambda: two.post(f"card-payments/{payment.pk}/retry", key="b"),
    )
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    payment.refresh_from_db()
    assert (payment.attempts, payment.failure_code) == (2, "")
    processed = [
        e
        for e in stripe_on.take_traffic()
        if e["kind"] == "api" and e["path"].endswith("/process_payment_intent")
    ]
    assert [e["status"] for e in processed] == [200]  # one attempt, sent once
    stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
    deliver(receiver)
    payment.refresh_from_db()
    assert payment.status == "succeeded"


# --- webhooks in the endpoint's version, the reader's own failures -----------------------------


def test_a_webhook_endpoint_on_an_older_api_version_still_records_payments(
    bistro, till, reader, receiver, stripe_on, caplog
):
    stripe_on.configure({"webhook_api_version": "2026-03-25.dahlia"})
    try:
        tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
        payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
        stripe_api.reader_present_test_card(reader.stripe_id, number=DECLINED)
        deliver(receiver)
        payment.refresh_from_db()
        assert payment.failure_code == "generic_decline"
        payment = card.card_payment_retry(payment=payment, actor=bistro.server)
        stripe_api.reader_present_test_card(reader.stripe_id, number=VISA)
        deliver(receiver)
        payment.refresh_from_db()
        assert payment.status == "succeeded"
        stored = WebhookEvent.objects.first().payload
        assert stored["api_version"] == "2026-03-25.dahlia"
        assert "set the webhook endpoint's version" in caplog.text
    finally:
        stripe_on.configure({"webhook_api_version": ""})


def test_a_failure_on_the_reader_itself_is_recorded_from_the_reader(
    bistro, till, reader, receiver, stripe_on
):
    """The guest cancels on the reader (no API error behind it): the tablet hears why."""
    stripe_on.configure({"cancel_action_style": "failed"})
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    payment = card.card_payment_start(tab=tab, actor=bistro.server, reader_id=reader.pk)
    deliver(receiver)
    stripe_api.reader_cancel_action(reader.stripe_id, idempotency_key="guest-canceled")
    deliver(receiver)
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("pending", "canceled")
    assert payment.failure_message == "The action was canceled."
    # a late copy of an earlier failure does not undo a new attempt on the reader
    late = [e for e in stripe_on.state.events.values() if e["type"].endswith("action_failed")]
    payment = card.card_payment_retry(payment=payment, actor=bistro.server)
    assert (payment.attempts, payment.failure_code) == (2, "")
    event = json.dumps({**late[-1], "id": "evt_late_copy"})
    from payments.stripe_emulator import sign

    response = Client().post(
        "/payments/stripe/webhook/",
        event,
        content_type="application/json",
        headers={"Stripe-Signature": sign(event, SECRET)},
    )
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.failure_code == ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_phones_starting_tap_to_pay_for_one_part_get_one_payment_intent(
    bistro, till, receiver, stripe_on, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    tab, _ = table_check(bistro, lines=[(bistro.risotto, 1)])
    one, two = two_tablets(bistro)
    one.post("terminal/connection-token", key="tok")  # the location exists (one-time set-up)
    stripe_on.apply_faults({"slow_next": {"op": "payment_intents.create", "ms": 500}})
    answers = both(
        lambda: one.post(f"checks/{tab.pk}/card-payments", {"channel": "tap_to_pay"}, key="p1"),
        lambda: two.post(f"checks/{tab.pk}/card-payments", {"channel": "tap_to_pay"}, key="p2"),
    )
    assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
    secrets = {a.json()["client_secret"] for a in answers}
    assert len(secrets) == 1 and None not in secrets
    assert len(intents(stripe_on)) == 1
    statuses = [
        e["status"]
        for e in stripe_on.take_traffic()
        if e["kind"] == "api" and e["path"] == "/v1/payment_intents"
    ]
    assert 409 in statuses  # the second phone met the first one's request in flight


def test_registering_a_reader_is_for_who_manages_the_drawers(bistro, stripe_on):
    from restaurant.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        card.card_reader_register(
            actor=bistro.server, venue=bistro.venue, label="Bar", registration_code="simulated-wpe"
        )
    assert not CardReader.objects.filter(venue=bistro.venue).exists()
    reader = card.card_reader_register(
        actor=bistro.manager, venue=bistro.venue, label="Bar", registration_code="simulated-wpe"
    )
    assert reader.venue_id == bistro.venue.pk
