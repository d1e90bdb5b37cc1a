"""After sending: comps and discounts, seats, transfers, merges, guests, line edits, prebill.

Every refusal is checked to change nothing: versions, rows, the audit trail and the events.
"""

import threading
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Adjustment, Check, CheckAudit, LineModifier, OrderLine
from orders.selectors import FloorStatus, check_floor_status, floor, totals_for
from orders.services import (
    adjustment_add,
    adjustment_remove,
    check_open,
    check_set_guests,
    check_transfer,
    checks_merge,
    line_add,
    line_update,
    line_void,
    lines_move_seat,
    lines_send,
    lines_transfer,
    prebill_print,
)
from restaurant.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from restaurant.models import Event, StaffMember
from tests.factories import (
    MenuItemFactory,
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


# --- fixtures and helpers ----------------------------------------------------------------------


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
def free_table(venue):
    return TableFactory(venue=venue, name="14")


@pytest.fixture
def low(venue):
    return TaxRateFactory(venue=venue, name="Low", code="L", rate=Decimal("9"))


@pytest.fixture
def high(venue):
    return TaxRateFactory(venue=venue, name="High", code="H", rate=Decimal("21"))


@pytest.fixture
def risotto(venue, low):
    return MenuItemFactory(venue=venue, name="Risotto", plu="F1", price=1234, tax_rate=low)


@pytest.fixture
def wine(venue, high):
    return MenuItemFactory(venue=venue, name="Wine", plu="D1", price=555, tax_rate=high)


@pytest.fixture
def tab(venue, server, table):
    return check_open(venue=venue, actor=server, kind="table", table=table, guest_count=2)


@pytest.fixture
def other_tab(venue, server):
    return check_open(
        venue=venue, actor=server, kind="table", table=TableFactory(venue=venue), guest_count=3
    )


def fresh(tab: Check) -> Check:
    return Check.objects.get(pk=tab.pk)


def state() -> dict:
    """Everything a refused service must leave as it was."""
    return {
        "checks": list(
            Check.objects.order_by("pk").values_list(
                "pk",
                "version",
                "header_version",
                "status",
                "kind",
                "table_id",
                "server_id",
                "guest_count",
                "merged_into_id",
                "prebill_printed_at",
            )
        ),
        "lines": list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "tab_id", "seat", "quantity", "note", "course", "status", "changed_version"
            )
        ),
        "modifiers": list(LineModifier.objects.order_by("pk").values_list("pk", "line_id")),
        "adjustments": list(
            Adjustment.objects.order_by("pk").values_list("pk", "tab_id", "line_id", "removed_at")
        ),
        "audit": CheckAudit.objects.count(),
        "events": Event.objects.count(),
    }


def refused(error_class, code, call):
    """Run `call`, expect `error_class` with `code`, and assert nothing changed."""
    before = state()
    with pytest.raises(error_class) as exc:
        call()
    assert exc.value.code == code, exc.value.message
    assert state() == before
    return exc.value


def rate_totals(tab: Check) -> dict[str, tuple[int, int]]:
    return {t.code: (t.base, t.tax) for t in totals_for(fresh(tab)).taxes}


def mark_sent(*lines):
    OrderLine.objects.filter(pk__in=[x.pk for x in lines]).update(
        status="sent", sent_at=timezone.now()
    )


# --- comps and discounts -----------------------------------------------------------------------


def test_ten_percent_off_the_check_gives_exact_per_rate_totals(tab, server, manager, risotto, wine):
    line_add(tab=tab, actor=server, item=risotto)  # 12.34 at 9%
    line_add(tab=tab, actor=server, item=wine)  # 5.55 at 21%
    assert totals_for(fresh(tab)).total == 1789
    version = fresh(tab).version

    adj = adjustment_add(
        tab=tab,
        actor=server,
        kind="discount",
        percent=Decimal("10"),
        reason="regulars",
        approver=manager,
        expected_version=version,
    )

    totals = totals_for(fresh(tab))
    # 10% of 17.89 is 1.79 (half up), shared 1.23 / 0.56 by largest remainder.
    assert (totals.before_discounts, totals.discount, totals.total) == (1789, 179, 1610)
    assert rate_totals(tab) == {"L": (1111, 92), "H": (499, 87)}
    assert sum(t.tax for t in totals.taxes) == totals.tax == 179
    adj.refresh_from_db()
    assert (adj.kind, adj.percent, adj.amount, adj.line_id) == (
        "discount",
        Decimal("10"),
        None,
        None,
    )
    assert (adj.actor, adj.approved_by, adj.reason) == (server, manager, "regulars")
    after = fresh(tab)
    assert after.version == version + 1 and after.header_version == after.version
    entry = CheckAudit.objects.get(action="adjustment.add")
    assert (entry.actor, entry.approved_by, entry.reason) == (server, manager, "regulars")
    assert entry.data["taken"] == 179 and entry.data["percent"] == "10.000"
    assert Event.objects.filter(type="check.changed", data__version=after.version).exists()


def test_a_manager_approves_their_own_discount(tab, manager, risotto):
    line_add(tab=tab, actor=manager, item=risotto)
    adj = adjustment_add(tab=tab, actor=manager, kind="discount", amount=234, reason="late")
    assert adj.approved_by == manager
    assert totals_for(fresh(tab)).total == 1000


