"""factory_boy factories shared by every test. Build real rows through real models."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from payments import models as pm
from restaurant import models as m
from restaurant.pins import pin_digest


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Venue

    name = factory.Sequence(lambda n: f"Venue {n}")
    slug = factory.Sequence(lambda n: f"venue-{n}")
    currency = "EUR"
    timezone = "Europe/Amsterdam"
    prices_include_tax = True
    cash_rounding = 5
    address_line1 = "Prinsengracht 263"
    address_postal_code = "1016 GV"
    address_city = "Amsterdam"
    address_country = "NL"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct-horse-battery")


class StaffFactory(factory.django.DjangoModelFactory):
    """Staff with a known PIN: pass pin="1234" (default: a unique 6-digit one)."""

    class Meta:
        model = m.StaffMember

    class Params:
        pin = factory.Sequence(lambda n: f"{100000 + n}")

    venue = factory.SubFactory(VenueFactory)
    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Staff {n}")
    role = m.StaffMember.Role.SERVER
    pin_digest = factory.LazyAttribute(lambda s: pin_digest(venue_id=s.venue.pk, pin=s.pin))


class FloorAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.FloorArea

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Area {n}")


class TableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Table

    venue = factory.SubFactory(VenueFactory)
    area = factory.SubFactory(FloorAreaFactory, venue=factory.SelfAttribute("..venue"))
    name = factory.Sequence(lambda n: f"{n + 1}")
    seats = 4


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TaxRate

    venue = factory.SubFactory(VenueFactory)
    name = "High (21%)"
    code = factory.Sequence(lambda n: f"T{n}")
    rate = Decimal("21")


class PrinterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Printer

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Printer {n}")
    host = "127.0.0.1"
    port = 9100


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Station

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Station {n}")
    slug = factory.Sequence(lambda n: f"station-{n}")


class MenuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Menu

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Menu {n}")


class MenuWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MenuWindow

    menu = factory.SubFactory(MenuFactory)
    starts_at = datetime.time(11, 0)
    ends_at = datetime.time(16, 0)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Category

    venue = factory.SubFactory(VenueFactory)
    menu = factory.SubFactory(MenuFactory, venue=factory.SelfAttribute("..venue"))
    name = factory.Sequence(lambda n: f"Category {n}")


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MenuItem

    venue = factory.SubFactory(VenueFactory)
    category = factory.SubFactory(CategoryFactory, venue=factory.SelfAttribute("..venue"))
    name = factory.Sequence(lambda n: f"Item {n}")
    plu = factory.Sequence(lambda n: f"PLU{n:04d}")
    price = 1000
    tax_rate = factory.SubFactory(TaxRateFactory, venue=factory.SelfAttribute("..venue"))


class ModifierGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ModifierGroup

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    code = factory.Sequence(lambda n: f"group-{n}")
    min_choices = 0
    max_choices = 1


class ModifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Modifier

    group = factory.SubFactory(ModifierGroupFactory)
    name = factory.Sequence(lambda n: f"Modifier {n}")
    price_delta = 0


def attach(item: m.MenuItem, *groups: m.ModifierGroup) -> None:
    """Attach modifier groups to an item in the given order."""
    start = item.group_links.count()
    for offset, group in enumerate(groups):
        m.ItemModifierGroup.objects.create(item=item, group=group, sort_order=start + offset)


class DrawerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Drawer

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Drawer {n}")


class DrawerSessionFactory(factory.django.DjangoModelFactory):
    """An open drawer session (close it with payments.services.drawer_close)."""

    class Meta:
        model = pm.DrawerSession

    venue = factory.SubFactory(VenueFactory)
    drawer = factory.SubFactory(DrawerFactory, venue=factory.SelfAttribute("..venue"))
    opened_by = factory.SubFactory(
        StaffFactory, venue=factory.SelfAttribute("..venue"), role=m.StaffMember.Role.MANAGER
    )
    opening_float = 10000


class BillPartFactory(factory.django.DjangoModelFactory):
    """One open part of a check's bill: pass tab= (the whole check, an equal share)."""

    class Meta:
        model = pm.BillPart

    position = factory.Sequence(lambda n: n + 1)
    kind = pm.BillPart.Kind.EVEN
    created_by = factory.SelfAttribute("tab.server")


class PaymentFactory(factory.django.DjangoModelFactory):
    """A succeeded card payment on a check: pass tab=. Cash needs drawer_session= too.

    The row only: it does not mark the part paid or move the check's paid amount (the
    services do that; use payments.services to test them).
    """

    class Meta:
        model = pm.Payment

    venue = factory.SelfAttribute("tab.venue")
    part = factory.SubFactory(BillPartFactory, tab=factory.SelfAttribute("..tab"))
    method = pm.Payment.Method.CARD
    status = pm.Payment.Status.SUCCEEDED
    amount = 1000
    server = factory.SelfAttribute("tab.server")
    taken_by = factory.SelfAttribute("server")
    card_brand = factory.LazyAttribute(lambda p: "visa" if p.method == "card" else "")
    card_last4 = factory.LazyAttribute(lambda p: "4242" if p.method == "card" else "")
    succeeded_at = factory.LazyAttribute(
        lambda p: timezone.now() if p.status == pm.Payment.Status.SUCCEEDED else None
    )
