"""Write services for bills: splitting, cash payments, closing, drawers.

Every service is atomic and locks the check first (so two tablets paying the same part are
serialized), computes the bill from the check's lines (payments/splitting.py), and refuses
anything that would overpay, pay twice, or lose a line. A refused request changes nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as order_services
from orders.models import Check, OrderLine
from orders.selectors import check_with_lines
from payments.models import (
    BillPart,
    Drawer,
    DrawerMovement,
    DrawerSession,
    PartShare,
    Payment,
)
from payments.receipts import drawer_kick
from payments.selectors import (
    Bill,
    PartView,
    active_parts,
    bill_for,
    drawer_expected,
    live_line_ids,
    part_spec,
    payment_tip_basis,
    tip_options,
)
from payments.splitting import PartSpec, SplitError, split_check, tip_for
from restaurant import permissions
from restaurant.errors import Conflict, NotFound, ValidationFailed
from restaurant.models import StaffMember
from restaurant.money import format_money, minor_exponent, round_cash
from restaurant.text import clean_reason, clean_text

MAX_PARTS = 50
MAX_CASH = 10_000_000  # 100,000.00 in a two-decimal currency: a typo guard, not a limit


class SplitMode:
    WHOLE = "whole"
    EVEN = "even"
    SEAT = "seat"
    ITEMS = "items"
    AMOUNTS = "amounts"
    ALL = (WHOLE, EVEN, SEAT, ITEMS, AMOUNTS)


def _money(amount: int, tab: Check) -> str:
    return format_money(amount, tab.venue.currency)


def _lock_bill(
    tab: Check, actor: StaffMember, expected_version: int | None = None
) -> tuple[Check, Bill]:
    """Lock the open check and compute its bill from fresh rows.

    With `expected_version` (the check version the tablet showed the bill at), any change to
    the check since then refuses the request: the guest must not pay an amount they were not
    shown."""
    permissions.require(actor, "payment.take")
    if actor.venue_id != tab.venue_id:
        raise permissions.PermissionDenied(_("You do not work at this venue."))
    locked = Check.objects.select_for_update(no_key=True).get(pk=tab.pk)
    if locked.status != Check.Status.OPEN:
        raise Conflict(
            _("Check #%(number)s is %(status)s; it cannot be paid.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            code="check_not_open",
        )
    if expected_version is not None:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise ValidationFailed(_("The check version must be a whole number."), field="version")
        if expected_version != locked.version:
            raise Conflict(
                _("Check #%(n)s changed meanwhile; look at the bill again.") % {"n": locked.number},
                code="stale_version",
                field="version",
            )
    tab = check_with_lines(check_id=locked.pk, venue=locked.venue)
    return tab, bill_for(tab)


def _whole_number(value, field: str, *, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(message, field=field)
    return value


def _amount(value, field: str, tab: Check, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    message = (
        _("Enter an amount of 0 or more, in cents.")
        if allow_zero
        else _("Enter an amount above 0, in cents.")
    )
    return _whole_number(value, field, low=low, high=MAX_CASH, message=message)


def _fraction(value, field: str) -> Fraction:
    """1, "1/3", [1, 3] or {"numerator": 1, "denominator": 3} -> Fraction in (0, 1]."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            fraction = Fraction(value)
        elif isinstance(value, str) and value.strip():
            fraction = Fraction(value.strip())
        elif isinstance(value, list) and len(value) == 2:
            fraction = Fraction(*[int(v) for v in value if not isinstance(v, bool)])
        elif isinstance(value, dict):
            fraction = Fraction(int(value["numerator"]), int(value["denominator"]))
        else:
            raise ValueError
    except (ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise ValidationFailed(
            _("A share of a line is a fraction such as 1/3."), code="bad_fraction", field=field
        ) from exc
    if not 0 < fraction <= 1 or fraction.denominator > 1000:
        raise ValidationFailed(
            _("A share of a line is more than 0 and at most 1 (such as 1/3)."),
            code="bad_fraction",
            field=field,
        )
    return fraction


def _split_message(code: str) -> str:
    """The people's words for payments.splitting's errors (that module is pure, untranslated)."""
    messages = {
        "line_overassigned": _(
            "That split would pay a line more than once: its shares add up to more than 1."
        ),
        "amounts_exceed_total": _("The parts add up to more than is left to pay."),
        "unknown_line": _("A line in that split is not on this check (or was voided)."),
        "bad_fraction": _("A share of a line is more than 0 and at most 1 (such as 1/3)."),
        "bad_amount": _("A part's amount must be more than zero."),
    }
    return messages.get(code, _("That split is not possible."))


def _validate(tab: Check, bill: Bill, specs: list[PartSpec]) -> None:
    try:
        split_check(bill.totals, specs)
    except SplitError as exc:
        raise ValidationFailed(_split_message(exc.code), code=exc.code, field="parts") from exc


def _seat_label(seats: list[int]) -> str:
    if len(seats) == 1:
        return _("Seat %(seat)s") % {"seat": seats[0]}
    return _("Seats %(seats)s") % {"seats": " + ".join(str(s) for s in seats)}


def _kept_fractions(bill: Bill) -> dict[int, Fraction]:
    """How much of each line the kept (paid or partly paid) parts already cover."""
    covered: dict[int, Fraction] = {}
    for view in bill.parts:
        if view.locked and view.part.kind == BillPart.Kind.LINES:
            for share in view.part.shares.all():
                covered[share.line_id] = covered.get(share.line_id, Fraction(0)) + Fraction(
                    share.numerator, share.denominator
                )
    return covered


def _seat_parts(tab: Check, bill: Bill, groups) -> list[dict]:
    live = [line for line in tab.lines.all() if line.status != OrderLine.Status.VOIDED]
    seats_on_check = sorted({line.seat for line in live if line.seat})
    if groups is None:
        groups = [[seat] for seat in seats_on_check]
    if not isinstance(groups, list) or not groups or len(groups) > MAX_PARTS:
        raise ValidationFailed(
            _("Give the seats as groups, such as [[1, 2], [3], [4]]."), field="groups"
        )
    seen: set[int] = set()
    clean = []
    for group in groups:
        if not isinstance(group, list) or not group:
            raise ValidationFailed(
                _("Give the seats as groups, such as [[1, 2], [3], [4]]."), field="groups"
            )
        for seat in group:
            _whole_number(seat, "groups", low=1, high=99, message=_("Seats are numbers 1–99."))
            if seat in seen:
                raise ValidationFailed(
                    _("Seat %(seat)s is in two groups.") % {"seat": seat},
                    code="seat_twice",
                    field="groups",
                )
            seen.add(seat)
        clean.append(sorted(group))
    if not seats_on_check:
        raise ValidationFailed(
            _("Nothing on this check has a seat; split it evenly or by item."),
            code="no_seats",
            field="groups",
        )
    covered = _kept_fractions(bill)
    parts = [{"label": _seat_label(group), "lines": {}} for group in clean]
    for line in live:
        left = 1 - covered.get(line.pk, Fraction(0))
        if left <= 0:
            continue
        owners = [i for i, group in enumerate(clean) if line.seat in group]
        if line.seat == 0:
            owners = list(range(len(clean)))  # shared: everyone's equal share
        for i in owners:
            parts[i]["lines"][line.pk] = left / len(owners)
    return [part for part in parts if part["lines"]]


def _item_parts(tab: Check, items) -> list[dict]:
    if not isinstance(items, list) or not items or len(items) > MAX_PARTS:
        raise ValidationFailed(
            _("Give the parts as a list, each with the lines it pays."), field="parts"
        )
    live = {line.pk for line in tab.lines.all() if line.status != OrderLine.Status.VOIDED}
    parts = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("lines"), dict):
            raise ValidationFailed(
                _('Each part needs its lines: {"lines": {"<line id>": "1/3"}}.'),
                field="parts",
            )
        lines = {}
        for key, share in item["lines"].items():
            try:
                line_id = int(key)
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(
                    _("%(key)s is not a line id.") % {"key": key}, field="parts"
                ) from exc
            if line_id not in live:
                raise ValidationFailed(
                    _("Line %(id)s is not on this check (or was voided).") % {"id": line_id},
                    code="unknown_line",
                    field="parts",
                )
            lines[line_id] = _fraction(share, "parts")
        if not lines:
            raise ValidationFailed(_("Part %(n)s has no lines.") % {"n": n}, field="parts")
        label = clean_text(item.get("label"), field="parts", max_length=60)
        parts.append({"label": label or _("Guest %(n)s") % {"n": n}, "lines": lines})
    return parts


