"""The demo venue loads once and serves the night in SCENARIOS.md."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from orders.pricing import check_totals, lines_from_rows
from orders.services import check_open, line_add
from restaurant.demo.seed import DEMO_LOGINS, VENUE_SLUG
from restaurant.errors import ValidationFailed
from restaurant.models import MenuItem, Modifier, Station, Table, Venue
from restaurant.selectors import menus_available_at
from restaurant.services import staff_by_pin

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", "--if-empty", verbosity=0)
    return Venue.objects.get(slug=VENUE_SLUG)


def test_seed_once_only(demo):
    call_command("seed_demo", "--if-empty", verbosity=0)
    assert Venue.objects.count() == 1
    assert demo.items.count() >= 55
    assert 18 <= demo.tables.count() <= 25
    assert sorted(demo.areas.values_list("name", flat=True)) == ["Bar", "Main room", "Terrace"]
    assert set(Station.objects.filter(venue=demo).values_list("slug", flat=True)) == {
        "grill",
        "cold",
        "bar",
        "pastry",
        "expo",
    }
    assert sorted(demo.menus.values_list("name", flat=True)) == ["Drinks", "Lunch", "À la carte"]
    assert (demo.prices_include_tax, demo.currency, demo.cash_rounding) == (True, "EUR", 5)
    assert sorted(demo.tax_rates.values_list("rate", flat=True)) == [9, 21]


def test_every_demo_login_works(demo):
    for login in DEMO_LOGINS:
        staff = staff_by_pin(venue=demo, pin=login["pin"])
        assert staff is not None and staff.display_name == login["name"]
        assert staff.role == login["role"]
        if login["password"]:
            user = authenticate(username=login["username"], password=login["password"])
            assert user is not None and user.is_staff


def test_table_12_steak_order_from_the_scenario(demo):
    daan = staff_by_pin(venue=demo, pin="1111")
    table = Table.objects.get(venue=demo, name="12")
    tab = check_open(venue=demo, actor=daan, kind="table", table=table, guest_count=4)
    steak = MenuItem.objects.get(venue=demo, name="Entrecote 250g")
    assert steak.effective_station.slug == "grill"

    def mod(name):
        return Modifier.objects.get(group__venue=demo, name=name)

    with pytest.raises(ValidationFailed) as exc:  # doneness is required
        line_add(tab=tab, actor=daan, item=steak, seat=1)
    assert exc.value.field == "modifiers.doneness"
    line = line_add(
        tab=tab,
        actor=daan,
        item=steak,
        seat=1,
        modifiers=[
            {"modifier": mod("Medium rare").pk},
            {"modifier": mod("Pepper sauce").pk},
            {"modifier": mod("Fries").pk},
            {"modifier": mod("Side salad").pk, "choices": [{"modifier": mod("Vinaigrette").pk}]},
        ],
    )
    totals = check_totals(lines_from_rows([line]), prices_include_tax=True)
    assert totals.total == 2850 + 250 + 350  # one of the two sides is free
    assert line.course == 2  # mains wait for "fire"


def test_demo_has_an_all_day_menu_with_mains_and_drinks(demo):
    names = {m.name for m in menus_available_at(venue=demo)}
    assert {"À la carte", "Drinks"} <= names
