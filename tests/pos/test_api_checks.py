"""Happy paths of the check endpoints: each answers with the check and changes the database."""

import pytest

from kitchen.models import Ticket, TicketItem
from orders.models import Adjustment, Check, CheckAudit, LineModifier, OrderLine
from restaurant.realtime import last_seq
from tests.factories import MenuItemFactory, StaffFactory, TableFactory, VenueFactory
from tests.pos.conftest import add_line, open_table, pair_device, sign_in

pytestmark = pytest.mark.django_db


def steak_choices(place, side=None):
    choices = [{"modifier": place.medium.pk}]
    if side == "salad":
        choices.append(
            {"modifier": place.salad.pk, "choices": [{"modifier": place.vinaigrette.pk}]}
        )
    elif side == "fries":
        choices.append({"modifier": place.fries.pk})
    return choices


def test_open_a_table_check(place, server_api):
    response = server_api.post(
        "checks", {"kind": "table", "table": place.table1.pk, "guest_count": 3}
    )
    assert response.status_code == 201
    check = response.json()["check"]
    tab = Check.objects.get()
    assert check["id"] == tab.pk and check["number"] == 1
    assert (tab.kind, tab.table, tab.guest_count, tab.server) == (
        "table",
        place.table1,
        3,
        place.server,
    )
    assert check["table"] == {"id": place.table1.pk, "name": "T1"}
    assert check["label"] == "Table T1"
    assert check["floor_status"] == "seated"
    assert check["version"] == tab.version
    assert check["lines"] == [] and check["totals"]["total"] == 0
    # A write's answer carries the venue's seq from before its own events: they are numbered
    # at commit (docs/realtime.md), and arrive on the socket with the check's new version.
    assert check["currency"] == "EUR" and check["seq"] == 0
    assert last_seq(venue_id=place.venue.pk) == 1


def test_open_a_bar_tab_for_another_server(place, manager_api):
    response = manager_api.post(
        "checks", {"kind": "bar_tab", "tab_name": "Anna", "server": place.server2.pk}
    )
    assert response.status_code == 201
    tab = Check.objects.get()
    assert (tab.kind, tab.tab_name, tab.server) == ("bar_tab", "Anna", place.server2)
    assert response.json()["check"]["label"] == "Anna"


def test_list_open_checks_all_or_mine(place, server_api, manager_api):
    mine = open_table(server_api, place.table1)
    theirs = open_table(manager_api, place.table2)
    add_line(server_api, mine, place.beer, quantity=2)

    all_checks = server_api.get("checks").json()
    assert [c["id"] for c in all_checks["checks"]] == [mine["id"], theirs["id"]]
    assert all_checks["checks"][0]["total"] == 900
    assert all_checks["checks"][0]["floor_status"] == "ordered"
    only_mine = server_api.get("checks", mine="1").json()
    assert [c["id"] for c in only_mine["checks"]] == [mine["id"]]


def test_check_detail(place, server_api):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.steak, seat=1, modifiers=steak_choices(place, "fries"))
    response = server_api.get(f"checks/{check['id']}")
    assert response.status_code == 200
    body = response.json()
    (line,) = body["lines"]
    assert line["name"] == "Steak" and line["seat"] == 1 and line["course"] == 2
    assert line["unit_total"] == 2450  # fries are the free side
    assert [m["name"] for m in line["modifiers"]] == ["Medium", "Fries"]
    assert line["modifiers"][1]["free_quantity"] == 1
    assert body["totals"]["taxes"] == [
        {"code": "B", "rate": "21", "net": 2025, "tax": 425, "gross": 2450}
    ]


