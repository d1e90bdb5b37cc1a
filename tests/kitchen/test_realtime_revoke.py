"""Revoking a device closes its open websockets (restaurant.services.device_revoke).

A screen revoked in the back office while its socket is open must hear nothing more: after
the revocation commits, every socket of that device (and only of that device) is closed with
4403, which the clients take as "pair this device again". Through the real ASGI application
on the in-memory channel layer; tests/kitchen/test_realtime_redis.py does it across processes.
"""

import asyncio
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from kitchen import consumers as kitchen_consumers
from kitchen import services as kitchen
from kitchen.screens import DEVICE_COOKIE
from orders.services import check_open, line_add
from restaurant.asgi import application
from restaurant.models import Device, StaffMember
from restaurant.realtime import CLOSE_REVOKED
from restaurant.services import device_create, device_pair, device_revoke
from tests.actors import SETUP
from tests.e2e.conftest import manage, server_env
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    VenueFactory,
)
from tests.kitchen.test_realtime_redis import screen_socket
from tests.kitchen.ws_client import Closed
from tests.pos.conftest import tablet
from tests.servers import Daphne

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture
def place():
    venue = VenueFactory(name="Brasserie")
    grill = StationFactory(venue=venue, slug="grill", name="Grill", sort_order=1)
    expo = StationFactory(venue=venue, slug="expo", name="Expo", is_expo=True, sort_order=9)
    daan = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan", pin="1111")
    steak = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=grill), name="Steak"
    )
    return SimpleNamespace(**locals())


def screen(venue, station) -> tuple[Device, str]:
    device = device_create(
        venue=venue, name=f"{station.name} screen", kind="kds", station=station, actor=SETUP
    )
    return device, device_pair(code=device.pairing_code)[1]


def socket(path: str, cookies: dict[str, str]) -> WebsocketCommunicator:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return WebsocketCommunicator(application, path, headers=[*ORIGIN, (b"cookie", header.encode())])


async def open_socket(path: str, cookies: dict[str, str]) -> WebsocketCommunicator:
    communicator = socket(path, cookies)
    connected, _code = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


def send_steak(place, table: str) -> None:
    tab = check_open(
        venue=place.venue,
        actor=place.daan,
        kind="table",
        table=TableFactory(venue=place.venue, name=table),
        guest_count=2,
    )
    line_add(tab=tab, actor=place.daan, item=place.steak)
    kitchen.lines_send(tab=tab, actor=place.daan)


async def frame_with(communicator, event_type: str, **data) -> dict:
    """The first `events` frame with an event of that type (and those data)."""

    def matches(event):
        return event["type"] == event_type and all(
            event["data"].get(k) == v for k, v in data.items()
        )

    async with asyncio.timeout(5):
        while True:
            message = await communicator.receive_json_from(timeout=5)
            if message["type"] == "events" and any(matches(e) for e in message["events"]):
                return message


@pytest.mark.django_db(transaction=True)
def test_revoking_a_screen_closes_its_sockets_and_leaves_the_others_open(place):
    grill_device, grill_token = screen(place.venue, place.grill)
    _expo_device, expo_token = screen(place.venue, place.expo)
    api = tablet(place.venue, "1111")
    tablet_cookies = {name: morsel.value for name, morsel in api.client.cookies.items()}

    async def scenario():
        # The grill screen has two sockets open (a second tab, a reload not yet noticed).
        grill = [await open_socket("/ws/kds/grill/", {DEVICE_COOKIE: grill_token}) for _ in "ab"]
        expo = await open_socket("/ws/kds/expo/", {DEVICE_COOKIE: expo_token})
        pos = await open_socket("/ws/pos/", tablet_cookies)
        try:
            revoked = await database_sync_to_async(device_revoke)(device=grill_device, actor=SETUP)
            assert revoked.revoked_at is not None
            for communicator in grill:
                assert await communicator.receive_output(timeout=5) == {
                    "type": "websocket.close",
                    "code": CLOSE_REVOKED,
                }
            # The next order reaches the others; the revoked screen hears nothing of it.
            await database_sync_to_async(send_steak)(place, "4")
            created = await frame_with(expo, "ticket.created")
            assert created["events"][-1]["data"]["station"] == "grill"
            await frame_with(pos, "check.changed", kitchen=True)  # the tablet hears the send
            for communicator in grill:
                assert await communicator.receive_nothing(timeout=0.3)
            # The others are still live: a ping is answered.
            for communicator in (expo, pos):
                await communicator.send_json_to({"type": "ping", "id": 1})
                async with asyncio.timeout(5):
                    while (await communicator.receive_json_from(timeout=5))["type"] != "pong":
                        pass
            # And the revoked screen cannot come back.
            again = socket("/ws/kds/grill/", {DEVICE_COOKIE: grill_token})
            assert (await again.connect(timeout=5))[0]
            assert (await again.receive_output(timeout=5))["code"] == 4401
            await again.disconnect()
        finally:
            for communicator in (*grill, expo, pos):
                await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_revoking_a_tablet_closes_its_socket(place):
    api = tablet(place.venue, "1111", name="Floor tablet")
    cookies = {name: morsel.value for name, morsel in api.client.cookies.items()}
    device = Device.objects.get(name="Floor tablet")

    async def scenario():
        pos = await open_socket("/ws/pos/", cookies)
        try:
            await database_sync_to_async(device_revoke)(device=device, actor=SETUP)
            assert await pos.receive_output(timeout=5) == {
                "type": "websocket.close",
                "code": CLOSE_REVOKED,
            }
        finally:
            await pos.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_a_revocation_rolled_back_closes_nothing(place):
    device, token = screen(place.venue, place.grill)

    def revoke_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            device_revoke(device=device, actor=SETUP)
            raise RuntimeError("the back office request failed later on")

    async def scenario():
        grill = await open_socket("/ws/kds/grill/", {DEVICE_COOKIE: token})
        try:
            await database_sync_to_async(revoke_then_fail)()
            assert await grill.receive_nothing(timeout=0.3)
            await database_sync_to_async(send_steak)(place, "5")
            assert (await frame_with(grill, "ticket.created"))["type"] == "events"
        finally:
            await grill.disconnect()

    asyncio.run(scenario())
    device.refresh_from_db()
    assert device.revoked_at is None