def test_comp_a_line_takes_all_of_that_line_only(tab, server, manager, risotto, wine):
    food = line_add(tab=tab, actor=server, item=risotto)
    drink = line_add(tab=tab, actor=server, item=wine)
    header = fresh(tab).header_version

    adj = adjustment_add(
        tab=tab, actor=server, kind="comp", line=food, reason="cold", approver=manager
    )

    assert adj.percent == Decimal("100") and adj.line_id == food.pk
    totals = totals_for(fresh(tab))
    assert dict(totals.lines) == {food.pk: 0, drink.pk: 555}
    assert rate_totals(tab) == {"L": (0, 0), "H": (555, 96)}
    after = fresh(tab)
    assert OrderLine.objects.get(pk=food.pk).changed_version == after.version
    assert OrderLine.objects.get(pk=drink.pk).changed_version < after.version
    assert after.header_version == header  # a line comp is not a header change
    # a second comp of the same line has nothing left to take
    refused(
        Conflict,
        "nothing_to_discount",
        lambda: adjustment_add(
            tab=tab, actor=server, kind="comp", line=food, reason="again", approver=manager
        ),
    )


def test_amount_discount_never_takes_more_than_is_left(tab, manager, risotto):
    line = line_add(tab=tab, actor=manager, item=risotto)
    adjustment_add(tab=tab, actor=manager, kind="discount", line=line, percent=50, reason="half")
    # 12.34 - 6.17 = 6.17 left on the line
    err = refused(
        ValidationFailed,
        "discount_too_large",
        lambda: adjustment_add(
            tab=tab, actor=manager, kind="discount", line=line, amount=618, reason="x"
        ),
    )
    assert err.field == "amount" and "6.17" in err.message
    adjustment_add(tab=tab, actor=manager, kind="discount", line=line, amount=617, reason="rest")
    assert totals_for(fresh(tab)).total == 0
    refused(
        Conflict,
        "nothing_to_discount",
        lambda: adjustment_add(tab=tab, actor=manager, kind="discount", amount=1, reason="x"),
    )


def test_check_amount_discount_is_capped_by_what_is_left_after_line_discounts(
    tab, manager, risotto, wine
):
    food = line_add(tab=tab, actor=manager, item=risotto)
    line_add(tab=tab, actor=manager, item=wine)
    adjustment_add(tab=tab, actor=manager, kind="comp", line=food, reason="cold")
    refused(
        ValidationFailed,
        "discount_too_large",
        lambda: adjustment_add(tab=tab, actor=manager, kind="discount", amount=556, reason="x"),
    )
    adjustment_add(tab=tab, actor=manager, kind="discount", amount=555, reason="all drinks")
    assert totals_for(fresh(tab)).total == 0


def test_discount_refusals_change_nothing(venue, tab, server, manager, risotto):
    line = line_add(tab=tab, actor=server, item=risotto)
    voided = line_add(tab=tab, actor=server, item=risotto)
    line_void(line=voided, actor=server, reason="mistake")
    other_check_line = line_add(
        tab=check_open(venue=venue, actor=server, kind="takeaway"), actor=server, item=risotto
    )
    outsider = StaffFactory(role=Role.MANAGER)  # another venue
    ok = {"tab": tab, "actor": server, "kind": "discount", "percent": 10, "reason": "r"}

    def add(**changes):
        return lambda: adjustment_add(**{**ok, "approver": manager, **changes})

    refused(ValidationFailed, "reason_required", add(reason="   "))
    refused(PermissionDenied, "approval_required", lambda: adjustment_add(**ok))
    refused(PermissionDenied, "permission_denied", add(approver=StaffFactory(venue=venue)))
    refused(PermissionDenied, "permission_denied", add(approver=outsider))
    refused(
        PermissionDenied,
        "permission_denied",
        add(approver=StaffFactory(venue=venue, role=Role.MANAGER, is_active=False)),
    )
    refused(PermissionDenied, "permission_denied", add(actor=outsider))
    refused(
        PermissionDenied, "permission_denied", add(actor=StaffFactory(venue=venue, role="host"))
    )
    refused(ValidationFailed, "percent_or_amount", add(amount=100))
    refused(ValidationFailed, "percent_or_amount", add(percent=None))
    refused(ValidationFailed, "invalid", add(percent=0))
    refused(ValidationFailed, "invalid", add(percent=Decimal("100.5")))
    refused(ValidationFailed, "invalid", add(percent=12.5))  # never a float
    refused(ValidationFailed, "invalid", add(percent=Decimal("12.3456")))
    refused(ValidationFailed, "invalid", add(percent=None, amount=0))
    refused(ValidationFailed, "invalid", add(percent=None, amount=True))
    refused(ValidationFailed, "comp_is_whole", add(kind="comp", percent=None, amount=100))
    refused(ValidationFailed, "comp_is_whole", add(kind="comp", percent=50))
    refused(ValidationFailed, "invalid", add(kind="gift"))
    refused(Conflict, "line_voided", add(line=voided))
    refused(Conflict, "stale_version", add(line=other_check_line))  # on another check
    Check.objects.filter(pk=tab.pk).update(status="closed", closed_at=timezone.now())
    refused(Conflict, "check_not_open", add(line=line))
    assert not Adjustment.objects.exists()


