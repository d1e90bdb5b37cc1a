"""Reads of the venue domain."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from restaurant.models import Menu, MenuItem, MenuWindow, StaffMember, Venue


def window_is_open(window: MenuWindow, local: datetime.datetime) -> bool:
    """Whether `window` covers the venue-local time `local` (windows may cross midnight)."""
    t = local.time().replace(tzinfo=None)
    today = local.weekday()
    if window.starts_at < window.ends_at:
        return today in window.weekdays and window.starts_at <= t < window.ends_at
    # Crosses midnight: 22:00-02:00 on Friday covers Friday 22:00 to Saturday 02:00.
    if t >= window.starts_at:
        return today in window.weekdays
    yesterday = (today - 1) % 7
    return t < window.ends_at and yesterday in window.weekdays


def menu_is_available(menu: Menu, at: datetime.datetime | None = None) -> bool:
    if not menu.is_active:
        return False
    windows = list(menu.windows.all())
    if not windows:
        return True
    local = timezone.localtime(at or timezone.now(), menu.venue.tzinfo)
    return any(window_is_open(w, local) for w in windows)


def menus_available_at(*, venue: Venue, at: datetime.datetime | None = None) -> list[Menu]:
    """The venue's active menus whose availability windows cover `at` (default: now)."""
    menus = (
        Menu.objects.filter(venue=venue, is_active=True)
        .prefetch_related(Prefetch("windows", queryset=MenuWindow.objects.all()))
        .select_related("venue")
    )
    return [menu for menu in menus if menu_is_available(menu, at)]


def item_is_orderable_now(item: MenuItem, at: datetime.datetime | None = None) -> bool:
    return item.is_active and item.is_available and menu_is_available(item.category.menu, at)


def items_for_venue(*, venue: Venue) -> QuerySet[MenuItem]:
    return MenuItem.objects.filter(venue=venue, is_active=True).select_related(
        "category", "category__menu", "tax_rate", "station"
    )


def staff_for_user(*, user, venue: Venue | None = None) -> QuerySet[StaffMember]:
    qs = StaffMember.objects.filter(user=user, is_active=True).select_related("venue")
    if venue is not None:
        qs = qs.filter(venue=venue)
    return qs


def staff_for_venue(*, venue: Venue) -> QuerySet[StaffMember]:
    """The venue's active staff, by name (for "transfer to server" and the like)."""
    return StaffMember.objects.filter(venue=venue, is_active=True).order_by("display_name")
