"""Refused requests: the right 4xx and error code, and nothing changed (convention 9)."""

import re

import pytest

from orders.models import Check, OrderLine
from pos.api.app import api
from restaurant.models import MenuItem, Modifier
from tests.pos.conftest import Api, add_line, open_table, pair_device, sign_in, state

pytestmark = pytest.mark.django_db


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["field"] == field, error
    assert error["message"]
    return error


@pytest.fixture
def sent_soup(place, server_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    sent = server_api.post(f"checks/{check['id']}/send").json()
    return sent["check"], line


def test_a_server_cannot_void_a_sent_line_without_a_manager(place, server_api, sent_soup):
    check, line = sent_soup
    url = f"checks/{check['id']}/lines/{line['id']}/void"
    before = state(check["id"])

    no_pin = server_api.post(url, {"reason": "guest left", "version": check["version"]})
    assert_error(no_pin, 403, "approval_required", "approver_pin")
    wrong_pin = server_api.post(url, {"reason": "guest left", "approver_pin": "9876"})
    assert_error(wrong_pin, 403, "bad_approval_pin", "approver_pin")
    servers_pin = server_api.post(url, {"reason": "guest left", "approver_pin": "3333"})
    assert_error(servers_pin, 403, "permission_denied")

    assert state(check["id"]) == before
    assert OrderLine.objects.get(pk=line["id"]).status == "sent"


def test_a_void_needs_a_reason(place, server_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    before = state(check["id"])
    response = server_api.post(f"checks/{check['id']}/lines/{line['id']}/void", {"reason": "  "})
    assert_error(response, 400, "reason_required", "reason")
    missing = server_api.post(f"checks/{check['id']}/lines/{line['id']}/void", {})
    assert_error(missing, 400, "reason_required", "reason")
    comp = server_api.post(
        f"checks/{check['id']}/adjustments", {"kind": "comp", "line": line["id"]}
    )
    assert_error(comp, 400, "reason_required", "reason")
    assert state(check["id"]) == before


def test_stale_writes_are_refused_where_they_conflict_and_merged_where_they_cannot(
    place, server_api, manager_api
):
    check = open_table(server_api, place.table1)
    added = add_line(server_api, check, place.soup)
    line_id, seen = added["line"]["id"], added["check"]["version"]

    # The manager's tablet changes the soup; the server's tablet still shows version `seen`.
    changed = manager_api.patch(
        f"checks/{check['id']}/lines/{line_id}", {"quantity": 2, "version": seen}
    )
    assert changed.status_code == 200
    before = state(check["id"])

    stale_void = server_api.post(
        f"checks/{check['id']}/lines/{line_id}/void", {"reason": "mistake", "version": seen}
    )
    error = assert_error(stale_void, 409, "stale_version", "version")
    assert "meanwhile" in error["message"]
    stale_update = server_api.patch(
        f"checks/{check['id']}/lines/{line_id}", {"quantity": 5, "version": seen}
    )
    assert_error(stale_update, 409, "stale_version", "version")
    assert state(check["id"]) == before
    assert OrderLine.objects.get(pk=line_id).quantity == 2

    # Adding a line cannot conflict: the stale add is merged.
    merged = server_api.post(
        f"checks/{check['id']}/lines", {"item": place.beer.pk, "version": seen}
    )
    assert merged.status_code == 201
    body = merged.json()["check"]
    assert [x["name"] for x in body["lines"]] == ["Soup", "Beer"]
    assert body["version"] == before[1] + 1
    assert body["lines"][0]["quantity"] == 2


def test_voiding_a_line_someone_else_voided(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    added = add_line(server_api, check, place.soup)
    line_id, seen = added["line"]["id"], added["check"]["version"]
    url = f"checks/{check['id']}/lines/{line_id}/void"
    assert manager_api.post(url, {"reason": "mistake", "version": seen}).status_code == 200
    before = state(check["id"])
    again = server_api.post(url, {"reason": "mistake", "version": seen})
    assert_error(again, 409, "already_voided")
    assert state(check["id"]) == before


def test_a_version_from_the_future_is_refused(place, server_api):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    response = server_api.post(
        f"checks/{check['id']}/lines", {"item": place.beer.pk, "version": 99}
    )
    assert_error(response, 409, "bad_version", "version")  # the state of the check
    assert state(check["id"]) == before


def test_an_86d_item_cannot_be_ordered(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    eighty_six = manager_api.post(f"items/{place.beer.pk}/availability", {"available": False})
    assert eighty_six.status_code == 200
    before = state(check["id"])
    response = server_api.post(f"checks/{check['id']}/lines", {"item": place.beer.pk})
    assert_error(response, 409, "item_unavailable", "item")
    assert state(check["id"]) == before


def test_invalid_modifier_choices_name_the_group(place, server_api, manager_api):
    check = open_table(server_api, place.table1)
    url = f"checks/{check['id']}/lines"
    before = state(check["id"])

    missing = server_api.post(url, {"item": place.steak.pk, "modifiers": []})
    error = assert_error(missing, 400, "modifier_min", "modifiers.doneness")
    assert "Doneness" in error["message"]
    too_many = server_api.post(
        url,
        {
            "item": place.steak.pk,
            "modifiers": [{"modifier": place.rare.pk}, {"modifier": place.medium.pk}],
        },
    )
    assert_error(too_many, 400, "modifier_max", "modifiers.doneness")
    no_dressing = server_api.post(
        url,
        {
            "item": place.steak.pk,
            "modifiers": [{"modifier": place.rare.pk}, {"modifier": place.salad.pk}],
        },
    )
    assert_error(no_dressing, 400, "modifier_min", "modifiers.dressing")
    bad_shape = server_api.post(url, {"item": place.steak.pk, "modifiers": [{"modifier": "rare"}]})
    assert_error(bad_shape, 400, "invalid_choice", "modifiers")

    # A cook 86es "rare" from the kitchen; ordering it is refused, naming its group.
    cook = sign_in(pair_device(place.venue, "KDS"), "4444")
    assert (
        cook.post(f"modifiers/{place.rare.pk}/availability", {"available": False}).status_code
        == 200
    )
    assert not Modifier.objects.get(pk=place.rare.pk).is_available
    before = state(check["id"])
    rare = server_api.post(
        url, {"item": place.steak.pk, "modifiers": [{"modifier": place.rare.pk}]}
    )
    assert_error(rare, 400, "modifier_unavailable", "modifiers.doneness")
    assert state(check["id"]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item": "1"}, "item"),
        ({"quantity": "2"}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"seat": "1"}, "seat"),
        ({"course": [2]}, "course"),
        ({"note": 5}, "note"),
        ({"note": "a\x00b"}, "note"),
        ({"modifiers": {"modifier": 1}}, "modifiers"),
        ({"version": "3"}, "version"),
    ],
)
def test_wrong_types_are_400_with_the_field(place, server_api, body, field):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    response = server_api.post(f"checks/{check['id']}/lines", {"item": place.beer.pk, **body})
    assert_error(response, 400, "invalid_type", field)
    assert state(check["id"]) == before


def test_out_of_range_values_are_refused_by_the_services(place, server_api):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    url = f"checks/{check['id']}/lines"
    assert_error(
        server_api.post(url, {"item": place.beer.pk, "quantity": 0}), 400, "invalid", "quantity"
    )
    assert_error(server_api.post(url, {"item": place.beer.pk, "seat": -1}), 400, "invalid", "seat")
    assert state(check["id"]) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("send", {"line_ids": "1,2"}, "line_ids"),
        ("send", {"rush_ids": [True]}, "rush_ids"),
        ("fire", {"course": "2"}, "course"),
        ("guests", {"guest_count": "4"}, "guest_count"),
        ("move-seat", {"line_ids": [1], "seat": "2"}, "seat"),
        ("transfer", {"to_table": "T2"}, "to_table"),
        ("merge", {"other": [1]}, "other"),
        ("adjustments", {"kind": "discount", "percent": True, "reason": "x"}, "percent"),
        ("adjustments", {"kind": "discount", "percent": "ten", "reason": "x"}, "percent"),
        ("adjustments", {"kind": "discount", "percent": "NaN", "reason": "x"}, "percent"),
        ("adjustments", {"kind": "discount", "amount": "50", "reason": "x"}, "amount"),
        ("adjustments", {"kind": 1, "reason": "x"}, "kind"),
    ],
)
def test_wrong_types_on_check_writes(place, server_api, path, body, field):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.beer)
    before = state(check["id"])
    response = server_api.post(f"checks/{check['id']}/{path}", body)
    assert_error(response, 400, "invalid_type", field)
    assert state(check["id"]) == before