def test_stale_check_discount_is_refused_only_after_a_header_change(tab, server, manager, wine):
    seen = fresh(tab).version
    line_add(tab=tab, actor=server, item=wine)  # someone adds a line: no header change
    adjustment_add(
        tab=tab,
        actor=manager,
        kind="discount",
        percent=5,
        reason="a",
        expected_version=seen,
    )
    seen = fresh(tab).version
    check_set_guests(tab=tab, actor=server, guest_count=5)  # someone changes the header
    refused(
        Conflict,
        "stale_version",
        lambda: adjustment_add(
            tab=tab,
            actor=manager,
            kind="discount",
            percent=5,
            reason="b",
            expected_version=seen,
        ),
    )


def test_adjustment_remove_restores_the_totals(tab, server, manager, risotto, wine):
    line_add(tab=tab, actor=server, item=risotto)
    line_add(tab=tab, actor=server, item=wine)
    adj = adjustment_add(
        tab=tab, actor=server, kind="discount", percent=10, reason="r", approver=manager
    )
    assert totals_for(fresh(tab)).total == 1610
    seen = fresh(tab).version

    refused(
        ValidationFailed,
        "reason_required",
        lambda: adjustment_remove(adjustment=adj, actor=server, reason="", approver=manager),
    )
    refused(
        PermissionDenied,
        "approval_required",
        lambda: adjustment_remove(adjustment=adj, actor=server, reason="wrong"),
    )
    refused(
        PermissionDenied,
        "permission_denied",
        lambda: adjustment_remove(
            adjustment=adj, actor=server, reason="wrong", approver=StaffFactory(venue=tab.venue)
        ),
    )

    adjustment_remove(
        adjustment=adj, actor=server, reason="wrong check", approver=manager, expected_version=seen
    )
    adj.refresh_from_db()
    assert adj.removed_at is not None
    assert totals_for(fresh(tab)).total == 1789
    assert rate_totals(tab) == {"L": (1234, 102), "H": (555, 96)}
    entry = CheckAudit.objects.get(action="adjustment.remove")
    assert (entry.approved_by, entry.reason, entry.data["adjustment"]) == (
        manager,
        "wrong check",
        adj.pk,
    )
    assert fresh(tab).header_version == fresh(tab).version
    refused(
        Conflict,
        "already_removed",
        lambda: adjustment_remove(adjustment=adj, actor=manager, reason="again"),
    )


def test_adjustment_remove_of_a_line_discount_guards_that_line(tab, server, manager, risotto):
    line = line_add(tab=tab, actor=server, item=risotto)
    adj = adjustment_add(tab=tab, actor=manager, kind="comp", line=line, reason="cold")
    seen = fresh(tab).version
    lines_move_seat(tab=tab, actor=server, line_ids=[line.pk], seat=3)  # someone else
    refused(
        Conflict,
        "stale_version",
        lambda: adjustment_remove(
            adjustment=adj, actor=manager, reason="oops", expected_version=seen
        ),
    )
    adjustment_remove(adjustment=adj, actor=manager, reason="oops")
    assert totals_for(fresh(tab)).total == 1234
    assert OrderLine.objects.get(pk=line.pk).changed_version == fresh(tab).version


# --- seats and the stale-version merge rule ----------------------------------------------------


def test_lines_move_seat(tab, server, risotto, wine):
    a = line_add(tab=tab, actor=server, item=risotto, seat=1)
    b = line_add(tab=tab, actor=server, item=wine, seat=2)
    c = line_add(tab=tab, actor=server, item=wine, seat=2)
    seen = fresh(tab).version
    moved = lines_move_seat(
        tab=tab, actor=server, line_ids=[b.pk, a.pk], seat=4, expected_version=seen
    )
    assert [x.pk for x in moved] == [a.pk, b.pk]
    assert dict(OrderLine.objects.values_list("pk", "seat")) == {a.pk: 4, b.pk: 4, c.pk: 2}
    after = fresh(tab)
    assert after.version == seen + 1
    assert set(
        OrderLine.objects.filter(changed_version=after.version).values_list("pk", flat=True)
    ) == {
        a.pk,
        b.pk,
    }
    entry = CheckAudit.objects.get(action="lines.move_seat")
    assert entry.data["seat"] == 4 and entry.data["from_seats"] == {str(a.pk): 1, str(b.pk): 2}
    # already there: nothing to do, nothing bumped
    lines_move_seat(tab=tab, actor=server, line_ids=[a.pk], seat=4)
    assert fresh(tab).version == after.version


