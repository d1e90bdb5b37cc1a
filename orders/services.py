"""Write services for checks and order lines.

Every service is atomic, checks the actor's role, locks the rows it changes (the check first,
then its lines, by id), bumps the check's version, and writes an audit entry. A service that
raises a DomainError has changed nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Adjustment, Check, CheckAudit, LineModifier, OrderLine
from orders.modifiers import ChosenModifier, modifiers_validate
from orders.pricing import check_discounts_from_rows, check_totals, lines_from_rows
from orders.selectors import FloorStatus
from restaurant import permissions
from restaurant.errors import Conflict, DomainError, NotFound, ValidationFailed
from restaurant.models import MenuItem, StaffMember, Table, Venue
from restaurant.money import format_money
from restaurant.realtime import event_emit
from restaurant.selectors import menu_is_available
from restaurant.text import clean_reason, clean_text

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


def _lock_check(tab: Check) -> Check:
    """The check's row, locked and read again, with its table and server; the venue object
    the caller already had is kept (the venue's settings are read, never locked, here)."""
    locked = (
        Check.objects.select_for_update(no_key=True, of=("self",))
        .select_related("table", "server")
        .get(pk=tab.pk)
    )
    venue = Check._meta.get_field("venue")
    if venue.is_cached(tab) and tab.venue_id == locked.venue_id:
        locked.venue = tab.venue
    return locked


def _lock_open_check(tab: Check) -> Check:
    locked = _lock_check(tab)
    if locked.status != Check.Status.OPEN:
        raise Conflict(
            _("Check #%(number)s is %(status)s; it cannot be changed.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            code="check_not_open",
        )
    return locked


def _bump(tab: Check, *, lines=(), header: bool = False, state: bool = False) -> None:
    """A new version of the check; touched lines (and the header) remember it.

    Lines that were just created with `changed_version = tab.version + 1` need not be passed.
    With `state=True` the check's lines, modifiers and adjustments are loaded onto `tab` after
    the change (orders.selectors.check_state_load), so the floor status, the event and the
    edge's answer are all made from that one read; the service must not change lines or
    adjustments after this call.
    """
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
    if state:
        from orders.selectors import check_state_load

        check_state_load(tab)
        tab.state_version = tab.version
    else:
        _forget_state(tab)
    _refuse_below_paid(tab)
    check_changed(tab)


def _forget_state(tab: Check) -> None:
    """Drop lines or adjustments read onto `tab` before a change: they are not current."""
    cache = getattr(tab, "_prefetched_objects_cache", None)
    if cache:
        cache.pop("lines", None)
        cache.pop("adjustments", None)
    tab.state_version = None


def _refuse_below_paid(tab: Check) -> None:
    """A check with payments must never end up owing less than has been paid."""
    if not tab.paid_amount:
        return
    from orders.selectors import check_with_lines, totals_for

    fresh = check_with_lines(check_id=tab.pk, venue=tab.venue)
    if fresh.status == Check.Status.CLOSED:
        return
    total = totals_for(fresh).total if fresh.status == Check.Status.OPEN else 0
    if total < tab.paid_amount:
        raise Conflict(
            _(
                "%(paid)s has already been paid on check #%(n)s; this change would leave it "
                "owing less than that. Refund a payment first."
            )
            % {"paid": format_money(tab.paid_amount, tab.venue.currency), "n": tab.number},
            code="below_paid",
        )


def check_changed(tab: Check, *, fresh: bool = False) -> None:
    """Tell every tablet that this check (and its table) changed; in this transaction.

    `kitchen` says whether anything of the check has reached the kitchen (a sent line, voided
    or not): a check with nothing sent is on no kitchen screen, so they are not told
    (docs/realtime.md, "Audiences"). `fresh`: the check has just been opened (nothing on it,
    nothing to read).
    """
    from orders.selectors import check_floor_status

    if fresh:
        floor_status, kitchen = FloorStatus.SEATED, False
    else:
        lines = list(tab.lines.all())
        floor_status = check_floor_status(tab, lines)
        kitchen = any(line.sent_at is not None for line in lines)
    event_emit(
        venue_id=tab.venue_id,
        type="check.changed",
        data={
            "check": tab.pk,
            "number": tab.number,
            "version": tab.version,
            "status": tab.status,
            "table": tab.table_id,
            "floor_status": floor_status,
            "server": tab.server_id,
            "kitchen": kitchen,
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
        raise Conflict(
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
    tab_name = clean_text(tab_name, field="tab_name", max_length=80)
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
    # Numbers are per venue: lock the venue row (FOR NO KEY UPDATE: inserts that reference
    # the venue go on) so two tablets never get the same number.
    Venue.objects.select_for_update(no_key=True).filter(pk=venue.pk).values_list("pk").first()
    number = (Check.objects.filter(venue=venue).aggregate(n=Max("number"))["n"] or 0) + 1
    new = Check(
        venue=venue,
        number=number,
        kind=kind,
        server=server,
        table=table,
        guest_count=guest_count,
        tab_name=tab_name,
    )
    if table is None:
        new.save(force_insert=True)
    else:
        try:  # one open check per table (a constraint), also against another tablet right now
            with transaction.atomic():
                new.save(force_insert=True)
        except IntegrityError as exc:
            raise Conflict(
                _("Table %(table)s already has an open check.") % {"table": table.name},
                code="table_occupied",
                field="table",
            ) from exc
    tab = new
    _audit(
        tab,
        action="check.open",
        actor=actor,
        kind=kind,
        table=table.name if table else None,
        guests=guest_count,
        server=server.display_name,
    )
    check_changed(tab, fresh=True)
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


def _store_modifiers(line: OrderLine, chosen: list[ChosenModifier]) -> None:
    """The chosen modifiers as LineModifier rows: one insert per nesting level."""
    level = [(choice, None, index) for index, choice in enumerate(chosen)]
    while level:
        rows = [
            LineModifier(
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
            for choice, parent, index in level
        ]
        LineModifier.objects.bulk_create(rows)  # sets each row's pk (PostgreSQL, SQLite 3.35+)
        level = [
            (child, row, index)
            for (choice, _parent, _index), row in zip(level, rows, strict=True)
            for index, child in enumerate(choice.children)
        ]


def _item_loaded(item: MenuItem) -> bool:
    """Whether the caller read the item with what a line copies from it (its tax rate,
    station, category, the category's menu and default station), so it need not be read
    again. The item is never locked: reading it before or after the check's lock is alike."""
    category = MenuItem._meta.get_field("category")
    if not (
        category.is_cached(item)
        and MenuItem._meta.get_field("tax_rate").is_cached(item)
        and MenuItem._meta.get_field("station").is_cached(item)
    ):
        return False
    category_fields = item.category._meta
    return category_fields.get_field("menu").is_cached(item.category) and category_fields.get_field(
        "default_station"
    ).is_cached(item.category)


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
    if not _item_loaded(item) or item.venue_id != tab.venue_id:
        item = _items_of(tab, [item.pk]).get(item.pk)
    line = _line_new(
        tab,
        actor,
        item,
        quantity=quantity,
        seat=seat,
        course=course,
        note=note,
        modifiers=modifiers,
        at=at,
    )
    _bump(tab, state=True)
    _audit_lines_added(tab, actor, [line])
    return line


@dataclass(frozen=True)
class NewLine:
    """One line of a `lines_add` call (what `line_add` takes, the item by id)."""

    item: int
    quantity: int = 1
    seat: int = 0
    course: int | None = None
    note: str = ""
    modifiers: list | None = None


MAX_LINES_AT_ONCE = 100


@transaction.atomic
def lines_add(
    *,
    tab: Check,
    actor: StaffMember,
    lines: list[NewLine],
    at: datetime.datetime | None = None,
) -> list[OrderLine]:
    """Add several lines at once (a round of drinks, an order typed on a phone): all of them
    or none. A refused line names itself: the error's field is `lines.<n>.<field>`."""
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES_AT_ONCE:
        raise ValidationFailed(
            _("Add from 1 to %(max)d lines at once.") % {"max": MAX_LINES_AT_ONCE},
            field="lines",
        )
    for index, spec in enumerate(lines):
        with _line_error(index):
            _check_line_fields(spec.quantity, spec.seat, spec.course, spec.note)
    tab = _lock_open_check(tab)
    items = _items_of(tab, [spec.item for spec in lines])
    wanted: dict[int, int] = {}
    added = []
    for index, spec in enumerate(lines):
        with _line_error(index):
            item = items.get(spec.item)
            wanted[spec.item] = wanted.get(spec.item, 0) + spec.quantity
            if item is not None and item.stock_count is not None:
                _refuse_over_stock(item, wanted[spec.item])
            added.append(
                _line_new(
                    tab,
                    actor,
                    item,
                    quantity=spec.quantity,
                    seat=spec.seat,
                    course=spec.course,
                    note=spec.note,
                    modifiers=spec.modifiers,
                    at=at,
                )
            )
    _bump(tab, state=True)
    _audit_lines_added(tab, actor, added)
    return added


class _line_error:
    """Name the line an error is about: `quantity` becomes `lines.2.quantity`."""

    def __init__(self, index: int):
        self.index = index

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, DomainError):
            exc.field = f"lines.{self.index}.{exc.field}" if exc.field else f"lines.{self.index}"
        return False


def _items_of(tab: Check, item_ids: list[int]) -> dict[int, MenuItem]:
    """The venue's menu items by id, with what a line copies from them, in one query."""
    return {
        item.pk: item
        for item in MenuItem.objects.select_related("tax_rate", "station", "category__menu")
        .select_related("category__default_station")
        .prefetch_related("category__menu__windows")
        .filter(pk__in=set(item_ids), venue_id=tab.venue_id)
    }


def _refuse_over_stock(item: MenuItem, quantity: int) -> None:
    if item.stock_count is not None and quantity > item.stock_count:
        raise Conflict(
            _("Only %(n)d %(item)s left.") % {"n": item.stock_count, "item": item.name},
            code="insufficient_stock",
            field="quantity",
        )


def _line_new(
    tab: Check,
    actor: StaffMember,
    item: MenuItem | None,
    *,
    quantity: int,
    seat: int,
    course: int | None,
    note: str,
    modifiers: list | None,
    at: datetime.datetime | None,
) -> OrderLine:
    """Validate one line against the menu and store it, with its modifiers (the check is
    locked; the caller bumps its version once)."""
    if item is None or not item.is_active:
        raise NotFound(_("No such item on this venue's menu."), code="unknown_item", field="item")
    if not item.is_available or item.stock_count == 0:
        raise Conflict(
            _("%(item)s is 86'd: it cannot be ordered.") % {"item": item.name},
            code="item_unavailable",
            field="item",
        )
    _refuse_over_stock(item, quantity)
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
        changed_version=tab.version + 1,  # the version the caller's _bump gives the check
    )
    _store_modifiers(line, chosen)
    return line


def _audit_lines_added(tab: Check, actor: StaffMember, lines: list[OrderLine]) -> None:
    CheckAudit.objects.bulk_create(
        CheckAudit(
            venue_id=tab.venue_id,
            tab=tab,
            line=line,
            actor=actor,
            action="line.add",
            data={
                "item": line.plu,
                "name": line.name,
                "quantity": line.quantity,
                "seat": line.seat,
                "course": line.course,
            },
        )
        for line in lines
    )


@dataclass(frozen=True)
class LineVoid:
    """What `line_void_locked` did: the voided line, and whether it had been sent (as seen
    under the line's lock, so a send committing meanwhile cannot be missed)."""

    line: OrderLine
    was_sent: bool


def line_void(
    *,
    line: OrderLine,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
    expected_version: int | None = None,
) -> OrderLine:
    """Void a line. A reason is always required; a sent line needs a manager's approval."""
    return line_void_locked(
        line=line,
        actor=actor,
        reason=reason,
        approver=approver,
        expected_version=expected_version,
    ).line


@transaction.atomic
def line_void_locked(
    *,
    line: OrderLine,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
    expected_version: int | None = None,
) -> LineVoid:
    """line_void, also telling whether the line had been sent, decided under its lock."""
    reason = clean_reason(reason, _("Give a reason for the void."))
    _same_venue(actor, line.tab.venue_id)
    tab = _lock_open_check(line.tab)
    line = OrderLine.objects.select_for_update(no_key=True).get(pk=line.pk)
    if line.tab_id != tab.pk:  # moved to another check (lines_transfer, checks_merge)
        raise _moved(line.name)
    if line.status == OrderLine.Status.VOIDED:
        raise Conflict(
            _("%(item)s was already voided.") % {"item": line.name}, code="already_voided"
        )
    guard_version(tab, expected_version, lines=[line])
    if line.status == OrderLine.Status.SENT:
        if approver is None and permissions.staff_can(actor, "line.void_approve"):
            approver = actor  # a manager approves their own void
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
    line.void_reason = reason
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
    return LineVoid(line=line, was_sent=was_sent)


def _decrement_stock(lines: list[OrderLine]) -> list[MenuItem]:
    """Take sent quantities off counted stock; 86 what reaches zero. Refuse if short."""
    wanted: dict[int, int] = {}
    for line in lines:
        if line.menu_item_id:
            wanted[line.menu_item_id] = wanted.get(line.menu_item_id, 0) + line.quantity
    items = list(
        MenuItem.objects.select_for_update(no_key=True)
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
    lines_qs = (
        tab.lines.select_for_update(no_key=True).filter(status=OrderLine.Status.NEW).order_by("pk")
    )
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
    _bump(tab, lines=lines, state=True)
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
        tab.lines.select_for_update(no_key=True)
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
    newly_fired = fired != tab.fired_courses
    if newly_fired:
        tab.fired_courses = fired
        tab.save(update_fields=["fired_courses"])
    if lines or newly_fired:
        _bump(tab, lines=lines, state=True)
        _audit(tab, action="course.fire", actor=actor, course=course, lines=[x.pk for x in lines])
    return lines


def _lock_checks_of_lines(line_ids: list[int]) -> dict[int, Check]:
    """Lock the checks these lines are on, by id: checks before lines, as everywhere."""
    tab_ids = set(OrderLine.objects.filter(pk__in=line_ids).values_list("tab_id", flat=True))
    return {
        tab.pk: tab
        for tab in Check.objects.select_for_update(no_key=True)
        .filter(pk__in=tab_ids)
        .order_by("pk")
    }


def lines_mark_ready(*, line_ids: list[int], ready: bool = True) -> list[OrderLine]:
    """The kitchen says these lines are ready (or takes it back, on a recall)."""
    with transaction.atomic():
        tabs = _lock_checks_of_lines(line_ids)
        lines = list(
            OrderLine.objects.select_for_update(no_key=True)
            .filter(pk__in=sorted(line_ids))
            .order_by("pk")
        )
        stamp = timezone.now() if ready else None
        touched = [line for line in lines if (line.ready_at is None) == ready]
        for line in touched:
            line.ready_at = stamp
        OrderLine.objects.bulk_update(touched, ["ready_at"])
        for tab_id in sorted({line.tab_id for line in touched}):
            tab = tabs.get(tab_id) or Check.objects.select_for_update(no_key=True).get(pk=tab_id)
            _bump(tab, lines=[x for x in touched if x.tab_id == tab_id])
        return touched


def lines_mark_served(*, line_ids: list[int]) -> list[OrderLine]:
    """Expo says these lines went out to the table."""
    with transaction.atomic():
        tabs = _lock_checks_of_lines(line_ids)
        lines = list(
            OrderLine.objects.select_for_update(no_key=True)
            .filter(pk__in=sorted(line_ids), served_at=None)
            .order_by("pk")
        )
        now = timezone.now()
        for line in lines:
            line.served_at = now
            if line.ready_at is None:
                line.ready_at = now
        OrderLine.objects.bulk_update(lines, ["served_at", "ready_at"])
        for tab_id in sorted({line.tab_id for line in lines}):
            tab = tabs.get(tab_id) or Check.objects.select_for_update(no_key=True).get(pk=tab_id)
            _bump(tab, lines=[x for x in lines if x.tab_id == tab_id])
        return lines


# --- After sending: comps and discounts, seats, transfers, merges, guests, edits, prebill ---
#
# Lock order everywhere: checks first (two checks: by id, ascending), then their lines by id,
# then anything else (the venue row when a check is opened, the realtime event counter last).

MAX_GUESTS = 500


def _moved(name: str) -> Conflict:
    return Conflict(
        _("%(item)s was moved to another check meanwhile; look again and retry.") % {"item": name},
        code="stale_version",
        field="version",
    )


def _lock_open_checks(*check_ids: int) -> dict[int, Check]:
    """Lock several open checks by id, ascending (so two writers never deadlock)."""
    locked = {}
    for pk in sorted(set(check_ids)):
        locked[pk] = _lock_open_check(Check(pk=pk))
    return locked


def _clean_line_ids(line_ids) -> list[int]:
    if (
        not isinstance(line_ids, (list, tuple, set))
        or not line_ids
        or any(not isinstance(x, int) or isinstance(x, bool) for x in line_ids)
    ):
        raise ValidationFailed(_("Choose at least one line."), code="lines_required", field="lines")
    return sorted(set(line_ids))


def _lock_lines(tab: Check, line_ids: list[int]) -> list[OrderLine]:
    """Lock these lines of a locked check, by id. Lines moved away meanwhile are stale."""
    lines = list(
        OrderLine.objects.select_for_update(no_key=True)
        .filter(tab=tab, pk__in=line_ids)
        .order_by("pk")
    )
    found = {line.pk for line in lines}
    missing = [pk for pk in line_ids if pk not in found]
    if missing:
        moved = (
            OrderLine.objects.filter(pk__in=missing, tab__venue_id=tab.venue_id)
            .order_by("pk")
            .first()
        )
        if moved is not None:
            raise _moved(moved.name)
        raise NotFound(_("Line %(id)s is not on this check.") % {"id": missing[0]}, field="lines")
    return lines


def _refuse_voided(lines: list[OrderLine], message: str) -> None:
    """`message` names the line as %(item)s."""
    for line in lines:
        if line.status == OrderLine.Status.VOIDED:
            raise Conflict(message % {"item": line.name}, code="line_voided", field="lines")


def _approval(actor: StaffMember, approver: StaffMember | None, venue_id: int) -> StaffMember:
    """Who approves a comp or discount: the given approver, or the actor if they may."""
    if approver is None:
        if permissions.staff_can(actor, "discount.approve"):
            return actor
        raise permissions.PermissionDenied(
            _("A manager must approve comps and discounts."),
            code="approval_required",
            field="approver",
        )
    if approver.venue_id != venue_id or not permissions.staff_can(approver, "discount.approve"):
        raise permissions.PermissionDenied(
            _("%(who)s may not approve comps and discounts here.") % {"who": approver.display_name},
            field="approver",
        )
    return approver


def _clean_reason(reason: str | None, message: str) -> str:
    return clean_reason(reason, message)


def _clean_percent(percent) -> Decimal:
    if isinstance(percent, bool) or not isinstance(percent, (int, Decimal, str)):
        raise ValidationFailed(
            _("A percentage is a number above 0 and at most 100."), field="percent"
        )
    try:
        value = Decimal(percent)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value <= 100 or value != value.quantize(Decimal("0.001")):
        raise ValidationFailed(
            _("A percentage is a number above 0 and at most 100 (at most 3 decimals)."),
            field="percent",
        )
    return value.quantize(Decimal("0.001"))


@transaction.atomic
def adjustment_add(
    *,
    tab: Check,
    actor: StaffMember,
    kind: str,
    reason: str,
    approver: StaffMember | None = None,
    line: OrderLine | None = None,
    percent: Decimal | int | None = None,
    amount: int | None = None,
    expected_version: int | None = None,
) -> Adjustment:
    """Comp or discount a line (`line`) or the whole check, with a reason and an approval.

    A comp takes all of it (100%); a discount takes `percent` or `amount` (minor units), never
    more than what is left of the line or check after the discounts already on it. The
    approver needs `discount.approve`; a manager adding one approves it themselves.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    if kind == Adjustment.Kind.COMP:
        if amount is not None or (percent is not None and _clean_percent(percent) != 100):
            raise ValidationFailed(
                _("A comp takes the whole line or check; for part of it, use a discount."),
                code="comp_is_whole",
                field="amount" if amount is not None else "percent",
            )
        percent, amount = Decimal("100.000"), None
    elif kind == Adjustment.Kind.DISCOUNT:
        if (percent is None) == (amount is None):
            raise ValidationFailed(
                _("A discount is either a percentage or an amount."),
                code="percent_or_amount",
                field="percent",
            )
        if percent is not None:
            percent = _clean_percent(percent)
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationFailed(
                _("A discount amount is a whole number of cents above 0."), field="amount"
            )
    else:
        raise ValidationFailed(
            _("Unknown kind %(kind)s: a comp or a discount.") % {"kind": kind}, field="kind"
        )
    reason = _clean_reason(reason, _("Give a reason for the comp or discount."))
    approver = _approval(actor, approver, tab.venue_id)
    tab = _lock_open_check(tab)
    if line is not None:
        (line,) = _lock_lines(tab, [line.pk])
        _refuse_voided([line], _("%(item)s is voided: it cannot be discounted."))
        guard_version(tab, expected_version, lines=[line])
    else:
        guard_version(tab, expected_version, header=True)
    from orders.selectors import totals_for

    before = totals_for(tab)
    if line is not None:
        (share,) = [a for a in before.amounts if a.key == line.pk]
        left = share.gross - share.line_discount
    else:
        left = before.subtotal - before.service_charge
    if left <= 0:
        if line is not None:
            message = _("There is nothing left to discount on %(item)s.") % {"item": line.name}
        else:
            message = _("There is nothing left to discount on check #%(n)s.") % {"n": tab.number}
        raise Conflict(message, code="nothing_to_discount")
    if amount is not None and amount > left:
        currency = tab.venue.currency
        raise ValidationFailed(
            _("A discount of %(amount)s is more than the %(left)s left to pay on it.")
            % {"amount": format_money(amount, currency), "left": format_money(left, currency)},
            code="discount_too_large",
            field="amount",
        )
    adjustment = Adjustment.objects.create(
        tab=tab,
        line=line,
        kind=kind,
        percent=percent,
        amount=amount,
        reason=reason,
        actor=actor,
        approved_by=approver,
    )
    _bump(tab, lines=[line] if line else (), header=line is None, state=True)
    _audit(
        tab,
        action="adjustment.add",
        actor=actor,
        line=line,
        approved_by=approver,
        reason=reason,
        adjustment=adjustment.pk,
        kind=kind,
        percent=str(percent) if percent is not None else None,
        amount=amount,
        taken=totals_for(tab).discount - before.discount,
    )
    return adjustment


@transaction.atomic
def adjustment_remove(
    *,
    adjustment: Adjustment,
    actor: StaffMember,
    reason: str,
    approver: StaffMember | None = None,
    expected_version: int | None = None,
) -> Adjustment:
    """Take a comp or discount off again (it stays on record, with `removed_at`)."""
    permissions.require(actor, "check.order")
    _same_venue(actor, adjustment.tab.venue_id)
    reason = _clean_reason(reason, _("Give a reason for taking it off."))
    approver = _approval(actor, approver, adjustment.tab.venue_id)
    tab = _lock_open_check(adjustment.tab)
    adjustment = Adjustment.objects.select_for_update(no_key=True).get(pk=adjustment.pk)
    if adjustment.tab_id != tab.pk:
        raise _moved(str(adjustment))
    if adjustment.removed_at is not None:
        raise Conflict(_("This was already taken off."), code="already_removed")
    line = None
    if adjustment.line_id:
        (line,) = _lock_lines(tab, [adjustment.line_id])
        guard_version(tab, expected_version, lines=[line])
    else:
        guard_version(tab, expected_version, header=True)
    adjustment.removed_at = timezone.now()
    adjustment.save(update_fields=["removed_at"])
    adjustment.tab = tab  # handed back with the check's state after the change
    _bump(tab, lines=[line] if line else (), header=line is None, state=True)
    _audit(
        tab,
        action="adjustment.remove",
        actor=actor,
        line=line,
        approved_by=approver,
        reason=reason,
        adjustment=adjustment.pk,
        kind=adjustment.kind,
    )
    return adjustment


@transaction.atomic
def lines_move_seat(
    *,
    tab: Check,
    actor: StaffMember,
    line_ids: list[int],
    seat: int,
    expected_version: int | None = None,
) -> list[OrderLine]:
    """Move lines to another seat (0 = shared). Returns the lines, moved or already there."""
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    line_ids = _clean_line_ids(line_ids)
    if not isinstance(seat, int) or isinstance(seat, bool) or not 0 <= seat <= MAX_SEAT:
        raise ValidationFailed(
            _("Seat must be a number from 0 (shared) to %(max)d.") % {"max": MAX_SEAT}, field="seat"
        )
    tab = _lock_open_check(tab)
    lines = _lock_lines(tab, line_ids)
    _refuse_voided(lines, _("%(item)s is voided: it cannot be moved."))
    guard_version(tab, expected_version, lines=lines)
    moving = [line for line in lines if line.seat != seat]
    if not moving:
        return lines
    seats = {line.pk: line.seat for line in moving}
    for line in moving:
        line.seat = seat
    OrderLine.objects.bulk_update(moving, ["seat"])
    _bump(tab, lines=moving)
    _audit(
        tab,
        action="lines.move_seat",
        actor=actor,
        seat=seat,
        lines=[line.pk for line in moving],
        from_seats=seats,
    )
    return lines


def _move_lines(lines: list[OrderLine], target: Check) -> None:
    """Lines, with their modifiers (which follow the line) and their own adjustments."""
    ids = [line.pk for line in lines]
    OrderLine.objects.filter(pk__in=ids).update(tab=target)
    Adjustment.objects.filter(line_id__in=ids).update(tab=target)
    for line in lines:
        line.tab = target
    if target.prebill_printed_at is not None:  # the printed check no longer shows everything
        target.prebill_printed_at = None
        target.save(update_fields=["prebill_printed_at"])


@transaction.atomic
def lines_transfer(
    *,
    tab: Check,
    actor: StaffMember,
    line_ids: list[int],
    to_check: Check | None = None,
    to_table: Table | None = None,
    guest_count: int = 1,
    expected_version: int | None = None,
) -> Check:
    """Move lines to another open check, or to a table (its open check, or a new one there).

    A new check at the table gets the source check's server and `guest_count` guests. The
    lines keep their modifiers, seats, courses, kitchen state and their own comps and
    discounts; check-level ones stay with their check. Returns the check the lines went to.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    line_ids = _clean_line_ids(line_ids)
    if (to_check is None) == (to_table is None):
        raise ValidationFailed(
            _("Choose either a check or a table to move the lines to."),
            code="target_required",
            field="to",
        )
    target_id = None
    if to_check is not None:
        if to_check.venue_id != tab.venue_id:
            raise NotFound(_("No such check here."), field="to_check")
        target_id = to_check.pk
    else:
        if to_table.venue_id != tab.venue_id or not to_table.is_active:
            raise NotFound(_("No such table here."), field="to_table")
        target_id = (
            Check.objects.filter(table=to_table, status=Check.Status.OPEN)
            .values_list("pk", flat=True)
            .first()
        )
    if target_id == tab.pk:
        raise ValidationFailed(
            _("The lines are already on this check."), code="same_check", field="to"
        )
    if target_id is not None:
        locked = _lock_open_checks(tab.pk, target_id)
        source, target = locked[tab.pk], locked[target_id]
        if to_table is not None and target.table_id != to_table.pk:
            raise Conflict(
                _("Table %(table)s changed meanwhile; look again and retry.")
                % {"table": to_table.name},
                code="stale_version",
                field="to_table",
            )
    else:
        source = _lock_open_check(tab)
    lines = _lock_lines(source, line_ids)
    _refuse_voided(lines, _("%(item)s is voided: it cannot be moved."))
    guard_version(source, expected_version, lines=lines)
    if target_id is None:
        server = source.server
        if not server.is_active or server.venue_id != source.venue_id:
            server = actor
        target = check_open(
            venue=source.venue,
            actor=actor,
            kind=Check.Kind.TABLE,
            table=to_table,
            guest_count=guest_count,
            server=server,
        )
    _move_lines(lines, target)
    ids = [line.pk for line in lines]
    _bump(source)
    _audit(
        source,
        action="lines.transfer_out",
        actor=actor,
        lines=ids,
        to_check=target.pk,
        to_number=target.number,
    )
    _bump(target, lines=lines)
    _audit(
        target,
        action="lines.transfer_in",
        actor=actor,
        lines=ids,
        from_check=source.pk,
        from_number=source.number,
    )
    return target


@transaction.atomic
def check_transfer(
    *,
    tab: Check,
    actor: StaffMember,
    to_table: Table | None = None,
    to_server: StaffMember | None = None,
    expected_version: int | None = None,
) -> Check:
    """Move a check to another (free) table and/or hand it to another server.

    A bar tab, takeaway or online check moved to a table becomes a table check.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    if to_table is None and to_server is None:
        raise ValidationFailed(
            _("Choose a table or a server to hand the check to."),
            code="target_required",
            field="to",
        )
    if to_table is not None and (to_table.venue_id != tab.venue_id or not to_table.is_active):
        raise NotFound(_("No such table here."), field="to_table")
    if to_server is not None:
        if to_server.venue_id != tab.venue_id:
            raise NotFound(_("No such staff member here."), field="to_server")
        if not permissions.staff_can(to_server, "check.order"):
            raise ValidationFailed(
                _("%(who)s cannot take orders, so cannot take over a check.")
                % {"who": to_server.display_name},
                code="server_not_eligible",
                field="to_server",
            )
    tab = _lock_open_check(tab)
    guard_version(tab, expected_version, header=True)
    changes: dict[str, list] = {}
    fields = []
    if to_table is not None and to_table.pk != tab.table_id:
        if Check.objects.filter(table=to_table, status=Check.Status.OPEN).exists():
            raise Conflict(
                _("Table %(table)s already has an open check.") % {"table": to_table.name},
                code="table_occupied",
                field="to_table",
            )
        changes["table"] = [tab.table.name if tab.table_id else None, to_table.name]
        tab.table = to_table
        fields.append("table")
        if tab.kind != Check.Kind.TABLE:
            changes["kind"] = [tab.kind, Check.Kind.TABLE]
            tab.kind = Check.Kind.TABLE
            fields.append("kind")
        if tab.guest_count < 1:
            changes["guests"] = [tab.guest_count, 1]
            tab.guest_count = 1
            fields.append("guest_count")
    if to_server is not None and to_server.pk != tab.server_id:
        changes["server"] = [tab.server.display_name, to_server.display_name]
        tab.server = to_server
        fields.append("server")
    if not fields:
        raise ValidationFailed(
            _("The check is already there."), code="nothing_to_change", field="to"
        )
    try:
        with transaction.atomic():
            tab.save(update_fields=fields)
    except IntegrityError as exc:  # another check took the table a moment ago
        raise Conflict(
            _("Table %(table)s already has an open check.") % {"table": to_table.name},
            code="table_occupied",
            field="to_table",
        ) from exc
    _bump(tab, header=True, state=True)
    _audit(tab, action="check.transfer", actor=actor, **changes)
    return tab


def _freeze_check_adjustments(tab: Check) -> list[int]:
    """Turn a check's live check-level comps and discounts into amounts on its lines.

    Each line gets exactly the share pricing gave it, so the lines cost what they did when
    they move to another check (whose own check-level discounts then apply to them). The
    check-level rows are kept, marked removed. Returns the ids of the new line adjustments.
    """
    rows = list(tab.adjustments.filter(line__isnull=True, removed_at__isnull=True).order_by("pk"))
    if not rows:
        return []
    lines = lines_from_rows(
        tab.lines.exclude(status=OrderLine.Status.VOIDED)
        .prefetch_related("modifiers", "adjustments")
        .order_by("pk")
    )
    include_tax = tab.venue.prices_include_tax
    given = {line.key: 0 for line in lines}
    created = []
    for k, row in enumerate(rows, start=1):
        totals = check_totals(
            lines,
            prices_include_tax=include_tax,
            check_discounts=check_discounts_from_rows(rows[:k]),
        )
        for share in totals.amounts:
            part = share.check_discount - given[share.key]
            given[share.key] = share.check_discount
            if part > 0:
                created.append(
                    Adjustment.objects.create(
                        tab=tab,
                        line_id=share.key,
                        kind=row.kind,
                        amount=part,
                        reason=row.reason,
                        actor=row.actor,
                        approved_by=row.approved_by,
                    ).pk
                )
    Adjustment.objects.filter(pk__in=[row.pk for row in rows]).update(removed_at=timezone.now())
    return created


@transaction.atomic
def checks_merge(
    *, tab: Check, actor: StaffMember, other: Check, expected_version: int | None = None
) -> Check:
    """Merge `other` into `tab`: all its lines come over, guests add up, `other` is closed.

    `other`'s check-level comps and discounts are kept as amounts on its lines (so nothing
    changes price in the merge); `tab`'s own check-level ones apply to the merged check.
    """
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    if other.venue_id != tab.venue_id:
        raise NotFound(_("No such check here."), field="other")
    if other.pk == tab.pk:
        raise ValidationFailed(
            _("A check cannot be merged with itself."), code="same_check", field="other"
        )
    locked = _lock_open_checks(tab.pk, other.pk)
    tab, other = locked[tab.pk], locked[other.pk]
    guard_version(tab, expected_version, header=True)
    lines = list(OrderLine.objects.select_for_update(no_key=True).filter(tab=other).order_by("pk"))
    frozen = _freeze_check_adjustments(other)
    OrderLine.objects.filter(tab=other).update(tab=tab)
    Adjustment.objects.filter(tab=other, line__isnull=False).update(tab=tab)
    guests = [tab.guest_count, other.guest_count]
    tab.guest_count += other.guest_count
    tab.prebill_printed_at = None
    tab.save(update_fields=["guest_count", "prebill_printed_at"])
    other.status = Check.Status.MERGED
    other.closed_at = timezone.now()
    other.merged_into = tab
    other.save(update_fields=["status", "closed_at", "merged_into"])
    _bump(other, header=True)
    _audit(
        other,
        action="check.merged_into",
        actor=actor,
        into_check=tab.pk,
        into_number=tab.number,
        lines=[line.pk for line in lines],
        frozen_adjustments=frozen,
    )
    _bump(tab, lines=lines, header=True, state=True)
    _audit(
        tab,
        action="check.merge",
        actor=actor,
        from_check=other.pk,
        from_number=other.number,
        lines=[line.pk for line in lines],
        guests=guests,
    )
    tab.merged_away = other  # what the merge did to the other check (closed, its version)
    return tab


@transaction.atomic
def check_set_guests(
    *, tab: Check, actor: StaffMember, guest_count: int, expected_version: int | None = None
) -> Check:
    """Change the number of guests (a table check keeps at least one)."""
    permissions.require(actor, "check.open")
    _same_venue(actor, tab.venue_id)
    if (
        not isinstance(guest_count, int)
        or isinstance(guest_count, bool)
        or not 0 <= guest_count <= MAX_GUESTS
    ):
        raise ValidationFailed(
            _("Guests must be a number from 0 to %(max)d.") % {"max": MAX_GUESTS},
            field="guest_count",
        )
    tab = _lock_open_check(tab)
    if tab.kind == Check.Kind.TABLE and guest_count < 1:
        raise ValidationFailed(
            _("A table needs at least one guest."), code="guests_required", field="guest_count"
        )
    guard_version(tab, expected_version, header=True)
    if tab.guest_count == guest_count:
        return tab
    before = tab.guest_count
    tab.guest_count = guest_count
    tab.save(update_fields=["guest_count"])
    _bump(tab, header=True, state=True)
    _audit(tab, action="check.guests", actor=actor, guests=[before, guest_count])
    return tab


@transaction.atomic
def line_update(
    *,
    line: OrderLine,
    actor: StaffMember,
    quantity: int | None = None,
    note: str | None = None,
    course: int | None = None,
    expected_version: int | None = None,
) -> OrderLine:
    """Change the quantity, note or course of a line not yet sent (a sent one needs a void)."""
    permissions.require(actor, "check.order")
    _same_venue(actor, line.tab.venue_id)
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_("A note is text."), field="note")
    _check_line_fields(quantity if quantity is not None else 1, 0, course, note)
    tab = _lock_open_check(line.tab)
    (line,) = _lock_lines(tab, [line.pk])
    _refuse_voided([line], _("%(item)s is voided: it cannot be changed."))
    if line.status != OrderLine.Status.NEW:
        raise Conflict(
            _("%(item)s has been sent to the kitchen: void it and add it again.")
            % {"item": line.name},
            code="line_already_sent",
        )
    guard_version(tab, expected_version, lines=[line])
    wanted = {
        "quantity": quantity,
        "note": None if note is None else note.strip(),
        "course": course,
    }
    changes = {
        field: [getattr(line, field), value]
        for field, value in wanted.items()
        if value is not None and getattr(line, field) != value
    }
    if not changes:
        return line
    if "quantity" in changes and line.menu_item_id:
        stock = MenuItem.objects.filter(pk=line.menu_item_id).values_list("stock_count", flat=True)
        stock = stock.first()
        if stock is not None and quantity > stock:
            raise Conflict(
                _("Only %(n)d %(item)s left.") % {"n": stock, "item": line.name},
                code="insufficient_stock",
                field="quantity",
            )
    for field, (_old, value) in changes.items():
        setattr(line, field, value)
    line.save(update_fields=list(changes))
    _bump(tab, lines=[line], state=True)
    _audit(tab, action="line.update", actor=actor, line=line, **changes)
    line.tab = tab  # handed back with the check's state after the change
    return line


@transaction.atomic
def prebill_print(*, tab: Check, actor: StaffMember) -> Check:
    """Mark the check as printed for the guests (the floor shows "check printed")."""
    from orders.selectors import totals_for

    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    tab = _lock_open_check(tab)
    if not tab.lines.exclude(status=OrderLine.Status.VOIDED).exists():
        raise Conflict(
            _("Check #%(n)s has nothing on it to print.") % {"n": tab.number}, code="check_empty"
        )
    tab.prebill_printed_at = timezone.now()
    tab.save(update_fields=["prebill_printed_at"])
    _bump(tab)
    _audit(tab, action="check.prebill", actor=actor, total=totals_for(tab).total)
    return tab


def check_paying(tab: Check) -> None:
    """The bill is being settled: the floor shows "paying" (called under the check's lock)."""
    if tab.paying_since is None:
        tab.paying_since = timezone.now()
        tab.save(update_fields=["paying_since"])


def check_paid_set(tab: Check, paid_amount: int) -> None:
    """Record what has been paid toward the check (payments/services.py, under the lock)."""
    tab.paid_amount = paid_amount
    tab.save(update_fields=["paid_amount"])


def check_close_paid(*, tab: Check, actor: StaffMember) -> Check:
    """Close a fully paid check (payments/services.py decides, holding the check's lock)."""
    if tab.status != Check.Status.OPEN:
        raise Conflict(_("Check #%(n)s is not open.") % {"n": tab.number}, code="check_not_open")
    tab.status = Check.Status.CLOSED
    tab.closed_at = timezone.now()
    tab.save(update_fields=["status", "closed_at"])
    _bump(tab, header=True)
    _audit(tab, action="check.close", actor=actor, paid=tab.paid_amount)
    return tab


@transaction.atomic
def check_reopen(
    *, tab: Check, actor: StaffMember, approver: StaffMember | None, reason: str
) -> Check:
    """Reopen a closed check (a manager approves with their PIN); the table is taken again."""
    permissions.require(actor, "check.order")
    _same_venue(actor, tab.venue_id)
    approver = approver or actor
    if approver.venue_id != tab.venue_id or not permissions.staff_can(approver, "check.reopen"):
        raise permissions.PermissionDenied(
            _("A manager must approve reopening a check."),
            code="approval_required",
            field="approver",
        )
    reason = _clean_reason(reason, _("Say why the check is reopened."))
    tab = Check.objects.select_for_update(no_key=True).get(pk=tab.pk)
    if tab.status != Check.Status.CLOSED:
        raise Conflict(
            _("Check #%(n)s is %(status)s; only a closed check can be reopened.")
            % {"n": tab.number, "status": tab.get_status_display().lower()},
            code="check_not_closed",
        )
    taken = _("Table %(table)s has another open check; close it first.")
    if tab.table_id and Check.objects.filter(table_id=tab.table_id, status="open").exists():
        raise Conflict(taken % {"table": tab.table.name}, code="table_occupied")
    tab.status = Check.Status.OPEN
    tab.closed_at = None
    tab.paying_since = timezone.now() if tab.paid_amount else None
    try:
        with transaction.atomic():
            tab.save(update_fields=["status", "closed_at", "paying_since"])
    except IntegrityError as exc:
        raise Conflict(taken % {"table": tab.table.name}, code="table_occupied") from exc
    _bump(tab, header=True)
    _audit(tab, action="check.reopen", actor=actor, approved_by=approver, reason=reason)
    return tab


def check_bump(tab: Check) -> None:
    """A new version of the check for a change outside its lines (its bill, its payments);
    called by other apps' services holding the check's lock."""
    _bump(tab)


def check_audit(tab: Check, *, action: str, actor: StaffMember | None, **data) -> CheckAudit:
    """An audit entry on the check for another app's service (payments, receipts)."""
    return _audit(tab, action=action, actor=actor, **data)
