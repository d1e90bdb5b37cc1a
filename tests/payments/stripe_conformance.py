"""Checks Stripe traffic against the pinned stripe-python SDK's generated types.

The SDK is generated from Stripe's OpenAPI spec for one API version: its `stripe.params.*`
TypedDicts say which parameters each call of that version takes (and which values), its resource
classes (`stripe.PaymentIntent`, `stripe.terminal.Reader`, ...) which fields an answer has and
of which types. This module reads both, and the services (`client.v1.*`) to know which path is
which call, so a recorded request (method, path, decoded form parameters) and its answer can be
checked recursively:

- a request: every parameter is known to that call's `*Params` TypedDict (a removed parameter
  such as `payment_method_types` is unknown), required ones are there, values have the declared
  type (form-encoded: integers and booleans as text) and an empty string is only sent where the
  type allows `Literal['']` (Stripe's "unset");
- an answer: every field is declared on the resource class (recursively through its inner
  classes and expanded objects), every field that is not Optional is present, values have the
  declared types and a fixed `object` literal matches; an error answer is an `ErrorObject`;
- a webhook event: a `stripe.Event` whose `data.object` is the resource its `object` names.

`check_request`, `check_response` and `check_event` return a list of mismatches (empty: it
conforms). Nothing here talks to Stripe or imports Brigade.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ForwardRef

import stripe
import typing_extensions
from stripe._object_classes import OBJECT_CLASSES
from stripe._request_options import RequestOptions
from stripe._stripe_object import StripeObject, UntypedStripeObject

SDK_ROOT = Path(stripe.__file__).parent
# Parameters the pinned version no longer takes, with what replaced them (clearer messages).
REMOVED = {
    "payment_method_types": "removed in 2026-09-30.endive: use allowed_payment_method_types",
}
_OPTION_KEYS = frozenset(RequestOptions.__annotations__)


@dataclass(frozen=True)
class Endpoint:
    operation: str  # "terminal.readers.process_payment_intent"
    method: str  # "post"
    pattern: re.Pattern
    params: type | None  # the *Params TypedDict
    returns: Any  # the resource class (or ListObject[...], a Union)


# --- reading the SDK ---------------------------------------------------------------------------


@functools.cache
def _type_checking_imports(module_name: str) -> dict[str, tuple[str, str]]:
    """Names a generated module imports under `if TYPE_CHECKING:` -> (module, name there)."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__).read_text())
    found: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
    return found


def _lookup(name: str, module_name: str) -> Any:
    """A name as the generated module means it: its own, then its TYPE_CHECKING imports, then
    typing's (`Literal`, `Optional`, ...)."""
    module = importlib.import_module(module_name)
    if name in vars(module):
        return vars(module)[name]
    source = _type_checking_imports(module_name).get(name)
    if source is not None:
        return getattr(importlib.import_module(source[0]), source[1])
    for library in (typing_extensions, typing, builtins):
        if hasattr(library, name):
            return getattr(library, name)
    raise NameError(f"{name} (in {module_name})")


class _Names(dict):
    def __init__(self, module_name: str):
        super().__init__()
        self.module_name = module_name

    def __missing__(self, key: str) -> Any:
        return _lookup(key, self.module_name)


def resolve(annotation: Any, module_name: str) -> Any:
    """An annotation with every forward reference (a string) evaluated where it was written."""
    if isinstance(annotation, str):
        annotation = ForwardRef(annotation)
    if isinstance(annotation, ForwardRef):
        # eval needs a real dict for globals; names it lacks are looked up lazily through locals
        value = eval(annotation.__forward_arg__, {}, _Names(module_name))
        return resolve(value, module_name)
    origin = typing.get_origin(annotation)
    if origin is None or origin is typing.Literal or origin is typing_extensions.Literal:
        return annotation
    args = tuple(resolve(arg, module_name) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return typing.Union[args]  # noqa: UP007 - built from a tuple
    if origin in (typing_extensions.NotRequired, typing_extensions.Required):
        return origin[args[0]]
    if origin is list:
        return list[args[0]]
    if origin is dict:
        return dict[args[0], args[1]]
    try:
        return origin[args]
    except TypeError:
        return annotation


@functools.cache
def fields_of(cls: type) -> dict[str, Any]:
    """Every annotated field of a resource class or TypedDict (its bases' too), resolved."""
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, dict, StripeObject, RequestOptions) or klass.__module__ == "typing":
            continue
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or typing.get_origin(annotation) is typing.ClassVar:
                continue
            if name in _OPTION_KEYS and issubclass(cls, dict):
                continue
            fields[name] = resolve(annotation, klass.__module__)
    return fields


