"""Bills through payments/services.py: splits, cash, tips, closing, reopening, refusals.

Amounts are worked out by hand in the comments (prices include VAT: L 9%, H 21%; cash to 5c).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from orders import services as order_services
from orders.models import Check, CheckAudit
from orders.selectors import FloorStatus, check_floor_status, check_with_lines
from payments import services as pay_services
from payments.models import BillPart, Payment
from payments.selectors import bill_for, drawer_expected
from restaurant.errors import Conflict, PermissionDenied, ValidationFailed
from restaurant.realtime import events_after
from tests.payments.conftest import table_check


def bill_of(tab):
    return bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))


def parts_by_label(bill):
    return {view.part.label: view for view in bill.parts}


def money_state(tab):
    """What a refused request must not have changed."""
    tab.refresh_from_db()
    return (
        tab.status,
        tab.version,
        tab.paid_amount,
        list(BillPart.objects.filter(tab=tab).values_list("pk", "status", "label")),
        list(Payment.objects.values_list("pk", "amount", "tip")),
        CheckAudit.objects.filter(tab=tab).count(),
    )


def test_whole_check_in_cash_rounds_to_five_cents_gives_change_and_frees_the_table(bistro, till):
    # Steak 24.50 + kids pasta 9.47 = 33.97; cash rounds to 33.95 (-0.02); 50.00 tendered
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.pasta, 2)])
    payment = pay_services.payment_cash(tab=tab, actor=bistro.server, tendered=5000)
    assert (payment.amount, payment.tip, payment.rounding) == (3397, 0, -2)
    assert (payment.collected, payment.change) == (3395, 1605)
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED and tab.paid_amount == 3397
    assert check_floor_status(tab) == FloorStatus.FREE
    part = BillPart.objects.get(tab=tab)
    assert part.status == BillPart.Status.PAID and part.frozen["total"] == 3397
    # every tablet hears that the table is free
    events = events_after(venue_id=bistro.venue.pk, after=0)
    last = [e for e in events if e["type"] == "check.changed"][-1]
    assert last["data"]["status"] == "closed" and last["data"]["table"] == bistro.table12.pk
    report = drawer_expected(till)
    assert report["expected"] == 15000 + 3395 and report["rounding"] == -2


def test_even_split_three_ways_sums_to_the_cent_and_each_part_has_its_vat(bistro, till):
    # 24.50 (L) + 36.00 (H) = 60.50; but make it uneven: + beer 4.50 = 65.00 -> 21.67/21.67/21.66
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.wine, 0), (bistro.beer, 2)])
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="even", ways=3)
    totals = [view.amounts.total for view in bill.parts]
    assert sorted(totals, reverse=True) == [2167, 2167, 2166]
    for rate in range(2):
        assert sum(v.amounts.taxes[rate].gross for v in bill.parts) == bill.totals.taxes[rate].gross
        assert sum(v.amounts.taxes[rate].tax for v in bill.parts) == bill.totals.taxes[rate].tax
    for view in bill.parts:
        pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=view.part.pk)
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED
    assert sum(p.amount for p in Payment.objects.filter(tab=tab)) == 6500


def test_by_seat_shares_the_shared_bottle_equally(bistro, till):
    # seat 1 steak 24.50, seat 2 risotto 19.50, seat 3 pasta 9.47, bottle 36.00 shared (seat 0)
    tab, _ = table_check(
        bistro,
        lines=[(bistro.steak, 1), (bistro.risotto, 2), (bistro.pasta, 3), (bistro.wine, 0)],
    )
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat", groups=[[1, 2], [3]])
    parts = parts_by_label(bill)
    # seats 1+2: 24.50 + 19.50 + 18.00 = 62.00; seat 3: 9.47 + 18.00 = 27.47
    assert parts["Seats 1 + 2"].amounts.total == 6200
    assert parts["Seat 3"].amounts.total == 2747
    assert bill.unassigned.total == 0
    assert sum(v.amounts.total for v in bill.parts) == bill.total == 8947


def test_the_night_at_table_12_by_item_with_half_a_bottle(bistro, till):
    """Seats 1-2 together, seat 3 alone, seat 4 pays the kids' pasta and half the bottle."""
    tab, lines = table_check(
        bistro,
        lines=[
            (bistro.steak, 1),
            (bistro.steak, 2),
            (bistro.risotto, 3),
            (bistro.pasta, 4),
            (bistro.wine, 0),
        ],
    )
    steak1, steak2, risotto, pasta, wine = (line.pk for line in lines)
    bill = pay_services.bill_split(
        tab=tab,
        actor=bistro.server,
        mode="items",
        parts=[
            {"label": "Seats 1-2", "lines": {str(steak1): 1, str(steak2): 1, str(wine): "1/4"}},
            {"label": "Seat 3", "lines": {str(risotto): 1, str(wine): [1, 4]}},
            {"label": "Seat 4", "lines": {str(pasta): "1", str(wine): "1/2"}},
        ],
    )
    parts = parts_by_label(bill)
    # 49.00 + 9.00; 19.50 + 9.00; 9.47 + 18.00
    assert parts["Seats 1-2"].amounts.total == 5800
    assert parts["Seat 3"].amounts.total == 2850
    assert parts["Seat 4"].amounts.total == 2747
    seat4 = parts["Seat 4"]
    # VAT is rounded once per rate for the check, then shared: the bottle's 36.00 carries
    # 6.25 VAT (6.2479); seat 4's half gets 3.125 -> 3.13 by largest remainder (the two
    # quarters get 1.56 each). Pasta 9.47 at 9%: 0.78.
    assert [(t.code, t.gross, t.tax) for t in seat4.amounts.taxes] == [
        ("L", 947, 78),
        ("H", 1800, 313),
    ]
    payment = pay_services.payment_cash(
        tab=tab, actor=bistro.server, part_id=seat4.part.pk, tendered=3000
    )
    assert (payment.collected, payment.rounding, payment.change) == (2745, -2, 255)
    # the paid part is locked: a new split keeps it and shares the rest
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="even", ways=2)
    parts = parts_by_label(bill)
    assert parts["Seat 4"].part.status == BillPart.Status.PAID
    assert parts["Seat 4"].amounts.total == 2747
    assert parts["1/2"].amounts.total + parts["2/2"].amounts.total == 5800 + 2850
    assert bill.balance == 8650


