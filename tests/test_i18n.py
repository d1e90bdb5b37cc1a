"""Dutch ships complete: every message is translated, the compiled catalog matches the .po,
and Django actually serves Dutch.

The .po is read with a small parser here (polib is not a dependency). `make messages` refreshes
locale/nl/LC_MESSAGES/django.po and compiles django.mo; both are committed, because nothing
compiles them at run time.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from restaurant.errors import ValidationFailed
from restaurant.pins import pin_validate

REPO = Path(__file__).resolve().parent.parent
LC_MESSAGES = REPO / "locale" / "nl" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

# printf-style placeholders as Python's % operator reads them (%(name)s, %d, %.2f, %%) and
# str.format ones ({0}, {name}).
PERCENT_RE = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
BRACE_RE = re.compile(r"\{[^{}]*\}")
TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        where = f"django.po:{self.line}"
        return f"{where} {self.msgid!r}" + (f" (context {self.msgctxt!r})" if self.msgctxt else "")


def parse_po(path: Path) -> tuple[Entry, list[Entry]]:
    """(header, messages) of a .po file; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None
    pending_flags: set[str] = set()

    def start(line_no: int) -> Entry:
        nonlocal pending_flags
        entry = Entry(line=line_no, flags=pending_flags)
        pending_flags = set()
        entries.append(entry)
        return entry

    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            target = None
            continue
        if line.startswith("#~"):  # obsolete: msgfmt ignores it
            continue
        if line.startswith("#,"):
            pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")', line)
        if match:
            keyword, index, literal = match.groups()
            value = ast.literal_eval(literal)
            if keyword == "msgctxt" or (
                keyword == "msgid" and (target is None or target[0] != "msgctxt")
            ):
                current = start(line_no)
            assert current is not None, f"django.po:{line_no}: {keyword} outside an entry"
            if keyword == "msgstr":
                slot = int(index) if index is not None else 0
                current.msgstr[slot] = value
                target = ("msgstr", slot)
            else:
                setattr(current, keyword, value)
                target = (keyword, None)
            continue
        if line.startswith('"') and current is not None and target is not None:
            value = ast.literal_eval(line)
            keyword, slot = target
            if keyword == "msgstr":
                current.msgstr[slot] += value
            else:
                setattr(current, keyword, getattr(current, keyword) + value)
            continue
        raise AssertionError(f"django.po:{line_no}: cannot parse {raw!r}")

    header = next((e for e in entries if e.msgid == "" and e.msgctxt is None), None)
    assert header is not None, "django.po has no header entry"
    return header, [e for e in entries if e is not header]


def placeholders(text: str) -> Counter:
    return Counter(PERCENT_RE.findall(text)) + Counter(BRACE_RE.findall(text))


def tags(text: str) -> Counter:
    return Counter(TAG_RE.findall(text))


@pytest.fixture(scope="module")
def po() -> tuple[Entry, list[Entry]]:
    assert PO.exists(), f"{PO.relative_to(REPO)} is missing: run `make messages`"
    return parse_po(PO)


def test_every_shipped_language_has_a_catalog():
    for code, _name in settings.LANGUAGES:
        if code == "en":  # the source language of the msgids
            continue
        assert (REPO / "locale" / code / "LC_MESSAGES" / "django.po").exists(), code
        assert (REPO / "locale" / code / "LC_MESSAGES" / "django.mo").exists(), code


def test_po_header_is_usable(po):
    header, _messages = po
    assert "fuzzy" not in header.flags, "a fuzzy header is ignored by msgfmt (charset, plurals)"
    text = header.msgstr.get(0, "")
    assert "Language: nl\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in text


def test_catalog_is_not_empty(po):
    _header, messages = po
    assert len(messages) > 100
    assert {"Table %(name)s", "A PIN is 4 to 6 digits."} <= {m.msgid for m in messages}


def test_every_message_has_a_dutch_translation(po):
    _header, messages = po
    problems = []
    for entry in messages:
        if "fuzzy" in entry.flags:
            problems.append(f"{entry.label}: fuzzy")
        forms = [0, 1] if entry.msgid_plural is not None else [0]
        for form in forms:
            if not entry.msgstr.get(form, "").strip():
                problems.append(f"{entry.label}: msgstr[{form}] is empty")
    assert not problems, "untranslated messages:\n" + "\n".join(problems)


def test_translations_keep_placeholders_and_markup(po):
    _header, messages = po
    problems = []
    for entry in messages:
        for form, translated in entry.msgstr.items():
            source = entry.msgid if form == 0 or entry.msgid_plural is None else entry.msgid_plural
            if placeholders(source) != placeholders(translated):
                problems.append(
                    f"{entry.label} msgstr[{form}]: placeholders "
                    f"{sorted(placeholders(source).elements())} became "
                    f"{sorted(placeholders(translated).elements())}"
                )
            if tags(source) != tags(translated):
                problems.append(f"{entry.label} msgstr[{form}]: HTML tags differ")
    assert not problems, "\n".join(problems)


def test_compiled_catalog_matches_the_po(po):
    """django.mo is what Django loads; it must hold exactly what django.po says."""
    _header, messages = po
    assert MO.exists(), f"{MO.relative_to(REPO)} is missing: run `make messages`"
    with MO.open("rb") as handle:
        catalog = gnu_gettext.GNUTranslations(handle)

    assert catalog.gettext("Table %(name)s") == "Tafel %(name)s"
    assert catalog.gettext("A PIN is 4 to 6 digits.") == "Een pincode bestaat uit 4 tot 6 cijfers."
    assert catalog.gettext("Bar tab") == "Bartab"

    stale = []
    for entry in messages:
        if entry.msgid_plural is not None:
            for form, n in ((0, 1), (1, 2)):
                if entry.msgctxt is not None:
                    got = catalog.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                else:
                    got = catalog.ngettext(entry.msgid, entry.msgid_plural, n)
                if got != entry.msgstr.get(form):
                    stale.append(f"{entry.label} (n={n}): .mo has {got!r}")
        else:
            if entry.msgctxt is not None:
                got = catalog.pgettext(entry.msgctxt, entry.msgid)
            else:
                got = catalog.gettext(entry.msgid)
            if got != entry.msgstr.get(0):
                stale.append(f"{entry.label}: .mo has {got!r}")
    assert not stale, "django.mo is older than django.po; run `make messages`:\n" + "\n".join(stale)


def test_services_speak_dutch():
    with translation.override("nl"), pytest.raises(ValidationFailed) as raised:
        pin_validate("12")
    assert raised.value.message == "Een pincode bestaat uit 4 tot 6 cijfers."
    assert raised.value.as_dict()["error"]["message"] == "Een pincode bestaat uit 4 tot 6 cijfers."

    with translation.override("en"), pytest.raises(ValidationFailed) as raised:
        pin_validate("12")
    assert raised.value.message == "A PIN is 4 to 6 digits."


def test_django_resolves_the_project_catalog():
    with translation.override("nl"):
        assert translation.gettext("Table %(name)s") % {"name": "12"} == "Tafel 12"
        assert (
            translation.ngettext(
                "%(count)d job is queued again.", "%(count)d jobs are queued again.", 3
            )
            % {"count": 3}
            == "3 opdrachten staan weer in de wachtrij."
        )


@pytest.mark.django_db
def test_back_office_login_page_follows_accept_language(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "nl"
    assert "Brigade-backoffice" in response.content.decode()
