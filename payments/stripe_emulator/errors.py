"""Stripe-shaped API errors.

Stripe answers every failed request with ``{"error": {...}}``; the SDK (``_api_requestor``)
picks the exception class from the HTTP status (400/404 -> InvalidRequestError, 401 ->
AuthenticationError, 402 -> CardError, 429 -> RateLimitError, 5xx -> APIError) and from
``error.type == "idempotency_error"`` (-> IdempotencyError).
"""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"


class StripeAPIError(Exception):
    """An error answer. ``saved`` says whether Stripe would keep it under the request's
    idempotency key: validation failures happen before the endpoint starts executing and are
    not saved; everything the endpoint itself decides (state errors, declines, timeouts) is."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.saved = saved
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOCS + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        err.update({k: v for k, v in self.extra.items() if v is not None})
        err["type"] = self.type
        return {"error": err}


# --- validation errors (never saved under an idempotency key) ---------------------------------


def missing(param: str) -> StripeAPIError:
    return StripeAPIError(
        f"Missing required param: {param}.", code="parameter_missing", param=param, saved=False
    )


def invalid_integer(param: str, value: Any) -> StripeAPIError:
    return StripeAPIError(
        f"Invalid integer: {value}", code="parameter_invalid_integer", param=param, saved=False
    )


def empty(param: str) -> StripeAPIError:
    return StripeAPIError(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        code="parameter_invalid_empty",
        param=param,
        saved=False,
    )


def invalid(param: str, message: str, code: str | None = None) -> StripeAPIError:
    return StripeAPIError(message, code=code, param=param, saved=False)


def unknown_param(param: str) -> StripeAPIError:
    return StripeAPIError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param, saved=False
    )


def no_such(kind: str, object_id: str, param: str) -> StripeAPIError:
    return StripeAPIError(
        f"No such {kind}: '{object_id}'",
        status=404,
        code="resource_missing",
        param=param,
        saved=False,
    )


def unexpected_state(message: str, **extra: Any) -> StripeAPIError:
    return StripeAPIError(message, code="payment_intent_unexpected_state", **extra)


def invalid_state(message: str, **extra: Any) -> StripeAPIError:
    """Processing (on a reader) a PaymentIntent that is not in the state the action needs."""
    return StripeAPIError(message, code="intent_invalid_state", **extra)
