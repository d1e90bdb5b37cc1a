"""Paying by card on a Stripe Terminal reader, in a real browser against the real product.

The server runs like `make run`: with the local Stripe emulator and the demo venue's two
simulated readers ("Table reader", "Bar reader"). Daan opens table 2 for two guests, a dish on
each seat, sends, and on the Pay screen splits by seat. Seat 1 pays by card on the Table reader
and the guest picks the tip on the reader: Sanne, in the back office's simulated reader page
(/payments/readers/), chooses 15% and taps the approved Visa; the tablet shows it approved with
that tip and the card. Seat 2 pays by card without a tip: first the declined card (the tablet
says why; Try again shows the same payment on the reader again), then the Visa. The check
closes, table 2 is free, and the payments add up to the check. Then Daan refunds part of the
second payment from the closed checks, with Sanne's PIN. Screenshots go to SCREENSHOT_DIR as
pos-card-*.png and payments-reader.png.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import SCREENSHOT_DIR
from tests.e2e.test_pos_pay import api_get, check_id, half_up, keys, money, pay_part
from tests.e2e.test_pos_tablet import (
    DAAN,
    MANAGER,
    SANNE,
    expect,
    new_tablet,
    open_table,
    search_and_tap,
    sign_in,
    table,
)

pytestmark = pytest.mark.browser

CARD_TIMEOUT = 10_000  # ms: reader -> emulator -> webhook -> server -> websocket -> tablet
REFRESH = '<meta http-equiv="refresh" content="3">'


def shot(page, name: str) -> None:
    page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
    path = SCREENSHOT_DIR / f"pos-card-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def reader_page(browser, server):
    """The back office's simulated readers, signed in as Sanne (a staff user) in a browser
    context of its own. It reloads itself every 3 s while no reader shows a payment, and stops
    while one does (so the tip being chosen stays chosen)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors

    page.goto(server.url + "/admin/login/?next=/payments/readers/")
    page.fill("input[name=username]", MANAGER[0])
    page.fill("input[name=password]", MANAGER[1])
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url(server.url + "/payments/readers/")
    expect(page.locator("h1")).to_contain_text("Simulated card readers")
    return page


def squeeze(text: str) -> str:
    """Without spaces: the back office writes "€ 13.95" where the tablet writes "€13.95"."""
    return "".join(text.split())


def reader_shows(page, label: str, amount: str):
    """Reload the simulated readers until reader `label` shows `amount`; its section."""
    station = page.locator("section.reader", has=page.locator("h2", has_text=label))
    deadline = time.monotonic() + CARD_TIMEOUT / 1000
    from playwright.sync_api import Error as PlaywrightError

    while True:
        try:
            page.goto(page.url)
        except PlaywrightError:  # the page's own refresh (while idle) navigated first
            page.wait_for_load_state()
        shown = station.locator("[data-amount]")
        if shown.count() and squeeze(shown.inner_text()) == squeeze(amount):
            assert REFRESH not in page.content()  # a payment on show: no reload under a finger
            return station
        assert time.monotonic() < deadline, f"{label} never showed {amount}"
        time.sleep(0.3)


def tap_card(station, name: str) -> None:
    station.get_by_role("button", name=re.compile(re.escape(name))).click()


