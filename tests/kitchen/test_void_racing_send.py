"""A void and a send of the same line racing: the kitchen hears of the void exactly when the
line had reached it.

kitchen.services.line_void decides whether the line "was sent" under the line's lock, not from
the caller's copy: the copy a tablet voids from may be older than a send that commits first.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kitchen import services as kitchen
from kitchen.models import Ticket, TicketItem
from orders.models import OrderLine
from orders.services import check_open, line_add
from restaurant.models import StaffMember
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    StaffFactory,
    StationFactory,
    VenueFactory,
)


def _venue():
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    cold = StationFactory(venue=venue, slug="cold", name="Cold")
    items = [
        MenuItemFactory(venue=venue, category=CategoryFactory(venue=venue, default_station=grill)),
        MenuItemFactory(venue=venue, category=CategoryFactory(venue=venue, default_station=cold)),
    ]
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER)
    manager = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER)
    return venue, items, server, manager


def _assert_kitchen_heard_every_void_of_what_it_got(venue) -> int:
    """Every voided line that reached a station has exactly one VOID item there; a line that
    never reached the kitchen has none. Returns how many voided lines had reached it."""
    reached = 0
    for line in OrderLine.objects.filter(tab__venue=venue, status=OrderLine.Status.VOIDED):
        items = TicketItem.objects.filter(line=line).select_related("ticket")
        order_stations = {i.ticket.station_id for i in items if i.ticket.kind != Ticket.Kind.VOID}
        void_stations = [i.ticket.station_id for i in items if i.ticket.kind == Ticket.Kind.VOID]
        assert sorted(void_stations) == sorted(order_stations), line.name
        reached += bool(order_stations)
    return reached


@pytest.mark.django_db
def test_a_void_from_a_copy_read_before_the_send_still_reaches_the_station():
    venue, items, server, manager = _venue()
    tab = check_open(venue=venue, actor=server, kind="takeaway")
    line = line_add(tab=tab, actor=server, item=items[0])
    stale = OrderLine.objects.get(pk=line.pk)  # what the manager's tablet shows: new
    kitchen.lines_send(tab=tab, actor=server)  # another tablet sends first

    kitchen.line_void(line=stale, actor=manager, reason="sent back")

    (void,) = Ticket.objects.filter(kind=Ticket.Kind.VOID)
    assert void.station.slug == "grill"
    assert list(void.items.values_list("line_id", "voided")) == [(line.pk, True)]
    assert _assert_kitchen_heard_every_void_of_what_it_got(venue) == 1


CHECKS = 8
LINES_PER_CHECK = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_voids_racing_sends_on_postgres_give_a_void_ticket_exactly_for_sent_lines():
    venue, items, server, manager = _venue()
    tabs, stale_lines = [], []
    for _ in range(CHECKS):
        tab = check_open(venue=venue, actor=server, kind="takeaway")
        for index in range(LINES_PER_CHECK):
            line_add(tab=tab, actor=server, item=items[index % 2])
        tabs.append(tab)
        # The voiding tablets' copies, read before anything is sent: all `new`.
        stale_lines.append(list(OrderLine.objects.filter(tab=tab).order_by("pk")))
    barrier = threading.Barrier(CHECKS * (1 + LINES_PER_CHECK))
    failures: list[str] = []

    def run(work):
        try:
            barrier.wait()
            work()
        except Exception as exc:  # any failure is what this test is about
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    works = []
    for tab, lines in zip(tabs, stale_lines, strict=True):
        works.append(lambda tab=tab: kitchen.lines_send(tab=tab, actor=server))
        works.extend(
            lambda line=line: kitchen.line_void(line=line, actor=manager, reason="changed mind")
            for line in lines
        )
    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert OrderLine.objects.filter(tab__venue=venue).exclude(status="voided").count() == 0
    _assert_kitchen_heard_every_void_of_what_it_got(venue)
    sent_then_voided = (
        TicketItem.objects.filter(line__tab__venue=venue)
        .exclude(ticket__kind=Ticket.Kind.VOID)
        .values("line")
        .distinct()
        .count()
    )
    assert Ticket.objects.filter(venue=venue, kind=Ticket.Kind.VOID).count() == sent_then_voided