@pytest.mark.django_db(transaction=True)
def test_a_screen_revoked_while_its_socket_connects_is_closed(place, monkeypatch):
    """Revoked after the socket's authentication but before it joined the device's group:
    the revocation's message reached nobody, so the socket checks again once it has joined."""
    device, token = screen(place.venue, place.grill)
    authenticate = kitchen_consumers._authenticate

    async def authenticate_then_revoke(scope, slug):
        identity = await authenticate(scope, slug)
        await database_sync_to_async(device_revoke)(device=device, actor=SETUP)
        return identity

    monkeypatch.setattr(kitchen_consumers, "_authenticate", authenticate_then_revoke)

    async def scenario():
        communicator = socket("/ws/kds/grill/", {DEVICE_COOKIE: token})
        try:
            assert (await communicator.connect(timeout=5))[0]
            assert await communicator.receive_output(timeout=5) == {
                "type": "websocket.close",
                "code": CLOSE_REVOKED,
            }
            await database_sync_to_async(send_steak)(place, "6")
            assert await communicator.receive_nothing(timeout=0.3)
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("revoke-template")
    manage(data_dir, "migrate", "--noinput", "-v", "0")
    return data_dir


@pytest.mark.redis
def test_a_revocation_in_another_process_closes_the_socket_through_redis(tmp_path, migrated):
    """The back office runs in one process, the screen's socket in another (daphne): the
    close goes through the Redis channel layer."""
    for path in migrated.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / path.name)
    layer_env = {
        "REDIS_URL": os.environ["REDIS_URL"],
        "CHANNELS_PREFIX": f"brigade-test-{uuid.uuid4().hex[:12]}",
    }

    def shell(code: str) -> str:
        return manage(tmp_path, "shell", "-c", code, **layer_env).stdout

    venue = json.loads(
        shell("from tests.kitchen.test_realtime_redis import setup_venue; setup_venue()")
        .strip()
        .splitlines()[-1]
    )
    server = Daphne("screens", {**server_env(tmp_path), **layer_env}, tmp_path)
    try:
        ws = screen_socket(server, venue["screen_token"])
        try:
            assert ws.recv_json()["type"] == "hello"
            # The back office's process revokes; meanwhile the screen reads its socket (and
            # answers daphne's websocket pings, as a browser does).
            revoke = threading.Thread(
                target=shell,
                args=(
                    "from restaurant.models import Device; from restaurant.services import"
                    " device_revoke; from restaurant.permissions import SystemActor;"
                    " device_revoke(device=Device.objects.get(name='Grill screen'),"
                    " actor=SystemActor('test setup'))",
                ),
            )
            revoke.start()
            with pytest.raises(Closed) as closed:
                ws.recv_until(lambda m: False, timeout=120)
            revoke.join()
            assert closed.value.code == CLOSE_REVOKED
        finally:
            ws.close()
    finally:
        server.stop()