def _service_modules() -> list[str]:
    names = []
    for path in sorted(SDK_ROOT.rglob("_*_service.py")):
        relative = path.relative_to(SDK_ROOT.parent).with_suffix("")
        if "v2" in relative.parts:
            continue
        names.append(".".join(relative.parts))
    return names


def _path_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
    ):
        return node.func.value.value
    return None


def _annotation_name(node: ast.expr | None) -> str | None:
    """`Optional["XParams"]` or `"XParams"` -> "XParams"."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Subscript):
        return _annotation_name(node.slice)
    return None


def _operation_prefix(module_name: str, class_name: str) -> str:
    """stripe.terminal._reader_service / ReaderService -> "terminal.readers" (the SDK's naming,
    approximately: only used in messages)."""
    parts = module_name.split(".")[1:-1]
    noun = re.sub(r"(?<!^)(?=[A-Z])", "_", class_name.removesuffix("Service")).lower()
    noun = noun if noun.endswith("s") else noun + "s"
    return ".".join([*parts, noun])


@functools.cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every v1 call the SDK's services make: method, path pattern, params type, answer type."""
    found: list[Endpoint] = []
    for module_name in _service_modules():
        module = importlib.import_module(module_name)
        tree = ast.parse(Path(module.__file__).read_text())
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            prefix = _operation_prefix(module_name, cls.name)
            for fn in [n for n in cls.body if isinstance(n, ast.FunctionDef)]:
                call = next(
                    (
                        n
                        for n in ast.walk(fn)
                        if isinstance(n, ast.Call)
                        and isinstance(n.func, ast.Attribute)
                        and n.func.attr == "_request"
                    ),
                    None,
                )
                if call is None or len(call.args) < 2:
                    continue
                method = call.args[0].value if isinstance(call.args[0], ast.Constant) else None
                path = _path_of(call.args[1])
                if not method or not path or not path.startswith("/v1/"):
                    continue
                params_arg = next((a for a in fn.args.args if a.arg == "params"), None)
                params_name = _annotation_name(params_arg.annotation if params_arg else None)
                returns = _annotation_name(fn.returns)
                regex = re.escape(path)
                regex = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", regex)
                found.append(
                    Endpoint(
                        operation=f"{prefix}.{fn.name}",
                        method=method,
                        pattern=re.compile(f"^{regex}$"),
                        params=_lookup(params_name, module_name) if params_name else None,
                        returns=_returns(returns, module_name),
                    )
                )
    # Literal paths before templated ones (/v1/terminal/readers before /v1/terminal/{x}).
    found.sort(key=lambda e: e.pattern.pattern.count("[^/]+"))
    return tuple(found)


def _returns(name: str | None, module_name: str) -> Any:
    return resolve(name, module_name) if name else None


def endpoint_for(method: str, path: str) -> Endpoint | None:
    method = method.lower()
    for endpoint in endpoints():
        if endpoint.method == method and endpoint.pattern.match(path):
            return endpoint
    return None


# --- requests ----------------------------------------------------------------------------------


def _is_optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(
        annotation
    )


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) in (
        typing_extensions.NotRequired,
        typing_extensions.Required,
    ):
        annotation = typing.get_args(annotation)[0]
    return annotation


def _literal_values(annotation: Any) -> tuple | None:
    if typing.get_origin(annotation) in (typing.Literal, typing_extensions.Literal):
        return typing.get_args(annotation)
    return None


def _is_typeddict(annotation: Any) -> bool:
    return isinstance(annotation, type) and typing_extensions.is_typeddict(annotation)


