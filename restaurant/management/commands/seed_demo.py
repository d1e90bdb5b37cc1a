from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from payments.demo import seed_payments_demo
from restaurant.demo.seed import VENUE_SLUG, seed_demo
from restaurant.models import Venue


class Command(BaseCommand):
    help = "Load the demo venue (Brasserie De Brigade) with its floor, staff and menus."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any venue exists already (used by `make run`).",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Venue.objects.exists():
            self.stdout.write("Demo data: a venue exists already, nothing loaded.")
            return
        if Venue.objects.filter(slug=VENUE_SLUG).exists():
            raise CommandError(f"The demo venue '{VENUE_SLUG}' exists already.")
        with transaction.atomic():
            venue = seed_demo()
            seed_payments_demo(venue)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo venue '{venue.name}' loaded: {venue.tables.count()} tables, "
                f"{venue.items.count()} menu items, {venue.staff.count()} staff."
            )
        )
