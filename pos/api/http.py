"""The JSON API's plumbing: authentication, CSRF, JSON bodies, idempotency and errors.

Views stay thin: a handler is a function `handler(call, **url_kwargs)` marked with `@endpoint`
and mounted with `route(get=..., post=...)`. Around it, in this order:

1. Authentication (`pos.auth`): a staff member signed in on a paired device (session cookie
   of the tablet web app, or `Authorization: Bearer <staff token>`), or only a paired device
   (`Authorization: Device <token>` or the tablet's device cookie), or nobody.
2. CSRF, like DRF's SessionAuthentication: a cookie-authenticated unsafe request must carry
   `X-CSRFToken`; requests authenticated by an `Authorization` header are exempt (a browser
   never adds that header to a cross-site request on its own).
3. The JSON body (`restaurant.jsonio`, the loader every JSON edge shares): an object, with
   only the fields the endpoint knows, nested at most 32 deep, integers within ±2^53 - 1
   (400 otherwise).
4. For writes, `pos.idempotency.run_idempotent`: the handler runs in one transaction, at most
   once per `Idempotency-Key`; a replay answers the stored response with
   `Idempotent-Replayed: true`.
5. Errors: a `DomainError` becomes its status with `{"error": {"code", "message", "field"}}`
   (plus `retry_after` and a `Retry-After` header when it has one). Because the handler runs
   in the transaction that the error rolls back, a request that fails changes nothing.

Field readers (`Call.get_int`, `Call.get_str`, ...) only check JSON types; ranges and every
other rule are the services' business.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from pos.auth import NotAuthenticated, current_staff, device_from_request
from pos.idempotency import run_idempotent
from restaurant.errors import DomainError, NotFound, ValidationFailed
from restaurant.jsonio import MAX_INT, request_json_object
from restaurant.logs import SECRET_QUERY_NAMES
from restaurant.models import Device, StaffMember, Venue
from restaurant.services import approver_by_pin
from restaurant.web import enforce_csrf

PUBLIC = "public"  # nobody needs to be signed in (pairing)
DEVICE = "device"  # a paired device (PIN sign-in)
STAFF = "staff"  # a staff member signed in on a paired device (everything else)

REPLAYED_HEADER = "Idempotent-Replayed"
APPROVER_PIN_HEADER = "X-Approver-PIN"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_SCHEMES = {"device", "bearer"}
# Names that carry a secret: refused in any query string (restaurant.logs redacts them too).
SECRET_PARAMETERS = SECRET_QUERY_NAMES
_MISSING = object()
# No check, bill or split has more: a longer list is refused before any service loops over it.
MAX_LIST_ITEMS = 500
INT_QUERY = re.compile(r"^[0-9]{1,15}$")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT


def _as_int(value):
    """JSON has one number type: 2045.0 is the integer 2045 (JSON Schema agrees)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def query_flag(request: HttpRequest, name: str) -> bool:
    """A yes/no query parameter: 1/true or 0/false (absent: no); anything else is a 400."""
    raw = request.GET.get(name)
    if raw is None:
        return False
    if raw in ("1", "true"):
        return True
    if raw in ("0", "false"):
        return False
    raise ValidationFailed(
        _("%(field)s must be true or false.") % {"field": name}, code="invalid_type", field=name
    )


