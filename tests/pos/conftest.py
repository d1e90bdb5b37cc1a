"""Fixtures for the /api/v1/ tests: a small venue, and clients signed in through the API itself.

A device is registered with restaurant.services.device_create, paired with POST auth/pair and
a staff member signs in with POST auth/pin, exactly as a tablet or a phone app would.
"""

from __future__ import annotations

import json
import secrets
from types import SimpleNamespace

import pytest
from django.test import Client

from kitchen.models import Ticket
from orders.models import Adjustment, Check, CheckAudit
from restaurant.models import StaffMember
from restaurant.services import device_create
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    FloorAreaFactory,
    MenuFactory,
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    TaxRateFactory,
    VenueFactory,
    attach,
)

API = "/api/v1/"


class Api:
    """Speaks JSON to /api/v1/: with a staff token (Bearer), a device token, or cookies."""

    def __init__(self, client: Client | None = None, *, token=None, device=None, csrf=None):
        self.client = client or Client()
        self.token = token
        self.device = device
        self.csrf = csrf

    def _headers(self, headers, key) -> dict:
        result = {}
        if self.token:
            result["Authorization"] = f"Bearer {self.token}"
        elif self.device:
            result["Authorization"] = f"Device {self.device}"
        if self.csrf:
            # Like the tablet's JS: the current csrftoken cookie (a PIN sign-in rotates it).
            cookie = self.client.cookies.get("csrftoken")
            result["X-CSRFToken"] = cookie.value if cookie else self.csrf
        if key:
            result["Idempotency-Key"] = key
        result.update(headers or {})
        return result

    def get(self, path, *, headers=None, **query):
        return self.client.get(API + path, query, headers=self._headers(headers, None))

    def _send(self, method, path, data, key, headers, raw):
        body = raw if raw is not None else json.dumps({} if data is None else data)
        send = getattr(self.client, method)
        return send(
            API + path, body, content_type="application/json", headers=self._headers(headers, key)
        )

    def post(self, path, data=None, *, key=None, headers=None, raw=None):
        return self._send("post", path, data, key, headers, raw)

    def patch(self, path, data=None, *, key=None, headers=None, raw=None):
        return self._send("patch", path, data, key, headers, raw)

    def delete(self, path, data=None, *, key=None, headers=None, raw=None):
        return self._send("delete", path, data, key, headers, raw)


def pair_device(venue, name="Tablet") -> str:
    """Register a device and pair it through the API; returns its device token."""
    device = device_create(venue=venue, name=name, actor=SETUP)
    response = Api().post("auth/pair", {"code": device.pairing_code})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def sign_in(device_token: str, pin: str) -> Api:
    """Sign a staff member in on a paired device; an Api using their Bearer staff token."""
    response = Api(device=device_token).post("auth/pin", {"pin": pin})
    assert response.status_code == 200, response.content
    return Api(token=response.json()["token"])


def tablet(venue, pin: str | None = None, name="Tablet") -> Api:
    """The tablet web app: the device cookie, a session, CSRF enforced like in a browser."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["brigade_device"] = pair_device(venue, name)
    csrf = secrets.token_hex(16)  # what the /pos/ page's csrftoken cookie holds
    client.cookies["csrftoken"] = csrf
    api = Api(client, csrf=csrf)
    if pin:
        response = api.post("auth/pin", {"pin": pin})
        assert response.status_code == 200, response.content
    return api


def state(check_id: int | None = None) -> tuple:
    """What a refused request must not have changed."""
    tab = Check.objects.filter(pk=check_id).first() if check_id else None
    return (
        Check.objects.count(),
        tab.version if tab else None,
        tab.lines.count() if tab else None,
        list(tab.lines.values_list("pk", "status", "quantity", "seat")) if tab else None,
        CheckAudit.objects.count(),
        Adjustment.objects.count(),
        Ticket.objects.count(),
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Staff users get a password from the factory; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def place(db):
    venue = VenueFactory(name="Brasserie")
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    bar = StationFactory(venue=venue, slug="bar", name="Bar")
    area = FloorAreaFactory(venue=venue, name="Terrace")
    table1 = TableFactory(venue=venue, area=area, name="T1")
    table2 = TableFactory(venue=venue, area=area, name="T2")
    table3 = TableFactory(venue=venue, area=area, name="T3")
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, pin="1111")
    server2 = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, pin="3333")
    manager = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER, pin="2222")
    cook = StaffFactory(venue=venue, role=StaffMember.Role.KITCHEN, pin="4444")
    menu = MenuFactory(venue=venue, name="All day")
    tax = TaxRateFactory(venue=venue, code="B", rate=21)
    mains = CategoryFactory(venue=venue, menu=menu, name="Mains", default_station=grill)
    drinks = CategoryFactory(venue=venue, menu=menu, name="Drinks", default_station=bar)
    steak = MenuItemFactory(
        venue=venue, category=mains, name="Steak", price=2450, default_course=2, tax_rate=tax
    )
    soup = MenuItemFactory(venue=venue, category=mains, name="Soup", price=750, tax_rate=tax)
    beer = MenuItemFactory(venue=venue, category=drinks, name="Beer", price=450, tax_rate=tax)
    doneness = ModifierGroupFactory(
        venue=venue, name="Doneness", code="doneness", min_choices=1, max_choices=1
    )
    rare = ModifierFactory(group=doneness, name="Rare", sort_order=1)
    medium = ModifierFactory(group=doneness, name="Medium", sort_order=2)
    sides = ModifierGroupFactory(
        venue=venue, name="Sides", code="sides", min_choices=0, max_choices=2, free_choices=1
    )
    dressing = ModifierGroupFactory(
        venue=venue, name="Dressing", code="dressing", min_choices=1, max_choices=1
    )
    fries = ModifierFactory(group=sides, name="Fries", price_delta=350, sort_order=1)
    salad = ModifierFactory(
        group=sides, name="Salad", price_delta=300, sort_order=2, nested_group=dressing
    )
    vinaigrette = ModifierFactory(group=dressing, name="Vinaigrette")
    attach(steak, doneness, sides)
    return SimpleNamespace(**locals())


@pytest.fixture
def server_api(place) -> Api:
    return sign_in(pair_device(place.venue, "Server phone"), "1111")


@pytest.fixture
def manager_api(place) -> Api:
    return sign_in(pair_device(place.venue, "Manager phone"), "2222")


def open_table(api: Api, table, guests: int = 2) -> dict:
    response = api.post("checks", {"kind": "table", "table": table.pk, "guest_count": guests})
    assert response.status_code == 201, response.content
    return response.json()["check"]


def add_line(api: Api, check: dict, item, **fields) -> dict:
    response = api.post(f"checks/{check['id']}/lines", {"item": item.pk, **fields})
    assert response.status_code == 201, response.content
    return response.json()
