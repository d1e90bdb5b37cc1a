"""The demo venue's money side (the seed_demo command composes it after restaurant/demo)."""

from payments.models import Drawer
from restaurant.models import Printer, Venue
from restaurant.permissions import SystemActor


def seed_payments_demo(venue: Venue) -> None:
    """The bar till's drawer hangs on the receipt printer (a cash payment kicks it open). It is
    closed until a manager counts the float in on a tablet (Drawer)."""
    printer = Printer.objects.filter(venue=venue, role=Printer.Role.RECEIPT).first()
    Drawer.objects.create(venue=venue, name="Bar till", printer=printer)


DEMO_READERS = ["Table reader", "Bar reader"]
DEMO = SystemActor("demo seed")


def terminal_demo_ensure(*, log=print) -> None:
    """With the local Stripe emulator (`make run`), whose memory starts empty each time: make
    sure every venue's location and readers exist there, registering simulated readers again
    under new ids where needed, and give the demo venue its two readers."""
    from payments import card, stripe_api
    from payments.models import CardReader, TerminalLocation
    from restaurant.demo.seed import VENUE_SLUG

    for location in TerminalLocation.objects.select_related("venue"):
        try:
            stripe_api.connection_token_create(location=location.stripe_id)
        except stripe_api.StripeFailure:
            log(f"stripe: location of {location.venue} is new to Stripe; creating it again")
            location.delete()
    for reader in CardReader.objects.filter(is_active=True).select_related("venue"):
        try:
            stripe_api.reader_retrieve(reader.stripe_id)
        except stripe_api.StripeFailure:
            log(f"stripe: registering {reader.label} of {reader.venue} again (simulated)")
            label, venue = reader.label, reader.venue
            if reader.payments.exists():  # keep it for the payments' history
                CardReader.objects.filter(pk=reader.pk).update(is_active=False)
            else:
                reader.delete()
            card.card_reader_register(
                venue=venue, label=label, registration_code="simulated-wpe", actor=DEMO
            )
    venue = Venue.objects.filter(slug=VENUE_SLUG).first()
    if venue is not None and not CardReader.objects.filter(venue=venue).exists():
        for label in DEMO_READERS:
            card.card_reader_register(
                venue=venue, label=label, registration_code="simulated-wpe", actor=DEMO
            )
        log(f"stripe: {len(DEMO_READERS)} simulated readers registered for {venue}")
