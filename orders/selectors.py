"""Reads of checks: floor status, open checks, totals."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from orders.models import Adjustment, Check, LineModifier, OrderLine
from orders.pricing import CheckTotals, check_discounts_from_rows, check_totals, lines_from_rows
from restaurant.models import Table, Venue


class FloorStatus:
    FREE = "free"
    SEATED = "seated"
    ORDERED = "ordered"
    FOOD_FIRED = "food_fired"
    FOOD_READY = "food_ready"
    CHECK_PRINTED = "check_printed"
    PAYING = "paying"


def check_floor_status(tab: Check, lines: list[OrderLine] | None = None) -> str:
    """free, seated, ordered, food fired, food ready, check printed or paying (`lines`: the
    check's lines, when the caller has read them already)."""
    if tab.status != Check.Status.OPEN:
        return FloorStatus.FREE
    if tab.paying_since:
        return FloorStatus.PAYING
    lines = tab.lines.all() if lines is None else lines
    live = [line for line in lines if line.status != OrderLine.Status.VOIDED]
    if any(line.ready_at and not line.served_at for line in live):
        return FloorStatus.FOOD_READY
    if tab.prebill_printed_at and all(line.created_at <= tab.prebill_printed_at for line in live):
        return FloorStatus.CHECK_PRINTED
    if any(line.fired_at and not line.ready_at for line in live):
        return FloorStatus.FOOD_FIRED
    if live:
        return FloorStatus.ORDERED
    return FloorStatus.SEATED


def open_checks(*, venue: Venue):
    return (
        Check.objects.filter(venue=venue, status=Check.Status.OPEN)
        .select_related("table", "server", "table__area")
        .prefetch_related("lines")
        .order_by("number")
    )


def closed_checks(*, venue: Venue, hours: int = 18):
    """Checks closed in the last `hours` (one service day), newest first: the check history."""
    since = timezone.now() - datetime.timedelta(hours=hours)
    return (
        Check.objects.filter(venue=venue, status=Check.Status.CLOSED, closed_at__gte=since)
        .select_related("table", "server", "table__area")
        .prefetch_related("lines")
        .order_by("-closed_at")
    )


def floor(*, venue: Venue) -> list[dict]:
    """Every active table with its status and open check (for the floor plan)."""
    by_table = {tab.table_id: tab for tab in open_checks(venue=venue) if tab.table_id}
    result = []
    for table in Table.objects.filter(venue=venue, is_active=True).select_related("area"):
        tab = by_table.get(table.pk)
        result.append(
            {
                "table": table,
                "check": tab,
                "status": check_floor_status(tab) if tab else FloorStatus.FREE,
            }
        )
    return result


def check_with_lines(*, check_id: int, venue: Venue) -> Check | None:
    """A check with its lines, their modifiers and the adjustments, in four queries."""
    tab = Check.objects.filter(pk=check_id, venue=venue).select_related("table", "server").first()
    if tab is None:
        return None
    tab.venue = venue if venue.pk == tab.venue_id else tab.venue
    check_state_load(tab)
    return tab


def check_state_load(tab: Check) -> Check:
    """Load (again) what a check shows: its lines in order with their modifiers and their
    adjustments, and the check's own adjustments (lines, modifiers, all adjustments at once:
    three queries). Serializers and pricing read them from `tab.lines.all()` and friends."""
    lines = list(
        OrderLine.objects.filter(tab=tab)
        .order_by("course", "seat", "pk")
        .prefetch_related(
            Prefetch("modifiers", queryset=LineModifier.objects.order_by("sort_order", "pk"))
        )
    )
    adjustments = list(Adjustment.objects.filter(tab=tab).order_by("pk"))
    by_line: dict[int, list[Adjustment]] = {}
    for adjustment in adjustments:
        if adjustment.line_id is not None:
            by_line.setdefault(adjustment.line_id, []).append(adjustment)
    for line in lines:
        line.tab = tab
        _cache(line, "adjustments", by_line.get(line.pk, []))
    _cache(tab, "lines", lines)
    _cache(tab, "adjustments", adjustments)
    return tab


def check_state_empty(tab: Check) -> Check:
    """The state of a check that has just been opened: nothing on it yet (no queries)."""
    _cache(tab, "lines", [])
    _cache(tab, "adjustments", [])
    return tab


def _cache(obj, name: str, rows: list) -> None:
    """Set a reverse relation's prefetch cache, as prefetch_related would."""
    manager = getattr(obj, name)
    cache_name = manager.field.remote_field.cache_name
    cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
    cache.pop(cache_name, None)
    queryset = manager.get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    cache[cache_name] = queryset


def service_charge_percent(tab: Check) -> Decimal:
    """The check's own service charge if set (0 = waived), else the venue's for tables that
    have at least the venue's minimum party size."""
    if tab.service_charge_percent is not None:
        return tab.service_charge_percent
    venue = tab.venue
    if not venue.service_charge_percent or tab.kind != Check.Kind.TABLE:
        return Decimal(0)
    if tab.guest_count < venue.service_charge_min_guests:
        return Decimal(0)
    return venue.service_charge_percent


def totals_for(tab: Check) -> CheckTotals:
    return check_totals(
        lines_from_rows(tab.lines.all()),
        prices_include_tax=tab.venue.prices_include_tax,
        check_discounts=check_discounts_from_rows(tab.adjustments.all()),
        service_charge_percent=service_charge_percent(tab),
    )
