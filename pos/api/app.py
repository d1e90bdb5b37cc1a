"""The one NinjaAPI behind /api/v1/: its routers, its error handling and its document.

The document (`/api/v1/openapi.json`, OpenAPI 3.1) is generated from the operations' schemas;
`BrigadeAPI.get_openapi_schema` adds what ninja cannot know: the three ways to authenticate
(and which operation takes which), the `Idempotency-Key` and `X-Approver-PIN` headers of
writes, the error codes, and a description of each error status. The interactive docs at
/api/v1/docs are for signed-in staff only (`docs_for_staff`).
"""

from __future__ import annotations

import functools
import re
from functools import partial

from django.http import HttpResponseRedirect
from django.urls import path
from ninja.openapi.docs import Swagger
from ninja.openapi.views import openapi_json, openapi_view

import kitchen.api
from pos.api import core
from pos.api.document import finish
from pos.api.routers import auth
from pos.api.routers import cards as card_routes
from pos.api.routers import checks as check_routes
from pos.api.routers import floor as floor_routes
from pos.api.routers import payments as payment_routes

DESCRIPTION = (
    "Authenticate a device (`POST /auth/pair`, then `Authorization: Device <token>`), "
    "sign a staff member in (`POST /auth/pin`), then call everything else with "
    "`Authorization: Bearer <staff token>`; the tablet web app uses its cookies "
    "(device cookie + session) and sends `X-CSRFToken` on writes.\n\n"
    "Money is an integer in minor units of `currency`. Errors are "
    '`{"error": {"code", "message", "field"}}` with a 4xx status, `field` the dotted path of '
    "the value at fault (`lines.2.modifiers.0.quantity`); a request that fails changes "
    "nothing.\n\n"
    "Every write should carry an `Idempotency-Key` (a fresh UUID per user action, "
    "repeated on retries: a retried tap is applied once, and the replayed answer has "
    "`Idempotent-Replayed: true`) and the check `version` the client last saw. Every "
    "check write answers with the check as it now is."
)

SECURITY_SCHEMES = {
    "deviceToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Device <device token>` from POST /auth/pair.",
    },
    "staffToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The staff token from POST /auth/pin.",
    },
    "deviceCookie": {"type": "apiKey", "in": "cookie", "name": "brigade_device"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "Required on cookie-authenticated writes (the csrftoken cookie).",
    },
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Required by clients on every write: a fresh key (UUID) per user "
    "action, resent with each retry. The same key with a different request is "
    "refused (409 `idempotency_key_reused`).",
    "schema": {"type": "string", "maxLength": 100},
}
APPROVER_PIN = {
    "name": "X-Approver-PIN",
    "in": "header",
    "required": False,
    "description": "A manager's PIN approving the action, for clients that cannot "
    "send it in the JSON body (`approver_pin`); never in the URL.",
    "schema": {"type": "string", "maxLength": 64},
}
STATUS_TEXT = {
    400: "Invalid input, named by `field`; or a secret in the query string (`secret_in_url`).",
    401: "Not signed in (`device_not_paired`, `pin_required`, `locked`).",
    403: "Not allowed (`permission_denied`, `approval_required`, `csrf_failed`, ...).",
    404: "No such thing at this venue.",
    409: "Refused by the state of things (`bad_version`, `check_not_open`, "
    "`idempotency_key_reused`, and every rule that depends on data).",
    413: "The request body is too large.",
    429: "Too many attempts; wait `retry_after` seconds.",
}


class Docs(Swagger):
    """Swagger UI, pointed at our name for the document's URL (ninja looks for its own)."""

    def get_openapi_url(self, api, path_params):
        from django.urls import reverse

        return reverse(f"{api.urls_namespace}:openapi", kwargs=path_params)


def docs_for_staff(view):
    """The interactive docs for signed-in staff only (a tablet session or a Django admin)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        from pos.auth import current_staff

        if not (request.user.is_authenticated and request.user.is_staff):
            try:
                current_staff(request, touch=False)
            except core.DomainError:  # not signed in, locked, not active
                return HttpResponseRedirect("/pos/")
        return view(request, *args, **kwargs)

    return guarded


class BrigadeAPI(core.BrigadeAPI):
    def _get_urls(self):
        """The document for anyone (clients generate code from it), the interactive docs for
        staff, the operations; each guarded (pos/api/core.py). No root page."""
        result = [
            path("openapi.json", partial(openapi_json, api=self), name="openapi"),
            path("docs", docs_for_staff(partial(openapi_view, api=self)), name="docs"),
        ]
        for bound in self._get_bound_routers():
            result.extend(bound.urls_paths(bound.prefix))
        for pattern in result:
            pattern.callback = core.guarded(pattern.callback)
        return result

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix="", path_params=path_params)
        schema["servers"] = [{"url": "/api/v1"}]
        schema["info"]["license"] = {
            "name": "AGPL-3.0-or-later",
            "identifier": "AGPL-3.0-or-later",
        }
        schema["components"]["securitySchemes"] = SECURITY_SCHEMES
        for route, item in schema["paths"].items():
            for method, operation in item.items():
                op = _operation_for(self, route, method)
                _describe(operation, op, method.upper())
        return finish(schema)


def _operations(api):
    """Every operation of the API, with its router's prefix and its own path."""
    for bound in api._get_bound_routers():
        for raw, path_view in bound.path_operations.items():
            for op in path_view.operations:
                yield bound.prefix, raw, op


def _operation_for(api, path, method):
    """The operation the document lists as `method path` (None: not one of ours)."""
    for prefix, raw, op in _operations(api):
        if method.upper() in op.methods and _same(path, prefix, raw):
            return op
    return None


def _same(doc_path: str, prefix: str, raw: str) -> bool:
    full = "/" + "/".join(p.strip("/") for p in (prefix, raw) if p.strip("/"))
    return re.sub(r"{[^}:]+:", "{", full) == doc_path


def _describe(operation: dict, op, method: str) -> None:
    """Fill in what ninja leaves out: security, write headers, error statuses' texts."""
    auth = op.auth_callbacks[0] if op is not None and op.auth_callbacks else None
    security = auth.security(method) if isinstance(auth, core.Auth) else None
    operation["security"] = security if security is not None else []
    view = op.view_func if op is not None else None
    description = " ".join(operation.get("description", "").split())
    if description:  # the docstring's first sentence, not ninja's "Auth Pair"
        first = description.split(". ")[0].rstrip(".")
        operation["summary"] = first if len(first) <= 90 else first[:89].rstrip() + "…"
    parameters = operation.setdefault("parameters", [])
    if getattr(view, "brigade_write", False):
        parameters.append(dict(IDEMPOTENCY_KEY))
    if getattr(view, "brigade_approval", None):
        parameters.append(dict(APPROVER_PIN))
    for status, response in operation.get("responses", {}).items():
        text = STATUS_TEXT.get(int(status)) if str(status).isdigit() else None
        if text:
            response["description"] = text
    operation["responses"]["405"] = {
        "description": "Wrong method (the `Allow` header lists the right ones).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


api = BrigadeAPI(
    title="Brigade POS API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api",
    parser=core.BoundedParser(),
    renderer=core.JSONRenderer(),
    docs=Docs(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
core.install_error_handlers(api)
api.add_router("", auth.router)
api.add_router("", floor_routes.router)
api.add_router("", check_routes.router)
api.add_router("", payment_routes.router)
api.add_router("", card_routes.router)
api.add_router("", kitchen.api.router)


def urls():
    """The API's URL patterns (pos/api/urls.py adds the JSON 404 for anything else)."""
    patterns, _app, _namespace = api.urls
    return patterns
