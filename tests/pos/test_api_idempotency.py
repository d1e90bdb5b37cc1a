"""A retried tap (same Idempotency-Key) is applied once."""

import pytest

from orders.models import OrderLine
from pos.models import IdempotencyKey
from tests.pos.conftest import open_table, state

pytestmark = pytest.mark.django_db


def test_the_same_write_twice_is_applied_once(place, server_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    body = {"item": place.beer.pk, "quantity": 2}

    first = server_api.post(url, body, key="tap-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    retry = server_api.post(url, body, key="tap-1")
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert OrderLine.objects.count() == 1

    # A new tap (a new key) adds another line.
    assert server_api.post(url, body, key="tap-2").status_code == 201
    assert OrderLine.objects.count() == 2


def test_a_key_reused_for_another_request_is_refused(place, server_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    assert server_api.post(url, {"item": place.beer.pk}, key="tap-1").status_code == 201
    before = state(check["id"])
    response = server_api.post(url, {"item": place.soup.pk}, key="tap-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert state(check["id"]) == before


def test_a_failed_request_stores_nothing_and_can_be_retried(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    manager_api.post(f"items/{place.beer.pk}/availability", {"available": False})
    keys = IdempotencyKey.objects.count()

    refused = server_api.post(url, {"item": place.beer.pk}, key="tap-1")
    assert refused.status_code == 409
    assert IdempotencyKey.objects.count() == keys

    manager_api.post(f"items/{place.beer.pk}/availability", {"available": True})
    retried = server_api.post(url, {"item": place.beer.pk}, key="tap-1")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert OrderLine.objects.count() == 1


def test_replayed_send_does_not_send_twice(place, server_api):
    check = open_table(server_api, place.table1)
    server_api.post(f"checks/{check['id']}/lines", {"item": place.beer.pk})
    first = server_api.post(f"checks/{check['id']}/send", key="send-1")
    retry = server_api.post(f"checks/{check['id']}/send", key="send-1")
    assert retry.json() == first.json()
    assert len(first.json()["tickets"]) == 1


def test_an_overlong_key_is_refused(place, server_api):
    response = server_api.post("checks", {"kind": "takeaway"}, key="k" * 101)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Idempotency-Key"
