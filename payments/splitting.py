"""Splitting a check's bill into parts, every part exact to the cent. Pure: no models, no DB.

A split is a list of `PartSpec`s, each exactly one of:

- lines: fractions of order lines ("by item", "by seat"; a bottle three ways is 1/3 of the
  line on each of three parts);
- amount: a fixed amount ("by amount");
- even: one equal share of whatever the other parts leave.

A part that has been paid carries its frozen `PartAmounts` (`paid`) and keeps them exactly,
whatever happened to the check since. `split_check` computes every other part, per tax rate,
and what no part covers yet (`Split.unassigned`). See docs/money.md, "Splitting a bill".

How the cents are found:

1. What is left per rate = the check's gross and tax at that rate minus the paid parts'. A
   rate where the paid parts hold more than the check now has (a line voided after it was
   paid) gives the open parts nothing at that rate: the difference goes to `unassigned`, the
   only place an amount can be negative.
2. An exact table E[part][rate] of Fractions: lines parts get their lines' amounts times their
   fractions (tax added at the rate's exact proportion when prices exclude tax), amount parts
   their amount spread over the rates in proportion to what lines parts leave, even parts
   equal shares of the rest (without even parts, the rest is `unassigned`). Every column sums
   to what is left at that rate, an integer.
3. Controlled rounding (`_controlled_round`): every cell becomes the floor or the ceiling of
   its exact value, every column keeps its exact sum, and every row total is the floor or
   the ceiling of its exact total, the ceilings going to the rows with the largest fractional
   parts that a bipartite flow (rows -> rates) can serve.
4. Per rate, the tax left is shared over the rows by their gross (`allocate`); the discount and
   the service charge left are shared by each row's exact share of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from orders.pricing import CheckTotals, LineAmount
from restaurant.money import allocate, percent_of, round_half_up

RateKey = tuple[str, Decimal]


@dataclass(frozen=True)
class RatePart:
    """One tax rate's share of a part."""

    code: str
    rate: Decimal
    gross: int  # what the guest pays at this rate, tax included
    tax: int

    @property
    def net(self) -> int:
        return self.gross - self.tax


