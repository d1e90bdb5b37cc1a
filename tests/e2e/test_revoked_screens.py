"""A screen revoked in the back office while it is open goes back to pairing, at once.

The server closes the revoked device's websockets with 4403 as soon as the revocation
commits (restaurant.services.device_revoke); the client (static/js/feed.js) takes that code
as final: it opens no new socket and the page shows its pairing screen, without waiting for
the next order or HTTP call to find out. The revocation is done the way a manager does it, in
the back office (Devices, action "Revoke"), in the server's own process.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.e2e.conftest import manage
from tests.e2e.test_pos_tablet import DAAN, MANAGER, expect, sign_in

pytestmark = pytest.mark.browser


def make_screen(server) -> dict:
    """A paired kitchen screen for the grill, made in the server's database."""
    name = f"Grill screen {uuid.uuid4().hex[:6]}"
    code = (
        "import json; from restaurant.models import Station, Venue;"
        " from restaurant.services import device_create, device_pair;"
        " from restaurant.permissions import SystemActor;"
        " venue = Venue.objects.get(slug='de-brigade');"
        " grill = Station.objects.get(venue=venue, slug='grill');"
        " from restaurant.permissions import SystemActor;"
        f" device = device_create(venue=venue, name={name!r}, kind='kds', station=grill,"
        " actor=SystemActor('e2e setup'));"
        " print(json.dumps({'id': device.pk, 'token': device_pair(code=device.pairing_code)[1]}))"
    )
    result = manage(server.data_dir, "shell", "-c", code)
    return {"name": name, **json.loads(result.stdout.strip().splitlines()[-1])}


def revoke_in_back_office(browser, server, device_name: str) -> None:
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(server.url + "/admin/login/?next=/admin/restaurant/device/")
        page.fill("#id_username", server.username)
        page.fill("#id_password", server.password)
        page.click("input[type=submit]")
        row = page.locator("#result_list tbody tr", has_text=device_name)
        row.locator("input[name=_selected_action]").check()
        page.select_option("select[name=action]", "revoke")
        page.locator("button[name=index]").click()
        expect(page.locator(".messagelist")).to_contain_text("Revoked")
    finally:
        context.close()


def watch_sockets(page) -> list[str]:
    """The URLs of every websocket the page opens (across reloads)."""
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    return opened


def test_a_kitchen_screen_revoked_while_open_shows_pairing_and_stops_reconnecting(
    brigade_server, chromium_browser
):
    screen = make_screen(brigade_server)
    context = chromium_browser.new_context(locale="en-GB")
    context.add_cookies(
        [{"name": "brigade_device", "value": screen["token"], "url": brigade_server.url}]
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sockets = watch_sockets(page)
        page.goto(brigade_server.url + "/kds/grill/")
        page.wait_for_selector("#conn[data-state=live]")
        assert len(sockets) == 1

        revoke_in_back_office(chromium_browser, brigade_server, screen["name"])
        # Nothing else happens in the venue: the closed socket alone sends the screen back.
        expect(page.locator("#pair-title")).to_have_text("Pair this screen", timeout=10_000)
        page.wait_for_timeout(1500)  # a reconnect would have been tried by now (0.3 s, 1 s)
        assert sockets == [brigade_server.ws_url + "/ws/kds/grill/"]
        assert errors == []
    finally:
        context.close()


def test_a_tablet_revoked_while_open_shows_pairing_and_stops_reconnecting(
    brigade_server, chromium_browser
):
    name = f"Bar tablet {uuid.uuid4().hex[:6]}"
    context = chromium_browser.new_context(
        viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-GB"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(brigade_server.url + "/pos/pair/")
        page.fill("input[name=username]", MANAGER[0])
        page.fill("input[name=password]", MANAGER[1])
        page.fill("input[name=device_name]", name)
        page.locator("button[type=submit]").tap()
        page.wait_for_url(brigade_server.url + "/pos/")
        sockets = watch_sockets(page)
        sign_in(page, DAAN)
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        opened = len(sockets)
        assert opened >= 1 and all(re.search(r"/ws/pos/$", url) for url in sockets)

        revoke_in_back_office(chromium_browser, brigade_server, name)
        expect(page.locator("#pair-title")).to_have_text("Pair this tablet", timeout=10_000)
        page.wait_for_timeout(1500)
        assert len(sockets) == opened  # no socket was opened again
        assert errors == []
    finally:
        context.close()
