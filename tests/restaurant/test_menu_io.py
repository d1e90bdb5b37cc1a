"""Menu import/export (restaurant/menu_io.py) and the import_menu / export_menu commands."""

import copy
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from restaurant import models as m
from restaurant.demo import BRASSERIE_MENU_PATH, BRASSERIE_STATIONS, brasserie_menu
from restaurant.errors import PermissionDenied, ValidationFailed
from restaurant.menu_io import MenuInvalid, menu_export, menu_import
from tests.actors import SETUP
from tests.factories import (
    CategoryFactory,
    MenuFactory,
    MenuItemFactory,
    MenuWindowFactory,
    ModifierFactory,
    ModifierGroupFactory,
    StaffFactory,
    StationFactory,
    TaxRateFactory,
    VenueFactory,
    attach,
)

pytestmark = pytest.mark.django_db

DEMO_ITEMS = 64


def make_stations(venue, slugs=(*BRASSERIE_STATIONS, "expo")):
    return {
        slug: StationFactory(venue=venue, slug=slug, name=slug.title(), is_expo=slug == "expo")
        for slug in slugs
    }


def demo_venue():
    venue = VenueFactory()
    make_stations(venue)
    return venue


def row_counts(venue=None) -> dict:
    """Rows per menu table, for one venue or (venue=None) the whole database."""

    def count(model, lookup):
        qs = model.objects.all()
        return (qs.filter(**{lookup: venue}) if venue else qs).count()

    return {
        "tax_rates": count(m.TaxRate, "venue"),
        "stations": count(m.Station, "venue"),
        "modifier_groups": count(m.ModifierGroup, "venue"),
        "modifiers": count(m.Modifier, "group__venue"),
        "menus": count(m.Menu, "venue"),
        "windows": count(m.MenuWindow, "menu__venue"),
        "categories": count(m.Category, "venue"),
        "items": count(m.MenuItem, "venue"),
        "item_groups": count(m.ItemModifierGroup, "item__venue"),
    }


def find_item(doc: dict, plu: str) -> dict:
    for menu in doc["menus"]:
        for category in menu["categories"]:
            for item in category["items"]:
                if item["plu"] == plu:
                    return item
    raise KeyError(plu)


def small_doc() -> dict:
    """A small valid document; the error tests break one thing in it."""
    return {
        "version": 1,
        "currency": "EUR",
        "tax_rates": [{"code": "L", "name": "Low (9%)", "rate": "9"}],
        "modifier_groups": [
            {
                "code": "sides",
                "name": "Sides",
                "max": 2,
                "free": 1,
                "modifiers": [
                    {"name": "Fries", "plu": "S1", "price_delta": 350},
                    {"name": "Salad", "plu": "S2", "price_delta": 350, "nested_group": "dressing"},
                ],
            },
            {
                "code": "dressing",
                "name": "Dressing",
                "modifiers": [{"name": "Vinaigrette"}, {"name": "Honey-mustard"}],
            },
        ],
        "menus": [
            {
                "name": "Dinner",
                "windows": [{"from": "17:00", "until": "22:30"}],
                "categories": [
                    {
                        "name": "Mains",
                        "default_station": "grill",
                        "items": [
                            {
                                "plu": "D1",
                                "name": "Steak",
                                "price": 2450,
                                "tax_code": "L",
                                "modifier_groups": ["sides"],
                            },
                            {"plu": "D2", "name": "Risotto", "price": 1950, "tax_code": "L"},
                        ],
                    }
                ],
            }
        ],
    }


def import_errors(venue, doc) -> list[str]:
    with pytest.raises(MenuInvalid) as info:
        menu_import(venue=venue, data=doc, actor=SETUP)
    return info.value.errors


# --- round trip, demo, idempotence ---------------------------------------------------------


