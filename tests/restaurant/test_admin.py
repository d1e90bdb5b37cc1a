"""The owners' back office (Django admin): pages, venue scoping, roles, actions, staff and PINs.

Real database, real admin views through the test Client; side effects are asserted in the
database. Every registered model is rendered for an owner and for a superuser, from the admin
registry itself, so a newly registered model is covered (and needs a row in `_rows`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.forms import CheckboxInput
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from kitchen.models import PrintJob, Ticket, TicketItem
from orders.models import Adjustment, Check, CheckAudit, LineModifier, OrderLine
from payments.models import CardReader, Drawer, DrawerSession, Payment, TerminalLocation
from restaurant import services
from restaurant.admin_forms import venue_id_of, venue_lookup, venue_of
from restaurant.models import (
    Category,
    Device,
    FloorArea,
    Menu,
    MenuItem,
    Modifier,
    ModifierGroup,
    PinAttempt,
    Printer,
    StaffMember,
    Station,
    Table,
    TaxRate,
    Venue,
)
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    DrawerFactory,
    DrawerSessionFactory,
    FloorAreaFactory,
    MenuFactory,
    MenuItemFactory,
    MenuWindowFactory,
    ModifierFactory,
    ModifierGroupFactory,
    PaymentFactory,
    PrinterFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    TaxRateFactory,
    UserFactory,
    VenueFactory,
    attach,
)

Role = StaffMember.Role
VENUE_APPS = {"restaurant", "orders", "kitchen", "payments"}

# Venue-scoped models an owner may not add in the admin (everything else they may).
OWNER_CANNOT_ADD = {
    Venue,
    Check,
    CheckAudit,
    PinAttempt,
    Ticket,
    PrintJob,
    DrawerSession,
    Payment,
    TerminalLocation,  # made in Stripe when the first reader is registered
}


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


REGISTERED = sorted(admin.site._registry, key=_label)
VENUE_MODELS = [m for m in REGISTERED if m._meta.app_label in VENUE_APPS]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def staff_user(venue, role, *, pin=None, is_staff=None, **kwargs) -> StaffMember:
    """A staff member whose user may use the admin when the role says so."""
    if is_staff is None:
        is_staff = role in (Role.OWNER, Role.MANAGER)
    user = UserFactory(is_staff=is_staff)
    extra = {"pin": pin} if pin else {}
    return StaffFactory(venue=venue, user=user, role=role, **extra, **kwargs)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    venue: Venue
    other: Venue
    owner: StaffMember
    manager: StaffMember
    server: StaffMember
    area: FloorArea
    table: Table
    tax: TaxRate
    printer: Printer
    station: Station
    menu: Menu
    category: Category
    item: MenuItem
    group: ModifierGroup
    modifier: Modifier
    check: Check
    line: OrderLine
    audit: CheckAudit
    other_item: MenuItem
    other_tax: TaxRate
    device: Device
    pin_attempt: PinAttempt
    ticket: Ticket
    print_job: PrintJob
    drawer: Drawer
    drawer_session: DrawerSession
    payment: Payment
    location: TerminalLocation
    reader: CardReader


@pytest.fixture
def world(db) -> World:
    venue = VenueFactory(name="Bistro Amsterdam")
    other = VenueFactory(name="Bistro Berlin")
    owner = staff_user(venue, Role.OWNER, pin="1111", display_name="Olga")
    manager = staff_user(venue, Role.MANAGER, pin="2222", display_name="Max")
    server = staff_user(venue, Role.SERVER, pin="3333", display_name="Sam")
    area = FloorAreaFactory(venue=venue, name="Terrace")
    table = TableFactory(venue=venue, area=area, name="12")
    tax = TaxRateFactory(venue=venue, name="Low (9%)", code="B", rate=Decimal("9"))
    printer = PrinterFactory(venue=venue, name="Kitchen printer")
    station = StationFactory(venue=venue, name="Grill", printer=printer)
    menu = MenuFactory(venue=venue, name="Dinner")
    MenuWindowFactory(menu=menu, starts_at=datetime.time(17), ends_at=datetime.time(23))
    category = CategoryFactory(venue=venue, menu=menu, name="Mains", default_station=station)
    item = MenuItemFactory(
        venue=venue, category=category, tax_rate=tax, name="Steak frites", plu="STK", price=2450
    )
    group = ModifierGroupFactory(venue=venue, name="Doneness", code="doneness")
    modifier = ModifierFactory(group=group, name="Medium rare", price_delta=150)
    attach(item, group)
    check = Check.objects.create(
        venue=venue, number=7, kind=Check.Kind.TABLE, table=table, server=server, guest_count=2
    )
    line = OrderLine.objects.create(
        tab=check,
        menu_item=item,
        name="Steak frites",
        plu="STK",
        unit_price=2450,
        tax_rate=Decimal("9"),
        tax_code="B",
        quantity=2,
        added_by=server,
    )
    chosen = LineModifier.objects.create(
        line=line,
        modifier=modifier,
        group_name="Doneness",
        name="Medium rare",
        price_delta=150,
    )
    LineModifier.objects.create(
        line=line, parent=chosen, group_name="Sauce", name="Pepper sauce", price_delta=0
    )
    audit = CheckAudit.objects.create(
        venue=venue, tab=check, line=line, actor=server, action="line_add", data={"qty": 2}
    )
    other_item = MenuItemFactory(venue=other, name="Currywurst", plu="CW", price=850)
    device = services.device_create(venue=venue, name="Bar tablet", kind="tablet", actor=SETUP)
    pin_attempt = PinAttempt.objects.create(venue=venue, device=device, success=False)
    ticket = Ticket.objects.create(
        venue=venue, tab=check, station=station, kind=Ticket.Kind.ORDER, send_batch=1
    )
    TicketItem.objects.create(ticket=ticket, line=line, quantity=2, course=1)
    print_job = PrintJob.objects.create(
        venue=venue,
        ticket=ticket,
        printer=printer,
        target=printer,
        kind=PrintJob.Kind.ORDER,
        payload=b"\x1b@\x1bt\x13GRILL\n2 x Steak frites\n\x1dV\x00",
    )
    drawer = DrawerFactory(venue=venue, name="Bar till")
    drawer_session = DrawerSessionFactory(venue=venue, drawer=drawer, opened_by=manager)
    payment = PaymentFactory(
        tab=check,
        method="cash",
        amount=2000,
        tip=200,
        drawer_session=drawer_session,
        taken_by=server,
    )
    # Rows as registering a reader leaves them (the Stripe side is tested in tests/payments).
    location = TerminalLocation.objects.create(
        venue=venue, stripe_id="tml_admin_test", display_name=venue.name
    )
    reader = CardReader.objects.create(
        venue=venue,
        label="Terrace reader",
        stripe_id="tmr_admin_test",
        location_id=location.stripe_id,
        device_type="simulated_wisepos_e",
    )
    return World(
        venue=venue,
        other=other,
        owner=owner,
        manager=manager,
        server=server,
        area=area,
        table=table,
        tax=tax,
        printer=printer,
        station=station,
        menu=menu,
        category=category,
        item=item,
        group=group,
        modifier=modifier,
        check=check,
        line=line,
        audit=audit,
        other_item=other_item,
        other_tax=other_item.tax_rate,
        device=device,
        pin_attempt=pin_attempt,
        ticket=ticket,
        print_job=print_job,
        drawer=drawer,
        drawer_session=drawer_session,
        payment=payment,
        location=location,
        reader=reader,
    )


def _rows(world: World) -> dict:
    """One existing row of every registered model. A new registered model needs one here."""
    return {
        Venue: world.venue,
        StaffMember: world.owner,
        FloorArea: world.area,
        Table: world.table,
        TaxRate: world.tax,
        Printer: world.printer,
        Station: world.station,
        Menu: world.menu,
        Category: world.category,
        MenuItem: world.item,
        ModifierGroup: world.group,
        Modifier: world.modifier,
        Check: world.check,
        CheckAudit: world.audit,
        Device: world.device,
        PinAttempt: world.pin_attempt,
        Ticket: world.ticket,
        PrintJob: world.print_job,
        Drawer: world.drawer,
        DrawerSession: world.drawer_session,
        Payment: world.payment,
        TerminalLocation: world.location,
        CardReader: world.reader,
        # django.contrib.auth, for the superuser
        world.owner.user.__class__: world.owner.user,
        Group: Group.objects.get_or_create(name="Accountants")[0],
    }


def login(client, staff_or_user):
    user = getattr(staff_or_user, "user", staff_or_user)
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


def _values(forms) -> dict:
    """What a browser posts back for these forms when nothing is changed."""
    data = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is None:
                data[bound.html_name] = ""
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = str(value)
    return data


def change_form_data(response) -> dict:
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    return _values(forms)


def changelist_form_data(response) -> dict:
    formset = response.context["cl"].formset
    return _values([formset.management_form, *formset.forms])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Every page renders ------------------------------------------------------------------------


def test_every_registered_model_has_a_row_to_show(world):
    missing = [_label(m) for m in REGISTERED if m not in _rows(world)]
    assert not missing, f"add a row for {missing} to _rows() in this file"


def test_every_model_reaches_its_venue(world):
    assert venue_lookup(Modifier) == "group__venue"
    assert venue_lookup(LineModifier) == "line__tab__venue"
    assert venue_lookup(world.owner.user.__class__) is None  # not venue-scoped
    line_modifier = world.line.modifiers.first()
    for row in [*_rows(world).values(), world.line, line_modifier]:
        if venue_lookup(type(row)) is not None:
            assert venue_of(row) == world.venue, row
            assert venue_id_of(row) == world.venue.pk, row


def test_admin_index_renders_for_owner(client, world):
    response = login(client, world.owner).get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    for model in VENUE_MODELS:
        assert capfirst(str(model._meta.verbose_name_plural)) in page
    # Django's own users and groups are not for venue owners.
    assert reverse("admin:auth_user_changelist") not in page


@pytest.mark.parametrize("model", VENUE_MODELS, ids=_label)
def test_owner_pages_render(client, world, model):
    login(client, world.owner)
    row = _rows(world)[model]

    response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1

    response = client.get(url(model, "add"))
    assert response.status_code == (403 if model in OWNER_CANNOT_ADD else 200)

    response = client.get(url(model, "change", row.pk))
    assert response.status_code == 200
    assert response.context["original"] == row


class _FakeRequest:
    """Enough of a request for has_add_permission()."""

    def __init__(self, user):
        self.user = user


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_superuser_pages_render(client, world, superuser, model):
    login(client, superuser)
    row = _rows(world)[model]
    assert client.get(url(model, "changelist")).status_code == 200
    if admin.site._registry[model].has_add_permission(_FakeRequest(superuser)):
        assert client.get(url(model, "add")).status_code == 200
    assert client.get(url(model, "change", row.pk)).status_code == 200


def test_owner_cannot_use_django_user_admin(client, world):
    login(client, world.owner)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(
        url(world.owner.user.__class__, "change", world.owner.user.pk)
    ).status_code == (403)


def test_lists_show_money_in_the_venue_currency(client, world, superuser):
    world.other.currency = "USD"
    world.other.save()
    fries = ModifierGroupFactory(venue=world.other, name="Fries")
    ModifierFactory(group=fries, name="Large", price_delta=75)
    # The manager sees formatted prices (the owner gets inputs instead, see below).
    response = login(client, world.manager).get(url(MenuItem, "changelist"))
    assert "€ 24.50" in response.content.decode()
    # A superuser sees both venues, each in its own currency, with a venue column.
    client.logout()
    response = login(client, superuser).get(url(Modifier, "changelist"))
    page = response.content.decode()
    assert "+€ 1.50" in page and "+$ 0.75" in page
    assert "venue" in response.context["cl"].list_display


def test_changelists_do_not_query_per_row(client, world):
    def queries(model) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(model, "changelist")).status_code == 200
        return len(ctx)

    models = [MenuItem, Modifier, Category, Menu, StaffMember, Table, Check, CheckAudit]
    login(client, world.owner)
    before = {_label(m): queries(m) for m in models}
    for n in range(5):
        item = MenuItemFactory(venue=world.venue, category=world.category, tax_rate=world.tax)
        ModifierFactory(group=world.group)
        MenuFactory(venue=world.venue)
        CategoryFactory(venue=world.venue, menu=world.menu)
        staff_user(world.venue, Role.SERVER)
        TableFactory(venue=world.venue, area=world.area)
        check = Check.objects.create(
            venue=world.venue, number=100 + n, kind=Check.Kind.TAKEAWAY, server=world.server
        )
        line = OrderLine.objects.create(
            tab=check,
            menu_item=item,
            name=item.name,
            plu=item.plu,
            unit_price=item.price,
            tax_rate=Decimal("9"),
            tax_code="B",
        )
        LineModifier.objects.create(line=line, group_name="G", name="M", price_delta=50)
        CheckAudit.objects.create(venue=world.venue, tab=check, actor=world.server, action="open")
    after = {_label(m): queries(m) for m in models}
    assert after == before


# --- Roles -------------------------------------------------------------------------------------


def test_manager_views_menus_but_cannot_change_items(client, world):
    login(client, world.manager)
    assert client.get(url(Menu, "changelist")).status_code == 200
    assert client.get(url(Menu, "change", world.menu.pk)).status_code == 200
    assert client.get(url(MenuItem, "add")).status_code == 403

    response = client.get(url(MenuItem, "change", world.item.pk))
    assert response.status_code == 200
    assert response.context["title"].startswith("View")

    response = client.post(
        url(MenuItem, "change", world.item.pk), {"name": "Cheap steak", "price": "1.00"}
    )
    assert response.status_code == 403
    world.item.refresh_from_db()
    assert (world.item.name, world.item.price) == ("Steak frites", 2450)

    response = client.post(url(MenuItem, "delete", world.item.pk), {"post": "yes"})
    assert response.status_code == 403
    assert MenuItem.objects.filter(pk=world.item.pk).exists()


def test_manager_edits_floor_but_not_staff(client, world):
    login(client, world.manager)
    response = client.get(url(Table, "change", world.table.pk))
    data = change_form_data(response)
    data["seats"] = "6"
    response = client.post(url(Table, "change", world.table.pk), data)
    assert response.status_code == 302
    world.table.refresh_from_db()
    assert world.table.seats == 6

    assert client.get(url(StaffMember, "add")).status_code == 403
    response = client.post(
        url(StaffMember, "change", world.server.pk), {"display_name": "X", "role": "owner"}
    )
    assert response.status_code == 403
    world.server.refresh_from_db()
    assert world.server.role == Role.SERVER


def test_manager_can_86_items_but_not_change_prices(client, world):
    login(client, world.manager)
    response = client.post(
        url(MenuItem, "changelist"),
        {"action": "eighty_six", "_selected_action": [world.item.pk], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    world.item.refresh_from_db()
    assert world.item.is_available is False

    # The price action is not offered to a manager, and posting it anyway does nothing.
    response = client.get(url(MenuItem, "changelist"))
    choices = dict(response.context["action_form"].fields["action"].choices)
    assert "eighty_six" in choices and "change_prices" not in choices
    client.post(
        url(MenuItem, "changelist"),
        {
            "action": "change_prices",
            "_selected_action": [world.item.pk],
            "percent": "50",
            "apply": "1",
        },
    )
    world.item.refresh_from_db()
    assert world.item.price == 2450


def test_server_cannot_reach_the_admin(client, world):
    staff = services.staff_create(
        venue=world.venue,
        username="sam2",
        display_name="Sam",
        role=Role.SERVER,
        pin="4321",
        actor=SETUP,
    )
    login(client, staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    response = client.get(url(MenuItem, "changelist"))
    assert response.status_code == 302


def test_staff_flag_without_an_owner_or_manager_profile_gives_nothing(client, world):
    cook = staff_user(world.venue, Role.KITCHEN, is_staff=True)
    login(client, cook)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["app_list"] == []
    assert client.get(url(MenuItem, "changelist")).status_code == 403
    assert client.get(url(MenuItem, "change", world.item.pk)).status_code == 403
    response = client.post(
        url(MenuItem, "changelist"),
        {"action": "eighty_six", "_selected_action": [world.item.pk], "index": "0"},
    )
    assert response.status_code == 403
    world.item.refresh_from_db()
    assert world.item.is_available is True


def test_inactive_owner_profile_gives_nothing(client, world):
    world.owner.is_active = False
    world.owner.save()
    login(client, world.owner)
    assert client.get(url(MenuItem, "changelist")).status_code == 403


# --- Venue scoping -----------------------------------------------------------------------------


def test_owner_sees_only_their_venue(client, world):
    login(client, world.owner)
    response = client.get(url(MenuItem, "changelist"))
    page = response.content.decode()
    assert "Steak frites" in page
    assert "Currywurst" not in page
    assert list(response.context["cl"].result_list) == [world.item]

    response = client.get(url(MenuItem, "change", world.other_item.pk))
    assert response.status_code == 302  # "does not exist", back to the index

    data = {"name": "Hacked", "price": "0.01", "plu": "CW"}
    response = client.post(url(MenuItem, "change", world.other_item.pk), data)
    assert response.status_code in (302, 403, 404)
    world.other_item.refresh_from_db()
    assert (world.other_item.name, world.other_item.price) == ("Currywurst", 850)

    response = client.get(url(Venue, "changelist"))
    assert list(response.context["cl"].result_list) == [world.venue]
    response = client.get(url(Check, "changelist"))
    assert list(response.context["cl"].result_list) == [world.check]


def test_owner_edits_their_venue_but_not_its_slug(client, world):
    login(client, world.owner)
    response = client.get(url(Venue, "change", world.venue.pk))
    assert "slug" not in response.context["adminform"].form.fields
    data = change_form_data(response)
    data.update({"name": "Bistro Mokum", "slug": "hijacked"})
    response = client.post(url(Venue, "change", world.venue.pk), data)
    assert response.status_code == 302
    world.venue.refresh_from_db()
    assert world.venue.name == "Bistro Mokum"
    assert world.venue.slug != "hijacked"
    assert client.post(url(Venue, "delete", world.venue.pk), {"post": "yes"}).status_code == 403

    client.logout()
    login(client, world.manager)
    response = client.post(url(Venue, "change", world.venue.pk), {"name": "Max's"})
    assert response.status_code == 403
    world.venue.refresh_from_db()
    assert world.venue.name == "Bistro Mokum"


def test_owner_choices_are_limited_to_their_venue(client, world):
    login(client, world.owner)
    response = client.get(url(MenuItem, "add"))
    form = response.context["adminform"].form
    assert list(form.fields["venue"].queryset) == [world.venue]
    assert form.initial["venue"] == world.venue.pk
    assert list(form.fields["tax_rate"].queryset) == [world.tax]
    assert world.other_item.category not in form.fields["category"].queryset

    # Posting another venue's tax rate anyway is refused and creates nothing.
    data = {
        "venue": world.venue.pk,
        "category": world.category.pk,
        "name": "Soup",
        "plu": "SOUP",
        "price": "6.50",
        "tax_rate": world.other_tax.pk,
        "prep_minutes": "0",
        "default_course": "1",
        "sort_order": "0",
        "is_active": "on",
        "group_links-TOTAL_FORMS": "0",
        "group_links-INITIAL_FORMS": "0",
    }
    response = client.post(url(MenuItem, "add"), data)
    assert response.status_code == 200
    assert "tax_rate" in response.context["adminform"].form.errors
    assert not MenuItem.objects.filter(plu="SOUP").exists()

    data["tax_rate"] = world.tax.pk
    response = client.post(url(MenuItem, "add"), data)
    assert response.status_code == 302
    soup = MenuItem.objects.get(plu="SOUP")
    assert (soup.venue, soup.price, soup.is_available) == (world.venue, 650, True)


def test_owner_of_two_venues_cannot_mix_them_in_one_row(client, world):
    StaffFactory(venue=world.other, user=world.owner.user, role=Role.OWNER)
    login(client, world.owner)
    response = client.get(url(MenuItem, "changelist"))
    assert set(response.context["cl"].result_list) == {world.item, world.other_item}

    response = client.get(url(MenuItem, "change", world.item.pk))
    form = response.context["adminform"].form
    assert list(form.fields["tax_rate"].queryset) == [world.tax]  # narrowed to the row's venue
    data = change_form_data(response)
    data["tax_rate"] = str(world.other_tax.pk)
    response = client.post(url(MenuItem, "change", world.item.pk), data)
    assert response.status_code == 200
    assert "tax_rate" in response.context["adminform"].form.errors
    world.item.refresh_from_db()
    assert world.item.tax_rate == world.tax

    # Adding offers both venues' choices; a row mixing them is refused.
    data = {
        "venue": world.venue.pk,
        "category": world.category.pk,
        "name": "Soup",
        "plu": "SOUP",
        "price": "6.50",
        "tax_rate": world.other_tax.pk,
        "prep_minutes": "0",
        "default_course": "1",
        "sort_order": "0",
        "group_links-TOTAL_FORMS": "1",
        "group_links-INITIAL_FORMS": "0",
        "group_links-0-group": ModifierGroupFactory(venue=world.other).pk,
        "group_links-0-sort_order": "0",
    }
    response = client.post(url(MenuItem, "add"), data)
    assert response.status_code == 200
    assert "tax_rate" in response.context["adminform"].form.errors
    inline_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert "group" in inline_form.errors
    assert not MenuItem.objects.filter(plu="SOUP").exists()


def test_owner_and_manager_at_two_venues_gets_each_role_per_venue(client, world):
    StaffFactory(venue=world.other, user=world.manager.user, role=Role.OWNER)
    login(client, world.manager)  # manager at A, owner at B
    assert client.get(url(MenuItem, "add")).status_code == 200
    response = client.get(url(MenuItem, "add"))
    assert list(response.context["adminform"].form.fields["venue"].queryset) == [world.other]

    response = client.post(url(MenuItem, "change", world.item.pk), {"name": "X"})
    assert response.status_code == 403

    # A bulk price change over both venues changes nothing: the manager may not at A.
    response = client.post(
        url(MenuItem, "changelist"),
        {
            "action": "change_prices",
            "_selected_action": [world.item.pk, world.other_item.pk],
            "percent": "10",
            "round_to": "",
            "apply": "1",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    world.item.refresh_from_db()
    world.other_item.refresh_from_db()
    assert (world.item.price, world.other_item.price) == (2450, 850)


def test_superuser_sees_every_venue(client, world, superuser):
    response = login(client, superuser).get(url(MenuItem, "changelist"))
    assert set(response.context["cl"].result_list) == {world.item, world.other_item}
    assert "venue" in response.context["cl"].list_display


# --- Editing through forms ---------------------------------------------------------------------


def test_item_price_is_edited_as_money(client, world):
    login(client, world.owner)
    response = client.get(url(MenuItem, "change", world.item.pk))
    data = change_form_data(response)
    assert data["price"] == "24.50"
    data["price"] = "26.75"
    response = client.post(url(MenuItem, "change", world.item.pk), data)
    assert response.status_code == 302
    world.item.refresh_from_db()
    assert world.item.price == 2675
    assert world.item.group_links.get().group == world.group  # the inline survived

    data["price"] = "26.755"
    response = client.post(url(MenuItem, "change", world.item.pk), data)
    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    world.item.refresh_from_db()
    assert world.item.price == 2675


def test_duplicate_plu_is_a_form_error(client, world):
    MenuItemFactory(venue=world.venue, category=world.category, tax_rate=world.tax, plu="DUP")
    login(client, world.owner)
    response = client.get(url(MenuItem, "change", world.item.pk))
    data = change_form_data(response)
    data["plu"] = "DUP"
    response = client.post(url(MenuItem, "change", world.item.pk), data)
    assert response.status_code == 200
    assert response.context["errors"]
    world.item.refresh_from_db()
    assert world.item.plu == "STK"


def test_list_editable_price_for_owner(client, world):
    login(client, world.owner)
    response = client.get(url(MenuItem, "changelist"))
    data = changelist_form_data(response)
    assert data["form-0-price"] == "24.50"
    data["form-0-price"] = "25.00"
    data["_save"] = "Save"
    response = client.post(url(MenuItem, "changelist"), data)
    assert response.status_code == 302
    world.item.refresh_from_db()
    assert world.item.price == 2500


def test_list_editable_checks_each_rows_venue(client, world):
    StaffFactory(venue=world.other, user=world.manager.user, role=Role.OWNER)
    login(client, world.manager)  # manager at A (may not edit items), owner at B
    response = client.get(url(MenuItem, "changelist"))
    data = changelist_form_data(response)
    row = next(
        k[: -len("-id")] for k, v in data.items() if k.endswith("-id") and v == str(world.item.pk)
    )
    data[f"{row}-price"] = "1.00"
    data["_save"] = "Save"
    response = client.post(url(MenuItem, "changelist"), data)
    assert response.status_code == 200
    assert response.context["cl"].formset.non_form_errors()
    world.item.refresh_from_db()
    assert world.item.price == 2450


def test_menu_window_weekdays_are_checkboxes(client, world):
    login(client, world.owner)
    response = client.get(url(Menu, "change", world.menu.pk))
    data = change_form_data(response)
    data["windows-0-weekdays"] = ["4", "5"]
    response = client.post(url(Menu, "change", world.menu.pk), data)
    assert response.status_code == 302
    assert world.menu.windows.get().weekdays == [4, 5]


def test_modifier_group_with_modifiers_inline(client, world):
    login(client, world.owner)
    response = client.get(url(ModifierGroup, "change", world.group.pk))
    data = change_form_data(response)
    assert data["modifiers-0-price_delta"] == "1.50"
    data.update(
        {
            "modifiers-TOTAL_FORMS": "2",
            "modifiers-1-name": "Well done",
            "modifiers-1-plu": "",
            "modifiers-1-price_delta": "-0.50",
            "modifiers-1-sort_order": "1",
            "modifiers-1-group": str(world.group.pk),
        }
    )
    response = client.post(url(ModifierGroup, "change", world.group.pk), data)
    assert response.status_code == 302
    assert world.group.modifiers.get(name="Well done").price_delta == -50


# --- 86 actions --------------------------------------------------------------------------------


def test_86_and_un_86_items(client, world):
    second = MenuItemFactory(venue=world.venue, category=world.category, tax_rate=world.tax)
    login(client, world.owner)
    changelist = url(MenuItem, "changelist")
    response = client.post(
        changelist,
        {"action": "eighty_six", "_selected_action": [world.item.pk, second.pk], "index": "0"},
        follow=True,
    )
    assert "2 items are 86'd." in messages_of(response)
    assert not MenuItem.objects.filter(pk__in=[world.item.pk, second.pk], is_available=True)

    response = client.post(
        changelist,
        {"action": "un_eighty_six", "_selected_action": [world.item.pk], "index": "0"},
        follow=True,
    )
    assert "1 item is available again." in messages_of(response)
    world.item.refresh_from_db()
    second.refresh_from_db()
    assert (world.item.is_available, second.is_available) == (True, False)


def test_un_86_of_an_item_out_of_stock_is_refused(client, world):
    sold_out = MenuItemFactory(
        venue=world.venue,
        category=world.category,
        tax_rate=world.tax,
        name="Daily special",
        is_available=False,
        stock_count=0,
    )
    login(client, world.owner)
    response = client.post(
        url(MenuItem, "changelist"),
        {"action": "un_eighty_six", "_selected_action": [sold_out.pk], "index": "0"},
        follow=True,
    )
    assert any("Daily special has no stock left" in m for m in messages_of(response))
    sold_out.refresh_from_db()
    assert sold_out.is_available is False
    assert sold_out.stock_count == 0


def test_availability_is_not_a_form_field(client, world):
    """86 goes through the service (stock rule, and the event it will publish)."""
    login(client, world.owner)
    response = client.get(url(MenuItem, "change", world.item.pk))
    assert "is_available" not in response.context["adminform"].form.fields
    data = change_form_data(response)
    data["is_available"] = ""
    client.post(url(MenuItem, "change", world.item.pk), data)
    world.item.refresh_from_db()
    assert world.item.is_available is True


def test_86_and_un_86_modifiers(client, world):
    login(client, world.manager)
    changelist = url(Modifier, "changelist")
    client.post(
        changelist,
        {"action": "eighty_six", "_selected_action": [world.modifier.pk], "index": "0"},
    )
    world.modifier.refresh_from_db()
    assert world.modifier.is_available is False
    response = client.post(
        changelist,
        {"action": "un_eighty_six", "_selected_action": [world.modifier.pk], "index": "0"},
        follow=True,
    )
    assert "1 modifier is available again." in messages_of(response)
    world.modifier.refresh_from_db()
    assert world.modifier.is_available is True


# --- Bulk price change -------------------------------------------------------------------------


def _price_items(world, *prices):
    return [
        MenuItemFactory(venue=world.venue, category=world.category, tax_rate=world.tax, price=p)
        for p in prices
    ]


def test_change_prices_asks_first(client, world):
    items = _price_items(world, 1234, 995)
    login(client, world.owner)
    response = client.post(
        url(MenuItem, "changelist"),
        {"action": "change_prices", "_selected_action": [i.pk for i in items], "index": "0"},
    )
    assert response.status_code == 200
    assert response.templates[0].name == "admin/restaurant/menuitem/change_prices.html"
    page = response.content.decode()
    assert "€ 12.34" in page and "€ 9.95" in page
    assert [i.price for i in MenuItem.objects.filter(pk__in=[i.pk for i in items])] == [1234, 995]


def test_change_prices_by_percent_with_rounding(client, world):
    items = _price_items(world, 1234, 995)
    ids = [i.pk for i in items]
    login(client, world.owner)
    data = {
        "action": "change_prices",
        "_selected_action": ids,
        "percent": "10",
        "amount": "",
        "round_to": "0.50",
    }
    # Preview: shows the new prices, changes nothing.
    response = client.post(url(MenuItem, "changelist"), {**data, "preview": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "€ 13.50" in page and "€ 11.00" in page
    assert sorted(MenuItem.objects.filter(pk__in=ids).values_list("price", flat=True)) == [
        995,
        1234,
    ]

    response = client.post(url(MenuItem, "changelist"), {**data, "apply": "1"}, follow=True)
    assert "The prices of 2 items were changed." in messages_of(response)
    # 12.34 * 1.1 = 13.574 -> 13.50; 9.95 * 1.1 = 10.945 -> 11.00
    assert dict(MenuItem.objects.filter(pk__in=ids).values_list("pk", "price")) == {
        items[0].pk: 1350,
        items[1].pk: 1100,
    }


def test_change_prices_by_amount(client, world):
    (item,) = _price_items(world, 1000)
    login(client, world.owner)
    client.post(
        url(MenuItem, "changelist"),
        {
            "action": "change_prices",
            "_selected_action": [item.pk],
            "amount": "0,50",
            "apply": "1",
        },
    )
    item.refresh_from_db()
    assert item.price == 1050


def test_change_prices_making_a_price_negative_changes_nothing(client, world):
    items = _price_items(world, 1000, 300)
    ids = [i.pk for i in items]
    login(client, world.owner)
    response = client.post(
        url(MenuItem, "changelist"),
        {"action": "change_prices", "_selected_action": ids, "amount": "-5.00", "apply": "1"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("would be negative" in e for e in errors)
    assert dict(MenuItem.objects.filter(pk__in=ids).values_list("pk", "price")) == {
        items[0].pk: 1000,
        items[1].pk: 300,
    }


def test_change_prices_needs_percent_or_amount(client, world):
    (item,) = _price_items(world, 1000)
    login(client, world.owner)
    for extra in ({}, {"percent": "5", "amount": "1.00"}, {"amount": "0.001"}):
        response = client.post(
            url(MenuItem, "changelist"),
            {"action": "change_prices", "_selected_action": [item.pk], "apply": "1", **extra},
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors
    item.refresh_from_db()
    assert item.price == 1000


# --- Staff and PINs ----------------------------------------------------------------------------


def _staff_add_data(world, **overrides):
    data = {
        "venue": world.venue.pk,
        "username": "lotte",
        "display_name": "Lotte",
        "role": Role.SERVER,
        "pin": "5678",
        "pin_confirm": "5678",
        "email": "",
        "password": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_staff_add_page_has_the_service_form(client, world):
    response = login(client, world.owner).get(url(StaffMember, "add"))
    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert {"venue", "username", "display_name", "role", "pin", "pin_confirm"} <= set(fields)
    assert response.context["adminform"].form["venue"].value() == world.venue.pk


def test_staff_add_creates_a_profile_whose_pin_works(client, world):
    login(client, world.owner)
    response = client.post(url(StaffMember, "add"), _staff_add_data(world))
    assert response.status_code == 302
    staff = StaffMember.objects.get(venue=world.venue, display_name="Lotte")
    assert staff.user.username == "lotte"
    assert staff.role == Role.SERVER
    assert staff.user.is_staff is False
    assert services.staff_by_pin(venue=world.venue, pin="5678") == staff
    assert "5678" not in staff.pin_digest


def test_staff_add_manager_with_password_can_sign_in(client, world):
    login(client, world.owner)
    data = _staff_add_data(
        world, username="mira", role=Role.MANAGER, password="a-long-Pass-phrase-42"
    )
    response = client.post(url(StaffMember, "add"), data)
    assert response.status_code == 302
    staff = StaffMember.objects.get(user__username="mira")
    assert staff.user.is_staff is True
    assert staff.user.check_password("a-long-Pass-phrase-42")
    client.logout()
    login(client, staff)
    assert client.get(url(Menu, "changelist")).status_code == 200


def test_staff_add_with_a_taken_pin_shows_the_error_and_creates_nothing(client, world):
    login(client, world.owner)
    users_before = world.owner.user.__class__.objects.count()
    response = client.post(
        url(StaffMember, "add"), _staff_add_data(world, pin="3333", pin_confirm="3333")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "already used" in str(form.errors["pin"])
    assert not StaffMember.objects.filter(display_name="Lotte").exists()
    assert world.owner.user.__class__.objects.count() == users_before


def test_staff_add_validates_input(client, world):
    login(client, world.owner)
    cases = [
        ({"pin": "12", "pin_confirm": "12"}, "pin"),
        ({"pin": "12ab", "pin_confirm": "12ab"}, "pin"),
        ({"pin_confirm": "9999"}, "pin_confirm"),
        ({"username": world.server.user.username}, "username"),  # already staff here
        ({"password": "a-long-Pass-phrase-42"}, "password"),  # servers have no password
        ({"venue": world.other.pk}, "venue"),  # not the owner's venue
    ]
    for overrides, field in cases:
        response = client.post(url(StaffMember, "add"), _staff_add_data(world, **overrides))
        assert response.status_code == 200, overrides
        assert field in response.context["adminform"].form.errors, overrides
    assert not StaffMember.objects.filter(display_name="Lotte").exists()


def test_staff_change_page_never_shows_the_pin(client, world):
    response = login(client, world.owner).get(url(StaffMember, "change", world.server.pk))
    page = response.content.decode()
    assert world.server.pin_digest not in page
    assert "pin_digest" not in response.context["adminform"].form.fields
    assert reverse("admin:restaurant_staffmember_reset_pin", args=[world.server.pk]) in page


def test_reset_pin(client, world):
    login(client, world.owner)
    reset = reverse("admin:restaurant_staffmember_reset_pin", args=[world.server.pk])
    assert client.get(reset).status_code == 200

    response = client.post(reset, {"pin": "7777", "pin_confirm": "7778"})
    assert response.status_code == 200
    assert "pin_confirm" in response.context["adminform"].form.errors

    response = client.post(reset, {"pin": "2222", "pin_confirm": "2222"})  # the manager's
    assert response.status_code == 200
    assert "already used" in str(response.context["adminform"].form.errors["pin"])
    assert services.staff_by_pin(venue=world.venue, pin="3333") == world.server

    response = client.post(reset, {"pin": "7777", "pin_confirm": "7777"}, follow=True)
    assert response.redirect_chain[-1][0] == url(StaffMember, "change", world.server.pk)
    assert "The PIN of Sam was changed." in messages_of(response)
    assert services.staff_by_pin(venue=world.venue, pin="7777") == world.server
    assert services.staff_by_pin(venue=world.venue, pin="3333") is None


def test_manager_cannot_reset_pins(client, world):
    login(client, world.manager)
    reset = reverse("admin:restaurant_staffmember_reset_pin", args=[world.server.pk])
    response = client.post(reset, {"pin": "7777", "pin_confirm": "7777"})
    assert response.status_code == 403
    assert services.staff_by_pin(venue=world.venue, pin="3333") == world.server


def test_owner_cannot_reset_pins_at_another_venue(client, world):
    stranger = staff_user(world.other, Role.SERVER, pin="3333")
    login(client, world.owner)
    reset = reverse("admin:restaurant_staffmember_reset_pin", args=[stranger.pk])
    response = client.post(reset, {"pin": "7777", "pin_confirm": "7777"})
    assert response.status_code == 302
    assert services.staff_by_pin(venue=world.other, pin="3333") == stranger


def test_promoting_staff_lets_them_sign_in(client, world):
    login(client, world.owner)
    response = client.get(url(StaffMember, "change", world.server.pk))
    data = change_form_data(response)
    data["role"] = Role.MANAGER
    response = client.post(url(StaffMember, "change", world.server.pk), data)
    assert response.status_code == 302
    world.server.refresh_from_db()
    assert world.server.role == Role.MANAGER
    assert world.server.user.is_staff is True


def test_the_last_owner_cannot_demote_or_delete_themselves(client, world):
    login(client, world.owner)
    response = client.get(url(StaffMember, "change", world.owner.pk))
    data = change_form_data(response)
    data["role"] = Role.MANAGER
    response = client.post(url(StaffMember, "change", world.owner.pk), data)
    assert response.status_code == 200
    assert "at least one active owner" in str(response.context["adminform"].form.errors)
    world.owner.refresh_from_db()
    assert world.owner.role == Role.OWNER

    response = client.post(url(StaffMember, "delete", world.owner.pk), {"post": "yes"})
    assert response.status_code == 403
    assert StaffMember.objects.filter(pk=world.owner.pk).exists()


# --- Checks: read-only -------------------------------------------------------------------------


def test_check_page_shows_lines_modifiers_audit_and_totals(client, world):
    login(client, world.manager)
    response = client.get(url(Check, "change", world.check.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Steak frites" in page
    assert "Medium rare (+€ 1.50)" in page
    assert "Pepper sauce" in page
    assert "line_add" in page
    assert "€ 52.00" in page  # 2 x (24.50 + 1.50)
    assert response.context["title"].startswith("View")


def test_check_page_shows_comps_and_discounts(client, world):
    Adjustment.objects.create(
        tab=world.check,
        kind=Adjustment.Kind.DISCOUNT,
        percent=Decimal("10"),
        reason="Regulars",
        actor=world.manager,
    )
    response = login(client, world.owner).get(url(Check, "change", world.check.pk))
    page = response.content.decode()
    assert "Regulars" in page
    assert "-€ 5.20" in page
    assert "€ 46.80" in page  # 52.00 less 10%
    response = client.get(url(Check, "changelist"))
    assert "€ 46.80" in response.content.decode()


def test_checks_cannot_be_changed_in_the_admin(client, world, superuser):
    for user in (world.owner.user, superuser):
        login(client, user)
        assert client.get(url(Check, "add")).status_code == 403
        response = client.post(
            url(Check, "change", world.check.pk), {"guest_count": "9", "status": "closed"}
        )
        assert response.status_code == 403
        assert client.post(url(Check, "delete", world.check.pk), {"post": "yes"}).status_code == 403
        assert client.post(
            url(CheckAudit, "change", world.audit.pk), {"action": "x"}
        ).status_code == (403)
    world.check.refresh_from_db()
    assert (world.check.guest_count, world.check.status) == (2, Check.Status.OPEN)
    assert CheckAudit.objects.get(pk=world.audit.pk).action == "line_add"


def test_check_search_by_number(client, world):
    login(client, world.owner)
    response = client.get(url(Check, "changelist"), {"q": "7"})
    assert list(response.context["cl"].result_list) == [world.check]
    response = client.get(url(Check, "changelist"), {"q": "8"})
    assert list(response.context["cl"].result_list) == []


def test_staff_search_by_name(client, world):
    login(client, world.owner)
    response = client.get(url(StaffMember, "changelist"), {"q": "Max"})
    assert list(response.context["cl"].result_list) == [world.manager]


def test_opened_time_is_shown_in_the_venue_timezone(client, world):
    opened = datetime.datetime(2026, 7, 1, 18, 30, tzinfo=datetime.UTC)
    Check.objects.filter(pk=world.check.pk).update(opened_at=opened)
    world.venue.timezone = "America/New_York"
    world.venue.save()
    response = login(client, world.owner).get(url(Check, "changelist"))
    local = timezone.localtime(opened, world.venue.tzinfo)
    assert local.hour == 14
    assert "2:30 p.m." in response.content.decode()


def test_owner_adds_a_device_and_sees_its_pairing_code(client, world):
    login(client, world.owner)
    response = client.post(
        reverse("admin:restaurant_device_add"),
        {
            "venue": world.venue.pk,
            "name": "Grill screen",
            "kind": "kds",
            "station": world.station.pk,
        },
    )
    assert response.status_code == 302
    device = Device.objects.get(name="Grill screen")
    assert len(device.pairing_code) == 6 and not device.token_digest
    page = client.get(reverse("admin:restaurant_device_change", args=[device.pk]))
    assert device.pairing_code in page.content.decode()
    paired, token = services.device_pair(code=device.pairing_code)
    assert services.device_by_token(token) == paired
    client.post(
        reverse("admin:restaurant_device_changelist"),
        {"action": "revoke", "_selected_action": [device.pk]},
    )
    assert services.device_by_token(token) is None