def test_two_seats_pay_by_card_on_the_table_reader(brigade_server, chromium_browser):
    daan = new_tablet(chromium_browser, brigade_server)
    sign_in(daan, DAAN)
    admin = reader_page(chromium_browser, brigade_server)

    # --- Daan: table 2, two guests, a dish on each seat, sent -------------------------------
    open_table(daan, "2", guests=2)
    for seat, query, plu in [(1, "carpaccio", "D101"), (2, "mosselen", "D205")]:
        daan.locator(f'#seat-select [data-seat="{seat}"]').tap()
        search_and_tap(daan, query, plu)
    expect(daan.locator("#check-total")).to_have_text("€37.90")
    daan.locator('#check-actions [data-action="send"]').tap()
    expect(daan.locator(".toast", has_text="Sent 2 lines")).to_be_visible()
    tab = check_id(daan)

    # --- Pay -> By seat: two parts ------------------------------------------------------------
    daan.locator('#check-actions [data-action="pay"]').tap()
    expect(daan.locator("#screen-pay")).to_be_visible()
    daan.locator('#pay-split [data-split="seat"]').tap()
    expect(daan.locator("#seat-groups .seat-group")).to_have_count(2)
    daan.locator("#split-apply").tap()
    expect(daan.locator("#pay-parts .part-card[data-part]")).to_have_count(2)
    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    seat1, seat2 = bill["parts"]
    assert [p["label"] for p in bill["parts"]] == ["Seat 1", "Seat 2"]
    assert seat1["total"] + seat2["total"] == bill["total"] == 3790

    # --- Seat 1: card on the Table reader, the guest tips on the reader ---------------------
    flow = pay_part(daan, seat1["id"])
    flow.locator("#tip-on-reader").tap()
    expect(flow).to_have_attribute("data-step", "card")
    readers = flow.locator("#card-readers [data-reader]")
    expect(readers).to_have_count(2)
    expect(readers.filter(has_text="Table reader")).to_have_count(1)
    expect(readers.filter(has_text="Bar reader")).to_have_count(1)
    expect(flow.locator("#card-start")).to_be_disabled()  # no reader chosen on this tablet yet
    readers.filter(has_text="Table reader").tap()
    expect(readers.filter(has_text="Table reader")).to_have_attribute("aria-checked", "true")
    expect(flow.locator('[data-tip-mode="reader"]')).to_have_attribute("aria-checked", "true")
    expect(flow.locator("#card-charge")).to_have_text(money(seat1["total"]))
    expect(flow.locator("#card-start")).to_have_text(f"Charge {money(seat1['total'])}")
    shot(daan, "choose")
    flow.locator("#card-start").tap()
    expect(flow).to_have_attribute("data-step", "card-wait")
    expect(flow).to_have_attribute("data-card", "waiting")
    expect(flow.locator("#card-status")).to_have_text(
        f"Waiting for the card on Table reader — {money(seat1['total'])}"
    )
    expect(flow.locator("#card-cancel")).to_be_visible()
    seat1_card = daan.locator(f'#pay-parts .part-card[data-part="{seat1["id"]}"]')
    expect(seat1_card.locator(".chip-card")).to_have_text("on the card reader")
    shot(daan, "waiting")

    # The reader asks the guest for a tip on the tip basis the server gave it (amount_eligible)
    station = reader_shows(admin, "Table reader", money(seat1["total"]))
    fifteen = station.locator('input[name=tip][data-percent="15"]')
    tip = int(fifteen.get_attribute("value"))
    assert tip == half_up(seat1["tip_basis"] * 15, 100)
    label = station.locator("label.tip", has=admin.locator('input[data-percent="15"]'))
    assert squeeze(label.inner_text()) == squeeze(f"15% · {money(tip)}")
    label.click()
    expect(fifteen).to_be_checked()
    admin.screenshot(path=str(SCREENSHOT_DIR / "payments-reader.png"))
    assert (SCREENSHOT_DIR / "payments-reader.png").stat().st_size > 10_000
    tap_card(station, "Visa — approved")

    expect(flow).to_have_attribute("data-step", "done", timeout=CARD_TIMEOUT)
    expect(flow.locator("#card-approved")).to_have_text(
        f"Approved — Visa •••• 4242, tip {money(tip)}"
    )
    expect(flow.locator("#card-charged")).to_have_text(money(seat1["total"] + tip))
    expect(flow.locator("#pay-details")).to_have_text(
        f"Paid {money(seat1['total'])} · Tip {money(tip)}"
    )
    expect(flow.locator("#pay-closed-notice")).to_have_count(0)  # seat 2 still to pay
    shot(daan, "approved")
    flow.locator('[data-receipt="none"]').tap()
    expect(flow).to_have_count(0)
    expect(seat1_card).to_have_attribute("data-status", "paid")
    expect(daan.locator("#pay-paid")).to_have_text(money(seat1["total"]))

    # --- Seat 2: no tip; declined, tried again, approved -------------------------------------
    flow = pay_part(daan, seat2["id"])
    flow.locator('[data-tip="none"]').tap()
    expect(flow).to_have_attribute("data-step", "tender")
    expect(flow.locator("#pay-card")).to_contain_text(money(seat2["total"]))
    flow.locator("#pay-card").tap()
    expect(flow).to_have_attribute("data-step", "card")
    # this tablet remembers the reader; the tip was chosen here (none): the reader skips it
    expect(flow.locator('#card-readers [aria-checked="true"]')).to_have_text(
        re.compile("Table reader")
    )
    expect(flow.locator('[data-tip-mode="tablet"]')).to_have_attribute("aria-checked", "true")
    expect(flow.locator('[data-tip-mode="tablet"]')).to_contain_text("No tip")
    expect(flow.locator("#card-charge")).to_have_text(money(seat2["total"]))
    flow.locator("#card-start").tap()
    expect(flow).to_have_attribute("data-card", "waiting")
    expect(flow.locator("#card-status")).to_have_text(
        f"Waiting for the card on Table reader — {money(seat2['total'])}"
    )
    station = reader_shows(admin, "Table reader", money(seat2["total"]))
    expect(station.locator("input[name=tip]")).to_have_count(0)  # no tipping on the reader
    tap_card(station, "Card declined")

    expect(flow).to_have_attribute("data-card", "declined", timeout=CARD_TIMEOUT)
    expect(flow.locator("#card-status")).to_have_text("Declined: Your card was declined.")
    expect(flow.locator("#card-retry")).to_be_visible()
    expect(flow.locator("#card-cancel")).to_be_visible()
    for button in ("#card-retry", "#card-cancel"):
        box = flow.locator(button).bounding_box()
        assert box["height"] >= 64 and box["width"] >= 200
    shot(daan, "declined")
    flow.locator("#card-retry").tap()
    expect(flow).to_have_attribute("data-card", "waiting")
    expect(flow.locator("#card-lines")).to_contain_text("Attempt 2")
    station = reader_shows(admin, "Table reader", money(seat2["total"]))
    tap_card(station, "Visa — approved")

    expect(flow).to_have_attribute("data-step", "done", timeout=CARD_TIMEOUT)
    expect(flow.locator("#card-approved")).to_have_text("Approved — Visa •••• 4242")
    expect(flow.locator("#pay-closed-notice")).to_have_text("Check closed — table free")
    flow.locator('[data-receipt="none"]').tap()
    expect(flow).to_have_count(0)
    expect(daan.locator("#pay-closed")).to_contain_text("Check closed — table free")
    expect(daan.locator("#screen-floor")).to_be_visible(timeout=6000)
    expect(table(daan, "2")).to_have_attribute("data-status", "free")

    # --- what the server recorded ---------------------------------------------------------------
    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    payments = [p for part in bill["parts"] for p in part["payments"]]
    first, second = (p for p in payments if p["status"] == "succeeded")
    assert all(p["status"] == "succeeded" for p in payments)  # one payment per part, no strays
    assert first["amount"] + second["amount"] == bill["total"] == 3790
    assert (first["part"], first["tip"], first["tip_on_reader"]) == (seat1["id"], tip, True)
    assert (second["part"], second["tip"], second["attempts"]) == (seat2["id"], 0, 2)
    for payment in (first, second):
        assert (payment["method"], payment["channel"]) == ("card", "reader")
        assert (payment["card_brand"], payment["card_last4"]) == ("visa", "4242")
    closed = api_get(daan, f"checks/{tab}")
    assert closed["status"] == "closed" and closed["paid_amount"] == 3790
    assert bill["tips"] == tip

    # --- a refund of €2.00 on seat 2's card, approved with Sanne's PIN ------------------------
    daan.locator("#nav-closed").tap()
    daan.locator(f'#closed-list [data-check="{tab}"]').tap()
    row = daan.locator(f'.cd-payment[data-payment="{second["id"]}"]')
    expect(row).to_contain_text(f"Visa •••• 4242 {money(second['amount'])}")
    row.locator(".cd-refund").tap()
    dialog = daan.locator(".refund-dialog")
    expect(dialog.locator("#refund-pad-value")).to_have_text(money(second["amount"]))
    keys(daan, "refund-pad", "200")
    expect(dialog.locator("#refund-confirm")).to_be_disabled()  # no reason yet
    dialog.locator('[data-reason="reason_refund_complaint"]').tap()
    expect(dialog.locator("#refund-confirm")).to_have_text("Refund €2.00")
    for digit in SANNE:
        dialog.locator(f'.pin-inline [data-key="{digit}"]').tap()
    shot(daan, "refund")
    dialog.locator("#refund-confirm").tap()
    expect(dialog).to_have_count(0)
    expect(daan.locator(".toast", has_text="€2.00 refunded to the card.")).to_be_visible()
    expect(row).to_contain_text("refunded €2.00")
    payments = api_get(daan, f"checks/{tab}/bill")["bill"]["parts"][1]["payments"]
    assert [p["refunded"] for p in payments] == [200]
    assert not daan.js_errors and not admin.js_errors