def test_availability_must_be_a_boolean(place, manager_api):
    response = manager_api.post(f"items/{place.beer.pk}/availability", {"available": "no"})
    assert_error(response, 400, "invalid_type", "available")
    missing = manager_api.post(f"items/{place.beer.pk}/availability", {})
    assert_error(missing, 400, "required", "available")
    assert MenuItem.objects.get(pk=place.beer.pk).is_available


def test_only_managers_and_kitchen_86_items(place, server_api):
    response = server_api.post(f"items/{place.beer.pk}/availability", {"available": False})
    assert_error(response, 403, "permission_denied")
    assert MenuItem.objects.get(pk=place.beer.pk).is_available


def test_kitchen_staff_cannot_open_or_browse_checks(place, server_api):
    open_table(server_api, place.table1)
    cook = sign_in(pair_device(place.venue, "KDS"), "4444")
    before = state()
    assert_error(cook.post("checks", {"kind": "takeaway"}), 403, "permission_denied")
    assert_error(cook.get("checks"), 403, "permission_denied")
    assert state() == before


def test_bad_json_is_400(place, server_api):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    url = f"checks/{check['id']}/lines"
    error = assert_error(server_api.post(url, raw="{not json"), 400, "invalid_json")
    assert "not valid JSON" in error["message"]
    assert_error(server_api.post(url, raw="[1, 2]"), 400, "invalid_json")
    assert_error(server_api.post(url, raw="[" * 100_000), 400, "invalid_json")
    assert_error(server_api.post(url, raw=b"\xff\xfe{"), 400, "invalid_json")
    assert state(check["id"]) == before


