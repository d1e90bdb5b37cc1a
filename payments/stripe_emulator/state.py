"""The emulator's objects and their transitions, kept in memory behind one lock.

Every public method here is called by the HTTP layer with ``self.lock`` held, takes the
decoded request parameters and returns the (live) object to answer with, or raises
``StripeAPIError``. Objects are plain dicts in Stripe's JSON shape; ``render`` deep-copies
one for the wire and applies ``expand[]``.

Shapes and rules follow the ``stripe`` SDK's generated types (``_payment_intent.py``,
``_charge.py``, ``_refund.py``, ``terminal/_reader.py``, ...) and Stripe's documentation
for the server-driven Terminal integration.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import errors, forms
from .errors import StripeAPIError

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1.0 sends as Stripe-Version

# Where the API versions between the oldest one modelled and API_VERSION differ, by the date part
# of the version (Stripe's changelog): a request or a webhook endpoint on an older version gets
# the older behaviour.
API_ERROR_SINCE = "2026-05-27"  # dahlia: terminal.reader action.api_error
ALLOWED_TYPES_SINCE = "2026-07-29"  # dahlia: allowed_payment_method_types on PaymentIntents
TYPES_REMOVED_SINCE = "2026-09-30"  # endive: payment_method_types no longer writable
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


def valid_version(version: str) -> bool:
    return bool(_VERSION.match(version or ""))


def since(version: str | None, date: str) -> bool:
    """Whether API version `version` (default: the emulator's) has the change made on `date`."""
    return (version or API_VERSION)[:10] >= date


_ALNUM = string.ascii_letters + string.digits


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def now() -> int:
    return int(time.time())


@dataclass
class RequestContext:
    """What an event's ``request`` field reports: the API request that caused it."""

    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None  # the request's Stripe-Version (None: the account's)


# --- money -----------------------------------------------------------------------------------

ZERO_DECIMAL = _names("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "chf": "CHF "}
# Stripe's minimum charge amounts (in the currency's minor unit) for the common currencies.
_MINIMUM = {
    "usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50, "nzd": 50, "sgd": 50,
    "dkk": 250, "nok": 300, "sek": 300, "pln": 200, "czk": 1500, "hkd": 400, "mxn": 1000,
    "jpy": 50,
}  # fmt: skip
MAXIMUM_AMOUNT = 99_999_999


def fmt_money(amount: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


# --- test cards ------------------------------------------------------------------------------

# number -> (brand, funding, outcome); outcome None approves, else (code, decline_code, message)
_DECLINED = "Your card was declined."
TEST_CARDS: dict[str, tuple[str, str, tuple[str, str, str] | None]] = {
    "4242424242424242": ("visa", "credit", None),
    "4000056655665556": ("visa", "debit", None),
    "5555555555554444": ("mastercard", "credit", None),
    "2223003122003222": ("mastercard", "credit", None),
    "5200828282828210": ("mastercard", "debit", None),
    "378282246310005": ("amex", "credit", None),
    "6011111111111117": ("discover", "credit", None),
    "4000000000000002": ("visa", "credit", ("card_declined", "generic_decline", _DECLINED)),
    "4000000000009995": (
        "visa",
        "credit",
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "4000000000009987": ("visa", "credit", ("card_declined", "lost_card", _DECLINED)),
    "4000000000009979": ("visa", "credit", ("card_declined", "stolen_card", _DECLINED)),
    "4000000000000069": (
        "visa",
        "credit",
        ("expired_card", "expired_card", "Your card has expired."),
    ),
    "4000000000000119": (
        "visa",
        "credit",
        (
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
}
_LIVE_CARD = (
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)
DEFAULT_CARD = "4242424242424242"
# Stripe's Terminal test amounts: in test mode a card that would be approved is declined when the
# amount (in minor units, before an on-reader tip) ends in one of these (physical test cards and
# simulated readers alike; a PIN cannot be entered on a simulated reader, so 02 and 03 decline).
_PIN = "This transaction requires a PIN."
AMOUNT_DECLINES: dict[int, tuple[str, str, str]] = {
    1: (
        "card_declined",
        "call_issuer",
        "Your card was declined. You can call your bank for details.",
    ),
    2: ("card_declined", "offline_pin_required", _PIN),
    3: ("card_declined", "online_or_offline_pin_required", _PIN),
    5: ("card_declined", "generic_decline", _DECLINED),
    55: ("card_declined", "incorrect_pin", "The PIN you entered is incorrect."),
    65: ("card_declined", "withdrawal_count_limit_exceeded", _DECLINED),
    75: ("card_declined", "pin_try_exceeded", "The allowable number of PIN tries was exceeded."),
}


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


# --- readers ---------------------------------------------------------------------------------

# Simulated readers as Stripe reports them: an empty software version, a serial number made from
# the registration code (simulated-wpe-xxx-xxx-xx-xxx), the label defaulting to it, and status
# "online" in the registration's answer but "offline" afterwards (a simulated reader sends no
# heartbeat), while it takes actions all the same.
REGISTRATION_CODES = {
    "simulated-wpe": "simulated_wisepos_e",
    "simulated-s700": "simulated_stripe_s700",
    "simulated-s710": "simulated_stripe_s710",
}
_SERIAL = string.ascii_lowercase + string.digits


def _serial_number(code: str) -> str:
    groups = ["".join(secrets.choice(_SERIAL) for _ in range(n)) for n in (3, 3, 2, 3)]
    return "-".join([code, *groups])


_HANDLE_ERRORS = (
    "https://stripe.com/docs/terminal/payments/collect-card-payment"
    "?terminal-sdk-platform=server-driven#handle-errors"
)

# --- parameter allowlists (top level, from the SDK's params TypedDicts) -----------------------

PI_CREATE = _names(
    "allowed_payment_method_types amount amount_details application_fee_amount "
    "automatic_payment_methods capture_method confirm confirmation_method confirmation_token "
    "currency customer customer_account description error_on_requires_action "
    "excluded_payment_method_types expand hooks mandate mandate_data metadata off_session "
    "on_behalf_of payment_details payment_method payment_method_configuration "
    "payment_method_data payment_method_options payment_method_types radar_options "
    "receipt_email return_url setup_future_usage shipping statement_descriptor "
    "statement_descriptor_suffix transfer_data transfer_group use_stripe_sdk"
)
PI_UPDATE = _names(
    "allowed_payment_method_types amount amount_details application_fee_amount capture_method "
    "currency customer customer_account description excluded_payment_method_types expand hooks "
    "metadata payment_details payment_method payment_method_configuration payment_method_data "
    "payment_method_options payment_method_types receipt_email setup_future_usage shipping "
    "statement_descriptor statement_descriptor_suffix transfer_data transfer_group"
)
PI_CAPTURE = _names(
    "amount_details amount_to_capture application_fee_amount expand final_capture hooks "
    "metadata payment_details statement_descriptor statement_descriptor_suffix "
    "transfer_data"
)
PI_CANCEL = frozenset({"cancellation_reason", "expand"})
PI_INCREMENT = _names(
    "amount amount_details application_fee_amount description expand hooks metadata "
    "payment_details statement_descriptor transfer_data"
)
LIST = frozenset({"ending_before", "expand", "limit", "starting_after", "created"})
REFUND_CREATE = _names(
    "amount charge currency customer expand instructions_email metadata origin "
    "payment_intent reason refund_application_fee reverse_transfer"
)
READER_CREATE = frozenset({"expand", "label", "location", "metadata", "registration_code"})
READER_UPDATE = frozenset({"expand", "label", "metadata"})
READER_LIST = LIST | {"device_type", "location", "serial_number", "status"}
PROCESS_PI = frozenset({"expand", "payment_intent", "process_config"})
PROCESS_CONFIG = frozenset(
    {"allow_redisplay", "enable_customer_cancellation", "return_url", "skip_tipping", "tipping"}
)
REFUND_PAYMENT = _names(
    "amount charge expand metadata payment_intent refund_application_fee "
    "refund_payment_config reverse_transfer"
)
PRESENT = frozenset({"amount_tip", "card", "card_present", "expand", "interac_present", "type"})
LOCATION_WRITE = _names(
    "address address_kana address_kanji configuration_overrides display_name "
    "display_name_kana display_name_kanji expand metadata phone"
)
CONFIGURATION_WRITE = _names(
    "bbpos_wisepad3 bbpos_wisepos_e cellular expand name offline reader_security reboot_window "
    "stripe_s700 stripe_s710 stripe_t600 tipping verifone_m425 verifone_p400 verifone_p630 "
    "verifone_ux700 verifone_v660p wifi"
)
# the currencies a Configuration's tipping takes (the SDK's ConfigurationCreateParamsTipping)
TIPPING_CURRENCIES = _names(
    "aed aud cad chf czk dkk eur gbp gip hkd huf jpy mxn myr nok nzd pln ron sek sgd usd"
)
TIPPING_KEYS = ("fixed_amounts", "percentages", "smart_tip_threshold")
ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")
# Terminal location addresses: countries whose addresses need a state (province, region) and
# countries without postal codes. Stripe's own lists are longer; these are the ones modelled.
STATE_REQUIRED = frozenset({"AU", "CA", "US"})
NO_POSTAL_CODE = frozenset({"AE", "HK"})

CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
AMOUNT_UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")

_EXPANDABLE_PREFIXES = {
    "pi_": "payment_intents",
    "ch_": "charges",
    "re_": "refunds",
    "pm_": "payment_methods",
    "tml_": "locations",
    "tmr_": "readers",
    "tmc_": "configurations",
}


def in_version(node: Any, version: str) -> Any:
    """An object (and the objects inside it) as API version `version` renders it: fields added
    by later versions are left out."""
    if isinstance(node, list):
        return [in_version(item, version) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("object")
    if kind == "payment_intent" and not since(version, ALLOWED_TYPES_SINCE):
        node.pop("allowed_payment_method_types", None)
    action = node.get("action") if kind == "terminal.reader" else None
    if isinstance(action, dict) and not since(version, API_ERROR_SINCE):
        action.pop("api_error", None)
    for key, value in node.items():
        if isinstance(value, dict | list):
            node[key] = in_version(value, version)
    return node


def _compatible(payment_method_type: str, currency: str) -> bool:
    if payment_method_type == "interac_present":
        return currency == "cad"
    return payment_method_type in ("card", "card_present")


class EmulatorState:
    """All objects, the event log, the idempotency store and the one-shot faults."""

    def __init__(self, *, dispatcher: Any = None, api_version: str = API_VERSION):
        self.lock = threading.RLock()
        self.dispatcher = dispatcher
        self.api_version = api_version
        self.reset()

    def reset(self) -> None:
        with self.lock:
            # "cleared": cancel_action leaves ``action: null`` (the API reference's example);
            # "failed": the action stays with status failed / failure_code canceled.
            self.cancel_action_style = "cleared"
            self.payment_intents: dict[str, dict] = {}
            self.charges: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.payment_methods: dict[str, dict] = {}
            self.locations: dict[str, dict] = {}
            self.configurations: dict[str, dict] = {}
            self.readers: dict[str, dict] = {}
            self.unreachable: set[str] = set()  # reader ids (the reader_offline fault)
            self.events: dict[str, dict] = {}
            self.idempotency: dict[str, dict] = {}
            self.reader_jobs: dict[str, dict] = {}  # reader id -> what its action needs
            self.faults: dict[str, list[dict]] = {
                "slow_next": [],
                "timeout_next": [],
                "drop_response_next": [],
                "fail_next_http": [],
            }
            # Every account has a default Configuration (no tipping until it is given some).
            default = self._new_configuration(name=None, default=True)
            self.configurations[default["id"]] = default

    # --- plumbing ------------------------------------------------------------------------

    def emit(self, type_: str, obj: dict, ctx: RequestContext | None) -> dict:
        """Record an event (rendered in the account's API version, as `GET /v1/events` shows
        it) and hand it to the webhook endpoint rendered in the endpoint's API version."""
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": self.api_version,
            "created": now(),
            "data": {"object": in_version(copy.deepcopy(obj), self.api_version)},
            "livemode": False,
            "pending_webhooks": 1 if self.dispatcher and self.dispatcher.url else 0,
            "request": {
                "id": ctx.request_id if ctx else None,
                "idempotency_key": ctx.idempotency_key if ctx else None,
            },
            "type": type_,
        }
        self.events[event["id"]] = event
        if len(self.events) > 20_000:
            self.events.pop(next(iter(self.events)))
        if self.dispatcher is not None:
            version = getattr(self.dispatcher, "api_version", None) or self.api_version
            delivered = {
                **event,
                "api_version": version,
                "data": {"object": in_version(copy.deepcopy(obj), version)},
            }
            self.dispatcher.enqueue(delivered)
        return event

    def render(self, obj: dict, expand: Any = None, version: str | None = None) -> dict:
        """`obj` for the wire: a copy, `expand[]` applied, in API version `version`."""
        out = copy.deepcopy(obj)
        paths = expand if isinstance(expand, list) else ([expand] if expand else [])
        for path in paths:
            if not isinstance(path, str) or not path:
                raise errors.invalid("expand", "Invalid expand parameter.")
            self._expand(out, path.split("."), path)
        return in_version(out, version or self.api_version)

    def _lookup(self, object_id: str) -> dict | None:
        for prefix, store in _EXPANDABLE_PREFIXES.items():
            if object_id.startswith(prefix):
                return getattr(self, store).get(object_id)
        return None

    def _expand(self, node: Any, parts: list[str], full: str) -> None:
        cannot = errors.invalid("expand", f"This property cannot be expanded ({full}).")
        if isinstance(node, dict) and node.get("object") == "list" and parts[0] == "data":
            for item in node["data"]:
                self._expand(item, parts[1:], full)
            return
        if not parts or not isinstance(node, dict) or parts[0] not in node:
            raise cannot
        key, rest = parts[0], parts[1:]
        value = node[key]
        if isinstance(value, str):
            found = self._lookup(value)
            if found is None:
                raise cannot
            value = node[key] = copy.deepcopy(found)
        if value is None:
            return
        if not isinstance(value, dict):
            raise cannot
        if rest:
            self._expand(value, rest, full)

    def _list(self, store: dict[str, dict], params: dict, url: str, keep=None) -> dict:
        limit = forms.integer(params, "limit", minimum=1)
        limit = 10 if limit is None else limit
        if limit > 100:
            raise errors.invalid("limit", "This value must be less than or equal to 100.")
        items = [o for o in reversed(store.values()) if keep is None or keep(o)]
        after = forms.string(params, "starting_after")
        before = forms.string(params, "ending_before")
        if after:
            ids = [o["id"] for o in items]
            if after not in ids:
                raise errors.no_such("object", after, "starting_after")
            items = items[ids.index(after) + 1 :]
            page = items[:limit]
        elif before:
            ids = [o["id"] for o in items]
            if before not in ids:
                raise errors.no_such("object", before, "ending_before")
            items = items[: ids.index(before)]
            page = items[-limit:]
        else:
            page = items[:limit]
        return {"object": "list", "data": page, "has_more": len(items) > len(page), "url": url}

    def _get(self, store: dict[str, dict], kind: str, object_id: str, param: str) -> dict:
        obj = store.get(object_id)
        if obj is None:
            raise errors.no_such(kind, object_id, param)
        return obj

    def take_fault(self, kind: str, op: str) -> dict | None:
        """Consume one use of the first ``kind`` fault that matches operation ``op``."""
        for entry in self.faults[kind]:
            target = entry["op"]
            if target in ("*", op) or op.endswith("." + target):
                entry["count"] -= 1
                if entry["count"] <= 0:
                    self.faults[kind].remove(entry)
                return entry
        return None

    # --- payment intents -----------------------------------------------------------------

    def _check_amount(self, amount: int, currency: str, param: str) -> None:
        minimum = _MINIMUM.get(currency, 50)
        if amount < minimum:
            raise StripeAPIError(
                f"Amount must be at least {fmt_money(minimum, currency)} {currency}",
                code="amount_too_small",
                param=param,
                saved=False,
            )
        if amount > MAXIMUM_AMOUNT:
            raise StripeAPIError(
                f"Amount must be no more than {fmt_money(MAXIMUM_AMOUNT, currency)}",
                code="amount_too_large",
                param=param,
                saved=False,
            )

    def _currency(self, params: dict, required: bool) -> str | None:
        raw = forms.string(params, "currency", required=required)
        if raw is None:
            return None
        if len(raw) != 3 or not raw.isalpha():
            raise errors.invalid(
                "currency", f"Invalid currency: {raw.lower()}.", code="parameter_invalid_string"
            )
        return raw.lower()

    def _pm_options(self, params: dict, types: list[str], current: dict | None) -> dict | None:
        options = copy.deepcopy(current) if current else {}
        raw = forms.hash_param(params, "payment_method_options") or {}
        card_present = raw.get("card_present") if isinstance(raw, dict) else None
        if "card_present" in types:
            cp = options.setdefault(
                "card_present",
                {
                    "capture_method": None,
                    "request_extended_authorization": False,
                    "request_incremental_authorization_support": False,
                    "routing": None,
                },
            )
            if isinstance(card_present, dict):
                prefix = "payment_method_options[card_present]"
                for flag in (
                    "request_extended_authorization",
                    "request_incremental_authorization_support",
                ):
                    value = forms.boolean(card_present, flag)
                    if value is not None:
                        cp[flag] = value
                if "capture_method" in card_present:
                    cp["capture_method"] = forms.string(
                        card_present,
                        "capture_method",
                        choices=("manual", "manual_preferred"),
                    )
                known = {
                    "request_extended_authorization",
                    "request_incremental_authorization_support",
                    "capture_method",
                    "routing",
                }
                forms.check_known(card_present, known, prefix)
        return options or None

    def _payment_method_types(
        self, params: dict, ctx: RequestContext, currency: str
    ) -> tuple[list[str] | None, list[str] | None]:
        """(payment_method_types, allowed_payment_method_types) a create or update asks for,
        as the request's API version takes them; (None, None) when it sets neither."""
        version = ctx.api_version
        if "payment_method_types" in params and since(version, TYPES_REMOVED_SINCE):
            raise StripeAPIError(
                f"The payment_method_types parameter is no longer supported on API version "
                f"{version or self.api_version}. Use allowed_payment_method_types to limit the "
                "payment methods a PaymentIntent can use, or dynamic payment methods.",
                code="payment_method_types_no_longer_supported",
                param="payment_method_types",
                saved=False,
            )
        if "allowed_payment_method_types" in params and not since(version, ALLOWED_TYPES_SINCE):
            raise errors.unknown_param("allowed_payment_method_types")
        allowed = forms.string_list(params, "allowed_payment_method_types")
        if allowed is None:
            return forms.string_list(params, "payment_method_types"), None
        exclusive = (
            "payment_method_types",
            "excluded_payment_method_types",
            "automatic_payment_methods",
            "payment_method_configuration",
        )
        clash = next((name for name in exclusive if name in params), None)
        if clash:
            raise StripeAPIError(
                f"You cannot pass both allowed_payment_method_types and {clash}.",
                code="parameters_exclusive",
                param="allowed_payment_method_types",
                saved=False,
            )
        # Incompatible types are left out silently; what remains is payment_method_types.
        usable = [t for t in dict.fromkeys(allowed) if _compatible(t, currency)]
        if not usable:
            raise errors.invalid(
                "allowed_payment_method_types",
                "None of the allowed_payment_method_types can be used with this PaymentIntent "
                f"in {currency} (the emulator models card, card_present and, in cad, "
                "interac_present).",
            )
        return usable, allowed

    def create_payment_intent(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PI_CREATE)
        amount = forms.integer(params, "amount", required=True)
        currency = self._currency(params, required=True)
        assert amount is not None and currency is not None
        self._check_amount(amount, currency, "amount")
        if forms.boolean(params, "confirm"):
            raise errors.invalid(
                "confirm",
                "The Brigade emulator only confirms card_present PaymentIntents on a reader "
                "(process_payment_intent); create it without confirm=true.",
            )
        capture_method = forms.string(
            params, "capture_method", choices=("automatic", "automatic_async", "manual")
        )
        types, allowed = self._payment_method_types(params, ctx, currency)
        automatic = None
        if not types:
            types = ["card"]
            automatic = {"allow_redirects": "always", "enabled": True}
        pi_id = new_id("pi_")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "allowed_payment_method_types": allowed,
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": automatic,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method or "automatic_async",
            "client_secret": f"{pi_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "created": now(),
            "currency": currency,
            "customer": None,
            "description": forms.string(params, "description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": forms.apply_metadata({}, params),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": self._pm_options(params, types, None),
            "payment_method_types": types,
            "processing": None,
            "receipt_email": forms.string(params, "receipt_email"),
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": forms.string(params, "statement_descriptor"),
            "statement_descriptor_suffix": forms.string(params, "statement_descriptor_suffix"),
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": forms.string(params, "transfer_group"),
        }
        self.payment_intents[pi_id] = pi
        self.emit("payment_intent.created", pi, ctx)
        return pi

    def get_payment_intent(self, pi_id: str, param: str = "intent") -> dict:
        return self._get(self.payment_intents, "payment_intent", pi_id, param)

    def retrieve_payment_intent(self, pi_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"client_secret", "expand"})
        return self.get_payment_intent(pi_id)

    def list_payment_intents(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST | {"customer", "customer_account"})
        return self._list(self.payment_intents, params, "/v1/payment_intents")

    def _reader_processing(self, pi_id: str) -> str | None:
        for reader_id, job in self.reader_jobs.items():
            reader = self.readers.get(reader_id)
            if (
                job.get("payment_intent") == pi_id
                and reader
                and reader["action"]
                and reader["action"]["status"] == "in_progress"
            ):
                return reader_id
        return None

    def update_payment_intent(self, pi_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PI_UPDATE)
        pi = self.get_payment_intent(pi_id)
        changes_money = any(
            k in params
            for k in (
                "amount",
                "currency",
                "payment_method_types",
                "allowed_payment_method_types",
                "capture_method",
            )
        )
        if changes_money:
            if pi["status"] not in AMOUNT_UPDATABLE:
                raise errors.unexpected_state(
                    f"This PaymentIntent's amount, currency, payment_method_types or "
                    f"capture_method could not be updated because it has a status of "
                    f"{pi['status']}. You may only update them on a PaymentIntent with one of "
                    f"the following statuses: {', '.join(AMOUNT_UPDATABLE)}.",
                    payment_intent=self.render(pi, version=ctx.api_version),
                )
            busy = self._reader_processing(pi_id)
            if busy:
                raise errors.unexpected_state(
                    f"This PaymentIntent is being processed by reader {busy}. Cancel the "
                    "reader action (cancel_action) before changing its amount.",
                    payment_intent=self.render(pi, version=ctx.api_version),
                )
        currency = self._currency(params, required=False) or pi["currency"]
        amount = forms.integer(params, "amount")
        if amount is not None or currency != pi["currency"]:
            self._check_amount(pi["amount"] if amount is None else amount, currency, "amount")
        types, allowed = self._payment_method_types(params, ctx, currency)
        capture_method = forms.string(
            params, "capture_method", choices=("automatic", "automatic_async", "manual")
        )
        metadata = forms.apply_metadata(pi["metadata"], params)
        # all validated: apply
        if amount is not None:
            pi["amount"] = amount
        pi["currency"] = currency
        if types:
            pi["payment_method_types"] = types
            pi["allowed_payment_method_types"] = allowed
            pi["automatic_payment_methods"] = None
        if capture_method:
            pi["capture_method"] = capture_method
        if "payment_method_options" in params or types:
            pi["payment_method_options"] = self._pm_options(
                params, pi["payment_method_types"], pi["payment_method_options"]
            )
        for field in (
            "description",
            "receipt_email",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "transfer_group",
        ):
            if field in params:
                pi[field] = forms.string(params, field) or None
        pi["metadata"] = metadata
        return pi

    def capture_payment_intent(self, pi_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PI_CAPTURE)
        pi = self.get_payment_intent(pi_id)
        amount = forms.integer(params, "amount_to_capture", minimum=1)
        metadata = forms.apply_metadata(pi["metadata"], params)
        if pi["status"] != "requires_capture":
            raise errors.unexpected_state(
                f"This PaymentIntent could not be captured because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                "be captured: requires_capture.",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        capturable = pi["amount_capturable"]
        if amount is None:
            amount = capturable
        if amount > capturable:
            raise StripeAPIError(
                f"The amount to capture ({fmt_money(amount, pi['currency'])}) is greater than "
                f"the amount capturable on this PaymentIntent "
                f"({fmt_money(capturable, pi['currency'])}).",
                code="amount_too_large",
                param="amount_to_capture",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        charge = self.charges[pi["latest_charge"]]
        charge["captured"] = True
        charge["amount_captured"] = amount
        # Capturing less than authorized releases the rest, which Stripe reports as refunded.
        charge["amount_refunded"] = charge["amount"] - amount
        charge["balance_transaction"] = new_id("txn_")
        pi["status"] = "succeeded"
        pi["amount_received"] = amount
        pi["amount_capturable"] = 0
        pi["metadata"] = metadata
        self.emit("charge.captured", charge, ctx)
        self.emit("payment_intent.succeeded", pi, ctx)
        return pi

    def cancel_payment_intent(self, pi_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PI_CANCEL)
        pi = self.get_payment_intent(pi_id)
        reason = forms.string(
            params,
            "cancellation_reason",
            choices=("abandoned", "duplicate", "fraudulent", "requested_by_customer"),
        )
        if pi["status"] not in CANCELABLE:
            raise errors.unexpected_state(
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(CANCELABLE)}.",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        busy = self._reader_processing(pi_id)
        if busy:
            self._fail_action(
                busy,
                "payment_intent_canceled",
                "The PaymentIntent was canceled while the reader was processing it.",
                ctx,
            )
        charge_refunded = None
        if pi["status"] == "requires_capture" and pi["latest_charge"]:
            charge = self.charges[pi["latest_charge"]]
            charge["amount_refunded"] = charge["amount"]
            charge["refunded"] = True
            charge_refunded = charge
        pi["status"] = "canceled"
        pi["canceled_at"] = now()
        pi["cancellation_reason"] = reason
        pi["amount_capturable"] = 0
        if charge_refunded is not None:
            self.emit("charge.refunded", charge_refunded, ctx)
        self.emit("payment_intent.canceled", pi, ctx)
        return pi

    def increment_authorization(self, pi_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PI_INCREMENT)
        pi = self.get_payment_intent(pi_id)
        amount = forms.integer(params, "amount", required=True)
        assert amount is not None
        metadata = forms.apply_metadata(pi["metadata"], params)
        if pi["status"] != "requires_capture":
            raise errors.unexpected_state(
                f"This PaymentIntent's authorization could not be incremented because it has a "
                f"status of {pi['status']}. Only a PaymentIntent with one of the following "
                "statuses may be incremented: requires_capture.",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        charge = self.charges[pi["latest_charge"]]
        details = charge["payment_method_details"]["card_present"]
        if not details["incremental_authorization_supported"]:
            raise StripeAPIError(
                "This PaymentIntent does not support incremental authorizations. Create it "
                "with payment_method_options[card_present]"
                "[request_incremental_authorization_support]=true.",
                param="amount",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        if amount <= pi["amount"]:
            raise errors.invalid(
                "amount",
                f"The amount must be greater than the PaymentIntent's current amount "
                f"({fmt_money(pi['amount'], pi['currency'])}).",
                code="parameter_invalid_integer",
            )
        self._check_amount(amount, pi["currency"], "amount")
        pi["amount"] = amount
        pi["amount_capturable"] = amount
        pi["metadata"] = metadata
        if "description" in params:
            pi["description"] = forms.string(params, "description") or None
        charge["amount"] = amount
        details["amount_authorized"] = amount
        self.emit("payment_intent.amount_capturable_updated", pi, ctx)
        return pi

    # --- charges, payment methods, refunds -----------------------------------------------

    def retrieve_charge(self, charge_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.charges, "charge", charge_id, "id")

    def list_charges(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST | {"customer", "payment_intent", "transfer_group"})
        pi_id = forms.string(params, "payment_intent")
        return self._list(
            self.charges,
            params,
            "/v1/charges",
            keep=lambda c: pi_id is None or c["payment_intent"] == pi_id,
        )

    def retrieve_payment_method(self, pm_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.payment_methods, "payment_method", pm_id, "payment_method")

    def _refundable_charge(self, params: dict) -> dict:
        pi_id = forms.string(params, "payment_intent")
        charge_id = forms.string(params, "charge")
        if not pi_id and not charge_id:
            raise errors.invalid(
                "payment_intent",
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        pi = self.get_payment_intent(pi_id, "payment_intent") if pi_id else None
        if charge_id:
            charge = self._get(self.charges, "charge", charge_id, "charge")
            if pi is not None and charge["payment_intent"] != pi["id"]:
                raise errors.invalid(
                    "charge", f"Charge {charge_id} does not belong to PaymentIntent {pi_id}."
                )
        else:
            assert pi is not None
            if pi["status"] == "requires_capture":
                raise StripeAPIError(
                    f"This PaymentIntent ({pi['id']}) has not been captured, so there is no "
                    "charge to refund. Cancel the PaymentIntent instead to release the "
                    "authorization.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            if pi["status"] != "succeeded" or not pi["latest_charge"]:
                raise StripeAPIError(
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            charge = self.charges[pi["latest_charge"]]
        if charge["status"] != "succeeded":
            raise StripeAPIError(
                f"Charge {charge['id']} has failed and cannot be refunded.",
                code="charge_not_refundable",
                param="charge",
            )
        if not charge["captured"]:
            raise StripeAPIError(
                f"Charge {charge['id']} has not been captured, so it cannot be refunded. "
                "Cancel its PaymentIntent instead to release the authorization.",
                code="charge_not_refundable",
                param="charge",
            )
        return charge

    def _refund_amount(self, charge: dict, params: dict) -> int:
        amount = forms.integer(params, "amount", minimum=1)
        refundable = charge["amount"] - charge["amount_refunded"]
        if refundable <= 0:
            raise StripeAPIError(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            return refundable
        if amount > refundable:
            raise StripeAPIError(
                f"Refund amount ({fmt_money(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({fmt_money(refundable, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        return amount

    def _make_refund(self, charge: dict, amount: int, params: dict, ctx: RequestContext) -> dict:
        reason = forms.string(
            params, "reason", choices=("duplicate", "fraudulent", "requested_by_customer")
        )
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn_"),
            "charge": charge["id"],
            "created": now(),
            "currency": charge["currency"],
            "destination_details": {
                "card": {
                    "reference": None,
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": forms.apply_metadata({}, params),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.emit("refund.created", refund, ctx)
        self.emit("charge.refunded", charge, ctx)
        return refund

    def create_refund(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, REFUND_CREATE)
        charge = self._refundable_charge(params)
        amount = self._refund_amount(charge, params)
        return self._make_refund(charge, amount, params, ctx)

    def retrieve_refund(self, refund_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.refunds, "refund", refund_id, "refund")

    def list_refunds(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST | {"charge", "payment_intent"})
        charge_id = forms.string(params, "charge")
        pi_id = forms.string(params, "payment_intent")
        return self._list(
            self.refunds,
            params,
            "/v1/refunds",
            keep=lambda r: (
                (charge_id is None or r["charge"] == charge_id)
                and (pi_id is None or r["payment_intent"] == pi_id)
            ),
        )

    # --- terminal: locations and connection tokens ----------------------------------------

    def _address(self, params: dict, current: dict | None) -> dict:
        """A location's address as Stripe takes it: never an empty string (an address part
        cannot be unset), and complete for its country: line1, city, postal code (where the
        country has them), country, and the state where the country needs one."""
        raw = forms.hash_param(params, "address")
        if raw is None:
            if current is None:
                raise errors.missing("address")
            return current
        forms.check_known(raw, set(ADDRESS), "address")
        address = dict(current or dict.fromkeys(ADDRESS))
        for key in ADDRESS:
            if key in raw:
                value = forms.string(raw, key)
                if value == "":
                    raise errors.empty(f"address[{key}]")
                address[key] = value
        country = address.get("country")
        if not country:
            raise errors.missing("address[country]")
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise errors.invalid(
                "address[country]",
                f"Country '{country}' is unknown. Try using a 2-character alphanumeric country "
                "code instead, such as 'US', 'EG', or 'GB'. A full list of country codes is "
                "available at https://stripe.com/docs/api#country_codes",
                code="country_code_invalid",
            )
        needed = ["line1", "city"]
        if country not in NO_POSTAL_CODE:
            needed.append("postal_code")
        if country in STATE_REQUIRED:
            needed.append("state")
        for key in needed:
            if not address.get(key):
                raise errors.missing(f"address[{key}]")
        return address

    def create_location(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LOCATION_WRITE)
        display_name = forms.string(params, "display_name", required=True)
        location = {
            "id": new_id("tml_", 14),
            "object": "terminal.location",
            "address": self._address(params, None),
            "configuration_overrides": self._configuration_ref(params),
            "display_name": display_name,
            "livemode": False,
            "metadata": forms.apply_metadata({}, params),
            "phone": forms.string(params, "phone"),
        }
        self.locations[location["id"]] = location
        return location

    def retrieve_location(self, location_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.locations, "terminal.location", location_id, "location")

    def update_location(self, location_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LOCATION_WRITE)
        location = self._get(self.locations, "terminal.location", location_id, "location")
        address = self._address(params, location["address"])
        if "display_name" in params:
            location["display_name"] = forms.string(params, "display_name", required=True)
        location["address"] = address
        if "phone" in params:
            location["phone"] = forms.string(params, "phone") or None
        if "configuration_overrides" in params:
            location["configuration_overrides"] = self._configuration_ref(params, unset=True)
        location["metadata"] = forms.apply_metadata(location["metadata"], params)
        return location

    def delete_location(self, location_id: str, params: dict, ctx: RequestContext) -> dict:
        self._get(self.locations, "terminal.location", location_id, "location")
        del self.locations[location_id]
        return {"id": location_id, "object": "terminal.location", "deleted": True}

    def list_locations(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST)
        return self._list(self.locations, params, "/v1/terminal/locations")

    def _configuration_ref(self, params: dict, unset: bool = False) -> str | None:
        """`configuration_overrides`: an existing Configuration's id ("" unsets, on update)."""
        value = forms.string(params, "configuration_overrides")
        if value is None or (value == "" and unset):
            return None
        if value == "":
            raise errors.empty("configuration_overrides")
        self._get(self.configurations, "terminal.configuration", value, "configuration_overrides")
        return value

    # --- terminal: configurations (on-reader tipping) --------------------------------------

    @staticmethod
    def _new_configuration(name: str | None, default: bool = False) -> dict:
        return {
            "id": new_id("tmc_", 14),
            "object": "terminal.configuration",
            "is_account_default": default,
            "livemode": False,
            "name": name,
            "tipping": None,
        }

    def _tipping(self, params: dict, current: dict | None) -> dict | None:
        """`tipping[<currency>][percentages|fixed_amounts|smart_tip_threshold]`, checked."""
        if "tipping" not in params:
            return current
        raw = forms.hash_param(params, "tipping")
        if not raw:  # tipping="" unsets it
            return None
        forms.check_known(raw, TIPPING_CURRENCIES, "tipping")
        tipping = copy.deepcopy(current) if current else {}
        for currency, spec in raw.items():
            prefix = f"tipping[{currency}]"
            if not isinstance(spec, dict):
                raise errors.invalid(prefix, f"Invalid object: {prefix} must be a hash")
            forms.check_known(spec, set(TIPPING_KEYS), prefix)
            entry: dict[str, Any] = dict.fromkeys(TIPPING_KEYS)
            for key in ("fixed_amounts", "percentages"):
                if key in spec:
                    values = spec[key] if isinstance(spec[key], list) else None
                    if values is None:
                        raise errors.invalid(f"{prefix}[{key}]", "Invalid array")
                    lowest = 1 if key == "percentages" else 0
                    numbers = [
                        forms.integer(
                            {f"{prefix}[{key}][{i}]": v}, f"{prefix}[{key}][{i}]", minimum=lowest
                        )
                        for i, v in enumerate(values)
                    ]
                    if len(numbers) > 3:
                        raise errors.invalid(
                            f"{prefix}[{key}]",
                            "The reader shows at most three tip suggestions: give up to 3 values.",
                        )
                    if key == "percentages" and any(n > 100 for n in numbers):
                        raise errors.invalid(f"{prefix}[{key}]", "Tip percentages are at most 100.")
                    entry[key] = numbers
            entry["smart_tip_threshold"] = forms.integer(spec, "smart_tip_threshold", minimum=0)
            if entry["smart_tip_threshold"] is not None and not (
                entry["fixed_amounts"] and entry["percentages"]
            ):
                raise errors.invalid(
                    f"{prefix}[smart_tip_threshold]",
                    "Smart tips need fixed_amounts (shown below the threshold) and percentages "
                    "(shown above it).",
                )
            tipping[currency] = entry
        shapes = {tuple(k for k in TIPPING_KEYS if e[k] is not None) for e in tipping.values()}
        if len(shapes) > 1:
            raise errors.invalid(
                "tipping",
                "When tipping is set for more than one currency, give the same keys "
                "(percentages, fixed_amounts, smart_tip_threshold) for each.",
            )
        return tipping

    def create_configuration(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, CONFIGURATION_WRITE)
        configuration = self._new_configuration(forms.string(params, "name"))
        configuration["tipping"] = self._tipping(params, None)
        self.configurations[configuration["id"]] = configuration
        return configuration

    def retrieve_configuration(self, config_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.configurations, "terminal.configuration", config_id, "configuration")

    def update_configuration(self, config_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, CONFIGURATION_WRITE)
        configuration = self._get(
            self.configurations, "terminal.configuration", config_id, "configuration"
        )
        tipping = self._tipping(params, configuration["tipping"])
        if "name" in params:
            configuration["name"] = forms.string(params, "name") or None
        configuration["tipping"] = tipping
        return configuration

    def delete_configuration(self, config_id: str, params: dict, ctx: RequestContext) -> dict:
        configuration = self._get(
            self.configurations, "terminal.configuration", config_id, "configuration"
        )
        if configuration["is_account_default"]:
            raise StripeAPIError(
                "The account's default Configuration cannot be deleted.", param="configuration"
            )
        del self.configurations[config_id]
        for location in self.locations.values():
            if location["configuration_overrides"] == config_id:
                location["configuration_overrides"] = None
        return {"id": config_id, "object": "terminal.configuration", "deleted": True}

    def list_configurations(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST | {"is_account_default"})
        wanted = forms.boolean(params, "is_account_default")
        return self._list(
            self.configurations,
            params,
            "/v1/terminal/configurations",
            keep=lambda c: wanted is None or c["is_account_default"] == wanted,
        )

    def reader_tipping(self, reader: dict, currency: str) -> dict | None:
        """The tip suggestions a reader shows for `currency`: its location's Configuration
        (configuration_overrides), else the account default; None: no tipping screen."""
        location = self.locations.get(reader.get("location") or "")
        config_id = location and location.get("configuration_overrides")
        configuration = self.configurations.get(config_id or "")
        if configuration is None:
            configuration = next(
                (c for c in self.configurations.values() if c["is_account_default"]), None
            )
        return ((configuration or {}).get("tipping") or {}).get(currency)

    def create_connection_token(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand", "location"})
        location = forms.string(params, "location")
        token: dict[str, Any] = {"object": "terminal.connection_token"}
        if location:
            self._get(self.locations, "terminal.location", location, "location")
            token["location"] = location
        token["secret"] = new_id("pst_test_", 40)
        return token

    # --- terminal: readers ----------------------------------------------------------------

    def get_reader(self, reader_id: str) -> dict:
        return self._get(self.readers, "terminal.reader", reader_id, "reader")

    def create_reader(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, READER_CREATE)
        code = forms.string(params, "registration_code", required=True)
        assert code is not None
        if code not in REGISTRATION_CODES:
            raise StripeAPIError(
                f"The registration code '{code}' is invalid. The emulator registers simulated "
                f"readers: {', '.join(REGISTRATION_CODES)}.",
                param="registration_code",
                saved=False,
            )
        location = forms.string(params, "location")
        if location:
            self._get(self.locations, "terminal.location", location, "location")
        serial = _serial_number(code)
        reader = {
            "id": new_id("tmr_", 14),
            "object": "terminal.reader",
            "action": None,
            "device_sw_version": "",
            "device_type": REGISTRATION_CODES[code],
            "ip_address": "0.0.0.0",  # noqa: S104 - what Stripe reports for simulated readers
            "label": forms.string(params, "label") or serial,
            "last_seen_at": None,
            "livemode": False,
            "location": location,
            "metadata": forms.apply_metadata({}, params),
            "serial_number": serial,
            "status": "offline",
        }
        self.readers[reader["id"]] = reader
        return {**reader, "status": "online"}  # as the registration answers

    def retrieve_reader(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self.get_reader(reader_id)

    def update_reader(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, READER_UPDATE)
        reader = self.get_reader(reader_id)
        metadata = forms.apply_metadata(reader["metadata"], params)
        if "label" in params:
            reader["label"] = forms.string(params, "label", required=True)
        reader["metadata"] = metadata
        return reader

    def delete_reader(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        self.get_reader(reader_id)
        del self.readers[reader_id]
        self.reader_jobs.pop(reader_id, None)
        self.unreachable.discard(reader_id)
        return {"id": reader_id, "object": "terminal.reader", "deleted": True}

    def list_readers(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, READER_LIST)
        wanted = {
            key: forms.string(params, key)
            for key in ("location", "status", "device_type", "serial_number")
        }
        return self._list(
            self.readers,
            params,
            "/v1/terminal/readers",
            keep=lambda r: all(v is None or r[k] == v for k, v in wanted.items()),
        )

    def set_reader_status(self, reader_id: str, status: str) -> dict:
        """The reader_offline / reader_online faults: an unreachable reader refuses actions
        (its reported status is "offline" either way, as for every simulated reader)."""
        reader = self.get_reader(reader_id)
        if status == "online":
            self.unreachable.discard(reader_id)
        else:
            self.unreachable.add(reader_id)
        return reader

    def _usable_reader(self, reader_id: str) -> dict:
        reader = self.get_reader(reader_id)
        if reader_id in self.unreachable:
            raise StripeAPIError(
                "Reader is currently offline, please ensure the reader is powered on and "
                "connected to the internet before retrying your request. Reference the "
                f"integration guide at {_HANDLE_ERRORS} for details on how to handle this "
                "error.",
                code="terminal_reader_offline",
            )
        return reader

    def _not_busy(self, reader: dict) -> None:
        if reader["action"] and reader["action"]["status"] == "in_progress":
            raise StripeAPIError(
                "Reader is currently busy processing another request. Reference the "
                f"integration guide at {_HANDLE_ERRORS} for details on how to handle this "
                "error.",
                code="terminal_reader_busy",
            )

    def process_payment_intent(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PROCESS_PI)
        pi_id = forms.string(params, "payment_intent", required=True)
        assert pi_id is not None
        config_in = forms.hash_param(params, "process_config")
        config: dict[str, Any] | None = None
        if config_in is not None:
            forms.check_known(config_in, PROCESS_CONFIG, "process_config")
            config = {}
            for flag in ("enable_customer_cancellation", "skip_tipping"):
                value = forms.boolean(config_in, flag)
                if value is not None:
                    config[flag] = value
            for text in ("allow_redisplay", "return_url"):
                if text in config_in:
                    config[text] = forms.string(config_in, text)
            tipping = forms.hash_param(config_in, "tipping")
            if tipping is not None:
                forms.check_known(tipping, {"amount_eligible"}, "process_config[tipping]")
                eligible = forms.integer(tipping, "amount_eligible", minimum=1)
                config["tipping"] = {"amount_eligible": eligible}
        reader = self.get_reader(reader_id)
        pi = self.get_payment_intent(pi_id, "payment_intent")
        reader = self._usable_reader(reader_id)
        self._not_busy(reader)
        if "card_present" not in pi["payment_method_types"]:
            raise StripeAPIError(
                f"The PaymentIntent {pi_id} cannot be processed on a reader: its "
                "payment_method_types do not include card_present.",
                code="payment_intent_invalid_parameter",
                param="payment_intent",
            )
        if pi["status"] != "requires_payment_method":
            raise errors.invalid_state(
                f"This PaymentIntent could not be processed on a reader because it has a status "
                f"of {pi['status']}. Only a PaymentIntent with one of the following statuses "
                "may be processed: requires_payment_method.",
                param="payment_intent",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        other = self._reader_processing(pi_id)
        if other:
            raise errors.invalid_state(
                f"This PaymentIntent is already being processed by reader {other}.",
                param="payment_intent",
                payment_intent=self.render(pi, version=ctx.api_version),
            )
        action_body: dict[str, Any] = {"payment_intent": pi_id}
        if config is not None:
            action_body["process_config"] = config
        reader["action"] = {
            "api_error": None,
            "failure_code": None,
            "failure_message": None,
            "process_payment_intent": action_body,
            "status": "in_progress",
            "type": "process_payment_intent",
        }
        skip = bool(config and config.get("skip_tipping"))
        self.reader_jobs[reader_id] = {
            "kind": "process_payment_intent",
            "payment_intent": pi_id,
            "skip_tipping": skip,
            # The reader offers tips only with a tipping Configuration for this currency.
            "tipping": None if skip else self.reader_tipping(reader, pi["currency"]),
        }
        return reader

    def refund_payment(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, REFUND_PAYMENT)
        self.get_reader(reader_id)
        charge = self._refundable_charge(params)
        amount = self._refund_amount(charge, params)
        reader = self._usable_reader(reader_id)
        self._not_busy(reader)
        metadata = forms.apply_metadata({}, params)
        reader["action"] = {
            "api_error": None,
            "failure_code": None,
            "failure_message": None,
            "refund_payment": {
                "amount": amount,
                "charge": charge["id"],
                "metadata": metadata,
                "payment_intent": charge["payment_intent"],
                "reason": None,
                "refund": None,
                "refund_application_fee": forms.boolean(params, "refund_application_fee"),
                "reverse_transfer": forms.boolean(params, "reverse_transfer"),
            },
            "status": "in_progress",
            "type": "refund_payment",
        }
        self.reader_jobs[reader_id] = {
            "kind": "refund_payment",
            "charge": charge["id"],
            "amount": amount,
            "metadata": metadata,
        }
        return reader

    def cancel_action(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        reader = self._usable_reader(reader_id)
        action = reader["action"]
        if not action or action["status"] != "in_progress":
            raise StripeAPIError(
                f"Reader {reader_id} has no in-progress action to cancel.",
                param="reader",
            )
        self.reader_jobs.pop(reader_id, None)
        if self.cancel_action_style == "failed":
            action["status"] = "failed"
            action["failure_code"] = "canceled"
            action["failure_message"] = "The action was canceled."
            self.emit("terminal.reader.action_failed", reader, ctx)
        else:
            reader["action"] = None
        return reader

    def _fail_action(
        self, reader_id: str, code: str, message: str, ctx, api_error: dict | None = None
    ) -> None:
        """The reader's action failed: `api_error` when an API error caused it (a decline, a
        PaymentIntent in the wrong state), None when the reader did (canceled)."""
        reader = self.readers[reader_id]
        reader["action"]["status"] = "failed"
        reader["action"]["failure_code"] = code
        reader["action"]["failure_message"] = message
        reader["action"]["api_error"] = api_error
        self.reader_jobs.pop(reader_id, None)
        self.emit("terminal.reader.action_failed", reader, ctx)

    @staticmethod
    def _api_error(type_: str, code: str, message: str, ctx, **extra) -> dict:
        """An action's api_error (dahlia 2026-05-27): what the API error behind it said."""
        return {
            "code": code,
            "decline_code": extra.get("decline_code"),
            "doc_url": errors.DOCS + code.replace("_", "-"),
            "message": message,
            "param": extra.get("param"),
            "request_log_url": (
                f"https://dashboard.stripe.com/test/logs/{ctx.request_id}"
                if ctx and ctx.request_id
                else None
            ),
            "type": type_,
        }

    # --- test helpers ---------------------------------------------------------------------

    def present_payment_method(self, reader_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, PRESENT)
        kind = (
            forms.string(params, "type", choices=("card_present", "interac_present", "card"))
            or "card_present"
        )
        source = forms.hash_param(params, kind) or {}
        forms.check_known(
            source,
            {"number", "cvc", "exp_month", "exp_year"} if kind == "card" else {"number"},
            kind,
        )
        number = (forms.string(source, "number") or DEFAULT_CARD).replace(" ", "")
        tip = forms.integer(params, "amount_tip", minimum=0) or 0
        reader = self._usable_reader(reader_id)
        job = self.reader_jobs.get(reader_id)
        action = reader["action"]
        if not action or action["status"] != "in_progress" or job is None:
            raise StripeAPIError(
                f"Reader {reader_id} has no in-progress action waiting for a payment method. "
                "Call process_payment_intent (or refund_payment) first.",
                param="reader",
            )
        if job["kind"] == "refund_payment":
            charge = self.charges[job["charge"]]
            refundable = charge["amount"] - charge["amount_refunded"]
            if job["amount"] > refundable:
                message = (
                    f"Refund amount is greater than unrefunded amount on charge "
                    f"({fmt_money(refundable, charge['currency'])})"
                )
                self._fail_action(
                    reader_id,
                    "amount_too_large",
                    message,
                    ctx,
                    self._api_error("invalid_request_error", "amount_too_large", message, ctx),
                )
                return reader
            refund_params = {"metadata": job["metadata"]} if job["metadata"] else {}
            refund = self._make_refund(charge, job["amount"], refund_params, ctx)
            action["refund_payment"]["refund"] = refund["id"]
            action["status"] = "succeeded"
            self.reader_jobs.pop(reader_id, None)
            self.emit("terminal.reader.action_succeeded", reader, ctx)
            return reader

        pi = self.payment_intents[job["payment_intent"]]
        if pi["status"] != "requires_payment_method":
            message = (
                f"The PaymentIntent has a status of {pi['status']} and can no longer be processed."
            )
            self._fail_action(
                reader_id,
                "intent_invalid_state",
                message,
                ctx,
                self._api_error("invalid_request_error", "intent_invalid_state", message, ctx),
            )
            return reader
        self._authorize(reader, pi, number, tip if job.get("tipping") else 0, ctx)
        return reader

    def tap_to_pay(self, pi_id: str, number: str, tip: int, ctx: RequestContext) -> dict:
        """What the Terminal SDK on a Tap to Pay phone does once the guest taps: collect and
        confirm the PaymentIntent (no reader involved). Returns the PaymentIntent."""
        pi = self.payment_intents.get(pi_id)
        if pi is None:
            raise StripeAPIError(
                f"No such payment_intent: '{pi_id}'",
                status=404,
                code="resource_missing",
                param="intent",
            )
        if pi["status"] != "requires_payment_method":
            raise StripeAPIError(
                f"This PaymentIntent's status is {pi['status']}; it cannot be collected.",
                code="payment_intent_unexpected_state",
            )
        phone = {"id": None, "location": None, "action": {}}
        self._authorize(phone, pi, number.replace(" ", "") or DEFAULT_CARD, tip, ctx)
        return pi

    def _payment_method(self, number: str, brand: str, funding: str) -> dict:
        fingerprint = hashlib.sha256(("brigade:" + number).encode()).hexdigest()[:16]
        pm = {
            "id": new_id("pm_"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": dict.fromkeys(ADDRESS),
                "email": None,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "card_present": {
                "brand": brand,
                "brand_product": None,
                "cardholder_name": None,
                "country": "US",
                "description": None,
                "exp_month": 12,
                "exp_year": time.gmtime().tm_year + 4,
                "fingerprint": fingerprint,
                "funding": funding,
                "issuer": None,
                "last4": number[-4:],
                "networks": {"available": [brand], "preferred": None},
                "offline": None,
                "preferred_locales": ["en"],
                "read_method": "contactless_emv",
                "wallet": {"type": "unknown"},
            },
            "created": now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card_present",
        }
        self.payment_methods[pm["id"]] = pm
        return pm

    def _authorize(self, reader: dict, pi: dict, number: str, tip: int, ctx) -> None:
        if number in TEST_CARDS:
            brand, funding, failure = TEST_CARDS[number]
        else:
            brand, funding, failure = _brand(number), "credit", _LIVE_CARD
        if failure is None:  # Stripe's test amounts: the cents decide (before any tip)
            failure = AMOUNT_DECLINES.get(pi["amount"] % 100)
        pm = self._payment_method(number, brand, funding)
        total = pi["amount"] + tip
        manual = pi["capture_method"] == "manual"
        card = pm["card_present"]
        cp_options = (pi["payment_method_options"] or {}).get("card_present") or {}
        created = now()
        charge = {
            "id": new_id("ch_"),
            "object": "charge",
            "amount": total,
            "amount_captured": 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "authorization_code": None if failure else f"{secrets.randbelow(10**6):06d}",
            "balance_transaction": None,
            "billing_details": copy.deepcopy(pm["billing_details"]),
            "calculated_statement_descriptor": pi["statement_descriptor"] or "BRIGADE",
            "captured": False,
            "created": created,
            "currency": pi["currency"],
            "customer": None,
            "description": pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": failure[0] if failure else None,
            "failure_message": failure[2] if failure else None,
            "fraud_details": {},
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "declined_by_network" if failure else "approved_by_network",
                "reason": failure[1] if failure else None,
                "risk_level": "not_assessed",
                "seller_message": (
                    "The bank did not return any further details with this decline."
                    if failure
                    else "Payment complete."
                ),
                "type": "issuer_declined" if failure else "authorized",
            },
            "paid": failure is None,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "card_present": {
                    "amount_authorized": None if failure else total,
                    "brand": brand,
                    "brand_product": None,
                    "capture_before": None if failure else created + 2 * 86400,
                    "cardholder_name": None,
                    "country": card["country"],
                    "description": None,
                    "emv_auth_data": "8A023030",
                    "exp_month": card["exp_month"],
                    "exp_year": card["exp_year"],
                    "fingerprint": card["fingerprint"],
                    "funding": funding,
                    "generated_card": None,
                    "iin": None,
                    "incremental_authorization_supported": bool(
                        cp_options.get("request_incremental_authorization_support")
                    ),
                    "issuer": None,
                    "last4": card["last4"],
                    "location": reader["location"],
                    "network": brand,
                    "network_transaction_id": new_id("", 15),
                    "offline": None,
                    "overcapture_supported": False,
                    "preferred_locales": ["en"],
                    "read_method": "contactless_emv",
                    "reader": reader["id"],
                    "receipt": {
                        "account_type": funding,
                        "application_cryptogram": secrets.token_hex(8).upper(),
                        "application_preferred_name": f"{brand.title()} {funding.title()}",
                        "authorization_code": None,
                        "authorization_response_code": "3035" if failure else "3030",
                        "cardholder_verification_method": "approval",
                        "dedicated_file_name": "A0000000031010",
                        "terminal_verification_results": "0000000000",
                        "transaction_status_information": "0000",
                    },
                    "wallet": None,
                },
                "type": "card_present",
            },
            "receipt_email": pi["receipt_email"],
            "receipt_number": None,
            "receipt_url": None,
            "refunded": False,
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": None,
            "statement_descriptor": pi["statement_descriptor"],
            "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
            "status": "failed" if failure else "succeeded",
            "transfer_data": None,
            "transfer_group": pi["transfer_group"],
        }
        self.charges[charge["id"]] = charge
        pi["latest_charge"] = charge["id"]
        action = reader["action"]
        self.reader_jobs.pop(reader["id"], None)
        if failure:
            code, decline_code, message = failure
            pi["last_payment_error"] = {
                "charge": charge["id"],
                "code": code,
                "decline_code": decline_code,
                "doc_url": errors.DOCS + code.replace("_", "-"),
                "message": message,
                "payment_method": copy.deepcopy(pm),
                "type": "card_error",
            }
            pi["payment_method"] = None
            pi["status"] = "requires_payment_method"
            action["status"] = "failed"
            action["failure_code"] = code
            action["failure_message"] = message
            action["api_error"] = self._api_error(
                "card_error", code, message, ctx, decline_code=decline_code
            )
            self.emit("charge.failed", charge, ctx)
            self.emit("payment_intent.payment_failed", pi, ctx)
            if reader["id"]:  # not for a Tap to Pay phone (tap_to_pay below)
                self.emit("terminal.reader.action_failed", reader, ctx)
            return
        pi["amount"] = total
        if tip:
            pi["amount_details"] = {**pi["amount_details"], "tip": {"amount": tip}}
        pi["payment_method"] = pm["id"]
        pi["last_payment_error"] = None
        if manual:
            pi["status"] = "requires_capture"
            pi["amount_capturable"] = total
            self.emit("charge.succeeded", charge, ctx)
            self.emit("payment_intent.amount_capturable_updated", pi, ctx)
        else:
            charge["captured"] = True
            charge["amount_captured"] = total
            charge["balance_transaction"] = new_id("txn_")
            pi["status"] = "succeeded"
            pi["amount_received"] = total
            self.emit("charge.succeeded", charge, ctx)
            self.emit("payment_intent.succeeded", pi, ctx)
        action["status"] = "succeeded"
        if reader["id"]:
            self.emit("terminal.reader.action_succeeded", reader, ctx)

    # --- events ---------------------------------------------------------------------------

    def retrieve_event(self, event_id: str, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, {"expand"})
        return self._get(self.events, "event", event_id, "id")

    def list_events(self, params: dict, ctx: RequestContext) -> dict:
        forms.check_known(params, LIST | {"type", "types", "delivery_success"})
        single = forms.string(params, "type")
        many = forms.string_list(params, "types")

        def matches(event: dict) -> bool:
            wanted = [single] if single else (many or [])
            if not wanted:
                return True
            for pattern in wanted:
                if pattern.endswith(".*") and event["type"].startswith(pattern[:-1]):
                    return True
                if event["type"] == pattern:
                    return True
            return False

        return self._list(self.events, params, "/v1/events", keep=matches)

    # --- control API support --------------------------------------------------------------

    def snapshot(self) -> dict:
        return copy.deepcopy(
            {
                "api_version": self.api_version,
                "payment_intents": list(self.payment_intents.values()),
                "charges": list(self.charges.values()),
                "refunds": list(self.refunds.values()),
                "payment_methods": list(self.payment_methods.values()),
                "locations": list(self.locations.values()),
                "configurations": list(self.configurations.values()),
                "readers": list(self.readers.values()),
                "events": [
                    {"id": e["id"], "type": e["type"], "created": e["created"]}
                    for e in self.events.values()
                ],
                "faults": self.faults,
                "cancel_action_style": self.cancel_action_style,
                "idempotency_keys": len(self.idempotency),
            }
        )