@dataclass(frozen=True)
class PartAmounts:
    """What one part of a bill comes to; `taxes` has one entry per rate of the check."""

    key: object
    total: int
    taxes: tuple[RatePart, ...]
    discount: int = 0  # this part's share of the check's discounts (as priced)
    service_charge: int = 0  # this part's share of the service charge (as priced)

    def __post_init__(self):
        object.__setattr__(self, "taxes", tuple(self.taxes))
        if self.total != sum(r.gross for r in self.taxes):
            raise ValueError("a part's total is the sum of its rates' gross amounts")

    @property
    def tax(self) -> int:
        return sum(r.tax for r in self.taxes)

    @property
    def net(self) -> int:
        return self.total - self.tax

    def to_dict(self) -> dict:
        """For JSON storage (the key must be JSON-serializable; rates are strings)."""
        return {
            "key": self.key,
            "total": self.total,
            "discount": self.discount,
            "service_charge": self.service_charge,
            "taxes": [
                {"code": r.code, "rate": str(r.rate), "gross": r.gross, "tax": r.tax}
                for r in self.taxes
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> PartAmounts:
        return cls(
            key=data.get("key"),
            total=_stored_int(data["total"]),
            taxes=tuple(
                RatePart(
                    code=str(r["code"]),
                    rate=_stored_rate(r["rate"]),
                    gross=_stored_int(r["gross"]),
                    tax=_stored_int(r["tax"]),
                )
                for r in data["taxes"]
            ),
            discount=_stored_int(data.get("discount", 0)),
            service_charge=_stored_int(data.get("service_charge", 0)),
        )


def _stored_int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"a stored amount is an integer, not {value!r}")
    return value


def _stored_rate(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"a stored rate is a decimal string, not {value!r}")
    rate = Decimal(value)
    if not rate.is_finite():
        raise ValueError(f"a stored rate is a decimal string, not {value!r}")
    return rate


@dataclass(frozen=True)
class PartSpec:
    """One part of a split, as the staff asked for it (exactly one of lines, amount, even)."""

    key: object
    # order-line key -> fraction of that line this part pays
    lines: Mapping[object, Fraction] = field(default_factory=dict)
    amount: int | None = None  # a fixed amount
    even: bool = False  # one equal share of whatever the other parts leave
    paid: PartAmounts | None = None  # once paid: frozen, returned unchanged


@dataclass(frozen=True)
class Split:
    parts: tuple[PartAmounts, ...]  # in the order of the specs
    unassigned: PartAmounts  # key None: what no part covers yet (zero when fully covered)
    total: int  # the check total


class SplitError(ValueError):
    """A split that cannot be computed; `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str, *, part: object = None, line: object = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.part = part
        self.line = line


LINES, AMOUNT, EVEN = "lines", "amount", "even"


@dataclass
class _LineMoney:
    gross: dict[int, Fraction]  # rate index -> exact amount the guest pays (tax included)
    discount: int  # line + check discounts, as priced
    service: int  # service charge share, as priced


def split_check(totals: CheckTotals, specs: Sequence[PartSpec]) -> Split:
    """The parts of a check's bill (see the module docstring and docs/money.md).

    Stable while nothing changes: if computing every part afresh (as if none were paid) gives
    each paid part exactly what it paid, that computation stands, so paying one part never
    moves another part's amount by a cent. Otherwise (the check changed since a part was
    paid) the open parts share what the paid ones left.
    """
    specs = tuple(specs)
    if any(spec.paid is not None for spec in specs):
        try:
            fresh = _split(totals, tuple(replace(spec, paid=None) for spec in specs))
        except SplitError:
            fresh = None
        if fresh is not None and all(
            spec.paid is None or _same_amounts(spec.paid, part)
            for spec, part in zip(specs, fresh.parts, strict=True)
        ):
            parts = tuple(
                spec.paid if spec.paid is not None else part
                for spec, part in zip(specs, fresh.parts, strict=True)
            )
            return Split(parts=parts, unassigned=fresh.unassigned, total=fresh.total)
    return _split(totals, specs)


def _same_amounts(paid: PartAmounts, part: PartAmounts) -> bool:
    def rates(amounts: PartAmounts) -> dict:
        return {
            (r.code, Decimal(r.rate)): (r.gross, r.tax) for r in amounts.taxes if r.gross or r.tax
        }

    return (
        paid.total == part.total
        and paid.discount == part.discount
        and paid.service_charge == part.service_charge
        and rates(paid) == rates(part)
    )


def _split(totals: CheckTotals, specs: tuple[PartSpec, ...]) -> Split:
    specs = tuple(specs)
    kinds = [_kind(spec) for spec in specs]
    rate_keys: list[RateKey] = [(t.code, Decimal(t.rate)) for t in totals.taxes]
    index = {key: r for r, key in enumerate(rate_keys)}
    lines = _line_table(totals, index)
    fractions = _validated_fractions(specs, kinds, lines)
    for spec, kind in zip(specs, kinds, strict=True):
        if spec.paid is None and kind == AMOUNT:
            amount = spec.amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise SplitError(
                    "bad_amount", "A part's amount must be more than zero.", part=spec.key
                )

    # Rates: the check's, then any that only paid parts still carry (all lines voided since).
    for spec in specs:
        if spec.paid is not None:
            for rate_part in spec.paid.taxes:
                key = (rate_part.code, Decimal(rate_part.rate))
                if key not in index:
                    index[key] = len(rate_keys)
                    rate_keys.append(key)
    n_rates = len(rate_keys)
    gross_left = [t.gross for t in totals.taxes] + [0] * (n_rates - len(totals.taxes))
    tax_left = [t.tax for t in totals.taxes] + [0] * (n_rates - len(totals.taxes))
    discount_left = totals.discount
    service_left = totals.service_charge
    for spec in specs:
        if spec.paid is not None:
            for rate_part in spec.paid.taxes:
                r = index[(rate_part.code, Decimal(rate_part.rate))]
                gross_left[r] -= rate_part.gross
                tax_left[r] -= rate_part.tax
            discount_left -= spec.paid.discount
            service_left -= spec.paid.service_charge
    avail = [max(g, 0) for g in gross_left]

    # Rows: the open parts in order, then unassigned.
    open_specs = [(i, spec) for i, spec in enumerate(specs) if spec.paid is None]
    row_kinds = [kinds[i] for i, _ in open_specs]
    row_fractions = [fractions[i] for i, _ in open_specs]
    paid_count = len(specs) - len(open_specs)
    exact = _exact_table(row_kinds, open_specs, row_fractions, lines, avail, paid_count)
    grosses = _controlled_round(exact, avail)
    unassigned_row = len(exact) - 1

    # Tax per rate, shared over the rows by their gross.
    taxes = [[0] * n_rates for _ in exact]
    for r in range(n_rates):
        if gross_left[r] < 0:
            taxes[unassigned_row][r] = tax_left[r]
            continue
        wanted = min(max(tax_left[r], 0), gross_left[r])
        if wanted > 0:
            for row, share in enumerate(allocate(wanted, [g[r] for g in grosses])):
                taxes[row][r] = share
        taxes[unassigned_row][r] += tax_left[r] - wanted
    for r in range(n_rates):
        grosses[unassigned_row][r] += min(gross_left[r], 0)

    # Discount and service charge: each row's exact share of what is left of them.
    row_totals = [sum(row) for row in exact]
    discounts = _share(
        discount_left,
        _exact_shares(row_kinds, row_fractions, lines, row_totals, discount_left, "discount"),
    )
    services = _share(
        service_left,
        _exact_shares(row_kinds, row_fractions, lines, row_totals, service_left, "service"),
    )

    def amounts(key: object, row: int) -> PartAmounts:
        return PartAmounts(
            key=key,
            total=sum(grosses[row]),
            taxes=tuple(
                RatePart(code, rate, grosses[row][r], taxes[row][r])
                for r, (code, rate) in enumerate(rate_keys)
            ),
            discount=discounts[row],
            service_charge=services[row],
        )

    computed = {i: amounts(spec.key, row) for row, (i, spec) in enumerate(open_specs)}
    parts = tuple(
        spec.paid if spec.paid is not None else computed[i] for i, spec in enumerate(specs)
    )
    return Split(parts=parts, unassigned=amounts(None, unassigned_row), total=totals.total)


def _kind(spec: PartSpec) -> str | None:
    """The spec's kind; a paid spec's kind is not checked (its money is frozen)."""
    if not isinstance(spec, PartSpec):
        raise SplitError("bad_part", "A part must be a PartSpec.")
    if spec.paid is not None and not isinstance(spec.paid, PartAmounts):
        raise SplitError("bad_part", "A paid part's amounts are a PartAmounts.", part=spec.key)
    if not isinstance(spec.lines, Mapping):
        raise SplitError("bad_part", "A part's lines map line keys to fractions.", part=spec.key)
    kinds = []
    if spec.lines:
        kinds.append(LINES)
    if spec.amount is not None:
        kinds.append(AMOUNT)
    if spec.even:
        kinds.append(EVEN)
    if len(kinds) == 1:
        return kinds[0]
    if spec.paid is not None:
        return LINES if spec.lines else None
    raise SplitError(
        "bad_part",
        "A part is exactly one of: shares of lines, an amount, or an even share.",
        part=spec.key,
    )


def _fraction(value, spec: PartSpec, line: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal):
        raise SplitError(
            "bad_fraction",
            "A share of a line is an exact fraction such as 1/3.",
            part=spec.key,
            line=line,
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise SplitError(
            "bad_fraction", "A share of a line is a fraction.", part=spec.key, line=line
        )
    fraction = Fraction(value)
    if not 0 < fraction <= 1:
        raise SplitError(
            "bad_fraction",
            "A share of a line is more than 0 and at most 1.",
            part=spec.key,
            line=line,
        )
    return fraction


def _validated_fractions(
    specs: Sequence[PartSpec], kinds: Sequence[str | None], lines: Mapping[object, _LineMoney]
) -> list[dict[object, Fraction]]:
    result: list[dict[object, Fraction]] = []
    claimed: dict[object, Fraction] = {}
    for spec, kind in zip(specs, kinds, strict=True):
        fractions: dict[object, Fraction] = {}
        if kind == LINES:
            for line, value in spec.lines.items():
                fraction = _fraction(value, spec, line)
                if spec.paid is None and line not in lines:
                    raise SplitError(
                        "unknown_line",
                        "A part names a line that is not on the check.",
                        part=spec.key,
                        line=line,
                    )
                fractions[line] = fraction
                claimed[line] = claimed.get(line, Fraction(0)) + fraction
        result.append(fractions)
    for line, total in claimed.items():
        if total > 1:
            raise SplitError(
                "line_overassigned",
                "The parts together pay for more than all of a line.",
                line=line,
            )
    return result


def _line_table(totals: CheckTotals, index: Mapping[RateKey, int]) -> dict[object, _LineMoney]:
    """Per line key: its exact gross at its rate, its discounts and service charge share."""
    table: dict[object, _LineMoney] = {}
    for amount in totals.amounts:
        r = _rate_index(amount, index)
        tax_line = totals.taxes[r]
        exact = Fraction(amount.total)
        if not totals.prices_include_tax:
            exact = exact * tax_line.gross / tax_line.base if tax_line.base else Fraction(0)
        entry = table.setdefault(amount.key, _LineMoney({}, 0, 0))
        entry.gross[r] = entry.gross.get(r, Fraction(0)) + exact
        entry.discount += amount.line_discount + amount.check_discount
        entry.service += amount.service_charge
    return table


def _rate_index(amount: LineAmount, index: Mapping[RateKey, int]) -> int:
    if amount.tax_rate is not None:
        r = index.get((amount.tax_code, Decimal(amount.tax_rate)))
        if r is not None:
            return r
    for (code, _), r in index.items():
        if code == amount.tax_code:
            return r
    raise ValueError(f"line {amount.key!r} has no tax line on the check")


def _exact_table(
    kinds: Sequence[str | None],
    open_specs: Sequence[tuple[int, PartSpec]],
    fractions: Sequence[Mapping[object, Fraction]],
    lines: Mapping[object, _LineMoney],
    avail: Sequence[int],
    paid_count: int,
) -> list[list[Fraction]]:
    """E[row][rate] for the open parts and a last row for unassigned; column r sums to
    avail[r] exactly and nothing is negative."""
    n_rows, n_rates = len(open_specs) + 1, len(avail)
    table = [[Fraction(0)] * n_rates for _ in range(n_rows)]
    amounts = [0] * n_rows
    for row, kind in enumerate(kinds):
        if kind == LINES:
            for line, fraction in fractions[row].items():
                for r, gross in lines[line].gross.items():
                    table[row][r] += fraction * gross
        elif kind == AMOUNT:
            amounts[row] = open_specs[row][1].amount
    total_left = sum(avail)
    amount_sum = sum(amounts)
    lines_sum = sum(sum(table[row]) for row in range(n_rows))
    # Parts paid earlier were rounded to the cent, each less than a cent above its exact
    # value; lines parts may ask that much more than is left, and then give it up.
    if amount_sum > total_left or amount_sum + lines_sum > total_left + paid_count:
        raise SplitError(
            "amounts_exceed_total",
            "The parts add up to more than is left to pay on the check.",
        )
    budget = total_left - amount_sum
    if lines_sum > budget:
        scale = Fraction(budget) / lines_sum
        table = [[cell * scale for cell in row] for row in table]
    # A rate that lines parts over-ask (paid parts took some of it): they take what is there
    # and the rest of their share (overflow) from the other rates, like an amount.
    flexible = [Fraction(a) for a in amounts]
    for r in range(n_rates):
        column = sum(table[row][r] for row in range(n_rows))
        if column > avail[r]:
            keep = Fraction(avail[r]) / column
            for row in range(n_rows):
                cut = table[row][r] * (1 - keep)
                flexible[row] += cut
                table[row][r] -= cut
    spare = [avail[r] - sum(table[row][r] for row in range(n_rows)) for r in range(n_rates)]
    spare_sum = sum(spare)
    flexible_sum = sum(flexible)
    leftover = list(spare)
    if spare_sum > 0:
        for row in range(n_rows):
            if flexible[row]:
                for r in range(n_rates):
                    table[row][r] += flexible[row] * spare[r] / spare_sum
        leftover = [spare[r] - flexible_sum * spare[r] / spare_sum for r in range(n_rates)]
    even_rows = [row for row, kind in enumerate(kinds) if kind == EVEN]
    for r in range(n_rates):
        if even_rows:
            for row in even_rows:
                table[row][r] = leftover[r] / len(even_rows)
        else:
            table[n_rows - 1][r] = leftover[r]
    return table


def _exact_shares(
    kinds: Sequence[str | None],
    fractions: Sequence[Mapping[object, Fraction]],
    lines: Mapping[object, _LineMoney],
    row_totals: Sequence[Fraction],
    left: int,
    what: str,
) -> list[Fraction]:
    """Each row's exact share of the discount (or service charge) left: lines parts the
    fractions of their lines' own, the other rows the rest in proportion to their totals."""
    shares = [Fraction(0)] * len(row_totals)
    for row, kind in enumerate(kinds):
        if kind == LINES:
            shares[row] = sum(
                (
                    fraction * getattr(lines[line], what)
                    for line, fraction in fractions[row].items()
                ),
                Fraction(0),
            )
    rest = left - sum(shares)
    pool = [row for row, kind in enumerate(kinds) if kind != LINES] + [len(row_totals) - 1]
    pool_total = sum(row_totals[row] for row in pool)
    if pool_total > 0:
        for row in pool:
            shares[row] = rest * row_totals[row] / pool_total
    else:
        shares[-1] = rest
    return shares


