"""Kitchen screens across several server processes, through Redis (needs REDIS_URL).

Two daphne processes share one database (a temporary SQLite file) and one Redis channel layer,
as in production behind a load balancer. A screen's websocket is on process B; orders are
sent through process A's JSON API, as a tablet would. The sockets are real: the test speaks
RFC 6455 itself (tests/kitchen/ws_client.py).

The second test shows why the database, not the channel layer, is the truth: channels_redis
silently drops a group message for a channel that is over capacity. With a capacity of 1 and
process B stalled (SIGSTOP, like a process busy or stuck for a moment), B misses events; the
screen sees the gap in `seq` and recovers with a catch-up, ending with every ticket once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from restaurant.realtime import AUDIENCES
from tests.actors import SETUP
from tests.e2e.conftest import manage, server_env
from tests.kitchen.ws_client import ScreenModel, WebSocketClient
from tests.servers import Daphne

pytestmark = pytest.mark.redis

ORDERS_WHILE_STALLED = 6


def setup_venue() -> None:
    """Run in `manage.py shell`: a venue with a grill screen and a tablet; prints JSON."""
    from restaurant.models import StaffMember
    from restaurant.services import device_create, device_pair
    from tests.factories import (
        CategoryFactory,
        MenuItemFactory,
        StaffFactory,
        StationFactory,
        VenueFactory,
    )

    venue = VenueFactory(name="Redis brasserie")
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan", pin="1111")
    steak = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=grill), name="Steak"
    )
    screen = device_create(venue=venue, name="Grill screen", kind="kds", station=grill, actor=SETUP)
    tablet = device_create(venue=venue, name="Tablet", kind="tablet", actor=SETUP)
    print(
        json.dumps(
            {
                "screen_token": device_pair(code=screen.pairing_code)[1],
                "tablet_code": tablet.pairing_code,
                "steak": steak.pk,
            }
        )
    )


class Api:
    """A tablet on /api/v1/ (paired with a code, signed in with a PIN), without proxies."""

    def __init__(self, base: str, pairing_code: str, pin: str):
        self.base = base + "/api/v1/"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.auth = None
        self.auth = "Device " + self.call("POST", "auth/pair", {"code": pairing_code})["token"]
        self.auth = "Bearer " + self.call("POST", "auth/pin", {"pin": pin})["token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        if self.auth:
            headers["Authorization"] = self.auth
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            pytest.fail(f"{method} {path}: {error.code} {error.read()!r}")

    def send_steak(self, item: int) -> int:
        check = self.call("POST", "checks", {"kind": "takeaway"})["check"]
        self.call("POST", f"checks/{check['id']}/lines", {"item": item})
        return self.call("POST", f"checks/{check['id']}/send", {})["tickets"][0]["id"]


def snapshot(server: Daphne, token: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        server.url + "/api/v1/kitchen/stations/grill/snapshot",
        headers={"Cookie": f"brigade_device={token}"},
    )
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def screen_socket(server: Daphne, token: str) -> WebSocketClient:
    return WebSocketClient(
        server.url.replace("http", "ws", 1) + "/ws/kds/grill/",
        headers={"Origin": server.url, "Cookie": f"brigade_device={token}"},
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A data directory with a migrated SQLite database, copied by each test."""
    data_dir = tmp_path_factory.mktemp("redis-template")
    manage(data_dir, "migrate", "--noinput", "-v", "0")
    return data_dir


@pytest.fixture
def cluster(tmp_path, migrated):
    """Two daphne processes over one SQLite file and one Redis; yields a factory."""
    started: list[Daphne] = []
    for path in migrated.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / path.name)

    def start(capacity: int = 100, log_level: str = "WARNING"):
        env = {
            **server_env(tmp_path),
            "REDIS_URL": os.environ["REDIS_URL"],
            "CHANNELS_PREFIX": f"brigade-test-{uuid.uuid4().hex[:12]}",
            "CHANNELS_CAPACITY": str(capacity),
            "LOG_LEVEL": log_level,
        }
        result = manage(
            tmp_path,
            "shell",
            "-c",
            "from tests.kitchen.test_realtime_redis import setup_venue; setup_venue()",
            **{k: v for k, v in env.items() if k.startswith(("REDIS", "CHANNELS"))},
        )
        venue = json.loads(result.stdout.strip().splitlines()[-1])
        a = Daphne("a", env, tmp_path)
        started.append(a)
        b = Daphne("b", env, tmp_path)
        started.append(b)
        return a, b, venue

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def kitchen_frames(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "events"]


