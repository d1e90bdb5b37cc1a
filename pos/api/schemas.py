"""The API's building blocks: field types with the bounds the API checks, and base schemas.

Request bodies derive from `In` (unknown fields refused, null counts as absent for optional
fields); responses from `Out` (a field the view returns that the schema does not declare is
an error, so the document can never drift from what is sent). Types only check what a JSON
value must look like and the bounds the document states; every rule that depends on data (an
item's modifier rules, a table's state) belongs to the services.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from restaurant.jsonio import MAX_INT


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class Out(Schema):
    model_config = ConfigDict(extra="forbid")


def _whole_number(value: Any) -> Any:
    """JSON has one number type: 2045.0 is the integer 2045; true is not a number."""
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_type", "must be a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        raise PydanticCustomError("invalid_type", "must be a whole number within ±2^53 - 1")
    if not isinstance(value, int):
        raise PydanticCustomError("invalid_type", "must be a whole number")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL cannot store it; no client means it
        raise PydanticCustomError("invalid_type", "must not contain NUL characters")
    return value


def must_be_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_type", "must be text")
    return value


def decimal_number(value: Any) -> Decimal:
    """A number given as a JSON number or a decimal string ("12.5"), read from its decimal
    text (never through a float's binary value)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PydanticCustomError("invalid_type", "must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("invalid_type", "must be a number") from None
    if not number.is_finite():
        raise PydanticCustomError("invalid_type", "must be a number")
    return number


# A bound goes on the inner type, with the JSON checks around it, so that the document states
# it as JSON Schema's minimum/maximum/maxLength and a value out of bounds is refused with
# pydantic's own error types (`invalid`, `too_long`).
def bounded_int(low: int, high: int, description: str | None = None):
    return Annotated[
        int, Field(ge=low, le=high, description=description), BeforeValidator(_whole_number)
    ]


def bounded_text(max_length: int, description: str | None = None):
    return Annotated[
        str,
        Field(max_length=max_length, description=description),
        AfterValidator(_no_nul),
        BeforeValidator(must_be_text),
    ]


MAX_IDS = 500  # no check has more lines: a longer list is refused before any service loops


def _ids(value: Any) -> Any:
    """A list of ids, refused as a whole (the error names the list, not an entry)."""
    if not isinstance(value, list):
        raise PydanticCustomError("invalid_type", "must be a list of ids")
    if len(value) > MAX_IDS:
        raise PydanticCustomError(
            "too_many", "has at most {n} entries", {"n": MAX_IDS, "brigade_code": "too_many"}
        )
    ids = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_INT for v in ids):
        raise PydanticCustomError("invalid_type", "must be a list of ids")
    return ids


Ids = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_INT)]],
    BeforeValidator(_ids),
    Field(max_length=MAX_IDS),
]


def _flag(value: Any) -> Any:
    """A yes/no query parameter: 1/true or 0/false."""
    if value in ("1", "true") or value is True:
        return True
    if value in ("0", "false") or value is False:
        return False
    raise PydanticCustomError("invalid_type", "must be true or false")


Int = Annotated[int, BeforeValidator(_whole_number), Field(strict=False)]
Id = Annotated[Int, Field(ge=1, le=MAX_INT)]
Text = Annotated[str, BeforeValidator(must_be_text), AfterValidator(_no_nul)]
Bool = StrictBool
Flag = Annotated[bool, BeforeValidator(_flag)]
Money = Annotated[int, Field(description="Minor units of the venue's currency (cents).")]
Version = Annotated[
    Int,
    Field(
        ge=1,
        le=MAX_INT,
        description="The check version the client last saw. A stale version is merged where "
        "the write cannot conflict (adding lines, sending, firing) and refused with 409 "
        "`bad_version` where it can.",
    ),
]
ApproverPin = Annotated[
    Text,
    Field(
        max_length=64,
        description="A manager's PIN approving the action (or the X-Approver-PIN header).",
    ),
]


class ErrorBody(Out):
    code: str = Field(description="Stable machine-readable code (see the list of codes).")
    message: str = Field(description="Human message, in the venue language.")
    field: str | None = Field(description="Dotted path of the request value at fault.")
    retry_after: int | None = Field(None, description="Seconds to wait (lockouts).")


class Error(Out):
    error: ErrorBody


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 413: Error, 429: Error}


def responses(ok: dict) -> dict:
    """An operation's responses: its own, and the error shape for every error status."""
    return {**ERRORS, **ok}
