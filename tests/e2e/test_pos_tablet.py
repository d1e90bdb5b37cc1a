"""The front-of-house tablet at /pos/, in a real browser against the real product.

Each tablet is its own browser context (its own device cookie and session), paired through
/pos/pair/ by Sanne (manager) or with a pairing code, at 1024x768 with touch. The server is
`manage.py serve` with the demo venue (tests/e2e/conftest.py), so two tablets see each other
through the real websocket. Screenshots of the main screens go to SCREENSHOT_DIR as pos-*.png
(`SCREENSHOT_DIR=docs/screenshots make test` refreshes the ones in the docs).
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import SCREENSHOT_DIR, manage

pytestmark = pytest.mark.browser

MANAGER = ("sanne", "brigade-demo")
DAAN, LOTTE, SANNE = "1111", "2222", "1234"
LIVE_TIMEOUT = 2500  # ms: another tablet's change shows within a second or two


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def new_tablet(browser, server, *, pair: bool = True):
    """A fresh tablet (browser context), paired by the manager through /pos/pair/."""
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    if pair:
        page.goto(server.url + "/pos/pair/")
        page.fill("input[name=username]", MANAGER[0])
        page.fill("input[name=password]", MANAGER[1])
        page.fill("input[name=device_name]", "Test tablet")
        page.locator("button[type=submit]").tap()
        page.wait_for_url(server.url + "/pos/")
        expect(page.locator("#screen-pin")).to_be_visible()
    return page


def sign_in(page, pin: str) -> None:
    for digit in pin:
        page.locator(f'#pin-keypad [data-key="{digit}"]').tap()
    page.locator('#pin-keypad [data-key="ok"]').tap()
    expect(page.locator("#screen-floor")).to_be_visible()


def table(page, name: str):
    return page.locator(f'#floor-canvas [data-table]:has(.t-name:text-is("{name}"))')


def open_table(page, name: str, guests: int) -> None:
    """Tap a table on the floor: a free one asks for guests first; an occupied one opens."""
    table(page, name).tap()
    dialog = page.locator(".guests-dialog")
    check = page.locator("#screen-check")
    expect(page.locator(".guests-dialog, #screen-check:not([hidden])").first).to_be_visible()
    if dialog.is_visible():
        dialog.locator(f'[data-guests="{guests}"]').tap()
    expect(check).to_be_visible()
    expect(page.locator("#check-head")).to_contain_text(f"Table {name}")


def line(page, text: str):
    return page.locator("#lines .line", has_text=text)


def search_and_tap(page, query: str, plu: str) -> None:
    page.fill("#item-search", query)
    page.locator(f'#items [data-plu="{plu}"]').tap()


def check_via_api(page) -> dict:
    """The check on screen as the server has it (GET /api/v1/checks/{id})."""
    check_id = int(re.search(r"#check-(\d+)", page.url).group(1))
    return page.evaluate(
        "id => fetch(`/api/v1/checks/${id}`, {credentials: 'same-origin'}).then(r => r.json())",
        check_id,
    )


def shot(page, name: str, *, clear_toasts: bool = True) -> None:
    if clear_toasts:
        page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
    path = SCREENSHOT_DIR / f"pos-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def mark_ready(server, *, table: str, name: str) -> None:
    """What the kitchen screen will do when a dish is bumped, done from another process."""
    manage(
        server.data_dir,
        "shell",
        "-c",
        "from orders.models import OrderLine;"
        "from orders.services import lines_mark_ready;"
        f"rows = OrderLine.objects.filter(tab__table__name={table!r}, tab__status='open', "
        f"name={name!r});"
        "ids = list(rows.values_list('pk', flat=True));"
        "assert ids;"
        "lines_mark_ready(line_ids=ids)",
    )


def test_unpaired_browser_pairs_with_a_code(brigade_server, chromium_browser):
    page = new_tablet(chromium_browser, brigade_server, pair=False)
    page.goto(brigade_server.url + "/pos/pair/")
    page.fill("input[name=username]", MANAGER[0])
    page.fill("input[name=password]", "not-the-password")
    page.locator("button[type=submit]").tap()
    expect(page.locator(".form-error")).to_contain_text("Wrong username or password")
    assert not any(c["name"] == "brigade_device" for c in page.context.cookies())

    page.goto(brigade_server.url + "/pos/")
    expect(page.locator("h1")).to_have_text("Pair this tablet")

    page.fill("input[name=code]", "WRONG1")
    page.locator("button[type=submit]").tap()
    expect(page.locator(".form-error")).to_contain_text("not valid")

    result = manage(
        brigade_server.data_dir,
        "shell",
        "-c",
        "from restaurant.models import Venue;"
        "from restaurant.permissions import SystemActor;"
        "from restaurant.services import device_create;"
        "d = device_create(venue=Venue.objects.get(slug='de-brigade'), name='Bar tablet',"
        " actor=SystemActor('e2e setup'));"
        "print(d.pairing_code)",
    )
    code = result.stdout.strip().splitlines()[-1]
    page.fill("input[name=code]", code.lower())
    with page.expect_response(lambda r: r.request.method == "POST") as paired:
        page.locator("button[type=submit]").tap()
    expect(page.locator("#screen-pin")).to_be_visible()
    set_cookie = paired.value.header_value("set-cookie") or ""
    assert "brigade_device=" in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert f"Max-Age={5 * 365 * 24 * 3600}" in set_cookie
    cookie = next(c for c in page.context.cookies() if c["name"] == "brigade_device")
    assert cookie["httpOnly"] and not cookie["secure"]  # plain http here
    assert cookie["expires"] > time.time() + 399 * 24 * 3600  # browsers cap at 400 days
    # The code was used up: a second browser cannot pair with it.
    other = new_tablet(chromium_browser, brigade_server, pair=False)
    other.goto(brigade_server.url + "/pos/")
    other.fill("input[name=code]", code)
    other.locator("button[type=submit]").tap()
    expect(other.locator(".form-error")).to_be_visible()


def test_five_wrong_pins_lock_the_keypad_with_a_countdown(brigade_server, chromium_browser):
    page = new_tablet(chromium_browser, brigade_server)
    for _attempt in range(5):
        page.keyboard.type("8080")
        page.keyboard.press("Enter")
        expect(page.locator("#pin-message")).to_contain_text("Wrong PIN")
    message = page.locator("#pin-message")
    expect(message).to_contain_text(re.compile(r"Try again in \d+ s"))
    expect(page.locator('#pin-keypad [data-key="1"]')).to_be_disabled()
    first = int(message.get_attribute("data-lockout"))
    page.wait_for_timeout(1300)
    assert int(message.get_attribute("data-lockout")) < first  # a live countdown
    # Even the right PIN is refused while locked (the keypad is disabled; the server agrees).
    page.keyboard.type(DAAN)
    page.keyboard.press("Enter")
    expect(page.locator("#screen-pin")).to_be_visible()
    assert not page.js_errors
    # The lockout holds on every tablet of the venue for the failures' window: forget them,
    # so the next tests (same venue) can sign in.
    manage(
        brigade_server.data_dir,
        "shell",
        "-c",
        "from restaurant.models import PinAttempt; PinAttempt.objects.all().delete()",
    )


def test_daan_takes_table_12_while_lotte_watches_the_floor(brigade_server, chromium_browser):
    daan = new_tablet(chromium_browser, brigade_server)
    lotte = new_tablet(chromium_browser, brigade_server)

    # PIN: a wrong PIN is refused, Daan's signs him in.
    for digit in "9876":
        daan.locator(f'#pin-keypad [data-key="{digit}"]').tap()
    expect(daan.locator("#pin-dots span.on")).to_have_count(4)
    shot(daan, "pin")
    daan.locator('#pin-keypad [data-key="ok"]').tap()
    expect(daan.locator("#pin-message")).to_have_text("Wrong PIN")
    sign_in(daan, DAAN)
    expect(daan.locator("#tb-user")).to_contain_text("Daan")
    expect(daan.locator("#switch-user")).to_be_visible()

    sign_in(lotte, LOTTE)
    lotte.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    expect(table(lotte, "12")).to_have_attribute("data-status", "free")

    # Table 12, three guests: Lotte's floor shows it seated without a reload.
    open_table(daan, "12", guests=3)
    expect(daan.locator("#check-head")).to_contain_text("3 guests")
    expect(table(lotte, "12")).to_have_attribute("data-status", "seated", timeout=LIVE_TIMEOUT)
    expect(table(lotte, "12").locator(".t-server")).to_have_text("D")  # Daan's initials

    # Seat 1: Entrecote, medium rare, fries (free) and a side salad with a dressing (charged).
    daan.locator('#seat-select [data-seat="1"]').tap()
    daan.locator("#categories .cat", has_text="Mains").tap()
    daan.locator('#items [data-plu="D201"]').tap()
    dialog = daan.locator(".modifier-dialog")
    expect(dialog).to_be_visible()
    add = dialog.locator("#mod-add")
    price = dialog.locator("#mod-price")
    expect(add).to_be_disabled()  # doneness is required
    expect(dialog.locator('[data-group="doneness"] .rule')).to_have_text("choose 1")
    expect(dialog.locator('[data-group="sides"] .rule')).to_have_text("up to 2, 1 free")
    fries = dialog.locator('[data-group="sides"] .mod[data-name="Fries"]')
    if fries.get_attribute("aria-pressed") != "true":  # Fries is pre-selected on the menu
        fries.tap()
    expect(price).to_have_text("€28.50")  # one side is free
    dialog.locator('[data-group="sides"] .mod[data-name="Side salad"]').tap()
    expect(price).to_have_text("€32.00")  # the second side is charged
    expect(add).to_be_disabled()
    dialog.locator('[data-group="dressing"] .mod[data-name="Vinaigrette"]').tap()
    dialog.locator('[data-group="doneness"] .mod[data-name="Medium rare"]').tap()
    expect(add).to_be_enabled()
    expect(price).to_have_text("€32.00")
    shot(daan, "check-modifiers")
    add.tap()
    expect(dialog).to_be_hidden()
    steak = line(daan, "Entrecote 250g")
    expect(steak).to_contain_text("€32.00")
    expect(steak).to_contain_text("Medium rare")
    expect(steak).to_contain_text("Vinaigrette")
    expect(steak).to_have_attribute("data-state", "new")
    expect(table(lotte, "12")).to_have_attribute("data-status", "ordered", timeout=LIVE_TIMEOUT)

    # Seat 2: a Heineken from the tap, found by searching.
    daan.locator('#seat-select [data-seat="2"]').tap()
    search_and_tap(daan, "heineken", "B301")
    beer = line(daan, "Heineken tap 25cl")
    expect(beer).to_contain_text("€3.75")
    expect(daan.locator("#check-total")).to_have_text("€35.75")
    expect(daan.locator("#totals")).to_contain_text("incl. VAT 9%")
    expect(daan.locator("#totals")).to_contain_text("incl. VAT 21%")
    lines_box = daan.locator("#lines")
    expect(lines_box.locator(".course-head")).to_have_count(2)  # drinks course 1, mains 2
    expect(lines_box.locator(".seat-head")).to_have_text(["Seat 2", "Seat 1"])

    # Send: the beer fires at once, the mains wait to be fired.
    daan.locator('#check-actions [data-action="send"]').tap()
    expect(beer).to_have_attribute("data-state", "sent")
    expect(steak).to_have_attribute("data-state", "held")
    expect(table(lotte, "12")).to_have_attribute("data-status", "food_fired", timeout=LIVE_TIMEOUT)

    fire = daan.locator('#check-actions [data-action="fire"][data-course="2"]')
    expect(fire).to_have_text("Fire course 2")
    fire.tap()
    expect(steak).to_have_attribute("data-state", "fired")
    expect(fire).to_have_count(0)
    daan.fill("#item-search", "")
    daan.locator("#categories .cat", has_text="Mains").tap()
    shot(daan, "check-lines")

    # The guest sends the steak back: Daan voids it, Sanne approves with her PIN.
    steak.tap()
    daan.locator('#check-actions [data-action="void"]').tap()
    void = daan.locator(".void-dialog")
    expect(void).to_contain_text("a manager must approve")
    void.locator('[data-reason="reason_sent_back"]').tap()
    for digit in "1111":  # Daan may not approve his own void
        void.locator(f'[data-key="{digit}"]').tap()
    void.locator("#void-confirm").tap()
    expect(void.locator(".modal-error")).to_contain_text("may not")
    for digit in SANNE:
        void.locator(f'[data-key="{digit}"]').tap()
    void.locator("#void-confirm").tap()
    expect(void).to_be_hidden()
    expect(steak).to_have_attribute("data-state", "voided")
    expect(steak).to_contain_text("Sent back by the guest")
    expect(daan.locator("#check-total")).to_have_text("€3.75")
    server_check = check_via_api(daan)
    voided = next(x for x in server_check["lines"] if x["name"] == "Entrecote 250g")
    assert voided["status"] == "voided"

    # The kitchen marks the beer ready. It does so in another process, whose event no tablet
    # hears; they find it through catch-up when the next event (Daan prints the check) shows
    # them the gap.
    mark_ready(brigade_server, table="12", name="Heineken tap 25cl")
    daan.locator('#check-actions [data-action="prebill"]').tap()
    ready = lotte.locator(".toast", has_text="Food ready — table 12")
    expect(ready).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(table(lotte, "12")).to_have_attribute("data-status", "food_ready")
    expect(beer).to_have_attribute("data-state", "ready", timeout=LIVE_TIMEOUT)

    # A few more tables for the floor: seated, ordered, check printed.
    daan.locator("#back-to-floor").tap()
    open_table(daan, "3", guests=2)
    daan.locator("#back-to-floor").tap()
    open_table(daan, "7", guests=4)
    search_and_tap(daan, "carpaccio", "D101")
    expect(line(daan, "Carpaccio")).to_have_count(1)
    daan.locator("#back-to-floor").tap()
    open_table(daan, "5", guests=6)
    search_and_tap(daan, "bitter", "B601")
    expect(line(daan, "Bitterballen")).to_have_count(1)
    daan.locator('#check-actions [data-action="prebill"]').tap()
    expect(daan.locator(".toast", has_text="Check printed")).to_be_visible()
    daan.locator("#back-to-floor").tap()
    for name, status in [
        ("3", "seated"),
        ("7", "ordered"),
        ("5", "check_printed"),
        ("12", "food_ready"),
        ("1", "free"),
    ]:
        expect(table(lotte, name)).to_have_attribute("data-status", status, timeout=LIVE_TIMEOUT)
        expect(table(daan, name)).to_have_attribute("data-status", status)

    # Lotte's floor followed every step on its own.
    assert lotte.evaluate("window.__sameDocument") is True
    expect(table(lotte, "12")).to_contain_text("#")
    shot(lotte, "floor", clear_toasts=False)
    assert not daan.js_errors and not lotte.js_errors


def test_two_tablets_on_one_check_never_lose_or_double_a_change(brigade_server, chromium_browser):
    a = new_tablet(chromium_browser, brigade_server)
    b = new_tablet(chromium_browser, brigade_server)
    # Tablet B's websocket runs through a switch: "frozen" drops what the server sends, like
    # a tablet whose wifi hiccups, so B works on a stale copy of the check.
    frozen = {"on": False}

    def through_switch(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))
        server.on_message(lambda message: None if frozen["on"] else ws.send(message))

    b.route_web_socket(re.compile(r".*/ws/pos/$"), through_switch)
    sign_in(a, DAAN)
    sign_in(b, LOTTE)
    open_table(a, "12", guests=3)
    open_table(b, "12", guests=3)
    assert a.url.split("#")[1] == b.url.split("#")[1]  # the same check

    frozen["on"] = True
    search_and_tap(a, "cola", "B201")
    expect(line(a, "Coca-Cola")).to_have_count(1)
    b.wait_for_timeout(500)
    expect(line(b, "Coca-Cola")).to_have_count(0)  # B has not heard of it
    search_and_tap(b, "spa", "B203")  # sent with B's stale version: adding merges
    for page in (a, b):
        expect(line(page, "Coca-Cola")).to_have_count(1, timeout=LIVE_TIMEOUT)
        expect(line(page, "Spa rood")).to_have_count(1, timeout=LIVE_TIMEOUT)
    frozen["on"] = False
    # A heard about B's line and says so.
    expect(a.locator(".toast", has_text="Updated by another tablet")).to_be_visible()

    # A voids the cola; B, stale again, tries to void the same line.
    frozen["on"] = True
    line(a, "Coca-Cola").tap()
    a.locator('#check-actions [data-action="void"]').tap()
    a.locator('.void-dialog [data-reason="reason_wrong_entry"]').tap()
    a.locator("#void-confirm").tap()
    expect(line(a, "Coca-Cola")).to_have_attribute("data-state", "voided")
    before = check_via_api(a)
    expect(line(b, "Coca-Cola")).to_have_attribute("data-state", "new")  # stale
    line(b, "Coca-Cola").tap()
    b.locator('#check-actions [data-action="void"]').tap()
    b.locator('.void-dialog [data-reason="reason_changed_mind"]').tap()
    b.locator("#void-confirm").tap()
    expect(b.locator(".void-dialog .modal-error")).to_have_text("Coca-Cola was already voided.")
    expect(b.locator("#void-confirm")).to_be_hidden()
    # Nothing changed: same version, A's reason stands, and B's screen caught up.
    after = check_via_api(b)
    assert after["version"] == before["version"]
    cola = [x for x in after["lines"] if x["name"] == "Coca-Cola"]
    assert len(cola) == 1 and cola[0]["void_reason"] == "Entered by mistake"
    expect(line(b, "Coca-Cola")).to_have_attribute("data-state", "voided")
    b.locator(".void-dialog").get_by_role("button", name="Close").tap()
    frozen["on"] = False
    for page in (a, b):
        expect(line(page, "Coca-Cola")).to_have_count(1)
        expect(line(page, "Spa rood")).to_have_count(1)
    assert not a.js_errors and not b.js_errors


def test_a_later_course_line_marked_rush_is_fired_on_send(brigade_server, chromium_browser):
    """Course 2 waits for "Fire course 2"; a line marked rush goes to the pass at once."""
    daan = new_tablet(chromium_browser, brigade_server)
    sign_in(daan, DAAN)
    open_table(daan, "9", guests=2)
    daan.locator('#course-select [data-course="2"]').tap()
    search_and_tap(daan, "carpaccio", "D101")
    search_and_tap(daan, "bitter", "B601")
    carpaccio, bitterballen = line(daan, "Carpaccio"), line(daan, "Bitterballen")
    expect(carpaccio).to_have_attribute("data-state", "new")
    expect(bitterballen).to_have_attribute("data-state", "new")

    rush = daan.locator('#check-actions [data-action="rush"]')
    expect(rush).to_be_disabled()  # no line selected
    carpaccio.tap()
    expect(rush).to_be_enabled()
    rush.tap()
    expect(rush).to_have_attribute("aria-pressed", "true")
    expect(carpaccio.locator(".chip-rush")).to_have_text(re.compile("rush", re.I))
    expect(bitterballen.locator(".chip-rush")).to_have_count(0)
    # Tapped twice it is off again, a third time on.
    rush.tap()
    expect(carpaccio.locator(".chip-rush")).to_have_count(0)
    rush.tap()
    expect(carpaccio.locator(".chip-rush")).to_have_count(1)

    with daan.expect_request(lambda r: r.method == "POST" and r.url.endswith("/send")) as sent:
        daan.locator('#check-actions [data-action="send"]').tap()
    expect(daan.locator(".toast", has_text="1 as rush")).to_be_visible()
    expect(carpaccio).to_have_attribute("data-state", "sent")  # fired with the send
    expect(bitterballen).to_have_attribute("data-state", "held")
    expect(carpaccio.locator(".chip-fired")).to_have_text(re.compile("rush", re.I))
    expect(daan.locator(".chip-rush")).to_have_count(0)  # the marks were cleared
    expect(rush).to_be_disabled()  # the selected line is no longer new

    server_check = check_via_api(daan)
    by_name = {x["name"].split(" (")[0]: x for x in server_check["lines"]}
    assert sent.value.post_data_json["rush_ids"] == [by_name["Carpaccio"]["id"]]
    assert by_name["Carpaccio"]["course"] == 2
    assert by_name["Carpaccio"]["rush"] is True
    assert by_name["Carpaccio"]["fired_at"]
    assert by_name["Bitterballen"]["course"] == 2
    assert by_name["Bitterballen"]["fired_at"] is None
    assert not daan.js_errors


def test_scanner_adds_by_plu_and_a_manager_86es_an_item_everywhere(
    brigade_server, chromium_browser
):
    daan = new_tablet(chromium_browser, brigade_server)
    sanne = new_tablet(chromium_browser, brigade_server)
    sign_in(daan, DAAN)
    sign_in(sanne, SANNE)
    open_table(daan, "4", guests=2)

    # A scanner types the PLU and Enter wherever the page is (not in a text field).
    daan.locator("#check-head").tap()
    daan.keyboard.type("D101")
    daan.keyboard.press("Enter")
    expect(line(daan, "Carpaccio")).to_have_count(1)
    daan.keyboard.type("D201")  # has a required group: the dialog asks
    daan.keyboard.press("Enter")
    expect(daan.locator(".modifier-dialog")).to_be_visible()
    daan.locator(".modifier-dialog").get_by_role("button", name="Cancel").tap()

    # Sanne 86es the sea bass; Daan's menu greys it out at once.
    expect(daan.locator("#btn-86-mode")).to_be_hidden()  # servers cannot 86
    open_table(sanne, "4", guests=2)
    sanne.locator("#categories .cat", has_text="Mains").tap()
    sanne.locator("#btn-86-mode").tap()
    sanne.locator('#items [data-plu="D204"]').tap()
    expect(sanne.locator('#items [data-plu="D204"]')).to_have_class(re.compile("is-86"))
    daan.locator("#categories .cat", has_text="Mains").tap()
    sea_bass = daan.locator('#items [data-plu="D204"]')
    expect(sea_bass).to_have_class(re.compile("is-86"), timeout=LIVE_TIMEOUT)
    expect(sea_bass).to_have_attribute("aria-disabled", "true")
    sea_bass.tap(force=True)
    expect(daan.locator(".modifier-dialog")).to_have_count(0)
    # Counted stock shows on the button.
    expect(daan.locator('#items [data-plu="D205"] .i-stock')).to_have_text("24 left")
    # Back on the menu.
    sanne.locator('#items [data-plu="D204"]').tap()
    expect(sea_bass).not_to_have_class(re.compile("is-86"), timeout=LIVE_TIMEOUT)
    assert not daan.js_errors and not sanne.js_errors


def test_switch_user_and_idle_lock_return_to_the_pin_pad(brigade_server, chromium_browser):
    page = new_tablet(chromium_browser, brigade_server)
    page.clock.install()
    page.reload()
    sign_in(page, DAAN)
    page.locator("#switch-user").tap()
    expect(page.locator("#screen-pin")).to_be_visible()
    expect(page.locator("#tb-user")).to_have_text("")
    sign_in(page, LOTTE)
    expect(page.locator("#tb-user")).to_contain_text("Lotte")
    idle = int(page.locator("#app").get_attribute("data-idle-seconds"))
    page.clock.fast_forward(idle * 1000 + 2000)
    page.clock.run_for(1100)
    expect(page.locator("#screen-pin")).to_be_visible()
    expect(page.locator("#pin-message")).to_contain_text("locked")
    # The server signed the session out too: the API wants a PIN again.
    for _attempt in range(30):
        status = page.evaluate("fetch('/api/v1/me').then(r => r.status)")
        if status == 401:
            break
        page.wait_for_timeout(100)
    assert status == 401


def test_a_tablet_that_loses_its_connection_says_so_and_catches_up(
    brigade_server, chromium_browser
):
    """18:50, the wifi in the back drops: "reconnecting", then every change it missed."""
    daan = new_tablet(chromium_browser, brigade_server)
    lotte = new_tablet(chromium_browser, brigade_server)
    wifi = {"up": True, "sockets": []}

    def through_wifi(ws):
        if not wifi["up"]:
            ws.close(code=4000, reason="no network")
            return
        wifi["sockets"].append(ws)
        ws.connect_to_server()

    daan.route_web_socket(re.compile(r".*/ws/pos/$"), through_wifi)
    sign_in(daan, DAAN)
    sign_in(lotte, LOTTE)
    expect(daan.locator("#conn")).to_have_attribute("data-state", "live")
    before = table(daan, "14").get_attribute("data-status")

    wifi["up"] = False
    for ws in wifi["sockets"]:
        ws.close(code=4000, reason="no network")
    banner = daan.locator("#banner")
    expect(banner).to_be_visible(timeout=5000)
    expect(banner).to_have_text("Reconnecting…")

    open_table(lotte, "14", guests=5)  # meanwhile, on another tablet
    search_and_tap(lotte, "cola", "B201")
    expect(line(lotte, "Coca-Cola")).to_have_count(1)
    daan.wait_for_timeout(500)
    expect(table(daan, "14")).to_have_attribute("data-status", before)  # heard nothing

    wifi["up"] = True
    expect(banner).to_be_hidden(timeout=15_000)
    expect(table(daan, "14")).to_have_attribute("data-status", "ordered", timeout=LIVE_TIMEOUT)
    expect(daan.locator("#conn")).to_have_attribute("data-state", "live")
    assert not daan.js_errors
