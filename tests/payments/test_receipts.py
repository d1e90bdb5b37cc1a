"""Receipts: the document, the printout (decoded back from ESC/POS), the mail, the service.

States are made with the payment services the API uses (bill_split, payment_cash,
drawer_open); printouts go through the real print worker over TCP to the virtual printer.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from kitchen.models import PrintJob
from kitchen.print_worker import print_jobs_run_once
from kitchen.printing import code_page, prebill_render
from kitchen.virtual_printer import VirtualPrinter, decode_escpos
from orders.models import Check, CheckAudit, OrderLine
from orders.services import adjustment_add, check_open, line_add
from payments import services as pay
from payments.models import Drawer, Receipt
from payments.receipts import (
    drawer_kick,
    receipt_document,
    receipt_email_parts,
    receipt_escpos,
    receipt_give,
)
from restaurant.errors import NotFound, PermissionDenied, ValidationFailed
from restaurant.models import Printer, StaffMember
from tests.factories import (
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    PrinterFactory,
    StaffFactory,
    TableFactory,
    TaxRateFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db

CP858 = code_page("CP858")


@pytest.fixture(autouse=True)
def print_settings(settings, tmp_path):
    settings.PRINT_SOCKET_TIMEOUT = 2
    settings.DATA_DIR = tmp_path
    return settings


@pytest.fixture
def venue():
    """Table 12: Entrecôte with pepper sauce (9%), a bottle of Rioja (21%), an espresso (9%):
    € 31.00 + € 29.95 + € 2.77 = € 63.72."""
    venue = VenueFactory(
        name="Brasserie De Brigade",
        receipt_header="Brasserie De Brigade\nKeizersgracht 1, 1015 CJ Amsterdam",
        address_line1="Keizersgracht 1",
        address_postal_code="1015 CJ",
        address_city="Amsterdam",
        address_country="NL",
        receipt_footer="Dank je wel!\nThank you!",
        vat_number="NL001234567B01",
        cash_rounding=5,
    )
    low = TaxRateFactory(venue=venue, code="L", rate=Decimal("9"))
    high = TaxRateFactory(venue=venue, code="H", rate=Decimal("21"))
    steak = MenuItemFactory(venue=venue, name="Entrecôte", price=2850, tax_rate=low)
    sauces = ModifierGroupFactory(venue=venue, name="Sauce")
    pepper = ModifierFactory(group=sauces, name="Pepper sauce", price_delta=250)
    attach(steak, sauces)
    rioja = MenuItemFactory(venue=venue, name="Bottle Rioja", price=2995, tax_rate=high)
    espresso = MenuItemFactory(venue=venue, name="Espresso", price=277, tax_rate=low)
    return {"venue": venue, "steak": steak, "pepper": pepper, "rioja": rioja, "espresso": espresso}


@pytest.fixture
def staff(venue):
    v = venue["venue"]
    return {
        "daan": StaffFactory(venue=v, role=StaffMember.Role.SERVER, display_name="Daan"),
        "sanne": StaffFactory(venue=v, role=StaffMember.Role.MANAGER, display_name="Sanne"),
        "kees": StaffFactory(venue=v, role=StaffMember.Role.KITCHEN, display_name="Kees"),
    }


@pytest.fixture
def receipt_printer(venue):
    return PrinterFactory(venue=venue["venue"], name="Receipts", role=Printer.Role.RECEIPT)


@pytest.fixture
def drawer(venue, staff, receipt_printer):
    drawer = Drawer.objects.create(venue=venue["venue"], name="Bar", printer=receipt_printer)
    pay.drawer_open(drawer=drawer, actor=staff["sanne"], opening_float=15000)
    return drawer


@pytest.fixture
def tab(venue, staff):
    v, daan = venue["venue"], staff["daan"]
    tab = check_open(
        venue=v, actor=daan, kind="table", table=TableFactory(venue=v, name="12"), guest_count=3
    )
    steak = line_add(
        tab=tab,
        actor=daan,
        item=venue["steak"],
        modifiers=[{"modifier": venue["pepper"].pk}],
    )
    rioja = line_add(tab=tab, actor=daan, item=venue["rioja"])
    espresso = line_add(tab=tab, actor=daan, item=venue["espresso"])
    tab.line_ids = {"steak": steak.pk, "rioja": rioja.pk, "espresso": espresso.pk}
    return tab


def fresh(tab: Check) -> Check:
    return Check.objects.select_related("venue").get(pk=tab.pk)


def printed(doc, *, width=42, reprint=False) -> list[str]:
    """The decoded printout, one string per line with runs of spaces collapsed."""
    text = decode_escpos(receipt_escpos(doc, page=CP858, width=width, reprint=reprint), "CP858")
    return [" ".join(line.split()) for line in text.splitlines()]


def test_a_whole_check_paid_in_cash_with_a_tip_is_rounded_and_gives_change(
    venue, staff, drawer, tab
):
    payment = pay.payment_cash(tab=tab, actor=staff["daan"], tip=200, tendered=7000)
    assert (payment.amount, payment.rounding, payment.change) == (6372, -2, 430)

    doc = receipt_document(tab=fresh(tab))
    assert (doc.total, doc.tips, doc.rounding, doc.paid, doc.balance) == (6372, 200, -2, 6570, 0)
    lines = printed(doc)
    assert lines[0] == "**Brasserie De Brigade**"
    assert "Keizersgracht 1, 1015 CJ Amsterdam" in lines  # once: the header has it
    assert lines.count("Keizersgracht 1, 1015 CJ Amsterdam") == 1
    assert "VAT number NL001234567B01" in lines
    assert "[INVERTED][BIG]**RECEIPT**[/BIG][/INVERTED]" in lines
    assert "**Table 12 #1**" in lines
    for expected in [
        "1 x Entrecôte € 31.00",
        "Pepper sauce +€ 2.50",
        "1 x Bottle Rioja € 29.95",
        "1 x Espresso € 2.77",
        "[2H]**TOTAL € 63.72**[/2H]",
        "**VAT Net VAT Total**",
        "L 9% € 30.98 € 2.79 € 33.77",
        "H 21% € 24.75 € 5.20 € 29.95",
        "Cash € 63.72",
        "Tip € 2.00",
        "Tendered € 70.00",
        "Change € 4.30",
        "Tips € 2.00",
        "Rounding -€ 0.02",
        "**Paid € 65.70**",
        "Dank je wel!",
        "Thank you!",
    ]:
        assert expected in lines, expected
    assert not any(line.startswith("Your share") for line in lines)
    assert not any("REPRINT" in line for line in lines)
    assert lines[-1] == "------------------ cut -------------------"
    # Server and the venue's local time on one line
    assert any(line.startswith("Server: Daan 20") for line in lines)


def test_a_by_item_part_shows_its_third_of_the_bottle_and_its_own_vat(venue, staff, drawer, tab):
    ids = tab.line_ids
    bill = pay.bill_split(
        tab=tab,
        actor=staff["daan"],
        mode="items",
        parts=[
            {"label": "Seat 1", "lines": {ids["steak"]: 1, ids["rioja"]: "1/3"}},
            {"label": "Seat 2", "lines": {ids["rioja"]: "1/3"}},
            {"label": "Seat 3", "lines": {ids["rioja"]: "1/3", ids["espresso"]: 1}},
        ],
    )
    assert sum(view.amounts.total for view in bill.parts) == 6372
    seat1 = bill.parts[0]
    assert seat1.amounts.total == 4099  # 31.00 + a third of 29.95, the odd cent to seat 1
    pay.payment_cash(tab=tab, actor=staff["daan"], part_id=seat1.part.pk, tendered=5000)

    doc = receipt_document(tab=fresh(tab), part=seat1.part)
    lines = printed(doc)
    for expected in [
        "**Seat 1**",
        "1 x Entrecôte € 31.00",
        "1/3 × Bottle Rioja € 9.99",
        "[2H]**TOTAL € 40.99**[/2H]",
        "L 9% € 28.44 € 2.56 € 31.00",
        "H 21% € 8.25 € 1.74 € 9.99",
        "Cash € 40.99",
        "Tendered € 50.00",
        "Change € 9.00",
        "Rounding € 0.01",
        "**Paid € 41.00**",
    ]:
        assert expected in lines, expected
    assert not any("Espresso" in line for line in lines)
    assert not any(line.startswith("Tips") for line in lines)
    # CP858 carries € (0xD5), × (0x9E) and ô (0x93) as themselves
    payload = receipt_escpos(doc, page=CP858, width=42)
    assert b"\xd5 40.99" in payload and b"1/3 \x9e Bottle" in payload and b"Entrec\x93te" in payload


@pytest.mark.parametrize("include_tax", [True, False])
def test_by_item_parts_add_up_with_discounts_and_service_charge(venue, staff, tab, include_tax):
    v = venue["venue"]
    v.service_charge_percent = Decimal("12.5")
    v.prices_include_tax = include_tax
    v.save()
    ids = tab.line_ids
    adjustment_add(tab=tab, actor=staff["sanne"], kind="discount", percent=15, reason="regulars")
    adjustment_add(
        tab=tab,
        actor=staff["sanne"],
        kind="discount",
        amount=33,
        reason="cold",
        line=OrderLine.objects.get(pk=ids["espresso"]),
    )
    bill = pay.bill_split(
        tab=tab,
        actor=staff["daan"],
        mode="items",
        parts=[
            {"lines": {ids["steak"]: "1/2", ids["rioja"]: "2/3"}},
            {"lines": {ids["steak"]: "1/2", ids["rioja"]: "1/3", ids["espresso"]: 1}},
        ],
    )
    for view in bill.parts:
        doc = receipt_document(tab=fresh(tab), part=view.part)
        assert (doc.discount, doc.service_charge) == (
            view.amounts.discount,
            view.amounts.service_charge,
        )
        as_priced = sum(item.amount for item in doc.items) - doc.discount + doc.service_charge
        assert as_priced == (view.amounts.total if include_tax else view.amounts.net)
        assert doc.total == view.amounts.total
        assert [(t.gross, t.tax) for t in doc.taxes] == [
            (r.gross, r.tax) for r in view.amounts.taxes if r.gross or r.tax
        ]
        lines = printed(doc)
        assert f"Discount -€ {doc.discount / 100:.2f}" in lines
        assert f"Service charge 12.5% € {doc.service_charge / 100:.2f}" in lines
    first = receipt_document(tab=fresh(tab), part=bill.parts[0].part)
    assert [item.text for item in first.items] == ["1/2 × Entrecôte", "2/3 × Bottle Rioja"]


def test_an_even_share_lists_every_line_then_your_share(venue, staff, drawer, tab):
    bill = pay.bill_split(tab=tab, actor=staff["daan"], mode="even", ways=3)
    first = bill.parts[0]
    doc = receipt_document(tab=fresh(tab), part=first.part)
    lines = printed(doc)
    assert "1 x Espresso € 2.77" in lines and "1 x Bottle Rioja € 29.95" in lines
    assert "Check total € 63.72" in lines
    assert f"Your share € {first.amounts.total / 100:.2f}" in lines
    assert f"[2H]**TOTAL € {first.amounts.total / 100:.2f}**[/2H]" in lines
    tax_rows = [line for line in lines if line.startswith(("L 9%", "H 21%"))]
    assert len(tax_rows) == 2
    assert f"**Still to pay € {first.amounts.total / 100:.2f}**" in lines


def test_inclusive_and_exclusive_tax_venues(staff):
    us = VenueFactory(
        name="Diner", currency="USD", prices_include_tax=False, cash_rounding=1, vat_number=""
    )
    sales = TaxRateFactory(venue=us, code="S", rate=Decimal("8.875"))
    server = StaffFactory(venue=us, role=StaffMember.Role.SERVER, display_name="Joe")
    tab = check_open(venue=us, actor=server, kind="takeaway")
    line_add(
        tab=tab,
        actor=server,
        item=MenuItemFactory(venue=us, name="Burger", price=1500, tax_rate=sales),
    )
    line_add(
        tab=tab,
        actor=server,
        item=MenuItemFactory(venue=us, name="Fries", price=450, tax_rate=sales),
    )
    lines = printed(receipt_document(tab=tab))
    for expected in [
        "1 x Burger $ 15.00",
        "1 x Fries $ 4.50",
        "Subtotal $ 19.50",
        "Tax $ 1.73",  # 8.875% of 19.50 = 1.7306
        "[2H]**TOTAL $ 21.23**[/2H]",
        "S 8.875% $ 19.50 $ 1.73 $ 21.23",
        "**Still to pay $ 21.23**",
    ]:
        assert expected in lines, expected
    assert lines[0] == "**Diner**"
    assert not any(line.startswith("VAT number") for line in lines)

    # Prices with VAT in them: no subtotal and no tax line above the total.
    eu = VenueFactory(name="Café", prices_include_tax=True)
    low = TaxRateFactory(venue=eu, code="L", rate=Decimal("9"))
    server = StaffFactory(venue=eu, role=StaffMember.Role.SERVER)
    tab = check_open(venue=eu, actor=server, kind="takeaway")
    line_add(
        tab=tab,
        actor=server,
        item=MenuItemFactory(venue=eu, name="Tosti", price=650, tax_rate=low),
        quantity=2,
    )
    lines = printed(receipt_document(tab=tab))
    assert "2 x Tosti € 13.00" in lines
    assert "L 9% € 11.93 € 1.07 € 13.00" in lines
    assert "[2H]**TOTAL € 13.00**[/2H]" in lines
    assert not any(line.startswith(("Subtotal", "Tax ")) for line in lines)


def test_service_charge_is_on_the_receipt_and_on_the_check_for_the_table(venue, staff, tab):
    v = venue["venue"]
    v.service_charge_percent = Decimal("10")
    v.save()
    doc = receipt_document(tab=fresh(tab))
    assert doc.service_charge == 637  # 10% of 63.72, rounded half up
    lines = printed(doc)
    assert "Service charge 10% € 6.37" in lines
    assert "[2H]**TOTAL € 70.09**[/2H]" in lines
    prebill = decode_escpos(prebill_render(tab=fresh(tab), page=CP858, width=42), "CP858")
    assert "Service charge 10% € 6.37" in [" ".join(x.split()) for x in prebill.splitlines()]


def test_narrow_paper_prints_vat_per_rate_on_two_lines(venue, staff, tab):
    lines = printed(receipt_document(tab=fresh(tab)), width=24)
    assert "VAT L 9%" in lines and "Net € 30.98 € 2.79" in lines


def test_a_printed_receipt_goes_through_the_worker_to_the_printer(
    venue, staff, drawer, tab, receipt_printer, tmp_path
):
    virtual = VirtualPrinter([0], directory=tmp_path / "printouts").start()
    try:
        receipt_printer.port = virtual.ports[0]
        receipt_printer.save()
        pay.payment_cash(tab=tab, actor=staff["daan"], tip=200, tendered=7000)
        assert fresh(tab).status == Check.Status.CLOSED
        PrintJob.objects.filter(kind=PrintJob.Kind.DRAWER).delete()  # if payment_cash kicks
        receipt = receipt_give(tab=tab, actor=staff["daan"], kind="print")
        assert receipt.kind == "print" and not receipt.reprint and receipt.part is None
        job = PrintJob.objects.get(kind=PrintJob.Kind.RECEIPT)
        assert job.printer == receipt_printer and job.status == PrintJob.Status.PENDING

        assert print_jobs_run_once() == {"printed": 1}
        (printout,) = virtual.wait_for(1)
        assert printout.data == bytes(job.payload)
        text = printout.text
        assert "Entrecôte" in text and "€ 63.72" in text and "€ 65.70" in text
        assert "REPRINT" not in text

        # The same receipt again is a copy, marked on paper and on the row.
        again = receipt_give(tab=tab, actor=staff["daan"], kind="print")
        assert again.reprint
        assert print_jobs_run_once() == {"printed": 1}
        second = virtual.wait_for(2)[1].text
        assert "REPRINT" in second and "€ 63.72" in second
    finally:
        virtual.stop()
    audit = CheckAudit.objects.filter(tab=tab, action="receipt").order_by("pk")
    assert [a.data["reprint"] for a in audit] == [False, True]


def test_an_emailed_receipt_has_text_and_html(
    venue, staff, drawer, tab, django_capture_on_commit_callbacks
):
    pay.payment_cash(tab=tab, actor=staff["daan"], tip=200, tendered=7000)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipt_give(
            tab=tab, actor=staff["daan"], kind="email", email=" guest@example.com "
        )
    assert receipt.email == "guest@example.com"
    (message,) = mail.outbox
    assert message.to == ["guest@example.com"]
    assert message.subject == "Your receipt from Brasserie De Brigade (check #1)"
    assert "Brasserie De Brigade" in message.from_email
    assert "€ 63.72" in message.body and "Rounding" in message.body
    assert "L 9%" in message.body and "€ 2.79" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert "TOTAL" in html and "€ 63.72" in html
    assert "L 9%" in html and "€ 30.98" in html and "€ 2.79" in html
    assert "H 21%" in html and "€ 5.20" in html
    assert "Entrecôte" in html and "€ 65.70" in html


def test_email_parts_match_the_printout(venue, staff, tab):
    doc = receipt_document(tab=fresh(tab))
    subject, text, html = receipt_email_parts(doc)
    assert "#1" in subject
    for fragment in ["1 x Entrecôte", "€ 31.00", "TOTAL", "€ 63.72", "Still to pay"]:
        assert fragment in text and fragment in html


def test_no_receipt_is_recorded_without_paper_or_mail(
    venue, staff, drawer, tab, receipt_printer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipt_give(tab=tab, actor=staff["daan"], kind="none")
    assert receipt.kind == "none"
    assert not PrintJob.objects.filter(kind=PrintJob.Kind.RECEIPT).exists()
    assert mail.outbox == []


@pytest.mark.parametrize("case", ["bad_email", "other_check", "no_permission", "bad_kind"])
def test_refusals_change_nothing(
    case, venue, staff, drawer, tab, receipt_printer, django_capture_on_commit_callbacks
):
    other = check_open(venue=venue["venue"], actor=staff["daan"], kind="takeaway")
    line_add(tab=other, actor=staff["daan"], item=venue["espresso"])
    other_bill = pay.bill_split(tab=other, actor=staff["daan"], mode="even", ways=2)
    audits = CheckAudit.objects.count()
    jobs = PrintJob.objects.count()
    call = {"tab": tab, "actor": staff["daan"], "kind": "print"}
    error, code = ValidationFailed, "bad_email"
    if case == "bad_email":
        call.update(kind="email", email="not an address")
    elif case == "other_check":
        call.update(part_id=other_bill.parts[0].part.pk)
        error, code = NotFound, "not_found"
    elif case == "no_permission":
        call.update(actor=staff["kees"], kind="email", email="guest@example.com")
        error, code = PermissionDenied, "permission_denied"
    else:
        call.update(kind="fax")
        code = "bad_kind"
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(error) as caught:
        receipt_give(**call)
    assert caught.value.code == code
    assert not Receipt.objects.exists()
    assert PrintJob.objects.count() == jobs
    assert CheckAudit.objects.count() == audits
    assert mail.outbox == []


def test_staff_of_another_venue_cannot_give_a_receipt(venue, staff, tab, receipt_printer):
    outsider = StaffFactory(role=StaffMember.Role.MANAGER)
    with pytest.raises(PermissionDenied):
        receipt_give(tab=tab, actor=outsider, kind="print")
    assert not Receipt.objects.exists() and not PrintJob.objects.exists()


def test_printing_without_a_receipt_printer_is_refused(venue, staff, tab):
    with pytest.raises(Exception) as caught:
        receipt_give(tab=tab, actor=staff["daan"], kind="print")
    assert caught.value.code == "no_receipt_printer"
    assert not Receipt.objects.exists()


def test_the_drawer_kick_goes_to_the_drawers_printer(venue, drawer, receipt_printer):
    from django.db import transaction

    with transaction.atomic():
        job = drawer_kick(drawer=drawer.sessions.get())
    assert job.kind == PrintJob.Kind.DRAWER and job.printer == receipt_printer
    assert bytes(job.payload) == b"\x1bp\x0022"  # ESC p 0 50 50: pin 2, 100 ms on and off
    assert "[CASH DRAWER]" in decode_escpos(bytes(job.payload))

    loose = Drawer.objects.create(venue=venue["venue"], name="Terrace")
    with transaction.atomic():
        assert drawer_kick(drawer=loose) is None
    receipt_printer.is_active = False
    receipt_printer.save()
    with transaction.atomic():
        assert drawer_kick(drawer=Drawer.objects.get(pk=drawer.pk)) is None
