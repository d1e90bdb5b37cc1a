"""A Content-Security-Policy on every page and JSON answer.

Scripts only from Brigade itself (`script-src 'self'`: no inline script, no eval, no other
origin), so injected markup cannot run code on a tablet or a kitchen screen. The tablet's and
screens' settings travel as `<script type="application/json">` data, which no policy blocks.
Styles may be inline (`style` attributes: the back office's and a few pages' own), which runs
no code. Websockets go to the same host (`connect-src 'self'` covers ws: and wss: there), and
no page may be framed (with X-Frame-Options: DENY for older browsers).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds the policy (setting CONTENT_SECURITY_POLICY, "" for none) where a view set none.
    A MiddlewareMixin: it runs in daphne's async request path without a thread hop."""

    def process_response(self, request, response):
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY)
        if policy and HEADER not in response:
            response[HEADER] = policy
        return response
