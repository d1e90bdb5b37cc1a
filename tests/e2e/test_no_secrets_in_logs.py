"""No PIN, token or secret reaches a log line (issue 19, point 5).

The real product (`manage.py serve`: daphne's access log and Django's loggers, the print
worker, the Stripe emulator, all in one log) serves a night's worth of secret-carrying calls:
pairing, PIN sign-ins right and wrong, approval PINs for a void, a comp and its removal (in
the body and in the X-Approver-PIN header), and a misbehaving client that puts PINs and
tokens in the query string (refused with 400 `secret_in_url`, and redacted in the access log).
Then the whole log is searched for every secret used.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import manage, prepare_data_dir, start_server

# PINs nobody else uses, so a match in the log can only be a leak. The demo's own PINs are
# printed in the serve banner on purpose (the demo's login sheet): these replace them first.
SERVER_PIN, MANAGER_PIN = "730518", "864209"
WRONG_PINS = ["415926", "271828", "161803"]


def call(server, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, {}  # a page


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("brigade-logs")
    login = prepare_data_dir(data_dir)
    setup = manage(
        data_dir,
        "shell",
        "-c",
        "from restaurant.models import StaffMember, Venue;"
        "from restaurant.permissions import SystemActor;"
        "from restaurant.services import device_create, staff_set_pin;"
        "venue = Venue.objects.get(); setup = SystemActor('e2e setup');"
        "staff_set_pin(staff=StaffMember.objects.get(display_name='Daan'),"
        f" pin={SERVER_PIN!r}, actor=setup);"
        "staff_set_pin(staff=StaffMember.objects.get(display_name='Sanne'),"
        f" pin={MANAGER_PIN!r}, actor=setup);"
        "print('CODE', device_create(venue=venue, name='Log tablet', actor=setup).pairing_code)",
    )
    code = re.search(r"CODE (\w+)", setup.stdout).group(1)
    server = start_server(data_dir, login)
    try:
        yield server, code
    finally:
        server.stop()


def test_no_pin_token_or_secret_reaches_the_log(night):
    server, code = night
    status, paired = call(server, "POST", "/api/v1/auth/pair", {"code": code})
    assert status == 200, paired
    device_token = paired["token"]
    device = {"Authorization": f"Device {device_token}"}

    for wrong in WRONG_PINS[:2]:
        status, body = call(server, "POST", "/api/v1/auth/pin", {"pin": wrong}, device)
        assert (status, body["error"]["code"]) == (403, "wrong_pin")
    status, signed_in = call(server, "POST", "/api/v1/auth/pin", {"pin": SERVER_PIN}, device)
    assert status == 200, signed_in
    staff_token = signed_in["token"]
    staff = {"Authorization": f"Bearer {staff_token}"}

    status, floor = call(server, "GET", "/api/v1/floor", headers=staff)
    table = floor["areas"][0]["tables"][0]["id"]
    status, opened = call(
        server, "POST", "/api/v1/checks", {"kind": "table", "table": table, "guest_count": 2}, staff
    )
    assert status == 201, opened
    check = opened["check"]["id"]
    status, menus = call(server, "GET", "/api/v1/menus", headers=staff)
    item = menus["menus"][0]["categories"][0]["items"][0]["id"]
    status, added = call(server, "POST", f"/api/v1/checks/{check}/lines", {"item": item}, staff)
    assert status == 201, added
    line = added["line"]["id"]
    assert call(server, "POST", f"/api/v1/checks/{check}/send", {}, staff)[0] == 200

    # A wrong approval PIN, then the manager's, in the body.
    void = f"/api/v1/checks/{check}/lines/{line}/void"
    status, body = call(
        server, "POST", void, {"reason": "spilled", "approver_pin": WRONG_PINS[2]}, staff
    )
    assert (status, body["error"]["code"]) == (403, "bad_approval_pin")
    status, body = call(
        server, "POST", void, {"reason": "spilled", "approver_pin": MANAGER_PIN}, staff
    )
    assert status == 200, body

    # A comp approved in the body, removed with the PIN in the X-Approver-PIN header.
    call(server, "POST", f"/api/v1/checks/{check}/lines", {"item": item}, staff)
    status, comp = call(
        server,
        "POST",
        f"/api/v1/checks/{check}/adjustments",
        {"kind": "discount", "amount": 100, "reason": "regulars", "approver_pin": MANAGER_PIN},
        staff,
    )
    assert status == 201, comp
    removal = f"/api/v1/checks/{check}/adjustments/{comp['adjustment']['id']}"

    # A misbehaving client: the PIN (and tokens) in the query string are refused with 400.
    for query in (
        f"?reason=oops&approver_pin={MANAGER_PIN}",
        f"?APPROVER_PIN={MANAGER_PIN}",
        f"?token={staff_token}",
        f"?pin={SERVER_PIN}",
    ):
        status, body = call(server, "DELETE", removal + query, {}, staff)
        assert (status, body["error"]["code"]) == (400, "secret_in_url"), body
    status, body = call(
        server, "DELETE", removal, {"reason": "oops"}, {**staff, "X-Approver-PIN": MANAGER_PIN}
    )
    assert status == 200, body

    # The same tokens in the query of other pages (the access log still sees those URLs).
    call(server, "GET", f"/kds/?code={code}&token={device_token}")
    call(server, "GET", f"/api/v1/me?pin={SERVER_PIN}", headers=staff)

    server.stop()
    log = server.log()
    assert "/api/v1/checks/" in log  # the access log is in there
    assert "[redacted]" in log
    secret_key = (server.data_dir / "secret_key").read_text().strip()
    secrets = {
        "server PIN": SERVER_PIN,
        "manager PIN": MANAGER_PIN,
        **{f"wrong PIN {n}": pin for n, pin in enumerate(WRONG_PINS)},
        "device token": device_token,
        "staff token": staff_token,
        "pairing code": code,
        "SECRET_KEY": secret_key,
        "Stripe secret key": "sk_test_brigade_emulator",
        "Stripe webhook secret": "whsec_brigade_emulator",
    }
    leaks = {name: value for name, value in secrets.items() if value in log}
    lines = [line for line in log.splitlines() if any(v in line for v in leaks.values())]
    assert not leaks, f"secrets in the log: {sorted(leaks)}\n" + "\n".join(lines[:20])