def _split_plan(
    tab: Check, bill: Bill, *, mode: str, ways=None, groups=None, parts=None, amounts=None
) -> tuple[list[dict], list[PartSpec]]:
    """The new parts of a split and the specs of every part after it (kept ones first),
    checked: what `bill_split` stores and `split_preview` shows are the same plan."""
    if mode not in SplitMode.ALL:
        raise ValidationFailed(
            _("Split whole, even, seat, items or amounts; not %(mode)s.") % {"mode": mode},
            field="mode",
        )
    kept = [view.part for view in bill.parts if view.locked]
    new: list[dict] = []
    if mode == SplitMode.WHOLE:
        new = [{"label": _("Rest") if kept else _("Whole check"), "even": True}]
    elif mode == SplitMode.EVEN:
        ways = _whole_number(ways, "ways", low=2, high=MAX_PARTS, message=_("Split 2 to 50 ways."))
        new = [{"label": f"{i}/{ways}", "even": True} for i in range(1, ways + 1)]
    elif mode == SplitMode.SEAT:
        new = _seat_parts(tab, bill, groups)
    elif mode == SplitMode.ITEMS:
        new = _item_parts(tab, parts)
    elif mode == SplitMode.AMOUNTS:
        if not isinstance(amounts, list) or not amounts or len(amounts) > MAX_PARTS:
            raise ValidationFailed(
                _("Give the amounts as a list of cents, such as [4000, 2500]."), field="amounts"
            )
        clean = [_amount(a, "amounts", tab) for a in amounts]
        left = bill.total - sum(view.amounts.total for view in bill.parts if view.locked)
        if sum(clean) > left:
            raise ValidationFailed(
                _("The amounts add up to %(sum)s, more than the %(left)s left to split.")
                % {"sum": _money(sum(clean), tab), "left": _money(left, tab)},
                code="amounts_exceed_total",
                field="amounts",
            )
        new = [{"label": _money(a, tab), "amount": a} for a in clean]
        if sum(clean) < left:
            new.append({"label": _("Rest"), "even": True})
    line_ids = live_line_ids(tab)
    specs = [part_spec(part, line_ids) for part in kept]
    specs = [s for s in specs if s.lines or s.amount or s.even or s.paid]
    for i, part in enumerate(new):
        specs.append(
            PartSpec(
                key=f"new{i}",
                lines=part.get("lines") or {},
                amount=part.get("amount"),
                even=part.get("even", False),
            )
        )
    _validate(tab, bill, specs)
    return new, specs