def query_int(request: HttpRequest, name: str, default: int | None = None) -> int | None:
    """A whole number >= 0 from the query string (400 when it is something else)."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not INT_QUERY.fullmatch(raw):
        raise ValidationFailed(
            _("%(field)s must be a whole number of at least 0.") % {"field": name},
            code="invalid_type",
            field=name,
        )
    return int(raw)


class IdConverter:
    """`<api_id:...>` in URLs: digits, short enough for any database integer."""

    regex = "[0-9]{1,15}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


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


def uses_token(request: HttpRequest) -> bool:
    """Whether the caller authenticates with an Authorization header (not cookies)."""
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower()
    return scheme in TOKEN_SCHEMES


@dataclass
class Call:
    """One API request, authenticated, with its JSON body parsed."""

    request: HttpRequest
    device: Device | None = None
    staff: StaffMember | None = None
    data: dict = field(default_factory=dict)
    # The staff member whose `approver_pin` approved this request (endpoints with `approval`),
    # checked before the request's transaction; None when no PIN was given.
    approver: StaffMember | None = None

    @property
    def venue(self) -> Venue:
        if self.staff is not None:
            return self.staff.venue
        return self.device.venue

    @property
    def session_auth(self) -> bool:
        return not uses_token(self.request)

    # --- typed field readers: JSON types only; null counts as absent -----------------------

    def _raw(self, name: str, required: bool):
        value = self.data.get(name)
        if value is None:
            if required:
                raise ValidationFailed(
                    _("%(field)s is required.") % {"field": name}, code="required", field=name
                )
            return _MISSING
        return value

    def get_int(self, name: str, *, required: bool = False, default=None):
        value = _as_int(self._raw(name, required))
        if value is _MISSING:
            return default
        if not _is_int(value):
            raise ValidationFailed(
                _("%(field)s must be a whole number.") % {"field": name},
                code="invalid_type",
                field=name,
            )
        return value

    def get_str(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise ValidationFailed(
                _("%(field)s must be text.") % {"field": name}, code="invalid_type", field=name
            )
        if "\x00" in value:  # PostgreSQL cannot store it; no client means it
            raise ValidationFailed(
                _("%(field)s must not contain NUL characters.") % {"field": name},
                code="invalid_type",
                field=name,
            )
        return value

    def get_bool(self, name: str, *, required: bool = False, default=None):
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise ValidationFailed(
                _("%(field)s must be true or false.") % {"field": name},
                code="invalid_type",
                field=name,
            )
        return value

    def get_list(self, name: str, *, required: bool = False, default=None):
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, list):
            raise ValidationFailed(
                _("%(field)s must be a list.") % {"field": name}, code="invalid_type", field=name
            )
        if len(value) > MAX_LIST_ITEMS:
            raise ValidationFailed(
                _("%(field)s has at most %(n)d entries.") % {"field": name, "n": MAX_LIST_ITEMS},
                code="too_many",
                field=name,
            )
        return value

    def get_ids(self, name: str, *, required: bool = False, default=None):
        value = self.get_list(name, required=required, default=_MISSING)
        if value is _MISSING:
            return default
        value = [_as_int(v) for v in value]
        if not all(_is_int(v) and v >= 1 for v in value):
            raise ValidationFailed(
                _("%(field)s must be a list of ids.") % {"field": name},
                code="invalid_type",
                field=name,
            )
        return value

    def get_decimal(self, name: str, *, required: bool = False, default=None):
        """A number given as a JSON number or a decimal string ("12.5")."""
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        problem = ValidationFailed(
            _("%(field)s must be a number.") % {"field": name}, code="invalid_type", field=name
        )
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise problem
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise problem from exc
        if not number.is_finite():
            raise problem
        return number

    def version(self):
        """The check version the client last saw (optional on every check write)."""
        return self.get_int("version")


def not_found(what: str, field: str | None = None) -> NotFound:
    return NotFound(_("No such %(what)s here.") % {"what": what}, field=field)


@dataclass
class Endpoint:
    fn: Callable
    auth: str
    write: bool
    fields: frozenset[str]
    field_map: dict[str, str]
    # False for writes that call an outside service (Stripe): the services commit their own
    # steps, so a call to Stripe never runs inside a transaction that could roll back what
    # was stored before it (and never holds the database's write lock while it waits).
    atomic: bool = True
    # The permission an `approver_pin` in the body approves (None: the endpoint takes none).
    approval: str | None = None


def endpoint(
    *,
    auth: str = STAFF,
    write: bool = False,
    fields: tuple[str, ...] = (),
    field_map: dict[str, str] | None = None,
    atomic: bool = True,
    approval: str | None = None,
):
    """Mark a handler. `fields` are the JSON body keys it accepts (others are refused).

    `field_map` renames the `field` of a service's error to the request field it is about
    (a service's `lines` is this endpoint's `line_ids`), so the client can point at it.
    `approval` is the permission a manager's `approver_pin` (in the body) approves: the PIN
    is counted, checked and recorded before the handler's transaction (`call.approver`).
    """
    if approval is not None:
        fields = (*fields, "approver_pin")

    def wrap(fn):
        fn.api_endpoint = Endpoint(
            fn, auth, write, frozenset(fields), dict(field_map or {}), atomic, approval
        )
        return fn

    return wrap


def _parse_body(request: HttpRequest, allowed: frozenset[str]) -> dict:
    if request.method not in BODY_METHODS:
        return {}
    return request_json_object(request, allowed)


def _authenticate(request: HttpRequest, auth: str) -> Call:
    call = Call(request=request)
    if auth == STAFF:
        call.device, call.staff = current_staff(request)
    elif auth == DEVICE:
        call.device = device_from_request(request)
        if call.device is None:
            raise NotAuthenticated(
                _("This device is not paired with Brigade."), code="device_not_paired"
            )
    if auth != PUBLIC and request.method not in SAFE_METHODS and not uses_token(request):
        enforce_csrf(request)
    return call


def _as_result(value) -> tuple[int, dict]:
    if isinstance(value, tuple):
        return value
    return 200, value


def _dispatch(spec: Endpoint, request: HttpRequest, kwargs: dict) -> HttpResponse:
    try:
        return _run(spec, request, kwargs)
    except DomainError as exc:
        if exc.field in spec.field_map:
            exc.field = spec.field_map[exc.field]
        raise


def client_ip(request) -> str | None:
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:  # a unix socket, or no address at all
        return None


def _approve(call: Call, permission: str) -> StaffMember | None:
    """The approver named by the body's `approver_pin` (or the `X-Approver-PIN` header, for
    clients whose DELETE bodies get lost), checked in its own transaction: the attempt counts
    toward the lockout even when the request is refused later."""
    pin = call.get_str("approver_pin") or call.request.headers.get(APPROVER_PIN_HEADER, "")
    if not pin:
        return None
    return approver_by_pin(
        venue=call.venue,
        pin=pin,
        permission=permission,
        device=call.device,
        requested_by=call.staff,
        ip_address=client_ip(call.request),
    )


def _refuse_secrets_in_url(request: HttpRequest) -> None:
    """A PIN, token or code in the query string is refused: URLs end up in access logs,
    proxies and browser history. They go in the JSON body (or the Authorization header)."""
    for name in request.GET:
        if name.lower() in SECRET_PARAMETERS:
            raise ValidationFailed(
                _(
                    "%(field)s must not be sent in the URL (it would be logged); "
                    "send it in the JSON body."
                )
                % {"field": name},
                code="secret_in_url",
                field=name,
            )


def _run(spec: Endpoint, request: HttpRequest, kwargs: dict) -> HttpResponse:
    _refuse_secrets_in_url(request)
    call = _authenticate(request, spec.auth)
    call.data = _parse_body(request, spec.fields)
    if spec.approval is not None:
        call.approver = _approve(call, spec.approval)
    if spec.write:
        status, body, replayed = run_idempotent(
            request,
            venue=call.venue,
            staff=call.staff,
            run=lambda: _as_result(spec.fn(call, **kwargs)),
            atomic=spec.atomic,
        )
        response = json_response(body, status)
        if replayed:
            response[REPLAYED_HEADER] = "true"
        return response
    result = spec.fn(call, **kwargs)
    if isinstance(result, HttpResponse):
        return result
    status, body = _as_result(result)
    return json_response(body, status)


def route(**handlers: Callable) -> Callable:
    """A Django view answering the given methods (`get=`, `post=`, ...); 405 for others."""
    by_method = {method.upper(): fn.api_endpoint for method, fn in handlers.items()}
    allow = ", ".join(sorted(by_method))

    @csrf_exempt
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        spec = by_method.get(request.method)
        try:
            if spec is None:
                raise MethodNotAllowed(
                    _("%(method)s is not allowed here; use %(allow)s.")
                    % {"method": request.method, "allow": allow}
                )
            return _dispatch(spec, request, kwargs)
        except DomainError as exc:
            response = error_response(exc)
            if spec is None:
                response["Allow"] = allow
            return response

    view.api_methods = frozenset(by_method)
    view.api_handlers = dict(by_method)
    return view


@csrf_exempt
def unknown_endpoint(request: HttpRequest, **kwargs) -> HttpResponse:
    return error_response(
        NotFound(_("There is no API endpoint at %(path)s.") % {"path": request.path})
    )
