"""Every write in the back office makes a permission decision, for every user.

Each admin action and each admin view that calls a service (restaurant/admin.py,
kitchen/admin.py, payments/admin.py) is run as a server (with the admin flag, but no
owner/manager profile), a manager, an owner and a superuser without any staff profile. The
roles allowed to do it change what it changes; the others are refused and nothing changes.
A superuser acts as a SuperuserActor, which the services recognise and record by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kitchen.models import PrintJob, Ticket
from orders.models import Check
from payments import card
from payments.models import CardReader
from restaurant import permissions, services
from restaurant.models import Device, MenuItem, Modifier, StaffMember
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    PrinterFactory,
    StationFactory,
    UserFactory,
    VenueFactory,
)
from tests.restaurant.test_admin import change_form_data, staff_user, url

pytestmark = pytest.mark.django_db
Role = StaffMember.Role

ROLES = ["server", "manager", "owner", "superuser"]
MANAGERS = {"manager", "owner", "superuser"}
OWNERS = {"owner", "superuser"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Shop:
    venue: Any
    users: dict
    server: StaffMember
    item: MenuItem
    modifier: Modifier
    device: Device
    station: Any
    job: PrintJob
    failed_job: PrintJob


@pytest.fixture
def shop() -> Shop:
    venue = VenueFactory(name="Bistro")
    server = staff_user(venue, Role.SERVER, pin="3333", display_name="Sam", is_staff=True)
    manager = staff_user(venue, Role.MANAGER, pin="2222", display_name="Max")
    owner = staff_user(venue, Role.OWNER, pin="1111", display_name="Olga")
    superuser = UserFactory(is_staff=True, is_superuser=True)
    printer = PrinterFactory(venue=venue, name="Kitchen printer")
    station = StationFactory(venue=venue, name="Grill", printer=printer)
    category = CategoryFactory(venue=venue, default_station=station)
    item = MenuItemFactory(venue=venue, category=category, name="Steak", price=2450)
    modifier = ModifierFactory(group=ModifierGroupFactory(venue=venue), name="Rare")
    device = services.device_create(venue=venue, name="Bar tablet", actor=SETUP)
    tab = Check.objects.create(venue=venue, number=1, kind=Check.Kind.TAKEAWAY, server=server)
    ticket = Ticket.objects.create(
        venue=venue, tab=tab, station=station, kind=Ticket.Kind.ORDER, send_batch=1
    )
    job = PrintJob.objects.create(
        venue=venue,
        ticket=ticket,
        printer=printer,
        target=printer,
        kind=PrintJob.Kind.ORDER,
        payload=b"GRILL\n1 x Steak\n",
        status=PrintJob.Status.PRINTED,
        printed_at=timezone.now(),
    )
    failed_job = PrintJob.objects.create(
        venue=venue,
        ticket=ticket,
        printer=printer,
        target=printer,
        kind=PrintJob.Kind.ORDER,
        payload=b"GRILL\n1 x Steak\n",
        status=PrintJob.Status.FAILED,
        attempts=5,
    )
    users = {
        "server": server.user,
        "manager": manager.user,
        "owner": owner.user,
        "superuser": superuser,
    }
    return Shop(venue, users, server, item, modifier, device, station, job, failed_job)


def _as(shop: Shop, role: str) -> Client:
    client = Client()
    client.force_login(shop.users[role])
    return client


def _superuser_form(shop: Shop, page: str) -> dict:
    """What the change page posts back unchanged (read as a superuser, who sees the form)."""
    return change_form_data(_as(shop, "superuser").get(page))


def _action(model, name: str, *rows, **extra) -> tuple[str, dict]:
    return url(model, "changelist"), {
        "action": name,
        "_selected_action": [row.pk for row in rows],
        "index": "0",
        **extra,
    }


# --- the cases: what to post, and how to tell whether it changed anything ------------------


def item_86(shop):
    return _action(MenuItem, "eighty_six", shop.item)


def item_86_done(shop):
    return not MenuItem.objects.get(pk=shop.item.pk).is_available


def item_un_86(shop):
    MenuItem.objects.filter(pk=shop.item.pk).update(is_available=False)
    return _action(MenuItem, "un_eighty_six", shop.item)


def item_un_86_done(shop):
    return MenuItem.objects.get(pk=shop.item.pk).is_available


def item_change_prices(shop):
    return _action(
        MenuItem,
        "change_prices",
        shop.item,
        percent="10",
        amount="",
        round_to="",
        apply="1",
    )


def item_price_changed(shop):
    return MenuItem.objects.get(pk=shop.item.pk).price != 2450


def item_list_edit(shop):
    return url(MenuItem, "changelist"), {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(shop.item.pk),
        "form-0-price": "30.00",
        "form-0-stock_count": "0",
        "_save": "Save",
    }


def item_list_edit_done(shop):
    item = MenuItem.objects.get(pk=shop.item.pk)
    return (item.price, item.stock_count) != (2450, None)


def item_change_form(shop):
    page = url(MenuItem, "change", shop.item.pk)
    data = _superuser_form(shop, page)
    data.update({"price": "30.00", "stock_count": "0", "_save": "Save"})
    return page, data


def modifier_86(shop):
    return _action(Modifier, "eighty_six", shop.modifier)


def modifier_86_done(shop):
    return not Modifier.objects.get(pk=shop.modifier.pk).is_available


def modifier_un_86(shop):
    Modifier.objects.filter(pk=shop.modifier.pk).update(is_available=False)
    return _action(Modifier, "un_eighty_six", shop.modifier)


def modifier_un_86_done(shop):
    return Modifier.objects.get(pk=shop.modifier.pk).is_available


def staff_change(shop):
    page = url(StaffMember, "change", shop.server.pk)
    data = _superuser_form(shop, page)
    data.update({"display_name": "Samantha", "_save": "Save"})
    return page, data


def staff_changed(shop):
    return StaffMember.objects.get(pk=shop.server.pk).display_name == "Samantha"


def staff_add(shop):
    return url(StaffMember, "add"), {
        "venue": shop.venue.pk,
        "username": "lotte",
        "display_name": "Lotte",
        "role": Role.SERVER,
        "pin": "5678",
        "pin_confirm": "5678",
        "email": "",
        "password": "",
        "_save": "Save",
    }


def staff_added(shop):
    return StaffMember.objects.filter(display_name="Lotte").exists()


def staff_reset_pin(shop):
    page = url(StaffMember, "reset_pin", shop.server.pk)
    return page, {"pin": "7777", "pin_confirm": "7777"}


def staff_pin_reset(shop):
    return services.staff_by_pin(venue=shop.venue, pin="7777") is not None


def device_add(shop):
    return url(Device, "add"), {
        "venue": shop.venue.pk,
        "name": "Grill screen",
        "kind": "kds",
        "station": shop.station.pk,
        "_save": "Save",
    }


def device_added(shop):
    return Device.objects.filter(name="Grill screen").exists()


def device_new_code(shop):
    Device.objects.filter(pk=shop.device.pk).update(pairing_code="OLDOLD")
    return _action(Device, "new_pairing_code", shop.device)


def device_code_renewed(shop):
    return Device.objects.get(pk=shop.device.pk).pairing_code != "OLDOLD"


def device_revoke(shop):
    return _action(Device, "revoke", shop.device)


def device_revoked(shop):
    return Device.objects.get(pk=shop.device.pk).revoked_at is not None


def job_reprint(shop):
    return _action(PrintJob, "reprint", shop.job)


def job_reprinted(shop):
    return PrintJob.objects.filter(reprint_of=shop.job).exists()


def job_retry(shop):
    return _action(PrintJob, "retry", shop.failed_job)


def job_retried(shop):
    return PrintJob.objects.get(pk=shop.failed_job.pk).status == PrintJob.Status.PENDING


def reader_add(shop):
    return url(CardReader, "add"), {
        "venue": shop.venue.pk,
        "label": "Bar reader",
        "registration_code": "simulated-wpe",
        "_save": "Save",
    }


def reader_added(shop):
    return CardReader.objects.filter(label="Bar reader").exists()


CASES = {
    # restaurant/admin.py
    "item: 86": (item_86, item_86_done, MANAGERS),
    "item: un-86": (item_un_86, item_un_86_done, MANAGERS),
    "item: change prices": (item_change_prices, item_price_changed, OWNERS),
    "item: price and stock in the list": (item_list_edit, item_list_edit_done, OWNERS),
    "item: price and stock on its page": (item_change_form, item_list_edit_done, OWNERS),
    "modifier: 86": (modifier_86, modifier_86_done, MANAGERS),
    "modifier: un-86": (modifier_un_86, modifier_un_86_done, MANAGERS),
    "staff: change": (staff_change, staff_changed, OWNERS),
    "staff: add": (staff_add, staff_added, OWNERS),
    "staff: reset PIN": (staff_reset_pin, staff_pin_reset, OWNERS),
    "device: add": (device_add, device_added, MANAGERS),
    "device: new pairing code": (device_new_code, device_code_renewed, MANAGERS),
    "device: revoke": (device_revoke, device_revoked, MANAGERS),
    # kitchen/admin.py
    "print job: reprint": (job_reprint, job_reprinted, MANAGERS),
    "print job: retry": (job_retry, job_retried, MANAGERS),
    # payments/admin.py
    "card reader: add": (reader_add, reader_added, MANAGERS),
}


@pytest.fixture
def no_stripe(monkeypatch):
    """Registering a reader without Stripe: the admin's permission is what is tested here."""

    def register(*, venue, label, registration_code, actor):
        permissions.require(actor, "drawer.manage")
        return CardReader.objects.create(
            venue=venue, label=label, stripe_id=f"tmr_{label}", location_id="tml_test"
        )

    monkeypatch.setattr(card, "card_reader_register", register)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", list(CASES))
