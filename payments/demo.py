"""The demo venue's money side (the seed_demo command composes it after restaurant/demo)."""

from payments.models import Drawer
from restaurant.models import Printer, Venue


def seed_payments_demo(venue: Venue) -> None:
    """The bar till's drawer hangs on the receipt printer (a cash payment kicks it open). It is
    closed until a manager counts the float in on a tablet (Drawer)."""
    printer = Printer.objects.filter(venue=venue, role=Printer.Role.RECEIPT).first()
    Drawer.objects.create(venue=venue, name="Bar till", printer=printer)