def order_and_pay_whole(page, table_name: str, query: str, plu: str) -> tuple[int, dict]:
    """One dish on a table, sent; Pay; the whole check as one part: its tip step. The check's
    id and the part."""
    open_table(page, table_name, guests=1)
    search_and_tap(page, query, plu)
    # The line is on the check (the add answered) before Send: a busy machine is slow to add.
    expect(page.locator("#lines .line")).to_have_count(1)
    page.locator('#check-actions [data-action="send"]').tap()
    expect(page.locator(".toast", has_text="Sent 1 lines")).to_be_visible()
    tab = check_id(page)
    page.locator('#check-actions [data-action="pay"]').tap()
    page.locator('#pay-parts [data-action="pay-whole"]').tap()
    flow = page.locator(".pay-flow")
    expect(flow).to_have_attribute("data-step", "tip")
    return tab, api_get(page, f"checks/{tab}/bill")["bill"]["parts"][0]


def test_a_busy_reader_a_canceled_payment_and_a_second_tablet_following_it(
    brigade_server, chromium_browser
):
    daan = new_tablet(chromium_browser, brigade_server)
    sanne = new_tablet(chromium_browser, brigade_server)
    sign_in(daan, DAAN)
    sign_in(sanne, SANNE)
    admin = reader_page(chromium_browser, brigade_server)

    # Daan: table 3 by card on the Bar reader, no tip
    tab3, part3 = order_and_pay_whole(daan, "3", "carpaccio", "D101")
    flow = daan.locator(".pay-flow")
    flow.locator('[data-tip="none"]').tap()
    flow.locator("#pay-card").tap()
    flow.locator('#card-readers [data-reader]:has-text("Bar reader")').tap()
    flow.locator("#card-start").tap()
    expect(flow.locator("#card-status")).to_have_text(
        f"Waiting for the card on Bar reader — {money(part3['total'])}"
    )

    # Sanne: table 4 on the same reader: not taken, with the server's reason; her payment
    # stays (with its PaymentIntent) for "Try again" once the reader is free
    _tab4, part4 = order_and_pay_whole(sanne, "4", "mosselen", "D205")
    other = sanne.locator(".pay-flow")
    other.locator('[data-tip="none"]').tap()
    other.locator("#pay-card").tap()
    other.locator('#card-readers [data-reader]:has-text("Bar reader")').tap()
    other.locator("#card-start").tap()
    expect(other.locator("#card-status")).to_have_text(
        "Not on the reader: The reader is busy with another payment: finish or cancel it "
        "there first."
    )
    expect(other).to_have_attribute("data-card", "declined")

    # Daan cancels his: back to his part, which is open again
    flow.locator("#card-cancel").tap()
    expect(flow).to_have_attribute("data-step", "tender")
    expect(daan.locator(".toast", has_text="The card payment was canceled.")).to_be_visible()
    [payment] = api_get(daan, f"checks/{tab3}/bill")["bill"]["parts"][0]["payments"]
    assert (payment["status"], payment["reader"] is not None) == ("canceled", True)
    flow.locator("#pay-cancel").tap()
    expect(flow).to_have_count(0)
    card3 = daan.locator(f'#pay-parts .part-card[data-part="{part3["id"]}"]')
    expect(card3).to_have_attribute("data-status", "open")
    expect(card3.locator(".chip-card")).to_have_count(0)

    # Now the reader is free: Sanne tries again, the same payment on it
    other.locator("#card-retry").tap()
    expect(other).to_have_attribute("data-card", "waiting")
    expect(other.locator("#card-status")).to_have_text(
        f"Waiting for the card on Bar reader — {money(part4['total'])}"
    )

    # Daan opens table 4's Pay screen too: the part is on the reader; its dialog follows it
    daan.locator("#pay-back").tap()
    daan.locator("#back-to-floor").tap()
    open_table(daan, "4", guests=1)
    daan.locator('#check-actions [data-action="pay"]').tap()
    card4 = daan.locator(f'#pay-parts .part-card[data-part="{part4["id"]}"]')
    expect(card4.locator(".chip-card")).to_have_text("on the card reader")
    card4.locator(".pc-pay").tap()
    flow = daan.locator(".pay-flow")
    expect(flow).to_have_attribute("data-card", "waiting")
    expect(flow.locator("#card-status")).to_have_text(
        f"Waiting for the card on Bar reader — {money(part4['total'])}"
    )

    station = reader_shows(admin, "Bar reader", money(part4["total"]))
    tap_card(station, "Mastercard — approved")
    for page in (sanne, daan):
        dialog = page.locator(".pay-flow")
        expect(dialog).to_have_attribute("data-step", "done", timeout=CARD_TIMEOUT)
        expect(dialog.locator("#card-approved")).to_have_text("Approved — Mastercard •••• 4444")
        expect(dialog.locator("#pay-closed-notice")).to_have_text("Check closed — table free")
    sanne.locator('.pay-flow [data-receipt="none"]').tap()
    daan.locator('.pay-flow [data-receipt="none"]').tap()
    for page in (sanne, daan):
        expect(page.locator("#screen-floor")).to_be_visible(timeout=6000)
        expect(table(page, "4")).to_have_attribute("data-status", "free")
    assert not daan.js_errors and not sanne.js_errors and not admin.js_errors
