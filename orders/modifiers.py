"""Validating a modifier choice against an item's modifier groups.

A choice is what a tablet or the API sends with a line, a list of

    {"modifier": <id>, "quantity": 1, "choices": [ ...nested choices... ]}

where nested choices answer the chosen modifier's nested group (steak -> side salad ->
dressing). `modifiers_validate` checks every rule and returns the resolved tree, with the free
units already assigned, ready to be copied onto an order line. Any broken rule raises a
ValidationFailed whose message names the group and whose field is `modifiers.<group code>`.

Free choices: a group with `free_choices = n` makes n units free; they go to the most
expensive units chosen (the guest never pays for a free side when a cheaper one was charged),
ties by the order the choices were sent. Negative price changes are never "free".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from restaurant.errors import ValidationFailed
from restaurant.models import MenuItem, Modifier, ModifierGroup

MAX_DEPTH = 4


@dataclass
class ChosenModifier:
    modifier: Modifier
    group: ModifierGroup
    quantity: int
    free_quantity: int = 0
    children: list[ChosenModifier] = field(default_factory=list)

    @property
    def charged_quantity(self) -> int:
        return self.quantity - self.free_quantity

    @property
    def amount(self) -> int:
        """This choice's price change for one unit of the line, nested choices included."""
        own = self.modifier.price_delta * self.charged_quantity
        return own + sum(child.amount for child in self.children)


def rule_text(group: ModifierGroup) -> str:
    """The rule as the tablet shows it: "choose 1", "up to 2, 1 free", "choose 1 to 3"."""
    if group.min_choices == group.max_choices:
        text = _("choose %(n)d") % {"n": group.min_choices}
    elif group.min_choices == 0:
        text = _("up to %(n)d") % {"n": group.max_choices}
    else:
        text = _("choose %(min)d to %(max)d") % {
            "min": group.min_choices,
            "max": group.max_choices,
        }
    if group.free_choices:
        text += ", " + _("%(n)d free") % {"n": group.free_choices}
    return text


def _fail(group: ModifierGroup | None, message: str, code: str) -> ValidationFailed:
    fieldname = f"modifiers.{group.code}" if group is not None else "modifiers"
    return ValidationFailed(message, code=code, field=fieldname)


def _load(item: MenuItem) -> tuple[list[ModifierGroup], dict[int, Modifier]]:
    """The item's groups in order, and every modifier reachable from them (nested too)."""
    groups = [
        link.group for link in item.group_links.select_related("group").order_by("sort_order", "id")
    ]
    modifiers: dict[int, Modifier] = {}
    seen_groups: set[int] = set()
    frontier = [g.pk for g in groups]
    while frontier:
        seen_groups.update(frontier)
        batch = list(
            Modifier.objects.filter(group_id__in=frontier).select_related("group", "nested_group")
        )
        frontier = []
        for mod in batch:
            modifiers[mod.pk] = mod
            if mod.nested_group_id and mod.nested_group_id not in seen_groups:
                frontier.append(mod.nested_group_id)
                seen_groups.add(mod.nested_group_id)
    return groups, modifiers


def modifiers_validate(
    *, item: MenuItem, choices: list | None, short: list | None = None
) -> list[ChosenModifier]:
    """Check `choices` against the item's groups; return the resolved choice tree.

    With a `short` list (a price shown while the server is still choosing) a group with fewer
    choices than its minimum is noted there instead of refused; every other rule holds, and
    free units are given the same way, so the price is the one the line will have.
    """
    groups, modifiers = _load(item)
    return _validate_level(groups, modifiers, choices or [], depth=1, where=item.name, short=short)


def _as_choice(raw, parent_group: ModifierGroup | None) -> tuple[int, int, list]:
    if not isinstance(raw, dict):
        raise _fail(parent_group, _("Each modifier choice must be an object."), "invalid_choice")
    unknown = set(raw) - {"modifier", "quantity", "choices"}
    if unknown:
        raise _fail(
            parent_group,
            _("Unknown key in a modifier choice: %(keys)s.") % {"keys": ", ".join(sorted(unknown))},
            "invalid_choice",
        )
    mod_id = raw.get("modifier")
    quantity = raw.get("quantity", 1)
    nested = raw.get("choices", [])
    if not isinstance(mod_id, int) or isinstance(mod_id, bool):
        raise _fail(parent_group, _("A modifier choice needs a modifier id."), "invalid_choice")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise _fail(
            parent_group, _("A modifier's quantity must be a whole number >= 1."), "invalid_choice"
        )
    if not isinstance(nested, list):
        raise _fail(parent_group, _("Nested choices must be a list."), "invalid_choice")
    return mod_id, quantity, nested


