"""The JSON API on django-ninja: what ninja does not do for us, in small documented pieces.

An operation is an ordinary ninja view: `@router.post(path, response=..., auth=STAFF)` with
its body a `ninja.Schema` (pos/api/schemas.py). Around it, in this order:

1. `guarded` (every URL of the API): a PIN, token or code in the query string is refused
   (URLs end up in access logs), and ninja's plain-text 405 becomes our JSON error with
   `Allow`.
2. Authentication (`auth=`; pos.auth): `STAFF` is a staff member signed in on a paired device
   (the tablet's session cookie, or `Authorization: Bearer <staff token>`); `DEVICE` only a
   paired device (`Authorization: Device <token>` or the device cookie); `PUBLIC` nobody.
   Cookie-authenticated unsafe requests must carry `X-CSRFToken` (like DRF's
   SessionAuthentication); an Authorization header is exempt. The view finds the caller in
   `request.auth`, a `Caller`.
3. The body (`BoundedParser`): the loader every JSON edge shares (restaurant/jsonio.py):
   nesting at most 32 deep, integers within ±2^53 - 1. The schema then refuses unknown
   fields and wrong types; a refusal names the dotted path of the bad value
   (`lines.2.modifiers.0.quantity`).
4. Writes (`@write`): a manager's `approver_pin` is checked first (its attempt counts even if
   the write is refused), then the view runs in one transaction at most once per
   `Idempotency-Key` (pos/idempotency.py); a replay answers the stored response with
   `Idempotent-Replayed: true`.
5. Errors: a `DomainError` becomes `{"error": {"code", "message", "field"}}` with its status
   (plus `retry_after` and `Retry-After` when it has one). The view ran in the transaction
   that the error rolled back, so a request that fails changes nothing.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from pydantic import BaseModel

from pos.auth import NotAuthenticated, current_staff, device_from_request
from pos.idempotency import run_idempotent
from restaurant.errors import DomainError, NotFound, ValidationFailed
from restaurant.jsonio import request_json_object
from restaurant.logs import SECRET_QUERY_NAMES
from restaurant.models import Device, StaffMember, Venue
from restaurant.services import approver_by_pin
from restaurant.web import enforce_csrf

REPLAYED_HEADER = "Idempotent-Replayed"
APPROVER_PIN_HEADER = "X-Approver-PIN"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_SCHEMES = {"device", "bearer"}


# --- errors ------------------------------------------------------------------------------------


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    status = 405


def json_response(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def error_response(exc: DomainError) -> JsonResponse:
    body = exc.as_dict()
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        body["error"]["retry_after"] = int(retry_after)
    response = json_response(body, exc.status)
    if retry_after:
        response["Retry-After"] = str(int(retry_after))
    return response


def not_found(what: str, field: str | None = None) -> NotFound:
    return NotFound(_("No such %(what)s here.") % {"what": what}, field=field)


# Pydantic's error types, as the codes this API has always answered with.
_TYPE_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
}


def _field_path(loc: tuple) -> str | None:
    """("body", "payload", "lines", 2, "quantity") -> "lines.2.quantity"."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # the source and the view's parameter name
    elif parts and parts[0] in ("query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or None


def validation_error(errors: list[dict]) -> ValidationFailed:
    """The first of pydantic's errors as ours: a code, a sentence and the dotted path."""
    first = errors[0]
    field = _field_path(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    custom = (first.get("ctx") or {}).get("brigade_code")
    if custom:
        code = custom
    elif kind == "too_long":  # a string behind our validators, or a list
        is_list = (first.get("ctx") or {}).get("field_type") == "List"
        code = "too_many" if is_list else "too_long"
    elif kind in _TYPE_CODES:
        code = _TYPE_CODES[kind]
    elif kind.endswith(("_type", "_parsing")) or kind in ("int_from_float", "is_instance_of"):
        code = "invalid_type"
    else:
        code = "invalid"
    return ValidationFailed(
        _message(kind, code, field, first.get("ctx") or {}), code=code, field=field
    )


def _message(kind: str, code: str, field: str | None, ctx: dict) -> str:
    """A sentence in the venue's language (pydantic's own messages are English only)."""
    values = {
        "field": field or _("The body"),
        "ge": ctx.get("ge", ""),
        "le": ctx.get("le", ""),
        "limit": ctx.get("max_length", ctx.get("n", "")),
        "expected": ctx.get("expected", ""),
    }
    if code == "required":
        return _("%(field)s is required.") % values
    if code == "unknown_field":
        return _("Unknown field %(field)s.") % values
    if kind == "greater_than_equal":
        return _("%(field)s must be at least %(ge)s.") % values
    if kind == "less_than_equal":
        return _("%(field)s must be at most %(le)s.") % values
    if code == "too_many":
        return _("%(field)s has at most %(limit)s entries.") % values
    if code == "too_long":
        return _("%(field)s is at most %(limit)s characters.") % values
    if kind == "literal_error":
        return _("%(field)s must be one of %(expected)s.") % values
    if code == "invalid_type":
        return _("%(field)s has the wrong type.") % values
    return _("%(field)s is not valid.") % values


class IdConverter:
    """`<api_id:...>` in URLs: digits, short enough for any database integer."""

    regex = "[0-9]{1,15}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


# --- callers -------------------------------------------------------------------------------------


@dataclass
class Caller:
    """Who makes a request: `request.auth` in every view."""

    request: HttpRequest
    device: Device | None = None
    staff: StaffMember | None = None
    # The staff member whose PIN approved this request (writes with `approval=`).
    approver: StaffMember | None = None

    @property
    def venue(self) -> Venue:
        if self.staff is not None:
            return self.staff.venue
        return self.device.venue

    @property
    def session_auth(self) -> bool:
        return not uses_token(self.request)

    def __bool__(self) -> bool:  # ninja keeps a truthy auth result
        return True


def uses_token(request: HttpRequest) -> bool:
    """Whether the caller authenticates with an Authorization header (not cookies)."""
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower()
    return scheme in TOKEN_SCHEMES


def client_ip(request) -> str | None:
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:  # a unix socket, or no address at all
        return None


# What each kind of caller shows in the document (components.securitySchemes below).
_SECURITY = {
    "staff": {
        "read": [{"staffToken": []}, {"deviceCookie": [], "sessionCookie": []}],
        "write": [{"staffToken": []}, {"deviceCookie": [], "sessionCookie": [], "csrfToken": []}],
    },
    "device": {
        "read": [{"deviceToken": []}, {"deviceCookie": []}],
        "write": [{"deviceToken": []}, {"deviceCookie": [], "csrfToken": []}],
    },
}


class Auth:
    """A ninja auth callable: authenticates, enforces CSRF, returns the `Caller`."""

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, request: HttpRequest) -> Caller:
        caller = Caller(request=request)
        if self.kind == "staff":
            caller.device, caller.staff = current_staff(request)
        elif self.kind == "device":
            caller.device = device_from_request(request)
            if caller.device is None:
                raise NotAuthenticated(
                    _("This device is not paired with Brigade."), code="device_not_paired"
                )
        if self.kind != "public" and request.method not in SAFE_METHODS and not uses_token(request):
            enforce_csrf(request)
        return caller

    def security(self, method: str) -> list[dict] | None:
        if self.kind == "public":
            return None
        return _SECURITY[self.kind]["read" if method in SAFE_METHODS else "write"]


STAFF = Auth("staff")
DEVICE = Auth("device")
PUBLIC = Auth("public")


# --- writes: approval, one transaction, idempotency ----------------------------------------------


def _approver(caller: Caller, body, permission: str) -> StaffMember | None:
    """The approver named by the body's `approver_pin` (or the `X-Approver-PIN` header, for
    clients whose DELETE bodies get lost), checked in its own transaction: the attempt counts
    toward the lockout even when the request is refused later."""
    pin = (getattr(body, "approver_pin", None) or "") or caller.request.headers.get(
        APPROVER_PIN_HEADER, ""
    )
    if not pin:
        return None
    return approver_by_pin(
        venue=caller.venue,
        pin=pin,
        permission=permission,
        device=caller.device,
        requested_by=caller.staff,
        ip_address=client_ip(caller.request),
    )


def _as_status(result) -> tuple[int, dict]:
    if isinstance(result, Status):
        return result.status_code, result.value
    if isinstance(result, BaseModel):
        return 200, result.model_dump(mode="json")
    return 200, result


def write(*, atomic: bool = True, approval: str | None = None, field_map: dict | None = None):
    """Mark a view as a write: one transaction, at most once per `Idempotency-Key`.

    `atomic=False` is for writes that call an outside service (Stripe): their services commit
    their own steps, so a call to Stripe never runs inside a transaction that could roll back
    what was stored before it. `approval` is the permission a manager's `approver_pin`
    approves (`request.auth.approver`). `field_map` renames the `field` of a service's error to
    the request field it is about (a service's `lines` is this operation's `line_ids`).
    """
    renames = dict(field_map or {})

    def wrap(view):
        @functools.wraps(view)
        def run(request, *args, **kwargs):
            caller: Caller = request.auth
            try:
                if approval is not None:
                    body = next((v for v in kwargs.values() if isinstance(v, Schema)), None)
                    caller.approver = _approver(caller, body, approval)
                status, body, replayed = run_idempotent(
                    request,
                    venue=caller.venue,
                    staff=caller.staff,
                    run=lambda: _as_status(view(request, *args, **kwargs)),
                    atomic=atomic,
                )
            except DomainError as exc:
                if exc.field in renames:
                    exc.field = renames[exc.field]
                raise
            if replayed:
                request.idempotent_replayed = True
            return Status(status, body)

        # ninja reads the view's parameters through this wrapper, and would resolve string
        # annotations (`from __future__ import annotations`) in this module: hand it the
        # view's own signature with its annotations evaluated where the view was written.
        run.__signature__ = inspect.signature(view, eval_str=True)
        run.brigade_write = True
        run.brigade_approval = approval
        return run

    return wrap


# --- the API object ------------------------------------------------------------------------------


class BoundedParser(Parser):
    """Bodies through the shared bounded loader; an empty body is `{}`."""

    def parse_body(self, request: HttpRequest):
        return request_json_object(request)


class JSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder)


