"""Staff profiles, PINs and what each role may do."""

import pytest
from django.db import IntegrityError

from restaurant import permissions
from restaurant.errors import PermissionDenied, ValidationFailed
from restaurant.models import StaffMember
from restaurant.pins import pin_digest
from restaurant.services import staff_by_pin, staff_create, staff_set_pin, staff_update
from tests.actors import SETUP
from tests.factories import StaffFactory, VenueFactory

pytestmark = pytest.mark.django_db
Role = StaffMember.Role


def test_pin_is_stored_as_a_keyed_digest_and_finds_the_staff_member():
    venue = VenueFactory()
    sanne = staff_create(
        venue=venue,
        username="sanne",
        display_name="Sanne",
        role=Role.MANAGER,
        pin="4821",
        actor=SETUP,
    )
    assert "4821" not in sanne.pin_digest and len(sanne.pin_digest) == 64
    assert staff_by_pin(venue=venue, pin="4821") == sanne
    assert staff_by_pin(venue=venue, pin="4822") is None
    assert staff_by_pin(venue=VenueFactory(), pin="4821") is None  # other venue
    assert sanne.user.is_staff  # managers use the back office
    # the same PIN at two venues is two different digests
    assert pin_digest(venue_id=venue.pk, pin="4821") != pin_digest(
        venue_id=venue.pk + 1, pin="4821"
    )


@pytest.mark.parametrize("pin", ["123", "1234567", "12a4", "", "12 34"])
def test_pin_must_be_4_to_6_digits(pin):
    venue = VenueFactory()
    with pytest.raises(ValidationFailed) as exc:
        staff_create(
            venue=venue, username="x", display_name="X", role=Role.SERVER, pin=pin, actor=SETUP
        )
    assert exc.value.code == "invalid_pin"
    assert not StaffMember.objects.exists()


def test_pin_unique_per_venue_but_not_across_venues():
    venue = VenueFactory()
    staff_create(
        venue=venue, username="daan", display_name="Daan", role=Role.SERVER, pin="1111", actor=SETUP
    )
    with pytest.raises(ValidationFailed) as exc:
        staff_create(
            venue=venue,
            username="lotte",
            display_name="Lotte",
            role=Role.SERVER,
            pin="1111",
            actor=SETUP,
        )
    assert exc.value.code == "pin_taken" and exc.value.field == "pin"
    assert StaffMember.objects.filter(venue=venue).count() == 1
    other = VenueFactory()
    staff_create(
        venue=other,
        username="lotte",
        display_name="Lotte",
        role=Role.SERVER,
        pin="1111",
        actor=SETUP,
    )
    # and the database holds the line too
    with pytest.raises(IntegrityError):
        StaffFactory(venue=venue, pin="1111")


def test_inactive_staff_cannot_sign_in_and_pin_reset_works():
    venue = VenueFactory()
    daan = StaffFactory(venue=venue, pin="2222")
    staff_set_pin(staff=daan, pin="3333", actor=SETUP)
    assert staff_by_pin(venue=venue, pin="2222") is None
    assert staff_by_pin(venue=venue, pin="3333") == daan
    daan.is_active = False
    daan.save()
    assert staff_by_pin(venue=venue, pin="3333") is None


def test_only_owners_manage_staff():
    venue = VenueFactory()
    manager = StaffFactory(venue=venue, role=Role.MANAGER)
    owner = StaffFactory(venue=venue, role=Role.OWNER)
    server = StaffFactory(venue=venue, role=Role.SERVER, pin="5555")
    with pytest.raises(PermissionDenied):
        staff_set_pin(staff=server, pin="6666", actor=manager)
    assert staff_by_pin(venue=venue, pin="5555") == server
    staff_set_pin(staff=server, pin="6666", actor=owner)
    staff_set_pin(staff=server, pin="7777", actor=server)  # anyone may change their own
    with pytest.raises(PermissionDenied):
        staff_create(
            venue=venue, username="n", display_name="N", role=Role.SERVER, pin="8888", actor=manager
        )


TAKE_ORDERS = {"check.open", "check.order", "check.view_all", "line.void_unsent"}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.SERVER, {*TAKE_ORDERS, "payment.take"}),
        (Role.BARTENDER, {*TAKE_ORDERS, "payment.take"}),
        (Role.HOST, {"check.open", "check.view_all"}),
        (Role.KITCHEN, {"item.86", "kitchen.bump"}),
        (Role.MANAGER, set(permissions.PERMISSIONS) - {"menu.edit", "staff.manage", "venue.edit"}),
        (Role.OWNER, set(permissions.PERMISSIONS)),
    ],
)
def test_permissions_follow_roles(role, allowed):
    staff = StaffFactory.build(role=role, is_active=True)
    granted = {p for p in permissions.PERMISSIONS if permissions.staff_can(staff, p)}
    assert granted == allowed
    staff.is_active = False
    assert not any(permissions.staff_can(staff, p) for p in permissions.PERMISSIONS)