def test_lines_move_seat_refusals(venue, tab, server, risotto):
    line = line_add(tab=tab, actor=server, item=risotto)
    voided = line_add(tab=tab, actor=server, item=risotto)
    line_void(line=voided, actor=server, reason="mistake")
    elsewhere = line_add(
        tab=check_open(venue=(v2 := VenueFactory()), actor=StaffFactory(venue=v2), kind="takeaway"),
        actor=StaffFactory(venue=v2),
        item=MenuItemFactory(venue=v2),
    )

    def move(**kw):
        args = {"tab": tab, "actor": server, "line_ids": [line.pk], "seat": 1, **kw}
        return lambda: lines_move_seat(**args)

    refused(ValidationFailed, "invalid", move(seat=100))
    refused(ValidationFailed, "invalid", move(seat=-1))
    refused(ValidationFailed, "lines_required", move(line_ids=[]))
    refused(Conflict, "line_voided", move(line_ids=[line.pk, voided.pk]))
    refused(NotFound, "not_found", move(line_ids=[line.pk, elsewhere.pk]))
    refused(
        PermissionDenied, "permission_denied", move(actor=StaffFactory(venue=venue, role="host"))
    )
    refused(PermissionDenied, "permission_denied", move(actor=StaffFactory(role=Role.SERVER)))


def test_a_stale_add_merges_but_a_stale_void_or_move_of_a_changed_line_is_refused(
    tab, server, manager, risotto, wine
):
    mine = line_add(tab=tab, actor=server, item=risotto)
    theirs = line_add(tab=tab, actor=server, item=wine)
    seen = fresh(tab).version  # both tablets see this version

    # tablet B moves `theirs` to seat 2
    lines_move_seat(tab=tab, actor=manager, line_ids=[theirs.pk], seat=2)
    # tablet A, still at `seen`: adding never conflicts
    added = line_add(tab=tab, actor=server, item=wine)
    # ...but voiding or moving the line B changed is refused
    refused(
        Conflict,
        "stale_version",
        lambda: line_void(line=theirs, actor=server, reason="x", expected_version=seen),
    )
    refused(
        Conflict,
        "stale_version",
        lambda: lines_move_seat(
            tab=tab, actor=server, line_ids=[theirs.pk, mine.pk], seat=3, expected_version=seen
        ),
    )
    refused(
        Conflict,
        "stale_version",
        lambda: line_update(line=theirs, actor=server, quantity=3, expected_version=seen),
    )
    # a line nobody else touched is fine at `seen`
    lines_move_seat(tab=tab, actor=server, line_ids=[mine.pk], seat=3, expected_version=seen)
    assert dict(OrderLine.objects.values_list("pk", "seat")) == {
        mine.pk: 3,
        theirs.pk: 2,
        added.pk: 0,
    }


# --- transferring lines ------------------------------------------------------------------------


def test_lines_transfer_to_another_check_takes_modifiers_and_line_discounts(
    venue, tab, other_tab, server, manager, risotto, wine
):
    extras = ModifierGroupFactory(venue=venue, name="Extras", max_choices=2)
    truffle = ModifierFactory(group=extras, name="Truffle", price_delta=300)
    attach(risotto, extras)
    food = line_add(
        tab=tab, actor=server, item=risotto, seat=2, modifiers=[{"modifier": truffle.pk}]
    )
    drink = line_add(tab=tab, actor=server, item=wine)
    line_add(tab=other_tab, actor=server, item=wine)
    lines_send(tab=tab, actor=server)
    adjustment_add(tab=tab, actor=manager, kind="discount", line=food, amount=34, reason="r")
    check_10 = adjustment_add(tab=tab, actor=manager, kind="discount", percent=10, reason="r")
    src_v, dst_v = fresh(tab).version, fresh(other_tab).version
    assert totals_for(fresh(tab)).total == 2055 - 206  # 15.34 + 5.55 - 0.34, then 10% off

    target = lines_transfer(
        tab=tab, actor=server, line_ids=[food.pk], to_check=other_tab, expected_version=src_v
    )

    assert target.pk == other_tab.pk
    food.refresh_from_db()
    assert (food.tab_id, food.seat, food.status) == (other_tab.pk, 2, "sent")
    assert food.modifiers.get().name == "Truffle"
    assert list(food.adjustments.values_list("tab_id", "amount")) == [(other_tab.pk, 34)]
    # the check-level 10% stays with its check, and now covers only the wine
    assert Adjustment.objects.get(pk=check_10.pk).tab_id == tab.pk
    assert totals_for(fresh(tab)).total == 499  # 5.55 - 10% (0.555 -> 0.56)
    assert dict(totals_for(fresh(other_tab)).lines) == {
        food.pk: 1500,
        other_tab.lines.exclude(pk=food.pk).get().pk: 555,
    }
    assert fresh(tab).version == src_v + 1 and fresh(other_tab).version == dst_v + 1
    assert food.changed_version == fresh(other_tab).version
    assert list(OrderLine.objects.filter(tab=tab).values_list("pk", flat=True)) == [drink.pk]
    out = CheckAudit.objects.get(action="lines.transfer_out")
    into = CheckAudit.objects.get(action="lines.transfer_in")
    assert (out.tab_id, out.data["lines"], out.data["to_check"]) == (
        tab.pk,
        [food.pk],
        other_tab.pk,
    )
    assert (into.tab_id, into.data["from_check"]) == (other_tab.pk, tab.pk)
    # a tablet still holding the line as it was on the first check is told it moved
    stale = OrderLine.objects.select_related("tab").get(pk=food.pk)
    stale.tab = fresh(tab)
    refused(
        Conflict,
        "stale_version",
        lambda: line_void(line=stale, actor=server, reason="x", approver=manager),
    )