def test_export_import_export_round_trip_gives_the_same_document():
    venue = VenueFactory()
    stations = make_stations(venue, ["grill", "bar"])
    low = TaxRateFactory(venue=venue, code="L", name="Low", rate=Decimal("9"))
    TaxRateFactory(venue=venue, code="R", name="Reduced", rate=Decimal("5.5"))
    dressing = ModifierGroupFactory(venue=venue, code="dressing", name="Dressing")
    ModifierFactory(group=dressing, name="Vinaigrette", sort_order=0)
    ModifierFactory(group=dressing, name="Honey-mustard", sort_order=1, is_available=False)
    sides = ModifierGroupFactory(
        venue=venue, code="sides", name="Sides", max_choices=2, free_choices=1, max_per_modifier=2
    )
    ModifierFactory(group=sides, name="Fries", plu="S1", price_delta=350, is_default=True)
    ModifierFactory(
        group=sides, name="Salad", plu="S2", price_delta=350, nested_group=dressing, sort_order=1
    )
    ModifierFactory(group=sides, name="No bun", plu="S3", price_delta=-100, sort_order=2)
    dinner = MenuFactory(venue=venue, name="Dinner", sort_order=1)
    MenuWindowFactory(
        menu=dinner,
        weekdays=[4, 5],
        starts_at=datetime.time(22, 0),
        ends_at=datetime.time(2, 0),
    )
    MenuWindowFactory(menu=dinner, starts_at=datetime.time(17, 0), ends_at=datetime.time(22, 0))
    MenuFactory(venue=venue, name="Closed", is_active=False, sort_order=2)
    mains = CategoryFactory(
        venue=venue, menu=dinner, name="Mains", default_station=stations["grill"], color="#AA0000"
    )
    steak = MenuItemFactory(
        venue=venue,
        category=mains,
        name="Entrecôte",
        plu="D1",
        price=2850,
        tax_rate=low,
        prep_minutes=18,
        default_course=2,
        stock_count=12,
        description="Sirloin, 250 g",
    )
    attach(steak, sides, dressing)
    MenuItemFactory(
        venue=venue,
        category=mains,
        name="Old dish",
        plu="D9",
        tax_rate=low,
        is_active=False,
        is_available=False,
        station=stations["bar"],
        sort_order=1,
    )

    first = menu_export(venue=venue)
    document = json.loads(json.dumps(first))  # it is plain JSON

    fresh = VenueFactory()
    make_stations(fresh, ["grill", "bar"])
    result = menu_import(venue=fresh, data=document, actor=SETUP)

    assert result.created["items"] == 2
    assert result.created["modifiers"] == 5
    assert menu_export(venue=fresh) == first
    assert row_counts(fresh) == row_counts(venue)
    # Importing a venue's own export changes nothing but sort orders that were ties.
    menu_import(venue=venue, data=document, actor=SETUP)
    assert menu_export(venue=venue) == first
    assert not menu_import(venue=venue, data=document, actor=SETUP).changed


def test_demo_menu_imports_into_a_fresh_venue():
    venue = demo_venue()
    out = io.StringIO()

    call_command("import_menu", str(BRASSERIE_MENU_PATH), venue=venue.slug, stdout=out)

    assert f"{DEMO_ITEMS} items" in out.getvalue()
    assert m.MenuItem.objects.filter(venue=venue).count() == DEMO_ITEMS
    assert set(m.Menu.objects.filter(venue=venue).values_list("name", flat=True)) == {
        "Lunch",
        "À la carte",
        "Drinks",
    }
    lunch = m.Menu.objects.get(venue=venue, name="Lunch")
    window = lunch.windows.get()
    assert (window.weekdays, window.starts_at, window.ends_at) == (
        [0, 1, 2, 3, 4, 5, 6],
        datetime.time(11, 0),
        datetime.time(16, 0),
    )
    assert not m.Menu.objects.get(venue=venue, name="Drinks").windows.exists()

    steak = m.MenuItem.objects.get(venue=venue, plu="D201")
    assert (steak.name, steak.price, steak.tax_rate.code, steak.default_course) == (
        "Entrecote 250g",
        2850,
        "L",
        2,
    )
    assert steak.effective_station.slug == "grill"
    assert [link.group.code for link in steak.group_links.all()] == ["doneness", "sides", "sauces"]
    doneness = m.ModifierGroup.objects.get(venue=venue, code="doneness")
    assert (doneness.min_choices, doneness.max_choices) == (1, 1)
    salad = m.Modifier.objects.get(group__venue=venue, group__code="sides", name="Side salad")
    assert salad.price_delta == 350
    assert salad.nested_group.code == "dressing"
    assert m.MenuItem.objects.get(venue=venue, name="Crème brûlée").effective_station.slug == (
        "pastry"
    )
    assert m.MenuItem.objects.get(venue=venue, plu="B303").tax_rate.rate == Decimal("21")
    assert not m.MenuItem.objects.filter(venue=venue, station__slug="expo").exists()
    assert not m.Category.objects.filter(venue=venue, default_station__slug="expo").exists()