def _share(left: int, exact: Sequence[Fraction]) -> list[int]:
    """`left` shared by largest remainder over the rows' exact shares (the last row is
    unassigned). What cannot be shared without a negative part goes to unassigned."""
    if left <= 0:
        return [0] * (len(exact) - 1) + [left]
    weights = [max(x, Fraction(0)) for x in exact]
    if sum(weights) == 0:
        return [0] * (len(exact) - 1) + [left]
    return allocate(left, weights)


def _controlled_round(
    exact: Sequence[Sequence[Fraction]], columns: Sequence[int]
) -> list[list[int]]:
    """Round a non-negative table whose column sums are the integers `columns`.

    Every cell becomes floor or ceil of its exact value; every column sum stays exact; every
    row total becomes floor or ceil of its exact row total. Which rows go up is decided
    greedily in order of their fractional parts (largest first, ties: the earlier row), then
    which cells within the rows, each step kept only if a flow can still serve it.

    It never fails: with f the fractional parts, row i may take floor(F_i) or ceil(F_i) units
    where F_i = sum_r f[i][r], column r needs exactly c_r = sum_i f[i][r] units, and a cell
    takes at most one unit. f itself is a feasible (fractional) flow with these integer bounds,
    so an integral one exists (integral flow theorem); each greedy step keeps one. The
    per-column fallback is there only against a bug.
    """
    n_rows = len(exact)
    n_cols = len(columns)
    floors = [[math.floor(x) for x in row] for row in exact]
    fracs = [
        [x - f for x, f in zip(row, frow, strict=True)]
        for row, frow in zip(exact, floors, strict=True)
    ]
    need = [columns[r] - sum(floors[i][r] for i in range(n_rows)) for r in range(n_cols)]
    mass = [sum(row, Fraction(0)) for row in fracs]
    row_lo = [math.floor(m) for m in mass]
    row_hi = [math.ceil(m) for m in mass]
    cells = {(i, r): [0, 1] for i in range(n_rows) for r in range(n_cols) if fracs[i][r] > 0}
    if not cells:
        return floors
    flow = _flow_with_bounds(n_rows, n_cols, row_lo, row_hi, cells, need)
    if flow is None:  # pragma: no cover - unreachable, see the docstring
        return _column_fallback(exact, columns)
    for i in sorted(
        (i for i in range(n_rows) if row_lo[i] < row_hi[i]),
        key=lambda i: (-(mass[i] - row_lo[i]), i),
    ):
        low = row_lo[i]
        row_lo[i] = row_hi[i]
        if sum(flow[c] for c in cells if c[0] == i) == row_hi[i]:
            continue
        tried = _flow_with_bounds(n_rows, n_cols, row_lo, row_hi, cells, need)
        if tried is None:
            row_lo[i] = row_hi[i] = low
        else:
            flow = tried
    for cell in sorted(cells, key=lambda c: (-fracs[c[0]][c[1]], c[0], c[1])):
        cells[cell][0] = 1
        if flow[cell] == 1:
            continue
        tried = _flow_with_bounds(n_rows, n_cols, row_lo, row_hi, cells, need)
        if tried is None:
            cells[cell][:] = [0, 0]
        else:
            flow = tried
    result = [list(row) for row in floors]
    for (i, r), units in flow.items():
        result[i][r] += units
    return result