def test_lines_transfer_to_a_free_table_opens_a_check_for_the_same_server(
    venue, tab, server, manager, free_table, wine
):
    drink = line_add(tab=tab, actor=server, item=wine)
    count = Check.objects.count()
    target = lines_transfer(
        tab=tab, actor=manager, line_ids=[drink.pk], to_table=free_table, guest_count=2
    )
    assert Check.objects.count() == count + 1
    assert (target.table, target.server, target.guest_count, target.kind) == (
        free_table,
        server,
        2,
        "table",
    )
    assert list(target.lines.values_list("pk", flat=True)) == [drink.pk]
    assert CheckAudit.objects.filter(tab=target, action="check.open").exists()
    assert totals_for(fresh(target)).total == 555 and totals_for(fresh(tab)).total == 0


def test_lines_transfer_to_an_occupied_table_goes_to_its_check(tab, other_tab, server, wine):
    drink = line_add(tab=tab, actor=server, item=wine)
    count = Check.objects.count()
    target = lines_transfer(tab=tab, actor=server, line_ids=[drink.pk], to_table=other_tab.table)
    assert target.pk == other_tab.pk and Check.objects.count() == count
    assert OrderLine.objects.get(pk=drink.pk).tab_id == other_tab.pk


def test_lines_transfer_refusals(venue, tab, other_tab, server, manager, risotto, wine):
    line = line_add(tab=tab, actor=server, item=risotto)
    voided = line_add(tab=tab, actor=server, item=wine)
    line_void(line=voided, actor=server, reason="mistake")
    seen = fresh(tab).version
    lines_move_seat(tab=tab, actor=manager, line_ids=[line.pk], seat=2)  # someone else
    v2 = VenueFactory()
    foreign_check = check_open(venue=v2, actor=StaffFactory(venue=v2), kind="takeaway")
    closed = check_open(venue=venue, actor=server, kind="takeaway")
    Check.objects.filter(pk=closed.pk).update(status="closed", closed_at=timezone.now())

    def move(**kw):
        args = {"tab": tab, "actor": server, "line_ids": [line.pk], **kw}
        return lambda: lines_transfer(**args)

    refused(ValidationFailed, "same_check", move(to_check=tab))
    refused(ValidationFailed, "same_check", move(to_table=tab.table))
    refused(ValidationFailed, "target_required", move())
    refused(ValidationFailed, "target_required", move(to_check=other_tab, to_table=tab.table))
    refused(ValidationFailed, "lines_required", move(line_ids=[], to_check=other_tab))
    refused(Conflict, "line_voided", move(line_ids=[voided.pk], to_check=other_tab))
    refused(NotFound, "not_found", move(to_check=foreign_check))
    refused(NotFound, "not_found", move(to_table=TableFactory(venue=v2)))
    refused(NotFound, "not_found", move(to_table=TableFactory(venue=venue, is_active=False)))
    refused(Conflict, "check_not_open", move(to_check=closed))
    refused(Conflict, "stale_version", move(to_check=other_tab, expected_version=seen))
    refused(
        Conflict, "stale_version", move(to_table=TableFactory(venue=venue), expected_version=seen)
    )
    refused(
        PermissionDenied,
        "permission_denied",
        move(to_check=other_tab, actor=StaffFactory(venue=venue, role="kitchen")),
    )
    refused(
        PermissionDenied,
        "permission_denied",
        move(to_check=other_tab, actor=StaffFactory(role=Role.MANAGER)),
    )
    refused(
        ValidationFailed, "guests_required", move(to_table=TableFactory(venue=venue), guest_count=0)
    )
    # the lines of a check that is no longer open cannot move
    Check.objects.filter(pk=tab.pk).update(status="voided", closed_at=timezone.now())
    refused(Conflict, "check_not_open", move(to_check=other_tab))


# --- moving a whole check ----------------------------------------------------------------------


def test_check_transfer_to_a_free_table_and_another_server(
    venue, tab, server, manager, table, free_table, wine
):
    line_add(tab=tab, actor=server, item=wine)
    colleague = StaffFactory(venue=venue, role=Role.BARTENDER, display_name="Noor")
    seen = fresh(tab).version
    moved = check_transfer(
        tab=tab, actor=manager, to_table=free_table, to_server=colleague, expected_version=seen
    )
    moved = fresh(moved)
    assert (moved.table, moved.server, moved.kind) == (free_table, colleague, "table")
    assert moved.version == seen + 1 and moved.header_version == moved.version
    by_table = {row["table"].pk: row for row in floor(venue=venue)}
    assert by_table[table.pk]["check"] is None and by_table[table.pk]["status"] == "free"
    assert by_table[free_table.pk]["check"].pk == tab.pk
    entry = CheckAudit.objects.get(action="check.transfer")
    assert entry.data == {"table": ["12", "14"], "server": ["Daan", "Noor"]}
    assert totals_for(moved).total == 555


def test_a_bar_tab_moved_to_a_table_becomes_a_table_check(venue, server, free_table):
    bar = check_open(venue=venue, actor=server, kind="bar_tab", tab_name="Joost")
    moved = check_transfer(tab=bar, actor=server, to_table=free_table)
    moved = fresh(moved)
    assert (moved.kind, moved.table, moved.guest_count, moved.tab_name) == (
        "table",
        free_table,
        1,
        "Joost",
    )
    assert moved.label == "Table 14"


