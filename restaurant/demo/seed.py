"""The demo venue: Brasserie De Brigade, a Dutch brasserie (see README, "Demo logins").

`seed_demo()` builds it through the same services the product uses: staff through
staff_create, the menu through the menu importer (restaurant/demo/brasserie_menu.json).
"""

from __future__ import annotations

from django.db import transaction

from restaurant.demo import brasserie_menu
from restaurant.menu_io import menu_import
from restaurant.models import FloorArea, Printer, Station, Table, Venue
from restaurant.permissions import SystemActor
from restaurant.services import staff_create

#: Who builds the demo venue, for the services' permission checks and the record.
SEED = SystemActor("demo seed")

VENUE_SLUG = "de-brigade"
DEMO_PASSWORD = "brigade-demo"  # demo only: printed by `make run`, listed in README

# Who can sign in to the demo. PINs are for the tablet; username/password for the back office.
DEMO_LOGINS = [
    {
        "name": "Pieter",
        "role": "owner",
        "pin": "9000",
        "username": "pieter",
        "password": DEMO_PASSWORD,
    },
    {
        "name": "Sanne",
        "role": "manager",
        "pin": "1234",
        "username": "sanne",
        "password": DEMO_PASSWORD,
    },
    {"name": "Daan", "role": "server", "pin": "1111", "username": "daan", "password": None},
    {"name": "Lotte", "role": "server", "pin": "2222", "username": "lotte", "password": None},
    {"name": "Mila", "role": "bartender", "pin": "3333", "username": "mila", "password": None},
    {"name": "Eva", "role": "host", "pin": "4444", "username": "eva", "password": None},
    {"name": "Koen", "role": "kitchen", "pin": "5555", "username": "koen", "password": None},
]

# (area, [(table name, seats, shape, x, y, w, h), ...]) on a 24 x 16 grid per area
FLOOR = [
    (
        "Main room",
        [
            (str(n), seats, shape, x, y, w, h)
            for n, seats, shape, x, y, w, h in [
                (1, 2, "square", 1, 1, 2, 2),
                (2, 2, "square", 4, 1, 2, 2),
                (3, 4, "square", 7, 1, 3, 2),
                (4, 4, "square", 11, 1, 3, 2),
                (5, 6, "rectangle", 15, 1, 5, 2),
                (6, 2, "round", 1, 5, 2, 2),
                (7, 4, "round", 4, 5, 3, 3),
                (8, 4, "round", 8, 5, 3, 3),
                (9, 2, "square", 12, 5, 2, 2),
                (10, 8, "rectangle", 15, 5, 6, 3),
                (11, 4, "square", 1, 10, 3, 2),
                (12, 4, "square", 5, 10, 3, 2),
                (14, 6, "rectangle", 9, 10, 5, 2),
            ]
        ],
    ),
    (
        "Terrace",
        [
            (f"T{n}", seats, shape, x, y, w, h)
            for n, seats, shape, x, y, w, h in [
                (1, 2, "round", 1, 1, 2, 2),
                (2, 2, "round", 4, 1, 2, 2),
                (3, 4, "square", 7, 1, 3, 2),
                (4, 4, "square", 11, 1, 3, 2),
                (5, 6, "rectangle", 1, 5, 5, 2),
                (6, 4, "square", 8, 5, 3, 2),
            ]
        ],
    ),
    (
        "Bar",
        [(f"B{n}", 1, "bar_seat", 1 + 3 * (n - 1), 1, 2, 2) for n in range(1, 5)],
    ),
]

STATIONS = [
    # slug, name, is_expo, printer name, print tickets, warn s, late s
    ("grill", "Grill", False, "Kitchen printer", False, 300, 480),
    ("cold", "Cold kitchen", False, "Kitchen printer", False, 300, 480),
    ("bar", "Bar", False, "Bar printer", True, 180, 300),
    ("pastry", "Pastry", False, "Kitchen printer", False, 300, 600),
    ("expo", "Expo", True, None, False, 420, 600),
]


@transaction.atomic
def seed_demo() -> Venue:
    venue = Venue.objects.create(
        name="Brasserie De Brigade",
        slug=VENUE_SLUG,
        currency="EUR",
        timezone="Europe/Amsterdam",
        language=Venue.Language.DUTCH,
        prices_include_tax=True,
        tip_presets=[5, 10, 15],
        cash_rounding=5,
        receipt_header="Brasserie De Brigade\nKeizersgracht 1, 1015 CJ Amsterdam\n020 123 4567",
        receipt_footer="Dank je wel en tot ziens!\nThank you, see you soon!",
        vat_number="NL001234567B01",
        address_line1="Keizersgracht 1",
        address_postal_code="1015 CJ",
        address_city="Amsterdam",
        address_country="NL",
    )

    kitchen = Printer.objects.create(
        venue=venue, name="Kitchen printer", host="127.0.0.1", port=9101, role="kitchen"
    )
    backup = Printer.objects.create(
        venue=venue, name="Office printer", host="127.0.0.1", port=9103, role="kitchen"
    )
    kitchen.backup = backup
    kitchen.save()
    bar = Printer.objects.create(
        venue=venue, name="Bar printer", host="127.0.0.1", port=9102, role="kitchen", backup=backup
    )
    Printer.objects.create(
        venue=venue, name="Receipt printer", host="127.0.0.1", port=9104, role="receipt"
    )
    printers = {p.name: p for p in (kitchen, bar)}
    for order, (slug, name, is_expo, printer, prints, warn, late) in enumerate(STATIONS):
        Station.objects.create(
            venue=venue,
            slug=slug,
            name=name,
            is_expo=is_expo,
            printer=printers.get(printer) if printer else None,
            print_tickets=prints,
            warn_after_seconds=warn,
            late_after_seconds=late,
            sort_order=order,
        )

    for order, (area_name, tables) in enumerate(FLOOR):
        area = FloorArea.objects.create(venue=venue, name=area_name, sort_order=order)
        for name, seats, shape, x, y, w, h in tables:
            Table.objects.create(
                venue=venue,
                area=area,
                name=name,
                seats=seats,
                shape=shape,
                x=x,
                y=y,
                width=w,
                height=h,
            )

    for login in DEMO_LOGINS:
        staff_create(
            venue=venue,
            username=login["username"],
            display_name=login["name"],
            role=login["role"],
            pin=login["pin"],
            password=login["password"],
            email=f"{login['username']}@debrigade.example",
            actor=SEED,
        )

    # also creates the 9% and 21% tax rates
    menu_import(venue=venue, data=brasserie_menu(), actor=SEED)
    return venue
