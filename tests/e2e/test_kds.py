"""Kitchen screens in a real browser against the real product (`manage.py serve`).

A busy service is set up in the server's database by `scene()` below, run in a
`manage.py shell` with the server's environment: one paired screen per station (grill, cold,
expo), a tablet pairing code, and the orders of SCENARIOS.md's 18:30 rush. The tablet side
mostly speaks the JSON API (/api/v1/) exactly as the tablet app does; one test drives the real
tablet UI (the helpers of test_pos_tablet.py) next to a kitchen screen. Screenshots
(1920x1080) go to SCREENSHOT_DIR; `SCREENSHOT_DIR=docs/screenshots` refreshes
docs/screenshots/kds-*.png.
"""

from __future__ import annotations

import datetime
import json
import re
import time
import urllib.request
import uuid

import pytest

from tests.actors import SETUP
from tests.e2e.conftest import SCREENSHOT_DIR, manage
from tests.e2e.test_pos_tablet import (
    DAAN,
    expect,
    new_tablet,
    open_table,
    search_and_tap,
    sign_in,
    table,
)

pytestmark = pytest.mark.browser

FULL_HD = {"width": 1920, "height": 1080}


# --- the scene, run inside the server's environment ------------------------------------------


def scene() -> None:
    """Print one line of JSON: screen tokens, a tablet pairing code, ids the tests need."""
    from django.db import transaction
    from django.utils import timezone

    from kitchen import services as kitchen
    from kitchen.models import Ticket
    from orders.models import OrderLine
    from orders.services import check_open, line_add
    from restaurant.models import Device, MenuItem, Modifier, StaffMember, Station, Table, Venue
    from restaurant.services import device_create, device_pair

    venue = Venue.objects.get(slug="de-brigade")

    def item(plu):
        return MenuItem.objects.get(venue=venue, plu=plu)

    def mod(group, name, **extra):
        modifier = Modifier.objects.get(group__venue=venue, group__code=group, name=name)
        return {"modifier": modifier.pk, **extra}

    def sent_ago(tickets, minutes):
        when = timezone.now() - datetime.timedelta(minutes=minutes)
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(created_at=when)
        for ticket in tickets:
            ticket.items.filter(fired_at__isnull=False).update(fired_at=when)

    def table(staff, name, guests):
        at = Table.objects.get(venue=venue, name=name)
        return check_open(venue=venue, actor=staff, kind="table", table=at, guest_count=guests)

    staff = {s.display_name: s for s in StaffMember.objects.filter(venue=venue)}
    daan, lotte, sanne = staff["Daan"], staff["Lotte"], staff["Sanne"]
    tokens = {}
    with transaction.atomic():
        for slug in ("grill", "cold", "expo"):
            station = Station.objects.get(venue=venue, slug=slug)
            device = device_create(
                venue=venue,
                name=f"{station.name} screen",
                kind=Device.Kind.KITCHEN_SCREEN,
                station=station,
                actor=SETUP,
            )
            tokens[slug] = device_pair(code=device.pairing_code)[1]
        tablet = device_create(
            venue=venue, name="Floor tablet", kind=Device.Kind.TABLET, actor=SETUP
        )

    # Table 3: starters and mains fired together 9 minutes ago (late at the grill).
    t3 = table(lotte, "3", 2)
    line_add(tab=t3, actor=lotte, item=item("D103"), seat=1)
    line_add(
        tab=t3,
        actor=lotte,
        item=item("D203"),
        seat=1,
        course=1,
        modifiers=[mod("doneness", "Medium"), mod("sides", "Fries")],
    )
    line_add(
        tab=t3,
        actor=lotte,
        item=item("D206"),
        seat=2,
        course=1,
        modifiers=[mod("sides", "Mashed potatoes")],
    )
    sent_ago(kitchen.lines_send(tab=t3, actor=lotte).tickets, 9)

    # Table 12, four guests: starters fire on send, mains wait (course 2, HOLD).
    t12 = table(daan, "12", 4)
    line_add(tab=t12, actor=daan, item=item("D101"), seat=1)
    line_add(tab=t12, actor=daan, item=item("D105"), seat=3, course=1)
    line_add(
        tab=t12,
        actor=daan,
        item=item("D201"),
        seat=1,
        modifiers=[
            mod("doneness", "Medium rare"),
            mod("sides", "Fries"),
            mod("sides", "Side salad", choices=[mod("dressing", "Vinaigrette")]),
            mod("sauces", "Pepper sauce"),
        ],
    )
    line_add(
        tab=t12,
        actor=daan,
        item=item("D201"),
        seat=2,
        modifiers=[mod("doneness", "Rare"), mod("sides", "Fries")],
    )
    line_add(tab=t12, actor=daan, item=item("D207"), seat=3, note="nut allergy")
    line_add(
        tab=t12,
        actor=daan,
        item=item("L131"),
        seat=4,
        modifiers=[mod("kids-pasta-sauce", "Tomato sauce")],
        note="no cheese",
    )
    sent_ago(kitchen.lines_send(tab=t12, actor=daan).tickets, 5.5)

    # Table 7: a rush burger; a minute later an addition of fries.
    t7 = table(lotte, "7", 3)
    burger = line_add(
        tab=t7,
        actor=lotte,
        item=item("D203"),
        seat=2,
        course=1,
        modifiers=[mod("doneness", "Well done"), mod("sauces", "Fried onions")],
    )
    line_add(tab=t7, actor=lotte, item=item("D204"), seat=1, course=1)
    sent_ago(kitchen.lines_send(tab=t7, actor=lotte, rush_ids=[burger.pk]).tickets, 2)
    line_add(tab=t7, actor=lotte, item=item("D301"), quantity=2, course=1)
    sent_ago(kitchen.lines_send(tab=t7, actor=lotte).tickets, 1)

    # Table 5: a steak sent back, voided with Sanne's approval: the grill gets a VOID.
    t5 = table(daan, "5", 2)
    steak = line_add(
        tab=t5,
        actor=daan,
        item=item("D202"),
        seat=1,
        course=1,
        modifiers=[mod("doneness", "Medium")],
    )
    line_add(tab=t5, actor=daan, item=item("D208"), seat=2, course=1)
    sent_ago(kitchen.lines_send(tab=t5, actor=daan).tickets, 3)
    kitchen.line_void(
        line=OrderLine.objects.get(pk=steak.pk),
        actor=daan,
        reason="Sent back by the guest",
        approver=sanne,
    )
    print(
        json.dumps(
            {
                "tokens": tokens,
                "tablet_code": tablet.pairing_code,
                "steak": item("D202").pk,
                "carpaccio": item("D101").pk,
                "medium": mod("doneness", "Medium")["modifier"],
                "table14": Table.objects.get(venue=venue, name="14").pk,
            }
        )
    )


