"""The Content-Security-Policy breaks no page (issue 19, point 8): the tablet, a kitchen
screen, the back office and the simulated readers work in a real browser under it, with no
violation reported and no script error. Screenshots go to SCREENSHOT_DIR as csp-*.png."""

from __future__ import annotations

import json
import re

import pytest

from restaurant.middleware import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import SCREENSHOT_DIR, http_get, manage

pytestmark = pytest.mark.browser


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def watched_page(browser, server, cookies=()):
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-GB"
    )
    if cookies:
        context.add_cookies([{"url": server.url, **c} for c in cookies])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda msg: (
            page.problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    # Violations are also events in the page: count them there, whatever the console says.
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    return page


def no_violations(page) -> None:
    violations = page.evaluate("window.__csp || []")
    assert not violations and not page.problems, (violations, page.problems)


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOT_DIR / f"csp-{name}.png"))


def test_the_header_is_on_every_page(brigade_server):
    for path in ("/pos/", "/kds/", "/admin/login/", "/api/v1/openapi.json"):
        _status, headers, _body = http_get(brigade_server.url + path)
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path


def test_the_tablet_works_under_the_policy(brigade_server, chromium_browser):
    page = watched_page(chromium_browser, brigade_server)
    page.goto(brigade_server.url + "/pos/pair/")
    page.fill("input[name=username]", "sanne")
    page.fill("input[name=password]", "brigade-demo")
    page.fill("input[name=device_name]", "CSP tablet")
    page.locator("button[type=submit]").tap()
    page.wait_for_url(brigade_server.url + "/pos/")
    for digit in "1111":
        page.locator(f'#pin-keypad [data-key="{digit}"]').tap()
    page.locator('#pin-keypad [data-key="ok"]').tap()
    expect(page.locator("#screen-floor")).to_be_visible()
    expect(page.locator("#floor-canvas [data-table]").first).to_be_visible()
    page.wait_for_timeout(1500)
    expect(page.locator("#banner")).to_be_hidden()  # the websocket is live
    page.locator("#floor-canvas [data-table]").first.tap()
    dialog = page.locator(".guests-dialog")
    expect(page.locator(".guests-dialog, #screen-check:not([hidden])").first).to_be_visible()
    if dialog.is_visible():
        dialog.locator('[data-guests="2"]').tap()
    expect(page.locator("#screen-check")).to_be_visible()
    shot(page, "tablet-check")
    no_violations(page)


def test_a_kitchen_screen_works_under_the_policy(brigade_server, chromium_browser):
    made = manage(
        brigade_server.data_dir,
        "shell",
        "-c",
        "import json;"
        "from restaurant.models import Station;"
        "from restaurant.services import device_create, device_pair;"
        "station = Station.objects.filter(is_expo=False).order_by('sort_order').first();"
        "from restaurant.permissions import SystemActor;"
        "device = device_create(venue=station.venue, name='CSP screen', kind='kds',"
        " station=station, actor=SystemActor('e2e setup'));"
        "print(json.dumps({'slug': station.slug,"
        " 'token': device_pair(code=device.pairing_code)[1]}))",
    )
    screen = json.loads(made.stdout.strip().splitlines()[-1])
    page = watched_page(
        chromium_browser,
        brigade_server,
        cookies=[{"name": "brigade_device", "value": screen["token"]}],
    )
    page.goto(f"{brigade_server.url}/kds/{screen['slug']}/")
    expect(page.locator("body")).to_contain_text(re.compile("Live|No open tickets"))
    page.wait_for_timeout(1500)  # the socket connects and says hello
    shot(page, "kds")
    no_violations(page)


def test_the_back_office_and_the_readers_work_under_the_policy(brigade_server, chromium_browser):
    page = watched_page(chromium_browser, brigade_server)
    page.goto(brigade_server.url + "/admin/")
    page.fill("#id_username", brigade_server.username)
    page.fill("#id_password", brigade_server.password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(brigade_server.url + "/admin/restaurant/menuitem/")
    page.locator("#result_list tbody tr a").first.click()
    expect(page.locator("#menuitem_form")).to_be_visible()
    shot(page, "admin-item")
    page.goto(brigade_server.url + "/admin/restaurant/menuitem/add/")
    expect(page.locator("#menuitem_form")).to_be_visible()
    page.goto(brigade_server.url + "/payments/readers/")
    expect(page.locator("h1")).to_be_visible()
    shot(page, "readers")
    page.goto(brigade_server.url + "/kitchen/printouts/")
    expect(page.locator("body")).to_be_visible()
    no_violations(page)