def test_reimporting_the_same_file_changes_nothing():
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    counts = row_counts(venue)
    exported = menu_export(venue=venue)
    stamps = dict(m.MenuItem.objects.filter(venue=venue).values_list("plu", "updated_at"))
    modifier_ids = set(m.Modifier.objects.filter(group__venue=venue).values_list("pk", flat=True))

    result = menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)

    assert not result.changed
    assert not any(result.created.values())
    assert not any(result.updated.values())
    assert result.unchanged["items"] == DEMO_ITEMS
    assert row_counts(venue) == counts
    assert menu_export(venue=venue) == exported
    assert dict(m.MenuItem.objects.filter(venue=venue).values_list("plu", "updated_at")) == stamps
    assert (
        set(m.Modifier.objects.filter(group__venue=venue).values_list("pk", flat=True))
        == modifier_ids
    )


def test_reimport_with_a_changed_price_updates_the_item_by_plu():
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    item = m.MenuItem.objects.get(venue=venue, plu="D201")
    counts = row_counts(venue)
    doc = brasserie_menu()
    find_item(doc, "D201")["price"] = 2950

    result = menu_import(venue=venue, data=doc, actor=SETUP)

    assert result.updated == {**dict.fromkeys(result.updated, 0), "items": 1}
    assert not any(result.created.values())
    item.refresh_from_db()
    assert item.price == 2950
    assert row_counts(venue) == counts


def test_items_move_between_categories_by_plu_and_links_follow_the_file():
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    item = m.MenuItem.objects.get(venue=venue, plu="D204")
    doc = brasserie_menu()
    dinner = doc["menus"][1]
    sea_bass = dinner["categories"][1]["items"].pop(3)
    sea_bass["modifier_groups"] = ["sauces", "sides"]
    dinner["categories"][0]["items"].append(sea_bass)

    menu_import(venue=venue, data=doc, actor=SETUP)

    moved = m.MenuItem.objects.get(venue=venue, plu="D204")
    assert moved.pk == item.pk
    assert moved.category.name == "Starters"
    assert [link.group.code for link in moved.group_links.all()] == ["sauces", "sides"]


def test_modifiers_match_by_plu_then_name_and_missing_ones_are_deleted():
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    ids = dict(
        m.Modifier.objects.filter(group__venue=venue).values_list("plu", "pk"),
    )
    doc = brasserie_menu()
    doneness = doc["modifier_groups"][0]["modifiers"]
    # Swap two names (the unique name per group must not get in the way) and drop one.
    doneness[0]["name"], doneness[1]["name"] = doneness[1]["name"], doneness[0]["name"]
    dropped = doneness.pop(3)
    dressing = doc["modifier_groups"][2]["modifiers"]
    dressing[0]["plu"] = ""  # matched by name now
    dressing[1]["name"] = "Honey mustard"  # matched by PLU, renamed

    result = menu_import(venue=venue, data=doc, actor=SETUP)

    assert result.deleted["modifiers"] == 1
    assert result.updated["modifiers"] == 4
    assert not m.Modifier.objects.filter(pk=ids[dropped["plu"]]).exists()
    rare = m.Modifier.objects.get(pk=ids["M-DN-R"])
    assert rare.name == "Medium rare"
    assert m.Modifier.objects.get(pk=ids["M-DN-MR"]).name == "Rare"
    vinaigrette = m.Modifier.objects.get(pk=ids["M-DR-VI"])
    assert (vinaigrette.name, vinaigrette.plu) == ("Vinaigrette", "")
    assert m.Modifier.objects.get(pk=ids["M-DR-HM"]).name == "Honey mustard"


