"""Menu import and export: one JSON document describes a venue's whole menu.

The format is documented in docs/menu-format.md. `menu_import` validates the whole document
first, collecting every problem as `<json path>: <problem>` (for example
`menus[0].categories[2].items[3].price: must be an integer number of cents, got 12.5`), and
only then writes, all in one transaction: a document with any problem changes nothing.

Import is idempotent. Rows are matched by their key (tax rates by code, modifier groups by
code, modifiers within a group by PLU or name, menus by name, categories by menu and name,
items by PLU), a row is saved only when a value differs, so importing the same document twice
changes nothing the second time. `menu_export` writes the same format back; export, import
into a fresh venue and export again gives an identical document.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import itertools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from restaurant import permissions
from restaurant.errors import PermissionDenied, ValidationFailed
from restaurant.models import (
    Category,
    ItemModifierGroup,
    Menu,
    MenuItem,
    MenuWindow,
    Modifier,
    ModifierGroup,
    Station,
    TaxRate,
    Venue,
)
from restaurant.permissions import Actor

FORMAT_VERSION = 1

# Upper bounds of the database columns, so a value that passes validation also fits.
_SMALL_MAX = 32767  # PositiveSmallIntegerField
_INT_MAX = 2147483647  # (Positive)IntegerField

_PLU_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_CODE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RATE_RE = re.compile(r"^\d{1,3}(\.\d{1,4})?$")
_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

KINDS = ("tax_rates", "modifier_groups", "modifiers", "menus", "windows", "categories", "items")


class MenuInvalid(ValidationFailed):
    """The menu document has problems; `errors` lists each as `<json path>: <problem>`."""

    code = "invalid_menu"

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        header = ngettext(
            "The menu was not imported; it has %(count)d problem:",
            "The menu was not imported; it has %(count)d problems:",
            len(self.errors),
        ) % {"count": len(self.errors)}
        super().__init__("\n".join([header, *self.errors]))

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["error"]["errors"] = self.errors
        return body


def _counts() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


@dataclasses.dataclass
class ImportResult:
    """What an import did, per kind of row (see KINDS)."""

    created: dict[str, int] = dataclasses.field(default_factory=_counts)
    updated: dict[str, int] = dataclasses.field(default_factory=_counts)
    unchanged: dict[str, int] = dataclasses.field(default_factory=_counts)
    # Modifiers left out of their group and windows replaced are deleted.
    deleted: dict[str, int] = dataclasses.field(default_factory=_counts)
    # Items of the venue missing from the document (only with deactivate_missing).
    deactivated: int = 0
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            any(self.created.values())
            or any(self.updated.values())
            or any(self.deleted.values())
            or self.deactivated
        )

    def summary(self) -> str:
        """One line per kind of change, for the management command."""
        labels = {
            "tax_rates": _("tax rates"),
            "modifier_groups": _("modifier groups"),
            "modifiers": _("modifiers"),
            "menus": _("menus"),
            "windows": _("availability windows"),
            "categories": _("categories"),
            "items": _("items"),
        }

        lines = []
        for title, counts in (
            (_("Created"), self.created),
            (_("Updated"), self.updated),
            (_("Deleted"), self.deleted),
            (_("Unchanged"), self.unchanged),
        ):
            parts = [f"{counts[kind]} {labels[kind]}" for kind in KINDS if counts[kind]]
            if parts:
                lines.append(f"{title}: {', '.join(parts)}")
        if self.deactivated:
            lines.append(
                _("Deactivated %(n)d items missing from the file.") % {"n": self.deactivated}
            )
        return "\n".join(lines)


# --- validation -----------------------------------------------------------------------------

_INVALID: Any = object()  # a value that failed its check (the problem is already recorded)
_REQUIRED: Any = object()  # a spec default: the key must be present

Check = Callable[[Any, str], Any]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _got(value: Any) -> str:
    """A short description of a JSON value for an error message."""
    if isinstance(value, dict):
        return _("an object")
    if isinstance(value, list):
        return _("a list")
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown(what: str, value: str, known: set[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    if close:
        hint = _('did you mean "%(s)s"?') % {"s": close[0]}
    elif not known:
        hint = _("none are defined")
    else:
        names = sorted(known)
        hint = _("known: %(list)s") % {
            "list": ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        }
    return _('unknown %(what)s "%(value)s" (%(hint)s)') % {
        "what": what,
        "value": value,
        "hint": hint,
    }


def _parse_time(text: str) -> datetime.time:
    hours, minutes = text.split(":")
    return datetime.time(int(hours), int(minutes))


class _Validator:
    """Checks a document and returns it cleaned (defaults filled in, values converted)."""

    def __init__(self, venue: Venue):
        self.venue = venue
        self.errors: list[str] = []

    def fail(self, path: str, problem: str) -> Any:
        self.errors.append(f"{path}: {problem}")
        return _INVALID

    # Value checks: each takes (value, path) and returns the cleaned value or _INVALID.

    def text(
        self,
        max_length: int,
        *,
        blank: bool = False,
        pattern: re.Pattern | None = None,
        pattern_problem: str = "",
    ) -> Check:
        def check(value: Any, path: str) -> Any:
            if not isinstance(value, str):
                return self.fail(path, _("must be a string, got %(got)s") % {"got": _got(value)})
            if not blank and not value.strip():
                return self.fail(path, _("must not be empty"))
            if len(value) > max_length:
                return self.fail(
                    path,
                    _("must be at most %(max)d characters, got %(n)d")
                    % {"max": max_length, "n": len(value)},
                )
            if pattern is not None and value and not pattern.match(value):
                return self.fail(path, pattern_problem % {"got": _got(value)})
            return value

        return check

    def plu(self) -> Check:
        return self.text(
            32,
            pattern=_PLU_RE,
            pattern_problem=_('must use only letters, digits, ".", "_" and "-", got %(got)s'),
        )

    def code(self, max_length: int) -> Check:
        return self.text(
            max_length,
            pattern=_CODE_RE,
            pattern_problem=_('must use only letters, digits, "-" and "_", got %(got)s'),
        )

    def integer(self, *, minimum: int | None = 0, maximum: int = _SMALL_MAX, cents=False) -> Check:
        def check(value: Any, path: str) -> Any:
            if not _is_int(value):
                if cents:
                    problem = _("must be an integer number of cents, got %(got)s")
                else:
                    problem = _("must be an integer, got %(got)s")
                return self.fail(path, problem % {"got": _got(value)})
            if minimum is not None and value < minimum:
                if minimum == 0:
                    return self.fail(path, _("must not be negative, got %(got)s") % {"got": value})
                return self.fail(
                    path, _("must be >= %(min)d, got %(got)s") % {"min": minimum, "got": value}
                )
            if value > maximum:
                return self.fail(
                    path, _("must be <= %(max)d, got %(got)s") % {"max": maximum, "got": value}
                )
            if minimum is None and value < -maximum:
                return self.fail(
                    path, _("must be >= %(min)d, got %(got)s") % {"min": -maximum, "got": value}
                )
            return value

        return check

    def boolean(self) -> Check:
        def check(value: Any, path: str) -> Any:
            if not isinstance(value, bool):
                return self.fail(
                    path, _("must be true or false, got %(got)s") % {"got": _got(value)}
                )
            return value

        return check

    def nullable(self, inner: Check) -> Check:
        def check(value: Any, path: str) -> Any:
            return None if value is None else inner(value, path)

        return check

    def time(self) -> Check:
        def check(value: Any, path: str) -> Any:
            if not isinstance(value, str) or not _TIME_RE.match(value):
                return self.fail(
                    path,
                    _('must be a time "HH:MM" from 00:00 to 23:59, got %(got)s')
                    % {"got": _got(value)},
                )
            return _parse_time(value)

        return check

    def weekdays(self) -> Check:
        def check(value: Any, path: str) -> Any:
            if not isinstance(value, list):
                return self.fail(
                    path,
                    _("must be a list of weekdays 0-6 (0 = Monday), got %(got)s")
                    % {"got": _got(value)},
                )
            if not value:
                return self.fail(path, _("must list at least one weekday"))
            ok = True
            for index, day in enumerate(value):
                if not _is_int(day) or not 0 <= day <= 6:
                    self.fail(
                        f"{path}[{index}]",
                        _("must be a weekday 0-6 (0 = Monday), got %(got)s") % {"got": _got(day)},
                    )
                    ok = False
                elif day in value[:index]:
                    self.fail(f"{path}[{index}]", _("weekday %(d)d is listed twice") % {"d": day})
                    ok = False
            return sorted(value) if ok else _INVALID

        return check

    def rate(self) -> Check:
        def check(value: Any, path: str) -> Any:
            if _is_int(value) or (isinstance(value, str) and _RATE_RE.match(value)):
                rate = Decimal(value)
            else:
                return self.fail(
                    path,
                    _(
                        'must be a percentage as a string such as "21" or "5.5" '
                        "(at most 4 decimals), got %(got)s"
                    )
                    % {"got": _got(value)},
                )
            if not 0 <= rate <= 100:
                return self.fail(
                    path, _("must be from 0 to 100, got %(got)s") % {"got": _got(value)}
                )
            return rate

        return check

    def color(self) -> Check:
        def check(value: Any, path: str) -> Any:
            if not isinstance(value, str) or (value and not _COLOR_RE.match(value)):
                return self.fail(
                    path,
                    _('must be "" or a colour "#RRGGBB", got %(got)s') % {"got": _got(value)},
                )
            return value

        return check

    def listof(self, inner: Check) -> Check:
        """A list; the cleaned list keeps _INVALID entries so indexes match the document."""

        def check(value: Any, path: str) -> Any:
            if not isinstance(value, list):
                return self.fail(path, _("must be a list, got %(got)s") % {"got": _got(value)})
            return [inner(entry, f"{path}[{index}]") for index, entry in enumerate(value)]

        return check

    def obj(self, spec: dict[str, tuple[Check, Any]]) -> Check:
        """An object with exactly the keys of `spec` ({key: (check, default or _REQUIRED)})."""

        def check(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                return self.fail(
                    path or _("document"),
                    _("must be an object, got %(got)s") % {"got": _got(value)},
                )
            for key in value:
                if key not in spec:
                    close = difflib.get_close_matches(str(key), list(spec), n=1)
                    if close:
                        hint = _('did you mean "%(key)s"?') % {"key": close[0]}
                    else:
                        hint = _("allowed: %(keys)s") % {"keys": ", ".join(spec)}
                    self.fail(_join(path, str(key)), _("unknown key (%(hint)s)") % {"hint": hint})
            cleaned = {}
            for key, (inner, default) in spec.items():
                if key in value:
                    cleaned[key] = inner(value[key], _join(path, key))
                elif default is _REQUIRED:
                    cleaned[key] = self.fail(_join(path, key), _("required"))
                else:
                    cleaned[key] = default() if callable(default) else default
            return cleaned

        return check

    # The document.

    def document_check(self) -> Check:
        modifier = self.obj(
            {
                "name": (self.text(60), _REQUIRED),
                "plu": (self.text(32, blank=True), ""),
                "price_delta": (self.integer(minimum=None, maximum=_INT_MAX, cents=True), 0),
                "available": (self.boolean(), True),
                "default": (self.boolean(), False),
                "nested_group": (self.nullable(self.text(60)), None),
            }
        )
        group = self.obj(
            {
                "code": (self.code(60), _REQUIRED),
                "name": (self.text(60), _REQUIRED),
                "internal_name": (self.text(80, blank=True), ""),
                "min": (self.integer(), 0),
                "max": (self.integer(minimum=1), 1),
                "free": (self.integer(), 0),
                "max_per_modifier": (self.integer(minimum=1), 1),
                "modifiers": (self.listof(modifier), list),
            }
        )
        tax_rate = self.obj(
            {
                "code": (self.text(8), _REQUIRED),
                "name": (self.text(40), _REQUIRED),
                "rate": (self.rate(), _REQUIRED),
            }
        )
        item = self.obj(
            {
                "plu": (self.plu(), _REQUIRED),
                "name": (self.text(80), _REQUIRED),
                "description": (self.text(10_000, blank=True), ""),
                "price": (self.integer(maximum=_INT_MAX, cents=True), _REQUIRED),
                "tax_code": (self.text(8), _REQUIRED),
                "station": (self.nullable(self.text(40)), None),
                "prep_minutes": (self.integer(), 0),
                "default_course": (self.integer(minimum=1), 1),
                "available": (self.boolean(), True),
                "stock_count": (self.nullable(self.integer(maximum=_INT_MAX)), None),
                "active": (self.boolean(), True),
                "modifier_groups": (self.listof(self.text(60)), list),
            }
        )
        category = self.obj(
            {
                "name": (self.text(60), _REQUIRED),
                "default_station": (self.nullable(self.text(40)), None),
                "color": (self.color(), ""),
                "items": (self.listof(item), list),
            }
        )
        window = self.obj(
            {
                "weekdays": (self.weekdays(), lambda: [0, 1, 2, 3, 4, 5, 6]),
                "from": (self.time(), _REQUIRED),
                "until": (self.time(), _REQUIRED),
            }
        )
        menu = self.obj(
            {
                "name": (self.text(60), _REQUIRED),
                "active": (self.boolean(), True),
                "windows": (self.listof(window), list),
                "categories": (self.listof(category), list),
            }
        )
        return self.obj(
            {
                "version": (self.integer(minimum=1), FORMAT_VERSION),
                "currency": (self.nullable(self.text(3)), None),
                "tax_rates": (self.listof(tax_rate), list),
                "modifier_groups": (self.listof(group), list),
                "menus": (self.listof(menu), list),
            }
        )

    def validate(self, data: Any) -> dict:
        doc = self.document_check()(data, "")
        if doc is _INVALID:
            raise MenuInvalid(self.errors)
        self.check_header(doc)
        self.check_tax_rates(doc)
        self.check_groups(doc)
        self.check_menus(doc)
        if self.errors:
            raise MenuInvalid(self.errors)
        return doc

    # Rules across fields and objects. Values that already failed are skipped.

    def check_header(self, doc: dict) -> None:
        version = doc["version"]
        if version is not _INVALID and version != FORMAT_VERSION:
            self.fail(
                "version",
                _("unsupported format version %(got)s (this Brigade reads version %(v)d)")
                % {"got": version, "v": FORMAT_VERSION},
            )
        currency = doc["currency"]
        if currency is not None and currency is not _INVALID:
            if not _CURRENCY_RE.match(currency):
                self.fail(
                    "currency",
                    _("must be an ISO 4217 code such as EUR, got %(got)s")
                    % {"got": _got(currency)},
                )
            elif currency != self.venue.currency:
                self.fail(
                    "currency",
                    _("the menu is in %(file)s but the venue uses %(venue)s")
                    % {"file": currency, "venue": self.venue.currency},
                )

    def _unique(self, seen: dict, key: Any, path: str, what: str) -> None:
        if key in seen:
            self.fail(
                path,
                _('duplicate %(what)s "%(value)s" (also at %(other)s)')
                % {"what": what, "value": key, "other": seen[key]},
            )
        else:
            seen[key] = path

    def check_tax_rates(self, doc: dict) -> None:
        self.tax_codes = set(
            TaxRate.objects.filter(venue=self.venue).values_list("code", flat=True)
        )
        if doc["tax_rates"] is _INVALID:
            return
        seen: dict[str, str] = {}
        for index, rate in enumerate(doc["tax_rates"]):
            if rate is _INVALID or rate["code"] is _INVALID:
                continue
            self._unique(seen, rate["code"], f"tax_rates[{index}].code", _("tax code"))
            self.tax_codes.add(rate["code"])

    def check_groups(self, doc: dict) -> None:
        # Nesting edges code -> {nested code: path of the modifier, or None when in the venue}.
        edges: dict[str, dict[str, str | None]] = {}
        for code, nested in Modifier.objects.filter(
            group__venue=self.venue, nested_group__isnull=False
        ).values_list("group__code", "nested_group__code"):
            edges.setdefault(code, {})[nested] = None
        self.group_codes = set(
            ModifierGroup.objects.filter(venue=self.venue).values_list("code", flat=True)
        )
        groups = doc["modifier_groups"]
        if groups is _INVALID:
            return
        valid = [(i, g) for i, g in enumerate(groups) if g is not _INVALID]
        seen: dict[str, str] = {}
        for index, group in valid:
            if group["code"] is not _INVALID:
                self._unique(seen, group["code"], f"modifier_groups[{index}].code", _("group code"))
                self.group_codes.add(group["code"])
                edges[group["code"]] = {}  # the document replaces the group's modifiers
        for index, group in valid:
            path = f"modifier_groups[{index}]"
            self.check_group_numbers(group, path)
            if group["modifiers"] is _INVALID:
                continue
            names: dict[str, str] = {}
            plus: dict[str, str] = {}
            for m_index, mod in enumerate(group["modifiers"]):
                if mod is _INVALID:
                    continue
                m_path = f"{path}.modifiers[{m_index}]"
                if mod["name"] is not _INVALID:
                    self._unique(names, mod["name"], f"{m_path}.name", _("modifier name"))
                if mod["plu"] not in (_INVALID, ""):
                    self._unique(plus, mod["plu"], f"{m_path}.plu", _("modifier PLU"))
                nested = mod["nested_group"]
                if nested is None or nested is _INVALID:
                    continue
                if nested not in self.group_codes:
                    self.fail(
                        f"{m_path}.nested_group",
                        _unknown(_("modifier group"), nested, self.group_codes),
                    )
                elif group["code"] is not _INVALID:
                    edges[group["code"]].setdefault(nested, f"{m_path}.nested_group")
        self.check_cycles(edges)

    def check_group_numbers(self, group: dict, path: str) -> None:
        low, high, free = group["min"], group["max"], group["free"]
        per = group["max_per_modifier"]
        if _INVALID in (low, high):
            return
        if low > high:
            self.fail(f"{path}.max", _("must be >= min"))
        if free is not _INVALID and free > high:
            self.fail(f"{path}.free", _("must be <= max"))
        mods = group["modifiers"]
        if mods is _INVALID or _INVALID in mods or per is _INVALID:
            return
        if low > len(mods) * per:
            self.fail(
                f"{path}.min",
                ngettext(
                    "cannot be met: the group has %(n)d modifier (max_per_modifier %(per)d)",
                    "cannot be met: the group has %(n)d modifiers (max_per_modifier %(per)d)",
                    len(mods),
                )
                % {"n": len(mods), "per": per},
            )
        defaults = sum(1 for mod in mods if mod["default"] is True)
        if defaults > high:
            self.fail(
                f"{path}.modifiers",
                _('%(n)d modifiers are "default": true but max is %(max)d')
                % {"n": defaults, "max": high},
            )

    def check_cycles(self, edges: dict[str, dict[str, str | None]]) -> None:
        """Report each nesting cycle once, at a modifier of the document that closes it."""
        done: set[str] = set()
        reported: set[frozenset] = set()

        def visit(code: str, stack: list[str]) -> None:
            stack.append(code)
            for nested in edges.get(code, {}):
                if nested in stack:
                    # The loop, told from the group whose modifier closes it.
                    cycle = [code, *stack[stack.index(nested) :]]
                    key = frozenset(cycle)
                    pairs = list(itertools.pairwise(cycle))
                    paths = [edges[a][b] for a, b in pairs if edges[a][b] is not None]
                    if key not in reported and paths:
                        reported.add(key)
                        # Point at that modifier when it is in the document.
                        where = edges[code][nested] or paths[0]
                        self.fail(
                            where,
                            _("nested groups form a cycle: %(cycle)s")
                            % {"cycle": " → ".join(cycle)},
                        )
                elif nested not in done:
                    visit(nested, stack)
            stack.pop()
            done.add(code)

        for code in sorted(edges):
            if code not in done:
                visit(code, [])

    def check_menus(self, doc: dict) -> None:
        stations = set(Station.objects.filter(venue=self.venue).values_list("slug", flat=True))
        if doc["menus"] is _INVALID:
            return
        menu_names: dict[str, str] = {}
        plus: dict[str, str] = {}

        def station_ok(slug: Any, path: str) -> None:
            if slug is not None and slug is not _INVALID and slug not in stations:
                self.fail(path, _unknown(_("station"), slug, stations))

        for index, menu in enumerate(doc["menus"]):
            if menu is _INVALID:
                continue
            path = f"menus[{index}]"
            if menu["name"] is not _INVALID:
                self._unique(menu_names, menu["name"], f"{path}.name", _("menu name"))
            windows = menu["windows"] if menu["windows"] is not _INVALID else []
            for w_index, window in enumerate(windows):
                if window is _INVALID:
                    continue
                start, end = window["from"], window["until"]
                if start is not _INVALID and start == end:
                    self.fail(
                        f"{path}.windows[{w_index}].until", _('must not be the same as "from"')
                    )
            if menu["categories"] is _INVALID:
                continue
            category_names: dict[str, str] = {}
            for c_index, category in enumerate(menu["categories"]):
                if category is _INVALID:
                    continue
                c_path = f"{path}.categories[{c_index}]"
                if category["name"] is not _INVALID:
                    self._unique(
                        category_names, category["name"], f"{c_path}.name", _("category name")
                    )
                station_ok(category["default_station"], f"{c_path}.default_station")
                if category["items"] is _INVALID:
                    continue
                for i_index, item in enumerate(category["items"]):
                    if item is not _INVALID:
                        self.check_item(item, f"{c_path}.items[{i_index}]", plus, station_ok)

    def check_item(self, item: dict, path: str, plus: dict, station_ok: Callable) -> None:
        if item["plu"] is not _INVALID:
            self._unique(plus, item["plu"], f"{path}.plu", _("PLU"))
        code = item["tax_code"]
        if code is not _INVALID and code not in self.tax_codes:
            self.fail(f"{path}.tax_code", _unknown(_("tax code"), code, self.tax_codes))
        station_ok(item["station"], f"{path}.station")
        if item["modifier_groups"] is _INVALID:
            return
        seen: dict[str, str] = {}
        for index, code in enumerate(item["modifier_groups"]):
            g_path = f"{path}.modifier_groups[{index}]"
            if code is _INVALID:
                continue
            if code not in self.group_codes:
                self.fail(g_path, _unknown(_("modifier group"), code, self.group_codes))
            else:
                self._unique(seen, code, g_path, _("modifier group"))


# --- writing --------------------------------------------------------------------------------


class _Writer:
    """Applies a validated document. `path` names the object being written, for DB errors."""

    def __init__(self, venue: Venue, result: ImportResult):
        self.venue = venue
        self.result = result
        self.path = _("document")

    def save(self, obj, values: dict, kind: str) -> bool:
        """Set `values` on an existing row and save it if any differs."""
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            self.result.unchanged[kind] += 1
            return False
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
        self.result.updated[kind] += 1
        return True

    def create(self, model, values: dict, kind: str):
        obj = model.objects.create(**values)
        self.result.created[kind] += 1
        return obj

    def write(self, doc: dict, *, deactivate_missing: bool) -> None:
        taxes = self.tax_rates(doc["tax_rates"])
        groups = self.groups(doc["modifier_groups"])
        for index, spec in enumerate(doc["modifier_groups"]):
            self.modifiers(groups[spec["code"]], spec["modifiers"], groups, index)
        stations = {s.slug: s.pk for s in Station.objects.filter(venue=self.venue)}
        plus = self.menus(doc["menus"], taxes, groups, stations)
        if deactivate_missing:
            self.path = _("document")
            self.result.deactivated = (
                MenuItem.objects.filter(venue=self.venue, is_active=True)
                .exclude(plu__in=plus)
                .update(is_active=False, updated_at=timezone.now())
            )

    def tax_rates(self, specs: list[dict]) -> dict[str, TaxRate]:
        existing = {t.code: t for t in TaxRate.objects.filter(venue=self.venue)}
        for index, spec in enumerate(specs):
            self.path = f"tax_rates[{index}]"
            values = {"name": spec["name"], "rate": spec["rate"]}
            rate = existing.get(spec["code"])
            if rate is None:
                existing[spec["code"]] = self.create(
                    TaxRate, {"venue": self.venue, "code": spec["code"], **values}, "tax_rates"
                )
            else:
                self.save(rate, values, "tax_rates")
        return existing

    def groups(self, specs: list[dict]) -> dict[str, ModifierGroup]:
        existing = {g.code: g for g in ModifierGroup.objects.filter(venue=self.venue)}
        for index, spec in enumerate(specs):
            self.path = f"modifier_groups[{index}]"
            values = {
                "name": spec["name"],
                "internal_name": spec["internal_name"],
                "min_choices": spec["min"],
                "max_choices": spec["max"],
                "free_choices": spec["free"],
                "max_per_modifier": spec["max_per_modifier"],
            }
            group = existing.get(spec["code"])
            if group is None:
                existing[spec["code"]] = self.create(
                    ModifierGroup,
                    {"venue": self.venue, "code": spec["code"], **values},
                    "modifier_groups",
                )
            else:
                self.save(group, values, "modifier_groups")
        return existing

    def modifiers(
        self,
        group: ModifierGroup,
        specs: list[dict],
        groups: dict[str, ModifierGroup],
        group_index: int,
    ) -> None:
        current = list(group.modifiers.order_by("sort_order", "pk"))
        matched: list[Modifier | None] = [None] * len(specs)
        used: set[int] = set()
        # By PLU when the document gives one, then by name among the rest.
        by_plu = {m.plu: m for m in current if m.plu}
        for index, spec in enumerate(specs):
            found = by_plu.get(spec["plu"]) if spec["plu"] else None
            if found is not None and found.pk not in used:
                matched[index] = found
                used.add(found.pk)
        by_name = {m.name: m for m in current}
        for index, spec in enumerate(specs):
            found = by_name.get(spec["name"]) if matched[index] is None else None
            if found is not None and found.pk not in used:
                matched[index] = found
                used.add(found.pk)
        self.path = f"modifier_groups[{group_index}].modifiers"
        stale = [m.pk for m in current if m.pk not in used]
        if stale:
            Modifier.objects.filter(pk__in=stale).delete()
            self.result.deleted["modifiers"] += len(stale)
        # Renamed modifiers first take a placeholder name, so names can move between them
        # without tripping the unique (group, name) constraint.
        for index, mod in enumerate(matched):
            if mod is not None and mod.name != specs[index]["name"]:
                mod.name = f"~import~{mod.pk}"
                mod.save(update_fields=["name"])
        for index, spec in enumerate(specs):
            self.path = f"modifier_groups[{group_index}].modifiers[{index}]"
            nested = spec["nested_group"]
            values = {
                "name": spec["name"],
                "plu": spec["plu"],
                "price_delta": spec["price_delta"],
                "is_available": spec["available"],
                "is_default": spec["default"],
                "nested_group_id": groups[nested].pk if nested else None,
                "sort_order": index,
            }
            if matched[index] is None:
                self.create(Modifier, {"group": group, **values}, "modifiers")
            else:
                self.save(matched[index], values, "modifiers")

    def menus(
        self,
        specs: list[dict],
        taxes: dict[str, TaxRate],
        groups: dict[str, ModifierGroup],
        stations: dict[str, int],
    ) -> set[str]:
        existing = {m.name: m for m in Menu.objects.filter(venue=self.venue)}
        categories: dict[tuple[int, str], Category] = {
            (c.menu_id, c.name): c for c in Category.objects.filter(menu__venue=self.venue)
        }
        items = {i.plu: i for i in MenuItem.objects.filter(venue=self.venue)}
        links: dict[int, list[int]] = {}
        for item_id, group_id in (
            ItemModifierGroup.objects.filter(item__venue=self.venue)
            .order_by("item_id", "sort_order", "id")
            .values_list("item_id", "group_id")
        ):
            links.setdefault(item_id, []).append(group_id)
        plus: set[str] = set()
        for m_index, spec in enumerate(specs):
            path = f"menus[{m_index}]"
            self.path = path
            values = {"is_active": spec["active"], "sort_order": m_index}
            menu = existing.get(spec["name"])
            if menu is None:
                menu = self.create(
                    Menu, {"venue": self.venue, "name": spec["name"], **values}, "menus"
                )
            else:
                self.save(menu, values, "menus")
            self.windows(menu, spec["windows"], f"{path}.windows")
            for c_index, c_spec in enumerate(spec["categories"]):
                c_path = f"{path}.categories[{c_index}]"
                self.path = c_path
                station = c_spec["default_station"]
                values = {
                    "default_station_id": stations[station] if station else None,
                    "color": c_spec["color"],
                    "sort_order": c_index,
                }
                category = categories.get((menu.pk, c_spec["name"]))
                if category is None:
                    category = self.create(
                        Category,
                        {"venue": self.venue, "menu": menu, "name": c_spec["name"], **values},
                        "categories",
                    )
                else:
                    self.save(category, values, "categories")
                for i_index, i_spec in enumerate(c_spec["items"]):
                    self.path = f"{c_path}.items[{i_index}]"
                    plus.add(i_spec["plu"])
                    self.item(category, i_index, i_spec, items, links, taxes, groups, stations)
        return plus

    def windows(self, menu: Menu, specs: list[dict], path: str) -> None:
        self.path = path
        current = list(menu.windows.all())

        def key(days, start, end) -> tuple[str, str, str]:
            if isinstance(days, list) and all(_is_int(day) for day in days):
                days = sorted(days)
            return (json.dumps(days), start.isoformat(), end.isoformat())

        have = sorted(key(w.weekdays, w.starts_at, w.ends_at) for w in current)
        want = sorted(key(s["weekdays"], s["from"], s["until"]) for s in specs)
        if have == want:
            self.result.unchanged["windows"] += len(current)
            return
        if current:
            MenuWindow.objects.filter(menu=menu).delete()
            self.result.deleted["windows"] += len(current)
        for index, spec in enumerate(specs):
            self.path = f"{path}[{index}]"
            self.create(
                MenuWindow,
                {
                    "menu": menu,
                    "weekdays": spec["weekdays"],
                    "starts_at": spec["from"],
                    "ends_at": spec["until"],
                },
                "windows",
            )

    def item(
        self,
        category: Category,
        index: int,
        spec: dict,
        items: dict[str, MenuItem],
        links: dict[int, list[int]],
        taxes: dict[str, TaxRate],
        groups: dict[str, ModifierGroup],
        stations: dict[str, int],
    ) -> None:
        station = spec["station"]
        values = {
            "category_id": category.pk,
            "name": spec["name"],
            "description": spec["description"],
            "price": spec["price"],
            "tax_rate_id": taxes[spec["tax_code"]].pk,
            "station_id": stations[station] if station else None,
            "prep_minutes": spec["prep_minutes"],
            "default_course": spec["default_course"],
            "is_available": spec["available"],
            "stock_count": spec["stock_count"],
            "is_active": spec["active"],
            "sort_order": index,
        }
        want_links = [groups[code].pk for code in spec["modifier_groups"]]
        item = items.get(spec["plu"])
        if item is None:
            item = self.create(
                MenuItem, {"venue": self.venue, "plu": spec["plu"], **values}, "items"
            )
            items[item.plu] = item
            have_links: list[int] = []
        else:
            have_links = links.get(item.pk, [])
            changed = [name for name, value in values.items() if getattr(item, name) != value]
            if changed or have_links != want_links:
                for name in changed:
                    setattr(item, name, values[name])
                item.save()
                self.result.updated["items"] += 1
            else:
                self.result.unchanged["items"] += 1
        if have_links != want_links:
            ItemModifierGroup.objects.filter(item=item).delete()
            ItemModifierGroup.objects.bulk_create(
                ItemModifierGroup(item=item, group_id=group_id, sort_order=position)
                for position, group_id in enumerate(want_links)
            )


# --- services -------------------------------------------------------------------------------


def menu_import(
    *,
    venue: Venue,
    data: dict,
    actor: Actor,
    deactivate_missing: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Create or update the venue's menu from a document (docs/menu-format.md).

    Validates everything first and raises MenuInvalid (code `invalid_menu`, a ValidationFailed)
    listing every problem; otherwise writes it all in one transaction. With
    `deactivate_missing`, active items of the venue whose PLU is not in the document are
    deactivated. With `dry_run`, the changes are counted and then rolled back.
    """
    permissions.require(actor, "menu.edit")
    if not permissions.works_at(actor, venue.pk):
        raise PermissionDenied(
            _("%(who)s does not work at %(venue)s.")
            % {"who": actor.display_name, "venue": venue.name}
        )
    result = ImportResult(dry_run=dry_run)
    writer = _Writer(venue, result)
    try:
        with transaction.atomic():
            # One import per venue at a time; the checks below read what the writes rely on.
            list(Venue.objects.select_for_update(no_key=True).filter(pk=venue.pk).values_list("pk"))
            doc = _Validator(venue).validate(data)
            writer.write(doc, deactivate_missing=deactivate_missing)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise MenuInvalid(
            [f"{writer.path}: " + _("the database refused it: %(error)s") % {"error": exc}]
        ) from exc
    return result