class BrigadeAPI(NinjaAPI):
    """NinjaAPI with Brigade's error shape, replay header and security schemes."""

    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        if getattr(request, "idempotent_replayed", False):
            response[REPLAYED_HEADER] = "true"
        return response


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request, exc):
        return error_response(exc)

    @api.exception_handler(NinjaValidationError)
    def invalid(request, exc):
        return error_response(validation_error(exc.errors))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return error_response(NotAuthenticated(_("Sign in first.")))

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        if isinstance(exc.__cause__, DomainError):  # ninja wraps the body parser's refusal
            return error_response(exc.__cause__)
        error = DomainError(str(exc.message), code="bad_request")
        error.status = exc.status_code
        return error_response(error)


# --- every URL of the API -----------------------------------------------------------------------


def refuse_secrets_in_url(request: HttpRequest) -> None:
    """A PIN, token or code in the query string is refused: URLs end up in access logs,
    proxies and browser history. They go in the JSON body (or the Authorization header)."""
    for name in request.GET:
        if name.lower() in SECRET_QUERY_NAMES:
            raise ValidationFailed(
                _(
                    "%(field)s must not be sent in the URL (it would be logged); "
                    "send it in the JSON body."
                )
                % {"field": name},
                code="secret_in_url",
                field=name,
            )


def guarded(view, methods: frozenset[str] = frozenset({"GET"})):
    """Wrap one of ninja's URL views: secrets in the URL refused, 405 as a JSON error."""

    @functools.wraps(view)
    def guard(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            refuse_secrets_in_url(request)
        except DomainError as exc:
            return error_response(exc)
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allow = ", ".join(sorted(m.strip() for m in response["Allow"].split(",")))
            error = error_response(
                MethodNotAllowed(
                    _("%(method)s is not allowed here; use %(allow)s.")
                    % {"method": request.method, "allow": allow}
                )
            )
            error["Allow"] = allow
            return error
        return response

    guard.csrf_exempt = True
    # ninja's PathView, which its URL view closes over: the methods it answers
    cells = [cell.cell_contents for cell in getattr(view, "__closure__", None) or ()]
    path_view = next((c for c in cells if hasattr(c, "operations")), None)
    if path_view is not None:
        methods = frozenset(m for op in path_view.operations for m in op.methods)
    guard.api_methods = methods
    return guard


def unknown_endpoint(request: HttpRequest, **kwargs) -> HttpResponse:
    return error_response(
        NotFound(_("There is no API endpoint at %(path)s.") % {"path": request.path})
    )


unknown_endpoint.csrf_exempt = True
