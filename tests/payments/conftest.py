"""A small Dutch brasserie for the bill tests: VAT 9% (food) and 21% (drinks), prices
include VAT, cash rounded to 5 cents, tip presets 5/10/15, one drawer with a €150 float."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orders import services as order_services
from payments import services as pay_services
from payments.models import Drawer
from restaurant.models import StaffMember
from tests.factories import (
    CategoryFactory,
    FloorAreaFactory,
    MenuFactory,
    MenuItemFactory,
    PrinterFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    TaxRateFactory,
    VenueFactory,
)


@pytest.fixture
def bistro(db):
    venue = VenueFactory(
        name="Bistro",
        currency="EUR",
        prices_include_tax=True,
        cash_rounding=5,
        tip_presets=[5, 10, 15],
    )
    kitchen = StationFactory(venue=venue, slug="kitchen", name="Kitchen")
    area = FloorAreaFactory(venue=venue, name="Room")
    table12 = TableFactory(venue=venue, area=area, name="12")
    table5 = TableFactory(venue=venue, area=area, name="5")
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, pin="1111")
    server2 = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, pin="3333")
    manager = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER, pin="2222")
    host = StaffFactory(venue=venue, role=StaffMember.Role.HOST, pin="4444")
    low = TaxRateFactory(venue=venue, code="L", rate=9)
    high = TaxRateFactory(venue=venue, code="H", rate=21)
    menu = MenuFactory(venue=venue, name="All day")
    food = CategoryFactory(venue=venue, menu=menu, name="Food", default_station=kitchen)
    drinks = CategoryFactory(venue=venue, menu=menu, name="Drinks", default_station=kitchen)
    steak = MenuItemFactory(venue=venue, category=food, name="Steak", price=2450, tax_rate=low)
    risotto = MenuItemFactory(venue=venue, category=food, name="Risotto", price=1950, tax_rate=low)
    pasta = MenuItemFactory(venue=venue, category=food, name="Kids pasta", price=947, tax_rate=low)
    wine = MenuItemFactory(
        venue=venue, category=drinks, name="Bottle Rioja", price=3600, tax_rate=high
    )
    beer = MenuItemFactory(venue=venue, category=drinks, name="Beer", price=450, tax_rate=high)
    receipt_printer = PrinterFactory(
        venue=venue, name="Receipts", host="127.0.0.1", port=9, role="receipt"
    )
    drawer = Drawer.objects.create(venue=venue, name="Bar till")
    return SimpleNamespace(**locals())


@pytest.fixture
def till(bistro):
    """The bar till opened by the manager with a counted €150.00 float."""
    return pay_services.drawer_open(drawer=bistro.drawer, actor=bistro.manager, opening_float=15000)


def table_check(bistro, table=None, guests=4, lines=()):
    """Open a table and add (item, seat[, quantity]) lines; returns (check, [lines])."""
    tab = order_services.check_open(
        venue=bistro.venue,
        actor=bistro.server,
        kind="table",
        table=table or bistro.table12,
        guest_count=guests,
    )
    added = []
    for spec in lines:
        item, seat, *rest = spec
        added.append(
            order_services.line_add(
                tab=tab,
                actor=bistro.server,
                item=item,
                seat=seat,
                quantity=rest[0] if rest else 1,
            )
        )
    tab.refresh_from_db()
    return tab, added


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Staff users get a password from the factory; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
