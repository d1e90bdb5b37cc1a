"""The HTTP side: Stripe's ``/v1`` API (auth, form decoding, idempotency, ``expand[]``,
faults) and the ``/_emulator`` JSON control API, on a stdlib ``ThreadingHTTPServer``."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import forms
from .errors import StripeAPIError
from .state import EmulatorState, RequestContext, new_id, valid_version
from .webhooks import WebhookDispatcher

logger = logging.getLogger("payments.stripe_emulator")

DEFAULT_PORT = 12111
DEFAULT_API_KEY = "sk_test_brigade_emulator"
DEFAULT_WEBHOOK_SECRET = "whsec_brigade_emulator"
IDEMPOTENCY_TTL = 24 * 3600

_ID = r"(?P<id>[^/]+)"
# (method, path pattern, operation name, EmulatorState method)
ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(f"^{p}$"), op, fn)
    for m, p, op, fn in [
        ("POST", "/v1/payment_intents", "payment_intents.create", "create_payment_intent"),
        ("GET", "/v1/payment_intents", "payment_intents.list", "list_payment_intents"),
        ("GET", f"/v1/payment_intents/{_ID}", "payment_intents.retrieve",
         "retrieve_payment_intent"),
        ("POST", f"/v1/payment_intents/{_ID}", "payment_intents.update",
         "update_payment_intent"),
        ("POST", f"/v1/payment_intents/{_ID}/capture", "payment_intents.capture",
         "capture_payment_intent"),
        ("POST", f"/v1/payment_intents/{_ID}/cancel", "payment_intents.cancel",
         "cancel_payment_intent"),
        ("POST", f"/v1/payment_intents/{_ID}/increment_authorization",
         "payment_intents.increment_authorization", "increment_authorization"),
        ("GET", "/v1/charges", "charges.list", "list_charges"),
        ("GET", f"/v1/charges/{_ID}", "charges.retrieve", "retrieve_charge"),
        ("GET", f"/v1/payment_methods/{_ID}", "payment_methods.retrieve",
         "retrieve_payment_method"),
        ("POST", "/v1/refunds", "refunds.create", "create_refund"),
        ("GET", "/v1/refunds", "refunds.list", "list_refunds"),
        ("GET", f"/v1/refunds/{_ID}", "refunds.retrieve", "retrieve_refund"),
        ("GET", "/v1/events", "events.list", "list_events"),
        ("GET", f"/v1/events/{_ID}", "events.retrieve", "retrieve_event"),
        ("POST", "/v1/terminal/connection_tokens", "terminal.connection_tokens.create",
         "create_connection_token"),
        ("POST", "/v1/terminal/locations", "terminal.locations.create", "create_location"),
        ("GET", "/v1/terminal/locations", "terminal.locations.list", "list_locations"),
        ("GET", f"/v1/terminal/locations/{_ID}", "terminal.locations.retrieve",
         "retrieve_location"),
        ("POST", f"/v1/terminal/locations/{_ID}", "terminal.locations.update",
         "update_location"),
        ("DELETE", f"/v1/terminal/locations/{_ID}", "terminal.locations.delete",
         "delete_location"),
        ("POST", "/v1/terminal/configurations", "terminal.configurations.create",
         "create_configuration"),
        ("GET", "/v1/terminal/configurations", "terminal.configurations.list",
         "list_configurations"),
        ("GET", f"/v1/terminal/configurations/{_ID}", "terminal.configurations.retrieve",
         "retrieve_configuration"),
        ("POST", f"/v1/terminal/configurations/{_ID}", "terminal.configurations.update",
         "update_configuration"),
        ("DELETE", f"/v1/terminal/configurations/{_ID}", "terminal.configurations.delete",
         "delete_configuration"),
        ("POST", "/v1/terminal/readers", "terminal.readers.create", "create_reader"),
        ("GET", "/v1/terminal/readers", "terminal.readers.list", "list_readers"),
        ("GET", f"/v1/terminal/readers/{_ID}", "terminal.readers.retrieve", "retrieve_reader"),
        ("POST", f"/v1/terminal/readers/{_ID}", "terminal.readers.update", "update_reader"),
        ("DELETE", f"/v1/terminal/readers/{_ID}", "terminal.readers.delete", "delete_reader"),
        ("POST", f"/v1/terminal/readers/{_ID}/process_payment_intent",
         "terminal.readers.process_payment_intent", "process_payment_intent"),
        ("POST", f"/v1/terminal/readers/{_ID}/cancel_action",
         "terminal.readers.cancel_action", "cancel_action"),
        ("POST", f"/v1/terminal/readers/{_ID}/refund_payment",
         "terminal.readers.refund_payment", "refund_payment"),
        ("POST", f"/v1/test_helpers/terminal/readers/{_ID}/present_payment_method",
         "test_helpers.terminal.readers.present_payment_method", "present_payment_method"),
    ]
]  # fmt: skip

_FAULT_KEYS = {
    "timeout_next",
    "slow_next",
    "drop_response_next",
    "fail_next_http",
    "duplicate_webhooks",
    "reorder_webhooks",
    "webhook_delay_ms",
    "reader_offline",
    "reader_online",
}


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    notes: list[str] = field(default_factory=list)
    saved: bool = False  # kept under the request's idempotency key


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _mask(key: str) -> str:
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


class EmulatorServer:
    """A running (or ready to run) emulator. ``start()`` serves from a background thread;
    ``serve_forever()`` serves from the calling one; ``stop()`` shuts both the HTTP server
    and the webhook worker down."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        api_key: str = DEFAULT_API_KEY,
        webhook_url: str | None = None,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        webhook_max_attempts: int = 4,
        webhook_backoff: float = 0.5,
        webhook_timeout: float = 5.0,
        webhook_api_version: str | None = None,
        log: Callable[[str], None] | None = None,
        record: bool = False,
    ):
        self.api_key = api_key
        # With `record`, every /v1 exchange and every webhook event is kept in `traffic` (for
        # tests that check what was sent against the SDK's types; see `take_traffic`).
        self.record = record
        self.traffic: list[dict[str, Any]] = []
        self._traffic_lock = threading.Lock()
        self.dispatcher = WebhookDispatcher(
            webhook_url,
            webhook_secret,
            max_attempts=webhook_max_attempts,
            backoff=webhook_backoff,
            timeout=webhook_timeout,
            api_version=webhook_api_version,
        )
        self.state = EmulatorState(dispatcher=self.dispatcher)
        if record:
            self.dispatcher.observer = self._record_event
        self.log = log or logger.info
        self._in_flight: set[str] = set()  # idempotency keys whose request is running
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.emulator = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stripe-emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.dispatcher.stop()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def take_traffic(self) -> list[dict[str, Any]]:
        """What was recorded since the last call (`record=True`), oldest first: dicts with
        `kind` "api" (method, path, params, status, body, headers) or "event" (event)."""
        with self._traffic_lock:
            taken, self.traffic = self.traffic, []
        return taken

    def _record(self, entry: dict[str, Any]) -> None:
        if self.record:
            with self._traffic_lock:
                self.traffic.append(json.loads(json.dumps(entry)))

    def _record_event(self, payload: str) -> None:
        self._record({"kind": "event", "event": json.loads(payload)})

    def reset(self) -> None:
        """Forget every object, event, delivery, idempotency key and fault."""
        with self.state.lock:
            self.state.reset()
            self.dispatcher.reset()

    # --- the Stripe API -------------------------------------------------------------------

    def handle_api(self, method: str, path: str, query: str, body: bytes, headers: Any) -> Reply:
        reply = self._handle_api(method, path, query, body, headers)
        if self.record:
            try:
                params = forms.decode(query)
                if body:
                    params.update(forms.decode(body.decode("utf-8")))
            except (StripeAPIError, UnicodeDecodeError):
                params = {"_undecodable": True}
            self._record(
                {
                    "kind": "api",
                    "method": method,
                    "path": path,
                    "params": params,
                    "status": reply.status,
                    "body": reply.body,
                    "headers": dict(reply.headers),
                    "stripe_version": headers.get("Stripe-Version"),
                    "dropped": reply.drop,
                }
            )
        return reply

    def _handle_api(self, method: str, path: str, query: str, body: bytes, headers: Any) -> Reply:
        request_id = new_id("req_", 14)
        version = headers.get("Stripe-Version") or self.state.api_version
        base_headers = {"Request-Id": request_id, "Stripe-Version": version}
        if not valid_version(version):
            base_headers["Stripe-Version"] = self.state.api_version
            err = StripeAPIError(f"Invalid Stripe API version: {version}", saved=False)
            return Reply(err.status, err.body(), base_headers)
        key = headers.get("Idempotency-Key") if method == "POST" else None
        if key:
            base_headers["Idempotency-Key"] = key

        def error_reply(err: StripeAPIError, notes: list[str] | None = None) -> Reply:
            return Reply(err.status, err.body(), {**base_headers, **err.headers}, notes=notes or [])

        denied = self._authenticate(headers.get("Authorization"))
        if denied is not None:
            return error_reply(denied)

        route = self._route(method, path)
        if route is None:
            return error_reply(
                StripeAPIError(
                    f"Unrecognized request URL ({method}: {path}). Please see "
                    "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    status=404,
                    saved=False,
                )
            )
        op, fn, object_id = route
        try:
            params = forms.decode(query)
            if method == "POST" and body:
                ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ctype not in ("", "application/x-www-form-urlencoded"):
                    raise StripeAPIError(
                        "Invalid request: the v1 API takes application/x-www-form-urlencoded "
                        f"bodies, not {ctype}.",
                        saved=False,
                    )
                params.update(forms.decode(body.decode("utf-8")))
        except StripeAPIError as err:
            return error_reply(err)
        except UnicodeDecodeError:
            return error_reply(StripeAPIError("Request body is not valid UTF-8.", saved=False))

        if key is not None and len(key) > 255:
            return error_reply(
                StripeAPIError(
                    "Idempotency keys can be at most 255 characters long.",
                    type="idempotency_error",
                    saved=False,
                )
            )

        ctx = RequestContext(request_id=request_id, idempotency_key=key, api_version=version)
        # Idempotency as Stripe does it: a finished request's answer is replayed; a second
        # request with a key whose first request is still running is refused with 409
        # idempotency_key_in_use (it is not queued behind it). Other requests run side by side;
        # only the state changes themselves take the state lock, one at a time.
        with self.state.lock:
            if key:
                replay = self._replay(key, method, path, params, base_headers)
                if replay is not None:
                    return replay
                if key in self._in_flight:
                    err = StripeAPIError(
                        "There is currently another in-progress request using this "
                        f"Idempotency-Key (that probably means you submitted twice, and the "
                        f"other request is still going through): {key}. Please try again "
                        "later.",
                        status=409,
                        type="idempotency_error",
                        code="idempotency_key_in_use",
                        saved=False,
                    )
                    return error_reply(err, ["in_flight"])
                self._in_flight.add(key)
            slow = self.state.take_fault("slow_next", op)
        try:
            if slow is not None:  # Stripe takes its time: the key stays in flight meanwhile
                time.sleep(slow["ms"] / 1000)
            with self.state.lock:
                reply = self._execute(op, fn, object_id, params, ctx, version, base_headers)
                if slow is not None:
                    reply.notes.append(f"fault=slow:{slow['ms']}ms")
                if key and reply.saved:
                    self._remember(key, method, path, params, reply)
                return reply
        finally:
            if key:
                with self.state.lock:
                    self._in_flight.discard(key)

    def _execute(
        self, op: str, fn: str, object_id, params: dict, ctx, version: str, base_headers: dict
    ) -> Reply:
        """Run one API call on the state (the state lock is held) and apply the faults."""
        notes: list[str] = []

        def error_reply(err: StripeAPIError) -> Reply:
            return Reply(err.status, err.body(), {**base_headers, **err.headers}, notes=notes)

        fail = self.state.take_fault("fail_next_http", op)
        if fail is not None and not fail["after"]:
            notes.append(f"fault=fail_next_http:{fail['status']}")
            return Reply(
                fail["status"], self._api_error_body(fail["status"]), base_headers, notes=notes
            )
        try:
            handler = getattr(self.state, fn)
            args = (object_id, params, ctx) if object_id is not None else (params, ctx)
            obj = handler(*args)
            reply = Reply(200, self.state.render(obj, params.get("expand"), version), base_headers)
            reply.saved = True
        except StripeAPIError as err:
            reply = error_reply(err)
            reply.saved = err.saved
        reply.notes = notes
        if fail is not None:  # "after": the work is done, the answer is lost
            notes.append(f"fault=fail_next_http:{fail['status']}:after")
            reply = Reply(
                fail["status"], self._api_error_body(fail["status"]), base_headers, notes=notes
            )
            reply.saved = True
        elif reply.status == 200:
            if self.state.take_fault("timeout_next", op) is not None:
                notes.append("fault=timeout")
                timeout = StripeAPIError(
                    "The reader did not respond in time. The action may or may not have "
                    "been delivered to the reader: retrieve the reader (or wait for a "
                    "terminal.reader.action_* webhook) to see its current action before "
                    "retrying.",
                    code="terminal_reader_timeout",
                )
                reply = error_reply(timeout)
                reply.saved = True
            elif self.state.take_fault("drop_response_next", op) is not None:
                notes.append("fault=drop_response")
                reply.drop = True
        return reply

    def _authenticate(self, header: str | None) -> StripeAPIError | None:
        supplied = None
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer":
                supplied = value.strip()
            elif scheme.lower() == "basic":
                try:
                    supplied = base64.b64decode(value.strip()).decode().partition(":")[0]
                except (binascii.Error, UnicodeDecodeError):
                    supplied = ""
        if not supplied:
            return StripeAPIError(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/.",
                status=401,
                saved=False,
            )
        if supplied != self.api_key:
            return StripeAPIError(
                f"Invalid API Key provided: {_mask(supplied)}", status=401, saved=False
            )
        return None

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, str, str | None] | None:
        for route_method, pattern, op, fn in ROUTES:
            if route_method != method:
                continue
            m = pattern.match(path)
            if m:
                return op, fn, m.groupdict().get("id")
        return None

    @staticmethod
    def _api_error_body(status: int) -> dict[str, Any]:
        return {
            "error": {
                "message": f"An unknown error occurred (emulated HTTP {status}).",
                "type": "api_error",
            }
        }

    def _replay(
        self, key: str, method: str, path: str, params: dict, headers: dict[str, str]
    ) -> Reply | None:
        store = self.state.idempotency
        cutoff = time.time() - IDEMPOTENCY_TTL
        for old in [k for k, rec in store.items() if rec["at"] < cutoff]:
            del store[old]
        record = store.get(key)
        if record is None:
            return None
        if (record["method"], record["path"]) != (method, path):
            err = StripeAPIError(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{record['method']} {record['path']}' vs '{method} {path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different "
                "request.",
                type="idempotency_error",
                saved=False,
            )
            return Reply(err.status, err.body(), headers)
        if record["params"] != params:
            err = StripeAPIError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
                saved=False,
            )
            return Reply(err.status, err.body(), headers)
        return Reply(
            record["status"],
            json.loads(record["body"]),
            {**record["headers"], "Idempotent-Replayed": "true"},
            notes=["replayed"],
        )

    def _remember(self, key: str, method: str, path: str, params: dict, reply: Reply) -> None:
        self.state.idempotency[key] = {
            "at": time.time(),
            "method": method,
            "path": path,
            "params": json.loads(json.dumps(params)),
            "status": reply.status,
            "body": json.dumps(reply.body),
            "headers": dict(reply.headers),
        }

    # --- the control API ------------------------------------------------------------------

    def handle_control(self, method: str, path: str, query: str, body: bytes) -> Reply:
        try:
            data = self._json_body(body) if method == "POST" else {}
            status, payload = self._control(method, path, parse_qs(query), data)
            return Reply(status, payload)
        except ControlError as exc:
            return Reply(exc.status, {"error": {"message": str(exc), "type": "emulator_error"}})
        except StripeAPIError as err:
            return Reply(err.status, err.body())

    @staticmethod
    def _json_body(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            try:
                data = forms.decode(body.decode("utf-8"))
            except Exception as exc:
                raise ControlError("Body must be a JSON object.") from exc
        if not isinstance(data, dict):
            raise ControlError("Body must be a JSON object.")
        return data

    def _control(
        self, method: str, path: str, query: dict[str, list[str]], data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        path = path.rstrip("/")
        if method == "GET" and path in ("/_emulator", "/_emulator/health"):
            return 200, {
                "ok": True,
                "api_version": self.state.api_version,
                "webhook_url": self.dispatcher.url,
                "webhook_api_version": self.dispatcher.api_version or self.state.api_version,
            }
        if method == "GET" and path == "/_emulator/state":
            with self.state.lock:
                snap = self.state.snapshot()
            snap["webhooks"] = {"url": self.dispatcher.url, **self.dispatcher.faults()}
            return 200, snap
        if method == "GET" and path == "/_emulator/events":
            deliveries = self.dispatcher.deliveries()
            wanted = query.get("type")
            if wanted:
                deliveries = [d for d in deliveries if d["type"] in wanted]
            return 200, {"object": "list", "data": deliveries}
        if path == "/_emulator/faults":
            if method == "POST":
                self.apply_faults(data)
            elif method == "DELETE":
                self.clear_faults()
            elif method != "GET":
                raise ControlError("Use GET, POST or DELETE.", 405)
            return 200, self.faults()
        if method == "POST" and path == "/_emulator/reset":
            self.reset()
            return 200, {"ok": True}
        if method == "POST" and path == "/_emulator/flush":
            timeout = float(data.get("timeout_ms", 5000)) / 1000
            return 200, {"idle": self.dispatcher.wait_idle(timeout)}
        if method == "POST" and path == "/_emulator/config":
            return 200, self.configure(data)
        m = re.fullmatch(r"/_emulator/readers/([^/]+)/present_payment_method", path)
        if method == "POST" and m:
            params: dict[str, Any] = {"type": data.get("type", "card_present")}
            if data.get("number"):
                params[params["type"]] = {"number": str(data["number"])}
            if data.get("amount_tip") is not None:
                params["amount_tip"] = str(data["amount_tip"])
            ctx = RequestContext(request_id=new_id("req_", 14))
            with self.state.lock:
                reader = self.state.present_payment_method(m.group(1), params, ctx)
                return 200, self.state.render(reader)
        m = re.fullmatch(r"/_emulator/payment_intents/([^/]+)/tap_to_pay", path)
        if method == "POST" and m:
            # Stands in for a Tap to Pay phone: the guest taps `number` on it.
            ctx = RequestContext(request_id=new_id("req_", 14))
            try:
                tip = int(data.get("amount_tip") or 0)
            except (TypeError, ValueError) as exc:
                raise ControlError("amount_tip must be a whole number.") from exc
            with self.state.lock:
                try:
                    pi = self.state.tap_to_pay(m.group(1), str(data.get("number") or ""), tip, ctx)
                except StripeAPIError as exc:
                    raise ControlError(exc.message, exc.status) from exc
                return 200, self.state.render(pi)
        raise ControlError(f"Unknown control endpoint: {method} {path}", 404)

    def apply_faults(self, data: dict[str, Any]) -> None:
        unknown = set(data) - _FAULT_KEYS
        if unknown:
            raise ControlError(
                f"Unknown fault(s): {', '.join(sorted(unknown))}. "
                f"Known: {', '.join(sorted(_FAULT_KEYS))}."
            )
        with self.state.lock:
            for kind in ("timeout_next", "drop_response_next"):
                if kind in data:
                    values = data[kind] if isinstance(data[kind], list) else [data[kind]]
                    for value in values:
                        if isinstance(value, str):
                            entry = {"op": value, "count": 1}
                        elif isinstance(value, dict) and isinstance(value.get("op"), str):
                            entry = {"op": value["op"], "count": int(value.get("count", 1))}
                        else:
                            raise ControlError(f"{kind}: give an operation name or {{op, count}}")
                        self.state.faults[kind].append(entry)
            if "slow_next" in data:
                values = (
                    data["slow_next"]
                    if isinstance(data["slow_next"], list)
                    else [data["slow_next"]]
                )
                for value in values:
                    if not isinstance(value, dict) or not isinstance(value.get("op"), str):
                        raise ControlError("slow_next: give {op, ms[, count]}")
                    self.state.faults["slow_next"].append(
                        {
                            "op": value["op"],
                            "ms": max(0, int(value.get("ms", 500))),
                            "count": int(value.get("count", 1)),
                        }
                    )
            if "fail_next_http" in data:
                value = data["fail_next_http"]
                if isinstance(value, bool) or not isinstance(value, int | dict):
                    raise ControlError("fail_next_http: give a status or {status, op, count}")
                spec = value if isinstance(value, dict) else {"status": value}
                status = int(spec.get("status", 500))
                if not 400 <= status <= 599:
                    raise ControlError("fail_next_http: status must be 4xx or 5xx")
                self.state.faults["fail_next_http"].append(
                    {
                        "status": status,
                        "op": str(spec.get("op", "*")),
                        "count": int(spec.get("count", 1)),
                        "after": bool(spec.get("after", False)),
                    }
                )
            for kind, status in (("reader_offline", "offline"), ("reader_online", "online")):
                if kind in data:
                    ids = data[kind] if isinstance(data[kind], list) else [data[kind]]
                    for reader_id in ids:
                        self.state.set_reader_status(str(reader_id), status)
        webhook: dict[str, Any] = {}
        if "duplicate_webhooks" in data:
            webhook["duplicate"] = bool(data["duplicate_webhooks"])
        if "reorder_webhooks" in data:
            value = data["reorder_webhooks"]
            webhook["reorder"] = bool(value)
            if isinstance(value, dict):
                webhook["reorder"] = bool(value.get("enabled", True))
                if "window_ms" in value:
                    webhook["reorder_window_ms"] = value["window_ms"]
        if "webhook_delay_ms" in data:
            webhook["delay_ms"] = data["webhook_delay_ms"]
        if webhook:
            self.dispatcher.configure(**webhook)

    def clear_faults(self) -> None:
        with self.state.lock:
            for entries in self.state.faults.values():
                entries.clear()
        self.dispatcher.configure(duplicate=False, reorder=False, delay_ms=0)

    def faults(self) -> dict[str, Any]:
        with self.state.lock:
            api = json.loads(json.dumps(self.state.faults))
            offline = sorted(self.state.unreachable)
        return {**api, **self.dispatcher.faults(), "readers_offline": offline}

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        known = {
            "webhook_url",
            "webhook_secret",
            "webhook_api_version",
            "webhook_max_attempts",
            "webhook_backoff_ms",
            "cancel_action_style",
        }
        unknown = set(data) - known
        if unknown:
            raise ControlError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
        if "cancel_action_style" in data:
            if data["cancel_action_style"] not in ("cleared", "failed"):
                raise ControlError("cancel_action_style is 'cleared' or 'failed'")
            with self.state.lock:
                self.state.cancel_action_style = data["cancel_action_style"]
        if "webhook_url" in data:
            self.dispatcher.url = data["webhook_url"] or None
        if "webhook_secret" in data:
            self.dispatcher.secret = str(data["webhook_secret"])
        if "webhook_api_version" in data:
            version = data["webhook_api_version"] or None
            if version is not None and not valid_version(str(version)):
                raise ControlError("webhook_api_version looks like 2026-10-28.endive")
            self.dispatcher.api_version = version
        if "webhook_max_attempts" in data:
            self.dispatcher.max_attempts = max(1, int(data["webhook_max_attempts"]))
        if "webhook_backoff_ms" in data:
            self.dispatcher.backoff = max(0.0, float(data["webhook_backoff_ms"]) / 1000)
        return {
            "webhook_url": self.dispatcher.url,
            "webhook_max_attempts": self.dispatcher.max_attempts,
            "webhook_backoff_ms": int(self.dispatcher.backoff * 1000),
            "webhook_api_version": self.dispatcher.api_version or self.state.api_version,
            "cancel_action_style": self.state.cancel_action_style,
        }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BrigadeStripeEmulator/1.0"
    disable_nagle_algorithm = True  # keep-alive + split writes would wait on delayed ACKs
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _dispatch

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        control = parts.path.startswith("/_emulator")
        if method == "OPTIONS":
            reply = Reply(204, {})
        elif control:
            reply = emulator.handle_control(method, parts.path, parts.query, body)
        elif parts.path.startswith("/v1/"):
            reply = emulator.handle_api(method, parts.path, parts.query, body, self.headers)
        else:
            reply = Reply(404, {"error": {"message": f"Not found: {parts.path}"}})
        if reply.drop:
            self.close_connection = True
        else:
            self._send(reply, cors=control or method == "OPTIONS")
        elapsed = (time.monotonic() - started) * 1000
        extras = []
        if reply.headers.get("Request-Id"):
            extras.append(reply.headers["Request-Id"])
        if reply.headers.get("Idempotency-Key"):
            extras.append(f"idem={reply.headers['Idempotency-Key']}")
        error = reply.body.get("error") if isinstance(reply.body, dict) else None
        if isinstance(error, dict) and error.get("code"):
            extras.append(f"code={error['code']}")
        extras.extend(reply.notes)
        status = "dropped" if reply.drop else str(reply.status)
        emulator.log(
            f'{self.client_address[0]} "{method} {self.path}" {status} {elapsed:.1f}ms '
            + " ".join(extras)
        )

    def _send(self, reply: Reply, cors: bool) -> None:
        data = b"" if reply.status == 204 else json.dumps(reply.body, indent=2).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if cors:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.end_headers()
        if data:
            self.wfile.write(data)