def test_check_transfer_refusals(venue, tab, other_tab, server, manager, table, free_table):
    seen = fresh(tab).version
    check_set_guests(tab=tab, actor=manager, guest_count=6)  # someone else, a header change
    v2 = VenueFactory()

    def move(**kw):
        args = {"tab": tab, "actor": server, **kw}
        return lambda: check_transfer(**args)

    refused(Conflict, "table_occupied", move(to_table=other_tab.table))
    refused(NotFound, "not_found", move(to_table=TableFactory(venue=v2)))
    refused(NotFound, "not_found", move(to_server=StaffFactory(venue=v2)))
    refused(
        ValidationFailed,
        "server_not_eligible",
        move(to_server=StaffFactory(venue=venue, role="host")),
    )
    refused(
        ValidationFailed,
        "server_not_eligible",
        move(to_server=StaffFactory(venue=venue, is_active=False)),
    )
    refused(ValidationFailed, "target_required", move())
    refused(ValidationFailed, "nothing_to_change", move(to_table=table, to_server=server))
    refused(Conflict, "stale_version", move(to_table=free_table, expected_version=seen))
    refused(
        PermissionDenied,
        "permission_denied",
        move(to_table=free_table, actor=StaffFactory(venue=venue, role="host")),
    )
    Check.objects.filter(pk=tab.pk).update(status="closed", closed_at=timezone.now())
    refused(Conflict, "check_not_open", move(to_table=free_table))


def test_check_transfer_at_a_version_with_only_line_changes_still_works(
    tab, server, manager, free_table, wine
):
    seen = fresh(tab).version
    line_add(tab=tab, actor=manager, item=wine)  # lines changed, the header did not
    check_transfer(tab=tab, actor=server, to_table=free_table, expected_version=seen)
    assert fresh(tab).table == free_table


# --- merging checks ----------------------------------------------------------------------------


def test_checks_merge_moves_everything_and_keeps_the_prices(
    venue, tab, other_tab, server, manager, risotto, wine
):
    a1 = line_add(tab=tab, actor=server, item=risotto)
    b1 = line_add(tab=other_tab, actor=server, item=risotto, seat=1)
    b2 = line_add(tab=other_tab, actor=server, item=wine, seat=2)
    b3 = line_add(tab=other_tab, actor=server, item=wine)
    line_void(line=b3, actor=server, reason="mistake")
    line_comp = adjustment_add(tab=other_tab, actor=manager, kind="comp", line=b2, reason="r")
    check_10 = adjustment_add(tab=other_tab, actor=manager, kind="discount", percent=10, reason="r")
    before_a, before_b = totals_for(fresh(tab)), totals_for(fresh(other_tab))
    assert (before_a.total, before_b.total) == (1234, 1111)
    audit_b = CheckAudit.objects.filter(tab=other_tab).count()
    seen = fresh(tab).version

    merged = checks_merge(tab=tab, actor=server, other=other_tab, expected_version=seen)

    assert merged.pk == tab.pk
    assert set(fresh(tab).lines.values_list("pk", flat=True)) == {a1.pk, b1.pk, b2.pk, b3.pk}
    assert fresh(tab).guest_count == 2 + 3
    gone = fresh(other_tab)
    assert (gone.status, gone.merged_into_id) == ("merged", tab.pk)
    assert gone.closed_at is not None and not gone.lines.exists()
    assert check_floor_status(gone) == FloorStatus.FREE
    # nothing changes price in a merge: other's 10% became amounts on its own lines
    after = totals_for(fresh(tab))
    assert after.total == before_a.total + before_b.total
    assert dict(after.lines) == {**dict(before_a.lines), **dict(before_b.lines)}
    assert Adjustment.objects.get(pk=check_10.pk).removed_at is not None
    assert Adjustment.objects.get(pk=line_comp.pk).tab_id == tab.pk
    frozen = Adjustment.objects.filter(tab=tab, line=b1, removed_at=None)
    assert list(frozen.values_list("kind", "amount", "reason")) == [("discount", 123, "r")]
    assert fresh(tab).version == seen + 1 and fresh(tab).header_version == seen + 1
    assert CheckAudit.objects.filter(tab=other_tab).count() == audit_b + 1
    assert CheckAudit.objects.get(action="check.merge").data["from_check"] == other_tab.pk
    assert CheckAudit.objects.get(action="check.merged_into").data["frozen_adjustments"] == [
        frozen.get().pk
    ]
    # the table of the merged check is free again
    assert check_open(venue=venue, actor=server, kind="table", table=other_tab.table, guest_count=1)


def test_a_check_discount_of_the_surviving_check_covers_the_merged_lines(
    tab, other_tab, server, manager, risotto, wine
):
    line_add(tab=tab, actor=server, item=risotto)
    line_add(tab=other_tab, actor=server, item=wine)
    adjustment_add(tab=tab, actor=manager, kind="discount", percent=10, reason="regulars")
    checks_merge(tab=tab, actor=server, other=other_tab)
    assert totals_for(fresh(tab)).total == 1610
    assert rate_totals(tab) == {"L": (1111, 92), "H": (499, 87)}


