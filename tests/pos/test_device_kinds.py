"""A device does only what its kind does (issue 19, point 3).

A kitchen screen shows its station: its token or cookie signs nobody in, opens no staff API
call and no tablet websocket. A tablet or phone is no kitchen screen. A pairing code made for
one kind is refused by the other's pairing, before it is spent.
"""

import asyncio
import secrets

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from kitchen.services import lines_send
from orders.models import Check
from orders.services import check_open, line_add
from pos.auth import SESSION_DEVICE, SESSION_SEEN, SESSION_STAFF, staff_token_for
from restaurant.asgi import application
from restaurant.models import Device, PinAttempt
from restaurant.services import DEVICE_COOKIE, device_create, device_pair
from tests.actors import SETUP
from tests.pos.conftest import Api, pair_device, state

pytestmark = pytest.mark.django_db

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def screen(place) -> tuple[Device, str]:
    device = device_create(
        venue=place.venue,
        name="Grill screen",
        kind=Device.Kind.KITCHEN_SCREEN,
        station=place.grill,
        actor=SETUP,
    )
    return device_pair(code=device.pairing_code)


def assert_wrong_kind(response):
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "wrong_device_kind"


def test_a_kitchen_screen_token_signs_nobody_in(place):
    _device, token = screen(place)
    for pin in ("1111", "2222", "9999"):
        assert_wrong_kind(Api(device=token).post("auth/pin", {"pin": pin}))
    client = Client()
    client.cookies[DEVICE_COOKIE] = token
    assert_wrong_kind(Api(client).post("auth/pin", {"pin": "1111"}))
    assert not PinAttempt.objects.exists()
    assert "pos_staff_id" not in client.session


def test_a_kitchen_screen_opens_no_staff_api_call(place):
    device, token = screen(place)
    before = state()
    # A staff token bound to the screen (as one issued before this fix would be) is refused.
    bearer = Api(token=staff_token_for(device=device, staff=place.server))
    cookie = Client()
    cookie.cookies[DEVICE_COOKIE] = token
    for api in (bearer, Api(device=token), Api(cookie)):
        assert_wrong_kind(api.get("me"))
        assert_wrong_kind(api.get("floor"))
        assert_wrong_kind(api.post("checks", {"kind": "takeaway"}))
    assert state() == before
    assert not Check.objects.exists()


def test_a_kitchen_screen_pairing_code_is_refused_by_the_api_and_the_tablet_page(place):
    device = device_create(
        venue=place.venue,
        name="Grill screen",
        kind=Device.Kind.KITCHEN_SCREEN,
        station=place.grill,
        actor=SETUP,
    )
    code = device.pairing_code
    response = Api().post("auth/pair", {"code": code})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_device_kind"
    page = Client().post("/pos/", {"code": code})
    assert page.status_code == 400 and b"kitchen screen" in page.content
    device.refresh_from_db()
    assert device.pairing_code == code and device.token_digest == ""
    # The code still pairs the screen it was made for.
    paired = Client().post("/kds/", {"code": code})
    assert paired.status_code == 302 and paired["Location"] == "/kds/grill/"


def test_a_tablet_is_no_kitchen_screen(place):
    token = pair_device(place.venue)
    client = Client(enforce_csrf_checks=True)
    client.cookies[DEVICE_COOKIE] = token
    csrf = secrets.token_hex(16)
    client.cookies["csrftoken"] = csrf
    tab = check_open(venue=place.venue, actor=place.server, kind="takeaway")
    line_add(tab=tab, actor=place.server, item=place.soup)
    ticket = lines_send(tab=tab, actor=place.server).tickets[0]
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 401
    assert client.get("/api/v1/kitchen/expo/snapshot").status_code == 401
    bump = client.post(
        f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump",
        "",
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert bump.status_code == 401
    ticket.refresh_from_db()
    assert ticket.bumped_at is None
    page = client.get("/kds/grill/")
    assert page.status_code == 200 and b"Pair this screen" in page.content


async def _ws_code(path: str, cookie: str) -> int | None:
    communicator = WebsocketCommunicator(
        application, path, headers=[*ORIGIN, (b"cookie", cookie.encode())]
    )
    _connected, _code = await communicator.connect(timeout=5)
    try:
        output = await communicator.receive_output(timeout=5)
        return output.get("code") if output["type"] == "websocket.close" else 0
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_kitchen_screen_cookie_opens_no_tablet_websocket(place):
    device, token = screen(place)
    # Even with a session that claims a staff member signed in on the screen.
    session = SessionStore()
    session[SESSION_DEVICE] = device.pk
    session[SESSION_STAFF] = place.manager.pk
    session[SESSION_SEEN] = 2**31
    session.create()
    cookie = f"{DEVICE_COOKIE}={token}; sessionid={session.session_key}"
    assert asyncio.run(_ws_code("/ws/pos/", cookie)) == 4401
    # Its own socket still opens.
    assert asyncio.run(_ws_code("/ws/kds/grill/", f"{DEVICE_COOKIE}={token}")) == 0


@pytest.mark.django_db(transaction=True)
def test_a_tablet_cookie_opens_no_kitchen_websocket(place):
    token = pair_device(place.venue)
    assert asyncio.run(_ws_code("/ws/kds/grill/", f"{DEVICE_COOKIE}={token}")) == 4401
