"""Send, hold-and-fire, rush and voids reaching the stations, with their events."""

import pytest
from django.utils import timezone

from kitchen import services as kitchen
from kitchen.models import Ticket, TicketItem
from orders.models import Check, CheckAudit, OrderLine
from orders.selectors import FloorStatus, check_floor_status
from orders.services import check_open, line_add, lines_mark_ready, lines_mark_served
from restaurant.errors import Conflict
from restaurant.models import Event, MenuItem, StaffMember
from restaurant.realtime import events_after, last_seq
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def kitchen_setup():
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    cold = StationFactory(venue=venue, slug="cold", name="Cold")
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER)
    manager = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER)
    mains = CategoryFactory(venue=venue, default_station=grill)
    starters = CategoryFactory(venue=venue, default_station=cold)
    steak = MenuItemFactory(venue=venue, category=mains, name="Steak", default_course=2)
    soup = MenuItemFactory(venue=venue, category=starters, name="Soup", default_course=1)
    salad = MenuItemFactory(venue=venue, category=mains, station=cold, name="Salad")
    tab = check_open(
        venue=venue, actor=server, kind="table", table=TableFactory(venue=venue), guest_count=2
    )
    return locals()


def test_send_routes_lines_to_stations_and_holds_later_courses(kitchen_setup):
    k = kitchen_setup
    tab, server = k["tab"], k["server"]
    steak = line_add(tab=tab, actor=server, item=k["steak"], seat=1)
    soup = line_add(tab=tab, actor=server, item=k["soup"], seat=2)
    salad = line_add(tab=tab, actor=server, item=k["salad"], seat=2, course=2)
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.ORDERED

    tickets = kitchen.lines_send(tab=tab, actor=server).tickets
    by_station = {t.station.slug: t for t in tickets}
    assert set(by_station) == {"grill", "cold"}
    grill_items = list(by_station["grill"].items.all())
    assert [(i.line_id, i.held) for i in grill_items] == [(steak.pk, True)]
    cold_items = {i.line_id: i.held for i in by_station["cold"].items.all()}
    assert cold_items == {soup.pk: False, salad.pk: True}  # the item's own station wins
    assert all(t.kind == "order" for t in tickets)
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.FOOD_FIRED

    # sending again sends nothing twice
    assert kitchen.lines_send(tab=tab, actor=server).tickets == []
    assert Ticket.objects.count() == 2
    assert OrderLine.objects.filter(status="sent").count() == 3

    # fire mains: the held items light up, no new tickets
    fired = kitchen.course_fire(tab=tab, actor=server, course=2).tickets
    assert {t.pk for t in fired} == {t.pk for t in tickets}
    assert not TicketItem.objects.filter(held=True).exists()
    assert Check.objects.get(pk=tab.pk).fired_courses == [2]

    # an addition after firing mains is fired at once, on an ADDITION ticket
    extra = line_add(tab=tab, actor=server, item=k["steak"], seat=2)
    (addition,) = kitchen.lines_send(tab=tab, actor=server).tickets
    assert addition.kind == "addition" and addition.station.slug == "grill"
    assert OrderLine.objects.get(pk=extra.pk).fired_at is not None
    assert CheckAudit.objects.filter(action="lines.send").count() == 2


def test_rush_fires_a_later_course_at_once(kitchen_setup):
    k = kitchen_setup
    steak = line_add(tab=k["tab"], actor=k["server"], item=k["steak"])
    (ticket,) = kitchen.lines_send(tab=k["tab"], actor=k["server"], rush_ids=[steak.pk]).tickets
    assert ticket.rush
    item = ticket.items.get()
    assert not item.held and item.fired_at is not None


def test_fire_sends_unsent_lines_of_that_course(kitchen_setup):
    k = kitchen_setup
    steak = line_add(tab=k["tab"], actor=k["server"], item=k["steak"])
    tickets = kitchen.course_fire(tab=k["tab"], actor=k["server"], course=2).tickets
    assert len(tickets) == 1
    line = OrderLine.objects.get(pk=steak.pk)
    assert line.status == "sent" and line.fired_at is not None


