"""Every error code is in one registry (restaurant.errors.ErrorCode): services raise only
registered codes, the OpenAPI document lists them, and the tablet and kitchen JavaScript
compares against names from the table the pages embed, never against string literals."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from restaurant.errors import (
    CODES,
    Conflict,
    DomainError,
    ErrorCode,
    UnregisteredErrorCode,
    ValidationFailed,
    code_table,
)

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "tests", "migrations", "node_modules", "var", "bench"}
# Django's own ValidationError (forms, model validation) has codes of its own: not the API's.
NOT_OURS = {"ValidationError"}


def python_files():
    for path in ROOT.rglob("*.py"):
        if not SKIP_DIRS & set(path.relative_to(ROOT).parts):
            yield path


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return getattr(func, "id", "")


def code_literals(tree: ast.AST):
    """(line, code) for each `code="..."` keyword and each class body's `code = "..."`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) not in NOT_OURS:
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "code" and isinstance(getattr(value, "value", None), str):
                    yield node.lineno, value.value
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [getattr(t, "id", None) for t in statement.targets] == ["code"]
                    and isinstance(statement.value, ast.Constant)
                ):
                    yield statement.lineno, statement.value.value


def test_every_code_the_source_raises_is_registered():
    found, unregistered = set(), []
    for path in python_files():
        for line, code in code_literals(ast.parse(path.read_text(), str(path))):
            found.add(code)
            if code not in CODES:
                unregistered.append(f"{path.relative_to(ROOT)}:{line}: {code!r}")
    assert not unregistered, "register these in restaurant.errors.ErrorCode:\n" + "\n".join(
        unregistered
    )
    # The walk finds what it should (a walk that finds nothing would pass too).
    assert {"bad_version", "pin_required", "locked", "not_found", "payload_too_large"} <= found
    assert len(found) > 100


def test_each_code_has_a_status_and_a_meaning():
    for code in ErrorCode:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code.value), code
        assert code.status in (400, 401, 403, 404, 405, 409, 413, 429, 502), code
        assert code.meaning.strip(), code
    table = code_table()
    assert table["bad_version"] == {"status": 409, "meaning": ErrorCode.BAD_VERSION.meaning}
    assert set(table) == CODES


def test_an_unregistered_code_fails_loudly():
    with pytest.raises(UnregisteredErrorCode, match="no_such_code"):
        Conflict("Nope.", code="no_such_code")
    with pytest.raises(UnregisteredErrorCode, match="made_up"):

        class MadeUp(DomainError):
            code = "made_up"

    error = ValidationFailed("Stale.", code=ErrorCode.BAD_VERSION, field="version")
    assert error.as_dict()["error"]["code"] == "bad_version"
    assert json.dumps(error.as_dict()) == json.dumps(
        {"error": {"code": "bad_version", "message": "Stale.", "field": "version"}}
    )


def test_outside_tests_and_debug_an_unknown_code_still_answers(monkeypatch, settings):
    """Production never turns a refusal into a 500 over a code: only DEBUG and tests check."""
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    settings.DEBUG = False
    assert Conflict("Stripe said so.", code="some_new_stripe_code").code == "some_new_stripe_code"
    settings.DEBUG = True
    with pytest.raises(UnregisteredErrorCode):
        Conflict("Stripe said so.", code="some_new_stripe_code")


# --- the front end reads the codes from the pages' table ---------------------------------------

STATIC = ROOT / "static"
ERRORS_JS = STATIC / "js" / "errors.js"
# `x.code === "..."`, `"..." !== x.errorCode`: an error code compared with a literal.
COMPARED = re.compile(
    r"""(?:(?:\.code|errorCode)\s*[!=]==?\s*(["'])(?P<a>[^"']*)\1)"""
    r"""|(?:(["'])(?P<b>[^"']*)\3\s*[!=]==?\s*[\w.?]*(?:\.code|errorCode)\b)"""
)
# `[...].includes(x.code)` and `NAME.includes(x.errorCode)`: lists of codes.
INLINE_LIST = re.compile(r"\[([^\]]*)\]\.includes\([\w.?]*(?:\.code|errorCode)\)")
NAMED_LIST = re.compile(r"\b(\w+)\.includes\([\w.?]*(?:\.code|errorCode)\)")
LITERAL = re.compile(r"""(["'])([^"']*)\1""")


def client_codes() -> set[str]:
    listed = re.search(r"CLIENT_CODES = \[([^\]]*)\]", ERRORS_JS.read_text())
    return {m.group(2) for m in LITERAL.finditer(listed.group(1))}


def code_literals_in_js(source: str) -> list[str]:
    found = [m.group("a") or m.group("b") for m in COMPARED.finditer(source)]
    lists = [m.group(1) for m in INLINE_LIST.finditer(source)]
    for name in set(NAMED_LIST.findall(source)):
        defined = re.search(rf"\b{name}\s*=\s*\[([^\]]*)\]", source)
        if defined:
            lists.append(defined.group(1))
    for listed in lists:
        found.extend(m.group(2) for m in LITERAL.finditer(listed))
    return found


def scripts():
    return [p for p in sorted(STATIC.rglob("*.js")) if p != ERRORS_JS and "vendor" not in p.parts]


def test_no_script_compares_an_error_code_with_a_literal():
    offenders = []
    for path in scripts():
        for literal in code_literals_in_js(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}: {literal!r}")
    assert not offenders, "use E.<code> from static/js/errors.js:\n" + "\n".join(offenders)


def test_the_literal_check_catches_what_it_should():
    source = (
        'if (error.code === "locked") x();\nif ("wrong_pin" !== e.code) y();\n'
        'const RELOAD = ["stale_version", "part_paid"];\nif (RELOAD.includes(error.code)) z();\n'
        'if (["not_found"].includes(f.errorCode)) w();\nif (event.code === 4401) v();\n'
        'const READERS = ["terminal_reader_busy"]; READERS.includes(payment.failure_code);\n'
    )
    assert code_literals_in_js(source) == [
        "locked",
        "wrong_pin",
        "not_found",
        "stale_version",
        "part_paid",
    ]


def test_every_code_a_script_names_is_registered():
    clients = client_codes()
    assert {"network", "server_error"} <= clients and not clients & CODES
    named, unknown = set(), []
    for path in scripts():
        uses_table = False
        for name in re.findall(r"\bE\.(\w+)", path.read_text()):
            uses_table = True
            named.add(name)
            if name not in CODES | clients:
                unknown.append(f"{path.relative_to(ROOT)}: E.{name}")
        if uses_table:
            assert re.search(
                r'import \{[^}]*\bE\b[^}]*\} from "\.\./\.\./js/errors\.js"', path.read_text()
            ), path
    assert not unknown, "not in restaurant.errors.ErrorCode:\n" + "\n".join(unknown)
    assert {"locked", "stale_version", "wrong_pin", "nothing_to_recall"} <= named


@pytest.mark.django_db
@pytest.mark.parametrize(
    "template",
    ["pos/app.html", "pos/pair.html", "kitchen/kds_pair.html", "kitchen/kds_message.html"],
)
def test_the_pages_embed_the_registry(template, rf):
    from django.template.loader import get_template

    request = rf.get("/")
    html = get_template(template).render({"config": {}, "strings": {}}, request)
    table = re.search(
        r'<script id="brigade-errors" type="application/json">(.*?)</script>', html, re.S
    )
    assert table, template
    assert json.loads(table.group(1)) == code_table()