def menu_export(*, venue: Venue) -> dict:
    """The venue's whole menu as a document in the import format."""
    modifiers = Modifier.objects.select_related("nested_group").order_by("sort_order", "name", "pk")
    groups = (
        ModifierGroup.objects.filter(venue=venue)
        .order_by("code")
        .prefetch_related(Prefetch("modifiers", queryset=modifiers))
    )
    items = (
        MenuItem.objects.select_related("tax_rate", "station")
        .order_by("sort_order", "name", "pk")
        .prefetch_related(
            Prefetch(
                "group_links",
                queryset=ItemModifierGroup.objects.select_related("group").order_by(
                    "sort_order", "id"
                ),
            )
        )
    )
    menus = (
        Menu.objects.filter(venue=venue)
        .order_by("sort_order", "name", "pk")
        .prefetch_related(
            Prefetch("windows", queryset=MenuWindow.objects.order_by("starts_at", "ends_at", "pk")),
            Prefetch(
                "categories",
                queryset=Category.objects.select_related("default_station").order_by(
                    "sort_order", "name", "pk"
                ),
            ),
            Prefetch("categories__items", queryset=items),
        )
    )
    return {
        "version": FORMAT_VERSION,
        "currency": venue.currency,
        "tax_rates": [
            {"code": t.code, "name": t.name, "rate": _rate_text(t.rate)}
            for t in TaxRate.objects.filter(venue=venue).order_by("rate", "code")
        ],
        "modifier_groups": [_export_group(g) for g in groups],
        "menus": [
            {
                "name": menu.name,
                "active": menu.is_active,
                "windows": [_export_window(w) for w in menu.windows.all()],
                "categories": [
                    {
                        "name": c.name,
                        "default_station": c.default_station.slug if c.default_station else None,
                        "color": c.color,
                        "items": [_export_item(i) for i in c.items.all()],
                    }
                    for c in menu.categories.all()
                ],
            }
            for menu in menus
        ],
    }