@transaction.atomic
def bill_split(
    *,
    tab: Check,
    actor: StaffMember,
    mode: str,
    ways: int | None = None,
    groups=None,
    parts=None,
    amounts=None,
    expected_version: int | None = None,
) -> Bill:
    """Split what is not yet paid: whole, evenly N ways, by seat groups, by item, or by amounts.

    Parts that are paid or partly paid stay as they are; every other open part is replaced.
    """
    tab, bill = _lock_bill(tab, actor, expected_version)
    new, _specs = _split_plan(
        tab, bill, mode=mode, ways=ways, groups=groups, parts=parts, amounts=amounts
    )
    replaced = [view.part.pk for view in bill.parts if not view.locked]
    BillPart.objects.filter(pk__in=replaced).update(status=BillPart.Status.REPLACED)
    position = BillPart.objects.filter(tab=tab).aggregate(p=Max("position"))["p"] or 0
    for part in new:
        position += 1
        _part_create(tab, actor, position, part)
    order_services.check_paying(tab)
    order_services.check_bump(tab)
    order_services.check_audit(
        tab, action="bill.split", actor=actor, mode=mode, parts=len(new), replaced=replaced
    )
    return bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))


def split_preview(
    *, tab: Check, actor: StaffMember, mode: str, ways=None, groups=None, parts=None, amounts=None
) -> dict:
    """What `bill_split` would make of the bill, without storing anything: each new part
    with its total to the cent (the same plan and the same split), and what stays
    unassigned. For the tablet's split dialogs, which show the amounts before the split."""
    permissions.require(actor, "payment.take")
    bill = bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))
    if tab.status != Check.Status.OPEN:
        raise Conflict(_("This check is not open."), code="check_not_open")
    new, specs = _split_plan(
        tab, bill, mode=mode, ways=ways, groups=groups, parts=parts, amounts=amounts
    )
    if actor.venue_id != tab.venue_id:
        raise permissions.PermissionDenied(_("You do not work at this venue."))
    result = split_check(bill.totals, specs)
    shown = result.parts[len(result.parts) - len(new) :]
    kept = sum(view.amounts.total for view in bill.parts if view.locked)
    return {
        "left_to_split": bill.total - kept,
        "parts": [
            {"label": part["label"], "total": share.total}
            for part, share in zip(new, shown, strict=True)
        ],
        "unassigned": result.unassigned.total,
    }


