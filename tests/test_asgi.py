"""The ASGI stack: websocket routing, origin checks, and the configured channel layer.

Async test bodies run with asyncio.run inside plain sync tests (no pytest-asyncio here).
"""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from restaurant.asgi import application

ALLOWED = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


async def _connect(path: str = "/ws/ping/", headers=ALLOWED):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def test_ping_gets_pong():
    async def scenario():
        communicator, connected = await _connect()
        assert connected
        try:
            await communicator.send_json_to({"type": "ping", "id": 1})
            assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "id": 1}
            await communicator.send_json_to({"type": "ping", "id": 2})
            assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "id": 2}
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


def test_unknown_message_type_gets_an_error():
    async def scenario():
        communicator, connected = await _connect()
        assert connected
        try:
            await communicator.send_json_to({"type": "launch", "id": 3})
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "error"
            assert reply["error"]["code"] == "unknown_type"
            # The socket stays usable after an error.
            await communicator.send_json_to({"type": "ping", "id": 4})
            assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "id": 4}
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"http://evil.example.com"), (b"host", b"127.0.0.1")],
        [(b"host", b"127.0.0.1")],  # no Origin at all
    ],
    ids=["foreign-origin", "no-origin"],
)
def test_websocket_from_a_disallowed_origin_is_rejected(headers):
    async def scenario():
        communicator, connected = await _connect(headers=headers)
        try:
            assert not connected
            # Nothing was accepted, so nothing answers a ping either.
            assert await communicator.receive_nothing(timeout=0.2)
        finally:
            await communicator.disconnect()

    asyncio.run(scenario())


def test_unknown_websocket_path_is_not_routed():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/nope/", headers=ALLOWED)
        with pytest.raises(ValueError, match="No route found"):
            await communicator.connect(timeout=1)

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_channel_layer_delivers_group_messages():
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    async def scenario():
        group = f"test.{uuid.uuid4().hex}"
        first = await layer.new_channel()
        second = await layer.new_channel()
        try:
            await layer.group_add(group, first)
            await layer.group_add(group, second)
            await layer.group_send(group, {"type": "venue.event", "seq": 1})
            for channel in (first, second):
                message = await asyncio.wait_for(layer.receive(channel), 5)
                assert message == {"type": "venue.event", "seq": 1}
            # After leaving the group a channel gets nothing more.
            await layer.group_discard(group, second)
            await layer.group_send(group, {"type": "venue.event", "seq": 2})
            assert (await asyncio.wait_for(layer.receive(first), 5))["seq"] == 2
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(layer.receive(second), 0.5)
        finally:
            await layer.group_discard(group, first)
            await layer.group_discard(group, second)
            await layer.close_pools()

    asyncio.run(scenario())
