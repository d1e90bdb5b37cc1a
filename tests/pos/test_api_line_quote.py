"""The modifier dialog's price comes from the server: POST items/{id}/quote prices a line as
adding it will (free units, nested choices), while the choices are still being made."""

import pytest

from tests.pos.conftest import open_table, state

pytestmark = pytest.mark.django_db


def quote(api, item, **body):
    return api.post(f"items/{item.pk}/quote", body)


def test_a_partial_choice_is_priced_and_says_what_is_missing(place, server_api):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    response = quote(server_api, place.steak, modifiers=[{"modifier": place.fries.pk}])
    assert response.status_code == 200, response.content
    body = response.json()
    # Sides give one free: fries are free; doneness (choose 1) is still missing.
    assert (body["unit_total"], body["total"], body["complete"]) == (2450, 2450, False)
    assert body["problem"]["code"] == "modifier_min"
    assert body["problem"]["field"] == "modifiers.doneness"
    assert body["modifiers"][0]["free_quantity"] == 1
    assert state(check["id"]) == before


def test_the_quote_is_what_the_line_then_costs(place, server_api):
    check = open_table(server_api, place.table1)
    choices = [
        {"modifier": place.rare.pk},
        {"modifier": place.fries.pk},
        {"modifier": place.salad.pk, "choices": [{"modifier": place.vinaigrette.pk}]},
    ]
    quoted = quote(server_api, place.steak, quantity=3, modifiers=choices).json()
    assert quoted["complete"] and quoted["problem"] is None
    # The most expensive side (fries, 3.50) is the free one; salad's 3.00 is charged.
    assert quoted["unit_total"] == 2450 + 300
    assert quoted["total"] == 3 * (2450 + 300)
    added = server_api.post(
        f"checks/{check['id']}/lines", {"item": place.steak.pk, "quantity": 3, "modifiers": choices}
    ).json()["line"]
    assert (added["unit_total"], added["total"]) == (quoted["unit_total"], quoted["total"])


def test_a_choice_no_line_could_have_is_refused_like_adding_it(place, server_api):
    response = quote(
        server_api,
        place.steak,
        modifiers=[{"modifier": place.rare.pk}, {"modifier": place.medium.pk}],
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "modifier_max"
    assert response.json()["error"]["field"] == "modifiers.doneness"
