"""Websocket routes of every app, collected in one place for restaurant/asgi.py."""

from django.urls import path

from kitchen.consumers import KitchenConsumer
from pos.consumers import TabletConsumer
from restaurant.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/pos/", TabletConsumer.as_asgi()),
    path("ws/kds/<slug:station>/", KitchenConsumer.as_asgi()),
]