def test_add_a_line_with_nested_modifiers(place, server_api):
    check = open_table(server_api, place.table1)
    body = add_line(
        server_api,
        check,
        place.steak,
        quantity=2,
        seat=2,
        note="no pepper",
        modifiers=[
            {"modifier": place.rare.pk},
            {"modifier": place.fries.pk},
            {"modifier": place.salad.pk, "choices": [{"modifier": place.vinaigrette.pk}]},
        ],
    )
    line = OrderLine.objects.get()
    assert (line.quantity, line.seat, line.note, line.course) == (2, 2, "no pepper", 2)
    salad = LineModifier.objects.get(name="Salad")
    assert salad.children.get().name == "Vinaigrette"
    assert body["line"]["id"] == line.pk
    # fries (3.50) is the free side; salad (3.00) is charged: (24.50 + 3.00) x 2
    assert body["line"]["total"] == 5500
    assert body["check"]["totals"]["total"] == 5500
    assert body["check"]["version"] == Check.objects.get().version
    salad_json = body["line"]["modifiers"][2]
    assert salad_json["name"] == "Salad"
    assert salad_json["modifiers"][0]["name"] == "Vinaigrette"


def test_change_a_line(place, server_api):
    check = open_table(server_api, place.table1)
    added = add_line(server_api, check, place.soup)
    line_id = added["line"]["id"]
    response = server_api.patch(
        f"checks/{check['id']}/lines/{line_id}",
        {"quantity": 3, "note": "hot", "course": 2, "version": added["check"]["version"]},
    )
    assert response.status_code == 200
    line = OrderLine.objects.get(pk=line_id)
    assert (line.quantity, line.note, line.course) == (3, "hot", 2)
    assert response.json()["line"]["quantity"] == 3
    assert response.json()["check"]["version"] == added["check"]["version"] + 1


def test_send_and_fire_make_kitchen_tickets(place, server_api):
    check = open_table(server_api, place.table1)
    steak = add_line(server_api, check, place.steak, modifiers=steak_choices(place))["line"]
    soup = add_line(server_api, check, place.soup)["line"]
    beer = add_line(server_api, check, place.beer)["line"]

    response = server_api.post(f"checks/{check['id']}/send", {"rush_ids": [beer["id"]]})
    assert response.status_code == 200
    body = response.json()
    assert body["sent"] == sorted([steak["id"], soup["id"], beer["id"]])
    assert sorted(t["station"] for t in body["tickets"]) == ["bar", "grill"]
    assert Ticket.objects.count() == 2
    assert set(OrderLine.objects.values_list("status", flat=True)) == {"sent"}
    assert OrderLine.objects.get(pk=beer["id"]).rush
    assert OrderLine.objects.get(pk=steak["id"]).fired_at is None  # course 2 is held
    assert body["check"]["floor_status"] == "food_fired"

    again = server_api.post(f"checks/{check['id']}/send")
    assert again.json()["sent"] == [] and again.json()["tickets"] == []
    assert Ticket.objects.count() == 2

    fired = server_api.post(f"checks/{check['id']}/fire", {"course": 2})
    assert fired.status_code == 200
    assert fired.json()["fired"] == [steak["id"]]
    assert OrderLine.objects.get(pk=steak["id"]).fired_at is not None
    assert not TicketItem.objects.filter(held=True).exists()
    assert fired.json()["check"]["fired_courses"] == [2]


def test_send_only_some_lines(place, server_api):
    check = open_table(server_api, place.table1)
    soup = add_line(server_api, check, place.soup)["line"]
    beer = add_line(server_api, check, place.beer)["line"]
    body = server_api.post(f"checks/{check['id']}/send", {"line_ids": [beer["id"]]}).json()
    assert body["sent"] == [beer["id"]]
    assert [t["station"] for t in body["tickets"]] == ["bar"]
    assert OrderLine.objects.get(pk=soup["id"]).status == "new"


def test_void_an_unsent_line(place, server_api):
    check = open_table(server_api, place.table1)
    added = add_line(server_api, check, place.soup)
    line_id = added["line"]["id"]
    response = server_api.post(
        f"checks/{check['id']}/lines/{line_id}/void",
        {"reason": "ordered by mistake", "version": added["check"]["version"]},
    )
    assert response.status_code == 200
    line = OrderLine.objects.get(pk=line_id)
    assert line.status == "voided" and line.void_reason == "ordered by mistake"
    assert response.json()["line"]["status"] == "voided"
    assert response.json()["check"]["totals"]["total"] == 0
    assert not Ticket.objects.exists()


