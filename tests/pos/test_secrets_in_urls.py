"""Secrets never travel in a URL (issue 19, point 5): every API route refuses a PIN, token or
code in its query string with 400 `secret_in_url`, before it authenticates or changes
anything, and Django's loggers never see the value. (The real server's access log is checked
in tests/e2e/test_no_secrets_in_logs.py.)"""

import logging
import re

import pytest

from orders.models import Adjustment, CheckAudit
from pos.api import urls as api_urls
from pos.api.core import unknown_endpoint
from restaurant.logs import redact_url
from tests.pos.conftest import add_line, open_table, state

pytestmark = pytest.mark.django_db


def test_every_route_refuses_a_secret_in_its_query_string(place, manager_api, caplog):
    check = open_table(manager_api, place.table1)
    add_line(manager_api, check, place.beer)
    comp = manager_api.post(
        f"checks/{check['id']}/adjustments", {"kind": "discount", "amount": 50, "reason": "x"}
    ).json()["adjustment"]
    before = state(check["id"])
    ids = {
        "check_id": check["id"],
        "line_id": 1,
        "adjustment_id": comp["id"],
        "item_id": place.beer.pk,
        "modifier_id": place.rare.pk,
    }
    caplog.set_level(logging.DEBUG)
    tried = 0
    for pattern in api_urls.urlpatterns:
        if pattern.callback is unknown_endpoint:
            continue
        path = str(pattern.pattern)
        for name, value in ids.items():
            path = path.replace(f"<api_id:{name}>", str(value))
        path = path.replace("<api_id:part_id>", "1").replace("<api_id:payment_id>", "1")
        path = re.sub(r"<[^>]+>", "1", path)  # every other id (and a station's slug)
        for method in pattern.callback.api_methods:
            for secret in ("approver_pin=2222", "pin=2222", "token=s3cr3t-t0ken", "Code=ABCDEF"):
                url = f"/api/v1/{path}?reason=x&{secret}"
                headers = {"Authorization": f"Bearer {manager_api.token}"}
                if method == "GET":
                    response = manager_api.client.get(url, headers=headers)
                else:
                    response = getattr(manager_api.client, method.lower())(
                        url, "{}", content_type="application/json", headers=headers
                    )
                assert response.status_code == 400, (method, url, response.content)
                assert response.json()["error"]["code"] == "secret_in_url"
                tried += 1
    assert tried > 100
    assert state(check["id"]) == before
    assert Adjustment.objects.get().removed_at is None
    for leaked in ("2222", "s3cr3t-t0ken", "ABCDEF"):
        assert leaked not in caplog.text


def test_the_approval_pin_in_the_body_still_works_for_a_delete(place, server_api):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.beer)
    comp = server_api.post(
        f"checks/{check['id']}/adjustments",
        {"kind": "comp", "reason": "cold", "approver_pin": "2222"},
    ).json()["adjustment"]
    response = server_api.delete(
        f"checks/{check['id']}/adjustments/{comp['id']}",
        {"reason": "wrong table", "approver_pin": "2222"},
    )
    assert response.status_code == 200, response.content
    assert Adjustment.objects.get().removed_at is not None
    audit = CheckAudit.objects.filter(tab_id=check["id"]).order_by("pk").last()
    assert audit.approved_by == place.manager


def test_access_log_urls_are_redacted():
    assert (
        redact_url("/api/v1/checks/1/adjustments/2?reason=x&approver_pin=1234&version=3")
        == "/api/v1/checks/1/adjustments/2?reason=x&approver_pin=[redacted]&version=3"
    )
    assert redact_url("/kds/?CODE=ABC&Token=t&a%70i_key=k") == (
        "/kds/?CODE=[redacted]&Token=[redacted]&a%70i_key=[redacted]"
    )
    assert redact_url("/healthz") == "/healthz"