def test_a_line_cannot_be_paid_twice(bistro, till):
    tab, lines = table_check(bistro, lines=[(bistro.wine, 0), (bistro.beer, 1)])
    before = money_state(tab)
    with pytest.raises(ValidationFailed) as exc:
        pay_services.bill_split(
            tab=tab,
            actor=bistro.server,
            mode="items",
            parts=[
                {"lines": {str(lines[0].pk): "2/3"}},
                {"lines": {str(lines[0].pk): "1/2"}},
            ],
        )
    assert exc.value.code == "line_overassigned"
    assert money_state(tab) == before


def test_split_by_amounts_leaves_the_rest_as_a_part(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.wine, 0), (bistro.steak, 1)])  # 60.50
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="amounts", amounts=[4000])
    parts = parts_by_label(bill)
    assert parts["€ 40.00"].amounts.total == 4000
    assert parts["Rest"].amounts.total == 2050
    before = money_state(tab)
    with pytest.raises(ValidationFailed) as exc:
        pay_services.bill_split(tab=tab, actor=bistro.server, mode="amounts", amounts=[4000, 3000])
    assert exc.value.code == "amounts_exceed_total"
    assert money_state(tab) == before


def test_one_seat_pays_in_two_halves_one_part_in_two_payments(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.risotto, 2)])
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat")
    seat1 = parts_by_label(bill)["Seat 1"]
    bill = pay_services.part_split(tab=tab, actor=bistro.server, part_id=seat1.part.pk, ways=2)
    halves = [v for v in bill.parts if v.part.label.startswith("Seat 1 ")]
    assert [v.amounts.total for v in halves] == [1225, 1225]
    assert sum(v.amounts.total for v in bill.parts) == 4400
    # seat 2 pays 19.50 in two payments: 10.00 now, the rest later
    seat2 = parts_by_label(bill)["Seat 2"]
    first = pay_services.payment_cash(
        tab=tab, actor=bistro.server, part_id=seat2.part.pk, amount=1000
    )
    seat2 = parts_by_label(bill_of(tab))["Seat 2"]
    assert (seat2.paid, seat2.balance, seat2.part.status) == (1000, 950, "open")
    # a part with a payment is locked: it cannot be split again
    before = money_state(tab)
    with pytest.raises(Conflict) as exc:
        pay_services.part_split(tab=tab, actor=bistro.server, part_id=seat2.part.pk, ways=2)
    assert exc.value.code == "part_locked"
    assert money_state(tab) == before
    # nor overpaid
    with pytest.raises(ValidationFailed) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=seat2.part.pk, amount=951)
    assert exc.value.code == "overpayment"
    assert money_state(tab) == before
    second = pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=seat2.part.pk)
    assert (first.amount + second.amount) == 1950
    assert BillPart.objects.get(pk=seat2.part.pk).status == BillPart.Status.PAID


