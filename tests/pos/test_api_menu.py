"""GET menus: what is available now, with modifiers; cacheable by ETag."""

import datetime

import pytest
from django.utils import timezone

from restaurant.models import MenuItem, Modifier
from restaurant.services import menu_items_change_price
from tests.actors import SETUP
from tests.factories import CategoryFactory, MenuFactory, MenuItemFactory, MenuWindowFactory

pytestmark = pytest.mark.django_db


def _item(body, name):
    for menu in body["menus"]:
        for category in menu["categories"]:
            for item in category["items"]:
                if item["name"] == name:
                    return item
    return None


def test_menus_with_items_modifier_groups_and_nested_groups(place, server_api):
    response = server_api.get("menus")
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR"
    (menu,) = body["menus"]
    assert menu["name"] == "All day" and menu["available_now"] is True
    steak = _item(body, "Steak")
    assert steak["price"] == 2450 and steak["default_course"] == 2
    assert steak["station"] == "grill" and steak["tax_rate"]["rate"] == "21"
    assert steak["available"] is True and steak["stock_count"] is None
    doneness, sides = steak["modifier_groups"]
    assert (doneness["code"], doneness["min"], doneness["max"], doneness["rule"]) == (
        "doneness",
        1,
        1,
        "choose 1",
    )
    assert sides["rule"] == "up to 2, 1 free" and sides["free"] == 1
    assert [m["name"] for m in sides["modifiers"]] == ["Fries", "Salad"]
    salad = sides["modifiers"][1]
    assert salad["price_delta"] == 300
    assert salad["group"]["code"] == "dressing"
    assert salad["group"]["modifiers"][0]["name"] == "Vinaigrette"
    assert sides["modifiers"][0]["group"] is None


def test_menus_outside_their_window_only_with_all(place, server_api):
    now = timezone.localtime(timezone.now(), place.venue.tzinfo)
    later = MenuFactory(venue=place.venue, name="Later")
    start = (now + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (now + datetime.timedelta(hours=3)).time().replace(second=0, microsecond=0)
    MenuWindowFactory(menu=later, starts_at=start, ends_at=end)
    MenuItemFactory(
        venue=place.venue, category=CategoryFactory(venue=place.venue, menu=later), name="Late"
    )

    now_body = server_api.get("menus").json()
    assert [m["name"] for m in now_body["menus"]] == ["All day"]
    assert _item(now_body, "Late") is None

    all_body = server_api.get("menus", all="1").json()
    flags = {m["name"]: m["available_now"] for m in all_body["menus"]}
    assert flags == {"All day": True, "Later": False}
    assert _item(all_body, "Late") is not None
    later_json = next(m for m in all_body["menus"] if m["name"] == "Later")
    assert later_json["windows"][0]["starts_at"] == start.strftime("%H:%M")


def test_menu_etag_304_and_changes_after_an_86_or_a_price_change(place, server_api, manager_api):
    first = server_api.get("menus")
    etag = first["ETag"]
    assert etag and "private" in first["Cache-Control"]

    cached = server_api.get("menus", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached["ETag"] == etag
    assert cached.content == b""

    manager_api.post(f"items/{place.beer.pk}/availability", {"available": False})
    after_86 = server_api.get("menus", headers={"If-None-Match": etag})
    assert after_86.status_code == 200
    assert after_86["ETag"] != etag
    assert _item(after_86.json(), "Beer")["available"] is False

    etag = after_86["ETag"]
    menu_items_change_price(venue=place.venue, item_ids=[place.soup.pk], amount=50, actor=SETUP)
    after_price = server_api.get("menus", headers={"If-None-Match": etag})
    assert after_price.status_code == 200 and after_price["ETag"] != etag
    assert _item(after_price.json(), "Soup")["price"] == 800

    etag = after_price["ETag"]
    Modifier.objects.filter(pk=place.fries.pk).update(is_available=False)
    assert server_api.get("menus", headers={"If-None-Match": etag}).status_code == 200


def test_86_and_un_86_an_item(place, manager_api):
    response = manager_api.post(f"items/{place.beer.pk}/availability", {"available": False})
    assert response.status_code == 200
    assert response.json()["item"] == {"id": place.beer.pk, "available": False, "stock_count": None}
    assert not MenuItem.objects.get(pk=place.beer.pk).is_available
    back = manager_api.post(f"items/{place.beer.pk}/availability", {"available": True})
    assert back.json()["item"]["available"] is True
    assert MenuItem.objects.get(pk=place.beer.pk).is_available


def test_86_a_modifier(place, manager_api):
    response = manager_api.post(f"modifiers/{place.fries.pk}/availability", {"available": False})
    assert response.status_code == 200
    assert response.json()["modifier"] == {"id": place.fries.pk, "available": False}
    assert not Modifier.objects.get(pk=place.fries.pk).is_available