def test_require_names_who_and_what():
    server = StaffFactory.build(role=Role.SERVER, display_name="Daan")
    with pytest.raises(PermissionDenied) as exc:
        permissions.require(server, "line.void_approve")
    assert exc.value.message == "Daan may not approve voids."
    assert exc.value.as_dict()["error"]["code"] == "permission_denied"
    with pytest.raises(KeyError):
        permissions.staff_can(server, "no.such.permission")


def test_staff_update_keeps_an_owner_and_grants_the_back_office():
    venue = VenueFactory()
    owner = StaffFactory(venue=venue, role=Role.OWNER)
    server = StaffFactory(venue=venue, role=Role.SERVER, user__is_staff=False)
    with pytest.raises(ValidationFailed) as exc:
        staff_update(staff=owner, role=Role.MANAGER, actor=SETUP)
    assert exc.value.code == "last_owner"
    with pytest.raises(ValidationFailed):
        staff_update(staff=owner, is_active=False, actor=SETUP)
    owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)
    with pytest.raises(PermissionDenied):
        staff_update(staff=server, role=Role.MANAGER, actor=server)
    staff_update(staff=server, role=Role.MANAGER, display_name=" Sam ", actor=owner)
    server.refresh_from_db()
    assert (server.role, server.display_name, server.user.is_staff) == (Role.MANAGER, "Sam", True)
    staff_update(staff=server, role=Role.OWNER, actor=SETUP)
    staff_update(staff=owner, is_active=False, actor=SETUP)  # now there is another owner


def test_a_user_works_once_per_venue():
    venue = VenueFactory()
    staff_create(
        venue=venue, username="daan", display_name="Daan", role=Role.SERVER, pin="1212", actor=SETUP
    )
    with pytest.raises(ValidationFailed) as exc:
        staff_create(
            venue=venue, username="daan", display_name="D2", role=Role.HOST, pin="3434", actor=SETUP
        )
    assert exc.value.code == "already_staff" and exc.value.field == "username"
    assert StaffMember.objects.filter(venue=venue).count() == 1


def test_a_demoted_manager_loses_the_back_office(client, settings):
    """The admin flag follows the role (issue 19, point 8): demoted, they cannot sign in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    venue = VenueFactory()
    owner = StaffFactory(venue=venue, role=Role.OWNER)
    sanne = staff_create(
        venue=venue,
        username="sanne",
        display_name="Sanne",
        role=Role.MANAGER,
        pin="2468",
        password="a-long-password-1",
        actor=SETUP,
    )
    assert sanne.user.is_staff
    assert client.login(username="sanne", password="a-long-password-1")
    assert client.get("/admin/").status_code == 200
    client.logout()

    staff_update(staff=sanne, role=Role.SERVER, actor=owner)
    sanne.user.refresh_from_db()
    assert not sanne.user.is_staff
    client.post("/admin/login/", {"username": "sanne", "password": "a-long-password-1"})
    assert client.get("/admin/").status_code == 302  # back to the login page

    # A manager somewhere else keeps the back office; a deactivated one does not.
    staff_update(staff=sanne, role=Role.MANAGER, actor=owner)
    elsewhere = VenueFactory()
    StaffFactory(venue=elsewhere, user=sanne.user, role=Role.MANAGER)
    staff_update(staff=sanne, role=Role.SERVER, actor=owner)
    sanne.user.refresh_from_db()
    assert sanne.user.is_staff
    staff_update(staff=StaffMember.objects.get(venue=elsewhere), is_active=False, actor=SETUP)
    sanne.user.refresh_from_db()
    assert not sanne.user.is_staff


def test_a_superuser_keeps_the_back_office_when_demoted():
    venue = VenueFactory()
    StaffFactory(venue=venue, role=Role.OWNER)
    boss = StaffFactory(
        venue=venue, role=Role.MANAGER, user__is_superuser=True, user__is_staff=True
    )
    staff_update(staff=boss, role=Role.SERVER, actor=SETUP)
    boss.user.refresh_from_db()
    assert boss.user.is_staff
