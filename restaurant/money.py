"""Money: integers in the currency's minor unit, and the one place that rounds.

Every amount in Brigade is an `int` of minor units (cents), like Stripe's `amount`. Rates and
percentages are `Decimal`. Anything that produces a fraction of a cent goes through
`round_half_up` (one rounding rule for everything) or, when a total must be shared out,
through `allocate` (largest remainder), so parts always sum exactly to the whole.
See docs/money.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# ISO 4217 minor-unit exponents for currencies whose exponent is not 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF", "DKK": "kr", "SEK": "kr"}


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def round_half_up(value: Decimal | int) -> int:
    """Round a Decimal to the nearest integer, halves away from zero (0.5 -> 1, -0.5 -> -1)."""
    if isinstance(value, int):
        return value
    if not isinstance(value, Decimal):
        raise TypeError(f"round_half_up takes Decimal or int, not {type(value).__name__}")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(amount: int, percent: Decimal | int) -> int:
    """`percent`% of `amount` minor units, rounded half up."""
    return round_half_up(Decimal(amount) * Decimal(percent) / 100)


def tax_included(gross: int, rate: Decimal) -> int:
    """The tax inside a tax-inclusive amount: gross * rate / (100 + rate), rounded half up."""
    rate = Decimal(rate)
    return round_half_up(Decimal(gross) * rate / (100 + rate))


def tax_added(net: int, rate: Decimal) -> int:
    """The tax on top of a tax-exclusive amount: net * rate / 100, rounded half up."""
    return percent_of(net, rate)


def allocate(total: int, weights: Sequence[int | Decimal | Fraction]) -> list[int]:
    """Share `total` out in proportion to `weights`; the parts sum exactly to `total`.

    Largest remainder: each part gets the floor of its exact share, and the cents left over go
    one each to the parts with the largest fractional remainders (ties: earlier part first).
    Weights (int, Decimal or Fraction; never float) must be non-negative with a positive sum;
    the shares are computed exactly, as Fractions. `total` may be negative (a discount): its
    magnitude is shared and the sign put back.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    exact_weights = [_exact(w) for w in weights]
    if any(w < 0 for w in exact_weights):
        raise ValueError("weights must be non-negative")
    weight_sum = sum(exact_weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w / weight_sum for w in exact_weights]
    parts = [math.floor(e) for e in exact]
    leftover = magnitude - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]


def _exact(weight: int | Decimal | Fraction) -> Fraction:
    """A weight as an exact Fraction (Fraction(Decimal) is exact); floats are refused."""
    if not isinstance(weight, int | Decimal | Fraction):
        raise TypeError(f"weights are int, Decimal or Fraction, not {type(weight).__name__}")
    if isinstance(weight, Decimal) and not weight.is_finite():
        raise ValueError(f"weights must be finite, not {weight}")
    return Fraction(weight)


def split_evenly(total: int, ways: int) -> list[int]:
    if ways < 1:
        raise ValueError("ways must be at least 1")
    return allocate(total, [1] * ways)


def round_cash(amount: int, step: int) -> int:
    """Round a cash amount to the venue's step (5 = nearest 5 cents, halves up)."""
    if step <= 1:
        return amount
    return round_half_up(Decimal(amount) / step) * step


def to_decimal(amount: int, currency: str = "EUR") -> Decimal:
    """Minor units as a Decimal in major units, for display and export only."""
    return Decimal(amount).scaleb(-minor_exponent(currency))


def parse_amount(text: str, currency: str = "EUR") -> int:
    """Parse '24.50' or '24,50' (major units) into minor units; never through a float."""
    from decimal import InvalidOperation

    cleaned = str(text).strip().replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    scaled = value.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than {currency} allows")
    return int(scaled)


def format_money(amount: int, currency: str = "EUR") -> str:
    """'€ 24.50', '-€ 3.00', '$ 1,234.56' (grouped thousands, dot decimal)."""
    exponent = minor_exponent(currency)
    value = abs(Decimal(amount).scaleb(-exponent))
    number = f"{value:,.{exponent}f}"
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol} {number}"
