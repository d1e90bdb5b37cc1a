"""Every amount the tablet shows comes from the server: the bill's tip options and cash due,
the cash quote (tip, cash due after rounding, change), the split preview and the drawer count.

The quote and the preview run the same code as the payment and the split, so what a cashier
is shown is what is then taken; the tablet's JavaScript keeps no money arithmetic of its own.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments import services as pay_services
from payments.models import BillPart, DrawerSession, Payment
from payments.selectors import bill_of, payment_tip_basis, refundable
from payments.splitting import tip_for
from restaurant.money import round_cash
from tests.payments.conftest import table_check
from tests.pos.conftest import tablet

JS = Path(__file__).resolve().parents[2] / "static" / "pos" / "js"


def key() -> str:
    return str(uuid.uuid4())


def split_evenly(bistro, tab, ways=2):
    pay_services.bill_split(tab=tab, actor=bistro.server, mode="even", ways=ways)
    return bill_of(check_id=tab.pk, venue=bistro.venue)


# --- the bill ----------------------------------------------------------------------------------


def test_each_part_carries_its_tips_cash_due_and_half(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.pasta, 2), (bistro.beer, 1)])
    split_evenly(bistro, tab, ways=3)
    api = tablet(bistro.venue, "1111")
    bill = api.get(f"checks/{tab.pk}/bill").json()["bill"]
    assert bill["left_to_split"] == bill["total"] == 2450 + 947 + 450
    for part in bill["parts"]:
        assert part["cash_due"] == round_cash(part["balance"], 5)
        assert part["cash_rounding"] == part["cash_due"] - part["balance"]
        assert part["half"] == (part["balance"] + 1) // 2
        assert [o["percent"] for o in part["tip_options"]] == [5, 10, 15]
        for option in part["tip_options"]:
            assert option["amount"] == tip_for(part["tip_basis"], option["percent"])
    # 3847 / 3 = 1282.33: the cents go to the first part, and 1283 rounds to 1285 in cash.
    assert [p["balance"] for p in bill["parts"]] == [1283, 1282, 1282]
    assert [p["cash_due"] for p in bill["parts"]] == [1285, 1280, 1280]


def test_a_partly_paid_part_is_not_split_again(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.beer, 1)])
    bill = split_evenly(bistro, tab)
    first = bill.parts[0]
    pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=first.part.pk, amount=500)
    api = tablet(bistro.venue, "1111")
    answer = api.get(f"checks/{tab.pk}/bill").json()["bill"]
    assert answer["left_to_split"] == answer["total"] - first.amounts.total


# --- the cash quote ----------------------------------------------------------------------------


def test_the_quote_is_what_the_payment_then_takes(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.risotto, 2)])
    part = split_evenly(bistro, tab).parts[1]
    api = tablet(bistro.venue, "1111")
    body = {"amount": 1001, "tip_percent": "12.5", "tendered": 2000}
    quote = api.post(f"checks/{tab.pk}/bill/parts/{part.part.pk}/cash-quote", body)
    assert quote.status_code == 200, quote.content
    quote = quote.json()
    assert Payment.objects.count() == 0  # a quote takes nothing
    paid = api.post(
        f"checks/{tab.pk}/payments", {"part": part.part.pk, "method": "cash", **body}, key=key()
    )
    assert paid.status_code == 201, paid.content
    payment = paid.json()["payment"]
    assert (quote["amount"], quote["tip"], quote["tip_percent"]) == (1001, payment["tip"], "12.5")
    assert quote["rounding"] == payment["rounding"]
    assert quote["cash_due"] == payment["collected"] == 1001 + payment["tip"] + payment["rounding"]
    assert (quote["tendered"], quote["change"]) == (payment["tendered"], payment["change"])
    assert quote["short"] == 0 and quote["change"] == 2000 - quote["cash_due"]


def test_the_quote_says_what_is_short_and_suggests_notes(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    part = split_evenly(bistro, tab, ways=2).parts[0]  # 1225 each
    api = tablet(bistro.venue, "1111")
    url = f"checks/{tab.pk}/bill/parts/{part.part.pk}/cash-quote"
    exact = api.post(url, {}).json()
    assert (exact["amount"], exact["tip"], exact["due"], exact["cash_due"]) == (1225, 0, 1225, 1225)
    assert exact["tendered"] == 1225 and exact["change"] == exact["short"] == 0
    assert exact["tender_options"] == [1225, 1500, 2000, 5000]
    short = api.post(url, {"tip": 100, "tendered": 1000}).json()
    assert (short["due"], short["cash_due"]) == (1325, 1325)
    assert (short["short"], short["change"]) == (325, 0)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount": 999999}, 400, "overpayment", "amount"),
        ({"amount": 0}, 400, "invalid", "amount"),
        ({"tip_percent": 120}, 400, "invalid", "tip_percent"),
        ({"tip_percent": "lots"}, 400, "invalid_type", "tip_percent"),
        ({"tip": 5, "tip_percent": 5}, 400, "invalid", "tip_percent"),
        ({"tendered": "20"}, 400, "invalid_type", "tendered"),
        ({"bogus": 1}, 400, "unknown_field", "bogus"),
    ],
)
def test_a_bad_quote_is_refused_naming_the_field(bistro, till, body, status, code, field):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    part = split_evenly(bistro, tab, ways=2).parts[0]
    api = tablet(bistro.venue, "1111")
    response = api.post(f"checks/{tab.pk}/bill/parts/{part.part.pk}/cash-quote", body)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


def test_a_quote_needs_payment_rights_and_a_part_of_this_check(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    other, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.wine, 1)])
    part = split_evenly(bistro, tab, ways=2).parts[0]
    other_part = split_evenly(bistro, other, ways=2).parts[0]
    host = tablet(bistro.venue, "4444", name="Host tablet")
    refused = host.post(f"checks/{tab.pk}/bill/parts/{part.part.pk}/cash-quote", {})
    assert refused.status_code == 403
    api = tablet(bistro.venue, "1111")
    elsewhere = api.post(f"checks/{tab.pk}/bill/parts/{other_part.part.pk}/cash-quote", {})
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["field"] == "part"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_quote_invariants(bistro, till, data):
    tab = getattr(bistro, "quoted", None)
    if tab is None:  # one check for every example: quotes change nothing
        tab, _ = table_check(
            bistro, lines=[(bistro.steak, 1), (bistro.wine, 2), (bistro.pasta, 3, 2)]
        )
        split_evenly(bistro, tab, ways=3)
        bistro.quoted = tab
    bill = bill_of(check_id=tab.pk, venue=bistro.venue)
    view = data.draw(st.sampled_from(bill.parts))
    # From 3 cents: 1 or 2 cents round to no cash at all (the payment refuses that as well).
    amount = data.draw(st.one_of(st.none(), st.integers(3, view.balance)))
    percent = data.draw(
        st.one_of(st.none(), st.decimals(0, 100, places=1, allow_nan=False, allow_infinity=False))
    )
    tendered = data.draw(st.one_of(st.none(), st.integers(1, 100_000)))
    quote = pay_services.cash_quote(
        tab=tab,
        actor=bistro.server,
        part_id=view.part.pk,
        amount=amount,
        tip_percent=percent,
        tendered=tendered,
    )
    paid = view.balance if amount is None else amount
    basis = payment_tip_basis(view, bistro.venue, paid)
    assert quote["amount"] == paid
    assert quote["tip"] == (0 if percent is None else tip_for(basis, percent))
    assert quote["due"] == paid + quote["tip"]
    assert quote["cash_due"] == round_cash(quote["due"], 5) and quote["cash_due"] % 5 == 0
    assert quote["rounding"] == quote["cash_due"] - quote["due"] and abs(quote["rounding"]) <= 2
    assert quote["tendered"] == (quote["cash_due"] if tendered is None else tendered)
    assert quote["change"] >= 0 and quote["short"] >= 0 and 0 in (quote["change"], quote["short"])
    assert quote["change"] - quote["short"] == quote["tendered"] - quote["cash_due"]
    options = quote["tender_options"]
    assert options[0] == quote["cash_due"] and options == sorted(set(options))
    assert all(o % 500 == 0 for o in options[1:]) and len(options) <= 4
    assert [o["amount"] for o in quote["tip_options"]] == [tip_for(basis, p) for p in (5, 10, 15)]


@settings(max_examples=300, deadline=None)
@given(due=st.integers(1, 9_999_999), currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_tender_options_are_the_next_round_notes(due, currency):
    unit = {"EUR": 100, "JPY": 1, "KWD": 1000}[currency]
    options = pay_services.tender_options(due, currency)
    assert options[0] == due
    for option in options[1:]:
        assert option > due
        assert any(option % (n * unit) == 0 and option - due < n * unit for n in (5, 10, 50, 100))
    assert options == sorted(set(options)) and len(options) <= 4


# --- the split preview -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "even", "ways": 3},
        {"mode": "amounts", "amounts": [1000, 2501]},
        {"mode": "seat"},
        {"mode": "whole"},
    ],
)
def test_the_split_preview_is_the_split_and_stores_nothing(bistro, till, body):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.risotto, 2), (bistro.beer, 0)])
    api = tablet(bistro.venue, "1111")
    preview = api.post(f"checks/{tab.pk}/bill/split-preview", body)
    assert preview.status_code == 200, preview.content
    preview = preview.json()
    assert not BillPart.objects.filter(tab=tab).exists()
    assert preview["left_to_split"] == 2450 + 1950 + 450
    split = api.post(f"checks/{tab.pk}/bill/split", body, key=key()).json()["bill"]
    assert [(p["label"], p["total"]) for p in preview["parts"]] == [
        (p["label"], p["total"]) for p in split["parts"]
    ]
    assert preview["unassigned"] == split["unassigned"]["total"]


def test_the_split_preview_refuses_what_the_split_refuses(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    api = tablet(bistro.venue, "1111")
    response = api.post(
        f"checks/{tab.pk}/bill/split-preview", {"mode": "amounts", "amounts": [451]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "amounts_exceed_total"
    host = tablet(bistro.venue, "4444", name="Host tablet")
    assert host.post(f"checks/{tab.pk}/bill/split-preview", {"mode": "whole"}).status_code == 403


# --- the drawer count --------------------------------------------------------------------------


def test_the_drawer_count_is_added_up_by_the_server(bistro, till):
    manager = tablet(bistro.venue, "2222")
    url = f"drawer-sessions/{till.pk}/count"
    counted = manager.post(url, {"denominations": {"5000": 2, "200": 7, "5": 0, "10": 3}})
    assert counted.status_code == 200, counted.content
    assert counted.json() == {
        "counted": 10000 + 1400 + 30,
        "lines": [
            {"value": 5000, "count": 2, "amount": 10000},
            {"value": 200, "count": 7, "amount": 1400},
            {"value": 10, "count": 3, "amount": 30},
        ],
    }
    assert manager.post(url, {"denominations": {}}).json() == {"counted": 0, "lines": []}
    too_much = manager.post(url, {"denominations": {"10000000": 100000}})
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "count_too_large"
    server = tablet(bistro.venue, "1111", name="Server tablet")
    assert server.post(url, {"denominations": {"5000": 1}}).status_code == 403
    till.refresh_from_db()
    assert till.status == DrawerSession.Status.OPEN and till.counted is None


# --- refunds ------------------------------------------------------------------------------------


def test_what_a_refund_can_give_back_is_the_servers():
    card = Payment(method="card", status="succeeded", amount=2000, tip=150, refunded=500)
    assert refundable(card) == 1650
    assert refundable(Payment(method="card", status="pending", amount=2000, tip=0)) == 0
    assert refundable(Payment(method="cash", status="succeeded", amount=2000, tip=0)) == 0


# --- the tablet's JavaScript -------------------------------------------------------------------

# Rounding, and the helpers that did the server's money math in the browser.
FORBIDDEN = re.compile(
    r"Math\.(round|floor|ceil|trunc)\b|toFixed\(|divRound|roundCash|tipFor|quickTenders"
    r"|\bMINOR\b|\.reduce\([^)]*\+|money\([^)]*\s[-+*/]\s"
)
MONEY_WORDS = re.compile(r"amount|total|balance|tip|due|cash|change|paid|counted|basis|price")
ARITHMETIC = re.compile(r"(?<![=!<>+\-*/])\s[-+*/]\s(?!=)")


@pytest.mark.parametrize(
    "name", ["pay.js", "card.js", "drawer.js", "util.js", "modifiers.js", "check.js"]
)
def test_the_tablet_computes_no_money(name):
    source = (JS / name).read_text()
    lines = [re.sub(r"\s//.*$", "", line) for line in source.splitlines()]  # code, not comments
    found = [(n, line) for n, line in enumerate(lines, 1) if FORBIDDEN.search(line)]
    assert not found, found
    # No + - * / between amounts either (display of the server's numbers only).
    mixed = [
        (n, line)
        for n, line in enumerate(lines, 1)
        if not line.lstrip().startswith(("//", "*", "/*"))
        and ARITHMETIC.search(line)
        and MONEY_WORDS.search(line)
    ]
    assert not mixed, mixed


def test_the_check_on_the_javascript_can_fail(tmp_path):
    """The two patterns above catch what the tablet used to do."""
    old = [
        "return divRoundHalfUp(amount, step) * step;",
        "const change = Math.max(0, tendered - due.cash);",
        "const next = Math.ceil(due / note) * note;",
        "sub.textContent = money(value * clean);",
    ]
    for line in old:
        assert FORBIDDEN.search(line) or (ARITHMETIC.search(line) and MONEY_WORDS.search(line))
