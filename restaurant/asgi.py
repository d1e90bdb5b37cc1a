"""ASGI entry point: HTTP through Django's WSGI handler on a thread pool, websockets to Channels.

restaurant/http_bridge.py explains why HTTP does not go through Django's ASGI handler.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restaurant.settings")
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from restaurant.http_bridge import WsgiBridge  # noqa: E402
from restaurant.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": WsgiBridge(
            django_wsgi_app, threads=settings.HTTP_THREADS, max_body=settings.HTTP_MAX_BODY_BYTES
        ),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
