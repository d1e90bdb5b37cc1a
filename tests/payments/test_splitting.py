"""Splitting a bill: every part exact to the cent, per rate, whatever the split."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.pricing import PricedDiscount, PricedLine, check_totals
from payments import splitting
from payments.splitting import (
    PartAmounts,
    PartSpec,
    RatePart,
    SplitError,
    split_check,
    tip_basis,
    tip_for,
)

NINE = Decimal("9")
TWENTY_ONE = Decimal("21")
THIRD = Fraction(1, 3)
HALF = Fraction(1, 2)


def food(price, key, qty=1, discounts=()):
    return PricedLine(price, qty, NINE, "L", key=key, discounts=tuple(discounts))


def drink(price, key, qty=1, discounts=()):
    return PricedLine(price, qty, TWENTY_ONE, "H", key=key, discounts=tuple(discounts))


def grosses(part):
    return [r.gross for r in part.taxes]


def taxes(part):
    return [r.tax for r in part.taxes]


def even(n):
    return [PartSpec(key=k, even=True) for k in range(1, n + 1)]


# Concrete examples -----------------------------------------------------------------------------


def test_even_ten_euros_three_ways():
    totals = check_totals([drink(1000, "x")], prices_include_tax=True)
    split = split_check(totals, even(3))
    assert [p.total for p in split.parts] == [334, 333, 333]
    # VAT 1000 * 21/121 = 173.55 -> 174, shared by gross: 58.13 / 57.94 / 57.94 -> 58 each
    assert [p.tax for p in split.parts] == [58, 58, 58]
    assert split.unassigned.total == 0 and split.unassigned.tax == 0
    assert split.total == 1000


def test_mixed_rates_even_split_keeps_each_rate_exact():
    # steak 28.50 (9%), two glasses 6.50 (21%) = 41.50; VAT 9%: 235.32 -> 235, 21%: 225.62 -> 226
    totals = check_totals([food(2850, "steak"), drink(650, "wine", 2)], prices_include_tax=True)
    split = split_check(totals, even(3))
    # exact per part: 950 at 9%, 433.33 at 21% = 1383.33; the one extra cent goes to part 1
    assert [grosses(p) for p in split.parts] == [[950, 434], [950, 433], [950, 433]]
    assert [p.total for p in split.parts] == [1384, 1383, 1383]
    # 9%: 235 over 950 x3 = 78.33 -> 79, 78, 78; 21%: 226 over 434/433/433 = 75.45/75.28 x2
    assert [taxes(p) for p in split.parts] == [[79, 76], [78, 75], [78, 75]]
    assert sum(p.tax for p in split.parts) == totals.tax == 461


def test_by_seat_with_shared_lines():
    lines = [
        food(1500, "burger"),  # seat 1
        food(1800, "pasta"),  # seat 2
        food(1200, "salad"),  # seat 3
        food(1000, "nachos"),  # shared by the three seats
        drink(3000, "bottle"),  # shared by seats 1 and 2
    ]
    totals = check_totals(lines, prices_include_tax=True)
    specs = [
        PartSpec("seat1", lines={"burger": 1, "nachos": THIRD, "bottle": HALF}),
        PartSpec("seat2", lines={"pasta": 1, "nachos": THIRD, "bottle": HALF}),
        PartSpec("seat3", lines={"salad": 1, "nachos": THIRD}),
    ]
    split = split_check(totals, specs)
    # 9%: 1833.33 / 2133.33 / 1533.33 (sum 5500): one cent up, to seat 1 (ties: earlier)
    assert [grosses(p) for p in split.parts] == [[1834, 1500], [2133, 1500], [1533, 0]]
    assert [p.total for p in split.parts] == [3334, 3633, 1533]
    # 9%: 5500 * 9/109 = 454.13 -> 454 over 1834/2133/1533 = 151.39/176.07/126.54 -> 151/176/127
    # 21%: 3000 * 21/121 = 520.66 -> 521 over 1500/1500/0 = 260.5 x2 -> 261/260/0
    assert [taxes(p) for p in split.parts] == [[151, 261], [176, 260], [127, 0]]
    assert split.unassigned.total == 0


def test_a_bottle_of_wine_three_ways():
    totals = check_totals([drink(3500, "bottle")], prices_include_tax=True)
    specs = [PartSpec(k, lines={"bottle": THIRD}) for k in "abc"]
    split = split_check(totals, specs)
    # 1166.67 each: two cents to share, to the first two
    assert [p.total for p in split.parts] == [1167, 1167, 1166]
    # 3500 * 21/121 = 607.44 -> 607 over 1167/1167/1166 = 202.39/202.39/202.21 -> 203/202/202
    assert [p.tax for p in split.parts] == [203, 202, 202]


def test_by_amount_then_the_rest_evenly():
    lines = [food(2850, "steak"), drink(650, "wine", 2), food(900, "dessert")]
    totals = check_totals(lines, prices_include_tax=True)  # 3750 at 9% + 1300 at 21% = 5050
    specs = [PartSpec("forty", amount=4000), PartSpec("b", even=True), PartSpec("c", even=True)]
    split = split_check(totals, specs)
    # 40.00 spread 3750 : 1300 = 2970.30 + 1029.70; the rest 779.70 + 270.30 halved:
    # 389.85 + 135.15 = 525 each. Cells go up by largest fraction: b and c at 9%, forty at 21%
    assert [grosses(p) for p in split.parts] == [[2970, 1030], [390, 135], [390, 135]]
    assert [p.total for p in split.parts] == [4000, 525, 525]
    # 9%: 3750 * 9/109 = 309.63 -> 310 over 2970/390/390 = 245.52/32.24/32.24 -> 246/32/32
    # 21%: 226 over 1030/135/135 = 179.06/23.47/23.47 -> 179/24/23
    assert [taxes(p) for p in split.parts] == [[246, 179], [32, 24], [32, 23]]


def test_seat_parts_with_one_seat_halved():
    lines = [food(1500, "burger"), food(1801, "pasta"), drink(3000, "bottle")]
    totals = check_totals(lines, prices_include_tax=True)
    specs = [
        PartSpec("seat1", lines={"burger": 1, "bottle": HALF}),
        PartSpec("seat2a", lines={"pasta": HALF, "bottle": Fraction(1, 4)}),
        PartSpec("seat2b", lines={"pasta": HALF, "bottle": Fraction(1, 4)}),
    ]
    split = split_check(totals, specs)
    # seat 2's halves: 900.5 + 750 each; the cent goes to the first half
    assert [grosses(p) for p in split.parts] == [[1500, 1500], [901, 750], [900, 750]]
    # 9%: 3301 * 9/109 = 272.56 -> 273 over 1500/901/900 = 124.05/74.51/74.43 -> 124/75/74
    # 21%: 521 over 1500/750/750 = 260.5/130.25/130.25 -> 261/130/130
    assert [taxes(p) for p in split.parts] == [[124, 261], [75, 130], [74, 130]]
    assert sum(p.total for p in split.parts) == totals.total == 6301


def test_a_paid_part_stays_frozen_and_a_new_line_is_unassigned():
    lines = [food(1500, "burger"), drink(900, "wine")]
    totals = check_totals(lines, prices_include_tax=True)
    specs = [PartSpec("p1", lines={"burger": 1}), PartSpec("p2", lines={"wine": 1})]
    first = split_check(totals, specs)
    paid = first.parts[0]
    assert (paid.total, paid.tax) == (1500, 124)  # 1500 * 9/109 = 123.85
    stored = PartAmounts.from_dict(paid.to_dict())
    assert stored == paid
    later = check_totals([*lines, food(800, "dessert")], prices_include_tax=True)
    specs[0] = PartSpec("p1", lines={"burger": 1}, paid=stored)
    split = split_check(later, specs)
    assert split.parts[0] is stored
    assert (split.parts[1].total, split.parts[1].tax) == (900, 156)  # 900 * 21/121 = 156.20
    # 9% is now 2300: VAT 189.91 -> 190, less the paid 124 = 66 (800 * 9/109 = 66.06)
    assert split.unassigned.total == 800
    assert [(r.code, r.gross, r.tax) for r in split.unassigned.taxes] == [
        ("L", 800, 66),
        ("H", 0, 0),
    ]
    assert split.total == 3200


def test_a_line_voided_after_payment_leaves_a_negative_unassigned():
    lines = [food(1500, "burger"), drink(900, "wine"), drink(500, "beer")]
    totals = check_totals(lines, prices_include_tax=True)
    specs = [PartSpec("p1", lines={"wine": 1, "beer": 1}), PartSpec("p2", lines={"burger": 1})]
    paid = split_check(totals, specs).parts[0]
    assert (paid.total, paid.tax) == (1400, 243)  # 1400 * 21/121 = 242.98
    after = check_totals(lines[:2], prices_include_tax=True)  # the beer is voided
    specs[0] = PartSpec("p1", lines={"wine": 1, "beer": 1}, paid=paid)
    split = split_check(after, specs)
    assert split.parts[0] is paid
    assert (grosses(split.parts[1]), taxes(split.parts[1])) == ([1500, 0], [124, 0])
    # 21% left: 900 - 1400 = -500 gross, 156 - 243 = -87 tax: only unassigned goes negative
    assert (grosses(split.unassigned), taxes(split.unassigned)) == ([0, -500], [0, -87])
    assert sum(p.total for p in split.parts) + split.unassigned.total == after.total == 2400


def test_a_rate_only_paid_parts_still_carry_is_kept():
    lines = [food(1000, "soup"), drink(500, "beer")]
    totals = check_totals(lines, prices_include_tax=True)
    paid = split_check(totals, [PartSpec("p", lines={"beer": 1})]).parts[0]
    after = check_totals(lines[:1], prices_include_tax=True)  # no 21% line left at all
    split = split_check(after, [PartSpec("p", lines={"beer": 1}, paid=paid), *even(1)])
    assert [(r.code, r.gross) for r in split.parts[1].taxes] == [("L", 1000), ("H", 0)]
    assert [(r.code, r.gross, r.tax) for r in split.unassigned.taxes] == [
        ("L", 0, 0),
        ("H", -500, -87),  # 500 * 21/121 = 86.78
    ]


@pytest.mark.parametrize(
    ("specs", "code"),
    [
        ([PartSpec("a", lines={"nope": 1})], "unknown_line"),
        ([PartSpec("a", lines={"soup": 0})], "bad_fraction"),
        ([PartSpec("a", lines={"soup": Fraction(3, 2)})], "bad_fraction"),
        ([PartSpec("a", lines={"soup": 0.5})], "bad_fraction"),
        ([PartSpec("a", lines={"soup": Fraction(2, 3)})] * 2, "line_overassigned"),
        ([PartSpec("a", amount=0)], "bad_amount"),
        ([PartSpec("a", amount=-5)], "bad_amount"),
        ([PartSpec("a", amount=Decimal(5))], "bad_amount"),
        ([PartSpec("a", amount=2501)], "amounts_exceed_total"),
        (
            [PartSpec("a", amount=1001), PartSpec("b", lines={"soup": 1})],
            "amounts_exceed_total",
        ),
        ([PartSpec("a")], "bad_part"),
        ([PartSpec("a", lines={"soup": 1}, amount=100)], "bad_part"),
        ([PartSpec("a", amount=100, even=True)], "bad_part"),
    ],
)
def test_split_errors(specs, code):
    totals = check_totals([food(1500, "soup"), drink(1000, "wine")], prices_include_tax=True)
    with pytest.raises(SplitError) as caught:
        split_check(totals, specs)
    assert caught.value.code == code
    assert str(caught.value)


def test_a_paid_part_counts_for_line_overassigned_but_not_for_its_kind():
    totals = check_totals([food(1500, "soup")], prices_include_tax=True)
    paid = split_check(totals, [PartSpec("a", lines={"soup": HALF})]).parts[0]
    with pytest.raises(SplitError) as caught:
        split_check(
            totals,
            [PartSpec("a", lines={"soup": HALF}, paid=paid), PartSpec("b", lines={"soup": 1})],
        )
    assert caught.value.code == "line_overassigned"
    split = split_check(totals, [PartSpec("a", paid=paid), PartSpec("b", even=True)])
    assert [p.total for p in split.parts] == [750, 750]


def test_tip_basis_with_prices_including_tax():
    steak = food(2850, "steak", discounts=[PricedDiscount(amount=850)])
    totals = check_totals(
        [steak, drink(3000, "wine")], prices_include_tax=True, service_charge_percent=10
    )
    # 2000 + 3000 after the discount; service 500 -> 2200 (VAT 181.65 -> 182) + 3300 (572.73
    # -> 573)
    (part,) = split_check(totals, even(1)).parts
    assert (part.total, part.tax, part.discount, part.service_charge) == (5500, 755, 850, 500)

    def basis(tax, discount):
        return tip_basis(part, before_tax=tax, before_discount=discount, prices_include_tax=True)

    assert basis(False, False) == 5500 - 500
    assert basis(True, False) == 4745 - 431  # service's net part: 500 * 4745/5500 = 431.36
    assert basis(False, True) == 5500 + 850 - 500
    assert basis(True, True) == 4745 + 733 - 431  # 850 * 4745/5500 = 733.32


def test_tip_basis_with_prices_excluding_tax():
    steak = food(2850, "steak", discounts=[PricedDiscount(amount=850)])
    totals = check_totals(
        [steak, drink(3000, "wine")], prices_include_tax=False, service_charge_percent=10
    )
    # net 2200 + 3300 (service 500 in it); tax 198 + 693 = 891
    (part,) = split_check(totals, even(1)).parts
    assert (part.total, part.tax, part.discount, part.service_charge) == (6391, 891, 850, 500)

    def basis(tax, discount):
        return tip_basis(part, before_tax=tax, before_discount=discount, prices_include_tax=False)

    assert basis(False, False) == 6391 - 500
    assert basis(True, False) == 5500 - 500
    assert basis(False, True) == 6391 + 850 - 500
    assert basis(True, True) == 5500 + 850 - 500


def test_tip_basis_is_never_negative_and_tip_for_checks_the_percentage():
    part = PartAmounts("x", 100, (RatePart("L", NINE, 100, 8),), discount=0, service_charge=300)
    assert tip_basis(part, before_tax=False, before_discount=False, prices_include_tax=True) == 0
    assert tip_for(5000, 10) == 500
    assert tip_for(4314, Decimal("12.5")) == 539  # 539.25
    assert tip_for(1, 50) == 1  # 0.5 rounds half up
    assert tip_for(1234, 0) == 0
    for bad in (-1, 101, Decimal("NaN")):
        with pytest.raises(ValueError):
            tip_for(1000, bad)
    with pytest.raises(TypeError):
        tip_for(1000, 10.0)


def test_service_charge_shares():
    lines = [food(1500, "burger"), food(1800, "pasta"), drink(3000, "bottle")]
    totals = check_totals(lines, prices_include_tax=True, service_charge_percent=10)
    # 630 shared 1500 : 1800 : 3000 = 150 / 180 / 300
    specs = [
        PartSpec("seat1", lines={"burger": 1, "bottle": HALF}),
        PartSpec("seat2", lines={"pasta": 1, "bottle": HALF}),
    ]
    split = split_check(totals, specs)
    assert [p.service_charge for p in split.parts] == [150 + 150, 180 + 150]
    assert [p.total for p in split.parts] == [1650 + 1650, 1980 + 1650]
    assert [p.service_charge for p in split_check(totals, even(3)).parts] == [210, 210, 210]
    # by amount: 20.00 of 69.30 carries 630 * 2000/6930 = 181.82 -> 182 of it
    split = split_check(totals, [PartSpec("a", amount=2000), PartSpec("rest", even=True)])
    assert [p.service_charge for p in split.parts] == [182, 448]


def test_discount_shares_follow_the_lines():
    lines = [food(2000, "steak", discounts=[PricedDiscount(percent=50)]), drink(1000, "wine")]
    totals = check_totals(lines, prices_include_tax=True)
    split = split_check(totals, [PartSpec("a", lines={"steak": 1}), PartSpec("b", even=True)])
    assert [(p.total, p.discount) for p in split.parts] == [(1000, 1000), (1000, 0)]


def test_part_amounts_round_trip_and_refuse_bad_data():
    part = PartAmounts(
        7, 1384, (RatePart("L", NINE, 950, 79), RatePart("H", Decimal("21.0000"), 434, 76)), 5, 3
    )
    data = part.to_dict()
    assert data["taxes"][1]["rate"] == "21.0000"
    assert PartAmounts.from_dict(data) == part
    with pytest.raises(ValueError):
        PartAmounts("x", 10, (RatePart("L", NINE, 9, 0),))
    with pytest.raises(ValueError):
        PartAmounts.from_dict({**data, "total": 1384.0})


def test_no_parts_leaves_everything_unassigned_and_an_empty_check_splits_into_zeros():
    totals = check_totals([food(1000, "a"), drink(500, "b")], prices_include_tax=False)
    split = split_check(totals, [])
    assert split.parts == ()
    assert (split.unassigned.total, split.unassigned.tax) == (totals.total, totals.tax)
    empty = split_check(check_totals([], prices_include_tax=True), even(2))
    assert [p.total for p in empty.parts] == [0, 0] and empty.unassigned.taxes == ()


def test_rows_go_up_where_a_flow_allows_not_blindly_by_remainder():
    # Two halves of 1.01 at 9% (50.5 each) and thirds of 1.00 at 21% (33.33 each): by row
    # remainder the two halves (.5) would both go up, but 9% has only one cent to give.
    totals = check_totals([food(101, "a"), drink(100, "b")], prices_include_tax=True)
    specs = [PartSpec(k, lines={"a": HALF}) for k in "pq"] + [
        PartSpec(k, lines={"b": THIRD}) for k in "xyz"
    ]
    split = split_check(totals, specs)
    assert [p.total for p in split.parts] == [51, 50, 34, 33, 33]


def test_the_fallback_keeps_every_column_exact(monkeypatch):
    monkeypatch.setattr(splitting, "_flow_with_bounds", lambda *args: None)
    totals = check_totals([food(2850, "steak"), drink(650, "wine", 2)], prices_include_tax=True)
    split = split_check(totals, even(3))
    assert [sum(p.taxes[r].gross for p in split.parts) for r in range(2)] == [2850, 1300]
    assert sum(p.tax for p in split.parts) == totals.tax


# Properties ------------------------------------------------------------------------------------

RATES = [Decimal("0"), NINE, TWENTY_ONE, Decimal("8.875")]
any_discount = st.one_of(
    st.builds(lambda p: PricedDiscount(percent=Decimal(p)), st.integers(1, 100)),
    st.builds(lambda a: PricedDiscount(amount=a), st.integers(1, 20_000)),
)


@st.composite
def checks(draw):
    rates = draw(st.lists(st.sampled_from(RATES), min_size=1, max_size=3, unique=True))
    lines = []
    for i in range(draw(st.integers(1, 12))):
        rate = draw(st.sampled_from(rates))
        lines.append(
            PricedLine(
                unit_price=draw(st.integers(0, 20_000)),
                quantity=draw(st.integers(1, 4)),
                tax_rate=rate,
                tax_code=f"T{rate}",
                voided=draw(st.booleans()) and i > 0 and draw(st.booleans()),
                key=f"line{i}",
                discounts=tuple(draw(st.lists(any_discount, max_size=1))),
            )
        )
    return {
        "lines": lines,
        "prices_include_tax": draw(st.booleans()),
        "check_discounts": draw(st.lists(any_discount, max_size=2)),
        "service_charge_percent": draw(
            st.sampled_from([0, 0, 10, Decimal("12.5"), 15, Decimal("33.33")])
        ),
    }


def priced(check):
    return check_totals(
        check["lines"],
        prices_include_tax=check["prices_include_tax"],
        check_discounts=check["check_discounts"],
        service_charge_percent=check["service_charge_percent"],
    )


@st.composite
def fractions_of_one(draw, ways):
    """`ways` fractions (some zero) summing to at most 1."""
    denominator = draw(st.integers(1, 7))
    units = draw(st.lists(st.integers(0, denominator), min_size=ways, max_size=ways))
    result, left = [], denominator
    for u in units:
        u = min(u, left)
        left -= u
        result.append(Fraction(u, denominator))
    return result


@st.composite
def splits(draw, totals):
    keys = [a.key for a in totals.amounts]
    mode = draw(st.sampled_from(["even", "seats", "fractions", "amounts", "combo"]))
    if mode == "even" or not keys:
        return even(draw(st.integers(1, 6)))
    if mode == "seats":
        seats = draw(st.integers(1, 5))
        parts = [dict() for _ in range(seats)]
        for key in keys:
            sharers = draw(st.lists(st.integers(0, seats - 1), min_size=1, unique=True))
            for s in sharers:
                parts[s][key] = Fraction(1, len(sharers))
        return [PartSpec(f"seat{s}", lines=p) for s, p in enumerate(parts) if p]
    if mode == "fractions":
        ways = draw(st.integers(1, 5))
        parts = [dict() for _ in range(ways)]
        for key in keys:
            for s, f in enumerate(draw(fractions_of_one(ways))):
                if f:
                    parts[s][key] = f
        specs = [PartSpec(f"f{s}", lines=p) for s, p in enumerate(parts) if p]
        return specs + even(draw(st.integers(0, 2)))
    specs = []
    taken = 0
    if mode == "combo":
        for s, key in enumerate(keys):
            if draw(st.booleans()):
                specs.append(PartSpec(f"l{s}", lines={key: draw(st.sampled_from([1, HALF]))}))
        taken = sum(split_check(totals, specs).parts[i].total for i in range(len(specs)))
    left = totals.total - taken - len(specs)  # room for the lines parts' rounding
    for s in range(draw(st.integers(0, 3))):
        if left <= 0:
            break
        amount = draw(st.integers(1, left))
        specs.append(PartSpec(f"a{s}", amount=amount))
        left -= amount
    return specs + even(draw(st.integers(0, 3)))


def exact_line_gross(totals):
    """Per line key: {rate index: exact gross}, from the check's own figures."""
    index = {(t.code, t.rate): r for r, t in enumerate(totals.taxes)}
    result = {}
    for a in totals.amounts:
        r = index[(a.tax_code, a.tax_rate)]
        t = totals.taxes[r]
        exact = Fraction(a.total)
        if not totals.prices_include_tax:
            exact = exact * t.gross / t.base if t.base else Fraction(0)
        result.setdefault(a.key, {})[r] = exact
    return result