def test_codes_may_refer_to_tax_rates_and_groups_already_in_the_venue():
    venue = VenueFactory()
    make_stations(venue, ["grill"])
    TaxRateFactory(venue=venue, code="H", rate=Decimal("21"))
    ModifierGroupFactory(venue=venue, code="ice", name="Ice")
    doc = {
        "menus": [
            {
                "name": "Drinks",
                "categories": [
                    {
                        "name": "Spirits",
                        "items": [
                            {
                                "plu": "G1",
                                "name": "Gin",
                                "price": 800,
                                "tax_code": "H",
                                "modifier_groups": ["ice"],
                            }
                        ],
                    }
                ],
            }
        ]
    }

    menu_import(venue=venue, data=doc, actor=SETUP)

    gin = m.MenuItem.objects.get(venue=venue, plu="G1")
    assert gin.tax_rate.code == "H"
    assert [g.code for g in gin.modifier_groups.all()] == ["ice"]


def test_a_nesting_cycle_through_a_group_already_in_the_venue_is_refused():
    venue = demo_venue()
    sauces = ModifierGroupFactory(venue=venue, code="sauces", name="Sauces")
    ModifierFactory(group=sauces, name="Pepper", nested_group=ModifierGroupFactory(venue=venue))
    menu_import(venue=venue, data=small_doc(), actor=SETUP)
    # In the venue: sauces -> (a group) ; now sauces' modifier asks for "sides" as well.
    ModifierFactory(
        group=sauces,
        name="Dip",
        nested_group=m.ModifierGroup.objects.get(venue=venue, code="sides"),
    )
    doc = small_doc()
    doc["modifier_groups"][1]["modifiers"][0]["nested_group"] = "sauces"

    errors = import_errors(venue, doc)

    assert errors == [
        "modifier_groups[0].modifiers[1].nested_group: "
        "nested groups form a cycle: sides → dressing → sauces → sides"
    ]


def test_omitted_optional_fields_take_their_defaults_also_on_update():
    venue = demo_venue()
    doc = small_doc()
    item = doc["menus"][0]["categories"][0]["items"][1]
    item.update({"description": "Creamy", "stock_count": 5, "prep_minutes": 20})
    menu_import(venue=venue, data=doc, actor=SETUP)

    menu_import(venue=venue, data=small_doc(), actor=SETUP)

    risotto = m.MenuItem.objects.get(venue=venue, plu="D2")
    assert (risotto.description, risotto.stock_count, risotto.prep_minutes) == ("", None, 0)


# --- validation: every problem with its JSON path ------------------------------------------


def _set(path: str, value):
    """A change to small_doc(): set the value at a dotted path with [index] parts."""

    def change(doc):
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        target = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _items(doc):
    return doc["menus"][0]["categories"][0]["items"]


def _duplicate_plu(doc):
    _items(doc)[1]["plu"] = "D1"


def _missing_name(doc):
    del _items(doc)[0]["name"]


def _group_cycle(doc):
    doc["modifier_groups"][1]["modifiers"][0]["nested_group"] = "sides"


def _self_nested(doc):
    doc["modifier_groups"][0]["modifiers"][0]["nested_group"] = "sides"