def test_ten_percent_tip_over_two_cash_payments_adds_up(bistro, till):
    # Risotto 19.50 + beer 4.50 = 24.00 (one part). 10% tip = 2.40, paid as 1.20 + 1.20
    tab, _ = table_check(bistro, lines=[(bistro.risotto, 1), (bistro.beer, 1)])
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="whole")
    part = bill.parts[0].part
    options = {
        o["percent"]: o["amount"]
        for o in __import__("payments.selectors", fromlist=["tip_options"]).tip_options(
            bill.parts[0], bistro.venue
        )
    }
    assert options == {5: 120, 10: 240, 15: 360}
    first = pay_services.payment_cash(
        tab=tab, actor=bistro.server2, part_id=part.pk, amount=1200, tip_percent=10
    )
    second = pay_services.payment_cash(
        tab=tab, actor=bistro.server, part_id=part.pk, tip_percent="10", tendered=2000
    )
    assert (first.tip, second.tip) == (120, 120)
    assert first.tip_basis + second.tip_basis == 2400
    assert second.collected == 1320 and second.change == 680
    # tips go to the check's server; who took the payment is kept too
    assert {p.server_id for p in (first, second)} == {bistro.server.pk}
    assert first.taken_by_id == bistro.server2.pk
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED
    assert drawer_expected(till)["cash_tips"] == 240


def test_tip_basis_before_tax_and_before_discount(bistro, till):
    venue = bistro.venue
    venue.tip_before_tax = True
    venue.save()
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])  # 4.50 incl. 0.78 VAT (21%)
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="whole")
    payment = pay_services.payment_cash(
        tab=tab, actor=bistro.server, part_id=bill.parts[0].part.pk, tip_percent=10
    )
    assert payment.tip_basis == 450 - 78 and payment.tip == 37  # 3.72 * 10% = 0.372


def test_lines_added_after_a_split_by_item_are_unassigned_until_split_again(bistro, till):
    tab, lines = table_check(bistro, lines=[(bistro.steak, 1)])
    pay_services.bill_split(
        tab=tab, actor=bistro.server, mode="items", parts=[{"lines": {str(lines[0].pk): 1}}]
    )
    order_services.line_add(tab=tab, actor=bistro.server, item=bistro.beer, seat=1)
    bill = bill_of(tab)
    assert bill.unassigned.total == 450 and bill.balance == 2900
    pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=bill.parts[0].part.pk)
    tab.refresh_from_db()
    assert tab.status == Check.Status.OPEN  # the beer is still to be paid
    pay_services.payment_cash(tab=tab, actor=bistro.server)  # the rest becomes a part
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED and tab.paid_amount == 2900


def test_a_paid_check_cannot_be_voided_below_what_was_paid(bistro, till):
    tab, lines = table_check(bistro, lines=[(bistro.steak, 1), (bistro.beer, 2)])
    pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat")
    seat1 = parts_by_label(bill_of(tab))["Seat 1"]
    pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=seat1.part.pk)
    before = money_state(tab)
    with pytest.raises(Conflict) as exc:
        order_services.line_void(actor=bistro.manager, line=lines[0], reason="Sent back")
    assert exc.value.code == "below_paid"
    assert money_state(tab) == before


