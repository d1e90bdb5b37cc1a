"""Hostile input is a clear 4xx at every JSON edge, never a 500 (issue 19, point 6).

One loader (restaurant/jsonio.py) reads the API's bodies, the kitchen screens' calls, Stripe's
webhooks and every websocket message: nesting, numbers and text are bounded there, and the
services bound what they add up (a drawer count). Each refusal is checked to change nothing.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from kitchen.models import Ticket
from kitchen.services import lines_send
from orders.services import check_open, line_add
from payments.models import Drawer, DrawerSession, WebhookEvent
from payments.services import drawer_open
from restaurant.asgi import application
from restaurant.jsonio import json_loads
from restaurant.models import Device
from restaurant.services import DEVICE_COOKIE, device_create, device_pair
from tests.actors import SETUP
from tests.pos.conftest import add_line, open_table, state

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["field"] == field, error
    assert error["message"]
    return error


# --- the shared loader ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (DEEP, "invalid_json", None),
        (DEEP_OBJECT, "invalid_json", None),
        ('{"a": [1, {"q": 1e400}]}', "invalid_type", "a.1.q"),
        ('{"a": ' + "9" * 5000 + "}", "invalid_type", "a"),
        ('{"counted": 100000000000000000000}', "invalid_type", "counted"),
        ("[NaN]", "invalid_json", None),
        ('{"x": Infinity}', "invalid_json", None),
        ('"\\ud800"', "invalid_json", None),
        ('{"\\udc00": 1}', "invalid_json", None),
        (b"\xff\xfe{", "invalid_json", None),
    ],
)
def test_the_loader_refuses_what_no_client_sends(raw, code, field):
    from restaurant.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        json_loads(raw)
    assert (exc.value.code, exc.value.field) == (code, field)


def test_the_loader_reads_what_clients_send():
    assert json_loads('{"a": [1, 2.5, "\\ud83d\\ude00"], "b": {"c": null}}') == {
        "a": [1, 2.5, "😀"],
        "b": {"c": None},
    }
    assert json_loads("[" * 32 + "]" * 32) is not None
    assert json_loads(str(2**53 - 1)) == 2**53 - 1


# --- drawer close: denominations and totals -------------------------------------------------


@pytest.fixture
def till(place):
    drawer = Drawer.objects.create(venue=place.venue, name="Bar till")
    return drawer_open(drawer=drawer, actor=place.manager, opening_float=15000)


def drawer_state(session) -> tuple:
    session.refresh_from_db()
    return (session.status, session.counted, session.denominations, DrawerSession.objects.count())


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"denominations": {"5000": 10**20}}, 400, "invalid_type", "denominations.5000"),
        ({"denominations": {"5000": 10**15}}, 400, "invalid", "denominations"),
        ({"denominations": {"1" * 30: 1}}, 400, "invalid", "denominations"),
        ({"denominations": {"9" * 5000: 1}}, 400, "invalid", "denominations"),
        ({"denominations": {"٥": 1}}, 400, "invalid", "denominations"),
        ({"denominations": {"10000000": 100000}}, 400, "count_too_large", "denominations"),
        ({"denominations": {str(v): 1 for v in range(1, 60)}}, 400, "invalid", "denominations"),
        ({"counted": 10**20}, 400, "invalid_type", "counted"),
        ({"counted": 10**15}, 400, "invalid", "counted"),
    ],
)
def test_a_drawer_count_out_of_range_is_400_and_the_drawer_stays_open(
    place, manager_api, till, body, status, code, field
):
    before = drawer_state(till)
    response = manager_api.post(f"drawer-sessions/{till.pk}/close", body)
    assert_error(response, status, code, field)
    assert drawer_state(till) == before
    assert before[0] == DrawerSession.Status.OPEN


def test_a_drawer_count_in_range_still_closes(place, manager_api, till):
    response = manager_api.post(
        f"drawer-sessions/{till.pk}/close", {"denominations": {"5000": 3}, "counted": 15000}
    )
    assert response.status_code == 200, response.content
    assert response.json()["session"]["variance"] == 0


# --- the API, the kitchen screens and the webhook: 100,000 deep -----------------------------


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT])
def test_a_deeply_nested_api_body_is_400(place, server_api, raw):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.soup)
    before = state(check["id"])
    for path in (f"checks/{check['id']}/lines", f"checks/{check['id']}/send", "auth/pair"):
        assert_error(server_api.post(path, raw=raw), 400, "invalid_json")
    assert state(check["id"]) == before


def kitchen_screen(place):
    device = device_create(
        venue=place.venue,
        name="Grill screen",
        kind=Device.Kind.KITCHEN_SCREEN,
        station=place.grill,
        actor=SETUP,
    )
    _device, token = device_pair(code=device.pairing_code)
    client = Client(enforce_csrf_checks=True)
    client.cookies[DEVICE_COOKIE] = token
    client.csrf = secrets.token_hex(16)
    client.cookies["csrftoken"] = client.csrf
    return client, token


def sent_ticket(place) -> Ticket:
    tab = check_open(venue=place.venue, actor=place.server, kind="takeaway")
    line_add(tab=tab, actor=place.server, item=place.soup)
    return lines_send(tab=tab, actor=place.server).tickets[0]


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT, '{"status": "ready", "x": 1e999}'])
def test_a_deeply_nested_kitchen_screen_call_is_400(place, raw):
    client, _token = kitchen_screen(place)
    ticket = sent_ticket(place)
    item = ticket.items.get()
    before = (ticket.bumped_at, item.status)
    for path in (
        f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump",
        f"/api/v1/kitchen/stations/grill/items/{item.pk}/status",
    ):
        response = client.post(
            path, raw, content_type="application/json", headers={"X-CSRFToken": client.csrf}
        )
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] in {"invalid_json", "invalid_type"}
    ticket.refresh_from_db()
    item.refresh_from_db()
    assert (ticket.bumped_at, item.status) == before


def signed(payload: str, secret: str) -> str:
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


@pytest.mark.parametrize(
    "payload",
    [
        '{"id": "evt_deep", "type": "x", "data": ' + DEEP + "}",
        '{"id": "evt_deep", "type": "x", "data": ' + DEEP_OBJECT + "}",
        '{"id": "evt_big", "type": "x", "data": {"amount": 1e999}}',
    ],
)
def test_a_deeply_nested_signed_webhook_is_400_and_not_stored(settings, db, payload):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_depth"
    response = Client().post(
        "/payments/stripe/webhook/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": signed(payload, settings.STRIPE_WEBHOOK_SECRET)},
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"invalid_json", "invalid_type"}
    assert not WebhookEvent.objects.exists()


# --- websockets: a hostile message is answered, the socket stays open -----------------------

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
HOSTILE = [DEEP, DEEP_OBJECT, '{"type": "catchup", "after": 1e999}', '"\\ud800"', "x" * 300_000]


async def _hostile_messages_are_answered(path: str, cookie: str) -> None:
    communicator = WebsocketCommunicator(
        application, path, headers=[*ORIGIN, (b"cookie", cookie.encode())]
    )
    connected, _code = await communicator.connect(timeout=5)
    assert connected
    try:
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello"
        for message in HOSTILE:
            await communicator.send_to(text_data=message)
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "error" and reply["error"]["code"] == "bad_request"
        # Still open and working afterwards.
        await communicator.send_json_to({"type": "ping", "id": 1})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "pong"
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_hostile_websocket_messages_never_close_the_kitchen_socket(place):
    _client, token = kitchen_screen(place)
    asyncio.run(_hostile_messages_are_answered("/ws/kds/grill/", f"{DEVICE_COOKIE}={token}"))


@pytest.mark.django_db(transaction=True)
def test_hostile_websocket_messages_never_close_the_tablet_socket(place):
    from tests.pos.conftest import tablet

    api = tablet(place.venue, "1111")
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in api.client.cookies.items())
    asyncio.run(_hostile_messages_are_answered("/ws/pos/", cookies))


def test_the_ping_socket_answers_hostile_messages_too():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=ORIGIN)
        connected, _code = await communicator.connect(timeout=5)
        assert connected
        try:
            await communicator.send_to(text_data=DEEP)
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "error"
            await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 3}))
            assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())