ITEM = "menus[0].categories[0].items[1]"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda d: d["modifier_groups"][1].update({"min": 2, "max": 1}),
            "modifier_groups[1].max: must be >= min",
            id="min>max",
        ),
        pytest.param(
            _set("modifier_groups[1].free", 2),
            "modifier_groups[1].free: must be <= max",
            id="free>max",
        ),
        pytest.param(
            _set("modifier_groups[1].max", 0),
            "modifier_groups[1].max: must be >= 1, got 0",
            id="max<1",
        ),
        pytest.param(
            _set(f"{ITEM}.price", 12.5),
            f"{ITEM}.price: must be an integer number of cents, got 12.5",
            id="float-price",
        ),
        pytest.param(
            _set(f"{ITEM}.price", "12.50"),
            f'{ITEM}.price: must be an integer number of cents, got "12.50"',
            id="string-price",
        ),
        pytest.param(
            _set(f"{ITEM}.price", -100),
            f"{ITEM}.price: must not be negative, got -100",
            id="negative-price",
        ),
        pytest.param(
            _set("modifier_groups[0].modifiers[0].price_delta", 3.5),
            "modifier_groups[0].modifiers[0].price_delta: "
            "must be an integer number of cents, got 3.5",
            id="float-price-delta",
        ),
        pytest.param(
            _set(f"{ITEM}.tax_code", "X"),
            f'{ITEM}.tax_code: unknown tax code "X" (known: L)',
            id="unknown-tax-code",
        ),
        pytest.param(
            _set(f"{ITEM}.station", "grlil"),
            f'{ITEM}.station: unknown station "grlil" (did you mean "grill"?)',
            id="unknown-station",
        ),
        pytest.param(
            _set("menus[0].categories[0].default_station", "kitchen"),
            'menus[0].categories[0].default_station: unknown station "kitchen" '
            "(known: bar, cold, expo, grill, pastry)",
            id="unknown-default-station",
        ),
        pytest.param(
            _set(f"{ITEM}.modifier_groups", ["sides", "sauce"]),
            f'{ITEM}.modifier_groups[1]: unknown modifier group "sauce" (known: dressing, sides)',
            id="unknown-group",
        ),
        pytest.param(
            _set("modifier_groups[0].modifiers[0].nested_group", "dresing"),
            'modifier_groups[0].modifiers[0].nested_group: unknown modifier group "dresing" '
            '(did you mean "dressing"?)',
            id="unknown-nested-group",
        ),
        pytest.param(
            _duplicate_plu,
            f'{ITEM}.plu: duplicate PLU "D1" (also at menus[0].categories[0].items[0].plu)',
            id="duplicate-plu",
        ),
        pytest.param(
            lambda d: d["modifier_groups"].append({"code": "sides", "name": "Again"}),
            'modifier_groups[2].code: duplicate group code "sides" '
            "(also at modifier_groups[0].code)",
            id="duplicate-group-code",
        ),
        pytest.param(
            _set("modifier_groups[1].modifiers[1].name", "Vinaigrette"),
            'modifier_groups[1].modifiers[1].name: duplicate modifier name "Vinaigrette" '
            "(also at modifier_groups[1].modifiers[0].name)",
            id="duplicate-modifier-name",
        ),
        pytest.param(
            _group_cycle,
            "modifier_groups[0].modifiers[1].nested_group: "
            "nested groups form a cycle: sides → dressing → sides",
            id="nested-cycle",
        ),
        pytest.param(
            _self_nested,
            "modifier_groups[0].modifiers[0].nested_group: nested groups form a cycle: "
            "sides → sides",
            id="nested-in-itself",
        ),
        pytest.param(
            _set(f"{ITEM}.pirce", 1950),
            f'{ITEM}.pirce: unknown key (did you mean "price"?)',
            id="unknown-key",
        ),
        pytest.param(
            _set("menus[0].colour", "red"),
            "menus[0].colour: unknown key (allowed: name, active, windows, categories)",
            id="unknown-key-no-suggestion",
        ),
        pytest.param(
            _set("menus[0].windows[0].from", "25:00"),
            'menus[0].windows[0].from: must be a time "HH:MM" from 00:00 to 23:59, got "25:00"',
            id="bad-time",
        ),
        pytest.param(
            _set("menus[0].windows[0].until", "9:30"),
            'menus[0].windows[0].until: must be a time "HH:MM" from 00:00 to 23:59, got "9:30"',
            id="bad-time-format",
        ),
        pytest.param(
            _set("menus[0].windows[0].until", "17:00"),
            'menus[0].windows[0].until: must not be the same as "from"',
            id="empty-window",
        ),
        pytest.param(
            _set("menus[0].windows[0].weekdays", [0, 7]),
            "menus[0].windows[0].weekdays[1]: must be a weekday 0-6 (0 = Monday), got 7",
            id="bad-weekday",
        ),
        pytest.param(
            _set("menus[0].windows[0].weekdays", []),
            "menus[0].windows[0].weekdays: must list at least one weekday",
            id="no-weekdays",
        ),
        pytest.param(
            _missing_name,
            "menus[0].categories[0].items[0].name: required",
            id="missing-required",
        ),
        pytest.param(
            _set(f"{ITEM}.available", "yes"),
            f'{ITEM}.available: must be true or false, got "yes"',
            id="wrong-type-bool",
        ),
        pytest.param(
            _set(f"{ITEM}.stock_count", -1),
            f"{ITEM}.stock_count: must not be negative, got -1",
            id="negative-stock",
        ),
        pytest.param(
            _set(f"{ITEM}.plu", "D 2"),
            f'{ITEM}.plu: must use only letters, digits, ".", "_" and "-", got "D 2"',
            id="bad-plu",
        ),
        pytest.param(
            _set("menus[0].categories", {"name": "Mains"}),
            "menus[0].categories: must be a list, got an object",
            id="object-for-list",
        ),
        pytest.param(
            _set("tax_rates[0].rate", 9.5),
            'tax_rates[0].rate: must be a percentage as a string such as "21" or "5.5" '
            "(at most 4 decimals), got 9.5",
            id="float-rate",
        ),
        pytest.param(
            _set("currency", "USD"),
            "currency: the menu is in USD but the venue uses EUR",
            id="currency",
        ),
        pytest.param(
            _set("version", 2),
            "version: unsupported format version 2 (this Brigade reads version 1)",
            id="version",
        ),
        pytest.param(
            lambda d: d["menus"].append({"name": "Dinner"}),
            'menus[1].name: duplicate menu name "Dinner" (also at menus[0].name)',
            id="duplicate-menu",
        ),
        pytest.param(
            lambda d: d["modifier_groups"][1].update({"min": 3, "max": 3}),
            "modifier_groups[1].min: cannot be met: the group has 2 modifiers (max_per_modifier 1)",
            id="min-cannot-be-met",
        ),
    ],
)
def test_each_problem_is_reported_with_its_json_path(change, expected):
    venue = demo_venue()
    doc = small_doc()
    change(doc)

    errors = import_errors(venue, doc)

    assert errors == [expected]
    assert row_counts(venue)["items"] == 0