@pytest.fixture(scope="module")
def service(brigade_server) -> dict:
    result = manage(
        brigade_server.data_dir,
        "shell",
        "-c",
        "from tests.e2e.test_kds import scene; scene()",
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the tablet, through the JSON API -----------------------------------------------------------


class Tablet:
    def __init__(self, base: str, pairing_code: str, pin: str):
        self.base = base + "/api/v1/"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        device = self.call("POST", "auth/pair", {"code": pairing_code})["token"]
        self.auth = f"Device {device}"
        self.auth = "Bearer " + self.call("POST", "auth/pin", {"pin": pin})["token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if getattr(self, "auth", None):
            headers["Authorization"] = self.auth
        if method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        with self.opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def table_status(self, table_id: int) -> str:
        floor = self.call("GET", "floor")
        tables = [t for area in floor["areas"] for t in area["tables"]]
        return next(t["status"] for t in tables if t["id"] == table_id)


@pytest.fixture(scope="module")
def tablet(brigade_server, service) -> Tablet:
    return Tablet(brigade_server.url, service["tablet_code"], pin="1111")  # Daan


def screen_page(browser, server, token: str, path: str):
    context = browser.new_context(viewport=FULL_HD, locale="en-GB", has_touch=True)
    context.add_cookies([{"name": "brigade_device", "value": token, "url": server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + path)
    # A function, not an expression string: the page's CSP allows no eval.
    page.wait_for_function("() => window.kdsFeed && window.kdsFeed.stats.snapshots > 0")
    page.wait_for_selector("#conn[data-state=live]")
    return context, page, errors


def order_steak(tablet: Tablet, service: dict) -> dict:
    check = tablet.call(
        "POST", "checks", {"kind": "table", "table": service["table14"], "guest_count": 2}
    )["check"]
    tablet.call(
        "POST",
        f"checks/{check['id']}/lines",
        {
            "item": service["steak"],
            "seat": 1,
            "course": 1,
            "modifiers": [{"modifier": service["medium"]}],
        },
    )
    return check


# --- the tests ----------------------------------------------------------------------------------


def test_a_line_sent_from_the_tablet_is_on_the_grill_within_a_second_and_bumped(
    brigade_server, service, tablet, chromium_browser
):
    context, page, errors = screen_page(
        chromium_browser, brigade_server, service["tokens"]["grill"], "/kds/grill/"
    )
    try:
        tickets = page.locator(".ticket")
        assert tickets.count() == 6
        assert page.locator(".ticket[data-kind=void]").count() == 1
        assert page.locator(".ticket .badge-rush").count() == 1
        assert "also at: Cold kitchen" in page.locator(".ticket", has_text="Table 12").inner_text()
        assert page.locator(".t-course.is-held .hold").count() == 1
        assert page.locator(".i-note.is-allergy", has_text="nut allergy").count() == 1
        # Timers coloured by the station's thresholds (5 and 8 minutes at the grill).
        assert page.locator(".ticket", has_text="Table 3").get_attribute("data-timer") == "late"
        assert page.locator(".ticket", has_text="Table 12").get_attribute("data-timer") == "warn"
        # Big type for two metres: headers >= 28px, items >= 24px.
        sizes = page.evaluate(
            """() => ({
                label: parseFloat(getComputedStyle(document.querySelector('.t-label')).fontSize),
                meta: parseFloat(getComputedStyle(document.querySelector('.t-row2')).fontSize),
                item: parseFloat(getComputedStyle(document.querySelector('.i-name')).fontSize),
                mod: parseFloat(getComputedStyle(document.querySelector('.i-mods li')).fontSize),
            })"""
        )
        assert sizes["label"] >= 28 and sizes["meta"] >= 28, sizes
        assert sizes["item"] >= 24 and sizes["mod"] >= 24, sizes

        # The bump bar: "2" selects the second ticket (Table 3), "S" starts it; then a tap
        # marks its first item ready.
        table3 = page.locator(".ticket", has_text="Table 3")
        assert table3.locator(".t-pos").inner_text() == "2"
        page.keyboard.press("2")
        page.keyboard.press("s")
        page.wait_for_selector(".ticket[data-state=cooking]:has-text('Table 3')")
        table3.locator(".t-item").first.tap()
        page.wait_for_selector(".ticket:has-text('Table 3') .t-item[data-status=ready]")
        page.keyboard.press("Escape")
        page.screenshot(path=str(SCREENSHOT_DIR / "kds-grill.png"))

        check = order_steak(tablet, service)
        events_before = page.evaluate("window.kdsFeed.stats.events")
        tablet.call("POST", f"checks/{check['id']}/send", {})
        started = time.monotonic()  # the tablet says "sent"; the grill must show it in 1 s
        new = page.locator(".ticket", has_text="Table 14")
        new.wait_for(state="visible", timeout=3000)
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"the ticket took {elapsed:.2f}s to appear"
        assert page.evaluate("window.kdsFeed.stats.events") > events_before  # via the socket
        assert "Biefstuk" in new.inner_text() and "Medium" in new.inner_text()
        assert tablet.table_status(service["table14"]) == "food_fired"

        new.locator(".t-head").tap()
        new.wait_for(state="detached", timeout=3000)
        assert page.locator("#toast").inner_text().startswith("Bumped Table 14")
        assert tablet.table_status(service["table14"]) == "food_ready"
        assert errors == []
    finally:
        context.close()


def test_the_expo_serves_a_ready_order(brigade_server, service, tablet, chromium_browser):
    context, page, errors = screen_page(
        chromium_browser, brigade_server, service["tokens"]["expo"], "/kds/expo/"
    )
    try:
        ready = page.locator(".order[data-ready=true]", has_text="Table 14")
        ready.wait_for(state="visible")
        assert "READY" in ready.inner_text()
        waiting = page.locator(".order", has_text="Table 12")
        assert waiting.get_attribute("data-ready") == "false"
        assert "Call ready" in waiting.locator(".o-serve").inner_text()
        page.screenshot(path=str(SCREENSHOT_DIR / "kds-expo.png"))
        ready.locator(".o-serve").tap()
        ready.wait_for(state="detached", timeout=3000)
        assert tablet.table_status(service["table14"]) == "ordered"
        assert errors == []
    finally:
        context.close()


def test_an_order_taken_on_the_tablet_is_bumped_at_the_grill_and_the_floor_shows_it_ready(
    brigade_server, service, chromium_browser
):
    """Daan sends from the tablet UI; the grill has it within a second; its bump reaches his
    floor plan without a reload."""
    daan = new_tablet(chromium_browser, brigade_server)  # 1024x768, paired by the manager
    context, grill, errors = screen_page(
        chromium_browser, brigade_server, service["tokens"]["grill"], "/kds/grill/"
    )
    try:
        sign_in(daan, DAAN)
        daan.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
        open_table(daan, "8", guests=2)
        search_and_tap(daan, "garnalen", "D103")  # course 1, cooked at the grill
        expect(daan.locator("#lines .line", has_text="Garnalenkroketten")).to_have_count(1)

        ticket = grill.locator(".ticket", has_text="Table 8")
        assert ticket.count() == 0
        events_before = grill.evaluate("window.kdsFeed.stats.events")
        daan.locator('#check-actions [data-action="send"]').tap()
        started = time.monotonic()
        ticket.wait_for(state="visible", timeout=3000)
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"the ticket took {elapsed:.2f}s to appear"
        assert grill.evaluate("window.kdsFeed.stats.events") > events_before  # via the socket
        assert "Garnalenkroketten" in ticket.inner_text()

        daan.locator("#back-to-floor").tap()
        expect(table(daan, "8")).to_have_attribute("data-status", "food_fired")

        ticket.locator(".t-head").tap()
        ticket.wait_for(state="detached", timeout=3000)
        expect(daan.locator(".toast", has_text="Food ready — table 8")).to_be_visible()
        expect(table(daan, "8")).to_have_attribute("data-status", "food_ready")
        expect(table(daan, "8")).to_have_class(re.compile(r"\bst-food_ready\b"))
        assert daan.evaluate("window.__sameDocument") is True
        assert errors == [] and not daan.js_errors
    finally:
        context.close()
        daan.context.close()


def test_a_screen_that_lost_its_connection_catches_up_once(
    brigade_server, service, tablet, chromium_browser
):
    context, page, errors = screen_page(
        chromium_browser, brigade_server, service["tokens"]["grill"], "/kds/grill/"
    )
    try:
        # The wifi drops: the socket dies and new connections fail for a while.
        context.set_offline(True)
        page.evaluate("window.kdsFeed.dropSocket(); window.kdsFeed.scheduleReconnect()")
        page.wait_for_selector("#banner:not([hidden])")
        assert "Reconnecting" in page.locator("#banner").inner_text()
        sent = []
        for _ in range(3):
            check = tablet.call("POST", "checks", {"kind": "takeaway"})["check"]
            tablet.call(
                "POST",
                f"checks/{check['id']}/lines",
                {
                    "item": service["steak"],
                    "course": 1,
                    "modifiers": [{"modifier": service["medium"]}],
                },
            )
            tablet.call("POST", f"checks/{check['id']}/send", {})
            sent.append(check["number"])
        time.sleep(0.5)
        assert page.locator("#banner").is_visible()
        context.set_offline(False)
        page.wait_for_selector("#banner", state="hidden", timeout=15_000)
        for number in sent:
            card = page.locator(f".ticket[data-number='{number}']")
            card.first.wait_for(state="visible")
            assert card.count() == 1, f"check #{number} is shown {card.count()} times"
        ids = page.eval_on_selector_all(".ticket", "cards => cards.map(c => c.dataset.id)")
        assert len(ids) == len(set(ids))
        assert page.evaluate("window.kdsFeed.stats.reconnects") >= 1
        assert errors == []
    finally:
        context.close()


def test_a_revoked_screen_goes_back_to_pairing(brigade_server, service, tablet, chromium_browser):
    context, page, _errors = screen_page(
        chromium_browser, brigade_server, service["tokens"]["cold"], "/kds/cold/"
    )
    try:
        manage(
            brigade_server.data_dir,
            "shell",
            "-c",
            "from restaurant.models import Device; from restaurant.services import device_revoke;"
            "from restaurant.permissions import SystemActor;"
            " device_revoke(device=Device.objects.get(name='Cold kitchen screen'),"
            " actor=SystemActor('e2e setup'))",
        )
        # The next ticket for the cold kitchen makes the screen refetch; the server refuses
        # it; the page reloads as "Pair this screen".
        check = tablet.call("POST", "checks", {"kind": "takeaway"})["check"]
        tablet.call("POST", f"checks/{check['id']}/lines", {"item": service["carpaccio"]})
        tablet.call("POST", f"checks/{check['id']}/send", {})
        page.wait_for_selector("text=Pair this screen", timeout=10_000)
        assert "unpaired in the back office" in page.content()
        assert page.locator(".ticket").count() == 0
    finally:
        context.close()