def test_an_order_sent_through_one_process_reaches_a_screen_on_another(cluster):
    a, b, venue = cluster()
    ws = screen_socket(b, venue["screen_token"])
    try:
        hello = ws.recv_json()
        assert hello["type"] == "hello"
        tablet = Api(a.url, venue["tablet_code"], "1111")
        ticket = tablet.send_steak(venue["steak"])
        messages = ws.recv_until(
            lambda m: m["type"] == "events" and m["events"][-1]["type"] == "ticket.created",
            timeout=10,
        )
        (frame,) = kitchen_frames(messages)  # the send; not the opening, not the line typed
        created = frame["events"][-1]
        assert created["data"]["ticket"] == ticket and created["data"]["station"] == "grill"
        assert [e["type"] for e in frame["events"]] == ["check.changed", "ticket.created"]
        assert frame["after"] == created["seq"] - 2 and frame["seq"] == created["seq"]
        ws.send_json({"type": "ping", "id": 1})
        pong = ws.recv_until(lambda m: m["type"] == "pong")[-1]
        assert pong["seq"] == created["seq"]
    finally:
        ws.close()


def all_events(tablet: Api, after: int) -> list[dict]:
    """Every event of the venue after `after`, as the tablet API lists them."""
    return tablet.call("GET", f"events?after={after}")["events"]


def test_a_screen_that_misses_messages_over_capacity_recovers_every_ticket_once(cluster):
    """channels_redis drops what does not fit a process's capacity, silently. With a capacity
    of 1 and the screen's process stalled, the screen's socket notices what it was not told
    (on its next message, or, when the last ones were lost, on the next heartbeat) and sends
    it from the database: the screen gets every ticket, once, without asking."""
    a, b, venue = cluster(capacity=1, log_level="INFO")
    token = venue["screen_token"]
    screen = ScreenModel("grill")
    ws = screen_socket(b, token)
    try:
        hello = ws.recv_json()
        screen.load(snapshot(b, token))
        assert screen.last == hello["seq"] and screen.tickets == []
        tablet = Api(a.url, venue["tablet_code"], "1111")

        # Process B stalls; orders keep coming through A. Redis keeps at most `capacity`
        # messages for B's process and drops the rest, silently.
        os.kill(b.process.pid, signal.SIGSTOP)
        try:
            sent = [tablet.send_steak(venue["steak"]) for _ in range(ORDERS_WHILE_STALLED)]
        finally:
            os.kill(b.process.pid, signal.SIGCONT)
        emitted = snapshot(a, token)["seq"]

        screen.apply_messages(ws.drain(quiet=1.5))
        # The last messages are gone, so no later message shows the hole: the heartbeat does,
        # and the socket fills it before it answers.
        ws.send_json({"type": "ping", "id": 1})
        messages = ws.recv_until(lambda m: m["type"] == "pong", timeout=10)
        assert screen.apply_messages(messages)
        assert messages[-1]["seq"] == emitted == screen.last
        assert "filled" in b.log(), "nothing was dropped: the capacity was not hit"

        assert len(screen.tickets) == len(set(screen.tickets)) == ORDERS_WHILE_STALLED
        assert sorted(screen.tickets) == sorted(sent)
        kitchen = [e["seq"] for e in all_events(tablet, hello["seq"]) if AUDIENCES["kitchen"](e)]
        assert screen.applied == kitchen  # each of the kitchen's events, once, in order
        # The other way back, a snapshot from either process, agrees.
        for server in (a, b):
            assert sorted(t["id"] for t in snapshot(server, token)["tickets"]) == sorted(sent)
    finally:
        ws.close()


IDLE_SCREENS = 30
IDLE_SECONDS = 60


def test_idle_screens_on_redis_stay_connected_for_a_minute(cluster):
    """channels_redis blocks on an empty channel for 5 s; a Redis client that times out its
    reads after the same 5 s ends the consumer with 1011 now and then. Thirty idle screens,
    pinging as screens do, must all still be there after a minute, and get the next order."""
    a, _b, venue = cluster()
    sockets = [screen_socket(a, venue["screen_token"]) for _ in range(IDLE_SCREENS)]
    try:
        for ws in sockets:
            assert ws.recv_json()["type"] == "hello"
        deadline = time.monotonic() + IDLE_SECONDS
        ping = 0
        while time.monotonic() < deadline:
            time.sleep(min(10, max(0, deadline - time.monotonic())))
            ping += 1
            for index, ws in enumerate(sockets):
                ws.send_json({"type": "ping", "id": ping})
                pong = ws.recv_until(lambda m: m["type"] == "pong", timeout=10)[-1]
                assert pong["id"] == ping, f"screen {index} lost its socket"
        ticket = Api(a.url, venue["tablet_code"], "1111").send_steak(venue["steak"])
        for ws in sockets:
            frame = ws.recv_until(
                lambda m: (
                    m["type"] == "events"
                    and any(e["type"] == "ticket.created" for e in m["events"])
                ),
                timeout=10,
            )[-1]
            created = [e for e in frame["events"] if e["type"] == "ticket.created"]
            assert [e["data"]["ticket"] for e in created] == [ticket]
    finally:
        for ws in sockets:
            ws.close()
