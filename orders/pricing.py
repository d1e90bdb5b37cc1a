"""Check totals from line snapshots: one pure module, integer minor units only.

Nothing here touches the database: callers pass plain values (`PricedLine`), usually built
from OrderLine rows by `lines_from_rows`. Rules (see docs/money.md):

- A line's unit price is the item price plus each chosen modifier's price change times its
  charged (non-free) quantity; the line total is that times the quantity.
- Tax is computed per rate over the sum of the lines at that rate (the way Dutch receipts show
  VAT per rate), rounded half up once per rate, never per line.
- Prices include tax (EU): the tax is the part of the gross inside it, gross * r / (100 + r).
  Prices exclude tax (US): the tax is added, net * r / 100.
- Voided lines count for nothing.
- Discounts and comps (`PricedDiscount`, a percentage or an amount) reduce what they apply to
  and never more: line discounts first, each on what is left of its line; then check
  discounts, each on what is left of the check, shared across the lines in proportion to what
  is left of each (largest remainder). Tax is computed after discounts, so a discount lowers
  each rate's base in proportion.
- A service charge (a percentage, 0 to 100) is charged on what is left after discounts (the
  net line totals when prices exclude tax, the gross when they include it), rounded half up
  once, and shared across the lines in proportion to what is left of each (largest
  remainder). It follows the supply it is charged on, so each line's share is taxed at that
  line's rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from restaurant.money import allocate, percent_of, tax_added, tax_included


@dataclass(frozen=True)
class PricedModifier:
    price_delta: int
    quantity: int = 1
    free_quantity: int = 0

    @property
    def amount(self) -> int:
        return self.price_delta * (self.quantity - self.free_quantity)


@dataclass(frozen=True)
class PricedDiscount:
    percent: Decimal | None = None
    amount: int | None = None
    key: object = None

    def __post_init__(self):
        if (self.percent is None) == (self.amount is None):
            raise ValueError("a discount has either a percent or an amount")
        if self.percent is not None and not (0 < Decimal(self.percent) <= 100):
            raise ValueError("a discount percentage is above 0 and at most 100")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("a discount amount is positive")

    def of(self, base: int) -> int:
        """How much this takes off `base`: never more than `base`."""
        wanted = percent_of(base, self.percent) if self.percent is not None else self.amount
        return max(0, min(base, wanted))


@dataclass(frozen=True)
class PricedLine:
    unit_price: int
    quantity: int
    tax_rate: Decimal
    tax_code: str
    modifiers: tuple[PricedModifier, ...] = ()
    voided: bool = False
    key: object = None  # the caller's handle (an OrderLine id), carried through untouched
    discounts: tuple[PricedDiscount, ...] = ()

    @property
    def unit_total(self) -> int:
        return self.unit_price + sum(m.amount for m in self.modifiers)

    @property
    def total(self) -> int:
        return 0 if self.voided else self.unit_total * self.quantity


@dataclass(frozen=True)
class TaxLine:
    code: str
    rate: Decimal
    base: int  # sum of line totals at this rate, as priced (gross when inclusive, net when not)
    net: int
    tax: int
    gross: int


@dataclass(frozen=True)
class LineAmount:
    key: object
    gross: int  # unit total x quantity, before any discount
    line_discount: int
    check_discount: int  # this line's share of check-level discounts
    tax_code: str = ""
    service_charge: int = 0  # this line's share of the service charge
    tax_rate: Decimal | None = None

    @property
    def discount(self) -> int:
        return self.line_discount + self.check_discount

    @property
    def total(self) -> int:
        """What the line comes to after discounts and with its service charge, as priced."""
        return self.gross - self.line_discount - self.check_discount + self.service_charge


@dataclass(frozen=True)
class CheckTotals:
    # (key, line total after discounts and with its service charge share), non-voided
    lines: tuple[tuple[object, int], ...]
    subtotal: int  # sum of those line totals, as priced (service charge included)
    tax: int
    total: int  # what the guest pays
    taxes: tuple[TaxLine, ...] = field(default_factory=tuple)
    prices_include_tax: bool = True
    before_discounts: int = 0  # sum of the live lines before discounts, as priced
    discount: int = 0  # line and check discounts together, as priced
    amounts: tuple[LineAmount, ...] = ()
    service_charge: int = 0  # as priced (net when prices exclude tax)

    @property
    def net(self) -> int:
        return self.total - self.tax


def unit_total(unit_price: int, modifiers: Iterable[PricedModifier]) -> int:
    return unit_price + sum(m.amount for m in modifiers)


def tax_breakdown(
    amounts: Iterable[tuple[str, Decimal, int]], *, prices_include_tax: bool
) -> tuple[TaxLine, ...]:
    """Per-rate tax for (code, rate, amount) triples; one rounding per rate."""
    bases: dict[tuple[str, Decimal], int] = {}
    for code, rate, amount in amounts:
        key = (code, Decimal(rate))
        bases[key] = bases.get(key, 0) + amount
    result = []
    for (code, rate), base in sorted(bases.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if prices_include_tax:
            tax = tax_included(base, rate)
            result.append(TaxLine(code, rate, base, base - tax, tax, base))
        else:
            tax = tax_added(base, rate)
            result.append(TaxLine(code, rate, base, base, tax, base + tax))
    return tuple(result)


def check_totals(
    lines: Iterable[PricedLine],
    *,
    prices_include_tax: bool,
    check_discounts: Iterable[PricedDiscount] = (),
    service_charge_percent: Decimal | int = 0,
) -> CheckTotals:
    if isinstance(service_charge_percent, float) or not isinstance(
        service_charge_percent, int | Decimal
    ):
        raise TypeError("a service charge percentage is an int or a Decimal")
    service_percent = Decimal(service_charge_percent)
    if not (service_percent.is_finite() and 0 <= service_percent <= 100):
        raise ValueError("a service charge percentage is from 0 to 100")
    live = [line for line in lines if not line.voided]
    for line in live:
        if line.quantity < 1:
            raise ValueError("a line's quantity must be at least 1")
        if line.unit_total < 0:
            raise ValueError("a line's unit price with modifiers must not be negative")
    # 1. Line discounts, each on what is left of its line.
    remaining = []
    line_discounts = []
    for line in live:
        left = line.total
        for discount in line.discounts:
            left -= discount.of(left)
        remaining.append(left)
        line_discounts.append(line.total - left)
    # 2. Check discounts, each on what is left of the check, shared by largest remainder.
    shares = [0] * len(live)
    for discount in check_discounts:
        left_total = sum(remaining)
        if left_total <= 0:
            break
        off = discount.of(left_total)
        for i, part in enumerate(allocate(off, remaining)):
            remaining[i] -= part
            shares[i] += part
    # 3. The service charge on what is left, shared the same way (so taxed at each line's rate).
    after_discounts = sum(remaining)
    service_charge = percent_of(after_discounts, service_percent)
    service = allocate(service_charge, remaining) if service_charge else [0] * len(live)
    remaining = [left + service[i] for i, left in enumerate(remaining)]
    amounts = tuple(
        LineAmount(
            line.key,
            line.total,
            line_discounts[i],
            shares[i],
            line.tax_code,
            service[i],
            Decimal(line.tax_rate),
        )
        for i, line in enumerate(live)
    )
    taxes = tax_breakdown(
        ((line.tax_code, line.tax_rate, remaining[i]) for i, line in enumerate(live)),
        prices_include_tax=prices_include_tax,
    )
    subtotal = sum(remaining)
    tax = sum(t.tax for t in taxes)
    total = subtotal if prices_include_tax else subtotal + tax
    before = sum(line.total for line in live)
    return CheckTotals(
        lines=tuple((line.key, remaining[i]) for i, line in enumerate(live)),
        subtotal=subtotal,
        tax=tax,
        total=total,
        taxes=taxes,
        prices_include_tax=prices_include_tax,
        before_discounts=before,
        discount=before - after_discounts,
        amounts=amounts,
        service_charge=service_charge,
    )


def _discount_from_row(row) -> PricedDiscount:
    return PricedDiscount(percent=row.percent, amount=row.amount, key=row.pk)


def check_discounts_from_rows(rows) -> list[PricedDiscount]:
    """Check-level PricedDiscounts from Adjustment rows (line is null, not removed)."""
    return [_discount_from_row(a) for a in rows if a.line_id is None and a.removed_at is None]


def lines_from_rows(rows) -> list[PricedLine]:
    """PricedLines from OrderLine rows (with `modifiers` prefetched where it matters)."""
    result = []
    for row in rows:
        adjustments = getattr(row, "adjustments", None)
        discounts = tuple(
            _discount_from_row(a)
            for a in (adjustments.all() if adjustments is not None else ())
            if a.removed_at is None
        )
        result.append(
            PricedLine(
                unit_price=row.unit_price,
                quantity=row.quantity,
                tax_rate=row.tax_rate,
                tax_code=row.tax_code,
                modifiers=tuple(
                    PricedModifier(m.price_delta, m.quantity, m.free_quantity)
                    for m in row.modifiers.all()
                ),
                voided=row.status == "voided",
                key=row.pk,
                discounts=discounts,
            )
        )
    return result
