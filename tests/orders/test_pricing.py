"""The pricing module and the money helpers: exact integers, one rounding rule."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.pricing import PricedDiscount, PricedLine, PricedModifier, check_totals
from restaurant.money import (
    allocate,
    format_money,
    parse_amount,
    percent_of,
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


# Service charge ------------------------------------------------------------------------------


def test_service_charge_is_shared_over_the_lines_and_taxed_at_their_rates():
    steak = PricedLine(2000, 1, NINE, "L", key="steak")
    wine = PricedLine(3000, 1, TWENTY_ONE, "H", key="wine")
    totals = check_totals(
        [steak, wine], prices_include_tax=True, service_charge_percent=Decimal("12.5")
    )
    # 5000 * 12.5% = 625, shared 2000 : 3000 -> 250 + 375
    assert totals.service_charge == 625
    assert dict(totals.lines) == {"steak": 2250, "wine": 3375}
    assert [a.service_charge for a in totals.amounts] == [250, 375]
    assert [a.total for a in totals.amounts] == [2250, 3375]
    low, high = totals.taxes
    assert (low.gross, low.tax) == (2250, 186)  # 2250 * 9/109 = 185.78
    assert (high.gross, high.tax) == (3375, 586)  # 3375 * 21/121 = 585.74
    assert totals.subtotal == totals.total == 5625
    assert (totals.before_discounts, totals.discount) == (5000, 0)


def test_service_charge_with_prices_excluding_tax_is_on_the_net():
    lines = [
        PricedLine(2000, 1, Decimal("8.875"), "NY", key="a"),
        PricedLine(499, 1, Decimal("8.875"), "NY", key="b"),
    ]
    totals = check_totals(lines, prices_include_tax=False, service_charge_percent=18)
    # 2499 * 18% = 449.82 -> 450; 450 * 2000/2499 = 360.14, 450 * 499/2499 = 89.86 -> 360 + 90
    assert totals.service_charge == 450
    assert dict(totals.lines) == {"a": 2360, "b": 589}
    assert totals.subtotal == 2949
    assert totals.tax == 262  # 2949 * 8.875% = 261.72
    assert totals.total == 3211


def test_service_charge_comes_after_discounts():
    steak = PricedLine(2850, 1, NINE, "L", (), False, "steak", (PricedDiscount(amount=850),))
    wine = PricedLine(2750, 1, TWENTY_ONE, "H", (), False, "wine")
    totals = check_totals(
        [steak, wine],
        prices_include_tax=True,
        check_discounts=[PricedDiscount(percent=10)],
        service_charge_percent=10,
    )
    # after discounts 1800 + 2475 = 4275; 10% = 427.5 -> 428 (half up);
    # 428 * 1800/4275 = 180.21, 428 * 2475/4275 = 247.79 -> 180 + 248
    assert totals.service_charge == 428
    assert dict(totals.lines) == {"steak": 1980, "wine": 2723}
    assert totals.total == 4703
    assert (totals.before_discounts, totals.discount) == (5600, 850 + 475)


def test_service_charge_zero_changes_nothing_and_bad_percentages_are_refused():
    lines = [line(1234, rate=NINE, code="L"), line(999, qty=3)]
    plain = check_totals(lines, prices_include_tax=True)
    assert check_totals(lines, prices_include_tax=True, service_charge_percent=0) == plain
    assert plain.service_charge == 0
    assert all(a.service_charge == 0 for a in plain.amounts)
    comped = PricedLine(1000, 1, NINE, "L", discounts=(PricedDiscount(percent=100),))
    assert check_totals([comped], prices_include_tax=True, service_charge_percent=10).total == 0
    assert check_totals([], prices_include_tax=True, service_charge_percent=10).total == 0
    assert (
        check_totals(lines, prices_include_tax=True, service_charge_percent=100).service_charge
        == plain.subtotal
    )
    for bad in (-1, Decimal("100.01"), Decimal("NaN")):
        with pytest.raises(ValueError):
            check_totals(lines, prices_include_tax=True, service_charge_percent=bad)
    with pytest.raises(TypeError):
        check_totals(lines, prices_include_tax=True, service_charge_percent=12.5)


@given(
    lines=priced_lines,
    inclusive=st.booleans(),
    line_discounts=st.lists(st.lists(discounts, max_size=2), max_size=15),
    check_level=st.lists(discounts, max_size=3),
    percent=st.one_of(st.integers(0, 100), st.decimals(min_value=0, max_value=100, places=2)),
)
def test_service_charge_invariants(lines, inclusive, line_discounts, check_level, percent):
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
    plain = check_totals(lines, prices_include_tax=inclusive, check_discounts=check_level)
    totals = check_totals(
        lines,
        prices_include_tax=inclusive,
        check_discounts=check_level,
        service_charge_percent=percent,
    )
    after_discounts = plain.subtotal
    assert totals.service_charge == percent_of(after_discounts, percent)
    assert (totals.before_discounts, totals.discount) == (plain.before_discounts, plain.discount)
    assert totals.subtotal == after_discounts + totals.service_charge
    assert sum(t for _, t in totals.lines) == totals.subtotal
    assert sum(a.total for a in totals.amounts) == totals.subtotal
    assert sum(a.service_charge for a in totals.amounts) == totals.service_charge
    assert all(total >= 0 for _, total in totals.lines)
    for amount, before in zip(totals.amounts, plain.amounts, strict=True):
        assert amount.service_charge >= 0
        assert (amount.line_discount, amount.check_discount) == (
            before.line_discount,
            before.check_discount,
        )
        assert (
            abs(
                Fraction(amount.service_charge)
                - Fraction(totals.service_charge) * before.total / max(after_discounts, 1)
            )
            < 1
        )
    for tax_line in totals.taxes:
        assert tax_line.base == sum(a.total for a in totals.amounts if a.tax_rate == tax_line.rate)
        assert tax_line.tax >= 0 and tax_line.net >= 0
    assert sum(t.base for t in totals.taxes) == totals.subtotal
    assert sum(t.tax for t in totals.taxes) == totals.tax
    assert sum(t.gross for t in totals.taxes) == totals.total
    assert totals.total == (totals.subtotal if inclusive else totals.subtotal + totals.tax)


def test_allocate_takes_fractions_exactly():
    assert allocate(100, [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)]) == [34, 33, 33]
    assert allocate(10, [Fraction(1, 3), Decimal("0.5"), 0]) == [4, 6, 0]  # 4.0 : 6.0
    # exactly: 1/3 is more than 28 digits of 0.333..., which a Decimal 1/3 would tie with
    third = Decimal("0.3333333333333333333333333333")
    assert allocate(1, [third, Fraction(1, 3)]) == [0, 1]
    assert allocate(1, [third, third]) == [1, 0]  # a real tie: the earlier part
    with pytest.raises(TypeError):
        allocate(10, [0.5, 0.5])
