"""Station screens and expo: also-at, bump, recall, food ready, served, all-day counts."""

import pytest

from kitchen import services as kitchen
from kitchen.models import Ticket, TicketItem
from kitchen.selectors import all_day_counts, expo_snapshot, station_snapshot
from orders.models import Check, OrderLine
from orders.selectors import FloorStatus, check_floor_status
from orders.services import check_open, line_add
from restaurant.models import StaffMember
from restaurant.realtime import last_seq
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def table12():
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill", sort_order=1)
    cold = StationFactory(venue=venue, slug="cold", name="Cold kitchen", sort_order=2)
    expo = StationFactory(venue=venue, slug="expo", name="Expo", is_expo=True, sort_order=9)
    daan = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan")
    steak = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=grill), name="Steak"
    )
    doneness = ModifierGroupFactory(venue=venue, code="doneness", min_choices=1, max_choices=1)
    medium = ModifierFactory(group=doneness, name="Medium")
    attach(steak, doneness)
    salad = MenuItemFactory(
        venue=venue, category=CategoryFactory(venue=venue, default_station=cold), name="Salad"
    )
    tab = check_open(
        venue=venue,
        actor=daan,
        kind="table",
        table=TableFactory(venue=venue, name="12"),
        guest_count=4,
    )
    line_add(tab=tab, actor=daan, item=steak, seat=1, modifiers=[{"modifier": medium.pk}])
    line_add(tab=tab, actor=daan, item=steak, seat=2, modifiers=[{"modifier": medium.pk}])
    line_add(tab=tab, actor=daan, item=salad, seat=3, note="nut allergy")
    kitchen.lines_send(tab=tab, actor=daan)
    return locals()


def test_each_station_sees_its_ticket_and_where_else_the_order_is(table12):
    grill = station_snapshot(station=table12["grill"])
    cold = station_snapshot(station=table12["cold"])
    assert grill["seq"] == last_seq(venue_id=table12["venue"].pk)
    (ticket,) = grill["tickets"]
    assert ticket["label"] == "Table 12" and ticket["server"] == "Daan" and ticket["guests"] == 4
    assert ticket["also_at"] == ["Cold kitchen"]
    assert [(i["name"], i["seat"], i["modifiers"][0]["name"]) for i in ticket["items"]] == [
        ("Steak", 1, "Medium"),
        ("Steak", 2, "Medium"),
    ]
    assert cold["tickets"][0]["also_at"] == ["Grill"]
    assert cold["tickets"][0]["items"][0]["note"] == "nut allergy"
    assert all_day_counts(station=table12["grill"]) == [{"name": "Steak", "count": 2}]
    assert all_day_counts(station=table12["grill"], with_modifiers=True) == [
        {"name": "Steak (Medium)", "count": 2}
    ]


def test_food_ready_only_when_every_station_has_bumped(table12):
    tab = Check.objects.get(pk=table12["tab"].pk)
    grill_ticket = Ticket.objects.get(station=table12["grill"])
    cold_ticket = Ticket.objects.get(station=table12["cold"])
    kitchen.ticket_start(ticket=grill_ticket)
    assert station_snapshot(station=table12["grill"])["tickets"][0]["state"] == "cooking"
    kitchen.ticket_bump(ticket=grill_ticket, by="grill")
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.FOOD_FIRED
    assert station_snapshot(station=table12["grill"])["tickets"] == []
    assert all_day_counts(station=table12["grill"]) == []
    expo = expo_snapshot(venue_id=table12["venue"].pk)
    (order,) = expo["orders"]
    states = {s["station"]: s["state"] for s in order["stations"]}
    assert states == {"grill": "ready", "cold": "new"} and not order["ready"]

    kitchen.ticket_bump(ticket=cold_ticket, by="cold")
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.FOOD_READY
    assert expo_snapshot(venue_id=table12["venue"].pk)["orders"][0]["ready"]

    kitchen.order_serve(tab=tab)
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.ORDERED
    assert expo_snapshot(venue_id=table12["venue"].pk)["orders"] == []
    assert OrderLine.objects.filter(tab=tab, served_at__isnull=False).count() == 3


def test_recall_brings_the_last_bumped_ticket_back(table12):
    grill_ticket = Ticket.objects.get(station=table12["grill"])
    cold_ticket = Ticket.objects.get(station=table12["cold"])
    kitchen.ticket_bump(ticket=cold_ticket)
    kitchen.ticket_bump(ticket=grill_ticket)
    assert check_floor_status(Check.objects.get(pk=table12["tab"].pk)) == FloorStatus.FOOD_READY
    snap = station_snapshot(station=table12["grill"])
    assert [t["id"] for t in snap["recently_bumped"]] == [grill_ticket.pk]
    recalled = kitchen.ticket_recall(station=table12["grill"])
    assert recalled.pk == grill_ticket.pk and recalled.bumped_at is None
    assert set(grill_ticket.items.values_list("status", flat=True)) == {"cooking"}
    assert check_floor_status(Check.objects.get(pk=table12["tab"].pk)) == FloorStatus.FOOD_FIRED
    assert kitchen.ticket_recall(station=table12["grill"]) is None  # nothing else bumped


