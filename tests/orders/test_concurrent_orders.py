"""Many tablets opening checks and sending at once, on PostgreSQL where row locks are real.

Each thread is a tablet: it opens its own check, adds lines and sends them, all at the same
moment as the others. Every order must go through (no deadlock, no lock timeout), every
check gets its own number, and the venue's event log stays gap-free and in commit order.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kitchen import services as kitchen
from kitchen.models import Ticket
from orders.models import Check
from orders.services import check_open, line_add
from restaurant.models import Event, StaffMember
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    StaffFactory,
    StationFactory,
    VenueFactory,
)

TABLETS = 12
ROUNDS = 3


def _rush(venue, staff, items, rounds: int) -> list[str]:
    barrier = threading.Barrier(len(staff))
    failures: list[str] = []

    def tablet(actor):
        try:
            barrier.wait()
            for _round in range(rounds):
                tab = check_open(venue=venue, actor=actor, kind="takeaway")
                for item in items:
                    line_add(tab=tab, actor=actor, item=item)
                kitchen.lines_send(tab=tab, actor=actor)
        except Exception as exc:  # any failure is what this test is about
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=tablet, args=(actor,)) for actor in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_tablets_opening_checks_and_sending_at_once_never_deadlock():
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    cold = StationFactory(venue=venue, slug="cold", name="Cold")
    mains = CategoryFactory(venue=venue, default_station=grill)
    starters = CategoryFactory(venue=venue, default_station=cold)
    items = [
        MenuItemFactory(venue=venue, category=mains, name="Steak"),
        MenuItemFactory(venue=venue, category=starters, name="Soup"),
    ]
    staff = [StaffFactory(venue=venue, role=StaffMember.Role.SERVER) for _ in range(TABLETS)]

    failures = _rush(venue, staff, items, ROUNDS)

    assert failures == []
    checks = Check.objects.filter(venue=venue)
    assert checks.count() == TABLETS * ROUNDS
    assert sorted(checks.values_list("number", flat=True)) == list(range(1, TABLETS * ROUNDS + 1))
    assert Ticket.objects.filter(venue=venue).count() == TABLETS * ROUNDS * 2
    seqs = list(Event.objects.filter(venue=venue).order_by("seq").values_list("seq", flat=True))
    # open + two lines + send (check.changed and two tickets) per order
    assert seqs == list(range(1, TABLETS * ROUNDS * 6 + 1))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_events_are_numbered_in_commit_order():
    """A reader that has seen seq n has seen every committed change up to n: the seq a
    transaction's events get follows the order in which the transactions commit."""
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    mains = CategoryFactory(venue=venue, default_station=grill)
    item = MenuItemFactory(venue=venue, category=mains, name="Steak")
    staff = [StaffFactory(venue=venue, role=StaffMember.Role.SERVER) for _ in range(6)]

    failures = _rush(venue, staff, [item], 4)

    assert failures == []
    # Within each check, its events' seqs rise in the order its transactions ran.
    for tab in Check.objects.filter(venue=venue):
        versions = [
            e.data["version"]
            for e in Event.objects.filter(venue=venue, type="check.changed").order_by("seq")
            if e.data["check"] == tab.pk
        ]
        assert versions == sorted(versions)