def _part_create(tab: Check, actor: StaffMember, position: int, part: dict) -> BillPart:
    if part.get("lines"):
        kind = BillPart.Kind.LINES
    elif part.get("amount"):
        kind = BillPart.Kind.AMOUNT
    else:
        kind = BillPart.Kind.EVEN
    row = BillPart.objects.create(
        tab=tab,
        position=position,
        label=part.get("label", "")[:60],
        kind=kind,
        amount=part.get("amount") if kind == BillPart.Kind.AMOUNT else None,
        created_by=actor,
    )
    PartShare.objects.bulk_create(
        PartShare(part=row, line_id=line_id, numerator=f.numerator, denominator=f.denominator)
        for line_id, f in (part.get("lines") or {}).items()
    )
    return row


def _view(bill: Bill, part_id) -> PartView:
    if isinstance(part_id, bool) or not isinstance(part_id, int):
        raise ValidationFailed(_("Choose which part of the bill."), field="part")
    view = bill.part(part_id)
    if view is None:
        raise NotFound(_("No such part on this check's bill."), field="part")
    return view


@transaction.atomic
def part_split(
    *,
    tab: Check,
    actor: StaffMember,
    part_id: int,
    ways: int,
    expected_version: int | None = None,
) -> Bill:
    """Split one unpaid part again (seat 4 pays in two halves)."""
    tab, bill = _lock_bill(tab, actor, expected_version)
    view = _view(bill, part_id)
    ways = _whole_number(ways, "ways", low=2, high=MAX_PARTS, message=_("Split 2 to 50 ways."))
    if view.locked:
        raise Conflict(
            _("%(part)s has payments; it can no longer be split.") % {"part": view.part},
            code="part_locked",
            field="part",
        )
    part = view.part
    label = part.label or str(part.position)
    if part.kind == BillPart.Kind.LINES:
        pieces = [
            {
                "label": f"{label} {i}/{ways}",
                "lines": {
                    s.line_id: Fraction(s.numerator, s.denominator * ways)
                    for s in part.shares.all()
                },
            }
            for i in range(1, ways + 1)
        ]
    else:
        if view.amounts.total < ways:
            raise ValidationFailed(
                _("%(part)s is too small to split %(ways)s ways.") % {"part": label, "ways": ways},
                field="ways",
            )
        from restaurant.money import split_evenly

        pieces = [
            {"label": f"{label} {i}/{ways}", "amount": amount}
            for i, amount in enumerate(split_evenly(view.amounts.total, ways), start=1)
        ]
    part.status = BillPart.Status.REPLACED
    part.save(update_fields=["status"])
    later = [v.part for v in bill.parts if v.part.position > part.position]
    for other in reversed(later):
        BillPart.objects.filter(pk=other.pk).update(position=other.position + ways - 1)
    for i, piece in enumerate(pieces):
        _part_create(tab, actor, part.position + i, piece)
    fresh = check_with_lines(check_id=tab.pk, venue=tab.venue)
    _validate(fresh, bill, [part_spec(p, live_line_ids(fresh)) for p in active_parts(fresh)])
    order_services.check_bump(tab)
    order_services.check_audit(tab, action="bill.part_split", actor=actor, part=part.pk, ways=ways)
    return bill_for(fresh)


