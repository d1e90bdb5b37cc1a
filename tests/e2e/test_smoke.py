"""Smoke test of the real product: `manage.py serve` (daphne under the demo supervisor).

The browser test logs in to the back office, checks the admin is styled (static files served
by whitenoise under daphne with DEBUG off) and the websocket stack answers, and saves
docs/screenshots/admin-dashboard.png. The other tests check the supervisor itself.
"""

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import SCREENSHOT_DIR, demo_owner, http_get, start_server

SCREENSHOT = SCREENSHOT_DIR / "admin-dashboard.png"


def test_banner_lists_the_urls_and_the_demo_logins(brigade_server):
    log = brigade_server.log()
    assert re.search(rf"Back office +{re.escape(brigade_server.url)}/admin/\n", log)
    assert re.search(rf"Health check +{re.escape(brigade_server.url)}/healthz\n", log)
    owner = demo_owner()
    if owner:
        assert owner["name"] in log
        assert f"{owner['username']} / {owner['password']}" in log


def test_static_files_are_served_with_debug_off(brigade_server):
    status, headers, body = http_get(brigade_server.url + "/static/admin/css/base.css")
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert b"#header" in body
    # DEBUG is off: a missing page is a plain 404, not Django's technical page.
    status, _, body = http_get(brigade_server.url + "/no-such-page/")
    assert status == 404
    assert b"URLconf" not in body


@pytest.mark.browser
def test_owner_logs_in_to_a_styled_back_office(brigade_server, tablet_page):
    page = tablet_page
    stylesheets = []
    page.on(
        "response",
        lambda r: (
            stylesheets.append((r.url, r.status))
            if r.request.resource_type == "stylesheet"
            else None
        ),
    )

    page.goto(brigade_server.url + "/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", brigade_server.username)
    page.fill("#id_password", brigade_server.password)
    page.click("input[type=submit]")
    page.wait_for_url(brigade_server.url + "/admin/")

    assert page.locator("#site-name").inner_text() == "Brigade"
    assert page.locator("#content h1").inner_text() == "Back office"
    assert page.locator("#user-tools").is_visible()
    # The back office user can actually run the venue: the dashboard lists admin modules.
    assert page.locator("#content-main .module").count() > 0, (
        f"{brigade_server.username} sees no back office modules: "
        + page.locator("#content-main").inner_text()
    )
    assert stylesheets, "the admin loaded no stylesheets"
    assert all(status == 200 for _, status in stylesheets), stylesheets
    # The admin's CSS applied: an unstyled div has a transparent background.
    header_background = page.eval_on_selector(
        "#header", "el => getComputedStyle(el).backgroundColor"
    )
    assert header_background not in {"rgba(0, 0, 0, 0)", "transparent"}

    # Websockets go through daphne, the origin check and the Channels router.
    reply = page.evaluate(
        """url => new Promise((resolve, reject) => {
            const ws = new WebSocket(url);
            const timer = setTimeout(() => reject(new Error("no pong")), 5000);
            ws.onopen = () => ws.send(JSON.stringify({type: "ping", id: 7}));
            ws.onmessage = event => {
                clearTimeout(timer);
                ws.close();
                resolve(JSON.parse(event.data));
            };
            ws.onerror = () => reject(new Error("websocket error"));
        })""",
        brigade_server.ws_url + "/ws/ping/",
    )
    assert reply == {"type": "pong", "id": 7}

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True


def _port_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_every_child_on_a_signal(brigade_data_dir, sig):
    server = start_server(*brigade_data_dir)
    children = server.children()
    assert children, "serve started no child processes"

    assert server.stop(sig) == 0, server.log()
    assert all(_gone(pid) for pid in children)
    assert _port_closed(server.url)
    assert "serve: stopped" in server.log()


def test_serve_exits_non_zero_when_a_child_dies(brigade_data_dir):
    server = start_server(*brigade_data_dir)
    try:
        children = server.children()
        web = children[0]
        os.kill(web, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while server.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.process.returncode == 1, server.log()
        assert "web exited with code -9" in server.log()
        assert all(_gone(pid) for pid in children)
    finally:
        server.stop()
