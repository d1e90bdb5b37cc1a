"""Stripe's form encoding, both ways in: ``a[b][c]=1``, ``a[]=x``, ``a[0]=x``; and the helpers
that turn the decoded strings into typed values with Stripe's validation errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from . import errors

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode(query: str) -> dict[str, Any]:
    """``a[b][0]=x&a[b][1]=y&c=`` -> ``{"a": {"b": ["x", "y"]}, "c": ""}``."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        m = _KEY.match(raw_key)
        if not m:
            raise errors.invalid(raw_key, f"Invalid parameter name: {raw_key}")
        parts = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # a[] appends
                if not isinstance(node, list):
                    raise errors.invalid(raw_key, f"Invalid array parameter: {raw_key}")
                if last:
                    node.append(value)
                    break
                node.append({})
                node = node[-1]
                continue
            if isinstance(node, list):
                raise errors.invalid(raw_key, f"Invalid array parameter: {raw_key}")
            if last:
                node[part] = value
            else:
                nxt = parts[i + 1]
                default: Any = [] if nxt == "" else {}
                child = node.setdefault(part, default)
                if not isinstance(child, dict | list):
                    raise errors.invalid(raw_key, f"Invalid hash parameter: {raw_key}")
                node = child
    return _lists(root)


def _lists(value: Any) -> Any:
    """Hashes whose keys are all 0..n-1 (``a[0]=``, ``a[1]=``) become lists."""
    if isinstance(value, list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        converted = {k: _lists(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            indexes = sorted(int(k) for k in converted)
            if indexes == list(range(len(indexes))):
                return [converted[str(i)] for i in indexes]
        return converted
    return value


# --- typed access ---------------------------------------------------------------------------


def check_known(params: dict[str, Any], allowed: set[str] | frozenset[str], prefix: str = ""):
    for key in params:
        if key not in allowed:
            raise errors.unknown_param(f"{prefix}[{key}]" if prefix else key)


def integer(
    params: dict[str, Any], name: str, *, required: bool = False, minimum: int | None = None
) -> int | None:
    if name not in params or params[name] is None:
        if required:
            raise errors.missing(name)
        return None
    raw = params[name]
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise errors.invalid_integer(name, raw)
    if isinstance(raw, str):
        if not re.fullmatch(r"-?\d+", raw.strip()):
            raise errors.invalid_integer(name, raw)
        raw = int(raw)
    if minimum is not None and raw < minimum:
        raise errors.invalid(
            name,
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
        )
    return raw


def boolean(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    if name not in params:
        return default
    raw = params[name]
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise errors.invalid(name, f"Invalid boolean: {raw}")


def string(
    params: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    choices: tuple[str, ...] | None = None,
) -> str | None:
    if name not in params or params[name] is None:
        if required:
            raise errors.missing(name)
        return None
    raw = params[name]
    if not isinstance(raw, str):
        raise errors.invalid(name, f"Invalid string: {raw!r}")
    if required and raw == "":
        raise errors.empty(name)
    if choices is not None and raw not in choices:
        raise errors.invalid(
            name, f"Invalid {name}: must be one of {', '.join(choices)}", code=None
        )
    return raw


def hash_param(params: dict[str, Any], name: str) -> dict[str, Any] | None:
    if name not in params:
        return None
    raw = params[name]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise errors.invalid(name, f"Invalid object: {name} must be a hash")
    return raw


def string_list(params: dict[str, Any], name: str) -> list[str] | None:
    if name not in params:
        return None
    raw = params[name]
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise errors.invalid(name, f"Invalid array: {name} must be an array of strings")
    return raw


def apply_metadata(current: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Stripe's metadata rules: ``metadata=""`` clears all keys, ``metadata[k]=""`` unsets k."""
    if "metadata" not in params:
        return current
    raw = params["metadata"]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise errors.invalid("metadata", "Invalid object: metadata must be a hash")
    merged = dict(current)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise errors.invalid(f"metadata[{key}]", "Metadata values must be strings.")
        if len(key) > 40:
            raise errors.invalid(
                f"metadata[{key}]", "Metadata keys can have at most 40 characters."
            )
        if len(value) > 500:
            raise errors.invalid(
                f"metadata[{key}]", "Metadata values can have at most 500 characters."
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise errors.invalid("metadata", "Metadata can have at most 50 keys.")
    return merged
