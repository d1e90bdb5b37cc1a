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
from restaurant.realtime import event_emit
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


def _bump(tab: Check, *, lines=(), header: bool = False) -> None:
    """A new version of the check; touched lines (and the header) remember it."""
    tab.version += 1
    fields = ["version"]
    if header:
        tab.header_version = tab.version
        fields.append("header_version")
    tab.save(update_fields=fields)
    for line in lines:
        line.changed_version = tab.version
    if lines:
        OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            changed_version=tab.version
        )
    check_changed(tab)


def check_changed(tab: Check) -> None:
    """Tell every tablet that this check (and its table) changed; in this transaction."""
    from orders.selectors import check_floor_status

    event_emit(
        venue_id=tab.venue_id,
        type="check.changed",
        data={
            "check": tab.pk,
            "number": tab.number,
            "version": tab.version,
            "status": tab.status,
            "table": tab.table_id,
            "floor_status": check_floor_status(tab),
            "server": tab.server_id,
        },
    )


def guard_version(
    tab: Check, expected_version: int | None, *, lines=(), header: bool = False
) -> None:
    """Refuse a stale write only where it would conflict.

    `expected_version` is the check version the client last saw (None: not checked). Adding
    lines never conflicts and is merged; a write touching a line (or the check's header)
    that changed after that version is refused with code `stale_version`.
    """
    if expected_version is None:
        return
    if not isinstance(expected_version, int) or expected_version < 1:
        raise ValidationFailed(_("The check version must be a whole number."), field="version")
    if expected_version > tab.version:
        raise ValidationFailed(
            _("Check version %(v)d does not exist yet.") % {"v": expected_version},
            code="bad_version",
            field="version",
        )
    if header and tab.header_version > expected_version:
        raise Conflict(
            _("Someone else changed check #%(n)s meanwhile; look again and retry.")
            % {"n": tab.number},
            code="stale_version",
            field="version",
        )
    for line in lines:
        if line.changed_version > expected_version:
            raise Conflict(
                _("Someone else changed %(item)s meanwhile; look again and retry.")
                % {"item": line.name},
                code="stale_version",
                field="version",
            )


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
    check_changed(tab)
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
    _bump(tab, lines=[line])
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
    expected_version: int | None = None,
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
    guard_version(tab, expected_version, lines=[line])
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


def _decrement_stock(lines: list[OrderLine]) -> list[MenuItem]:
    """Take sent quantities off counted stock; 86 what reaches zero. Refuse if short."""
    wanted: dict[int, int] = {}
    for line in lines:
        if line.menu_item_id:
            wanted[line.menu_item_id] = wanted.get(line.menu_item_id, 0) + line.quantity
    items = list(
        MenuItem.objects.select_for_update()
        .filter(pk__in=sorted(wanted), stock_count__isnull=False)
        .order_by("pk")
    )
    sold_out = []
    for item in items:
        if item.stock_count < wanted[item.pk]:
            raise Conflict(
                _("Only %(n)d %(item)s left; change the order before sending.")
                % {"n": item.stock_count, "item": item.name},
                code="insufficient_stock",
                field="lines",
            )
        item.stock_count -= wanted[item.pk]
        fields = ["stock_count", "updated_at"]
        if item.stock_count == 0:
            item.is_available = False
            fields.append("is_available")
            sold_out.append(item)
        item.save(update_fields=fields)
        event_emit(
            venue_id=item.venue_id,
            type="item.availability",
            data={
                "item": item.pk,
                "available": item.is_available,
                "stock_count": item.stock_count,
            },
        )
    return sold_out


def _next_batch(tab: Check) -> int:
    return (tab.lines.aggregate(n=Max("send_batch"))["n"] or 0) + 1