def _ensure_part(tab: Check, bill: Bill, actor: StaffMember, part_id) -> tuple[Bill, PartView]:
    """The part to pay; with no split yet, the whole check becomes the one part."""
    if part_id is None:
        open_views = [v for v in bill.parts if v.part.status == BillPart.Status.OPEN]
        if len(open_views) == 1:
            return bill, open_views[0]
        if open_views:
            raise ValidationFailed(
                _("This bill is split; choose which part is paid."),
                code="part_required",
                field="part",
            )
        if bill.unassigned.total <= 0:
            raise Conflict(_("Nothing is left to pay on this check."), code="nothing_due")
        position = (BillPart.objects.filter(tab=tab).aggregate(p=Max("position"))["p"] or 0) + 1
        label = _("Rest") if bill.parts else _("Whole check")
        part = _part_create(tab, actor, position, {"label": label, "even": True})
        bill = bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))
        return bill, bill.part(part.pk)
    return bill, _view(bill, part_id)


def _tip(view: PartView, tab: Check, amount: int, tip, tip_percent) -> tuple[int, Decimal | None]:
    if tip is not None and tip_percent is not None:
        raise ValidationFailed(
            _("Give a tip amount or a tip percentage, not both."), field="tip_percent"
        )
    if tip_percent is not None:
        try:
            if isinstance(tip_percent, (bool, float)):
                raise InvalidOperation
            percent = Decimal(str(tip_percent))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(
                _("The tip percentage must be a number."), field="tip_percent"
            ) from exc
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise ValidationFailed(
                _("The tip percentage must be from 0 to 100."), field="tip_percent"
            )
        basis = payment_tip_basis(view, tab.venue, amount)
        return tip_for(basis, percent), percent
    if tip is None:
        return 0, None
    tip = _amount(tip, "tip", tab, allow_zero=True)
    if tip > max(amount, 1) * 2:
        raise ValidationFailed(
            _("A tip of %(tip)s on %(amount)s looks like a typo; enter it again.")
            % {"tip": _money(tip, tab), "amount": _money(amount, tab)},
            code="tip_too_large",
            field="tip",
        )
    return tip, None


def _drawer_session(tab: Check, session_id) -> DrawerSession:
    sessions = DrawerSession.objects.select_for_update(no_key=True).filter(
        venue_id=tab.venue_id, status=DrawerSession.Status.OPEN, drawer__is_active=True
    )
    if session_id is not None:
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            raise ValidationFailed(_("Choose a cash drawer."), field="drawer_session")
        session = sessions.filter(pk=session_id).first()
        if session is None:
            raise Conflict(
                _("That cash drawer is not open."), code="drawer_not_open", field="drawer_session"
            )
        return session
    open_sessions = list(sessions.order_by("pk")[:2])
    if not open_sessions:
        raise Conflict(
            _("No cash drawer is open; a manager opens one with the float first."),
            code="no_open_drawer",
            field="drawer_session",
        )
    if len(open_sessions) > 1:
        raise ValidationFailed(
            _("Several drawers are open; choose which one takes the cash."),
            code="drawer_required",
            field="drawer_session",
        )
    return open_sessions[0]


def _tendered(tab: Check, collected: int, tendered: int | None) -> int:
    """Cash handed over; none given is exactly what is due."""
    return _amount(collected if tendered is None else tendered, "tendered", tab)


# The notes a guest is likely to hand over, in major units: 23.45 due -> 25, 30, 50.
TENDER_NOTES = (5, 10, 50, 100)


