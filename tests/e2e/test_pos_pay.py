"""Paying at the table on the tablet, in a real browser against the real product.

Sanne (manager) opens the bar till with a counted €150.00 float on the Drawer screen. Daan
takes table 12 for three guests (a dish each and a shared bottle), sends, and on the Pay
screen splits by seat: three parts to the cent. Seat 1 pays cash where the 5-cent rounding
applies; seat 2 turns the tablet to the guest for a 10% tip and pays in two halves ("Part of
it"); seat 3 pays exactly and takes an emailed receipt. The check closes, table 12 is free on
both tablets, it shows among the closed checks, and Sanne counts the drawer a little short and
sees the variance. Screenshots go to SCREENSHOT_DIR as pos-pay-*.png.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import SCREENSHOT_DIR
from tests.e2e.test_pos_tablet import (
    DAAN,
    LIVE_TIMEOUT,
    SANNE,
    expect,
    line,
    new_tablet,
    open_table,
    search_and_tap,
    sign_in,
    table,
)

pytestmark = pytest.mark.browser


def money(cents: int) -> str:
    """As the tablet shows it in en-GB: 2312 -> "€23.12"."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}€{cents // 100:,}.{cents % 100:02d}"


def half_up(a: int, b: int) -> int:
    """a / b rounded half up (restaurant.money.round_half_up), for a >= 0, b > 0."""
    return (2 * a + b) // (2 * b)


def round_cash(amount: int, step: int) -> int:
    return half_up(amount, step) * step


def shot(page, name: str) -> None:
    page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
    path = SCREENSHOT_DIR / f"pos-pay-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def api_get(page, path: str) -> dict:
    return page.evaluate(
        "p => fetch('/api/v1/' + p, {credentials: 'same-origin', cache: 'no-store'})"
        ".then(r => r.json())",
        path,
    )


def api_post(page, path: str, body: dict) -> dict:
    """A write as the tablet makes it (CSRF token, Idempotency-Key)."""
    return page.evaluate(
        """([p, body]) => fetch('/api/v1/' + p, {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID(),
                      'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]},
            body: JSON.stringify(body)}).then(r => r.json())""",
        [path, body],
    )


def check_id(page) -> int:
    return int(re.search(r"#check-(\d+)", page.url).group(1))


def keys(page, pad: str, digits: str) -> None:
    for digit in digits:
        page.locator(f'#{pad} [data-key="{digit}"]').tap()


def pay_part(page, part_id: int):
    """Tap a part's Pay button on the Pay screen: the payment dialog opens on the tip step."""
    page.locator(f'#pay-parts .part-card[data-part="{part_id}"] .pc-pay').tap()
    flow = page.locator(".pay-flow")
    expect(flow).to_have_attribute("data-step", "tip")
    return flow