def test_each_admin_write_is_decided_by_the_role(shop, no_stripe, case, role):
    prepare, done, allowed = CASES[case]
    page, data = prepare(shop)
    assert not done(shop)

    response = _as(shop, role).post(page, data)

    if role in allowed:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert done(shop)
    else:
        assert response.status_code in (302, 403), response.status_code
        assert not done(shop)


def test_a_superuser_is_recorded_by_name(shop, caplog):
    superuser = shop.users["superuser"]
    with caplog.at_level(logging.INFO, logger="brigade.audit"):
        page, data = device_revoke(shop)
        _as(shop, "superuser").post(page, data)
    assert device_revoked(shop)
    assert f"device.revoke by {superuser.get_username()} (superuser)" in caplog.text


@pytest.mark.parametrize(
    "call",
    [
        lambda s: services.menu_item_set_available(item=s.item, available=False, actor=None),
        lambda s: services.device_revoke(device=s.device, actor=None),
        lambda s: services.staff_set_pin(staff=s.server, pin="7777", actor=None),
    ],
)
def test_no_actor_is_nobody_and_is_refused(shop, call):
    from restaurant.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        call(shop)
    assert MenuItem.objects.get(pk=shop.item.pk).is_available
    assert Device.objects.get(pk=shop.device.pk).revoked_at is None
    assert services.staff_by_pin(venue=shop.venue, pin="7777") is None


def test_the_actor_is_a_required_keyword(shop):
    with pytest.raises(TypeError):
        services.device_revoke(device=shop.device)  # type: ignore[call-arg]
