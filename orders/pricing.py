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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from restaurant.money import tax_added, tax_included


@dataclass(frozen=True)
class PricedModifier:
    price_delta: int
    quantity: int = 1
    free_quantity: int = 0

    @property
    def amount(self) -> int:
        return self.price_delta * (self.quantity - self.free_quantity)


@dataclass(frozen=True)
class PricedLine:
    unit_price: int
    quantity: int
    tax_rate: Decimal
    tax_code: str
    modifiers: tuple[PricedModifier, ...] = ()
    voided: bool = False
    key: object = None  # the caller's handle (an OrderLine id), carried through untouched

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
class CheckTotals:
    lines: tuple[tuple[object, int], ...]  # (key, line total) for every non-voided line
    subtotal: int  # sum of line totals as priced
    tax: int
    total: int  # what the guest pays
    taxes: tuple[TaxLine, ...] = field(default_factory=tuple)
    prices_include_tax: bool = True

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


def check_totals(lines: Iterable[PricedLine], *, prices_include_tax: bool) -> CheckTotals:
    live = [line for line in lines if not line.voided]
    for line in live:
        if line.quantity < 1:
            raise ValueError("a line's quantity must be at least 1")
        if line.unit_total < 0:
            raise ValueError("a line's unit price with modifiers must not be negative")
    taxes = tax_breakdown(
        ((line.tax_code, line.tax_rate, line.total) for line in live),
        prices_include_tax=prices_include_tax,
    )
    subtotal = sum(line.total for line in live)
    tax = sum(t.tax for t in taxes)
    total = subtotal if prices_include_tax else subtotal + tax
    return CheckTotals(
        lines=tuple((line.key, line.total) for line in live),
        subtotal=subtotal,
        tax=tax,
        total=total,
        taxes=taxes,
        prices_include_tax=prices_include_tax,
    )


def lines_from_rows(rows) -> list[PricedLine]:
    """PricedLines from OrderLine rows (with `modifiers` prefetched where it matters)."""
    result = []
    for row in rows:
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
            )
        )
    return result