def _param_problems(value: Any, annotation: Any, where: str) -> list[str]:
    """Why the form-decoded `value` is not a valid `annotation` (empty: it is)."""
    annotation = _unwrap(annotation)
    if annotation is Any:
        return []
    if typing.get_origin(annotation) is typing.Union:
        options = typing.get_args(annotation)
        if value == "" and not any(_literal_values(o) == ("",) for o in options):
            return [f"{where}: an empty string, but this parameter cannot be unset"]
        attempts = [_param_problems(value, option, where) for option in options]
        if any(not problems for problems in attempts):
            return []
        return min(attempts, key=len)
    literal = _literal_values(annotation)
    if literal is not None:
        if value in literal or str(value) in {
            str(v).lower() if isinstance(v, bool) else str(v) for v in literal
        }:
            return []
        return [f"{where}: {value!r} is not one of {list(literal)}"]
    if annotation is str:
        if value == "":
            return [f"{where}: an empty string, but this parameter cannot be unset"]
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    if annotation is bool:
        return [] if value in ("true", "false", True, False) else [f"{where}: not a boolean"]
    if annotation is int:
        ok = isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))
        return [] if ok else [f"{where}: expected an integer, got {value!r}"]
    if annotation is float:
        ok = isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    origin = typing.get_origin(annotation)
    if origin is list or annotation is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        (item,) = typing.get_args(annotation) or (Any,)
        return [p for i, v in enumerate(value) for p in _param_problems(v, item, f"{where}[{i}]")]
    if origin is dict or origin is UntypedStripeObject or annotation is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected a hash, got {value!r}"]
        args = typing.get_args(annotation)
        item = args[-1] if args else Any
        return [p for k, v in value.items() for p in _param_problems(v, item, f"{where}[{k}]")]
    if _is_typeddict(annotation):
        return params_problems(value, annotation, where)
    return [f"{where}: cannot check the type {annotation!r}"]


def params_problems(params: Any, typed: type, where: str = "") -> list[str]:
    if not isinstance(params, dict):
        return [f"{where or 'params'}: expected a hash, got {params!r}"]
    fields = fields_of(typed)
    problems = []
    for key, value in params.items():
        name = f"{where}[{key}]" if where else key
        if key not in fields:
            hint = REMOVED.get(key) if not where else None
            detail = hint or f"not a parameter of {typed.__name__}"
            problems.append(f"{name}: unknown parameter ({detail})")
            continue
        problems.extend(_param_problems(value, fields[key], name))
    required = getattr(typed, "__required_keys__", frozenset()) - _OPTION_KEYS
    for key in sorted(required - set(params)):
        problems.append(f"{f'{where}[{key}]' if where else key}: required, missing")
    return problems


def check_request(method: str, path: str, params: dict) -> list[str]:
    endpoint = endpoint_for(method, path)
    if endpoint is None:
        return [f"{method.upper()} {path}: no such call in the pinned SDK"]
    if endpoint.params is None:
        return [] if not params else [f"{endpoint.operation}: takes no parameters"]
    return [f"{endpoint.operation}: {p}" for p in params_problems(params, endpoint.params)]


# --- answers -----------------------------------------------------------------------------------


def _class_for_object(value: dict) -> type | None:
    entry = OBJECT_CLASSES.get(value.get("object"))
    if entry is None:
        return None
    module_name, class_name = entry
    return getattr(importlib.import_module(module_name), class_name)