def test_bumping_twice_changes_nothing_twice(table12):
    ticket = Ticket.objects.get(station=table12["grill"])
    kitchen.ticket_bump(ticket=ticket)
    first = Ticket.objects.get(pk=ticket.pk).bumped_at
    seq = last_seq(venue_id=table12["venue"].pk)
    kitchen.ticket_bump(ticket=ticket)
    assert Ticket.objects.get(pk=ticket.pk).bumped_at == first
    assert last_seq(venue_id=table12["venue"].pk) == seq


def test_held_course_keeps_the_ticket_on_screen_until_fired(table12):
    venue, daan = table12["venue"], table12["daan"]
    dessert = MenuItemFactory(
        venue=venue,
        category=CategoryFactory(venue=venue, default_station=table12["grill"]),
        name="Dame blanche",
        default_course=3,
    )
    tab2 = check_open(venue=venue, actor=daan, kind="takeaway")
    line_add(tab=tab2, actor=daan, item=dessert)
    line_add(
        tab=tab2, actor=daan, item=table12["steak"], modifiers=[{"modifier": table12["medium"].pk}]
    )
    (ticket,) = kitchen.lines_send(tab=tab2, actor=daan).tickets
    kitchen.ticket_bump(ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.bumped_at is None  # the dessert is held: the ticket stays
    snap = station_snapshot(station=table12["grill"])
    shown = next(t for t in snap["tickets"] if t["id"] == ticket.pk)
    assert [(i["name"], i["held"], i["status"]) for i in shown["items"]] == [
        ("Steak", False, "ready"),
        ("Dame blanche", True, "new"),
    ]
    kitchen.course_fire(tab=tab2, actor=daan, course=3)
    kitchen.ticket_bump(ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.bumped_at is not None


def test_void_ticket_needs_acknowledging(table12):
    sanne = StaffFactory(venue=table12["venue"], role=StaffMember.Role.MANAGER)
    steak_line = OrderLine.objects.filter(name="Steak").first()
    kitchen.line_void(line=steak_line, actor=table12["daan"], reason="sent back", approver=sanne)
    snap = station_snapshot(station=table12["grill"])
    void = next(t for t in snap["tickets"] if t["kind"] == "void")
    assert void["items"][0]["voided"] and void["acknowledged_at"] is None
    kitchen.ticket_bump(ticket=Ticket.objects.get(pk=void["id"]))
    voided = Ticket.objects.get(pk=void["id"])
    assert voided.acknowledged_at and voided.bumped_at
    # the voided steak no longer counts all day
    assert all_day_counts(station=table12["grill"]) == [{"name": "Steak", "count": 1}]
    assert TicketItem.objects.filter(line=steak_line, voided=True).count() == 2


def test_tickets_follow_lines_moved_to_another_table(table12):
    from orders.services import checks_merge, lines_transfer

    venue, daan = table12["venue"], table12["daan"]
    salad_line = OrderLine.objects.get(name="Salad")
    table5 = TableFactory(venue=venue, name="5")
    lines_transfer(tab=table12["tab"], actor=daan, line_ids=[salad_line.pk], to_table=table5)
    (cold,) = station_snapshot(station=table12["cold"])["tickets"]
    assert cold["label"] == "Table 5"  # the cooks send the salad where it is eaten now
    (grill,) = station_snapshot(station=table12["grill"])["tickets"]
    assert grill["label"] == "Table 12"

    # merging table 5 back into 12: the pass still shows the order, under table 12
    checks_merge(
        tab=Check.objects.get(pk=table12["tab"].pk),
        actor=daan,
        other=Check.objects.get(table=table5, status="open"),
    )
    orders = expo_snapshot(venue_id=venue.pk)["orders"]
    assert [o["label"] for o in orders] == ["Table 12"]
    assert {s["station"] for s in orders[0]["stations"]} == {"grill", "cold"}
    kitchen.order_ready(tab=Check.objects.get(pk=table12["tab"].pk))
    assert check_floor_status(Check.objects.get(pk=table12["tab"].pk)) == FloorStatus.FOOD_READY
    served = kitchen.order_serve(tab=Check.objects.get(pk=table12["tab"].pk))
    assert len(served) == 3
    assert expo_snapshot(venue_id=venue.pk)["orders"] == []
