"""GET floor and events, and the tablet websocket hearing what the API changes."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from restaurant.asgi import application
from restaurant.realtime import last_seq
from tests.pos.conftest import add_line, open_table, pair_device, tablet


@pytest.mark.django_db
def test_floor_shows_areas_tables_status_and_checks(place, server_api):
    check = open_table(server_api, place.table1, guests=3)
    add_line(server_api, check, place.soup)
    server_api.post("checks", {"kind": "bar_tab", "tab_name": "Anna"})

    response = server_api.get("floor")
    assert response.status_code == 200
    body = response.json()
    assert body["seq"] == last_seq(venue_id=place.venue.pk)
    (area,) = body["areas"]
    assert area["name"] == "Terrace"
    tables = {t["name"]: t for t in area["tables"]}
    assert set(tables) == {"T1", "T2", "T3"}
    t1 = tables["T1"]
    assert t1["status"] == "ordered"
    assert t1["check"]["id"] == check["id"] and t1["check"]["guest_count"] == 3
    assert t1["check"]["server"]["id"] == place.server.pk
    assert {k: t1[k] for k in ("seats", "shape", "x", "y", "width", "height")} == {
        "seats": 4,
        "shape": "square",
        "x": 0,
        "y": 0,
        "width": 2,
        "height": 2,
    }
    assert tables["T2"] == {**tables["T2"], "status": "free", "check": None}
    assert [tab["label"] for tab in body["tabs"]] == ["Anna"]


@pytest.mark.django_db
def test_events_catch_up_after_a_seq(place, server_api):
    seq = server_api.get("floor").json()["seq"]
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.soup)

    body = server_api.get("events", after=str(seq)).json()
    types = [e["type"] for e in body["events"]]
    assert types == ["check.changed", "check.changed"]
    assert [e["seq"] for e in body["events"]] == [seq + 1, seq + 2]
    assert body["events"][-1]["data"]["floor_status"] == "ordered"
    assert body["last_seq"] == seq + 2 and body["complete"] is True
    assert server_api.get("events", after=str(seq + 2)).json()["events"] == []


def _socket(cookies: dict | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookies:
        header = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers.append((b"cookie", header.encode()))
    return WebsocketCommunicator(application, "/ws/pos/", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_the_tablet_socket_hears_checks_change_through_the_api(place):
    api = tablet(place.venue, "1111")
    cookies = {name: morsel.value for name, morsel in api.client.cookies.items()}
    assert "sessionid" in cookies and "brigade_device" in cookies

    async def scenario():
        socket = _socket(cookies)
        connected, _code = await socket.connect(timeout=5)
        assert connected
        try:
            hello = await socket.receive_json_from(timeout=5)
            assert hello["type"] == "hello"

            check = await sync_to_async(open_table)(api, place.table1)
            frame = await socket.receive_json_from(timeout=5)
            assert frame["type"] == "events"
            assert (frame["after"], frame["seq"]) == (hello["seq"], hello["seq"] + 1)
            (opened,) = frame["events"]
            assert opened["type"] == "check.changed" and opened["seq"] == hello["seq"] + 1
            assert opened["data"]["check"] == check["id"]
            assert opened["data"]["table"] == place.table1.pk
            assert opened["data"]["floor_status"] == "seated"
            assert opened["data"]["kitchen"] is False

            await sync_to_async(add_line)(api, check, place.soup)
            frame = await socket.receive_json_from(timeout=5)
            assert frame["after"] == opened["seq"]
            (added,) = frame["events"]
            assert added["type"] == "check.changed"
            assert added["data"]["floor_status"] == "ordered"
            assert added["data"]["version"] == check["version"] + 1

            # A send: the tablet hears the check change, not the kitchen's tickets.
            await sync_to_async(api.post)(f"checks/{check['id']}/send", {})
            frame = await socket.receive_json_from(timeout=5)
            assert [e["type"] for e in frame["events"]] == ["check.changed"]
            assert frame["events"][0]["data"]["kitchen"] is True
            assert frame["seq"] > frame["events"][0]["seq"]  # its ticket event is covered too

            # A refused write publishes nothing.
            refused = await sync_to_async(api.post)(
                f"checks/{check['id']}/lines", {"item": place.soup.pk, "quantity": 0}
            )
            assert refused.status_code == 400
            assert await socket.receive_nothing(timeout=0.3)
        finally:
            await socket.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_a_signed_in_tablet_is_closed(place):
    device_only = {"brigade_device": pair_device(place.venue)}

    async def scenario():
        for cookies in (None, device_only):
            socket = _socket(cookies)
            connected, _code = await socket.connect(timeout=5)
            assert connected  # accepted only to be closed at once, so a browser sees 4401
            closed = await socket.receive_output(timeout=5)
            assert closed == {"type": "websocket.close", "code": 4401}
            assert await socket.receive_nothing(timeout=0.1)
            await socket.disconnect()

    asyncio.run(scenario())