def test_checks_merge_refusals(venue, tab, other_tab, server, manager):
    seen = fresh(tab).version
    check_set_guests(tab=tab, actor=manager, guest_count=4)
    v2 = VenueFactory()
    closed = check_open(venue=venue, actor=server, kind="takeaway")
    Check.objects.filter(pk=closed.pk).update(status="closed", closed_at=timezone.now())

    def merge(**kw):
        args = {"tab": tab, "actor": server, "other": other_tab, **kw}
        return lambda: checks_merge(**args)

    refused(ValidationFailed, "same_check", merge(other=tab))
    refused(
        NotFound,
        "not_found",
        merge(other=check_open(venue=v2, actor=StaffFactory(venue=v2), kind="takeaway")),
    )
    refused(Conflict, "check_not_open", merge(other=closed))
    refused(Conflict, "stale_version", merge(expected_version=seen))
    refused(
        PermissionDenied, "permission_denied", merge(actor=StaffFactory(venue=venue, role="host"))
    )
    refused(PermissionDenied, "permission_denied", merge(actor=StaffFactory(role=Role.OWNER)))
    checks_merge(tab=tab, actor=server, other=other_tab)
    refused(Conflict, "check_not_open", merge())  # already merged
    refused(Conflict, "check_not_open", merge(tab=other_tab, other=tab))


# --- guests, line edits, prebill ---------------------------------------------------------------


def test_check_set_guests(venue, tab, server):
    seen = fresh(tab).version
    check_set_guests(tab=tab, actor=server, guest_count=5, expected_version=seen)
    after = fresh(tab)
    assert (after.guest_count, after.version, after.header_version) == (5, seen + 1, seen + 1)
    assert CheckAudit.objects.get(action="check.guests").data == {"guests": [2, 5]}
    refused(
        ValidationFailed,
        "guests_required",
        lambda: check_set_guests(tab=tab, actor=server, guest_count=0),
    )
    refused(
        ValidationFailed,
        "invalid",
        lambda: check_set_guests(tab=tab, actor=server, guest_count=501),
    )
    refused(
        ValidationFailed,
        "invalid",
        lambda: check_set_guests(tab=tab, actor=server, guest_count="3"),
    )
    refused(
        Conflict,
        "stale_version",
        lambda: check_set_guests(tab=tab, actor=server, guest_count=3, expected_version=seen),
    )
    refused(
        PermissionDenied,
        "permission_denied",
        lambda: check_set_guests(
            tab=tab, actor=StaffFactory(venue=venue, role="kitchen"), guest_count=3
        ),
    )
    bar = check_open(venue=venue, actor=server, kind="bar_tab", tab_name="Joost")
    check_set_guests(tab=bar, actor=StaffFactory(venue=venue, role="host"), guest_count=0)
    assert fresh(bar).version == 1  # unchanged: nothing to do


def test_line_update_of_an_unsent_line(venue, tab, server, risotto):
    line = line_add(tab=tab, actor=server, item=risotto)
    seen = fresh(tab).version
    line_update(
        line=line, actor=server, quantity=3, note=" no onion ", course=2, expected_version=seen
    )
    line.refresh_from_db()
    assert (line.quantity, line.note, line.course) == (3, "no onion", 2)
    assert line.changed_version == fresh(tab).version == seen + 1
    assert totals_for(fresh(tab)).total == 3 * 1234
    entry = CheckAudit.objects.get(action="line.update")
    assert entry.data == {"quantity": [1, 3], "note": ["", "no onion"], "course": [1, 2]}
    line_update(line=line, actor=server, quantity=3)  # no change, no bump
    assert fresh(tab).version == seen + 1


def test_line_update_refusals(venue, tab, server, risotto):
    sent = line_add(tab=tab, actor=server, item=risotto)
    mark_sent(sent)
    voided = line_add(tab=tab, actor=server, item=risotto)
    line_void(line=voided, actor=server, reason="mistake")
    counted = MenuItemFactory(venue=venue, stock_count=2)
    line = line_add(tab=tab, actor=server, item=counted)
    refused(Conflict, "line_already_sent", lambda: line_update(line=sent, actor=server, quantity=2))
    refused(Conflict, "line_voided", lambda: line_update(line=voided, actor=server, note="x"))
    refused(
        Conflict, "insufficient_stock", lambda: line_update(line=line, actor=server, quantity=3)
    )
    refused(ValidationFailed, "invalid", lambda: line_update(line=line, actor=server, quantity=0))
    refused(ValidationFailed, "invalid", lambda: line_update(line=line, actor=server, course=10))
    refused(
        ValidationFailed, "invalid", lambda: line_update(line=line, actor=server, note="x" * 201)
    )
    refused(
        PermissionDenied,
        "permission_denied",
        lambda: line_update(line=line, actor=StaffFactory(venue=venue, role="host"), quantity=2),
    )
    line_update(line=line, actor=server, quantity=2)
    assert OrderLine.objects.get(pk=line.pk).quantity == 2


