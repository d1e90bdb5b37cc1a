"""Write services for checks and order lines.

Every service is atomic, checks the actor's role, locks the rows it changes (the check first,
then its lines, by id), bumps the check's version, and writes an audit entry. A service that
raises a DomainError has changed nothing.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Check, CheckAudit, LineModifier, OrderLine
from orders.modifiers import ChosenModifier, modifiers_validate
from restaurant import permissions
from restaurant.errors import Conflict, NotFound, ValidationFailed
from restaurant.models import MenuItem, StaffMember, Table, Venue
from restaurant.selectors import menu_is_available

MAX_QUANTITY = 999
MAX_SEAT = 99
MAX_COURSE = 9


def _audit(
    tab: Check,
    *,
    action: str,
    actor: StaffMember | None,
    line: OrderLine | None = None,
    approved_by: StaffMember | None = None,
    reason: str = "",
    **data,
) -> CheckAudit:
    return CheckAudit.objects.create(
        venue_id=tab.venue_id,
        tab=tab,
        line=line,
        actor=actor,
        approved_by=approved_by,
        action=action,
        reason=reason,
        data=data,
    )


def _same_venue(actor: StaffMember, venue_id: int) -> None:
    if actor.venue_id != venue_id:
        raise permissions.PermissionDenied(_("You do not work at this venue."))


def _lock_open_check(tab: Check) -> Check:
    locked = Check.objects.select_for_update().get(pk=tab.pk)
    if locked.status != Check.Status.OPEN:
        raise Conflict(
            _("Check #%(number)s is %(status)s; it cannot be changed.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            code="check_not_open",
        )
    return locked


def _bump(tab: Check) -> None:
    tab.version += 1
    tab.save(update_fields=["version"])


@transaction.atomic
def check_open(
    *,
    venue: Venue,
    actor: StaffMember,
    kind: str,
    table: Table | None = None,
    guest_count: int = 0,
    tab_name: str = "",
    server: StaffMember | None = None,
) -> Check:
    """Open a check: a table (with guests), a bar tab (with a name), takeaway or online."""
    permissions.require(actor, "check.open")
    _same_venue(actor, venue.pk)
    server = server or actor
    if server.venue_id != venue.pk or not server.is_active:
        raise ValidationFailed(_("The server must be active staff here."), field="server")
    if kind not in Check.Kind.values:
        raise ValidationFailed(_("Unknown check kind %(kind)s.") % {"kind": kind}, field="kind")
    if not isinstance(guest_count, int) or guest_count < 0 or guest_count > 500:
        raise ValidationFailed(_("Guests must be a number from 0 to 500."), field="guest_count")
    tab_name = (tab_name or "").strip()
    if kind == Check.Kind.TABLE:
        if table is None:
            raise ValidationFailed(_("Choose a table."), code="table_required", field="table")
        if table.venue_id != venue.pk or not table.is_active:
            raise NotFound(_("No such table here."), field="table")
        if guest_count < 1:
            raise ValidationFailed(
                _("A table needs at least one guest."), code="guests_required", field="guest_count"
            )
    else:
        if table is not None:
            raise ValidationFailed(_("Only table checks have a table."), field="table")
        if kind == Check.Kind.BAR_TAB and not tab_name:
            raise ValidationFailed(
                _("A bar tab needs a name."), code="name_required", field="tab_name"
            )
    # Numbers are per venue: lock the venue row so two tablets never get the same number.
    Venue.objects.select_for_update().filter(pk=venue.pk).first()
    if table is not None and Check.objects.filter(table=table, status=Check.Status.OPEN).exists():
        raise Conflict(
            _("Table %(table)s already has an open check.") % {"table": table.name},
            code="table_occupied",
            field="table",
        )
    number = (Check.objects.filter(venue=venue).aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            tab = Check.objects.create(
                venue=venue,
                number=number,
                kind=kind,
                server=server,
                table=table,
                guest_count=guest_count,
                tab_name=tab_name[:80],
            )
    except IntegrityError as exc:
        raise Conflict(
            _("Table %(table)s already has an open check.")
            % {"table": table.name if table else ""},
            code="table_occupied",
            field="table",
        ) from exc
    _audit(
        tab,
        action="check.open",
        actor=actor,
        kind=kind,
        table=table.name if table else None,
        guests=guest_count,
        server=server.display_name,
    )
    return tab


def _check_line_fields(quantity, seat, course, note) -> None:
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise ValidationFailed(
            _("Quantity must be a whole number from 1 to %(max)d.") % {"max": MAX_QUANTITY},
            field="quantity",
        )
    if not isinstance(seat, int) or isinstance(seat, bool) or not 0 <= seat <= MAX_SEAT:
        raise ValidationFailed(
            _("Seat must be a number from 0 (shared) to %(max)d.") % {"max": MAX_SEAT}, field="seat"
        )
    if course is not None and (
        not isinstance(course, int) or isinstance(course, bool) or not 1 <= course <= MAX_COURSE
    ):
        raise ValidationFailed(
            _("Course must be a number from 1 to %(max)d.") % {"max": MAX_COURSE}, field="course"
        )
    if len(note or "") > 200:
        raise ValidationFailed(_("A note is at most 200 characters."), field="note")


def _store_modifiers(
    line: OrderLine, chosen: list[ChosenModifier], parent: LineModifier | None = None
) -> None:
    for index, choice in enumerate(chosen):
        row = LineModifier.objects.create(
            line=line,
            parent=parent,
            modifier=choice.modifier,
            group_name=choice.group.name,
            name=choice.modifier.name,
            plu=choice.modifier.plu,
            price_delta=choice.modifier.price_delta,
            quantity=choice.quantity,
            free_quantity=choice.free_quantity,
            sort_order=index,
        )
        _store_modifiers(line, choice.children, row)


@transaction.atomic
def line_add(
    *,
    tab: Check,
    actor: StaffMember,
    item: MenuItem,
    quantity: int = 1,
    seat: int = 0,
    course: int | None = None,
    note: str = "",
    modifiers: list | None = None,
    at: datetime.datetime | None = None,
) -> OrderLine:
    """Add an item to an open check, validating the modifier choice and copying the prices."""
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    _check_line_fields(quantity, seat, course, note)
    tab = _lock_open_check(tab)
    item = (
        MenuItem.objects.select_related("tax_rate", "station", "category", "category__menu")
        .select_related("category__default_station", "category__menu__venue")
        .filter(pk=item.pk, venue_id=tab.venue_id)
        .first()
    )
    if item is None or not item.is_active:
        raise NotFound(_("No such item on this venue's menu."), code="unknown_item", field="item")
    if not item.is_available or item.stock_count == 0:
        raise Conflict(
            _("%(item)s is 86'd: it cannot be ordered.") % {"item": item.name},
            code="item_unavailable",
            field="item",
        )
    if item.stock_count is not None and quantity > item.stock_count:
        raise Conflict(
            _("Only %(n)d %(item)s left.") % {"n": item.stock_count, "item": item.name},
            code="insufficient_stock",
            field="quantity",
        )
    if not menu_is_available(item.category.menu, at):
        raise Conflict(
            _("%(item)s is on the %(menu)s menu, which is not available now.")
            % {"item": item.name, "menu": item.category.menu.name},
            code="menu_unavailable",
            field="item",
        )
    chosen = modifiers_validate(item=item, choices=modifiers)
    unit_total = item.price + sum(c.amount for c in chosen)
    if unit_total < 0:
        raise ValidationFailed(
            _("These choices would make %(item)s cost less than nothing.") % {"item": item.name},
            code="negative_price",
            field="modifiers",
        )
    station = item.effective_station
    line = OrderLine.objects.create(
        tab=tab,
        menu_item=item,
        name=item.name,
        plu=item.plu,
        unit_price=item.price,
        tax_rate=item.tax_rate.rate,
        tax_code=item.tax_rate.code,
        station_slug=station.slug if station else "",
        quantity=quantity,
        seat=seat,
        course=course or item.default_course,
        note=(note or "").strip(),
        added_by=actor,
    )
    _store_modifiers(line, chosen)
    _bump(tab)
    _audit(
        tab,
        action="line.add",
        actor=actor,
        line=line,
        item=item.plu,
        name=item.name,
        quantity=quantity,
        seat=seat,
        course=line.course,
    )
    return line


@transaction.atomic
def line_void(
    *,
    line: OrderLine,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
) -> OrderLine:
    """Void a line. A reason is always required; a sent line needs a manager's approval."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give a reason for the void."), code="reason_required", field="reason"
        )
    _same_venue(actor, line.tab.venue_id)
    tab = _lock_open_check(line.tab)
    line = OrderLine.objects.select_for_update().get(pk=line.pk)
    if line.status == OrderLine.Status.VOIDED:
        raise Conflict(
            _("%(item)s was already voided.") % {"item": line.name}, code="already_voided"
        )
    if line.status == OrderLine.Status.SENT:
        if approver is None:
            raise permissions.PermissionDenied(
                _("%(item)s has been sent to the kitchen: a manager must approve the void.")
                % {"item": line.name},
                code="approval_required",
                field="approver",
            )
        _same_venue(approver, tab.venue_id)
        permissions.require(approver, "line.void_approve")
    else:
        permissions.require(actor, "line.void_unsent")
        if approver is not None:
            permissions.require(approver, "line.void_approve")
    was_sent = line.status == OrderLine.Status.SENT
    line.status = OrderLine.Status.VOIDED
    line.voided_at = timezone.now()
    line.void_reason = reason[:200]
    line.voided_by = actor
    line.void_approved_by = approver
    line.save(update_fields=["status", "voided_at", "void_reason", "voided_by", "void_approved_by"])
    _bump(tab)
    _audit(
        tab,
        action="line.void",
        actor=actor,
        line=line,
        approved_by=approver,
        reason=line.void_reason,
        name=line.name,
        quantity=line.quantity,
        was_sent=was_sent,
    )
    return line