def test_refusals_change_nothing(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    before = money_state(tab)
    with pytest.raises(ValidationFailed) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server, tendered=2000)
    assert exc.value.code == "tendered_short"
    with pytest.raises(PermissionDenied):
        pay_services.payment_cash(tab=tab, actor=bistro.host)
    with pytest.raises(ValidationFailed) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server, amount=0)
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server, expected_version=1)
    assert exc.value.code == "stale_version"
    with pytest.raises(ValidationFailed) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server, tip=100_000)
    assert exc.value.code == "tip_too_large"
    assert money_state(tab) == before


def test_cash_needs_an_open_drawer_in_use(bistro):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1)])
    before = money_state(tab)
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server)
    assert exc.value.code == "no_open_drawer"
    assert money_state(tab) == before
    pay_services.drawer_open(drawer=bistro.drawer, actor=bistro.manager, opening_float=0)
    bistro.drawer.is_active = False  # taken out of use in the admin while open
    bistro.drawer.save()
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server)
    assert exc.value.code == "no_open_drawer"
    assert money_state(tab) == before


def test_paying_a_voided_or_closed_check_is_refused(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    pay_services.payment_cash(tab=tab, actor=bistro.server)
    before = money_state(tab)
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=tab, actor=bistro.server)
    assert exc.value.code == "check_not_open"
    assert money_state(tab) == before
    other, _ = table_check(bistro, table=bistro.table5, lines=[])
    Check.objects.filter(pk=other.pk).update(status=Check.Status.VOIDED, closed_at=other.opened_at)
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=other, actor=bistro.server)
    assert exc.value.code == "check_not_open"


def test_reopen_needs_a_manager_and_is_audited(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    pay_services.payment_cash(tab=tab, actor=bistro.server)
    with pytest.raises(PermissionDenied) as exc:
        order_services.check_reopen(tab=tab, actor=bistro.server, approver=None, reason="Oops")
    assert exc.value.code == "approval_required"
    tab = order_services.check_reopen(
        tab=tab, actor=bistro.server, approver=bistro.manager, reason="Wrong table"
    )
    assert tab.status == Check.Status.OPEN and tab.paid_amount == 450
    entry = CheckAudit.objects.filter(tab=tab, action="check.reopen").get()
    assert entry.approved_by == bistro.manager and entry.reason == "Wrong table"
    # the guest orders one more: the bill shows only that as due
    order_services.line_add(tab=tab, actor=bistro.server, item=bistro.beer, seat=1)
    bill = bill_of(tab)
    assert (bill.total, bill.paid, bill.balance) == (900, 450, 450)
    pay_services.payment_cash(tab=tab, actor=bistro.server)
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED


def test_reopen_refused_when_the_table_has_a_new_check(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    pay_services.payment_cash(tab=tab, actor=bistro.server)
    table_check(bistro, lines=[])
    with pytest.raises(Conflict) as exc:
        order_services.check_reopen(
            tab=tab, actor=bistro.manager, approver=None, reason="Wrong table"
        )
    assert exc.value.code == "table_occupied"
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED


def test_a_fully_comped_check_closes_without_payment(bistro):
    tab, lines = table_check(bistro, lines=[(bistro.beer, 1)])
    with pytest.raises(Conflict):
        pay_services.bill_close(tab=tab, actor=bistro.server)
    order_services.adjustment_add(
        tab=tab, actor=bistro.manager, kind="comp", reason="Birthday", line=lines[0]
    )
    pay_services.bill_close(tab=tab, actor=bistro.server)
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED


def test_service_charge_is_on_the_bill_and_split_with_it(bistro, till):
    venue = bistro.venue
    venue.service_charge_percent = 10
    venue.service_charge_min_guests = 6
    venue.save()
    small, _ = table_check(bistro, guests=4, lines=[(bistro.steak, 1)])
    assert bill_of(small).total == 2450  # below the party size: no service charge
    big, _ = table_check(
        bistro, table=bistro.table5, guests=6, lines=[(bistro.steak, 1), (bistro.beer, 2)]
    )
    bill = bill_of(big)
    assert bill.totals.service_charge == 290  # 10% of 29.00
    assert bill.total == 2900 + 290
    bill = pay_services.bill_split(tab=big, actor=bistro.server, mode="seat")
    assert sum(v.amounts.service_charge for v in bill.parts) == 290
    assert sum(v.amounts.total for v in bill.parts) == 3190
    # a check discount applies to what was ordered, not to the service charge on it
    with pytest.raises(ValidationFailed):
        order_services.adjustment_add(
            tab=big, actor=bistro.manager, kind="discount", reason="Regulars", amount=3000
        )
    order_services.adjustment_add(
        tab=big, actor=bistro.manager, kind="discount", reason="Regulars", amount=900
    )
    bill = bill_of(big)
    assert (bill.totals.discount, bill.totals.service_charge, bill.total) == (900, 200, 2200)


def test_drawer_session_from_float_to_variance(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.pasta, 1)])  # 9.47 -> 9.45 in cash
    pay_services.payment_cash(tab=tab, actor=bistro.server, tendered=2000)
    pay_services.drawer_movement_add(
        session=till, actor=bistro.manager, kind="pay_out", amount=2500, reason="Flowers"
    )
    pay_services.drawer_movement_add(
        session=till, actor=bistro.manager, kind="pay_in", amount=1000, reason="Change run"
    )
    report = drawer_expected(till)
    assert report["expected"] == 15000 + 945 - 2500 + 1000 == 14445
    with pytest.raises(PermissionDenied):
        pay_services.drawer_close(session=till, actor=bistro.server, counted=0)
    with pytest.raises(ValidationFailed) as exc:
        pay_services.drawer_close(
            session=till, actor=bistro.manager, counted=14000, denominations={"5000": 2}
        )
    assert exc.value.code == "count_mismatch"
    # counted by denomination: 2x50 + 2x20 + 4.05 in coins = 144.05 -> 0.40 short
    closed = pay_services.drawer_close(
        session=till,
        actor=bistro.manager,
        denominations={"5000": 2, "2000": 2, "200": 2, "5": 1},
        note="Counted twice",
    )
    assert (closed.counted, closed.expected, closed.variance) == (14405, 14445, -40)
    assert closed.closed_by == bistro.manager
    with pytest.raises(Conflict) as exc:
        pay_services.drawer_close(session=till, actor=bistro.manager, counted=14405)
    assert exc.value.code == "drawer_closed"
    # and cash can no longer go into it
    other, _ = table_check(bistro, table=bistro.table5, lines=[(bistro.beer, 1)])
    with pytest.raises(Conflict) as exc:
        pay_services.payment_cash(tab=other, actor=bistro.server)
    assert exc.value.code == "no_open_drawer"