def test_prebill_print_marks_the_check_printed(venue, tab, server, wine):
    refused(Conflict, "check_empty", lambda: prebill_print(tab=tab, actor=server))
    line_add(tab=tab, actor=server, item=wine)
    seen = fresh(tab).version
    printed = prebill_print(tab=tab, actor=server)
    after = fresh(printed)
    assert after.prebill_printed_at is not None and after.version == seen + 1
    assert check_floor_status(after) == FloorStatus.CHECK_PRINTED
    assert CheckAudit.objects.get(action="check.prebill").data == {"total": 555}
    assert Event.objects.filter(
        type="check.changed", data__check=tab.pk, data__floor_status="check_printed"
    ).exists()
    refused(
        PermissionDenied,
        "permission_denied",
        lambda: prebill_print(tab=tab, actor=StaffFactory(venue=venue, role="host")),
    )


# --- two tablets at once (PostgreSQL, where the locks are real) --------------------------------


def _race(*calls) -> list[str]:
    """Run the calls at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # a deadlock or integrity error would show here
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tablets_transferring_the_same_lines_at_once():
    venue = VenueFactory()
    server = StaffFactory(venue=venue)
    item = MenuItemFactory(venue=venue, price=700)

    def new_table():
        return check_open(
            venue=venue, actor=server, kind="table", table=TableFactory(venue=venue), guest_count=1
        )

    for _round in range(3):
        source, left, right = new_table(), new_table(), new_table()
        lines = [line_add(tab=source, actor=server, item=item) for _ in range(3)]
        ids = [line.pk for line in lines]
        seen = Check.objects.get(pk=source.pk).version

        outcomes = _race(
            partial(
                lines_transfer,
                tab=source,
                actor=server,
                line_ids=ids,
                to_check=left,
                expected_version=seen,
            ),
            partial(
                lines_transfer,
                tab=source,
                actor=server,
                line_ids=ids,
                to_check=right,
                expected_version=seen,
            ),
        )

        assert sorted(outcomes) == ["ok", "stale_version"]
        homes = set(OrderLine.objects.filter(pk__in=ids).values_list("tab_id", flat=True))
        assert len(homes) == 1 and homes <= {left.pk, right.pk}  # all together, once
        assert OrderLine.objects.filter(tab__in=[source, left, right]).count() == 3
        assert CheckAudit.objects.filter(tab=source, action="lines.transfer_out").count() == 1
        assert CheckAudit.objects.filter(action="lines.transfer_in", tab__in=homes).count() == 1
        (winner,) = homes
        assert totals_for(Check.objects.get(pk=winner)).total == 2100
        assert Check.objects.get(pk=source.pk).version == seen + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tablets_merging_two_checks_into_each_other_at_once():
    venue = VenueFactory()
    server = StaffFactory(venue=venue)
    item = MenuItemFactory(venue=venue, price=400)

    for _round in range(3):
        first, second = (
            check_open(
                venue=venue,
                actor=server,
                kind="table",
                table=TableFactory(venue=venue),
                guest_count=2,
            )
            for _ in range(2)
        )
        ids = {line_add(tab=tab, actor=server, item=item).pk for tab in (first, second)}
        ids |= {line_add(tab=second, actor=server, item=item).pk}

        outcomes = _race(
            partial(checks_merge, tab=first, actor=server, other=second),
            partial(checks_merge, tab=second, actor=server, other=first),
        )

        assert sorted(outcomes) == ["check_not_open", "ok"]
        checks = {c.pk: c for c in Check.objects.filter(pk__in=[first.pk, second.pk])}
        (survivor,) = [c for c in checks.values() if c.status == "open"]
        (gone,) = [c for c in checks.values() if c.status == "merged"]
        assert gone.merged_into_id == survivor.pk
        assert set(survivor.lines.values_list("pk", flat=True)) == ids
        assert not gone.lines.exists()
        assert survivor.guest_count == 4
        assert totals_for(survivor).total == 1200
        assert CheckAudit.objects.filter(action="check.merge", tab=survivor).count() == 1
        assert CheckAudit.objects.filter(action="check.merge", tab=gone).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transfer_racing_a_merge_loses_no_line():
    venue = VenueFactory()
    server = StaffFactory(venue=venue)
    item = MenuItemFactory(venue=venue, price=300)
    a, b, c = (
        check_open(
            venue=venue, actor=server, kind="table", table=TableFactory(venue=venue), guest_count=1
        )
        for _ in range(3)
    )
    ids = [line_add(tab=a, actor=server, item=item).pk for _ in range(4)]
    seen = Check.objects.get(pk=a.pk).version

    outcomes = _race(
        lambda: checks_merge(tab=b, actor=server, other=a),
        lambda: lines_transfer(
            tab=a, actor=server, line_ids=ids[:2], to_check=c, expected_version=seen
        ),
    )

    assert "ok" in outcomes and all(o in ("ok", "check_not_open") for o in outcomes), outcomes
    assert OrderLine.objects.filter(pk__in=ids).count() == 4
    assert not OrderLine.objects.filter(tab=a).exists()  # merged: a is empty
    on_b = OrderLine.objects.filter(tab=b).count()
    on_c = OrderLine.objects.filter(tab=c).count()
    assert on_b + on_c == 4 and on_c in (0, 2)
