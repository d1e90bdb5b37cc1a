"""A liveness websocket: proves the Channels stack (router, auth, layer) is wired up."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        else:
            await self.send_json(
                {"type": "error", "error": {"code": "unknown_type", "message": "Unknown type"}}
            )