def test_unknown_fields_are_refused(place, server_api):
    check = open_table(server_api, place.table1)
    before = state(check["id"])
    response = server_api.post(f"checks/{check['id']}/lines", {"item": place.beer.pk, "qty": 2})
    assert_error(response, 400, "unknown_field", "qty")
    assert state(check["id"]) == before


def test_wrong_methods_are_405_json(place, server_api):
    check = open_table(server_api, place.table1)
    response = server_api.get(f"checks/{check['id']}/send")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
    put = server_api.client.put(
        "/api/v1/checks",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {server_api.token}"},
    )
    assert_error(put, 405, "method_not_allowed")
    assert put["Allow"] == "GET, POST"


def test_unknown_ids_and_paths_are_404_json(place, server_api):
    check = open_table(server_api, place.table1)
    assert_error(server_api.get("checks/999999"), 404, "not_found")
    assert_error(server_api.get("checks/abc"), 404, "not_found")
    assert_error(server_api.get("checks/" + "9" * 40), 404, "not_found")
    assert_error(server_api.get("no/such/thing"), 404, "not_found")
    before = state(check["id"])
    void = server_api.post(f"checks/{check['id']}/lines/424242/void", {"reason": "x"})
    assert_error(void, 404, "not_found")
    missing_item = server_api.post(f"checks/{check['id']}/lines", {"item": 424242})
    assert_error(missing_item, 404, "not_found", "item")
    assert state(check["id"]) == before


def test_a_closed_check_cannot_be_changed(place, server_api):
    first = open_table(server_api, place.table1)
    second = open_table(server_api, place.table2)
    server_api.post(f"checks/{first['id']}/merge", {"other": second["id"]})
    before = state(second["id"])
    response = server_api.post(f"checks/{second['id']}/lines", {"item": place.beer.pk})
    assert_error(response, 409, "check_not_open")
    assert state(second["id"]) == before


def test_bad_query_parameters_are_400(place, server_api):
    assert_error(server_api.get("events", after="abc"), 400, "invalid_type", "after")
    assert_error(server_api.get("events", after="²"), 400, "invalid_type", "after")
    assert_error(server_api.get("checks", status="voided"), 400, "invalid", "status")