def test_all_problems_are_collected_and_listed_in_the_message():
    venue = demo_venue()
    doc = small_doc()
    doc["modifier_groups"][1].update({"min": 2, "max": 1})
    _items(doc)[0]["price"] = 12.5
    _items(doc)[1]["tax_code"] = "X"
    doc["menus"][0]["windows"][0]["from"] = "24:00"

    with pytest.raises(ValidationFailed) as info:
        menu_import(venue=venue, data=doc, actor=SETUP)

    exc = info.value
    assert exc.code == "invalid_menu"
    # Values of the wrong shape first (in document order), then rules across fields.
    assert exc.errors == [
        'menus[0].windows[0].from: must be a time "HH:MM" from 00:00 to 23:59, got "24:00"',
        "menus[0].categories[0].items[0].price: must be an integer number of cents, got 12.5",
        "modifier_groups[1].max: must be >= min",
        'menus[0].categories[0].items[1].tax_code: unknown tax code "X" (known: L)',
    ]
    assert exc.message.splitlines() == [
        "The menu was not imported; it has 4 problems:",
        *exc.errors,
    ]
    assert exc.as_dict()["error"]["errors"] == exc.errors


def test_a_document_that_is_not_an_object_is_refused():
    assert import_errors(demo_venue(), ["menus"]) == ["document: must be an object, got a list"]


# --- atomicity and permissions -------------------------------------------------------------


