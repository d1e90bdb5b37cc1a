"""Throttling of guessable sign-ins that no PIN lockout covers: pairing codes (on /pos/, on
/kds/ and through POST /api/v1/auth/pair: one count per address for all three) and the
manager's username/password on /pos/pair/. Counted per client address in Django's cache.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext as _

from restaurant.errors import PermissionDenied

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(scope: str, request) -> str:
    return f"brigade:throttle:{scope}:{request.META.get('REMOTE_ADDR', '?')}"


def check(scope: str, request) -> None:
    """Refuse (PermissionDenied `throttled`) after too many recent failures from this client."""
    if cache.get(_key(scope, request), 0) >= MAX_FAILURES:
        error = PermissionDenied(
            _("Too many failed attempts from this device; wait 15 minutes and try again."),
            code="throttled",
        )
        error.retry_after = WINDOW_SECONDS
        raise error


def failed(scope: str, request) -> None:
    key = _key(scope, request)
    if cache.add(key, 1, WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, WINDOW_SECONDS)
