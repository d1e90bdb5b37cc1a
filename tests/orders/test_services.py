"""Check and line services: opening checks, price snapshots, voids, the audit trail."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Check, CheckAudit, OrderLine
from orders.pricing import check_totals, lines_from_rows
from orders.services import check_open, line_add, line_void
from restaurant.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from restaurant.models import StaffMember
from restaurant.services import menu_items_change_price
from tests.actors import SETUP
from tests.factories import (
    MenuItemFactory,
    MenuWindowFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    TableFactory,
    TaxRateFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db
Role = StaffMember.Role


@pytest.fixture
def venue():
    return VenueFactory()


@pytest.fixture
def server(venue):
    return StaffFactory(venue=venue, role=Role.SERVER, display_name="Daan")


@pytest.fixture
def manager(venue):
    return StaffFactory(venue=venue, role=Role.MANAGER, display_name="Sanne")


@pytest.fixture
def table(venue):
    return TableFactory(venue=venue, name="12")


@pytest.fixture
def tab(venue, server, table):
    return check_open(venue=venue, actor=server, kind="table", table=table, guest_count=4)


def test_check_open_numbers_per_venue_and_audits(venue, server, table):
    first = check_open(venue=venue, actor=server, kind="table", table=table, guest_count=4)
    second = check_open(venue=venue, actor=server, kind="bar_tab", tab_name="Joost")
    third = check_open(venue=venue, actor=server, kind="takeaway")
    assert [first.number, second.number, third.number] == [1, 2, 3]
    other_venue_check = check_open(
        venue=(v2 := VenueFactory()), actor=StaffFactory(venue=v2), kind="takeaway"
    )
    assert other_venue_check.number == 1
    assert first.label == "Table 12" and second.label == "Joost"
    entry = CheckAudit.objects.get(tab=first)
    assert entry.action == "check.open" and entry.actor == server
    assert entry.data["guests"] == 4


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "table", "guest_count": 2}, "table_required"),
        ({"kind": "table", "table": "TABLE", "guest_count": 0}, "guests_required"),
        ({"kind": "bar_tab", "tab_name": "  "}, "name_required"),
        ({"kind": "spaceship"}, "invalid"),
        ({"kind": "takeaway", "guest_count": -1}, "invalid"),
    ],
)
def test_check_open_refusals_change_nothing(venue, server, table, kwargs, code):
    if kwargs.get("table") == "TABLE":
        kwargs["table"] = table
    with pytest.raises(ValidationFailed) as exc:
        check_open(venue=venue, actor=server, **kwargs)
    assert exc.value.code == code
    assert Check.objects.count() == 0
    assert CheckAudit.objects.count() == 0


def test_one_open_check_per_table(venue, server, table, tab):
    with pytest.raises(Conflict) as exc:
        check_open(venue=venue, actor=server, kind="table", table=table, guest_count=2)
    assert exc.value.code == "table_occupied"
    assert Check.objects.count() == 1


def test_table_of_another_venue_is_not_found(venue, server):
    with pytest.raises(NotFound):
        check_open(venue=venue, actor=server, kind="table", table=TableFactory(), guest_count=2)
    assert Check.objects.count() == 0


def test_roles_that_cannot_open_or_order(venue, table, tab):
    cook = StaffFactory(venue=venue, role=Role.KITCHEN)
    with pytest.raises(PermissionDenied):
        check_open(venue=venue, actor=cook, kind="takeaway")
    host = StaffFactory(venue=venue, role=Role.HOST)
    with pytest.raises(PermissionDenied):
        line_add(tab=tab, actor=host, item=MenuItemFactory(venue=venue))
    outsider = StaffFactory(role=Role.MANAGER)  # another venue
    with pytest.raises(PermissionDenied):
        line_add(tab=tab, actor=outsider, item=MenuItemFactory(venue=venue))
    inactive = StaffFactory(venue=venue, role=Role.SERVER, is_active=False)
    with pytest.raises(PermissionDenied):
        line_add(tab=tab, actor=inactive, item=MenuItemFactory(venue=venue))
    assert OrderLine.objects.count() == 0


def test_line_snapshot_survives_menu_edits(venue, server, tab):
    low = TaxRateFactory(venue=venue, name="Low", code="L", rate=Decimal("9"))
    item = MenuItemFactory(venue=venue, name="Risotto", plu="F210", price=1950, tax_rate=low)
    extras = ModifierGroupFactory(venue=venue, name="Extras", max_choices=2)
    parmesan = ModifierFactory(group=extras, name="Parmesan", plu="M1", price_delta=150)
    attach(item, extras)
    line = line_add(
        tab=tab,
        actor=server,
        item=item,
        seat=3,
        course=2,
        note="nut allergy",
        modifiers=[{"modifier": parmesan.pk}],
    )
    before = check_totals(lines_from_rows([line]), prices_include_tax=True)
    assert before.total == 2100

    # The owner changes everything about the item afterwards...
    menu_items_change_price(venue=venue, item_ids=[item.pk], percent=Decimal("50"), actor=SETUP)
    item.refresh_from_db()
    item.name = "Risotto (new recipe)"
    item.tax_rate = TaxRateFactory(venue=venue, code="H2", rate=Decimal("21"))
    item.save()
    parmesan.price_delta = 400
    parmesan.name = "Aged parmesan"
    parmesan.save()
    assert item.price == 2925

    # ...and the line, and the check's totals, are exactly what they were.
    line = OrderLine.objects.get(pk=line.pk)
    assert (line.name, line.plu, line.unit_price, line.tax_rate, line.tax_code) == (
        "Risotto",
        "F210",
        1950,
        Decimal("9"),
        "L",
    )
    mod = line.modifiers.get()
    assert (mod.name, mod.price_delta, mod.group_name) == ("Parmesan", 150, "Extras")
    assert (line.seat, line.course, line.note) == (3, 2, "nut allergy")
    after = check_totals(lines_from_rows([line]), prices_include_tax=True)
    assert after == before
    # even when the menu item is deleted
    item.delete()
    line.refresh_from_db()
    assert line.menu_item is None and line.name == "Risotto"


def test_line_add_bumps_version_and_audits(tab, server, venue):
    item = MenuItemFactory(venue=venue, default_course=2)
    line = line_add(tab=tab, actor=server, item=item, quantity=2)
    tab.refresh_from_db()
    assert tab.version == 2
    assert line.course == 2  # the item's default course
    entry = CheckAudit.objects.get(line=line)
    assert entry.action == "line.add" and entry.data["quantity"] == 2 and entry.actor == server


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1000}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"seat": -1}, "seat"),
        ({"course": 0}, "course"),
        ({"note": "x" * 201}, "note"),
    ],
)
def test_line_add_field_refusals_change_nothing(tab, server, venue, kwargs, field):
    item = MenuItemFactory(venue=venue)
    with pytest.raises(ValidationFailed) as exc:
        line_add(tab=tab, actor=server, item=item, **kwargs)
    assert exc.value.field == field
    tab.refresh_from_db()
    assert tab.version == 1 and tab.lines.count() == 0


def test_item_of_another_venue_cannot_be_added(tab, server):
    with pytest.raises(NotFound):
        line_add(tab=tab, actor=server, item=MenuItemFactory())
    assert tab.lines.count() == 0


def test_stock_count_limits_quantity(tab, server, venue):
    item = MenuItemFactory(venue=venue, stock_count=2)
    with pytest.raises(Conflict) as exc:
        line_add(tab=tab, actor=server, item=item, quantity=3)
    assert exc.value.code == "insufficient_stock"
    line_add(tab=tab, actor=server, item=item, quantity=2)
    sold_out = MenuItemFactory(venue=venue, stock_count=0)
    with pytest.raises(Conflict) as exc:
        line_add(tab=tab, actor=server, item=sold_out)
    assert exc.value.code == "item_unavailable"


def test_menu_outside_its_window_cannot_be_ordered(tab, server, venue):
    item = MenuItemFactory(venue=venue)
    MenuWindowFactory(
        menu=item.category.menu, starts_at=datetime.time(11, 0), ends_at=datetime.time(16, 0)
    )
    noon = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=venue.tzinfo)
    evening = datetime.datetime(2026, 11, 27, 19, 0, tzinfo=venue.tzinfo)
    line_add(tab=tab, actor=server, item=item, at=noon)
    with pytest.raises(Conflict) as exc:
        line_add(tab=tab, actor=server, item=item, at=evening)
    assert exc.value.code == "menu_unavailable"
    assert tab.lines.count() == 1


def test_closed_check_cannot_change(tab, server, venue):
    Check.objects.filter(pk=tab.pk).update(status="closed", closed_at=timezone.now())
    with pytest.raises(Conflict) as exc:
        line_add(tab=tab, actor=server, item=MenuItemFactory(venue=venue))
    assert exc.value.code == "check_not_open"


def test_void_unsent_line_needs_a_reason_but_no_manager(tab, server, venue):
    line = line_add(tab=tab, actor=server, item=MenuItemFactory(venue=venue))
    with pytest.raises(ValidationFailed) as exc:
        line_void(line=line, actor=server, reason="  ")
    assert exc.value.code == "reason_required"
    line.refresh_from_db()
    assert line.status == "new"
    line_void(line=line, actor=server, reason="wrong table")
    line.refresh_from_db()
    assert line.status == "voided" and line.void_reason == "wrong table"
    assert check_totals(lines_from_rows([line]), prices_include_tax=True).total == 0


def test_void_sent_line_needs_manager_approval(tab, server, manager, venue):
    line = line_add(tab=tab, actor=server, item=MenuItemFactory(venue=venue, name="Entrecote"))
    OrderLine.objects.filter(pk=line.pk).update(status="sent", sent_at=timezone.now())
    line.refresh_from_db()
    version = Check.objects.get(pk=tab.pk).version

    with pytest.raises(PermissionDenied) as exc:
        line_void(line=line, actor=server, reason="sent back")
    assert exc.value.code == "approval_required"
    other_server = StaffFactory(venue=venue, role=Role.SERVER)
    with pytest.raises(PermissionDenied):  # a server cannot approve a void
        line_void(line=line, actor=server, reason="sent back", approver=other_server)
    line.refresh_from_db()
    assert line.status == "sent"
    assert Check.objects.get(pk=tab.pk).version == version
    assert not CheckAudit.objects.filter(action="line.void").exists()

    line_void(line=line, actor=server, reason="sent back: overcooked", approver=manager)
    line.refresh_from_db()
    assert line.status == "voided" and line.void_approved_by == manager
    entry = CheckAudit.objects.get(action="line.void")
    assert (entry.actor, entry.approved_by, entry.reason) == (
        server,
        manager,
        "sent back: overcooked",
    )
    assert entry.data["was_sent"] is True


def test_void_twice_is_a_conflict(tab, server, venue):
    line = line_add(tab=tab, actor=server, item=MenuItemFactory(venue=venue))
    line_void(line=line, actor=server, reason="mistake")
    with pytest.raises(Conflict) as exc:
        line_void(line=line, actor=server, reason="mistake again")
    assert exc.value.code == "already_voided"
    assert CheckAudit.objects.filter(action="line.void").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tablets_opening_one_table_at_once_get_one_check():
    venue = VenueFactory()
    table = TableFactory(venue=venue)
    servers = [StaffFactory(venue=venue) for _ in range(6)]
    barrier = threading.Barrier(len(servers))
    outcomes = []

    def tap(server):
        try:
            barrier.wait()
            check_open(venue=venue, actor=server, kind="table", table=table, guest_count=2)
            outcomes.append("opened")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["opened"] + ["table_occupied"] * 5
    assert Check.objects.filter(table=table).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_get_distinct_numbers():
    venue = VenueFactory()
    servers = [StaffFactory(venue=venue) for _ in range(8)]
    barrier = threading.Barrier(len(servers))
    errors = []

    def tap(server):
        try:
            barrier.wait()
            check_open(venue=venue, actor=server, kind="takeaway")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Check.objects.filter(venue=venue).values_list("number", flat=True))
    assert numbers == list(range(1, 9))
