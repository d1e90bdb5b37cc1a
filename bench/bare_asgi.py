"""The baseline of bench/rush.py: a bare Channels app with nothing of Brigade in it.

One websocket route; each socket joins the group `bench` and forwards every group message as
a text frame. Served by daphne with the same channel layer as Brigade
(`CHANNEL_LAYER=core|pubsub`, `REDIS_URL`), so the figures show what the channel layer and the
ASGI server cost by themselves, in the same run as Brigade.

    REDIS_URL=redis://127.0.0.1:6379/9 CHANNEL_LAYER=core \
        .venv/bin/python -m daphne -p 9500 bench.bare_asgi:application
"""

from __future__ import annotations

import os

import django
from django.conf import settings

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}

if not settings.configured:
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": LAYERS[os.environ.get("CHANNEL_LAYER", "core")],
                "CONFIG": {
                    "hosts": [
                        {"address": os.environ["REDIS_URL"], "socket_timeout": 30},
                    ],
                    "prefix": "bare",
                },
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "bench"


class BareConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        await self.send('{"type":"hello"}')

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def bench_message(self, message):
        await self.send(message["text"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/bare/", BareConsumer.as_asgi())])}
)