def _column_fallback(
    exact: Sequence[Sequence[Fraction]], columns: Sequence[int]
) -> list[list[int]]:
    """Largest remainder down each column: columns exact, cells floor or ceil, rows unchecked."""
    result = [[0] * len(columns) for _ in exact]
    for r, column in enumerate(columns):
        weights = [row[r] for row in exact]
        if column > 0:
            for i, share in enumerate(allocate(column, weights)):
                result[i][r] = share
    return result


def _flow_with_bounds(
    n_rows: int,
    n_cols: int,
    row_lo: Sequence[int],
    row_hi: Sequence[int],
    cells: Mapping[tuple[int, int], Sequence[int]],
    need: Sequence[int],
) -> dict[tuple[int, int], int] | None:
    """An integral flow source -> rows -> columns -> sink where row i carries between
    row_lo[i] and row_hi[i], cell (i, r) between its bounds and column r exactly need[r];
    None if there is none. The standard reduction of lower bounds to a max flow."""
    source, sink = 0, 1
    first_col = 2 + n_rows
    super_source = first_col + n_cols
    super_sink = super_source + 1
    size = super_sink + 1
    cap = [[0] * size for _ in range(size)]
    excess = [0] * size

    def edge(u: int, v: int, lo: int, hi: int) -> None:
        cap[u][v] += hi - lo
        excess[v] += lo
        excess[u] -= lo

    for i in range(n_rows):
        edge(source, 2 + i, row_lo[i], row_hi[i])
    for (i, r), (lo, hi) in cells.items():
        edge(2 + i, first_col + r, lo, hi)
    for r in range(n_cols):
        edge(first_col + r, sink, need[r], need[r])
    cap[sink][source] = sum(need) + sum(row_hi) + 1
    demand = 0
    for v in range(size):
        if excess[v] > 0:
            cap[super_source][v] = excess[v]
            demand += excess[v]
        elif excess[v] < 0:
            cap[v][super_sink] = -excess[v]
    original = {cell: cap[2 + cell[0]][first_col + cell[1]] for cell in cells}
    if _max_flow(cap, super_source, super_sink) < demand:
        return None
    return {
        (i, r): cells[(i, r)][0] + original[(i, r)] - cap[2 + i][first_col + r] for (i, r) in cells
    }


