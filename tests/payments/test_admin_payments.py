"""The money back office (payments/admin.py): drawers, the drawer variance report, the payment
list with its totals and tips by server, and the check's payments and receipts.

Real users of each role logged in to the real admin; drawers are opened, counted and closed
through payments/services.py, and a check is paid through it too.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from orders.models import Check, OrderLine
from payments import services
from payments.models import Drawer, DrawerSession, Payment, Receipt
from restaurant.models import Printer, StaffMember, Venue
from restaurant.money import format_money
from tests.factories import (
    DrawerFactory,
    DrawerSessionFactory,
    MenuItemFactory,
    PaymentFactory,
    PrinterFactory,
    StaffFactory,
    UserFactory,
    VenueFactory,
)

Role = StaffMember.Role


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def staff_user(venue, role, *, is_staff=None, **kwargs) -> StaffMember:
    if is_staff is None:
        is_staff = role in (Role.OWNER, Role.MANAGER)
    return StaffFactory(venue=venue, user=UserFactory(is_staff=is_staff), role=role, **kwargs)


def login(client, staff_or_user):
    client.force_login(getattr(staff_or_user, "user", staff_or_user))
    return client


def euro(amount: int) -> str:
    return format_money(amount, "EUR")


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each cell, row by row, of the table with this id."""
    match = re.search(rf'<table id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    return [
        [strip_tags(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(0), re.S)
    ]


@dataclass
class Shop:
    venue: Venue
    other: Venue
    owner: StaffMember
    manager: StaffMember
    sam: StaffMember
    mia: StaffMember
    receipt_printer: Printer
    kitchen_printer: Printer
    other_printer: Printer

    def check(self, server: StaffMember, number: int, **kwargs) -> Check:
        return Check.objects.create(
            venue=server.venue, number=number, kind=Check.Kind.TAKEAWAY, server=server, **kwargs
        )


@pytest.fixture
def shop(db) -> Shop:
    venue = VenueFactory(name="Bistro Amsterdam", cash_rounding=5)
    other = VenueFactory(name="Bistro Berlin")
    return Shop(
        venue=venue,
        other=other,
        owner=staff_user(venue, Role.OWNER, display_name="Olga"),
        manager=staff_user(venue, Role.MANAGER, display_name="Max"),
        sam=staff_user(venue, Role.SERVER, display_name="Sam"),
        mia=staff_user(venue, Role.SERVER, display_name="Mia"),
        receipt_printer=PrinterFactory(venue=venue, name="Bar receipts", role="receipt"),
        kitchen_printer=PrinterFactory(venue=venue, name="Grill tickets", role="kitchen"),
        other_printer=PrinterFactory(venue=other, name="Berlin receipts", role="receipt"),
    )


# --- Drawers ------------------------------------------------------------------------------------


def test_owner_adds_a_drawer_with_a_receipt_printer(client, shop):
    login(client, shop.owner)
    response = client.get(url(Drawer, "add"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["venue"] == shop.venue.pk
    response = client.post(
        url(Drawer, "add"),
        {
            "venue": shop.venue.pk,
            "name": "Front till",
            "printer": shop.receipt_printer.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    drawer = Drawer.objects.get(name="Front till")
    assert (drawer.venue, drawer.printer, drawer.is_active) == (
        shop.venue,
        shop.receipt_printer,
        True,
    )


def test_drawer_printer_choices_are_the_venues_receipt_printers(client, shop):
    login(client, shop.owner)
    form = client.get(url(Drawer, "add")).context["adminform"].form
    assert list(form.fields["printer"].queryset) == [shop.receipt_printer]

    # Another venue's printer, or a kitchen printer, posted anyway: refused, nothing made.
    for printer in (shop.other_printer, shop.kitchen_printer):
        response = client.post(
            url(Drawer, "add"),
            {"venue": shop.venue.pk, "name": "Sneaky", "printer": printer.pk, "is_active": "on"},
        )
        assert response.status_code == 200
        assert "printer" in response.context["adminform"].form.errors
    assert not Drawer.objects.filter(name="Sneaky").exists()

    # An owner of both venues is offered both venues' receipt printers when adding, but an
    # existing drawer only its own venue's, and a drawer never mixes venues.
    StaffFactory(venue=shop.other, user=shop.owner.user, role=Role.OWNER)
    form = client.get(url(Drawer, "add")).context["adminform"].form
    assert set(form.fields["printer"].queryset) == {shop.receipt_printer, shop.other_printer}
    drawer = DrawerFactory(venue=shop.venue, name="Bar till")
    form = client.get(url(Drawer, "change", drawer.pk)).context["adminform"].form
    assert list(form.fields["printer"].queryset) == [shop.receipt_printer]
    response = client.post(
        url(Drawer, "add"),
        {
            "venue": shop.venue.pk,
            "name": "Mixed",
            "printer": shop.other_printer.pk,
            "is_active": "on",
        },
    )
    assert "printer" in response.context["adminform"].form.errors
    assert not Drawer.objects.filter(name="Mixed").exists()


def test_drawer_list_shows_the_open_session(client, shop):
    open_drawer = DrawerFactory(venue=shop.venue, name="Bar till")
    DrawerFactory(venue=shop.venue, name="Terrace till")
    services.drawer_open(drawer=open_drawer, actor=shop.manager, opening_float=15000)
    response = login(client, shop.manager).get(url(Drawer, "changelist"))
    assert response.status_code == 200
    rows = {row[1]: row[2:] for row in table_rows(response.content.decode(), "result_list")[1:]}
    # name, active, printer, session, opened by, since, float, history
    assert rows["Bar till"][2:4] == ["open", "Max"]
    assert rows["Bar till"][5] == euro(15000)
    assert rows["Terrace till"][2:6] == ["closed", "-", "-", "-"]


# --- Drawer sessions: the variance report --------------------------------------------------------


def test_manager_sees_a_short_drawer_in_the_variance_report(client, shop):
    drawer = DrawerFactory(venue=shop.venue, name="Bar till")
    session = services.drawer_open(drawer=drawer, actor=shop.manager, opening_float=10000)
    tab = shop.check(shop.sam, 12)
    cash = {"method": "cash", "drawer_session": session}
    PaymentFactory(tab=tab, amount=2450, tip=300, **cash)
    PaymentFactory(tab=tab, amount=1248, rounding=2, **cash)
    PaymentFactory(tab=tab, amount=5000)  # card: not in the drawer
    PaymentFactory(tab=tab, amount=700, status=Payment.Status.FAILED, **cash)  # never taken
    services.drawer_movement_add(
        session=session, actor=shop.manager, kind="pay_in", amount=2000, reason="Change run"
    )
    services.drawer_movement_add(
        session=session, actor=shop.manager, kind="pay_out", amount=500, reason="Window cleaner"
    )
    expected = 10000 + 2450 + 1248 + 300 + 2 + 2000 - 500
    counted = {"5000": 2, "2000": 2, "1000": 1, "50": 5}  # 152.50
    services.drawer_close(
        session=session, actor=shop.manager, denominations=counted, note="Busy night"
    )
    assert expected == 15500
    still_open = services.drawer_open(
        drawer=DrawerFactory(venue=shop.venue, name="Terrace till"),
        actor=shop.manager,
        opening_float=5000,
    )

    login(client, shop.manager)
    response = client.get(url(DrawerSession, "changelist"))
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {session, still_open}
    page = response.content.decode()
    rows = {row[0]: row[1:] for row in table_rows(page, "result_list")[1:]}
    # (drawer:) opened, opened by, float, expected, counted, variance, closed, closed by, note
    closed = rows["Bar till"]
    assert closed[1:6] == ["Max (Manager)", euro(10000), euro(15500), euro(15250), "-€ 2.50 short"]
    assert closed[7:] == ["Max (Manager)", "Busy night"]
    assert re.search(r'class="variance-short"[^>]*>.*?-€ 2\.50.*?short', page, re.S)
    assert rows["Terrace till"][3:7] == ["-", "-", "-", "still open"]

    response = client.get(url(DrawerSession, "change", session.pk))
    assert response.status_code == 200
    assert response.context["title"].startswith("View")
    page = response.content.decode()
    breakdown = [
        [strip_tags(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(
            r"<tr>(.*?)</tr>",
            re.search(r'<table class="money-breakdown">.*?</table>', page, re.S).group(0),
            re.S,
        )
    ]
    assert breakdown == [
        ["Float", euro(10000)],
        ["Cash sales (2 payments)", euro(3698)],
        ["Cash tips", euro(300)],
        ["Cash rounding", "+€ 0.02"],
        ["Pays in", euro(2000)],
        ["Pays out", "-€ 5.00"],
        ["Expected", euro(15500)],
        ["Counted", euro(15250)],
        ["Variance", "-€ 2.50 short"],
    ]
    assert "€ 50.00 × 2" in page and "€ 0.50 × 5" in page
    assert "Window cleaner" in page and "Change run" in page
    # The inline of cash payments lists the drawer's cash, not the card payment.
    cash_inline = next(
        f for f in response.context["inline_admin_formsets"] if f.opts.model is Payment
    )
    assert {form.original.amount for form in cash_inline} == {2450, 1248, 700}


def test_money_rows_cannot_be_changed_in_the_admin(client, shop):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    session = DrawerSessionFactory(venue=shop.venue, opened_by=shop.manager)
    payment = PaymentFactory(tab=shop.check(shop.sam, 3), amount=1200)
    for user in (shop.owner.user, superuser):
        login(client, user)
        for model, row in ((DrawerSession, session), (Payment, payment)):
            assert client.get(url(model, "add")).status_code == 403
            assert client.get(url(model, "change", row.pk)).status_code == 200
            assert client.post(url(model, "change", row.pk), {"note": "x"}).status_code == 403
            assert client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    session.refresh_from_db()
    payment.refresh_from_db()
    assert (session.status, session.note, payment.amount) == ("open", "", 1200)


def test_server_cannot_see_payments_or_drawers(client, shop):
    tab = shop.check(shop.sam, 5)
    payment = PaymentFactory(tab=tab)
    session = DrawerSessionFactory(venue=shop.venue, opened_by=shop.manager)
    # Even with the staff flag set, a server's role gives no money pages.
    login(client, staff_user(shop.venue, Role.SERVER, is_staff=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["app_list"] == []
    for target in (
        url(Payment, "changelist"),
        url(Payment, "change", payment.pk),
        url(DrawerSession, "changelist"),
        url(DrawerSession, "change", session.pk),
        url(Drawer, "changelist"),
        url(Drawer, "add"),
        url(Check, "change", tab.pk),
    ):
        assert client.get(target).status_code == 403, target
    client.logout()
    # Without it they do not get into the admin at all.
    login(client, shop.sam)
    response = client.get(url(Payment, "changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# --- Payments: totals by method and tips by server ----------------------------------------------


def _expected_summary(payments: list[Payment]):
    """From the created rows: the method table and the tips table, formatted like the page."""
    done = [p for p in payments if p.status == Payment.Status.SUCCEEDED]
    by_method = defaultdict(lambda: [0, 0, 0, 0])
    by_server = defaultdict(lambda: [0, 0, 0])
    for p in done:
        for i, value in enumerate((1, p.amount, p.tip, p.rounding)):
            by_method[p.get_method_display()][i] += value
        for i, value in enumerate((1, p.amount, p.tip)):
            by_server[p.server.display_name][i] += value

    def signed(amount):
        return ("+" if amount > 0 else "") + euro(amount)

    methods = [
        [label, str(n), euro(amount), euro(tip), signed(rounding), euro(amount + tip + rounding)]
        for label, (n, amount, tip, rounding) in sorted(by_method.items())
    ]
    n, amount, tip, rounding = (sum(column) for column in zip(*by_method.values(), strict=True))
    methods.append(
        ["Total", str(n), euro(amount), euro(tip), signed(rounding), euro(amount + tip + rounding)]
    )
    servers = [
        [name, str(n), euro(amount), euro(tip)]
        for name, (n, amount, tip) in sorted(by_server.items(), key=lambda kv: -kv[1][2])
    ]
    return methods, servers


def test_payment_list_totals_by_method_and_tips_by_server(client, shop):
    sams = shop.check(shop.sam, 21)
    mias = shop.check(shop.mia, 22)
    drawer = DrawerSessionFactory(venue=shop.venue, opened_by=shop.manager)
    cash = {"method": "cash", "drawer_session": drawer}
    payments = [
        PaymentFactory(tab=sams, amount=2000, tip=300, tip_percent=Decimal("15")),
        PaymentFactory(tab=sams, amount=1248, tip=0, rounding=2, **cash),
        PaymentFactory(tab=mias, amount=4550, tip=455, taken_by=shop.manager),
        PaymentFactory(tab=mias, amount=1500, tip=150, rounding=-2, **cash),
        PaymentFactory(tab=sams, amount=9999, tip=999, status=Payment.Status.FAILED),
    ]
    # Another venue's takings are not the owner's business.
    berlin = Check.objects.create(
        venue=shop.other,
        number=1,
        kind=Check.Kind.TAKEAWAY,
        server=staff_user(shop.other, Role.SERVER, display_name="Sam"),
    )
    PaymentFactory(tab=berlin, amount=7000, tip=700)

    login(client, shop.owner)
    response = client.get(url(Payment, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 5
    page = response.content.decode()
    methods, servers = _expected_summary(payments)
    assert methods == [
        ["Card", "2", "€ 65.50", "€ 7.55", "€ 0.00", "€ 73.05"],
        ["Cash", "2", "€ 27.48", "€ 1.50", "€ 0.00", "€ 28.98"],
        ["Total", "4", "€ 92.98", "€ 9.05", "€ 0.00", "€ 102.03"],
    ]
    assert table_rows(page, f"payment-methods-{shop.venue.pk}")[1:] == methods
    assert table_rows(page, f"payment-tips-{shop.venue.pk}")[1:] == servers
    assert servers == [["Mia", "2", "€ 60.50", "€ 6.05"], ["Sam", "2", "€ 32.48", "€ 3.00"]]
    assert f"payment-methods-{shop.other.pk}" not in page

    # The list's columns: the check links to its page, the tip shows its percentage.
    rows = table_rows(page, "result_list")
    assert any("#21" in row and "15%" in row and "visa •••• 4242" in row for row in rows)
    assert reverse("admin:orders_check_change", args=[sams.pk]) in page

    # Filtered by server: Sam's rows only.
    response = client.get(url(Payment, "changelist"), {"server__id__exact": shop.sam.pk})
    page = response.content.decode()
    methods, servers = _expected_summary([p for p in payments if p.server == shop.sam])
    assert table_rows(page, f"payment-methods-{shop.venue.pk}")[1:] == methods
    assert (
        table_rows(page, f"payment-tips-{shop.venue.pk}")[1:]
        == servers
        == [["Sam", "2", "€ 32.48", "€ 3.00"]]
    )

    # A day of the date hierarchy: yesterday's payment drops out of the totals.
    yesterday = timezone.now() - datetime.timedelta(days=1)
    Payment.objects.filter(pk=payments[2].pk).update(created_at=yesterday)
    today = timezone.localdate()
    response = client.get(
        url(Payment, "changelist"),
        {
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    methods, servers = _expected_summary([p for i, p in enumerate(payments) if i != 2])
    assert table_rows(page, f"payment-methods-{shop.venue.pk}")[1:] == methods
    assert table_rows(page, f"payment-tips-{shop.venue.pk}")[1:] == servers
    assert servers[0] == ["Sam", "2", "€ 32.48", "€ 3.00"]

    # Nothing succeeded among the rows: no summary.
    response = client.get(url(Payment, "changelist"), {"status__exact": "failed"})
    assert response.context["cl"].result_count == 1
    assert not response.context["payment_summary"]
    assert "payment-methods-" not in response.content.decode()


def test_superuser_gets_a_summary_per_venue_in_its_currency(client, shop):
    shop.other.currency = "USD"
    shop.other.save()
    PaymentFactory(tab=shop.check(shop.sam, 1), amount=1000, tip=100)
    berlin_server = staff_user(shop.other, Role.SERVER, display_name="Ben")
    berlin = Check.objects.create(
        venue=shop.other, number=1, kind=Check.Kind.TAKEAWAY, server=berlin_server
    )
    PaymentFactory(tab=berlin, amount=2000, tip=250)
    login(client, UserFactory(is_staff=True, is_superuser=True))
    page = client.get(url(Payment, "changelist")).content.decode()
    assert table_rows(page, f"payment-tips-{shop.venue.pk}")[1:] == [
        ["Sam", "1", "€ 10.00", "€ 1.00"]
    ]
    assert table_rows(page, f"payment-tips-{shop.other.pk}")[1:] == [
        ["Ben", "1", "$ 20.00", "$ 2.50"]
    ]


def test_money_changelists_do_not_query_per_row(client, shop):
    def queries(model) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(model, "changelist")).status_code == 200
        return len(ctx)

    def add_rows(n):
        drawer = DrawerFactory(venue=shop.venue)
        session = services.drawer_open(drawer=drawer, actor=shop.manager, opening_float=100)
        server = staff_user(shop.venue, Role.SERVER)
        PaymentFactory(tab=shop.check(server, n), method="cash", drawer_session=session)

    models = [Drawer, DrawerSession, Payment]
    login(client, shop.manager)
    add_rows(1)
    before = {m: queries(m) for m in models}
    for n in range(2, 7):
        add_rows(n)
    assert {m: queries(m) for m in models} == before


# --- The check's page -------------------------------------------------------------------------


def test_check_page_shows_its_payments_and_receipts(client, shop):
    item = MenuItemFactory(venue=shop.venue, name="Steak frites", price=2450)
    tab = shop.check(shop.sam, 7)
    OrderLine.objects.create(
        tab=tab,
        menu_item=item,
        name=item.name,
        plu=item.plu,
        unit_price=2450,
        tax_rate=Decimal("9"),
        tax_code="B",
        quantity=2,
        added_by=shop.sam,
    )
    session = services.drawer_open(
        drawer=DrawerFactory(venue=shop.venue), actor=shop.manager, opening_float=10000
    )
    cash = services.payment_cash(tab=tab, actor=shop.sam, amount=2000, tip=150)
    card = PaymentFactory(tab=tab, part=cash.part, amount=2900, tip=290, taken_by=shop.manager)
    Receipt.objects.create(
        venue=shop.venue,
        tab=tab,
        kind=Receipt.Kind.EMAIL,
        email="guest@example.test",
        staff=shop.sam,
    )
    Receipt.objects.create(
        venue=shop.venue, tab=tab, kind=Receipt.Kind.PRINT, reprint=True, staff=shop.manager
    )

    login(client, shop.manager)
    response = client.get(url(Check, "change", tab.pk))
    assert response.status_code == 200
    page = response.content.decode()
    inlines = {f.opts.model: f for f in response.context["inline_admin_formsets"]}
    assert [form.original for form in inlines[Payment]] == [cash, card]
    assert [form.original.kind for form in inlines[Receipt]] == ["email", "print"]
    assert not inlines[Payment].has_add_permission and not inlines[Payment].has_change_permission
    assert "guest@example.test" in page
    assert "visa •••• 4242" in page
    assert euro(150) in page and euro(290) in page
    assert cash.drawer_session == session
    # The check's paid amount (no tips), kept by the payment service, on its page and in the list.
    paid = re.search(r"<label>Paid:</label>\s*<div class=\"readonly\">(.*?)</div>", page, re.S)
    assert strip_tags(paid.group(1)) == euro(2000)
    rows = table_rows(client.get(url(Check, "changelist")).content.decode(), "result_list")
    assert rows[0][-1] == "Paid"
    assert [(row[0], row[-1]) for row in rows[1:]] == [("7", euro(2000))]


# --- Venue settings for bills and tips ----------------------------------------------------------


def test_owner_sets_tips_and_service_charge(client, shop):
    login(client, shop.owner)
    response = client.get(url(Venue, "change", shop.venue.pk))
    fieldsets = {name: opts["fields"] for name, opts in response.context["adminform"].fieldsets}
    assert "tip_before_tax" in str(fieldsets["Bills and tips"])
    data = {
        "name": shop.venue.name,
        "language": "en",
        "timezone": "Europe/Amsterdam",
        "prices_include_tax": "on",
        "tip_presets": "[10, 12, 15]",
        "tip_smart_threshold": "0",
        "tip_fixed_amounts": "[]",
        "tip_before_tax": "on",
        "service_charge_percent": "12.5",
        "service_charge_min_guests": "8",
        "cash_rounding": "5",
        "receipt_header": "",
        "receipt_footer": "",
        "vat_number": "",
        "address_line1": "Singel 5",
        "address_line2": "",
        "address_postal_code": "1012 VB",
        "address_city": "Amsterdam",
        "address_state": "",
        "address_country": "nl",
    }
    response = client.post(url(Venue, "change", shop.venue.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    shop.venue.refresh_from_db()
    assert shop.venue.tip_presets == [10, 12, 15]
    assert (shop.venue.tip_before_tax, shop.venue.tip_before_discount) == (True, False)
    assert shop.venue.service_charge_percent == Decimal("12.5")
    assert shop.venue.service_charge_min_guests == 8
    assert shop.venue.address_lines() == ["Singel 5", "1012 VB Amsterdam"]
    assert shop.venue.address_country == "NL"

    for presets in ("[10, 150]", "[7.5]", '["10"]', "15"):
        response = client.post(
            url(Venue, "change", shop.venue.pk), {**data, "tip_presets": presets}
        )
        assert response.status_code == 200, presets
        assert "tip_presets" in response.context["adminform"].form.errors, presets
    shop.venue.refresh_from_db()
    assert shop.venue.tip_presets == [10, 12, 15]

    # smart tips on the card readers: fixed amounts (cents) below a threshold
    for threshold, amounts in (("500", "[]"), ("0", "[100, 200, 300, 400]"), ("0", "[1.5]")):
        response = client.post(
            url(Venue, "change", shop.venue.pk),
            {**data, "tip_smart_threshold": threshold, "tip_fixed_amounts": amounts},
        )
        assert "tip_fixed_amounts" in response.context["adminform"].form.errors, amounts
    response = client.post(
        url(Venue, "change", shop.venue.pk),
        {**data, "tip_smart_threshold": "1000", "tip_fixed_amounts": "[100, 200]"},
    )
    assert response.status_code == 302
    shop.venue.refresh_from_db()
    assert (shop.venue.tip_smart_threshold, shop.venue.tip_fixed_amounts) == (1000, [100, 200])