def test_a_table_of_three_splits_by_seat_and_pays_cash(brigade_server, chromium_browser):
    sanne = new_tablet(chromium_browser, brigade_server)
    daan = new_tablet(chromium_browser, brigade_server)
    sign_in(sanne, SANNE)
    sign_in(daan, DAAN)

    # --- Sanne opens the bar till with €150.00 (typed like a till: 1 5 0 0 0) -------------
    sanne.locator("#nav-drawer").tap()
    till = sanne.locator(".drawer-card", has_text="Bar till")
    expect(till).to_have_attribute("data-state", "closed")
    till.locator('[data-drawer-action="open"]').tap()
    keys(sanne, "float-pad", "15000")
    expect(sanne.locator("#float-pad-value")).to_have_text("€150.00")
    sanne.locator("#drawer-open-confirm").tap()
    expect(till).to_have_attribute("data-state", "open")
    expect(till.locator('[data-row="float"] dd')).to_have_text("€150.00")
    expect(till.locator('[data-row="expected"] dd')).to_have_text("€150.00")
    sanne.locator("#back-to-floor").tap()
    expect(sanne.locator("#screen-floor")).to_be_visible()

    # --- Daan: table 12, a dish on each seat and a bottle for the table ----------------------
    open_table(daan, "12", guests=3)
    for seat, query, plu in [
        (1, "carpaccio", "D101"),  # €13.95
        (2, "mosselen", "D205"),  # €23.95
        (3, "risotto", "D207"),  # €19.50
        (0, "rood", "B406"),  # house red, the bottle (€27.50), shared
    ]:
        daan.locator(f'#seat-select [data-seat="{seat}"]').tap()
        search_and_tap(daan, query, plu)
    expect(daan.locator("#check-total")).to_have_text("€84.90")
    daan.locator('#check-actions [data-action="send"]').tap()
    expect(daan.locator(".toast", has_text="Sent 4 lines")).to_be_visible()
    tab = check_id(daan)

    # --- Pay -> By seat: three parts to the cent ---------------------------------------------
    daan.locator('#check-actions [data-action="pay"]').tap()
    expect(daan.locator("#screen-pay")).to_be_visible()
    expect(daan.locator("#pay-balance")).to_have_text("€84.90")
    expect(daan.locator("#pay-summary .ps-row.vat")).to_have_count(2)  # 9% food, 21% wine
    daan.locator('#pay-split [data-split="seat"]').tap()
    expect(daan.locator("#seat-groups .seat-group")).to_have_count(3)
    daan.locator('#seat-groups [data-seat="1"]').tap()
    daan.locator('#seat-groups [data-seat="2"]').tap()
    daan.locator("#seat-together").tap()
    expect(daan.locator("#seat-groups .seat-group")).to_have_count(2)
    shot(daan, "seats")
    daan.locator("#seat-apart").tap()
    expect(daan.locator("#seat-groups .seat-group")).to_have_count(3)
    daan.locator("#split-apply").tap()
    cards = daan.locator("#pay-parts .part-card[data-part]")
    expect(cards).to_have_count(3)
    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    seat1, seat2, seat3 = bill["parts"]
    assert [p["label"] for p in bill["parts"]] == ["Seat 1", "Seat 2", "Seat 3"]
    assert sum(p["total"] for p in bill["parts"]) == bill["total"] == 8490
    for part in bill["parts"]:
        card = daan.locator(f'#pay-parts .part-card[data-part="{part["id"]}"]')
        expect(card.locator(".pc-total")).to_have_text(money(part["total"]))
        expect(card.locator(".pc-balance")).to_have_text(money(part["total"]))
        expect(card.locator(".pc-vat .vat")).to_have_count(len(part["taxes"]))
    shot(daan, "split")

    # --- Seat 1: cash, rounded to 5 cents, €30 handed over -----------------------------------
    assert seat1["total"] % 5, "seat 1 should owe an amount that cash rounding changes"
    due = round_cash(seat1["total"], bill["cash_rounding"])
    assert due == seat1["cash_due"]
    flow = pay_part(daan, seat1["id"])
    flow.locator('[data-tip="none"]').tap()
    expect(flow).to_have_attribute("data-step", "tender")
    expect(flow.locator("#pay-amount")).to_have_text(money(seat1["total"]))
    expect(flow.locator("#cash-due")).to_have_text(money(due))
    expect(flow.locator("#cash-rounded")).to_contain_text(money(seat1["total"]))
    expect(flow.locator("#pay-card")).to_be_enabled()  # card on a reader: test_pos_card.py
    tendered = (due // 1000 + 1) * 1000  # the next €10 note: one of the quick buttons
    flow.locator(f'[data-tender="{tendered}"]').tap()
    expect(flow.locator("#change-preview")).to_have_text(money(tendered - due))
    flow.locator("#take-cash").tap()
    expect(flow).to_have_attribute("data-step", "done")
    expect(flow.locator("#change-due")).to_have_text(money(tendered - due))
    shot(daan, "change")
    flow.locator('[data-receipt="none"]').tap()
    expect(flow).to_have_count(0)
    seat1_card = daan.locator(f'#pay-parts .part-card[data-part="{seat1["id"]}"]')
    expect(seat1_card).to_have_attribute("data-status", "paid")
    expect(seat1_card.locator(".pc-label")).to_contain_text("✓")
    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    [payment] = bill["parts"][0]["payments"]
    assert (payment["amount"], payment["tip"]) == (seat1["total"], 0)
    assert payment["rounding"] == due - seat1["total"]
    assert (payment["tendered"], payment["change"]) == (tendered, tendered - due)
    expect(daan.locator("#pay-paid")).to_have_text(money(seat1["total"]))

    # --- Seat 2: the guest picks a 10% tip, then pays half, then the rest --------------------
    seat2 = bill["parts"][1]
    ten = next(o["amount"] for o in seat2["tip_options"] if o["percent"] == 10)
    flow = pay_part(daan, seat2["id"])
    expect(flow.locator('.tip-btn[data-tip="10"]')).to_contain_text(f"10%+{money(ten)}")
    shot(daan, "tip")
    flow.locator("#turn-to-guest").tap()
    expect(flow).to_have_class(re.compile("guest-facing"))
    expect(flow.locator("#guest-due")).to_have_text(money(seat2["balance"]))
    expect(flow.locator('.gf-tip[data-tip="10"]')).to_contain_text(money(ten))
    box = flow.bounding_box()
    assert (box["width"], box["height"]) == (1024, 768)  # the whole screen, for the guest
    shot(daan, "tip-guest")
    flow.locator('.gf-tip[data-tip="10"]').tap()
    expect(flow).to_have_attribute("data-step", "tender")
    expect(flow).not_to_have_class(re.compile("guest-facing"))
    expect(flow.locator("#pay-tip")).to_have_text(money(ten))
    flow.locator("#part-of-it").tap()
    flow.locator('#part-pad [data-quick="half"]').tap()
    half = (seat2["balance"] + 1) // 2
    expect(flow.locator("#part-pad-value")).to_have_text(money(half))
    shot(daan, "part-of-it")
    flow.locator("#pad-ok").tap()
    tip1 = half_up(half_up(seat2["tip_basis"] * half, seat2["total"]) * 10, 100)
    due1 = round_cash(half + tip1, bill["cash_rounding"])
    expect(flow.locator("#pay-amount")).to_have_text(money(half))
    expect(flow.locator("#pay-tip")).to_have_text(money(tip1))
    expect(flow.locator("#cash-due")).to_have_text(money(due1))
    flow.locator('[data-tender="exact"]').tap()
    flow.locator("#take-cash").tap()
    expect(flow).to_have_attribute("data-step", "done")
    expect(flow.locator(".change-due")).to_contain_text("No change")
    flow.locator('[data-receipt="none"]').tap()
    expect(flow).to_have_count(0)
    seat2_card = daan.locator(f'#pay-parts .part-card[data-part="{seat2["id"]}"]')
    expect(seat2_card).to_have_attribute("data-status", "open")
    expect(seat2_card.locator(".pc-paid")).to_have_text(money(half))
    expect(seat2_card.locator(".pc-balance")).to_have_text(money(seat2["balance"] - half))

    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    seat2 = bill["parts"][1]
    [first] = seat2["payments"]
    assert (first["amount"], first["tip"], first["collected"]) == (half, tip1, due1)
    rest = seat2["balance"]
    tip2 = next(o["amount"] for o in seat2["tip_options"] if o["percent"] == 10)
    flow = pay_part(daan, seat2["id"])
    flow.locator('.tip-btn[data-tip="10"]').tap()
    due2 = round_cash(rest + tip2, bill["cash_rounding"])
    expect(flow.locator("#pay-amount")).to_have_text(money(rest))
    expect(flow.locator("#pay-tip")).to_have_text(money(tip2))
    expect(flow.locator("#cash-due")).to_have_text(money(due2))
    flow.locator("#tender-other").tap()
    keys(daan, "tender-pad", "2000")
    expect(flow.locator("#tender-pad-value")).to_have_text("€20.00")
    flow.locator("#pad-ok").tap()
    expect(flow.locator("#change-preview")).to_have_text(money(2000 - due2))
    flow.locator("#take-cash").tap()
    expect(flow.locator("#change-due")).to_have_text(money(2000 - due2))
    flow.locator('[data-receipt="print"]').tap()
    expect(flow).to_have_count(0)
    expect(seat2_card).to_have_attribute("data-status", "paid")
    bill = api_get(daan, f"checks/{tab}/bill")["bill"]
    seat2 = bill["parts"][1]
    assert [p["tip"] for p in seat2["payments"]] == [tip1, tip2]
    # the two payments' tips come to 10% of the seat's tip basis (to the cent, split fairly)
    assert abs(tip1 + tip2 - half_up(seat2["tip_basis"] * 10, 100)) <= 1

    # --- Seat 3: exactly the cash due, an emailed receipt; the check closes -----------------
    seat3 = bill["parts"][2]
    due3 = round_cash(seat3["total"], bill["cash_rounding"])
    flow = pay_part(daan, seat3["id"])
    flow.locator('[data-tip="none"]').tap()
    expect(flow.locator("#cash-due")).to_have_text(money(due3))
    flow.locator('[data-tender="exact"]').tap()
    expect(flow.locator("#change-preview")).to_have_text("€0.00")
    flow.locator("#take-cash").tap()
    expect(flow.locator(".change-due")).to_contain_text("No change")
    expect(flow.locator("#pay-closed-notice")).to_have_text("Check closed — table free")
    flow.locator('[data-receipt="email"]').tap()
    flow.locator("#receipt-email").fill("guest@example.test")
    flow.locator("#receipt-send").tap()
    expect(flow).to_have_count(0)
    expect(daan.locator("#pay-closed")).to_contain_text("Check closed — table free")
    expect(daan.locator("#screen-floor")).to_be_visible(timeout=6000)
    expect(table(daan, "12")).to_have_attribute("data-status", "free")
    expect(table(sanne, "12")).to_have_attribute("data-status", "free", timeout=LIVE_TIMEOUT)
    closed = api_get(daan, f"checks/{tab}")
    assert closed["status"] == "closed" and closed["paid_amount"] == 8490
    mails = list((brigade_server.data_dir / "mail").glob("*"))
    assert any("guest@example.test" in m.read_text(errors="replace") for m in mails)

    # --- the check among today's closed ones, read-only -------------------------------------
    sanne.locator("#nav-closed").tap()
    row = sanne.locator(f'#closed-list [data-check="{tab}"]')
    expect(row).to_contain_text("€84.90")
    row.tap()
    expect(sanne.locator("#closed-total")).to_have_text("€84.90")
    expect(sanne.locator("#closed-detail .cd-part")).to_have_count(3)
    expect(sanne.locator("#closed-reopen")).to_be_visible()

    # --- Sanne counts the drawer (a little short) and closes it -----------------------------
    sanne.locator("#nav-drawer").tap()
    drawers = api_get(sanne, "drawers")["drawers"]
    report = drawers[0]["session"]["report"]
    tips = tip1 + tip2
    assert report["cash_sales"] == 8490 and report["cash_tips"] == tips
    expected = 15000 + 8490 + tips + report["rounding"]
    assert report["expected"] == expected
    expect(till.locator('[data-row="expected"] dd')).to_have_text(money(expected))
    expect(till.locator('[data-row="cash_sales"] dd')).to_have_text("€84.90")
    shot(sanne, "drawer")
    till.locator('[data-drawer-action="close"]').tap()
    count = sanne.locator(".count-dialog")
    for value, taps in [(10000, 2), (2000, 1), (1000, 1), (500, 1)]:
        for _ in range(taps):
            count.locator(f'.den-row[data-den="{value}"] [data-step="1"]').tap()
    count.locator('.den-row[data-den="100"] input').fill("2")
    counted = 2 * 10000 + 2000 + 1000 + 500 + 2 * 100
    expect(count.locator("#count-total")).to_have_text(money(counted))
    shot(sanne, "drawer-count")
    count.locator("#drawer-close-confirm").tap()
    result = sanne.locator(".close-result-dialog .close-result")
    variance = counted - expected
    assert variance < 0
    expect(result.locator(".variance")).to_have_text(f"Short {money(-variance)}")
    expect(result).to_have_class(re.compile("short"))
    expect(result.locator('[data-value="expected"]')).to_have_text(money(expected))
    expect(result.locator('[data-value="counted"]')).to_have_text(money(counted))
    expect(result).to_contain_text("Closed by Sanne")
    shot(sanne, "drawer-close")
    sanne.locator(".close-result-dialog").get_by_role("button", name="OK").tap()
    expect(till).to_have_attribute("data-state", "closed")
    expect(till.locator(".variance")).to_have_text(f"Short {money(-variance)}")
    assert not daan.js_errors and not sanne.js_errors


def test_a_bottle_split_three_ways_by_item_and_a_closed_check_reopened(
    brigade_server, chromium_browser
):
    sanne = new_tablet(chromium_browser, brigade_server)
    daan = new_tablet(chromium_browser, brigade_server)
    sign_in(sanne, SANNE)
    sign_in(daan, DAAN)
    # This test starts with the till closed (the test above may have left it either way).
    for drawer in api_get(sanne, "drawers")["drawers"]:
        if drawer["session"]:
            session = drawer["session"]
            api_post(
                sanne,
                f"drawer-sessions/{session['id']}/close",
                {"counted": session["report"]["expected"]},
            )

    open_table(sanne, "7", guests=3)
    for seat, query, plu in [
        (0, "rosé", "B404"),  # a bottle of rosé (€29.50) for the three of them
        (1, "carpaccio", "D101"),
        (2, "bitter", "B601"),
        (3, "spa", "B203"),
    ]:
        sanne.locator(f'#seat-select [data-seat="{seat}"]').tap()
        search_and_tap(sanne, query, plu)
    expect(line(sanne, "Spa rood")).to_have_count(1)
    tab = check_id(sanne)
    bottle = next(x for x in api_get(sanne, f"checks/{tab}")["lines"] if x["seat"] == 0)

    # By item: each line is on its seat's guest already; the bottle goes to everyone.
    sanne.locator('#check-actions [data-action="pay"]').tap()
    sanne.locator('#pay-split [data-split="items"]').tap()
    grid = sanne.locator("#item-grid")
    expect(sanne.locator("#split-apply")).to_be_disabled()  # the bottle is on nobody yet
    expect(sanne.locator("#item-status")).to_contain_text("Lines not on anyone yet: 1")
    sanne.locator(f'[data-all-line="{bottle["id"]}"]').tap()
    expect(
        grid.locator(f'.ig-cell[data-line="{bottle["id"]}"][aria-pressed="true"]')
    ).to_have_count(3)
    expect(grid.locator(f'.ig-cell[data-line="{bottle["id"]}"]').first).to_have_text("1/3")
    expect(sanne.locator("#split-apply")).to_be_enabled()
    shot(sanne, "items")
    sanne.locator("#split-apply").tap()
    cards = sanne.locator("#pay-parts .part-card[data-part]")
    expect(cards).to_have_count(3)
    bill = api_get(sanne, f"checks/{tab}/bill")["bill"]
    assert [p["label"] for p in bill["parts"]] == ["Guest 1", "Guest 2", "Guest 3"]
    assert sum(p["total"] for p in bill["parts"]) == bill["total"]
    for part in bill["parts"]:
        share = next(s for s in part["shares"] if s["line"] == bottle["id"])
        assert (share["numerator"], share["denominator"]) == (1, 3)
        card = sanne.locator(f'#pay-parts .part-card[data-part="{part["id"]}"]')
        expect(card.locator(".pc-total")).to_have_text(money(part["total"]))

    # Meanwhile Daan adds a water for seat 1 on his tablet: Sanne's bill follows, live, and
    # shows it as not on any part yet.
    open_table(daan, "7", guests=3)
    daan.locator('#seat-select [data-seat="1"]').tap()
    search_and_tap(daan, "spa", "B203")
    expect(line(daan, "Spa rood")).to_have_count(2)
    daan.locator("#back-to-floor").tap()
    unassigned = sanne.locator("#pay-unassigned")
    expect(unassigned).to_contain_text("Not on any part yet: €3.25", timeout=LIVE_TIMEOUT)
    expect(sanne.locator(".toast", has_text="Updated by another tablet")).to_be_visible()
    bill = api_get(sanne, f"checks/{tab}/bill")["bill"]
    assert bill["unassigned"]["total"] == 325
    expect(sanne.locator("#pay-balance")).to_have_text(money(bill["total"]))

    # Guest 3 pays in two; then evenly in 2; then €20.00 and the rest; then the whole check.
    guest3 = bill["parts"][2]
    sanne.locator(f'.part-card[data-part="{guest3["id"]}"] [data-split-part]').tap()
    expect(cards).to_have_count(4)
    expect(sanne.locator("#pay-parts .pc-label")).to_have_text(
        ["Guest 1", "Guest 2", "Guest 3 1/2", "Guest 3 2/2"]
    )
    sanne.locator('#pay-split [data-split="even"]').tap()
    sanne.locator('#even-ways [data-step="-1"]').tap()
    expect(sanne.locator("#even-preview .preview-chip")).to_have_count(2)
    sanne.locator("#split-apply").tap()
    expect(sanne.locator("#pay-parts .pc-label")).to_have_text(["1/2", "2/2"])
    expect(unassigned).to_have_count(0)  # even parts share everything that is left
    sanne.locator('#pay-split [data-split="amounts"]').tap()
    keys(sanne, "split-amount", "2000")
    sanne.locator("#amount-add").tap()
    expect(sanne.locator("#amount-list .amount-item")).to_have_count(2)  # €20.00 and the rest
    sanne.locator("#split-apply").tap()
    expect(sanne.locator("#pay-parts .pc-total")).to_have_text(
        ["€20.00", money(bill["total"] - 2000)]
    )
    sanne.locator('#pay-split [data-split="whole"]').tap()
    expect(sanne.locator("#pay-parts .pc-label")).to_have_text(["Whole check"])

    # No drawer is open: the cash is refused; Sanne (a manager) opens the till from there.
    whole = api_get(sanne, f"checks/{tab}/bill")["bill"]["parts"][0]
    flow = pay_part(sanne, whole["id"])
    flow.locator('[data-tip="none"]').tap()
    shot(sanne, "tender")
    flow.locator("#take-cash").tap()
    expect(flow.locator("#pay-error")).to_contain_text("No cash drawer is open")
    flow.locator("#pay-open-drawer").tap()
    keys(sanne, "float-pad", "10000")
    sanne.locator("#drawer-open-confirm").tap()
    expect(flow.locator("#pay-error")).to_be_hidden()
    flow.locator("#take-cash").tap()
    expect(flow).to_have_attribute("data-step", "done")
    flow.locator('[data-receipt="none"]').tap()
    expect(sanne.locator("#pay-closed")).to_contain_text("Check closed — table free")
    expect(table(daan, "7")).to_have_attribute("data-status", "free", timeout=LIVE_TIMEOUT)

    # Daan reopens it from the closed checks; Sanne approves with her PIN.
    daan.locator("#nav-closed").tap()
    daan.locator(f'#closed-list [data-check="{tab}"]').tap()
    expect(daan.locator("#closed-total")).to_have_text(money(bill["total"]))
    shot(daan, "closed-checks")
    daan.locator("#closed-reopen").tap()
    dialog = daan.locator(".reopen-dialog")
    dialog.locator('[data-reason="reason_forgot_item"]').tap()
    for digit in "1111":  # Daan may not approve it himself
        dialog.locator(f'[data-key="{digit}"]').tap()
    dialog.locator("#reopen-confirm").tap()
    expect(dialog.locator(".modal-error")).not_to_be_empty()
    for digit in SANNE:
        dialog.locator(f'[data-key="{digit}"]').tap()
    dialog.locator("#reopen-confirm").tap()
    expect(daan.locator("#screen-check")).to_be_visible()
    expect(daan.locator("#check-head")).to_contain_text("Table 7")
    expect(line(daan, "Carpaccio")).to_have_count(1)
    assert api_get(daan, f"checks/{tab}")["status"] == "open"
    expect(table(sanne, "7")).not_to_have_attribute("data-status", "free", timeout=LIVE_TIMEOUT)
    assert not daan.js_errors and not sanne.js_errors