def _max_flow(cap: list[list[int]], source: int, sink: int) -> int:
    """Edmonds-Karp on a small dense graph; `cap` becomes the residual graph."""
    size = len(cap)
    total = 0
    while True:
        parent = [-1] * size
        parent[source] = source
        queue = [source]
        for u in queue:
            if u == sink:
                break
            row = cap[u]
            for v in range(size):
                if parent[v] < 0 and row[v] > 0:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return total
        bottleneck = None
        v = sink
        while v != source:
            u = parent[v]
            bottleneck = cap[u][v] if bottleneck is None else min(bottleneck, cap[u][v])
            v = u
        v = sink
        while v != source:
            u = parent[v]
            cap[u][v] -= bottleneck
            cap[v][u] += bottleneck
            v = u
        total += bottleneck


def tip_basis(
    part: PartAmounts, *, before_tax: bool, before_discount: bool, prices_include_tax: bool
) -> int:
    """What a tip percentage of this part is taken of (see docs/money.md, "Tips").

    From the part's total; before tax, its net instead. Before discounts, the part's discount
    share is added back (only its net part, discount x net / total rounded half up, when the
    basis is before tax and prices include tax). The part's service charge share is never in
    the basis (taken off, its net part when the basis is before tax and prices include tax).
    Never negative.
    """
    basis = part.total
    discount = part.discount
    service = part.service_charge
    if before_tax:
        basis = part.net
        if prices_include_tax:
            discount = _net_part(discount, part)
            service = _net_part(service, part)
    if before_discount:
        basis += discount
    basis -= service
    return max(0, basis)


def _net_part(amount: int, part: PartAmounts) -> int:
    """The tax-free part of a tax-inclusive `amount` of `part`, at the part's own net/total.
    A part that comes to nothing has no proportion to go by: the amount is taken whole."""
    if part.total <= 0:
        return amount
    return round_half_up(Decimal(amount) * part.net / part.total)


def tip_for(basis: int, percent: Decimal | int) -> int:
    """`percent`% of the tip basis, rounded half up; a percentage is from 0 to 100."""
    if isinstance(percent, bool) or not isinstance(percent, int | Decimal):
        raise TypeError("a tip percentage is an int or a Decimal")
    if not (Decimal(percent).is_finite() and 0 <= percent <= 100):
        raise ValueError("a tip percentage is from 0 to 100")
    return percent_of(basis, percent)
