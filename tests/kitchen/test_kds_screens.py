"""Kitchen screens at /kds/: pairing, who may see which station, and the JSON calls' effects.

Screens are driven with the Django test client the way a browser drives them: the device cookie
from pairing, CSRF enforced, JSON bodies. A refused call is checked for what it did not change.
"""

import json
import secrets
from types import SimpleNamespace

import pytest
from django.test import Client, override_settings

from kitchen import screens
from kitchen import services as kitchen
from kitchen.models import Ticket, TicketItem
from orders.models import Check, OrderLine
from orders.selectors import FloorStatus, check_floor_status
from orders.services import check_open, line_add
from pos.models import IdempotencyKey
from restaurant.models import Device, StaffMember
from restaurant.realtime import last_seq
from restaurant.services import device_create, device_pair, device_revoke
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    UserFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def kitchen_night():
    venue = VenueFactory(name="Brasserie")
    grill = StationFactory(venue=venue, slug="grill", name="Grill", sort_order=1)
    cold = StationFactory(venue=venue, slug="cold", name="Cold kitchen", sort_order=2)
    expo = StationFactory(venue=venue, slug="pass", name="Expo", is_expo=True, sort_order=9)
    daan = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan")
    sanne = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER, display_name="Sanne")
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
    line_add(tab=tab, actor=daan, item=salad, seat=3, note="nut allergy")
    grill_ticket, cold_ticket = sorted(
        kitchen.lines_send(tab=tab, actor=daan).tickets, key=lambda t: t.station.sort_order
    )
    return SimpleNamespace(**locals())