def _validate_level(
    groups: list[ModifierGroup],
    modifiers: dict[int, Modifier],
    raw_choices: list,
    *,
    depth: int,
    where: str,
    short: list | None = None,
) -> list[ChosenModifier]:
    if depth > MAX_DEPTH:
        raise _fail(None, _("Modifiers are nested too deeply."), "invalid_choice")
    if not isinstance(raw_choices, list):
        raise _fail(None, _("Modifier choices must be a list."), "invalid_choice")
    group_ids = {g.pk for g in groups}
    by_group: dict[int, list[ChosenModifier]] = {g.pk: [] for g in groups}
    seen: set[int] = set()
    for raw in raw_choices:
        mod_id, quantity, nested = _as_choice(raw, None)
        mod = modifiers.get(mod_id)
        if mod is None or mod.group_id not in group_ids:
            raise _fail(
                None,
                _("Modifier %(id)s is not a choice for %(where)s.")
                % {"id": mod_id, "where": where},
                "unknown_modifier",
            )
        group = next(g for g in groups if g.pk == mod.group_id)
        if mod_id in seen:
            raise _fail(
                group,
                _("%(group)s: %(mod)s is listed twice; use its quantity instead.")
                % {"group": group.name, "mod": mod.name},
                "duplicate_modifier",
            )
        seen.add(mod_id)
        if not mod.is_available:
            raise _fail(
                group,
                _("%(group)s: %(mod)s is not available (86'd).")
                % {"group": group.name, "mod": mod.name},
                "modifier_unavailable",
            )
        if quantity > group.max_per_modifier:
            raise _fail(
                group,
                ngettext(
                    "%(group)s: %(mod)s can be chosen at most %(n)d time.",
                    "%(group)s: %(mod)s can be chosen at most %(n)d times.",
                    group.max_per_modifier,
                )
                % {"group": group.name, "mod": mod.name, "n": group.max_per_modifier},
                "modifier_quantity",
            )
        children: list[ChosenModifier] = []
        if mod.nested_group_id:
            children = _validate_level(
                [mod.nested_group],
                modifiers,
                nested,
                depth=depth + 1,
                where=mod.name,
                short=short,
            )
        elif nested:
            raise _fail(
                group,
                _("%(group)s: %(mod)s has no further choices.")
                % {"group": group.name, "mod": mod.name},
                "invalid_choice",
            )
        by_group[group.pk].append(ChosenModifier(mod, group, quantity, 0, children))

    result: list[ChosenModifier] = []
    for group in groups:
        chosen = by_group[group.pk]
        count = sum(c.quantity for c in chosen)
        if count < group.min_choices:
            problem = _fail(
                group,
                _("%(group)s: %(rule)s (%(count)d chosen).")
                % {"group": group.name, "rule": rule_text(group), "count": count},
                "modifier_min",
            )
            if short is None:
                raise problem
            short.append(problem)
        if count > group.max_choices:
            raise _fail(
                group,
                _("%(group)s: %(rule)s (%(count)d chosen).")
                % {"group": group.name, "rule": rule_text(group), "count": count},
                "modifier_max",
            )
        _assign_free(chosen, group.free_choices)
        chosen.sort(key=lambda c: (c.modifier.sort_order, c.modifier.name))
        result.extend(chosen)
    return result


def _assign_free(chosen: list[ChosenModifier], free: int) -> None:
    """Give the group's free units to the most expensive chosen units (positive prices only)."""
    order = sorted(
        (c for c in chosen if c.modifier.price_delta > 0),
        key=lambda c: -c.modifier.price_delta,  # stable: ties keep the order they were sent
    )
    for c in order:
        if free <= 0:
            break
        take = min(free, c.quantity)
        c.free_quantity = take
        free -= take


@dataclass
class LineQuote:
    """What a line of `item` with these choices costs, as the line would be priced."""

    unit_total: int
    chosen: list[ChosenModifier]
    # The first rule the choices still break (a group below its minimum), or None.
    problem: ValidationFailed | None


def line_quote(*, item: MenuItem, choices: list | None) -> LineQuote:
    """Price a line while its choices are made: every rule but a group's minimum is checked
    (those refusals raise, as adding the line would), and the price is the one the line gets:
    the same free units, the same nested choices."""
    short: list[ValidationFailed] = []
    chosen = modifiers_validate(item=item, choices=choices, short=short)
    return LineQuote(
        item.price + sum(c.amount for c in chosen), chosen, short[0] if short else None
    )
