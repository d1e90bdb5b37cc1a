"""Every modifier rule, through the real line_add service and the real database."""

import pytest

from orders.models import LineModifier, OrderLine
from orders.modifiers import rule_text
from orders.pricing import check_totals, lines_from_rows
from orders.services import check_open, line_add
from restaurant.errors import Conflict, ValidationFailed
from restaurant.models import StaffMember
from tests.factories import (
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    TableFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def steak_setup():
    venue = VenueFactory()
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER)
    tab = check_open(
        venue=venue, actor=server, kind="table", table=TableFactory(venue=venue), guest_count=2
    )
    steak = MenuItemFactory(venue=venue, name="Entrecote", price=2850)
    doneness = ModifierGroupFactory(
        venue=venue, name="Doneness", code="doneness", min_choices=1, max_choices=1
    )
    rare = ModifierFactory(group=doneness, name="Rare")
    medium_rare = ModifierFactory(group=doneness, name="Medium-rare")
    sides = ModifierGroupFactory(
        venue=venue, name="Sides", code="sides", min_choices=0, max_choices=2, free_choices=1
    )
    fries = ModifierFactory(group=sides, name="Fries", price_delta=350)
    salad = ModifierFactory(group=sides, name="Salad", price_delta=350)
    truffle = ModifierFactory(group=sides, name="Truffle fries", price_delta=550)
    dressing = ModifierGroupFactory(
        venue=venue, name="Dressing", code="dressing", min_choices=1, max_choices=1
    )
    vinaigrette = ModifierFactory(group=dressing, name="Vinaigrette", price_delta=0)
    honey = ModifierFactory(group=dressing, name="Honey-mustard", price_delta=50)
    salad.nested_group = dressing
    salad.save()
    sauces = ModifierGroupFactory(
        venue=venue, name="Sauce", code="sauce", min_choices=0, max_choices=3, max_per_modifier=2
    )
    pepper = ModifierFactory(group=sauces, name="Pepper sauce", price_delta=250)
    attach(steak, doneness, sides, sauces)
    return {
        "venue": venue,
        "server": server,
        "tab": tab,
        "steak": steak,
        "groups": {"doneness": doneness, "sides": sides, "sauces": sauces, "dressing": dressing},
        "rare": rare,
        "medium_rare": medium_rare,
        "fries": fries,
        "salad": salad,
        "truffle": truffle,
        "vinaigrette": vinaigrette,
        "honey": honey,
        "pepper": pepper,
    }


def add(s, modifiers, **kw):
    return line_add(tab=s["tab"], actor=s["server"], item=s["steak"], modifiers=modifiers, **kw)


def c(mod, quantity=1, choices=None):
    data = {"modifier": mod.pk, "quantity": quantity}
    if choices is not None:
        data["choices"] = choices
    return data


def assert_nothing_added(s):
    assert OrderLine.objects.filter(tab=s["tab"]).count() == 0
    assert LineModifier.objects.count() == 0


def test_required_group_blocks_a_line_without_a_choice(steak_setup):
    s = steak_setup
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["fries"])])
    assert exc.value.code == "modifier_min"
    assert exc.value.field == "modifiers.doneness"
    assert "Doneness" in exc.value.message and "choose 1" in exc.value.message
    assert_nothing_added(s)


def test_max_is_enforced(steak_setup):
    s = steak_setup
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["medium_rare"])])
    assert exc.value.code == "modifier_max"
    assert exc.value.field == "modifiers.doneness"
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["fries"]), c(s["truffle"]), c(s["salad"], choices=[])])
    assert exc.value.field in {"modifiers.sides", "modifiers.dressing"}
    assert_nothing_added(s)


def test_quantity_counts_toward_max_and_per_modifier_limit(steak_setup):
    s = steak_setup
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["fries"], quantity=3)])
    assert exc.value.code == "modifier_quantity"  # sides allow one of each
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["pepper"], quantity=3)])
    assert exc.value.code == "modifier_quantity"
    line = add(s, [c(s["rare"]), c(s["pepper"], quantity=2)])
    assert line.modifiers.get(name="Pepper sauce").quantity == 2


def test_one_free_side_and_the_price_of_the_second(steak_setup):
    s = steak_setup
    line = add(
        s, [c(s["medium_rare"]), c(s["fries"]), c(s["salad"], choices=[c(s["vinaigrette"])])]
    )
    sides = {m.name: m for m in line.modifiers.filter(group_name="Sides")}
    assert sum(m.free_quantity for m in sides.values()) == 1
    totals = check_totals(lines_from_rows([line]), prices_include_tax=True)
    assert totals.total == 2850 + 350  # one side free, the other charged


