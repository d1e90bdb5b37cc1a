"""Query budgets of the order path: what one tap costs the database, whatever the check's size.

A server's taps (open a check, add a line, send) run a fixed number of queries: the same for
the second line of a check as for its fiftieth, the same for a line with nested modifiers as
for a beer (within the modifiers' own few rows). A budget here that starts failing means a
change added queries to every tap of every tablet; look at what it added before raising it.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.pos.conftest import add_line, open_table

# Each budget counts every statement (BEGIN, SAVEPOINT and COMMIT included).
OPEN_BUDGET = 18
LINE_BUDGET = 22
LINE_WITH_MODIFIERS_BUDGET = 26
SEND_BUDGET = 29
READ_CHECK_BUDGET = 8


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries.captured_queries)


def _post(api, path, body):
    response = api.post(path, body, key=uuid.uuid4().hex)
    assert response.status_code < 300, response.content
    return response.json()


def _steak(place):
    return {
        "item": place.steak.pk,
        "seat": 1,
        "modifiers": [
            {"modifier": place.medium.pk},
            {"modifier": place.fries.pk},
            {"modifier": place.salad.pk, "choices": [{"modifier": place.vinaigrette.pk}]},
        ],
    }


@pytest.mark.parametrize("lines_before", [1, 40])
def test_a_tap_costs_the_same_queries_on_a_small_and_a_large_check(place, server_api, lines_before):
    check = open_table(server_api, place.table1)
    for _ in range(lines_before):
        add_line(server_api, check, place.beer)
    path = f"checks/{check['id']}"

    line = _count(lambda: _post(server_api, f"{path}/lines", {"item": place.beer.pk}))
    steak = _count(lambda: _post(server_api, f"{path}/lines", _steak(place)))
    send = _count(lambda: _post(server_api, f"{path}/send", {}))
    read = _count(lambda: server_api.get(path))
    opened = _count(
        lambda: _post(
            server_api, "checks", {"kind": "table", "table": place.table2.pk, "guest_count": 2}
        )
    )
    assert opened <= OPEN_BUDGET
    assert line <= LINE_BUDGET
    assert steak <= LINE_WITH_MODIFIERS_BUDGET
    assert send <= SEND_BUDGET
    assert read <= READ_CHECK_BUDGET