WEIRD_VALUES = ["", "x", "\x00", [], [1, "a"], {}, {"a": 1}, 1.5, True, -1, 0, 10**30, None]


def body_fields(doc: dict, operation: dict) -> set[str]:
    """The property names of an operation's JSON body schema ($ref and allOf resolved)."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = schema.get("schema", {})
    seen = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if "$ref" in node:
            stack.append(doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
            continue
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(key, []))
        seen |= set(node.get("properties", {}))
    return seen


def test_no_input_makes_a_500(place, server_api, manager_api):
    """Every field of every write, fed values of every wrong shape: always a 4xx or a 2xx."""
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    other = open_table(server_api, place.table2)
    kwargs = {
        "check_id": check["id"],
        "line_id": line["id"],
        "adjustment_id": 1,
        "item_id": place.beer.pk,
        "modifier_id": place.rare.pk,
    }
    doc = api.get_openapi_schema()
    sent = 0
    for route, item in doc["paths"].items():
        for method, operation in item.items():
            fields = body_fields(doc, operation)
            if method == "get" or not fields:
                continue
            path = route.lstrip("/")
            for name, value in kwargs.items():
                path = path.replace(f"{{{name}}}", str(value))
            path = re.sub(r"{[^}]+}", "1", path)
            for field in sorted(fields):
                for value in WEIRD_VALUES:
                    api_ = manager_api if "availability" in path else server_api
                    response = api_._send(method, path, {field: value}, None, None, None)
                    assert response.status_code < 500, (method, path, field, value)
                    assert "error" in response.json() or response.status_code < 300
                    sent += 1
    assert sent > 500
    assert Check.objects.filter(pk=other["id"]).exists()


def test_api_from_an_unpaired_device_cookie_is_401(place):
    api = Api()
    api.client.cookies["brigade_device"] = "nonsense"
    assert_error(api.get("floor"), 401, "device_not_paired")


def test_service_errors_name_the_request_field(place, server_api):
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.beer)
    before = state(check["id"])
    base = f"checks/{check['id']}"
    assert_error(
        server_api.post(f"{base}/send", {"line_ids": [424242]}), 404, "not_found", "line_ids"
    )
    assert_error(
        server_api.post(f"{base}/move-seat", {"line_ids": [], "seat": 1}),
        400,
        "lines_required",
        "line_ids",
    )
    discount = server_api.post(
        f"{base}/adjustments", {"kind": "discount", "percent": 10, "reason": "friends"}
    )
    assert_error(discount, 403, "approval_required", "approver_pin")
    assert state(check["id"]) == before


def test_wrong_approval_pins_are_logged_and_lock_the_device(place, server_api, sent_soup):
    from restaurant.models import PinAttempt

    check, line = sent_soup
    url = f"checks/{check['id']}/lines/{line['id']}/void"
    before = state(check["id"])
    for _ in range(5):
        wrong = server_api.post(url, {"reason": "guest left", "approver_pin": "9876"})
        assert_error(wrong, 403, "bad_approval_pin", "approver_pin")
    # every wrong approval PIN survives the request's rollback in the log
    assert PinAttempt.objects.filter(success=False).count() == 5
    locked = server_api.post(url, {"reason": "guest left", "approver_pin": "2222"})
    assert_error(locked, 403, "locked_out", "approver_pin")
    assert locked.json()["error"]["retry_after"] > 0
    assert state(check["id"]) == before
    assert OrderLine.objects.get(pk=line["id"]).status == "sent"


def test_a_manager_voids_a_sent_line_without_typing_their_pin_again(place, manager_api):
    check = open_table(manager_api, place.table1)
    line = add_line(manager_api, check, place.soup)["line"]
    sent = manager_api.post(f"checks/{check['id']}/send").json()["check"]
    voided = manager_api.post(
        f"checks/{check['id']}/lines/{line['id']}/void",
        {"reason": "sent back", "version": sent["version"]},
    )
    assert voided.status_code == 200
    row = OrderLine.objects.get(pk=line["id"])
    assert row.status == "voided" and row.void_approved_by == place.manager