def pair(venue, station, *, kind=Device.Kind.KITCHEN_SCREEN) -> tuple[Client, Device]:
    """A browser paired as a screen through the pairing page; CSRF enforced like a browser."""
    device = device_create(
        venue=venue, name=f"{station.name} screen", kind=kind, station=station, actor=SETUP
    )
    client = Client(enforce_csrf_checks=True)
    csrf = secrets.token_hex(16)
    client.cookies["csrftoken"] = csrf
    response = client.post("/kds/", {"code": device.pairing_code, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302, response.content
    client.csrf = csrf
    device.refresh_from_db()
    return client, device


def call(client: Client, path: str, body: dict | None = None, *, csrf: bool = True):
    headers = {"X-CSRFToken": client.csrf} if csrf else {}
    return client.post(
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers=headers,
    )


def ticket_state(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.bumped_at,
        ticket.acknowledged_at,
        sorted(ticket.items.values_list("status", flat=True)),
    )


# --- pairing ------------------------------------------------------------------------------------


def test_an_unpaired_screen_is_asked_to_pair(kitchen_night):
    client = Client()
    for path in ("/kds/", "/kds/grill/", "/kds/expo/"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"Pair this screen" in response.content
        assert b'name="code"' in response.content
    response = client.get("/api/v1/kitchen/stations/grill/snapshot")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_not_paired"


def test_pairing_sets_the_device_cookie_and_opens_the_station(kitchen_night):
    k = kitchen_night
    device = device_create(
        venue=k.venue, name="Grill screen", kind="kds", station=k.grill, actor=SETUP
    )
    client = Client()
    code = device.pairing_code
    response = client.post("/kds/", {"code": f" {code[:3].lower()}-{code[3:].lower()} "})
    assert response.status_code == 302
    assert response["Location"] == "/kds/grill/"
    cookie = response.cookies[screens.DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 5 * 365 * 24 * 3600
    device.refresh_from_db()
    assert device.paired_at is not None and device.pairing_code == ""

    page = client.get("/kds/grill/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Grill" in html and 'name="csrf-token"' in html
    assert '"ws": "/ws/kds/grill/"' in html
    assert client.get("/kds/").headers["Location"] == "/kds/grill/"


def test_a_wrong_or_foreign_code_pairs_nothing(kitchen_night):
    k = kitchen_night
    client = Client()
    response = client.post("/kds/", {"code": "NOPE12"})
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert screens.DEVICE_COOKIE not in response.cookies

    tablet = device_create(venue=k.venue, name="Bar tablet", kind="tablet", actor=SETUP)
    response = client.post("/kds/", {"code": tablet.pairing_code})
    assert response.status_code == 400
    assert b"Kitchen screen" in response.content
    tablet.refresh_from_db()
    assert tablet.paired_at is None and tablet.pairing_code  # still usable on the tablet


def test_an_expo_screen_pairs_to_the_expo_page(kitchen_night):
    client, _device = pair(kitchen_night.venue, kitchen_night.expo)
    assert client.get("/kds/").headers["Location"] == "/kds/expo/"
    response = client.get("/kds/expo/")
    assert response.status_code == 200
    assert b"kds/js/expo.js" in response.content
    # The expo's own slug leads to the same page; the pass may also look at any station.
    assert client.get("/kds/pass/").headers["Location"] == "/kds/expo/"
    assert client.get("/kds/grill/").status_code == 200
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 200


def test_a_screen_without_a_station_is_told_to_get_one(kitchen_night):
    device = device_create(venue=kitchen_night.venue, name="Spare screen", kind="kds", actor=SETUP)
    client = Client()
    response = client.post("/kds/", {"code": device.pairing_code})
    assert response.status_code == 302 and response["Location"] == "/kds/"
    page = client.get("/kds/")
    assert page.status_code == 409 and b"has no station" in page.content
    response = client.get("/api/v1/kitchen/stations/grill/snapshot")
    assert response.status_code == 403 and response.json()["error"]["code"] == "no_station"


def test_a_revoked_screen_is_refused_and_changes_nothing(kitchen_night):
    k = kitchen_night
    client, device = pair(k.venue, k.grill)
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 200
    device_revoke(device=device, actor=SETUP)
    before = ticket_state(k.grill_ticket)

    page = client.get("/kds/grill/")
    assert page.status_code == 200 and b"unpaired in the back office" in page.content
    for path in (
        f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump",
        f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/start",
        "/api/v1/kitchen/stations/grill/recall",
    ):
        response = call(client, path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "device_not_paired"
    item = k.grill_ticket.items.first()
    assert (
        call(
            client, f"/api/v1/kitchen/stations/grill/items/{item.pk}/status", {"status": "ready"}
        ).status_code
        == 401
    )
    assert ticket_state(k.grill_ticket) == before
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 401


def test_a_tablet_is_not_a_screen(kitchen_night):
    k = kitchen_night
    client = Client()
    tablet = device_create(venue=k.venue, name="Tablet", kind="tablet", actor=SETUP)
    _device, token = device_pair(code=tablet.pairing_code)
    client.cookies[screens.DEVICE_COOKIE] = token
    page = client.get("/kds/grill/")
    assert b"paired as a tablet or phone" in page.content
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 401


def test_a_screen_sees_only_its_own_station(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    before_grill, before_cold = ticket_state(k.grill_ticket), ticket_state(k.cold_ticket)

    assert client.get("/kds/cold/").status_code == 403
    assert client.get("/kds/expo/").status_code == 403
    assert client.get("/kds/nowhere/").status_code == 404
    response = client.get("/api/v1/kitchen/stations/cold/snapshot")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_station"
    assert client.get("/api/v1/kitchen/expo/snapshot").status_code == 403

    # Another station's ticket: refused through that station, unknown through its own.
    assert (
        call(client, f"/api/v1/kitchen/stations/cold/tickets/{k.cold_ticket.pk}/bump").status_code
        == 403
    )
    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{k.cold_ticket.pk}/bump")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "No such ticket at this station.",
        "field": "ticket",
    }
    cold_item = k.cold_ticket.items.first()
    response = call(
        client, f"/api/v1/kitchen/stations/grill/items/{cold_item.pk}/status", {"status": "ready"}
    )
    assert response.status_code == 404
    assert (
        call(client, f"/api/v1/kitchen/expo/orders/{k.tab.pk}/serve", {"send": 1}).status_code
        == 403
    )
    assert ticket_state(k.grill_ticket) == before_grill
    assert ticket_state(k.cold_ticket) == before_cold

    # A screen of another venue knows nothing of this one.
    other = VenueFactory()
    other_client, _ = pair(other, StationFactory(venue=other, slug="grill", name="Grill"))
    assert other_client.get("/api/v1/kitchen/stations/grill/snapshot").json()["tickets"] == []
    response = call(
        other_client, f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump"
    )
    assert response.status_code == 404
    assert ticket_state(k.grill_ticket) == before_grill


# --- the JSON calls -------------------------------------------------------------------------


def test_the_snapshot_carries_seq_tickets_and_all_day_counts(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    body = client.get("/api/v1/kitchen/stations/grill/snapshot").json()
    assert body["seq"] == last_seq(venue_id=k.venue.pk)
    assert body["station"]["warn_after"] == k.grill.warn_after_seconds
    (ticket,) = body["tickets"]
    assert ticket["label"] == "Table 12" and ticket["also_at"] == ["Cold kitchen"]
    assert ticket["items"][0]["modifiers"][0]["name"] == "Medium"
    assert body["all_day"] == [{"name": "Steak", "count": 1}]
    assert body["all_day_modifiers"] == [{"name": "Steak (Medium)", "count": 1}]
    assert body["now"]


def test_start_item_status_bump_and_recall_change_the_tickets(kitchen_night):
    k = kitchen_night
    client, device = pair(k.venue, k.grill)
    ticket = k.grill_ticket
    item = ticket.items.get()

    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/start")
    assert response.status_code == 200
    assert response.json()["snapshot"]["tickets"][0]["state"] == "cooking"
    assert ticket_state(ticket)[2] == ["cooking"]

    response = call(
        client, f"/api/v1/kitchen/stations/grill/items/{item.pk}/status", {"status": "ready"}
    )
    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert TicketItem.objects.get(pk=item.pk).status == "ready"

    seq = last_seq(venue_id=k.venue.pk)
    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump")
    assert response.status_code == 200
    body = response.json()
    assert body["bumped"] is True and body["label"] == "Table 12"
    assert body["snapshot"]["tickets"] == []
    assert body["snapshot"]["seq"] > seq
    assert [t["id"] for t in body["snapshot"]["recently_bumped"]] == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.bumped_at is not None and ticket.bumped_by == device.name

    response = call(client, "/api/v1/kitchen/stations/grill/recall")
    assert response.status_code == 200 and response.json()["ticket"] == ticket.pk
    assert ticket_state(ticket)[0] is None
    response = call(client, "/api/v1/kitchen/stations/grill/recall")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nothing_to_recall"

    call(client, f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump")
    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/recall")
    assert response.status_code == 200
    assert ticket_state(ticket)[0] is None
    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/recall")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_bumped"


def test_bad_requests_are_json_errors_that_change_nothing(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    item = k.grill_ticket.items.get()
    before = ticket_state(k.grill_ticket)
    path = f"/api/v1/kitchen/stations/grill/items/{item.pk}/status"

    response = call(client, path, {"status": "burnt"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "status"
    response = call(client, path, {"status": "ready", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "unknown_field",
        "message": "Unknown field colour.",
        "field": "colour",
    }
    response = client.post(
        path, "{not json", content_type="application/json", headers={"X-CSRFToken": client.csrf}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = client.get(f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert call(client, "/api/v1/kitchen/stations/grill/tickets/999999/bump").status_code == 404
    assert ticket_state(k.grill_ticket) == before


def test_a_held_item_cannot_be_marked(kitchen_night):
    k = kitchen_night
    dessert = MenuItemFactory(
        venue=k.venue,
        category=CategoryFactory(venue=k.venue, default_station=k.grill),
        name="Dame blanche",
        default_course=3,
    )
    tab = check_open(venue=k.venue, actor=k.daan, kind="takeaway")
    line_add(tab=tab, actor=k.daan, item=dessert)
    (ticket,) = kitchen.lines_send(tab=tab, actor=k.daan).tickets
    client, _device = pair(k.venue, k.grill)
    held = ticket.items.get()
    assert held.held
    response = call(
        client, f"/api/v1/kitchen/stations/grill/items/{held.pk}/status", {"status": "cooking"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "item_not_active"
    assert TicketItem.objects.get(pk=held.pk).status == "new"


def test_a_void_ticket_is_acknowledged(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    line = OrderLine.objects.get(tab=k.tab, name="Steak")
    kitchen.line_void(line=line, actor=k.daan, reason="Sent back by the guest", approver=k.sanne)
    void = Ticket.objects.get(kind=Ticket.Kind.VOID)
    shown = client.get("/api/v1/kitchen/stations/grill/snapshot").json()["tickets"]
    assert [t["kind"] for t in shown] == ["order", "void"]

    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/ack")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_void"
    assert Ticket.objects.get(pk=k.grill_ticket.pk).acknowledged_at is None

    response = call(client, f"/api/v1/kitchen/stations/grill/tickets/{void.pk}/ack")
    assert response.status_code == 200
    void.refresh_from_db()
    assert void.acknowledged_at is not None and void.bumped_at is not None
    assert [t["kind"] for t in response.json()["snapshot"]["tickets"]] == ["order"]


def test_expo_serves_an_order_when_every_station_is_ready(kitchen_night):
    k = kitchen_night
    expo, _device = pair(k.venue, k.expo)
    grill, _ = pair(k.venue, k.grill)
    cold, _ = pair(k.venue, k.cold)

    (order,) = expo.get("/api/v1/kitchen/expo/snapshot").json()["orders"]
    assert {s["station"]: s["state"] for s in order["stations"]} == {"grill": "new", "cold": "new"}
    assert order["ready"] is False
    assert (
        call(grill, f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump").status_code
        == 200
    )
    assert (
        call(cold, f"/api/v1/kitchen/stations/cold/tickets/{k.cold_ticket.pk}/bump").status_code
        == 200
    )
    tab = Check.objects.get(pk=k.tab.pk)
    assert check_floor_status(tab) == FloorStatus.FOOD_READY
    (order,) = expo.get("/api/v1/kitchen/expo/snapshot").json()["orders"]
    assert order["ready"] is True

    # Station screens have no expo calls; the expo's calls check their input.
    assert (
        call(grill, f"/api/v1/kitchen/expo/orders/{tab.pk}/serve", {"send": 1}).status_code == 403
    )
    response = call(expo, f"/api/v1/kitchen/expo/orders/{tab.pk}/serve", {"send": "one"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "send"
    assert call(expo, "/api/v1/kitchen/expo/orders/999999/serve", {"send": 1}).status_code == 404
    assert not OrderLine.objects.filter(tab=tab, served_at__isnull=False).exists()

    response = call(expo, f"/api/v1/kitchen/expo/orders/{tab.pk}/serve", {"send": order["send"]})
    assert response.status_code == 200
    assert response.json()["snapshot"]["orders"] == []
    assert OrderLine.objects.filter(tab=tab, served_at__isnull=False).count() == 2
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.ORDERED


def test_calls_without_the_csrf_token_are_refused(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    before = ticket_state(k.grill_ticket)
    response = call(
        client, f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump", csrf=False
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    response = client.post(
        f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump",
        "",
        content_type="application/json",
        headers={"X-CSRFToken": "wrong" * 7},
    )
    assert response.status_code == 403
    assert ticket_state(k.grill_ticket) == before
    # Reading needs no token.
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 200


# --- managers pair a screen in one tap ------------------------------------------------------


def test_a_manager_signed_in_pairs_a_station_screen_in_one_tap(kitchen_night):
    k = kitchen_night
    client = Client()
    client.force_login(k.sanne.user)
    page = client.get("/kds/grill/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Signed in to the back office" in html
    assert f'value="{k.grill.pk}"' in html and f'value="{k.expo.pk}"' in html

    response = client.post("/kds/pair/", {"station": k.grill.pk})
    assert response.status_code == 302 and response["Location"] == "/kds/grill/"
    device = Device.objects.get(kind="kds", station=k.grill)
    assert device.paired_at is not None and device.venue == k.venue
    assert response.cookies[screens.DEVICE_COOKIE]["httponly"] is True
    assert client.get("/api/v1/kitchen/stations/grill/snapshot").status_code == 200


def test_only_owners_and_managers_of_the_venue_pair_in_one_tap(kitchen_night):
    k = kitchen_night
    client = Client()
    assert client.post("/kds/pair/", {"station": k.grill.pk}).status_code == 403
    client.force_login(k.daan.user)  # a server
    assert b"Signed in to the back office" not in client.get("/kds/").content
    assert client.post("/kds/pair/", {"station": k.grill.pk}).status_code == 403
    other = VenueFactory()
    boss = StaffFactory(venue=other, role=StaffMember.Role.OWNER, user=UserFactory())
    client.force_login(boss.user)
    assert client.post("/kds/pair/", {"station": k.grill.pk}).status_code == 403
    assert client.post("/kds/pair/", {"station": "x"}).status_code == 403
    assert not Device.objects.filter(kind="kds").exists()


# --- the bump bar -----------------------------------------------------------------------------


def test_the_bump_bar_keys_are_rendered_and_configurable(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    html = client.get("/kds/grill/").content.decode()
    assert "data-keymap=" in html and "Enter" in html
    with override_settings(KDS_KEYMAPS={"grill": {"bump": ["0", "Enter"], "bogus": ["x"]}}):
        keymap = screens.keymap_for(k.grill)
        assert keymap["bump"] == ["0", "Enter"] and "bogus" not in keymap
        assert keymap["recall"] == screens.DEFAULT_KEYMAP["recall"]
        html = client.get("/kds/grill/").content.decode()
        assert "<kbd>0</kbd>/<kbd>Enter</kbd> bump" in html
        assert screens.keymap_for(k.cold)["bump"] == screens.DEFAULT_KEYMAP["bump"]


def test_expo_calls_an_order_ready_when_a_station_never_bumps(kitchen_night):
    """A print-only station never bumps: the pass calls the order ready for it."""
    k = kitchen_night
    expo, _device = pair(k.venue, k.expo)
    grill, _ = pair(k.venue, k.grill)
    assert (
        call(grill, f"/api/v1/kitchen/expo/orders/{k.tab.pk}/ready", {"send": 1}).status_code == 403
    )
    assert check_floor_status(Check.objects.get(pk=k.tab.pk)) == FloorStatus.FOOD_FIRED

    response = call(expo, f"/api/v1/kitchen/expo/orders/{k.tab.pk}/ready", {"send": 1})
    assert response.status_code == 200
    (order,) = response.json()["snapshot"]["orders"]
    assert order["ready"] is True
    assert {s["station"]: s["state"] for s in order["stations"]} == {
        "grill": "ready",
        "cold": "ready",
    }
    assert check_floor_status(Check.objects.get(pk=k.tab.pk)) == FloorStatus.FOOD_READY
    assert not OrderLine.objects.filter(tab=k.tab, served_at__isnull=False).exists()


# --- the same guarantees as the tablet's calls ----------------------------------------------


def bump_tap(client, ticket, key: str | None = None):
    headers = {"X-CSRFToken": client.csrf}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/kitchen/stations/grill/tickets/{ticket.pk}/bump",
        "",
        content_type="application/json",
        headers=headers,
    )


def test_a_double_sent_bump_with_one_idempotency_key_bumps_once(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    key = "5b0d1d9e-2f4e-4a51-9d53-bump-bar-tap1"
    first = bump_tap(client, k.grill_ticket, key)
    assert first.status_code == 200 and first.json()["bumped"] is True
    assert "Idempotent-Replayed" not in first.headers
    bumped_at = Ticket.objects.get(pk=k.grill_ticket.pk).bumped_at
    seq = last_seq(venue_id=k.venue.pk)

    again = bump_tap(client, k.grill_ticket, key)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["ticket"] == k.grill_ticket.pk and again.json()["bumped"] is True
    assert again.json()["snapshot"]["tickets"] == []
    # Bumped once: the same moment, no second event, one stored answer.
    assert Ticket.objects.get(pk=k.grill_ticket.pk).bumped_at == bumped_at
    assert last_seq(venue_id=k.venue.pk) == seq
    assert IdempotencyKey.objects.filter(key=key).count() == 1

    # The key of that tap cannot be spent on another ticket.
    reused = bump_tap(client, k.cold_ticket, key)
    assert reused.status_code in (404, 409)


def test_a_second_tap_on_a_bumped_ticket_is_refused_and_changes_nothing(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    assert bump_tap(client, k.grill_ticket, "tap-1").status_code == 200
    before = ticket_state(k.grill_ticket)
    seq = last_seq(venue_id=k.venue.pk)

    for key in ("tap-2", None):
        response = bump_tap(client, k.grill_ticket, key)
        assert response.status_code == 409
        assert response.json()["error"] == {
            "code": "already_bumped",
            "message": "This ticket is already bumped.",
            "field": "ticket",
        }
    assert ticket_state(k.grill_ticket) == before
    assert last_seq(venue_id=k.venue.pk) == seq
    assert not IdempotencyKey.objects.filter(key="tap-2").exists()  # a refusal stores nothing


def test_an_acknowledged_void_is_not_acknowledged_twice(kitchen_night):
    k = kitchen_night
    client, _device = pair(k.venue, k.grill)
    line = OrderLine.objects.get(tab=k.tab, name="Steak")
    kitchen.line_void(line=line, actor=k.daan, reason="Sent back by the guest", approver=k.sanne)
    void = Ticket.objects.get(kind=Ticket.Kind.VOID)
    path = f"/api/v1/kitchen/stations/grill/tickets/{void.pk}/ack"
    assert call(client, path).status_code == 200
    acknowledged = Ticket.objects.get(pk=void.pk).acknowledged_at
    response = call(client, path)
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_bumped"
    assert Ticket.objects.get(pk=void.pk).acknowledged_at == acknowledged


def test_a_screen_calls_with_its_device_token_without_cookies_or_csrf(kitchen_night):
    k = kitchen_night
    device = device_create(
        venue=k.venue, name="Grill screen", kind="kds", station=k.grill, actor=SETUP
    )
    _device, token = device_pair(code=device.pairing_code)
    api = Client(enforce_csrf_checks=True)
    auth = {"Authorization": f"Device {token}"}
    assert api.get("/api/v1/kitchen/stations/grill/snapshot", headers=auth).status_code == 200
    response = api.post(
        f"/api/v1/kitchen/stations/grill/tickets/{k.grill_ticket.pk}/bump",
        "",
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 200 and response.json()["bumped"] is True

    # A tablet's token, or a staff member's, is no screen's.
    tablet = device_create(venue=k.venue, name="Tablet", kind="tablet", actor=SETUP)
    _tablet, tablet_token = device_pair(code=tablet.pairing_code)
    for header in (f"Device {tablet_token}", f"Bearer {token}", "Device nope"):
        response = api.get(
            "/api/v1/kitchen/stations/grill/snapshot", headers={"Authorization": header}
        )
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "device_not_paired"


def test_the_kitchen_calls_are_in_the_api_document(kitchen_night):
    document = Client().get("/api/v1/openapi.json").json()
    bump = document["paths"]["/kitchen/stations/{slug}/tickets/{ticket_id}/bump"]["post"]
    assert bump["tags"] == ["kitchen"]
    assert "Idempotency-Key" in [p["name"] for p in bump["parameters"]]
    assert {"deviceToken": []} in bump["security"]
    assert "409" in bump["responses"]
    status = document["paths"]["/kitchen/stations/{slug}/items/{item_id}/status"]["post"]
    schema = document["components"]["schemas"]["ItemStatusIn"]["properties"]["status"]
    assert schema["enum"] == ["new", "cooking", "ready"]
    assert "requestBody" in status
    assert "get" in document["paths"]["/kitchen/expo/snapshot"]