def check_invariants(totals, specs, split, *, fresh=False):
    assert len(split.parts) == len(specs)
    assert split.total == totals.total
    rows = [*split.parts, split.unassigned]
    assert sum(p.total for p in rows) == totals.total
    assert sum(p.discount for p in rows) == totals.discount
    assert sum(p.service_charge for p in rows) == totals.service_charge
    check_rates = [(t.code, t.rate) for t in totals.taxes]
    by_rate = {}
    for p in rows:
        assert p.total == sum(r.gross for r in p.taxes)
        for r in p.taxes:
            sums = by_rate.setdefault((r.code, r.rate), [0, 0])
            sums[0] += r.gross
            sums[1] += r.tax
    for t in totals.taxes:
        assert by_rate.pop((t.code, t.rate)) == [t.gross, t.tax]
    assert all(v == [0, 0] for v in by_rate.values())  # rates only paid parts still carry
    for spec, part in zip(specs, split.parts, strict=True):
        if spec.paid is not None:
            assert part is spec.paid
            continue
        assert part.key == spec.key
        assert [(r.code, r.rate) for r in part.taxes][: len(check_rates)] == check_rates
        assert part.discount >= 0 and part.service_charge >= 0
        for r in part.taxes:
            assert 0 <= r.tax <= r.gross
        if spec.amount is not None:
            assert part.total == spec.amount
    open_even = [p.total for s, p in zip(specs, split.parts, strict=True) if s.even and not s.paid]
    if open_even:
        assert max(open_even) - min(open_even) <= 1
    if fresh:  # nothing paid: nothing negative, lines parts within a cent of exact, per rate
        for r in split.unassigned.taxes:
            assert 0 <= r.tax <= r.gross
        exact = exact_line_gross(totals)
        for spec, part in zip(specs, split.parts, strict=True):
            if not spec.lines:
                continue
            want = [Fraction(0)] * len(check_rates)
            for key, f in spec.lines.items():
                for r, g in exact[key].items():
                    want[r] += f * g
            assert abs(part.total - sum(want)) < 1
            for r, w in enumerate(want):
                assert abs(part.taxes[r].gross - w) < 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_of_any_check_is_exact(data):
    check = data.draw(checks())
    totals = priced(check)
    specs = data.draw(splits(totals))
    split = split_check(totals, specs)
    check_invariants(totals, specs, split, fresh=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_paying_parts_one_by_one_keeps_everything_exact(data):
    check = data.draw(checks())
    totals = priced(check)
    specs = data.draw(splits(totals))
    order = data.draw(st.permutations(range(len(specs))))
    for i in order[: data.draw(st.integers(0, len(specs)))]:
        split = split_check(totals, specs)  # never refused while the check is unchanged
        check_invariants(totals, specs, split)
        specs[i] = PartSpec(
            specs[i].key,
            lines=specs[i].lines,
            amount=specs[i].amount,
            even=specs[i].even,
            paid=split.parts[i],
        )
    split = split_check(totals, specs)
    check_invariants(totals, specs, split)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_check_changed_after_payment_still_splits_exactly(data):
    check = data.draw(checks())
    totals = priced(check)
    specs = data.draw(splits(totals))
    first = split_check(totals, specs)
    paid = data.draw(st.sets(st.integers(0, max(len(specs) - 1, 0))))
    specs = [
        PartSpec(s.key, lines=s.lines, amount=s.amount, even=s.even, paid=first.parts[i])
        if i in paid
        else s
        for i, s in enumerate(specs)
    ]
    change = data.draw(st.sampled_from(["add", "void", "discount", "service"]))
    lines = list(check["lines"])
    if change == "add":
        lines.append(PricedLine(data.draw(st.integers(0, 9999)), 1, NINE, "L9", key="new"))
    elif change == "void":
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = PricedLine(
            lines[i].unit_price, 1, lines[i].tax_rate, lines[i].tax_code, voided=True, key="gone"
        )
    elif change == "discount":
        check = {**check, "check_discounts": [*check["check_discounts"], data.draw(any_discount)]}
    else:
        check = {**check, "service_charge_percent": data.draw(st.sampled_from([0, 10, 20]))}
    later = priced({**check, "lines": lines})
    live = {a.key for a in later.amounts}
    kept = []
    for s in specs:  # as the bill does: shares of lines no longer there are left out
        if s.lines and s.paid is None:
            s = PartSpec(s.key, lines={k: f for k, f in s.lines.items() if k in live})
            if not s.lines:
                continue
        kept.append(s)
    try:
        split = split_check(later, kept)
    except SplitError as exc:  # the parts may now ask more than the smaller check has left
        assert exc.code == "amounts_exceed_total"
        assert change in ("void", "discount", "service")
        return
    check_invariants(later, kept, split)


@settings(max_examples=300, deadline=None)
@given(
    columns=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    weights=st.lists(st.lists(st.integers(0, 50), min_size=4, max_size=4), min_size=1, max_size=10),
)
def test_controlled_rounding_of_any_table(columns, weights):
    n_cols = len(columns)
    exact = [[Fraction(0)] * n_cols for _ in weights]
    for r, column in enumerate(columns):
        total = sum(w[r] for w in weights)
        for i, w in enumerate(weights):
            exact[i][r] = Fraction(column * w[r], total) if total else Fraction(0)
        if not total:
            exact[-1][r] = Fraction(column)
    result = splitting._controlled_round(exact, columns)
    for r, column in enumerate(columns):
        assert sum(row[r] for row in result) == column
    for row, want in zip(result, exact, strict=True):
        for cell, x in zip(row, want, strict=True):
            assert cell in (x.__floor__(), x.__ceil__())
        assert sum(row) in (sum(want).__floor__(), sum(want).__ceil__())
