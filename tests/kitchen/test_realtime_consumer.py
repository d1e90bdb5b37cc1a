"""The kitchen screens' websocket, ws/kds/<station>/, through the real ASGI application.

The consumer reads the database from its own thread, and events are published after commit,
so these tests run with transaction=True (committed rows, real on_commit).
Async test bodies run with asyncio.run inside plain sync tests (no pytest-asyncio here).
"""

import asyncio
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from kitchen import services as kitchen
from kitchen.models import Ticket
from kitchen.screens import DEVICE_COOKIE
from orders.services import check_open, line_add
from restaurant.asgi import application
from restaurant.models import Event, StaffMember
from restaurant.realtime import last_seq
from restaurant.services import device_create, device_pair, device_revoke
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    VenueFactory,
)
from tests.kitchen.ws_client import ScreenModel

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def screen_token(venue, station, kind="kds") -> str:
    device = device_create(
        venue=venue, name=f"{station.name} screen", kind=kind, station=station, actor=SETUP
    )
    return device_pair(code=device.pairing_code)[1]


def headers(token: str | None) -> list[tuple[bytes, bytes]]:
    if token is None:
        return ORIGIN
    return [*ORIGIN, (b"cookie", f"{DEVICE_COOKIE}={token}".encode())]


async def connect(path: str, token: str | None):
    communicator = WebsocketCommunicator(application, path, headers=headers(token))
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive_until(communicator, predicate, timeout: float = 5.0) -> list[dict]:
    """Messages up to and including the first one matching `predicate`."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            message = await communicator.receive_json_from(timeout=timeout)
            seen.append(message)
            if predicate(message):
                return seen


@pytest.fixture
def brasserie():
    venue = VenueFactory(name="Brasserie")
    grill = StationFactory(venue=venue, slug="grill", name="Grill", sort_order=1)
    cold = StationFactory(venue=venue, slug="cold", name="Cold kitchen", sort_order=2)
    expo = StationFactory(venue=venue, slug="expo", name="Expo", is_expo=True, sort_order=9)
    daan = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan")
    steak = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=grill), name="Steak"
    )
    salad = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=cold), name="Salad"
    )
    return SimpleNamespace(**locals())


def order(place, table_name: str, *items) -> list[Ticket]:
    """Open a table, add the items and send them to the kitchen (commits: events go out)."""
    tab = check_open(
        venue=place.venue,
        actor=place.daan,
        kind="table",
        table=TableFactory(venue=place.venue, name=table_name),
        guest_count=2,
    )
    for item in items:
        line_add(tab=tab, actor=place.daan, item=item)
    return kitchen.lines_send(tab=tab, actor=place.daan).tickets


@pytest.mark.django_db(transaction=True)
def test_hello_carries_the_venues_seq_and_pings_are_answered(brasserie):
    token = screen_token(brasserie.venue, brasserie.grill)
    order(brasserie, "1", brasserie.steak)
    seq = last_seq(venue_id=brasserie.venue.pk)
    assert seq > 0
    kitchen = list(
        Event.objects.filter(venue=brasserie.venue)
        .order_by("seq")
        .values_list("seq", "type", "data__kitchen")
    )

    async def scenario():
        communicator, connected, _code = await connect("/ws/kds/grill/", token)
        assert connected
        try:
            assert await communicator.receive_json_from(timeout=5) == {
                "type": "hello",
                "seq": seq,
                "v": 2,
            }
            await communicator.send_json_to({"type": "ping", "id": 7})
            assert await communicator.receive_json_from(timeout=5) == {
                "type": "pong",
                "id": 7,
                "seq": seq,
            }
            for bad, code in (
                ({"type": "catchup", "after": -1}, "bad_request"),
                ({"type": "catchup", "after": "1"}, "bad_request"),
                ({"type": "launch"}, "unknown_type"),
            ):
                await communicator.send_json_to(bad)
                reply = await communicator.receive_json_from(timeout=5)
                assert reply["type"] == "error" and reply["error"]["code"] == code
            await communicator.send_to(text_data="not json")
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["error"]["code"] == "bad_request"
            # The socket stays usable after errors.
            await communicator.send_json_to({"type": "catchup", "after": 0})
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "catchup" and reply["complete"] is True
            assert reply["seq"] == seq
            # The kitchen's events only: the tickets, and the check once it was sent (not its
            # opening or the line being typed).
            assert [e["seq"] for e in reply["events"]] == [
                s for s, type_, sent in kitchen if type_ != "check.changed" or sent
            ]
            assert [e["type"] for e in reply["events"]] == ["check.changed", "ticket.created"]
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_sockets_without_a_screen_for_that_station_are_closed(brasserie):
    venue = brasserie.venue
    grill = screen_token(venue, brasserie.grill)
    expo = screen_token(venue, brasserie.expo)
    tablet = screen_token(venue, brasserie.grill, kind="tablet")
    revoked_device = device_create(
        venue=venue, name="Old", kind="kds", station=brasserie.grill, actor=SETUP
    )
    revoked = device_pair(code=revoked_device.pairing_code)[1]
    device_revoke(device=revoked_device, actor=SETUP)
    other_venue = VenueFactory()
    foreign = screen_token(other_venue, StationFactory(venue=other_venue, slug="grill"))

    async def scenario():
        for path, token in (
            ("/ws/kds/grill/", None),
            ("/ws/kds/grill/", "not-a-token"),
            ("/ws/kds/grill/", revoked),
            ("/ws/kds/grill/", tablet),
            ("/ws/kds/cold/", grill),
            ("/ws/kds/expo/", grill),
            ("/ws/kds/nowhere/", grill),
        ):
            communicator, connected, _code = await connect(path, token)
            # Accepted only to be closed with 4401 at once: nothing joined, nothing sent.
            assert connected, (path, token)
            assert await communicator.receive_output(timeout=5) == {
                "type": "websocket.close",
                "code": 4401,
            }, (path, token)
            assert await communicator.receive_nothing(timeout=0.1)
            await communicator.disconnect()
        # The pass may watch every station; a screen of another venue only its own.
        for path, token in (
            ("/ws/kds/expo/", expo),
            ("/ws/kds/grill/", expo),
            ("/ws/kds/grill/", grill),
            ("/ws/kds/grill/", foreign),
        ):
            communicator, connected, _code = await connect(path, token)
            assert connected, (path, token)
            hello = await communicator.receive_json_from(timeout=5)
            assert hello["type"] == "hello"
            await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_an_order_sent_arrives_as_ticket_created_events(brasserie):
    token = screen_token(brasserie.venue, brasserie.grill)

    async def scenario():
        communicator, connected, _code = await connect("/ws/kds/grill/", token)
        assert connected
        try:
            hello = await communicator.receive_json_from(timeout=5)
            tickets = await database_sync_to_async(order)(
                brasserie, "12", brasserie.steak, brasserie.salad
            )
            wanted = {t.pk for t in tickets}
            created: dict[int, dict] = {}
            events: list[dict] = []

            frames: list[dict] = []

            def done(message):
                if message["type"] == "events":
                    frames.append(message)
                    for event in message["events"]:
                        events.append(event)
                        if event["type"] == "ticket.created":
                            created[event["data"]["ticket"]] = event
                return set(created) == wanted

            await receive_until(communicator, done)
            # The kitchen hears the send, as one frame: the check (now in the kitchen) and its
            # tickets; not the check being opened and the lines being typed (covered, unsent).
            (frame,) = frames
            assert frame["after"] == events[0]["seq"] - 1 > hello["seq"]
            assert frame["seq"] == await database_sync_to_async(last_seq)(
                venue_id=brasserie.venue.pk
            )
            assert [e["type"] for e in events] == ["check.changed"] + ["ticket.created"] * 2
            assert events[0]["data"]["kitchen"] is True
            seqs = [e["seq"] for e in events]
            assert seqs == list(range(frame["seq"] - 2, frame["seq"] + 1))
            by_station = {e["data"]["station"]: e["data"] for e in created.values()}
            assert set(by_station) == {"grill", "cold"}
            assert by_station["grill"]["kind"] == "order"
            assert set(events[0]) == {"seq", "type", "v", "at", "data"}
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


async def catch_up(screen: ScreenModel, communicator) -> None:
    """Ask the socket for the events after the screen's last seq and apply them."""
    await communicator.send_json_to({"type": "catchup", "after": screen.last})
    reply = await receive_until(communicator, lambda m: m["type"] == "catchup")
    assert reply[-1]["complete"]
    for event in reply[-1]["events"]:
        assert screen.apply(event)
    screen.last = max(screen.last, reply[-1]["seq"])  # the answer covers up to its seq
    # Live frames that came before the answer follow on from the new socket's hello, past the
    # hole the answer filled: applied after it, what they repeat is skipped.
    assert screen.apply_messages(reply[:-1])


