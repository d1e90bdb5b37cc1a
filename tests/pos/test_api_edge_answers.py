"""The edge answers from what the services did, never by querying around them afterwards.

A check write answers with the check as the service left it (loaded under its lock), the
comp or discount the service created, and the check a merge closed; reading them again after
the write would cost queries on every tap and could answer a state the request did not make.
"""

from __future__ import annotations

import re
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Check
from tests.pos.conftest import add_line, open_table

WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE) "orders_(adjustment|check|orderline)"', re.I)
CHECK_READ = re.compile(r'^\s*SELECT .* FROM "orders_check"', re.I | re.S)
ADJUSTMENT_BY_ID = re.compile(r'FROM "orders_adjustment" WHERE "orders_adjustment"\."id" = ', re.I)


def _after_the_write(queries) -> list[str]:
    """The statements after the request's first write to a check, its lines or comps."""
    sqls = [q["sql"] for q in queries.captured_queries]
    first = next(i for i, sql in enumerate(sqls) if WRITE.match(sql))
    return sqls[first + 1 :]


def _post(api, path, body, method="post"):
    with CaptureQueriesContext(connection) as queries:
        response = getattr(api, method)(path, body, key=uuid.uuid4().hex)
    assert response.status_code < 300, response.content
    return response.json(), _after_the_write(queries)


def test_a_comp_is_answered_from_the_service_not_read_again(place, manager_api):
    check = open_table(manager_api, place.table1)
    line = add_line(manager_api, check, place.soup)["line"]
    body, after = _post(
        manager_api,
        f"checks/{check['id']}/adjustments",
        {"kind": "discount", "line": line["id"], "percent": "12.5", "reason": "cold"},
    )
    assert not [sql for sql in after if ADJUSTMENT_BY_ID.search(sql)]
    assert not [sql for sql in after if CHECK_READ.match(sql)]
    assert body["adjustment"]["percent"] == "12.5" and body["adjustment"]["created_at"]
    (answered,) = body["check"]["lines"][0]["adjustments"]
    assert answered == body["adjustment"]
    assert body["check"]["version"] == Check.objects.get(pk=check["id"]).version


def test_a_merge_answers_the_closed_check_from_the_service(place, server_api):
    keep = open_table(server_api, place.table1)
    gone = open_table(server_api, place.table2)
    add_line(server_api, gone, place.beer)
    body, after = _post(server_api, f"checks/{keep['id']}/merge", {"other": gone["id"]})
    assert not [sql for sql in after if CHECK_READ.match(sql)]
    closed = Check.objects.get(pk=gone["id"])
    assert body["merged"] == {"id": gone["id"], "status": "merged", "version": closed.version}
    assert closed.version > gone["version"]
    assert [line["name"] for line in body["check"]["lines"]] == ["Beer"]
    assert body["check"]["guest_count"] == keep["guest_count"] + gone["guest_count"]


def test_header_and_line_changes_answer_the_check_the_service_loaded(place, server_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.beer)["line"]
    base = f"checks/{check['id']}"

    guests, after = _post(server_api, f"{base}/guests", {"guest_count": 4})
    assert not [sql for sql in after if CHECK_READ.match(sql)]
    assert guests["check"]["guest_count"] == 4

    changed, after = _post(server_api, f"{base}/lines/{line['id']}", {"quantity": 3}, "patch")
    assert not [sql for sql in after if CHECK_READ.match(sql)]
    assert changed["line"]["quantity"] == 3 and changed["check"]["lines"][0]["quantity"] == 3

    moved, after = _post(server_api, f"{base}/transfer", {"to_table": place.table2.pk})
    assert not [sql for sql in after if CHECK_READ.match(sql)]
    assert moved["check"]["table"]["id"] == place.table2.pk
    assert moved["target"] == moved["check"]
    assert moved["check"]["version"] == Check.objects.get(pk=check["id"]).version