def test_void_of_a_sent_line_reaches_the_station(kitchen_setup):
    k = kitchen_setup
    steak = line_add(tab=k["tab"], actor=k["server"], item=k["steak"])
    kitchen.lines_send(tab=k["tab"], actor=k["server"])
    kitchen.line_void(
        line=OrderLine.objects.get(pk=steak.pk),
        actor=k["server"],
        reason="sent back",
        approver=k["manager"],
    )
    void = Ticket.objects.get(kind="void")
    assert void.station.slug == "grill"
    assert list(void.items.values_list("line_id", "voided")) == [(steak.pk, True)]
    assert TicketItem.objects.filter(line=steak, voided=False).count() == 0


def test_void_of_an_unsent_line_makes_no_ticket(kitchen_setup):
    k = kitchen_setup
    soup = line_add(tab=k["tab"], actor=k["server"], item=k["soup"])
    kitchen.line_void(line=soup, actor=k["server"], reason="changed mind")
    assert not Ticket.objects.exists()


def test_stock_decrements_on_send_and_86es_at_zero(kitchen_setup):
    k = kitchen_setup
    fish = MenuItemFactory(venue=k["venue"], name="Sea bass", stock_count=2)
    line_add(tab=k["tab"], actor=k["server"], item=fish, quantity=2)
    kitchen.lines_send(tab=k["tab"], actor=k["server"])
    fish.refresh_from_db()
    assert (fish.stock_count, fish.is_available) == (0, False)
    assert Event.objects.filter(type="item.availability", data__item=fish.pk).exists()


def test_stock_short_at_send_time_sends_nothing(kitchen_setup):
    k = kitchen_setup
    fish = MenuItemFactory(venue=k["venue"], name="Sea bass", stock_count=3)
    line_add(tab=k["tab"], actor=k["server"], item=fish, quantity=2)
    line_add(tab=k["tab"], actor=k["server"], item=k["soup"])
    MenuItem.objects.filter(pk=fish.pk).update(stock_count=1)  # another table took two
    with pytest.raises(Conflict) as exc:
        kitchen.lines_send(tab=k["tab"], actor=k["server"])
    assert exc.value.code == "insufficient_stock"
    assert not OrderLine.objects.filter(status="sent").exists()
    assert not Ticket.objects.exists()


def test_ready_and_served_drive_the_floor_status(kitchen_setup):
    k = kitchen_setup
    soup = line_add(tab=k["tab"], actor=k["server"], item=k["soup"])
    kitchen.lines_send(tab=k["tab"], actor=k["server"])
    lines_mark_ready(line_ids=[soup.pk])
    assert check_floor_status(Check.objects.get(pk=k["tab"].pk)) == FloorStatus.FOOD_READY
    lines_mark_served(line_ids=[soup.pk])
    assert check_floor_status(Check.objects.get(pk=k["tab"].pk)) == FloorStatus.ORDERED
    Check.objects.filter(pk=k["tab"].pk).update(prebill_printed_at=timezone.now())
    assert check_floor_status(Check.objects.get(pk=k["tab"].pk)) == FloorStatus.CHECK_PRINTED


def test_every_change_is_an_event_with_a_gap_free_sequence(kitchen_setup):
    k = kitchen_setup
    venue_id = k["venue"].pk
    start = last_seq(venue_id=venue_id)
    line_add(tab=k["tab"], actor=k["server"], item=k["steak"])
    kitchen.lines_send(tab=k["tab"], actor=k["server"])
    events = events_after(venue_id=venue_id, after=start)
    assert [e["seq"] for e in events] == list(range(start + 1, start + 1 + len(events)))
    types = [e["type"] for e in events]
    assert types == ["check.changed", "check.changed", "ticket.created"]
    assert events[-1]["data"]["station"] == "grill"
    assert events[1]["data"]["floor_status"] == "ordered"  # the steak is held (course 2)


def test_firing_a_course_again_with_nothing_new_changes_nothing(kitchen_setup):
    k = kitchen_setup
    line_add(tab=k["tab"], actor=k["server"], item=k["steak"])
    kitchen.lines_send(tab=k["tab"], actor=k["server"])
    kitchen.course_fire(tab=k["tab"], actor=k["server"], course=2)
    version = Check.objects.get(pk=k["tab"].pk).version
    assert kitchen.course_fire(tab=k["tab"], actor=k["server"], course=2).tickets == []
    assert Check.objects.get(pk=k["tab"].pk).version == version
    assert CheckAudit.objects.filter(action="course.fire").count() == 1
