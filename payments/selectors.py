"""Reads for the bill: what each part owes, what has been paid, what is left; drawers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db.models import Prefetch, Q, Sum

from orders.models import Check, OrderLine
from orders.pricing import CheckTotals
from orders.selectors import check_with_lines, totals_for
from payments.models import BillPart, DrawerMovement, DrawerSession, Payment
from payments.splitting import PartAmounts, PartSpec, Split, split_check, tip_basis, tip_for
from restaurant.models import Venue
from restaurant.money import round_half_up

ACTIVE_PARTS = (BillPart.Status.OPEN, BillPart.Status.PAID)


@dataclass
class PartView:
    part: BillPart
    amounts: PartAmounts
    payments: list[Payment] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments if p.status == Payment.Status.SUCCEEDED)

    @property
    def tips(self) -> int:
        return sum(p.tip for p in self.payments if p.status == Payment.Status.SUCCEEDED)

    @property
    def balance(self) -> int:
        return max(0, self.amounts.total - self.paid)

    @property
    def card_pending(self) -> Payment | None:
        """A card payment waiting on a reader or a phone for this part, if any."""
        return next(
            (
                p
                for p in self.payments
                if p.method == Payment.Method.CARD and p.status == Payment.Status.PENDING
            ),
            None,
        )

    @property
    def locked(self) -> bool:
        """Paid, partly paid, or being paid by card: a new split keeps it as it is."""
        return (
            self.part.status == BillPart.Status.PAID
            or self.paid > 0
            or self.card_pending is not None
        )


@dataclass
class Bill:
    tab: Check
    totals: CheckTotals
    split: Split
    parts: list[PartView]
    paid: int
    tips: int

    @property
    def total(self) -> int:
        return self.totals.total

    @property
    def balance(self) -> int:
        """What is still to be paid on the check (never negative)."""
        return max(0, self.total - self.paid)

    @property
    def unassigned(self) -> PartAmounts:
        return self.split.unassigned

    def part(self, part_id: int) -> PartView | None:
        return next((view for view in self.parts if view.part.pk == part_id), None)

    @property
    def settled(self) -> bool:
        return self.balance == 0 and all(
            view.part.status == BillPart.Status.PAID or view.amounts.total == 0
            for view in self.parts
        )


def active_parts(tab: Check) -> list[BillPart]:
    return list(
        BillPart.objects.filter(tab=tab, status__in=ACTIVE_PARTS)
        .prefetch_related(
            "shares",
            Prefetch("payments", queryset=Payment.objects.order_by("pk")),
        )
        .order_by("position", "pk")
    )


def part_spec(part: BillPart, line_ids: set[int]) -> PartSpec:
    """The splitting module's view of a stored part (shares on lines no longer on the check,
    moved or voided away, are left out)."""
    paid = PartAmounts.from_dict(part.frozen) if part.status == BillPart.Status.PAID else None
    if part.kind == BillPart.Kind.LINES:
        lines = {
            share.line_id: Fraction(share.numerator, share.denominator)
            for share in part.shares.all()
            if share.line_id in line_ids
        }
        if not lines:
            if paid is not None:
                return PartSpec(key=part.pk, amount=paid.total, paid=paid)
            # Everything it covered has gone (moved or voided): it owes nothing.
            return PartSpec(key=part.pk)
        return PartSpec(key=part.pk, lines=lines, paid=paid)
    if part.kind == BillPart.Kind.AMOUNT:
        return PartSpec(key=part.pk, amount=part.amount, paid=paid)
    return PartSpec(key=part.pk, even=True, paid=paid)


def live_line_ids(tab: Check) -> set[int]:
    return {line.pk for line in tab.lines.all() if line.status != OrderLine.Status.VOIDED}


def bill_for(tab: Check, *, parts: list[BillPart] | None = None) -> Bill:
    """The bill of a check (loaded with its lines): each active part's amounts and payments."""
    totals = totals_for(tab)
    parts = active_parts(tab) if parts is None else parts
    line_ids = live_line_ids(tab)
    specs = [part_spec(part, line_ids) for part in parts]
    usable = [spec for spec in specs if spec.lines or spec.amount or spec.even or spec.paid]
    split = split_check(totals, usable)
    by_key = {amounts.key: amounts for amounts in split.parts}
    views = []
    for part in parts:
        amounts = by_key.get(part.pk) or PartAmounts(
            key=part.pk, total=0, taxes=tuple(), discount=0, service_charge=0
        )
        views.append(PartView(part=part, amounts=amounts, payments=list(part.payments.all())))
    succeeded = Payment.objects.filter(tab=tab, status=Payment.Status.SUCCEEDED).aggregate(
        amount=Sum("amount"), tip=Sum("tip")
    )
    return Bill(
        tab=tab,
        totals=totals,
        split=split,
        parts=views,
        paid=succeeded["amount"] or 0,
        tips=succeeded["tip"] or 0,
    )


