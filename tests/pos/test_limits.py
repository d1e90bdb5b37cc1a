"""Smaller holes (issue 19, point 8): reasons and names over their limit are refused (never cut
silently), the check version is checked on send, fire and prebill, lists are bounded, pairing
is throttled per address on /kds/ too, and every answer carries a Content-Security-Policy.
Each refusal changes nothing."""

import pytest
from django.test import Client

from orders.models import Check, CheckAudit, OrderLine
from payments.models import Drawer, DrawerMovement
from payments.services import drawer_open
from restaurant.middleware import CONTENT_SECURITY_POLICY
from restaurant.models import Device
from restaurant.services import device_create
from tests.actors import SETUP
from tests.pos.conftest import Api, add_line, open_table, state

pytestmark = pytest.mark.django_db

LONG = "x" * 201
MEGABYTE = "y" * 1_000_000


def assert_error(response, status, code, field):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    return error


def test_reasons_over_the_limit_are_refused_not_cut(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    base = f"checks/{check['id']}"
    before = state(check["id"])
    for reason in (LONG, MEGABYTE):
        error = assert_error(
            server_api.post(f"{base}/lines/{line['id']}/void", {"reason": reason}),
            400,
            "too_long",
            "reason",
        )
        assert "200" in error["message"]
        assert_error(
            manager_api.post(f"{base}/adjustments", {"kind": "comp", "reason": reason}),
            400,
            "too_long",
            "reason",
        )
    assert state(check["id"]) == before
    # Exactly 200 characters is kept whole.
    ok = server_api.post(f"{base}/lines/{line['id']}/void", {"reason": "z" * 200})
    assert ok.status_code == 200, ok.content
    assert OrderLine.objects.get(pk=line["id"]).void_reason == "z" * 200


def test_a_tab_name_or_drawer_reason_over_the_limit_is_refused(place, server_api, manager_api):
    before = Check.objects.count()
    assert_error(
        server_api.post("checks", {"kind": "bar_tab", "tab_name": "n" * 81}),
        400,
        "too_long",
        "tab_name",
    )
    assert Check.objects.count() == before
    drawer = Drawer.objects.create(venue=place.venue, name="Till")
    session = drawer_open(drawer=drawer, actor=place.manager, opening_float=1000)
    assert_error(
        manager_api.post(
            f"drawer-sessions/{session.pk}/movements",
            {"kind": "pay_in", "amount": 100, "reason": LONG},
        ),
        400,
        "too_long",
        "reason",
    )
    assert_error(
        manager_api.post(
            f"drawer-sessions/{session.pk}/close", {"counted": 1000, "note": MEGABYTE}
        ),
        400,
        "too_long",
        "note",
    )
    assert not DrawerMovement.objects.exists()
    session.refresh_from_db()
    assert session.status == "open"


@pytest.mark.parametrize("action", ["send", "fire", "prebill"])
@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        (-(10**12), 400, "invalid"),
        (0, 400, "invalid"),
        (99, 409, "bad_version"),
        ("3", 400, "invalid_type"),
    ],
)
def test_send_fire_and_prebill_check_the_version(place, server_api, action, version, status, code):
    check = open_table(server_api, place.table1)
    added = add_line(server_api, check, place.steak, modifiers=[{"modifier": place.rare.pk}])
    before = state(check["id"])
    body = {"version": version, **({"course": 2} if action == "fire" else {})}
    assert_error(server_api.post(f"checks/{check['id']}/{action}", body), status, code, "version")
    assert state(check["id"]) == before
    # The version the tablet saw is accepted.
    body["version"] = added["check"]["version"]
    assert server_api.post(f"checks/{check['id']}/{action}", body).status_code == 200


def test_id_lists_are_bounded(place, server_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    before = state(check["id"])
    url = f"checks/{check['id']}/send"
    assert_error(
        server_api.post(url, {"rush_ids": list(range(1, 100_001))}), 400, "too_many", "rush_ids"
    )
    assert_error(
        server_api.post(url, {"line_ids": [line["id"]] * 501}), 400, "too_many", "line_ids"
    )
    assert state(check["id"]) == before


def test_kds_pairing_is_throttled_per_address_with_the_tablets(place):
    client = Client()
    for _attempt in range(3):
        assert client.post("/kds/", {"code": "AAAAAA"}).status_code == 400
    for _attempt in range(2):
        assert Api(client).post("auth/pair", {"code": "BBBBBB"}).status_code == 403
    screen = device_create(
        venue=place.venue,
        name="Grill screen",
        kind=Device.Kind.KITCHEN_SCREEN,
        station=place.grill,
        actor=SETUP,
    )
    blocked = client.post("/kds/", {"code": screen.pairing_code})
    assert blocked.status_code == 429
    assert b"Too many failed attempts" in blocked.content
    screen.refresh_from_db()
    assert screen.pairing_code and not screen.token_digest  # still unpaired
    # Another address is not held back.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/kds/", {"code": screen.pairing_code}).status_code == 302


def test_every_page_and_answer_sends_the_content_security_policy(place, server_api):
    client = Client()
    for path in ("/pos/", "/kds/", "/admin/login/", "/api/v1/openapi.json", "/healthz"):
        response = client.get(path)
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    assert server_api.get("floor")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert CheckAudit.objects.count() == 0
