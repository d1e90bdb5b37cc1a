"""The check printed for the table, and chits printed when a station bumps."""

from decimal import Decimal

import pytest

from kitchen import services as kitchen
from kitchen.models import PrintJob, Ticket
from kitchen.virtual_printer import decode_escpos
from orders.models import Check
from orders.selectors import FloorStatus, check_floor_status
from orders.services import check_open, line_add
from restaurant.models import Printer, StaffMember
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    PrinterFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    TaxRateFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dinner():
    venue = VenueFactory(name="Brasserie", vat_number="NL001234567B01")
    kitchen_printer = PrinterFactory(venue=venue, name="Kitchen")
    grill = StationFactory(venue=venue, slug="grill", printer=kitchen_printer)
    daan = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Daan")
    low = TaxRateFactory(venue=venue, code="L", rate=Decimal("9"))
    high = TaxRateFactory(venue=venue, code="H", rate=Decimal("21"))
    food = CategoryFactory(venue=venue, default_station=grill)
    steak = MenuItemFactory(venue=venue, category=food, name="Entrecôte", price=2850, tax_rate=low)
    wine = MenuItemFactory(venue=venue, category=food, name="Rosé", price=595, tax_rate=high)
    tab = check_open(
        venue=venue,
        actor=daan,
        kind="table",
        table=TableFactory(venue=venue, name="12"),
        guest_count=2,
    )
    line_add(tab=tab, actor=daan, item=steak)
    line_add(tab=tab, actor=daan, item=wine, quantity=2)
    return locals()


def test_the_check_prints_on_the_receipt_printer_with_vat_per_rate(dinner):
    receipts = PrinterFactory(venue=dinner["venue"], name="Receipts", role=Printer.Role.RECEIPT)
    tab = kitchen.check_prebill_print(tab=dinner["tab"], actor=dinner["daan"])
    assert check_floor_status(Check.objects.get(pk=tab.pk)) == FloorStatus.CHECK_PRINTED
    job = PrintJob.objects.get(kind=PrintJob.Kind.PREBILL)
    assert job.printer == receipts and job.status == PrintJob.Status.PENDING
    text = decode_escpos(bytes(job.payload), job.code_page)
    assert "Table 12" in text and "#1" in text
    assert "1 x Entrecôte" in text and "2 x Rosé" in text
    assert "€ 40.40" in text  # 28.50 + 2 x 5.95
    assert "€ 2.35" in text  # 9% VAT inside 28.50
    assert "€ 2.07" in text  # 21% VAT inside 11.90
    assert "NL001234567B01" in text


def test_without_a_receipt_printer_the_check_is_still_marked_printed(dinner):
    tab = kitchen.check_prebill_print(tab=dinner["tab"], actor=dinner["daan"])
    assert Check.objects.get(pk=tab.pk).prebill_printed_at is not None
    assert not PrintJob.objects.filter(kind=PrintJob.Kind.PREBILL).exists()


def test_a_station_that_wants_chits_gets_one_when_it_bumps(dinner):
    grill = dinner["grill"]
    (ticket,) = kitchen.lines_send(tab=dinner["tab"], actor=dinner["daan"]).tickets
    kitchen.ticket_bump(ticket=ticket)
    assert not PrintJob.objects.filter(kind=PrintJob.Kind.CHIT).exists()
    kitchen.ticket_recall(station=grill)
    grill.print_on_bump = True
    grill.save()
    kitchen.ticket_bump(ticket=Ticket.objects.get(pk=ticket.pk))
    job = PrintJob.objects.get(kind=PrintJob.Kind.CHIT)
    assert job.ticket_id == ticket.pk and job.printer == dinner["kitchen_printer"]
    assert "READY" in decode_escpos(bytes(job.payload), job.code_page)