@pytest.mark.django_db(transaction=True)
def test_a_dropped_screen_catches_up_with_every_ticket_exactly_once(brasserie):
    place = brasserie
    token = screen_token(place.venue, place.grill)
    browser = Client()
    browser.cookies[DEVICE_COOKIE] = token
    screen = ScreenModel("grill")

    async def scenario():
        # 1. Online: the snapshot, then a live order.
        communicator, connected, _code = await connect("/ws/kds/grill/", token)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        snapshot = await database_sync_to_async(browser.get)(
            "/api/v1/kitchen/stations/grill/snapshot"
        )
        screen.load(snapshot.json())
        assert screen.last == hello["seq"]
        (first,) = await database_sync_to_async(order)(place, "1", place.steak)
        await receive_until(
            communicator,
            lambda m: m["type"] == "events" and screen.apply_frame(m) and bool(screen.tickets),
        )
        assert screen.tickets == [first.pk]

        # 2. The wifi drops. Three orders are sent meanwhile (one also for the cold kitchen).
        await communicator.disconnect()
        missed = []
        for table, items in (
            ("2", [place.steak]),
            ("3", [place.steak, place.salad]),
            ("4", [place.steak, place.steak]),
        ):
            missed += await database_sync_to_async(order)(place, table, *items)

        # 3. Back: the hello shows a higher seq; the screen catches up while another order
        #    goes out live, so some events reach it twice (live and in the catch-up).
        communicator, connected, _code = await connect("/ws/kds/grill/", token)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello" and hello["seq"] > screen.last
        live = await database_sync_to_async(order)(place, "5", place.steak)
        await catch_up(screen, communicator)
        expected_last = await database_sync_to_async(last_seq)(venue_id=place.venue.pk)
        while screen.last < expected_last:
            message = await communicator.receive_json_from(timeout=5)
            assert screen.apply_messages([message])
        # Late copies of events already applied change nothing.
        while not await communicator.receive_nothing(timeout=0.3):
            message = await communicator.receive_json_from(timeout=5)
            assert screen.apply_messages([message])
        await communicator.disconnect()
        return missed, live

    missed, live = asyncio.run(scenario())
    grill_tickets = [t.pk for t in missed + live if t.station_id == place.grill.pk]
    assert len(grill_tickets) == 4
    open_at_grill = sorted(
        Ticket.objects.filter(station=place.grill, bumped_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert len(screen.tickets) == len(set(screen.tickets))  # nothing twice
    assert sorted(screen.tickets) == open_at_grill
    assert screen.applied == sorted(set(screen.applied))
    # The snapshot (the other way back) agrees.
    snapshot = browser.get("/api/v1/kitchen/stations/grill/snapshot").json()
    assert sorted(t["id"] for t in snapshot["tickets"]) == open_at_grill
    assert snapshot["seq"] == screen.last


@pytest.mark.django_db(transaction=True)
def test_a_bump_on_one_screen_reaches_the_other_screens(brasserie):
    place = brasserie
    grill_token = screen_token(place.venue, place.grill)
    expo_token = screen_token(place.venue, place.expo)
    (ticket,) = [
        t for t in order(place, "7", place.steak, place.salad) if t.station_id == place.grill.pk
    ]
    grill = Client(enforce_csrf_checks=True)
    grill.cookies[DEVICE_COOKIE] = grill_token
    grill.cookies["csrftoken"] = "k" * 32

    async def scenario():
        communicator, connected, _code = await connect("/ws/kds/expo/", expo_token)
        assert connected
        await communicator.receive_json_from(timeout=5)
        response = await database_sync_to_async(grill.post)(
            f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump",
            "",
            content_type="application/json",
            headers={"X-CSRFToken": "k" * 32},
        )
        assert response.status_code == 200
        messages = await receive_until(
            communicator,
            lambda m: m["type"] == "events" and m["events"][-1]["type"] == "ticket.bumped",
        )
        bumped = messages[-1]["events"][-1]["data"]
        assert bumped == {
            "ticket": ticket.pk,
            "check": ticket.tab_id,
            "station": "grill",
            "bumped": True,
        }
        await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_heartbeats_of_many_screens_are_answered_without_a_query_each(brasserie, monkeypatch):
    """Idle screens ping every few seconds; a thousand of them must not cost a query a ping.
    The process reads the last seq at most once a second per venue, and a pong still shows
    a change committed since (a dropped last message is noticed)."""
    from django.db.backends.utils import CursorWrapper

    token = screen_token(brasserie.venue, brasserie.grill)
    statements: list[str] = []
    execute = CursorWrapper.execute

    def counting(self, sql, params=None):
        statements.append(sql)
        return execute(self, sql, params)

    async def scenario():
        screens = []
        for _ in range(5):
            communicator, connected, _code = await connect("/ws/kds/grill/", token)
            assert connected
            await communicator.receive_json_from(timeout=5)  # hello
            screens.append(communicator)
        try:
            monkeypatch.setattr(CursorWrapper, "execute", counting)
            for round_ in range(10):
                for communicator in screens:
                    await communicator.send_json_to({"type": "ping", "id": round_})
                    pong = await communicator.receive_json_from(timeout=5)
                    assert pong["type"] == "pong" and pong["id"] == round_
            pinged = [s for s in statements if "eventsequence" in s]
            assert len(pinged) <= 1, f"{len(pinged)} reads of the last seq for 50 pings"
            monkeypatch.setattr(CursorWrapper, "execute", execute)

            # A change committed meanwhile shows on a pong within a second or so.
            await database_sync_to_async(order)(brasserie, "2", brasserie.steak)
            expected = await database_sync_to_async(last_seq)(venue_id=brasserie.venue.pk)
            await asyncio.sleep(1.1)
            await screens[0].send_json_to({"type": "ping", "id": 99})
            messages = await receive_until(screens[0], lambda m: m["type"] == "pong")
            assert messages[-1]["seq"] == expected
        finally:
            for communicator in screens:
                await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_frames_and_pings_cost_no_trip_to_a_thread(brasserie, monkeypatch):
    """Channels' consumers hop to a worker thread to close stale database connections before
    every message; fifty screens made that a tenth of a busy server's CPU. Ours do not: the
    database is only touched in database_sync_to_async, which closes them itself."""
    import channels.consumer

    trips = []

    async def counted():
        trips.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    token = screen_token(brasserie.venue, brasserie.grill)

    async def scenario():
        communicator, connected, _code = await connect("/ws/kds/grill/", token)
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
        for table in ("1", "2", "3"):
            await database_sync_to_async(order)(brasserie, table, brasserie.steak)
        created = 0
        while created < 3:
            message = await communicator.receive_json_from(timeout=5)
            if message["type"] == "events":
                created += sum(e["type"] == "ticket.created" for e in message["events"])
        for n in range(5):
            await communicator.send_json_to({"type": "ping", "id": n})
            await receive_until(communicator, lambda m, n=n: m["type"] == "pong" and m["id"] == n)
        await communicator.disconnect()

    asyncio.run(scenario())
    assert trips == []
