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


def check_floor_status(tab: Check) -> str:
    """free, seated, ordered, food fired, food ready, check printed or paying."""
    if tab.status != Check.Status.OPEN:
        return FloorStatus.FREE
    if tab.paying_since:
        return FloorStatus.PAYING
    live = [line for line in tab.lines.all() if line.status != OrderLine.Status.VOIDED]
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
    return (
        Check.objects.filter(pk=check_id, venue=venue)
        .select_related("table", "server", "venue")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.order_by("course", "seat", "pk").prefetch_related(
                    Prefetch(
                        "modifiers", queryset=LineModifier.objects.order_by("sort_order", "pk")
                    ),
                    "adjustments",
                ),
            ),
            Prefetch("adjustments", queryset=Adjustment.objects.order_by("pk")),
        )
        .first()
    )


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
