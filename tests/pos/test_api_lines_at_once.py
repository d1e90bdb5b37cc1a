"""Several lines in one call: `POST /checks/{id}/lines` with `{"lines": [...]}`, all or none.

A round of drinks, or an order typed on a phone, is one request (one transaction, one new
check version, one event), and a refused line names itself (`lines.1.modifiers.doneness`)
while nothing of the others is added.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import CheckAudit, OrderLine
from restaurant.models import Event
from tests.pos.conftest import open_table, state
from tests.pos.test_api_refusals import assert_error

pytestmark = pytest.mark.django_db


def steak(place, doneness=True):
    return {
        "item": place.steak.pk,
        "seat": 2,
        "modifiers": ([{"modifier": place.medium.pk}] if doneness else [])
        + [{"modifier": place.fries.pk}],
    }


def test_a_round_is_added_in_one_call_with_one_new_version(place, server_api):
    check = open_table(server_api, place.table1, guests=3)
    events_before = Event.objects.count()
    response = server_api.post(
        f"checks/{check['id']}/lines",
        {
            "lines": [
                {"item": place.beer.pk, "quantity": 2, "seat": 1},
                steak(place),
                {"item": place.soup.pk, "note": "no croutons", "course": 1},
            ],
            "version": check["version"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [line["name"] for line in body["lines"]] == ["Beer", "Steak", "Soup"]
    assert body["lines"][0]["quantity"] == 2 and body["lines"][2]["note"] == "no croutons"
    assert [m["name"] for m in body["lines"][1]["modifiers"]] == ["Medium", "Fries"]
    assert body["check"]["version"] == check["version"] + 1
    assert {line["changed_version"] for line in body["lines"]} == {check["version"] + 1}
    assert body["check"]["totals"]["total"] == 2 * 450 + 2450 + 750  # one side is free
    assert Event.objects.count() == events_before + 1  # one check.changed
    assert CheckAudit.objects.filter(tab_id=check["id"], action="line.add").count() == 3


def test_a_refused_line_names_itself_and_nothing_is_added(place, server_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    before = state(check["id"])
    no_doneness = server_api.post(
        url, {"lines": [{"item": place.beer.pk}, steak(place, doneness=False)]}
    )
    assert_error(no_doneness, 400, "modifier_min", "lines.1.modifiers.doneness")
    not_ours = server_api.post(url, {"lines": [{"item": place.beer.pk}, {"item": 999999}]})
    assert_error(not_ours, 404, "unknown_item", "lines.1.item")
    bad_type = server_api.post(url, {"lines": [{"item": place.beer.pk, "quantity": "2"}]})
    assert_error(bad_type, 400, "invalid_type", "lines.0.quantity")
    unknown = server_api.post(url, {"lines": [{"item": place.beer.pk, "colour": "red"}]})
    assert_error(unknown, 400, "unknown_field", "lines.0.colour")
    not_object = server_api.post(url, {"lines": [7]})
    assert_error(not_object, 400, "invalid_type", "lines.0")
    both = server_api.post(url, {"item": place.beer.pk, "lines": [{"item": place.beer.pk}]})
    assert_error(both, 400, "unknown_field", "item")
    empty = server_api.post(url, {"lines": []})
    assert_error(empty, 400, "invalid", "lines")
    too_many = server_api.post(url, {"lines": [{"item": place.beer.pk}] * 101})
    assert_error(too_many, 400, "invalid", "lines")
    assert state(check["id"]) == before


def test_counted_stock_is_checked_over_the_whole_call(place, server_api):
    place.beer.stock_count = 3
    place.beer.save()
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    response = server_api.post(
        f"checks/{check['id']}/lines",
        {"lines": [{"item": place.beer.pk, "quantity": 2}, {"item": place.beer.pk, "quantity": 2}]},
    )
    assert_error(response, 409, "insufficient_stock", "lines.1.quantity")
    assert state(check["id"]) == before
    assert not OrderLine.objects.filter(tab_id=check["id"]).exists()


def test_five_lines_at_once_cost_fewer_queries_than_five_calls(place, server_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    lines = [{"item": place.beer.pk}, steak(place), {"item": place.soup.pk}] + [
        {"item": place.beer.pk, "seat": 2}
    ] * 2
    with CaptureQueriesContext(connection) as at_once:
        assert server_api.post(url, {"lines": lines}).status_code == 201
    with CaptureQueriesContext(connection) as one_by_one:
        for line in lines:
            assert server_api.post(url, line).status_code == 201
    assert len(at_once.captured_queries) <= 32
    assert len(at_once.captured_queries) * 3 < len(one_by_one.captured_queries)