def _value_problems(value: Any, annotation: Any, where: str) -> list[str]:
    if annotation is Any:
        return []
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        options = typing.get_args(annotation)
        if value is None:
            return [] if type(None) in options else [f"{where}: null, but it is not nullable"]
        options = [o for o in options if o is not type(None)]
        attempts = [_value_problems(value, o, where) for o in options]
        if any(not problems for problems in attempts):
            return []
        # Report against the member of the same shape (an expanded object, not its id).
        same_shape = [
            problems
            for option, problems in zip(options, attempts, strict=True)
            if isinstance(value, dict) == _is_hash_type(option)
        ]
        return min(same_shape or attempts, key=len)
    if value is None:
        return [f"{where}: null, but it is not nullable"]
    literal = _literal_values(annotation)
    if literal is not None:
        return [] if value in literal else [f"{where}: {value!r} is not one of {list(literal)}"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {value!r}"]
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer, got {value!r}"]
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    if origin is list or annotation is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        (item,) = typing.get_args(annotation) or (Any,)
        return [p for i, v in enumerate(value) for p in _value_problems(v, item, f"{where}[{i}]")]
    if origin is dict or origin is UntypedStripeObject or annotation is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected a hash, got {value!r}"]
        args = typing.get_args(annotation)
        item = args[-1] if args else Any
        return [p for k, v in value.items() for p in _value_problems(v, item, f"{where}.{k}")]
    if origin is stripe.ListObject:
        return list_problems(value, typing.get_args(annotation)[0], where)
    if isinstance(annotation, type) and issubclass(annotation, StripeObject):
        return object_problems(value, annotation, where)
    if isinstance(annotation, typing.TypeVar):
        return []
    return [f"{where}: cannot check the type {annotation!r}"]


def _is_hash_type(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return origin in (dict, UntypedStripeObject, stripe.ListObject) or (
        isinstance(origin, type) and issubclass(origin, StripeObject)
    )


def object_problems(value: Any, cls: type, where: str) -> list[str]:
    """Why `value` (JSON) is not a `cls` as the pinned SDK declares it (recursively)."""
    if not isinstance(value, dict):
        return [f"{where}: expected a {cls.__name__} object, got {value!r}"]
    fields = fields_of(cls)
    problems = []
    for key, item in value.items():
        if key not in fields:
            if key == "object" and "object" not in fields:
                continue
            problems.append(f"{where}.{key}: not a field of {cls.__qualname__}")
            continue
        problems.extend(_value_problems(item, fields[key], f"{where}.{key}"))
    # Optional fields may be left out (Stripe omits what does not apply, such as other payment
    # methods' options); the others must be there, except on a deleted object's stub.
    if value.get("deleted") is not True:
        for key, annotation in fields.items():
            if key not in value and not _is_optional(annotation):
                problems.append(f"{where}.{key}: missing (not Optional on {cls.__qualname__})")
    return problems


def list_problems(value: Any, item: Any, where: str) -> list[str]:
    if not isinstance(value, dict) or value.get("object") != "list":
        return [f"{where}: expected a list object, got {value!r}"]
    problems = []
    for key in value:
        if key not in ("object", "data", "has_more", "url"):
            problems.append(f"{where}.{key}: not a field of a list")
    if not isinstance(value.get("has_more"), bool):
        problems.append(f"{where}.has_more: expected a boolean")
    if not isinstance(value.get("url"), str):
        problems.append(f"{where}.url: expected a string")
    data = value.get("data")
    if not isinstance(data, list):
        return [*problems, f"{where}.data: expected a list"]
    for i, entry in enumerate(data):
        problems.extend(_value_problems(entry, item, f"{where}.data[{i}]"))
    return problems


def check_response(method: str, path: str, status: int, body: Any) -> list[str]:
    endpoint = endpoint_for(method, path)
    if endpoint is None:
        return [f"{method.upper()} {path}: no such call in the pinned SDK"]
    name = endpoint.operation
    if status >= 400:
        if not isinstance(body, dict) or set(body) != {"error"}:
            return [f"{name}: error answer {status} is not {{'error': ...}}: {body!r}"]
        return object_problems(body["error"], stripe.ErrorObject, f"{name} error")
    if endpoint.returns is None:
        return []
    return _value_problems(body, endpoint.returns, name)


def check_event(event: Any) -> list[str]:
    """A webhook event as delivered: a stripe.Event around the resource its object names."""
    if not isinstance(event, dict):
        return [f"event: expected a hash, got {event!r}"]
    where = f"event {event.get('type')}"
    data = event.get("data")
    problems = object_problems(event, stripe.Event, where)
    obj = (data or {}).get("object") if isinstance(data, dict) else None
    cls = _class_for_object(obj) if isinstance(obj, dict) else None
    if cls is None:
        problems.append(f"{where}.data.object: not a resource the SDK knows: {obj!r}")
    else:
        problems.extend(object_problems(obj, cls, f"{where}.data.object"))
    return problems


def check_traffic(traffic: list[dict]) -> list[str]:
    """Every request, answer and event an emulator recorded (`EmulatorServer(record=True)`)."""
    problems: list[str] = []
    for entry in traffic:
        if entry["kind"] == "event":
            found = check_event(entry["event"])
        else:
            method, path = entry["method"], entry["path"]
            found = check_request(method, path, entry["params"])
            if not entry.get("dropped"):
                found += check_response(method, path, entry["status"], entry["body"])
        for problem in found:
            if problem not in problems:
                problems.append(problem)
    return problems