def bill_of(*, check_id: int, venue: Venue) -> Bill | None:
    tab = check_with_lines(check_id=check_id, venue=venue)
    return bill_for(tab) if tab else None


def part_tip_basis(view: PartView, venue: Venue) -> int:
    return tip_basis(
        view.amounts,
        before_tax=venue.tip_before_tax,
        before_discount=venue.tip_before_discount,
        prices_include_tax=venue.prices_include_tax,
    )


def payment_tip_basis(view: PartView, venue: Venue, amount: int) -> int:
    """The part of the part's tip basis that a payment of `amount` covers.

    The payment that settles the part gets what earlier payments left, so the tip bases of a
    part's payments add up to the part's basis exactly.
    """
    basis = part_tip_basis(view, venue)
    if view.amounts.total <= 0:
        return 0
    if amount >= view.balance:
        earlier = sum(p.tip_basis for p in view.payments if p.status == Payment.Status.SUCCEEDED)
        return max(0, basis - earlier)
    return round_half_up(Decimal(basis) * amount / view.amounts.total)


def tip_options(view: PartView, venue: Venue, amount: int | None = None) -> list[dict]:
    """The venue's preset tips for paying `amount` (default: the part's balance)."""
    basis = payment_tip_basis(view, venue, view.balance if amount is None else amount)
    return [
        {"percent": int(p), "amount": tip_for(basis, p)}
        for p in (venue.tip_presets or [])
        if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100
    ]


def refundable(payment: Payment) -> int:
    """What a refund can still give back: a captured card payment's amount and tip, less what
    was refunded already (payments.card.payment_refund refuses more)."""
    if payment.method != Payment.Method.CARD or payment.status != Payment.Status.SUCCEEDED:
        return 0
    return max(0, payment.amount + payment.tip - payment.refunded)


def open_drawer_sessions(venue: Venue):
    return DrawerSession.objects.filter(
        venue=venue, status=DrawerSession.Status.OPEN
    ).select_related("drawer", "opened_by")


def drawer_expected(session: DrawerSession) -> dict:
    """What should be in the drawer: the float, cash taken (net of change), pays in and out."""
    cash = Payment.objects.filter(
        drawer_session=session, method=Payment.Method.CASH, status=Payment.Status.SUCCEEDED
    )
    sums = cash.aggregate(amount=Sum("amount"), tip=Sum("tip"), rounding=Sum("rounding"))
    moves = session.movements.aggregate(
        pay_in=Sum("amount", filter=Q(kind=DrawerMovement.Kind.PAY_IN)),
        pay_out=Sum("amount", filter=Q(kind=DrawerMovement.Kind.PAY_OUT)),
    )
    sales = sums["amount"] or 0
    tips = sums["tip"] or 0
    rounding = sums["rounding"] or 0
    pay_in = moves["pay_in"] or 0
    pay_out = moves["pay_out"] or 0
    return {
        "float": session.opening_float,
        "cash_sales": sales,
        "cash_tips": tips,
        "rounding": rounding,
        "pay_in": pay_in,
        "pay_out": pay_out,
        "payments": cash.count(),
        "expected": session.opening_float + sales + tips + rounding + pay_in - pay_out,
    }
