"""Reading JSON from outside: one loader for every JSON edge (API, kitchen screens, webhooks,
websockets), so a hostile document is a clear 400 and never a 500.

`json_loads` refuses, with a `ValidationFailed` that names the problem:

- nesting deeper than `MAX_DEPTH` (`invalid_json`; checked by a scan before parsing, so a
  body nested 100,000 deep costs nothing and never reaches the recursive parser);
- numbers beyond what JSON clients (JavaScript) hold exactly (±2^53 - 1), floats that
  overflow to infinity (`invalid_type`, with `field` the dotted path to the number), and the
  non-standard `NaN` / `Infinity` constants (`invalid_json`);
- text that is not UTF-8, or strings with unpaired surrogates (`"\ud800"`: valid JSON, but no
  text that can be stored or answered) (`invalid_json`).

`request_json_object` reads a Django request's body with these rules: a JSON object, with
only the fields the endpoint knows.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _

from restaurant.errors import DomainError, ValidationFailed

MAX_DEPTH = 32
MAX_INT = 2**53 - 1
# A websocket message or webhook is small; anything larger is refused before parsing.
MAX_MESSAGE_BYTES = 256 * 1024

# Strings (with their escapes) and brackets: the tokens that decide how deep a document goes.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


def _invalid(message: str, code: str = "invalid_json") -> ValidationFailed:
    return ValidationFailed(message, code=code)


def _check_depth(raw: bytes, max_depth: int) -> None:
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise _invalid(
                    _("The JSON is nested too deeply (at most %(n)d levels).") % {"n": max_depth},
                    code="invalid_json",
                )
        elif token in (b"]", b"}"):
            depth -= 1


class _TooLarge:
    """A number found too large while parsing; reported with its path after parsing."""

    def __init__(self, text: str):
        self.text = text


def _parse_int(text: str):
    # More digits than any allowed number: never converted (Python refuses 4,300 digits).
    if len(text.lstrip("-")) > 16:
        return _TooLarge(text)
    value = int(text)
    return value if abs(value) <= MAX_INT else _TooLarge(text)


def _parse_float(text: str):
    value = float(text)
    return value if math.isfinite(value) and abs(value) <= MAX_INT else _TooLarge(text)


def _parse_constant(name: str):
    raise _invalid(_("%(name)s is not a JSON number.") % {"name": name})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unpaired_surrogate() -> ValidationFailed:
    # "\ud800" alone is valid JSON but no text: it cannot be stored or sent back as UTF-8.
    return _invalid(_("The JSON holds text that is not valid Unicode."))


def _find_too_large(value, path: tuple) -> tuple | None:
    """The path to the first number that is too large (None: none); refuses bad text."""
    if isinstance(value, _TooLarge):
        return path
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise _unpaired_surrogate()
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and _SURROGATE.search(key):
            raise _unpaired_surrogate()
        found = _find_too_large(item, (*path, str(key)))
        if found is not None:
            return found
    return None


def json_loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside, bounded in depth and numbers (ValidationFailed otherwise).

    A number beyond ±(2^53 - 1) is refused with code `invalid_type` and `field` the dotted
    path to it (`lines.2.quantity`)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    _check_depth(raw, max_depth)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(_("The JSON is not valid UTF-8 text.")) from exc
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError as exc:  # never with the depth scan; kept as a last guard
        raise _invalid(_("The JSON is nested too deeply."), code="invalid_json") from exc
    except ValueError as exc:
        raise _invalid(_("The request body is not valid JSON: %(error)s") % {"error": exc}) from exc
    path = _find_too_large(data, ())
    if path is not None:
        field = ".".join(path)[:200] or None
        raise ValidationFailed(
            _("%(field)s is too large: numbers are at most %(max)d.")
            % {"field": field or _("The number"), "max": MAX_INT},
            code="invalid_type",
            field=field,
        )
    return data


def request_body(request) -> bytes:
    """The raw body, or 413 when it is larger than Django accepts."""
    try:
        return request.body
    except RequestDataTooBig as exc:
        raise PayloadTooLarge(_("The request body is too large.")) from exc


def request_json_object(request, allowed: frozenset[str] | None = None) -> dict:
    """The request's JSON object body ({} when empty); unknown fields are refused."""
    raw = request_body(request)
    if not raw.strip():
        return {}
    data = json_loads(raw)
    if not isinstance(data, dict):
        raise _invalid(_("The request body must be a JSON object."))
    if allowed is not None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValidationFailed(
                _("Unknown field %(field)s.") % {"field": unknown[0][:60]},
                code="unknown_field",
                field=unknown[0][:60],
            )
    return data