def test_void_a_sent_line_with_a_manager_pin_tells_the_kitchen(place, server_api):
    check = open_table(server_api, place.table1)
    line_id = add_line(server_api, check, place.soup)["line"]["id"]
    sent = server_api.post(f"checks/{check['id']}/send").json()
    response = server_api.post(
        f"checks/{check['id']}/lines/{line_id}/void",
        {"reason": "guest left", "approver_pin": "2222", "version": sent["check"]["version"]},
    )
    assert response.status_code == 200
    line = OrderLine.objects.get(pk=line_id)
    assert line.status == "voided"
    assert line.voided_by == place.server and line.void_approved_by == place.manager
    assert Ticket.objects.filter(kind="void", station=place.grill).count() == 1
    audit = CheckAudit.objects.get(action="line.void")
    assert audit.approved_by == place.manager and audit.reason == "guest left"


def test_comp_a_line_and_discount_the_check_then_remove_it(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    soup = add_line(server_api, check, place.soup)["line"]
    add_line(server_api, check, place.beer, quantity=2)

    comp = manager_api.post(
        f"checks/{check['id']}/adjustments",
        {"line": soup["id"], "kind": "comp", "reason": "cold soup"},
    )
    assert comp.status_code == 201
    assert comp.json()["adjustment"]["kind"] == "comp"
    assert comp.json()["check"]["totals"]["total"] == 900

    discount = server_api.post(
        f"checks/{check['id']}/adjustments",
        {"kind": "discount", "percent": "10", "reason": "regulars", "approver_pin": "2222"},
    )
    assert discount.status_code == 201
    adjustment = Adjustment.objects.get(kind="discount")
    assert adjustment.approved_by == place.manager and adjustment.actor == place.server
    body = discount.json()
    assert body["adjustment"]["percent"] == "10"
    assert body["check"]["totals"]["discount"] == 750 + 90
    assert body["check"]["totals"]["total"] == 810
    assert [a["id"] for a in body["check"]["adjustments"]] == [adjustment.pk]

    removed = manager_api.delete(
        f"checks/{check['id']}/adjustments/{adjustment.pk}",
        {"reason": "wrong table", "version": body["check"]["version"]},
    )
    assert removed.status_code == 200
    adjustment.refresh_from_db()
    assert adjustment.removed_at is not None
    assert removed.json()["removed"] == adjustment.pk
    assert removed.json()["check"]["totals"]["total"] == 900
    assert removed.json()["check"]["adjustments"] == []


def test_remove_an_adjustment_with_the_reason_in_the_query(place, manager_api):
    check = open_table(manager_api, place.table1)
    add_line(manager_api, check, place.beer)
    adj = manager_api.post(
        f"checks/{check['id']}/adjustments", {"kind": "discount", "amount": 50, "reason": "x"}
    ).json()["adjustment"]
    response = manager_api.client.delete(
        f"/api/v1/checks/{check['id']}/adjustments/{adj['id']}?reason=oops",
        headers={"Authorization": f"Bearer {manager_api.token}"},
    )
    assert response.status_code == 200
    assert Adjustment.objects.get().removed_at is not None


def test_move_lines_to_another_seat(place, server_api):
    check = open_table(server_api, place.table1)
    a = add_line(server_api, check, place.soup, seat=1)["line"]
    b = add_line(server_api, check, place.beer, seat=1)
    response = server_api.post(
        f"checks/{check['id']}/move-seat",
        {"line_ids": [a["id"], b["line"]["id"]], "seat": 3, "version": b["check"]["version"]},
    )
    assert response.status_code == 200
    assert set(OrderLine.objects.values_list("seat", flat=True)) == {3}
    assert {line["seat"] for line in response.json()["check"]["lines"]} == {3}


def test_transfer_lines_to_another_table(place, server_api):
    check = open_table(server_api, place.table1)
    soup = add_line(server_api, check, place.soup)["line"]
    beer = add_line(server_api, check, place.beer)
    response = server_api.post(
        f"checks/{check['id']}/transfer",
        {
            "line_ids": [soup["id"]],
            "to_table": place.table2.pk,
            "guest_count": 2,
            "version": beer["check"]["version"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    target = Check.objects.get(table=place.table2)
    assert OrderLine.objects.get(pk=soup["id"]).tab == target
    assert target.guest_count == 2
    assert body["target"]["id"] == target.pk
    assert [x["id"] for x in body["target"]["lines"]] == [soup["id"]]
    assert [x["id"] for x in body["check"]["lines"]] == [beer["line"]["id"]]


def test_transfer_the_whole_check_to_a_table_and_a_server(place, server_api):
    check = open_table(server_api, place.table1)
    response = server_api.post(
        f"checks/{check['id']}/transfer",
        {"to_table": place.table3.pk, "to_server": place.server2.pk, "version": check["version"]},
    )
    assert response.status_code == 200
    tab = Check.objects.get()
    assert (tab.table, tab.server) == (place.table3, place.server2)
    assert response.json()["check"]["table"]["id"] == place.table3.pk
    assert response.json()["target"]["id"] == tab.pk


def test_merge_two_checks(place, server_api):
    first = open_table(server_api, place.table1, guests=2)
    second = open_table(server_api, place.table2, guests=3)
    add_line(server_api, first, place.soup)
    moved = add_line(server_api, second, place.beer)["line"]
    response = server_api.post(
        f"checks/{first['id']}/merge", {"other": second["id"], "version": first["version"] + 1}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["check"]["id"] == first["id"]
    assert body["check"]["guest_count"] == 5
    assert OrderLine.objects.get(pk=moved["id"]).tab_id == first["id"]
    assert Check.objects.get(pk=second["id"]).status != "open"
    assert body["merged"]["id"] == second["id"] and body["merged"]["status"] != "open"


def test_change_the_guest_count(place, server_api):
    check = open_table(server_api, place.table1, guests=2)
    response = server_api.post(
        f"checks/{check['id']}/guests", {"guest_count": 4, "version": check["version"]}
    )
    assert response.status_code == 200
    assert Check.objects.get().guest_count == 4
    assert response.json()["check"]["guest_count"] == 4


def test_print_the_prebill(place, server_api):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.beer)
    response = server_api.post(f"checks/{check['id']}/prebill")
    assert response.status_code == 200
    assert Check.objects.get().prebill_printed_at is not None
    assert response.json()["check"]["floor_status"] == "check_printed"
    assert response.json()["check"]["prebill_printed_at"] is not None


def test_ids_of_another_venue_are_not_found(place, server_api):
    elsewhere = VenueFactory()
    other_server = StaffFactory(venue=elsewhere, pin="5555")
    other_api = sign_in(pair_device(elsewhere), "5555")
    their_check = open_table(other_api, TableFactory(venue=elsewhere))
    their_item = MenuItemFactory(venue=elsewhere)
    assert other_server.venue == elsewhere

    response = server_api.get(f"checks/{their_check['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (
        server_api.post(f"checks/{their_check['id']}/lines", {"item": place.beer.pk}).status_code
        == 404
    )
    assert OrderLine.objects.count() == 0

    mine = open_table(server_api, place.table1)
    wrong_item = server_api.post(f"checks/{mine['id']}/lines", {"item": their_item.pk})
    assert wrong_item.status_code == 404
    assert wrong_item.json()["error"]["field"] == "item"
    wrong_table = server_api.post(
        "checks", {"kind": "table", "table": TableFactory(venue=elsewhere).pk, "guest_count": 1}
    )
    assert wrong_table.status_code == 404 and wrong_table.json()["error"]["field"] == "table"
    assert (
        server_api.post(f"items/{their_item.pk}/availability", {"available": False}).status_code
        == 404
    )
    their_item.refresh_from_db()
    assert their_item.is_available
    assert Check.objects.filter(venue=place.venue).count() == 1