def test_one_open_session_per_drawer(bistro, till):
    with pytest.raises(Conflict) as exc:
        pay_services.drawer_open(drawer=bistro.drawer, actor=bistro.manager, opening_float=0)
    assert exc.value.code == "drawer_already_open"


def test_fractions_on_parts_are_stored_exactly(bistro, till):
    tab, lines = table_check(bistro, lines=[(bistro.wine, 0)])
    wine = str(lines[0].pk)
    bill = pay_services.bill_split(
        tab=tab,
        actor=bistro.server,
        mode="items",
        parts=[{"lines": {wine: "1/3"}}, {"lines": {wine: "1/3"}}, {"lines": {wine: "1/3"}}],
    )
    shares = [Fraction(s.numerator, s.denominator) for v in bill.parts for s in v.part.shares.all()]
    assert shares == [Fraction(1, 3)] * 3
    assert sorted(v.amounts.total for v in bill.parts) == [1200, 1200, 1200]


def test_paying_one_part_never_moves_another_parts_amount(bistro, till):
    """The amounts shown to the table stay put while the parts are paid one by one."""
    tab, _ = table_check(
        bistro,
        lines=[
            (bistro.steak, 1),
            (bistro.risotto, 2),
            (bistro.pasta, 3),
            (bistro.pasta, 0),  # shared: 9.47 three ways
            (bistro.wine, 0),
            (bistro.beer, 0),
        ],
    )
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat")
    shown = {view.part.pk: view.amounts for view in bill.parts}
    for view in bill.parts:
        pay_services.payment_cash(tab=tab, actor=bistro.server, part_id=view.part.pk)
        now = bill_of(tab)
        for other in now.parts:
            assert other.amounts == shown[other.part.pk] or other.part.status == "paid"
            assert other.amounts.total == shown[other.part.pk].total
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED
    assert tab.paid_amount == sum(a.total for a in shown.values())
