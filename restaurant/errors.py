"""Domain errors: a stable code, a human message and, where it applies, the field at fault.

Services raise these; the edge (API view, form, admin action, command) turns them into a 4xx
JSON body `{"error": {"code", "message", "field"}}` or a form message. A service that raises
has changed nothing: it runs in a transaction that the exception rolls back.
"""

from __future__ import annotations

import os
from enum import StrEnum

# --- the registry ------------------------------------------------------------------------------


class ErrorCode(StrEnum):
    """Every error code Brigade answers with: its usual HTTP status and what it means.

    Services raise `DomainError(..., code=ErrorCode.BAD_VERSION)` (or the plain string, which
    must be one of these); the OpenAPI document lists them (the Error schema's `code` enum and
    `x-error-codes`), and the tablet and kitchen pages get the table as `#brigade-errors`
    (restaurant/templatetags/brigade.py), so their JavaScript compares against names from it.
    Codes passed on from Stripe (card payments) are registered here too.
    """

    def __new__(cls, value: str, status: int, meaning: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.meaning = meaning
        return member

    # Input (400)
    INVALID = "invalid", 400, "A value breaks a rule stated for its field."
    INVALID_TYPE = "invalid_type", 400, "A value has the wrong JSON type."
    INVALID_JSON = "invalid_json", 400, "The body is not a JSON object Brigade can read."
    REQUIRED = "required", 400, "A required field is missing or empty."
    UNKNOWN_FIELD = "unknown_field", 400, "The body has a field the operation does not take."
    TOO_LONG = "too_long", 400, "A text is longer than its maximum."
    TOO_MANY = "too_many", 400, "A list has more entries than its maximum."
    BAD_REQUEST = "bad_request", 400, "The request cannot be read."
    SECRET_IN_URL = "secret_in_url", 400, "A PIN, token or code was sent in the query string."
    BAD_KIND = "bad_kind", 400, "Unknown kind."
    BAD_METHOD = "bad_method", 400, "Unknown payment method."
    BAD_EMAIL = "bad_email", 400, "Not an e-mail address."
    BAD_FRACTION = "bad_fraction", 400, "A split share is not a valid fraction."
    BAD_SIGNATURE = "bad_signature", 400, "A webhook's signature does not match."
    INVALID_MENU = "invalid_menu", 400, "A menu file cannot be imported."
    INVALID_PIN = "invalid_pin", 400, "A PIN must be 4 to 8 digits."
    PIN_TAKEN = "pin_taken", 400, "Another staff member of the venue has this PIN."
    ALREADY_STAFF = "already_staff", 400, "This user is already staff at the venue."
    LAST_OWNER = "last_owner", 400, "A venue needs at least one active owner."
    NAME_REQUIRED = "name_required", 400, "A name is required."
    TABLE_REQUIRED = "table_required", 400, "A table check needs a table."
    TARGET_REQUIRED = "target_required", 400, "The target check or table is missing."
    GUESTS_REQUIRED = "guests_required", 400, "The number of guests is required."
    LINES_REQUIRED = "lines_required", 400, "At least one line is required."
    REASON_REQUIRED = "reason_required", 400, "A reason is required."
    PART_REQUIRED = "part_required", 400, "A split bill needs the part being paid."
    DRAWER_REQUIRED = "drawer_required", 400, "Cash needs an open drawer named."
    READER_REQUIRED = "reader_required", 400, "A card payment needs a reader."
    COUNT_REQUIRED = "count_required", 400, "The counted cash is required."
    COUNT_TOO_LARGE = "count_too_large", 400, "A counted amount is too large."
    COUNT_MISMATCH = "count_mismatch", 400, "The counted total does not match the denominations."
    SAME_CHECK = "same_check", 400, "A check cannot be moved or merged onto itself."
    SEAT_TWICE = "seat_twice", 400, "A seat is named twice."
    NO_SEATS = "no_seats", 400, "The check has no seats to split by."
    UNKNOWN_LINE = "unknown_line", 400, "A line is not on this check."
    LINE_OVERASSIGNED = "line_overassigned", 400, "The parts pay for more than all of a line."
    NEGATIVE_PRICE = "negative_price", 400, "A price cannot be negative."
    NOTHING_TO_CHANGE = "nothing_to_change", 400, "The request changes nothing."
    PERCENT_OR_AMOUNT = "percent_or_amount", 400, "Give a percentage or an amount, not both."
    DISCOUNT_TOO_LARGE = "discount_too_large", 400, "A discount is larger than what it applies to."
    COMP_IS_WHOLE = "comp_is_whole", 400, "A comp takes the whole line: no amount."
    AMOUNTS_EXCEED_TOTAL = (
        "amounts_exceed_total",
        400,
        "Split amounts add up to more than the bill.",
    )
    TENDERED_SHORT = "tendered_short", 400, "The cash tendered is less than the amount."
    TIP_TOO_LARGE = "tip_too_large", 400, "The tip is larger than allowed."
    TIP_TWICE = "tip_twice", 400, "A tip is given both as an amount and a percentage."
    NOT_CARD = "not_card", 400, "The payment is not a card payment."
    NOT_FAILED = "not_failed", 400, "Only a failed card payment can be retried."
    NOT_A_READER = "not_a_reader", 400, "The device is not a card reader."
    NOT_REPRINTABLE = "not_reprintable", 400, "This print job cannot be printed again."
    EMPTY_JOB = "empty_job", 400, "Nothing to print."
    SERVER_NOT_ELIGIBLE = "server_not_eligible", 400, "The staff member cannot take checks."
    OUT_OF_STOCK = "out_of_stock", 400, "More are ordered than the stock count left."
    INVALID_CHOICE = "invalid_choice", 400, "A modifier choice is not well-formed."
    UNKNOWN_MODIFIER = "unknown_modifier", 400, "A modifier is not offered for this item."
    DUPLICATE_MODIFIER = "duplicate_modifier", 400, "A modifier is chosen twice."
    MODIFIER_MIN = "modifier_min", 400, "Too few choices in a modifier group."
    MODIFIER_MAX = "modifier_max", 400, "Too many choices in a modifier group."
    MODIFIER_QUANTITY = "modifier_quantity", 400, "A modifier's quantity is out of range."
    MODIFIER_UNAVAILABLE = "modifier_unavailable", 400, "A modifier is marked unavailable."
    # Signing in (401)
    NOT_AUTHENTICATED = "not_authenticated", 401, "Not signed in."
    DEVICE_NOT_PAIRED = "device_not_paired", 401, "This device is not paired with Brigade."
    PIN_REQUIRED = "pin_required", 401, "A staff member must sign in with their PIN."
    LOCKED = "locked", 401, "The tablet locked itself after idling; enter the PIN again."
    # Not allowed (403)
    PERMISSION_DENIED = "permission_denied", 403, "The staff member may not do this."
    APPROVAL_REQUIRED = "approval_required", 403, "A manager's PIN must approve this."
    BAD_APPROVAL_PIN = "bad_approval_pin", 403, "The approving PIN is wrong or may not approve."
    CSRF_FAILED = "csrf_failed", 403, "A cookie-authenticated write without a valid CSRF token."
    WRONG_PIN = "wrong_pin", 403, "No staff member has this PIN."
    LOCKED_OUT = "locked_out", 403, "Too many wrong PINs; wait retry_after seconds."
    THROTTLED = "throttled", 403, "Too many failed attempts from this device; wait."
    STAFF_INACTIVE = "staff_inactive", 403, "The staff member is no longer active."
    DEVICE_REVOKED = "device_revoked", 403, "This device was revoked."
    BAD_PAIRING_CODE = "bad_pairing_code", 403, "The pairing code is wrong or used."
    WRONG_DEVICE_KIND = "wrong_device_kind", 403, "The code is for another kind of device."
    WRONG_STATION = "wrong_station", 403, "The ticket is at another station."
    NO_STATION = "no_station", 403, "The screen shows no station."
    # Not found (404)
    NOT_FOUND = "not_found", 404, "No such thing at this venue."
    UNKNOWN_ITEM = "unknown_item", 404, "No such menu item."
    NO_PRINTER = "no_printer", 404, "No such printer."
    METHOD_NOT_ALLOWED = (
        "method_not_allowed",
        405,
        "Wrong method; the Allow header lists the right ones.",
    )
    # Refused by the state of things (409)
    CONFLICT = "conflict", 409, "Refused by the state of things."
    BAD_VERSION = "bad_version", 409, "The check changed since the version the client saw."
    STALE_VERSION = "stale_version", 409, "The check changed since the version the client saw."
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 409, "The key was used for another request."
    CHECK_NOT_OPEN = "check_not_open", 409, "The check is closed."
    CHECK_NOT_CLOSED = "check_not_closed", 409, "Only a closed check can be reopened."
    CHECK_EMPTY = "check_empty", 409, "The check has no lines."
    TABLE_OCCUPIED = "table_occupied", 409, "The table already has an open check."
    LINE_ALREADY_SENT = "line_already_sent", 409, "The line was sent to the kitchen already."
    LINE_VOIDED = "line_voided", 409, "The line is voided."
    ALREADY_VOIDED = "already_voided", 409, "The line was voided already."
    NOT_VOID = "not_void", 409, "The line is not voided."
    ALREADY_REMOVED = "already_removed", 409, "The adjustment was removed already."
    NOTHING_TO_DISCOUNT = "nothing_to_discount", 409, "Nothing left to discount."
    NOTHING_TO_RECALL = "nothing_to_recall", 409, "No bumped ticket to recall."
    NOT_BUMPED = "not_bumped", 409, "The ticket is not bumped."
    ALREADY_BUMPED = "already_bumped", 409, "The ticket is bumped already."
    ITEM_UNAVAILABLE = "item_unavailable", 409, "The item is marked unavailable."
    ITEM_NOT_ACTIVE = "item_not_active", 409, "The item is no longer on the menu."
    MENU_UNAVAILABLE = "menu_unavailable", 409, "The menu is not served now."
    INSUFFICIENT_STOCK = "insufficient_stock", 409, "Not enough stock left."
    BALANCE_DUE = "balance_due", 409, "The check still has a balance to pay."
    BELOW_PAID = "below_paid", 409, "The total would fall below what is paid."
    NOTHING_DUE = "nothing_due", 409, "Nothing is left to pay."
    OVERPAYMENT = "overpayment", 409, "The payment is more than what is due."
    PART_PAID = "part_paid", 409, "The bill part is paid already."
    PART_LOCKED = "part_locked", 409, "The bill part is locked by a payment."
    PART_IN_PROGRESS = "part_in_progress", 409, "A card payment is in progress for this part."
    PAYMENT_NOT_PENDING = "payment_not_pending", 409, "The payment is no longer pending."
    NOT_REFUNDABLE = "not_refundable", 409, "The payment cannot be refunded."
    REFUND_TOO_LARGE = "refund_too_large", 409, "The refund is more than what is left."
    NOT_AUTHORIZED = "not_authorized", 409, "The card payment is not authorized yet."
    NO_OPEN_DRAWER = "no_open_drawer", 409, "No drawer is open for cash."
    DRAWER_ALREADY_OPEN = "drawer_already_open", 409, "The drawer is open already."
    DRAWER_NOT_OPEN = "drawer_not_open", 409, "The drawer is not open."
    DRAWER_CLOSED = "drawer_closed", 409, "The drawer session is closed."
    DRAWER_INACTIVE = "drawer_inactive", 409, "The drawer is not in use."
    DRAWER_SHORT = "drawer_short", 409, "The drawer holds less cash than that."
    NO_RECEIPT_PRINTER = "no_receipt_printer", 409, "No receipt printer is set up."
    ADDRESS_INCOMPLETE = "address_incomplete", 409, "The venue's address is incomplete."
    STRIPE_NOT_CONFIGURED = "stripe_not_configured", 409, "Card payments are not set up."
    # Too large (413)
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, "The request body is too large."
    # Card payments: from Stripe, passed on (409 when the state refuses it, 502 when unreachable)
    STRIPE_ERROR = "stripe_error", 502, "Stripe refused the call."
    STRIPE_UNREACHABLE = "stripe_unreachable", 502, "Stripe did not answer; checked again first."
    TERMINAL_READER_BUSY = "terminal_reader_busy", 409, "Stripe: the reader is busy."
    TERMINAL_READER_OFFLINE = "terminal_reader_offline", 409, "Stripe: the reader is offline."
    TERMINAL_READER_TIMEOUT = "terminal_reader_timeout", 502, "Stripe: the reader did not answer."
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use", 409, "Stripe: the same call is running."
    RESOURCE_MISSING = "resource_missing", 409, "Stripe: no such object."
    AMOUNT_TOO_LARGE = "amount_too_large", 409, "Stripe: the amount is too large."
    AMOUNT_TOO_SMALL = "amount_too_small", 409, "Stripe: the amount is too small."
    CHARGE_ALREADY_REFUNDED = "charge_already_refunded", 409, "Stripe: refunded already."
    CHARGE_NOT_REFUNDABLE = "charge_not_refundable", 409, "Stripe: the charge cannot be refunded."
    COUNTRY_CODE_INVALID = "country_code_invalid", 409, "Stripe: the country is invalid."
    INTENT_INVALID_STATE = "intent_invalid_state", 409, "Stripe: the payment's state refuses it."
    PAYMENT_INTENT_UNEXPECTED_STATE = (
        "payment_intent_unexpected_state",
        409,
        "Stripe: the payment's state refuses it.",
    )
    PAYMENT_INTENT_INVALID_PARAMETER = (
        "payment_intent_invalid_parameter",
        409,
        "Stripe: a parameter is invalid.",
    )
    PAYMENT_METHOD_TYPES_NO_LONGER_SUPPORTED = (
        "payment_method_types_no_longer_supported",
        409,
        "Stripe: the payment method is not supported.",
    )
    PARAMETER_MISSING = "parameter_missing", 409, "Stripe: a parameter is missing."
    PARAMETER_UNKNOWN = "parameter_unknown", 409, "Stripe: an unknown parameter."
    PARAMETER_INVALID_EMPTY = "parameter_invalid_empty", 409, "Stripe: an empty parameter."
    PARAMETER_INVALID_INTEGER = "parameter_invalid_integer", 409, "Stripe: not an integer."
    PARAMETER_INVALID_STRING = "parameter_invalid_string", 409, "Stripe: not a string."
    PARAMETERS_EXCLUSIVE = "parameters_exclusive", 409, "Stripe: parameters exclude each other."


CODES: frozenset[str] = frozenset(code.value for code in ErrorCode)


def code_table() -> dict[str, dict]:
    """{code: {"status", "meaning"}}: what the document lists and the pages embed."""
    return {c.value: {"status": c.status, "meaning": c.meaning} for c in ErrorCode}


class UnregisteredErrorCode(AssertionError):
    """A DomainError with a code ErrorCode does not list (raised under DEBUG and in tests)."""


def _strict() -> bool:
    if "PYTEST_CURRENT_TEST" in os.environ:
        return True
    from django.conf import settings

    return bool(settings.configured and settings.DEBUG)


def check_code(code: str) -> str:
    if code not in CODES:
        raise UnregisteredErrorCode(
            f"Error code {code!r} is not in restaurant.errors.ErrorCode: register it there."
        )
    return code


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            check_code(cls.code)

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = str(code)
        if _strict():
            check_code(self.code)
        self.field = field

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class ValidationFailed(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409