def test_one_bad_item_deep_in_the_file_changes_nothing():
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    before = row_counts()
    exported = menu_export(venue=venue)
    doc = brasserie_menu()
    find_item(doc, "D201")["price"] = 9999  # a valid change early on
    doc["tax_rates"].append({"code": "Z", "name": "Zero", "rate": "0"})
    doc["menus"][0]["categories"].append({"name": "New", "items": []})
    doc["menus"][2]["categories"][-1]["items"][-1]["price"] = 6.95  # the last item

    with pytest.raises(MenuInvalid) as info:
        menu_import(venue=venue, data=doc, deactivate_missing=True, actor=SETUP)

    assert info.value.errors == [
        "menus[2].categories[4].items[2].price: must be an integer number of cents, got 6.95"
    ]
    assert row_counts() == before
    assert m.MenuItem.objects.get(venue=venue, plu="D201").price == 2850
    assert menu_export(venue=venue) == exported


def test_a_database_error_while_writing_rolls_everything_back_and_is_reported():
    venue = demo_venue()
    # A rule only the database knows: no item with PLU "BOOM".
    table = m.MenuItem._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER test_refuse_boom BEFORE INSERT ON {table} "
                "WHEN NEW.plu = 'BOOM' BEGIN SELECT RAISE(ABORT, 'no BOOM items'); END"
            )
        else:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT test_refuse_boom CHECK (plu <> 'BOOM')"
            )
    menu_import(venue=venue, data=small_doc(), actor=SETUP)
    before = row_counts()
    doc = small_doc()
    _items(doc)[0]["price"] = 2600
    _items(doc).append({"plu": "BOOM", "name": "Boom", "price": 100, "tax_code": "L"})

    with pytest.raises(MenuInvalid) as info:
        menu_import(venue=venue, data=doc, actor=SETUP)

    [error] = info.value.errors
    assert error.startswith("menus[0].categories[0].items[2]: the database refused it: ")
    assert row_counts() == before
    assert m.MenuItem.objects.get(venue=venue, plu="D1").price == 2450


def test_only_staff_who_may_edit_menus_can_import():
    venue = demo_venue()
    server = StaffFactory(venue=venue, role=m.StaffMember.Role.SERVER)
    owner_elsewhere = StaffFactory(role=m.StaffMember.Role.OWNER)
    owner = StaffFactory(venue=venue, role=m.StaffMember.Role.OWNER)

    for actor in (server, owner_elsewhere):
        with pytest.raises(PermissionDenied):
            menu_import(venue=venue, data=small_doc(), actor=actor)
        assert row_counts(venue)["items"] == 0

    menu_import(venue=venue, data=small_doc(), actor=owner)
    assert row_counts(venue)["items"] == 2


# --- the management commands ---------------------------------------------------------------


def test_export_command_writes_the_document_to_stdout_or_a_file(tmp_path):
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    out = io.StringIO()

    call_command("export_menu", venue=venue.slug, stdout=out)

    assert json.loads(out.getvalue()) == menu_export(venue=venue)
    assert "Crème brûlée" in out.getvalue()
    target = tmp_path / "menu.json"
    out = io.StringIO()
    call_command("export_menu", "-o", str(target), venue=venue.slug, stdout=out)
    assert json.loads(target.read_text(encoding="utf-8")) == menu_export(venue=venue)
    assert f"{DEMO_ITEMS} items" in out.getvalue()


def test_export_then_import_command_into_a_fresh_venue(tmp_path):
    venue = demo_venue()
    call_command("import_menu", str(BRASSERIE_MENU_PATH), venue=venue.slug, stdout=io.StringIO())
    target = tmp_path / "menu.json"
    call_command("export_menu", "-o", str(target), venue=venue.slug, stdout=io.StringIO())
    fresh = demo_venue()

    call_command("import_menu", str(target), venue=fresh.slug, stdout=io.StringIO())

    assert menu_export(venue=fresh) == menu_export(venue=venue)