@transaction.atomic
def lines_send(
    *,
    tab: Check,
    actor: StaffMember,
    line_ids: list[int] | None = None,
    rush_ids: list[int] | None = None,
) -> list[OrderLine]:
    """Send the check's new lines (or the given ones) to the kitchen; return what was sent.

    Course 1, rush lines and lines of a course already fired are fired at once; later courses
    are held until `course_fire`. A line is sent once: lines already sent are skipped, so a
    repeated send does nothing twice. Counted stock goes down; at zero the item is 86'd.
    The kitchen's tickets are made by kitchen.services.lines_send, which calls this.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    tab = _lock_open_check(tab)
    rush_ids = set(rush_ids or [])
    lines_qs = tab.lines.select_for_update().filter(status=OrderLine.Status.NEW).order_by("pk")
    if line_ids is not None:
        known = set(tab.lines.filter(pk__in=line_ids).values_list("pk", flat=True))
        missing = set(line_ids) - known
        if missing:
            raise NotFound(
                _("Line %(id)s is not on this check.") % {"id": min(missing)}, field="lines"
            )
        lines_qs = lines_qs.filter(pk__in=line_ids)
    lines = list(lines_qs)
    if not lines:
        return []
    _decrement_stock(lines)
    now = timezone.now()
    batch = _next_batch(tab)
    fired = set(tab.fired_courses or [])
    for line in lines:
        line.status = OrderLine.Status.SENT
        line.sent_at = now
        line.send_batch = batch
        if line.pk in rush_ids:
            line.rush = True
        if line.rush or line.course == 1 or line.course in fired:
            line.fired_at = now
    OrderLine.objects.bulk_update(lines, ["status", "sent_at", "send_batch", "rush", "fired_at"])
    _bump(tab, lines=lines)
    _audit(
        tab,
        action="lines.send",
        actor=actor,
        batch=batch,
        lines=[line.pk for line in lines],
        held=[line.pk for line in lines if line.fired_at is None],
    )
    return lines


@transaction.atomic
def course_fire(*, tab: Check, actor: StaffMember, course: int) -> list[OrderLine]:
    """Fire a course ("fire mains"): its held lines go to the cooks; unsent ones are sent.

    Returns the lines fired now (those newly sent have `send_batch` of this call). Firing a
    course again fires only what was added since.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    if not isinstance(course, int) or isinstance(course, bool) or not 1 <= course <= MAX_COURSE:
        raise ValidationFailed(
            _("Course must be a number from 1 to %(max)d.") % {"max": MAX_COURSE}, field="course"
        )
    tab = _lock_open_check(tab)
    lines = list(
        tab.lines.select_for_update()
        .filter(course=course, fired_at__isnull=True)
        .exclude(status=OrderLine.Status.VOIDED)
        .order_by("pk")
    )
    unsent = [line for line in lines if line.status == OrderLine.Status.NEW]
    if unsent:
        _decrement_stock(unsent)
    now = timezone.now()
    batch = _next_batch(tab) if unsent else None
    for line in lines:
        if line.status == OrderLine.Status.NEW:
            line.status = OrderLine.Status.SENT
            line.sent_at = now
            line.send_batch = batch
        line.fired_at = now
    if lines:
        OrderLine.objects.bulk_update(lines, ["status", "sent_at", "send_batch", "fired_at"])
    fired = sorted(set(tab.fired_courses or []) | {course})
    if fired != tab.fired_courses:
        tab.fired_courses = fired
        tab.save(update_fields=["fired_courses"])
    if lines or fired:
        _bump(tab, lines=lines)
        _audit(tab, action="course.fire", actor=actor, course=course, lines=[x.pk for x in lines])
    return lines


@transaction.atomic
def lines_mark_ready(*, line_ids: list[int], ready: bool = True) -> list[OrderLine]:
    """The kitchen says these lines are ready (or takes it back, on a recall)."""
    lines = list(OrderLine.objects.select_for_update().filter(pk__in=sorted(line_ids)))
    stamp = timezone.now() if ready else None
    touched = [line for line in lines if (line.ready_at is None) == ready]
    for line in touched:
        line.ready_at = stamp
    OrderLine.objects.bulk_update(touched, ["ready_at"])
    for tab in Check.objects.filter(pk__in={line.tab_id for line in touched}).order_by("pk"):
        tab = Check.objects.select_for_update().get(pk=tab.pk)
        _bump(tab, lines=[x for x in touched if x.tab_id == tab.pk])
    return touched


@transaction.atomic
def lines_mark_served(*, line_ids: list[int]) -> list[OrderLine]:
    """Expo says these lines went out to the table."""
    lines = list(
        OrderLine.objects.select_for_update().filter(pk__in=sorted(line_ids), served_at=None)
    )
    now = timezone.now()
    for line in lines:
        line.served_at = now
        if line.ready_at is None:
            line.ready_at = now
    OrderLine.objects.bulk_update(lines, ["served_at", "ready_at"])
    for tab in Check.objects.filter(pk__in={line.tab_id for line in lines}).order_by("pk"):
        tab = Check.objects.select_for_update().get(pk=tab.pk)
        _bump(tab, lines=[x for x in lines if x.tab_id == tab.pk])
    return lines