def _rate_text(rate: Decimal) -> str:
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _export_group(group: ModifierGroup) -> dict:
    return {
        "code": group.code,
        "name": group.name,
        "internal_name": group.internal_name,
        "min": group.min_choices,
        "max": group.max_choices,
        "free": group.free_choices,
        "max_per_modifier": group.max_per_modifier,
        "modifiers": [
            {
                "name": m.name,
                "plu": m.plu,
                "price_delta": m.price_delta,
                "available": m.is_available,
                "default": m.is_default,
                "nested_group": m.nested_group.code if m.nested_group else None,
            }
            for m in group.modifiers.all()
        ],
    }


def _export_window(window: MenuWindow) -> dict:
    days = window.weekdays if isinstance(window.weekdays, list) else []
    return {
        "weekdays": sorted({d for d in days if _is_int(d) and 0 <= d <= 6}),
        "from": f"{window.starts_at:%H:%M}",
        "until": f"{window.ends_at:%H:%M}",
    }


def _export_item(item: MenuItem) -> dict:
    return {
        "plu": item.plu,
        "name": item.name,
        "description": item.description,
        "price": item.price,
        "tax_code": item.tax_rate.code,
        "station": item.station.slug if item.station else None,
        "prep_minutes": item.prep_minutes,
        "default_course": item.default_course,
        "available": item.is_available,
        "stock_count": item.stock_count,
        "active": item.is_active,
        "modifier_groups": [link.group.code for link in item.group_links.all()],
    }