def test_import_command_refuses_bad_json_with_line_and_column(tmp_path):
    venue = demo_venue()
    path = tmp_path / "menu.json"
    path.write_text('{\n  "menus": [\n    {"name": "Lunch",}\n  ]\n}\n', encoding="utf-8")

    with pytest.raises(CommandError) as info:
        call_command("import_menu", str(path), venue=venue.slug)

    assert str(info.value) == (
        f"{path} is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 22."
    )
    assert row_counts(venue)["menus"] == 0


def test_import_command_refuses_an_unknown_venue_or_missing_file(tmp_path):
    venue = demo_venue()
    with pytest.raises(CommandError, match=r'No venue with slug "nope" \(venues: .*venue-'):
        call_command("import_menu", str(BRASSERIE_MENU_PATH), venue="nope")
    with pytest.raises(CommandError, match='No venue with slug "nope"'):
        call_command("export_menu", venue="nope")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_menu", str(tmp_path / "missing.json"), venue=venue.slug)
    assert row_counts()["items"] == 0


def test_import_command_lists_every_problem_and_changes_nothing(tmp_path):
    venue = demo_venue()
    doc = small_doc()
    _items(doc)[1]["price"] = 12.5
    doc["modifier_groups"][0]["max"] = 0
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(doc), encoding="utf-8")

    with pytest.raises(CommandError) as info:
        call_command("import_menu", str(path), venue=venue.slug)

    assert str(info.value).splitlines() == [
        f"{path}: The menu was not imported; it has 2 problems:",
        "modifier_groups[0].max: must be >= 1, got 0",
        "menus[0].categories[0].items[1].price: must be an integer number of cents, got 12.5",
    ]
    assert sum(row_counts(venue).values()) == 5  # only the stations


def test_deactivate_missing_only_when_asked(tmp_path):
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    doc = brasserie_menu()
    doc["menus"] = doc["menus"][2:]  # only the drinks
    path = tmp_path / "drinks.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    active = m.MenuItem.objects.filter(venue=venue, is_active=True)

    call_command("import_menu", str(path), venue=venue.slug, stdout=io.StringIO())
    assert active.count() == DEMO_ITEMS

    out = io.StringIO()
    call_command("import_menu", str(path), venue=venue.slug, deactivate_missing=True, stdout=out)
    drinks = m.MenuItem.objects.filter(venue=venue, category__menu__name="Drinks")
    assert set(active.values_list("pk", flat=True)) == set(drinks.values_list("pk", flat=True))
    assert "Deactivated 35 items missing from the file." in out.getvalue()

    # Back in the file, an item is active again.
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    assert active.count() == DEMO_ITEMS


def test_dry_run_counts_the_changes_and_saves_nothing():
    venue = demo_venue()
    out = io.StringIO()

    call_command(
        "import_menu", str(BRASSERIE_MENU_PATH), venue=venue.slug, dry_run=True, stdout=out
    )

    assert "Dry run, nothing was saved" in out.getvalue()
    assert f"{DEMO_ITEMS} items" in out.getvalue()
    assert row_counts(venue)["items"] == 0


def test_demo_file_is_a_fixed_point_of_import_and_export():
    """The demo file written out by export and read back is the same menu."""
    venue = demo_venue()
    menu_import(venue=venue, data=brasserie_menu(), actor=SETUP)
    exported = menu_export(venue=venue)
    again = demo_venue()

    menu_import(venue=again, data=copy.deepcopy(exported), actor=SETUP)

    assert menu_export(venue=again) == exported
    assert find_item(exported, "D205")["stock_count"] == 24
    assert exported["tax_rates"] == [
        {"code": "L", "name": "Low (9%)", "rate": "9"},
        {"code": "H", "name": "High (21%)", "rate": "21"},
    ]


def test_the_example_in_the_format_document_imports():
    text = (settings.BASE_DIR / "docs" / "menu-format.md").read_text(encoding="utf-8")
    section = text.split("## A full example", 1)[1].split("\n\n", 2)[1]
    example = json.loads("\n".join(line[4:] for line in section.splitlines()))
    venue = demo_venue()

    result = menu_import(venue=venue, data=example, actor=SETUP)

    assert result.created["items"] == 5
    assert m.Menu.objects.get(venue=venue, name="Drinks").windows.count() == 0