def tender_options(due: int, currency: str) -> list[int]:
    """`due` itself, then up to three round amounts above it (the next 5, 10, 50, 100)."""
    unit = 10 ** minor_exponent(currency)
    options = [due]
    for note in TENDER_NOTES:
        step = note * unit
        above = (due // step + 1) * step if due % step else due
        if above > due and above not in options and above <= MAX_CASH:
            options.append(above)
    return options[:4]


def cash_quote(
    *,
    tab: Check,
    actor: StaffMember,
    part_id: int,
    amount: int | None = None,
    tip: int | None = None,
    tip_percent=None,
    tendered: int | None = None,
) -> dict:
    """What `payment_cash` would take for a part, without taking it: the amount toward the
    part, the tip, the cash due after the venue's rounding, and the change (or what is still
    short) for `tendered`. The same functions compute the payment, so the two never differ."""
    permissions.require(actor, "payment.take")
    bill = bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))
    view = _view(bill, part_id)
    amount = _payable(tab, view, amount)
    tip, percent = _tip(view, tab, amount, tip, tip_percent)
    due = amount + tip
    collected = round_cash(due, tab.venue.cash_rounding)
    tendered = _tendered(tab, collected, tendered)
    return {
        "part": view.part.pk,
        "amount": amount,
        "tip": tip,
        "tip_percent": None if percent is None else format(percent.normalize(), "f"),
        "tip_options": tip_options(view, tab.venue, amount),
        "due": due,
        "rounding": collected - due,
        "cash_due": collected,
        "tendered": tendered,
        "change": max(0, tendered - collected),
        "short": max(0, collected - tendered),
        "tender_options": tender_options(collected, tab.venue.currency),
    }


@transaction.atomic
def payment_cash(
    *,
    tab: Check,
    actor: StaffMember,
    part_id: int | None = None,
    amount: int | None = None,
    tip: int | None = None,
    tip_percent=None,
    tendered: int | None = None,
    drawer_session_id: int | None = None,
    expected_version: int | None = None,
) -> Payment:
    """Take cash for a part (or the whole check): the exact amount toward the part, a tip on
    top, rounded to the venue's cash step, change from what was tendered."""
    tab, bill = _lock_bill(tab, actor, expected_version)
    bill, view = _ensure_part(tab, bill, actor, part_id)
    amount = _payable(tab, view, amount)
    tip, percent = _tip(view, tab, amount, tip, tip_percent)
    session = _drawer_session(tab, drawer_session_id)
    due = amount + tip
    collected = round_cash(due, tab.venue.cash_rounding)
    tendered = _tendered(tab, collected, tendered)
    if tendered < collected:
        raise ValidationFailed(
            _("%(tendered)s is less than the %(due)s due.")
            % {"tendered": _money(tendered, tab), "due": _money(collected, tab)},
            code="tendered_short",
            field="tendered",
        )
    payment = Payment.objects.create(
        venue_id=tab.venue_id,
        tab=tab,
        part=view.part,
        method=Payment.Method.CASH,
        status=Payment.Status.SUCCEEDED,
        amount=amount,
        tip=tip,
        tip_percent=percent,
        tip_basis=payment_tip_basis(view, tab.venue, amount),
        rounding=collected - due,
        tendered=tendered,
        change=tendered - collected,
        drawer_session=session,
        server=tab.server,
        taken_by=actor,
        succeeded_at=timezone.now(),
    )
    payment_settled(tab=tab, view=view, payment=payment, actor=actor)
    drawer_kick(drawer=session)
    return payment


def _payable(tab: Check, view: PartView, amount) -> int:
    """The amount a payment may put toward the part: more than 0, at most its balance."""
    if view.card_pending is not None:
        raise Conflict(
            _("%(part)s is being paid by card right now; wait for it or cancel it.")
            % {"part": view.part.label or view.part.position},
            code="part_in_progress",
            field="part",
        )
    if view.part.status == BillPart.Status.PAID or view.balance <= 0:
        raise Conflict(
            _("%(part)s is already paid.") % {"part": view.part.label or view.part.position},
            code="part_paid",
            field="part",
        )
    if amount is None:
        return view.balance
    amount = _amount(amount, "amount", tab)
    if amount > view.balance:
        raise ValidationFailed(
            _("%(amount)s is more than the %(balance)s left on %(part)s.")
            % {
                "amount": _money(amount, tab),
                "balance": _money(view.balance, tab),
                "part": view.part.label or view.part.position,
            },
            code="overpayment",
            field="amount",
        )
    return amount


