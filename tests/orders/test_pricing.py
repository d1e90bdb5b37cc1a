"""The pricing module and the money helpers: exact integers, one rounding rule."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.pricing import PricedDiscount, PricedLine, PricedModifier, check_totals
from restaurant.money import (
    allocate,
    format_money,
    parse_amount,
    round_cash,
    round_half_up,
    split_evenly,
    tax_added,
    tax_included,
)

NINE = Decimal("9")
TWENTY_ONE = Decimal("21")


def line(price, qty=1, rate=TWENTY_ONE, code="H", mods=(), voided=False):
    return PricedLine(price, qty, rate, code, tuple(mods), voided)


def test_inclusive_tax_per_rate_dutch_receipt():
    # Entrecote 28.50 (9%), fries +3.50 charged, two glasses of wine 6.50 (21%)
    lines = [
        line(2850, rate=NINE, code="L", mods=[PricedModifier(350, 1, 0)]),
        line(650, qty=2, rate=TWENTY_ONE, code="H"),
    ]
    totals = check_totals(lines, prices_include_tax=True)
    assert totals.total == 3200 + 1300
    low, high = totals.taxes
    assert (low.code, low.gross, low.tax, low.net) == ("L", 3200, 264, 2936)  # 3200*9/109=264.2
    assert (high.code, high.gross, high.tax, high.net) == ("H", 1300, 226, 1074)  # 225.6 -> 226
    assert totals.tax == 490
    assert totals.net == totals.total - totals.tax


def test_exclusive_tax_is_added_on_top_us_style():
    lines = [
        line(1999, rate=Decimal("8.875"), code="NY"),
        line(500, rate=Decimal("8.875"), code="NY"),
    ]
    totals = check_totals(lines, prices_include_tax=False)
    assert totals.subtotal == 2499
    assert totals.tax == 222  # 2499 * 8.875% = 221.79 -> 222
    assert totals.total == 2721


def test_tax_is_rounded_once_per_rate_not_per_line():
    # Three 1.05 items at 21% inclusive: per line 0.182 -> 0.18 each (0.54), per rate 0.547 -> 0.55
    totals = check_totals([line(105)] * 3, prices_include_tax=True)
    assert totals.tax == 55


def test_voided_lines_count_for_nothing():
    totals = check_totals([line(1000), line(2500, voided=True)], prices_include_tax=True)
    assert totals.total == 1000
    assert len(totals.lines) == 1


def test_free_modifier_units_are_not_charged():
    mods = [PricedModifier(350, 2, 1), PricedModifier(-200, 1, 0)]
    assert check_totals([line(1000, qty=2, mods=mods)], prices_include_tax=True).total == 2 * (
        1000 + 350 - 200
    )


def test_money_helpers():
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("-2.5")) == -3
    assert round_half_up(Decimal("2.4999")) == 2
    with pytest.raises(TypeError):
        round_half_up(2.5)
    assert tax_included(1090, NINE) == 90
    assert tax_added(1000, TWENTY_ONE) == 210
    assert round_cash(2347, 5) == 2345
    assert round_cash(2348, 5) == 2350
    assert round_cash(2347, 1) == 2347
    assert parse_amount("23,47") == 2347
    assert parse_amount("0.5") == 50
    assert parse_amount("1000", "JPY") == 1000
    with pytest.raises(ValueError):
        parse_amount("1.234")
    with pytest.raises(ValueError):
        parse_amount("abc")
    assert format_money(2450) == "€ 24.50"
    assert format_money(-300, "USD") == "-$ 3.00"
    assert format_money(123456, "EUR") == "€ 1,234.56"


def test_allocate_largest_remainder():
    assert split_evenly(1000, 3) == [334, 333, 333]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 1]) == [0, 10]
    assert allocate(-100, [1, 2]) == [-33, -67]
    with pytest.raises(ValueError):
        allocate(10, [0, 0])
    with pytest.raises(ValueError):
        allocate(10, [-1, 2])


@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_allocate_always_sums_exactly_and_stays_within_a_cent(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1
        if weight == 0:
            assert part == 0


rates = st.sampled_from([Decimal("0"), NINE, TWENTY_ONE, Decimal("8.875")])
priced_lines = st.lists(
    st.builds(
        PricedLine,
        unit_price=st.integers(min_value=0, max_value=100_000),
        quantity=st.integers(min_value=1, max_value=20),
        tax_rate=rates,
        tax_code=st.just("X"),
        modifiers=st.lists(
            st.builds(PricedModifier, st.integers(0, 2000), st.integers(1, 3), st.just(0)),
            max_size=3,
        ).map(tuple),
        voided=st.booleans(),
    ),
    max_size=15,
)


@given(lines=priced_lines, inclusive=st.booleans())
def test_totals_invariants(lines, inclusive):
    # one code per rate, as the database guarantees
    lines = [
        PricedLine(
            ln.unit_price, ln.quantity, ln.tax_rate, str(ln.tax_rate), ln.modifiers, ln.voided
        )
        for ln in lines
    ]
    totals = check_totals(lines, prices_include_tax=inclusive)
    assert sum(t for _, t in totals.lines) == totals.subtotal
    assert sum(t.base for t in totals.taxes) == totals.subtotal
    assert sum(t.tax for t in totals.taxes) == totals.tax
    assert sum(t.gross for t in totals.taxes) == totals.total
    assert all(t.tax >= 0 and t.net >= 0 for t in totals.taxes)
    assert 0 <= totals.tax <= totals.total
    if inclusive:
        assert totals.total == totals.subtotal
    else:
        assert totals.total == totals.subtotal + totals.tax
    for tax_line in totals.taxes:  # tax within half a cent of the exact figure
        if inclusive:
            exact = Decimal(tax_line.base) * tax_line.rate / (100 + tax_line.rate)
        else:
            exact = Decimal(tax_line.base) * tax_line.rate / 100
        assert abs(Decimal(tax_line.tax) - exact) <= Decimal("0.5")


def test_line_and_check_discounts_reduce_each_rate_in_proportion():
    steak = PricedLine(2850, 1, NINE, "L", (), False, "steak", (PricedDiscount(amount=850),))
    wine = PricedLine(2750, 1, TWENTY_ONE, "H", (), False, "wine")
    totals = check_totals(
        [steak, wine], prices_include_tax=True, check_discounts=[PricedDiscount(percent=10)]
    )
    # steak 28.50 - 8.50 = 20.00; check 47.50 -> 10% = 4.75 shared 20.00 : 27.50
    assert totals.before_discounts == 5600
    assert dict(totals.lines) == {"steak": 2000 - 200, "wine": 2750 - 275}
    assert totals.discount == 850 + 475
    assert totals.total == 4275
    low, high = totals.taxes
    assert (low.gross, high.gross) == (1800, 2475)


def test_a_discount_never_takes_more_than_what_is_left():
    comp = PricedDiscount(percent=100)
    big = PricedDiscount(amount=10_000)
    line_ = PricedLine(1000, 2, NINE, "L", (), False, "x", (big, comp))
    totals = check_totals([line_], prices_include_tax=True, check_discounts=[big])
    assert totals.total == 0 and totals.discount == 2000
    with pytest.raises(ValueError):
        PricedDiscount(percent=0)
    with pytest.raises(ValueError):
        PricedDiscount(percent=10, amount=5)
    with pytest.raises(ValueError):
        PricedDiscount(amount=-1)


discounts = st.one_of(
    st.builds(lambda p: PricedDiscount(percent=Decimal(p)), st.integers(1, 100)),
    st.builds(lambda a: PricedDiscount(amount=a), st.integers(1, 50_000)),
)


@given(
    lines=priced_lines,
    inclusive=st.booleans(),
    line_discounts=st.lists(st.lists(discounts, max_size=2), max_size=15),
    check_level=st.lists(discounts, max_size=3),
)
def test_discount_invariants(lines, inclusive, line_discounts, check_level):
    lines = [
        PricedLine(
            ln.unit_price,
            ln.quantity,
            ln.tax_rate,
            str(ln.tax_rate),
            ln.modifiers,
            ln.voided,
            i,
            tuple(line_discounts[i]) if i < len(line_discounts) else (),
        )
        for i, ln in enumerate(lines)
    ]
    totals = check_totals(lines, prices_include_tax=inclusive, check_discounts=check_level)
    assert all(total >= 0 for _, total in totals.lines)  # nothing is negative
    for amount in totals.amounts:  # discounts never exceed what they discount
        assert 0 <= amount.line_discount <= amount.gross
        assert 0 <= amount.check_discount <= amount.gross - amount.line_discount
    assert totals.before_discounts - totals.discount == totals.subtotal
    assert sum(t for _, t in totals.lines) == totals.subtotal
    assert sum(t.base for t in totals.taxes) == totals.subtotal
    assert sum(t.gross for t in totals.taxes) == totals.total
    assert all(t.tax >= 0 and t.net >= 0 for t in totals.taxes)
