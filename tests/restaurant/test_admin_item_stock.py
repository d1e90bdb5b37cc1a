"""Price and stock edited in the back office go through the service: the row is locked, who
did it is checked, stock 0 86's the item, and the tablets hear of it (`item.availability`)."""

from __future__ import annotations

import pytest

from restaurant import services
from restaurant.errors import PermissionDenied, ValidationFailed
from restaurant.models import Event, MenuItem, StaffMember
from restaurant.realtime import events_after
from tests.factories import MenuItemFactory, VenueFactory
from tests.restaurant.test_admin import change_form_data, login, staff_user, url

pytestmark = pytest.mark.django_db
Role = StaffMember.Role


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bistro():
    venue = VenueFactory(name="Bistro")
    owner = staff_user(venue, Role.OWNER, pin="1111", display_name="Olga")
    manager = staff_user(venue, Role.MANAGER, pin="2222", display_name="Max")
    item = MenuItemFactory(venue=venue, name="Sea bass", price=2450, stock_count=None)
    return venue, owner, manager, item


def availability_events(venue) -> list[dict]:
    return [e["data"] for e in events_after(venue_id=venue.pk, after=0)]


def list_edit(item, *, price: str, stock: str) -> dict:
    """The item list's POST for one row (what the changelist's formset sends)."""
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(item.pk),
        "form-0-price": price,
        "form-0-stock_count": stock,
        "_save": "Save",
    }


def test_owner_sets_stock_to_zero_in_the_item_list_and_the_tablets_grey_it_out(client, bistro):
    venue, owner, _manager, item = bistro
    login(client, owner)

    response = client.post(url(MenuItem, "changelist"), list_edit(item, price="24.50", stock="0"))

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.price, item.stock_count, item.is_available) == (2450, 0, False)
    assert availability_events(venue) == [{"item": item.pk, "available": False, "stock_count": 0}]


def test_owner_sets_stock_on_the_item_page_through_the_service_too(client, bistro):
    venue, owner, _manager, item = bistro
    login(client, owner)
    page = url(MenuItem, "change", item.pk)
    data = change_form_data(client.get(page))
    data.update({"stock_count": "0", "description": "Line-caught", "_save": "Save"})

    response = client.post(page, data)

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.stock_count, item.is_available, item.description) == (0, False, "Line-caught")
    assert availability_events(venue) == [{"item": item.pk, "available": False, "stock_count": 0}]


def test_a_price_change_in_the_list_is_no_availability_news(client, bistro):
    venue, owner, _manager, item = bistro
    login(client, owner)
    response = client.post(url(MenuItem, "changelist"), list_edit(item, price="26.00", stock=""))
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.price, item.stock_count, item.is_available) == (2600, None, True)
    assert availability_events(venue) == []


def test_a_manager_cannot_set_stock_in_the_list(client, bistro):
    venue, _owner, manager, item = bistro
    login(client, manager)
    response = client.post(url(MenuItem, "changelist"), list_edit(item, price="1.00", stock="0"))
    assert response.status_code == 403
    item.refresh_from_db()
    assert (item.price, item.stock_count, item.is_available) == (2450, None, True)
    assert not Event.objects.filter(venue=venue).exists()


def test_the_service_checks_who_and_what(bistro):
    venue, owner, manager, item = bistro
    with pytest.raises(PermissionDenied):
        services.menu_item_set_price_and_stock(item=item, actor=manager, stock_count=0)
    other_owner = staff_user(VenueFactory(), Role.OWNER)
    with pytest.raises(PermissionDenied):
        services.menu_item_set_price_and_stock(item=item, actor=other_owner, stock_count=0)
    with pytest.raises(ValidationFailed) as exc:
        services.menu_item_set_price_and_stock(item=item, actor=owner, stock_count=-1)
    assert exc.value.field == "stock_count"
    with pytest.raises(ValidationFailed) as exc:
        services.menu_item_set_price_and_stock(item=item, actor=owner, price=-5)
    assert exc.value.field == "price"
    item.refresh_from_db()
    assert (item.price, item.stock_count, item.is_available) == (2450, None, True)
    assert availability_events(venue) == []


def test_new_stock_for_an_86d_item_is_announced_but_does_not_un_86_it(bistro):
    venue, owner, _manager, item = bistro
    MenuItem.objects.filter(pk=item.pk).update(stock_count=0, is_available=False)
    changed = services.menu_item_set_price_and_stock(item=item, actor=owner, stock_count=6)
    assert (changed.stock_count, changed.is_available) == (6, False)
    assert availability_events(venue) == [{"item": item.pk, "available": False, "stock_count": 6}]
    # The un-86 action may now bring it back.
    assert services.menu_item_set_available(item=item, available=True, actor=owner).is_available