def test_free_choice_goes_to_the_most_expensive_unit(steak_setup):
    s = steak_setup
    line = add(s, [c(s["rare"]), c(s["fries"]), c(s["truffle"])])
    mods = {m.name: m for m in line.modifiers.all()}
    assert mods["Truffle fries"].free_quantity == 1
    assert mods["Fries"].free_quantity == 0
    assert check_totals(lines_from_rows([line]), prices_include_tax=True).total == 2850 + 350


def test_nested_group_required_when_parent_chosen(steak_setup):
    s = steak_setup
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["salad"])])
    assert exc.value.field == "modifiers.dressing"
    assert exc.value.code == "modifier_min"
    assert_nothing_added(s)


def test_nested_choice_is_stored_under_its_parent_and_priced(steak_setup):
    s = steak_setup
    line = add(s, [c(s["rare"]), c(s["salad"], choices=[c(s["honey"])])])
    salad = line.modifiers.get(name="Salad")
    honey = line.modifiers.get(name="Honey-mustard")
    assert honey.parent_id == salad.pk
    assert salad.free_quantity == 1  # the only side, so it is the free one
    assert check_totals(lines_from_rows([line]), prices_include_tax=True).total == 2850 + 50


def test_nested_choice_under_a_modifier_without_a_group_is_refused(steak_setup):
    s = steak_setup
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["fries"], choices=[c(s["honey"])])])
    assert exc.value.code == "invalid_choice"
    assert_nothing_added(s)


def test_modifier_of_another_item_is_refused(steak_setup):
    s = steak_setup
    stranger = ModifierFactory(group=ModifierGroupFactory(venue=s["venue"]))
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(stranger)])
    assert exc.value.code == "unknown_modifier"
    # a nested group's modifier cannot be chosen at the top level either
    with pytest.raises(ValidationFailed):
        add(s, [c(s["rare"]), c(s["honey"])])
    assert_nothing_added(s)


def test_86d_modifier_is_refused_server_side(steak_setup):
    s = steak_setup
    s["fries"].is_available = False
    s["fries"].save()
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(s["fries"])])
    assert exc.value.code == "modifier_unavailable"
    assert "Fries" in exc.value.message
    assert_nothing_added(s)


def test_86d_item_is_refused_server_side(steak_setup):
    s = steak_setup
    s["steak"].is_available = False
    s["steak"].save()
    with pytest.raises(Conflict) as exc:
        add(s, [c(s["rare"])])
    assert exc.value.code == "item_unavailable"
    assert_nothing_added(s)


def test_duplicate_and_malformed_choices_are_refused(steak_setup):
    s = steak_setup
    bad_inputs = [
        [c(s["rare"]), c(s["rare"])],
        [{"modifier": "x"}],
        [{"modifier": s["rare"].pk, "quantity": 0}],
        [{"modifier": s["rare"].pk, "colour": "red"}],
        ["rare"],
    ]
    for bad in bad_inputs:
        with pytest.raises(ValidationFailed):
            add(s, bad)
    assert_nothing_added(s)


def test_negative_price_delta_lowers_the_price(steak_setup):
    s = steak_setup
    no_sauce = ModifierFactory(group=s["groups"]["sauces"], name="Half portion", price_delta=-900)
    line = add(s, [c(s["rare"]), c(no_sauce)])
    assert check_totals(lines_from_rows([line]), prices_include_tax=True).total == 2850 - 900


def test_a_choice_that_makes_the_price_negative_is_refused(steak_setup):
    s = steak_setup
    silly = ModifierFactory(group=s["groups"]["sauces"], name="Huge discount", price_delta=-5000)
    with pytest.raises(ValidationFailed) as exc:
        add(s, [c(s["rare"]), c(silly)])
    assert exc.value.code == "negative_price"
    assert_nothing_added(s)


def test_rule_text_describes_each_group():
    assert rule_text(ModifierGroupFactory.build(min_choices=1, max_choices=1)) == "choose 1"
    sides = ModifierGroupFactory.build(min_choices=0, max_choices=2, free_choices=1)
    assert rule_text(sides) == "up to 2, 1 free"
    assert rule_text(ModifierGroupFactory.build(min_choices=1, max_choices=3)) == "choose 1 to 3"