def payment_settled(*, tab: Check, view: PartView, payment: Payment, actor: StaffMember) -> None:
    """After a payment succeeded (under the check's lock): the part is paid when its balance
    reaches zero (its amounts are frozen), the check's paid total moves, and a fully paid
    check closes, freeing its table on every tablet."""
    if payment.amount >= view.balance:
        part = view.part
        part.status = BillPart.Status.PAID
        part.frozen = view.amounts.to_dict()
        part.paid_at = timezone.now()
        part.save(update_fields=["status", "frozen", "paid_at"])
    order_services.check_paid_set(tab, tab.paid_amount + payment.amount)
    order_services.check_paying(tab)
    order_services.check_audit(
        tab,
        action="payment",
        actor=actor,
        payment=payment.pk,
        method=payment.method,
        part=view.part.pk,
        amount=payment.amount,
        tip=payment.tip,
        rounding=payment.rounding,
    )
    bill = bill_for(check_with_lines(check_id=tab.pk, venue=tab.venue))
    if bill.settled and bill.unassigned.total == 0:
        order_services.check_close_paid(tab=tab, actor=actor)
    else:
        order_services.check_bump(tab)


@transaction.atomic
def bill_close(*, tab: Check, actor: StaffMember, expected_version: int | None = None) -> Check:
    """Close a check that owes nothing (everything comped, or already paid)."""
    tab, bill = _lock_bill(tab, actor, expected_version)
    if bill.balance > 0 or bill.unassigned.total > 0:
        raise Conflict(
            _("%(balance)s is still to be paid on check #%(n)s.")
            % {"balance": _money(max(bill.balance, bill.unassigned.total), tab), "n": tab.number},
            code="balance_due",
        )
    if any(v.part.status == BillPart.Status.OPEN and v.amounts.total > 0 for v in bill.parts):
        raise Conflict(_("A part of the bill is still open."), code="balance_due")
    return order_services.check_close_paid(tab=tab, actor=actor)


# --- drawers ---------------------------------------------------------------------------------


def _drawer_manager(actor: StaffMember, venue_id: int) -> None:
    permissions.require(actor, "drawer.manage")
    if actor.venue_id != venue_id:
        raise permissions.PermissionDenied(_("You do not work at this venue."))


@transaction.atomic
def drawer_open(*, drawer: Drawer, actor: StaffMember, opening_float: int) -> DrawerSession:
    """Open a drawer with the counted float; one open session per drawer."""
    _drawer_manager(actor, drawer.venue_id)
    if not drawer.is_active:
        raise Conflict(_("%(drawer)s is not in use.") % {"drawer": drawer}, code="drawer_inactive")
    opening_float = _whole_number(
        opening_float,
        "opening_float",
        low=0,
        high=MAX_CASH,
        message=_("The float is a whole number of cents, 0 or more."),
    )
    busy = _("%(drawer)s is already open; close it before opening it again.") % {"drawer": drawer}
    if DrawerSession.objects.filter(drawer=drawer, status=DrawerSession.Status.OPEN).exists():
        raise Conflict(busy, code="drawer_already_open")
    try:
        with transaction.atomic():
            return DrawerSession.objects.create(
                venue_id=drawer.venue_id,
                drawer=drawer,
                opened_by=actor,
                opening_float=opening_float,
            )
    except IntegrityError as exc:
        raise Conflict(busy, code="drawer_already_open") from exc


def _lock_open_session(session: DrawerSession) -> DrawerSession:
    locked = (
        DrawerSession.objects.select_for_update(no_key=True, of=("self",))
        .select_related("drawer__venue", "closed_by")
        .get(pk=session.pk)
    )
    if locked.status != DrawerSession.Status.OPEN:
        raise Conflict(
            _("%(drawer)s was already closed at %(time)s by %(who)s.")
            % {
                "drawer": locked.drawer,
                "time": timezone.localtime(locked.closed_at, locked.drawer.venue.tzinfo).strftime(
                    "%H:%M"
                ),
                "who": locked.closed_by.display_name if locked.closed_by else "?",
            },
            code="drawer_closed",
        )
    return locked


