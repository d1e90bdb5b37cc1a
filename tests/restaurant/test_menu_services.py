"""86ing, bulk price changes and menu availability windows."""

import datetime
from decimal import Decimal

import pytest

from restaurant.errors import NotFound, PermissionDenied, ValidationFailed
from restaurant.models import MenuItem, StaffMember
from restaurant.selectors import menus_available_at
from restaurant.services import (
    menu_item_set_available,
    menu_items_change_price,
    modifier_set_available,
)
from tests.actors import SETUP
from tests.factories import (
    MenuFactory,
    MenuItemFactory,
    MenuWindowFactory,
    ModifierFactory,
    StaffFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db
Role = StaffMember.Role


def test_86_and_un86_by_role():
    venue = VenueFactory()
    item = MenuItemFactory(venue=venue)
    server = StaffFactory(venue=venue, role=Role.SERVER)
    manager = StaffFactory(venue=venue, role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        menu_item_set_available(item=item, available=False, actor=server)
    item.refresh_from_db()
    assert item.is_available
    menu_item_set_available(item=item, available=False, actor=manager)
    item.refresh_from_db()
    assert not item.is_available
    menu_item_set_available(item=item, available=True, actor=manager)
    item.refresh_from_db()
    assert item.is_available
    mod = ModifierFactory(group__venue=venue)
    modifier_set_available(modifier=mod, available=False, actor=manager)
    mod.refresh_from_db()
    assert not mod.is_available


def test_un86_of_an_item_without_stock_is_refused():
    item = MenuItemFactory(stock_count=0, is_available=False)
    with pytest.raises(ValidationFailed) as exc:
        menu_item_set_available(item=item, available=True, actor=SETUP)
    assert exc.value.code == "out_of_stock"
    item.refresh_from_db()
    assert not item.is_available


def test_bulk_price_change_percent_amount_and_rounding():
    venue = VenueFactory()
    a = MenuItemFactory(venue=venue, price=1950)
    b = MenuItemFactory(venue=venue, price=2850)
    menu_items_change_price(
        venue=venue, item_ids=[a.pk, b.pk], percent=Decimal("10"), round_to=10, actor=SETUP
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.price, b.price) == (2150, 3140)  # 2145 -> 2150, 3135 -> 3140
    menu_items_change_price(venue=venue, item_ids=[a.pk], amount=-150, actor=SETUP)
    a.refresh_from_db()
    assert a.price == 2000


def test_bulk_price_change_refusals_change_nothing():
    venue = VenueFactory()
    owner = StaffFactory(venue=venue, role=Role.OWNER)
    cheap = MenuItemFactory(venue=venue, price=100)
    dear = MenuItemFactory(venue=venue, price=5000)
    foreign = MenuItemFactory(price=700)
    with pytest.raises(ValidationFailed) as exc:
        menu_items_change_price(venue=venue, item_ids=[dear.pk, cheap.pk], amount=-200, actor=owner)
    assert exc.value.code == "negative_price"
    with pytest.raises(NotFound):
        menu_items_change_price(
            venue=venue, item_ids=[dear.pk, foreign.pk], percent=Decimal("5"), actor=SETUP
        )
    with pytest.raises(PermissionDenied):
        menu_items_change_price(
            venue=venue,
            item_ids=[dear.pk],
            percent=Decimal("5"),
            actor=StaffFactory(venue=venue, role=Role.MANAGER),
        )
    with pytest.raises(ValidationFailed):
        menu_items_change_price(venue=venue, item_ids=[dear.pk], actor=SETUP)
    prices = dict(MenuItem.objects.values_list("pk", "price"))
    assert prices == {cheap.pk: 100, dear.pk: 5000, foreign.pk: 700}


def at(venue, weekday_date, hour, minute=0):
    return datetime.datetime.combine(weekday_date, datetime.time(hour, minute), tzinfo=venue.tzinfo)


def test_menus_available_by_window_weekday_and_midnight():
    venue = VenueFactory(timezone="Europe/Amsterdam")
    lunch = MenuFactory(venue=venue, name="Lunch")
    MenuWindowFactory(menu=lunch, starts_at=datetime.time(11), ends_at=datetime.time(16))
    dinner = MenuFactory(venue=venue, name="Dinner")
    MenuWindowFactory(menu=dinner, starts_at=datetime.time(17), ends_at=datetime.time(22, 30))
    MenuFactory(venue=venue, name="Drinks")  # no windows: all day
    late = MenuFactory(venue=venue, name="Late night")
    MenuWindowFactory(  # Friday and Saturday nights only, past midnight
        menu=late, weekdays=[4, 5], starts_at=datetime.time(22), ends_at=datetime.time(2)
    )
    MenuFactory(venue=venue, name="Old", is_active=False)
    friday = datetime.date(2026, 11, 27)
    assert friday.weekday() == 4

    def names(when):
        return sorted(m.name for m in menus_available_at(venue=venue, at=when))

    assert names(at(venue, friday, 12)) == ["Drinks", "Lunch"]
    assert names(at(venue, friday, 16)) == ["Drinks"]  # end is exclusive
    assert names(at(venue, friday, 19)) == ["Dinner", "Drinks"]
    assert names(at(venue, friday, 23)) == ["Drinks", "Late night"]
    saturday_night = at(venue, friday + datetime.timedelta(days=1), 1, 30)
    assert names(saturday_night) == ["Drinks", "Late night"]  # Friday's window runs on
    monday_night = at(venue, friday + datetime.timedelta(days=4), 1, 30)
    assert names(monday_night) == ["Drinks"]  # Sunday has no late window
    # the venue's timezone counts, not the server's: 11:30 UTC is 12:30 in Amsterdam
    utc = datetime.datetime(2026, 11, 27, 10, 30, tzinfo=datetime.UTC)
    assert names(utc) == ["Drinks", "Lunch"]
