"""HTTP helpers shared by the edges that serve paired devices (pos: tablets and the API;
kitchen: screens): the device cookie and CSRF for cookie-authenticated JSON calls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _

from restaurant.errors import PermissionDenied
from restaurant.services import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE


def device_cookie_set(request: HttpRequest, response: HttpResponse, token: str) -> None:
    """Keep a paired browser's device token: HttpOnly, Lax, secure over HTTPS."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def enforce_csrf(request: HttpRequest) -> None:
    """Refuse a cookie-authenticated unsafe request without a valid CSRF token (403)."""
    check = _CsrfCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise PermissionDenied(
            _("CSRF check failed (%(reason)s); send the X-CSRFToken header.") % {"reason": reason},
            code="csrf_failed",
        )