@transaction.atomic
def drawer_movement_add(
    *, session: DrawerSession, actor: StaffMember, kind: str, amount: int, reason: str
) -> DrawerMovement:
    """Put cash in or take it out (change run, supplier paid in cash), with the reason."""
    _drawer_manager(actor, session.venue_id)
    if kind not in DrawerMovement.Kind.values:
        raise ValidationFailed(_("Choose pay in or pay out."), field="kind")
    amount = _whole_number(
        amount, "amount", low=1, high=MAX_CASH, message=_("The amount is a positive number.")
    )
    reason = clean_reason(reason, _("Say why the cash goes in or out."))
    session = _lock_open_session(session)
    if kind == DrawerMovement.Kind.PAY_OUT and amount > drawer_expected(session)["expected"]:
        raise Conflict(  # depends on what the drawer holds now
            _("There should not be that much cash in the drawer."),
            code="drawer_short",
            field="amount",
        )
    return DrawerMovement.objects.create(
        session=session, kind=kind, amount=amount, reason=reason, staff=actor
    )


MAX_DENOMINATIONS = 50  # coins and notes of a currency, with room to spare
MAX_PIECES = 100_000  # of one coin or note in one drawer


def _count(denominations) -> int:
    """The total of a count by denomination; every value, count and the total are bounded."""
    if not isinstance(denominations, dict) or not denominations:
        raise ValidationFailed(
            _('Count by denomination as {"5000": 2, "200": 7} (value in cents: how many).'),
            field="denominations",
        )
    if len(denominations) > MAX_DENOMINATIONS:
        raise ValidationFailed(
            _("Count at most %(n)d denominations.") % {"n": MAX_DENOMINATIONS},
            field="denominations",
        )
    total = 0
    for value, count in denominations.items():
        key = str(value)
        if not (key.isascii() and key.isdigit() and len(key) <= 9) or not 1 <= int(key) <= MAX_CASH:
            raise ValidationFailed(
                _("%(value)s is not a coin or note value in cents.") % {"value": key[:20]},
                field="denominations",
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PIECES:
            raise ValidationFailed(
                _("Each denomination needs a count from 0 to %(max)d.") % {"max": MAX_PIECES},
                field="denominations",
            )
        total += int(key) * count
    if total > MAX_CASH:
        raise ValidationFailed(
            _("The count adds up to more than a drawer holds; check the numbers."),
            code="count_too_large",
            field="denominations",
        )
    return total


def drawer_count(*, session: DrawerSession, actor: StaffMember, denominations) -> dict:
    """What a count by denomination adds up to, before the drawer is closed with it: each
    value's amount and the total (what `drawer_close` will record as counted). An empty
    count is 0. Nothing is stored."""
    _drawer_manager(actor, session.venue_id)
    clean = {str(k): v for k, v in (denominations or {}).items() if v != 0}
    counted = _count(clean) if clean else 0
    return {
        "counted": counted,
        "lines": [
            {"value": int(value), "count": count, "amount": int(value) * count}
            for value, count in sorted(clean.items(), key=lambda kv: -int(kv[0]))
        ],
    }


@transaction.atomic
def drawer_close(
    *,
    session: DrawerSession,
    actor: StaffMember,
    counted: int | None = None,
    denominations: dict | None = None,
    note: str = "",
) -> DrawerSession:
    """Close with the counted cash; the variance (counted − expected) is recorded with who
    closed it. Closing a closed drawer is refused."""
    _drawer_manager(actor, session.venue_id)
    session = _lock_open_session(session)
    counted_total = None
    if denominations is not None:
        counted_total = _count(denominations)
    if counted is not None:
        counted = _whole_number(
            counted,
            "counted",
            low=0,
            high=MAX_CASH,
            message=_("The counted amount is a whole number of cents, 0 or more."),
        )
        if counted_total is not None and counted != counted_total:
            raise ValidationFailed(
                _("The denominations add up to %(sum)s, not %(counted)s.")
                % {
                    "sum": format_money(counted_total, session.drawer.venue.currency),
                    "counted": format_money(counted, session.drawer.venue.currency),
                },
                code="count_mismatch",
                field="counted",
            )
        counted_total = counted
    if counted_total is None:
        raise ValidationFailed(_("Count the drawer first."), code="count_required", field="counted")
    expected = drawer_expected(session)["expected"]
    session.status = DrawerSession.Status.CLOSED
    session.closed_by = actor
    session.closed_at = timezone.now()
    session.counted = counted_total
    session.denominations = {str(int(k)): v for k, v in (denominations or {}).items()}
    session.expected = expected
    session.variance = counted_total - expected
    session.note = clean_text(note, field="note", max_length=200)
    session.save()
    return session
