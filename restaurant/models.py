"""The venue domain: venues, staff, floor, menus, modifiers, tax rates, stations, printers.

Everything is scoped by venue: one deployment can run several restaurants. Money is an integer
in the currency's minor unit (cents). Tax rates are exact decimals (percent). Database
constraints enforce what they can; services (restaurant/services.py) enforce the rest.
"""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TIMEZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones())


def default_tip_presets() -> list[int]:
    return [5, 10, 15]


def smart_tips_problem(threshold, amounts) -> str | None:
    """Why smart tips (fixed amounts below a threshold) cannot be set so, or None."""
    if amounts in (None, ""):
        amounts = []
    if not isinstance(amounts, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in amounts
    ):
        return _("Fixed tip amounts are whole amounts in cents above 0, for example [100, 200].")
    if len(amounts) > 3:
        return _("A card reader shows at most three fixed tip amounts.")
    if threshold and not amounts:
        return _("Smart tips need the fixed amounts to offer below the threshold.")
    return None


class Venue(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        DUTCH = "nl", _("Dutch")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as EUR."))],
    )
    timezone = models.CharField(
        _("timezone"), max_length=64, default="Europe/Amsterdam", choices=TIMEZONE_CHOICES
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    prices_include_tax = models.BooleanField(
        _("prices include tax"),
        default=True,
        help_text=_("On for EU-style prices (VAT included); off when tax is added (US)."),
    )
    tip_presets = models.JSONField(
        _("tip presets (%)"),
        default=default_tip_presets,
        blank=True,
        help_text=_("Whole percentages offered as tip buttons, for example [5, 10, 15]."),
    )
    tip_smart_threshold = models.PositiveIntegerField(
        _("smart tips below (minor units)"),
        default=0,
        help_text=_(
            "On the card readers: below this amount (in cents) the guest is offered the fixed "
            "tip amounts instead of percentages; 0 turns smart tips off."
        ),
    )
    tip_fixed_amounts = models.JSONField(
        _("fixed tip amounts (minor units)"),
        default=list,
        blank=True,
        help_text=_("Up to three amounts in cents for smart tips, for example [100, 200, 300]."),
    )
    cash_rounding = models.PositiveIntegerField(
        _("cash rounding step"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("In minor units: 5 rounds cash payments to 5 cents (NL); 1 turns it off."),
    )
    tip_before_tax = models.BooleanField(
        _("tips on the amount before tax"),
        default=False,
        help_text=_("Tip suggestions are a percentage of the bill without tax."),
    )
    tip_before_discount = models.BooleanField(
        _("tips on the amount before discounts"),
        default=False,
        help_text=_("Tip suggestions are a percentage of the bill as if nothing was discounted."),
    )
    service_charge_percent = models.DecimalField(
        _("service charge (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Added to checks automatically; 0 turns it off."),
    )
    service_charge_min_guests = models.PositiveSmallIntegerField(
        _("service charge from party size"),
        default=0,
        help_text=_("Only for tables of at least this many guests; 0 for every check."),
    )
    receipt_header = models.TextField(_("receipt header"), blank=True)
    receipt_footer = models.TextField(_("receipt footer"), blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    # The venue's address in parts, as receipts print it and Stripe's Terminal location needs it
    # (payments.card.terminal_location_ensure): street, postal code, city, country, and the
    # state or province where the country has them.
    address_line1 = models.CharField(
        _("street and number"),
        max_length=200,
        blank=True,
        help_text=_("For example: Keizersgracht 1."),
    )
    address_line2 = models.CharField(
        _("address line 2"), max_length=200, blank=True, help_text=_("Building, floor or unit.")
    )
    address_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    address_city = models.CharField(_("city"), max_length=100, blank=True)
    address_state = models.CharField(
        _("state or province"),
        max_length=100,
        blank=True,
        help_text=_("Only where the country has them (United States, Canada, Australia): CA."),
    )
    address_country = models.CharField(
        _("country"),
        max_length=2,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z]{2}$", _("Use a two-letter ISO 3166 country code such as NL.")
            )
        ],
        help_text=_("Two letters: NL, BE, DE, GB, US..."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cash_rounding__gte=1), name="venue_cash_rounding_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(service_charge_percent__gte=0) & Q(service_charge_percent__lte=100),
                name="venue_service_charge_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def address_lines(self) -> list[str]:
        """The address as it is written on an envelope (and a receipt), without the country:
        "1015 CJ Amsterdam" in most of Europe, "San Francisco, CA 94111" where states are used."""
        lines = [self.address_line1, self.address_line2]
        postal, city, state = self.address_postal_code, self.address_city, self.address_state
        if state:
            lines.append(
                " ".join(part for part in (f"{city}," if city else "", state, postal) if part)
            )
        else:
            lines.append(" ".join(part for part in (postal, city) if part))
        return [line.strip() for line in lines if line and line.strip()]

    def clean(self):
        from django.core.exceptions import ValidationError

        self.address_country = (self.address_country or "").strip().upper()
        presets = self.tip_presets
        if not isinstance(presets, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100 for p in presets
        ):
            raise ValidationError(
                {"tip_presets": _("Tip presets must be a list of whole percentages from 1 to 100.")}
            )
        problem = smart_tips_problem(self.tip_smart_threshold, self.tip_fixed_amounts)
        if problem:
            raise ValidationError({"tip_fixed_amounts": problem})


class StaffMember(models.Model):
    """A person's profile at one venue: role, PIN (stored as a keyed digest) and active flag."""

    class Role(models.TextChoices):
        SERVER = "server", _("Server")
        BARTENDER = "bartender", _("Bartender")
        HOST = "host", _("Host")
        MANAGER = "manager", _("Manager")
        KITCHEN = "kitchen", _("Kitchen")
        OWNER = "owner", _("Owner")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profiles"
    )
    display_name = models.CharField(_("display name"), max_length=60)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.SERVER)
    pin_digest = models.CharField(max_length=64, editable=False)
    pin_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["venue", "display_name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "user"], name="staff_unique_user_per_venue"),
            models.UniqueConstraint(
                fields=["venue", "pin_digest"], name="staff_unique_pin_per_venue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_role_display()})"


class FloorArea(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="areas")
    name = models.CharField(_("name"), max_length=60)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("floor area")
        verbose_name_plural = _("floor areas")
        ordering = ["venue", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="area_unique_name_per_venue")
        ]

    def __str__(self) -> str:
        return self.name


class Table(models.Model):
    class Shape(models.TextChoices):
        SQUARE = "square", _("Square")
        ROUND = "round", _("Round")
        RECTANGLE = "rectangle", _("Rectangle")
        BAR_SEAT = "bar_seat", _("Bar seat")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="tables")
    area = models.ForeignKey(FloorArea, on_delete=models.PROTECT, related_name="tables")
    name = models.CharField(_("number or name"), max_length=20)
    seats = models.PositiveSmallIntegerField(_("seats"), default=4)
    shape = models.CharField(_("shape"), max_length=16, choices=Shape.choices, default=Shape.SQUARE)
    # Position and size on the floor plan, in grid units of the area's canvas.
    x = models.PositiveSmallIntegerField(default=0)
    y = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveSmallIntegerField(default=2)
    height = models.PositiveSmallIntegerField(default=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("table")
        verbose_name_plural = _("tables")
        ordering = ["venue", "area__sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="table_unique_name_per_venue"),
            models.CheckConstraint(condition=Q(seats__gte=1), name="table_seats_gte_1"),
            models.CheckConstraint(
                condition=Q(width__gte=1) & Q(height__gte=1), name="table_size_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TaxRate(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(_("name"), max_length=40, help_text=_("For example 'Low (9%)'."))
    code = models.CharField(
        _("code"), max_length=8, help_text=_("Short letter printed on receipts, e.g. A or B.")
    )
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ["venue", "rate"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "code"], name="taxrate_unique_code_per_venue"),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="taxrate_rate_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}"


class Printer(models.Model):
    class Role(models.TextChoices):
        KITCHEN = "kitchen", _("Kitchen tickets")
        RECEIPT = "receipt", _("Receipts")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="printers")
    name = models.CharField(_("name"), max_length=60)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(
        _("port"), default=9100, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.KITCHEN)
    code_page = models.CharField(
        _("code page"),
        max_length=16,
        default="CP858",
        help_text=_("ESC/POS character table; CP858 has the euro sign and accents."),
    )
    paper_width = models.PositiveSmallIntegerField(
        _("characters per line"), default=42, validators=[MinValueValidator(24)]
    )
    backup = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backup_for",
        verbose_name=_("backup printer"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("printer")
        verbose_name_plural = _("printers")
        ordering = ["venue", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="printer_unique_name_per_venue"),
            models.CheckConstraint(
                condition=Q(port__gte=1) & Q(port__lte=65535), name="printer_port_range"
            ),
            models.CheckConstraint(
                condition=~Q(backup=models.F("id")), name="printer_not_own_backup"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.port})"


class Station(models.Model):
    """A kitchen or bar station (grill, cold kitchen, bar, pastry) or the expo pass."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="stations")
    name = models.CharField(_("name"), max_length=60)
    slug = models.SlugField(_("slug"), max_length=40)
    is_expo = models.BooleanField(_("expo"), default=False)
    printer = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stations",
        verbose_name=_("ticket printer"),
    )
    show_on_screen = models.BooleanField(_("kitchen screen"), default=True)
    print_tickets = models.BooleanField(_("print tickets"), default=False)
    print_on_bump = models.BooleanField(_("print chit on bump"), default=False)
    warn_after_seconds = models.PositiveIntegerField(_("yellow after (s)"), default=300)
    late_after_seconds = models.PositiveIntegerField(_("red after (s)"), default=480)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["venue", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "slug"], name="station_unique_slug_per_venue"),
            models.CheckConstraint(
                condition=Q(late_after_seconds__gte=models.F("warn_after_seconds")),
                name="station_late_after_warn",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Menu(models.Model):
    """A menu (lunch, dinner, drinks) with availability windows; none means always."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="menus")
    name = models.CharField(_("name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("menu")
        verbose_name_plural = _("menus")
        ordering = ["venue", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="menu_unique_name_per_venue")
        ]

    def __str__(self) -> str:
        return self.name


def all_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4, 5, 6]


class MenuWindow(models.Model):
    """When a menu is available: weekdays (0 = Monday) and a time range in venue time.

    An end before the start runs past midnight (22:00-02:00).
    """

    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="windows")
    weekdays = models.JSONField(
        _("weekdays"), default=all_weekdays, help_text=_("0 = Monday ... 6 = Sunday")
    )
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("availability window")
        verbose_name_plural = _("availability windows")
        ordering = ["menu", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(starts_at=models.F("ends_at")), name="menuwindow_nonempty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    def clean(self):
        from django.core.exceptions import ValidationError

        days = self.weekdays
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and 0 <= d <= 6 for d in days)
        ):
            raise ValidationError({"weekdays": _("Weekdays must be a list of numbers 0-6.")})


class Category(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="categories")
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(_("name"), max_length=60)
    default_station = models.ForeignKey(
        Station,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default station"),
    )
    color = models.CharField(_("button colour"), max_length=7, blank=True, default="")
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["menu", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["menu", "name"], name="category_unique_name_per_menu")
        ]

    def __str__(self) -> str:
        return f"{self.menu.name} / {self.name}"


class ModifierGroup(models.Model):
    """A choice attached to items: "Doneness (choose 1)", "Sides (up to 2, 1 free)".

    Required when min_choices >= 1. `free_choices` units are free (the most expensive ones);
    `max_per_modifier` is how many of one modifier may be chosen (extra shot x3).
    """

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="modifier_groups")
    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(
        _("code"),
        max_length=60,
        help_text=_("Unique key of the group in this venue (used by menu import/export)."),
    )
    internal_name = models.CharField(
        _("internal name"),
        max_length=80,
        blank=True,
        help_text=_("Tells apart groups with the same name in the back office."),
    )
    min_choices = models.PositiveSmallIntegerField(_("minimum"), default=0)
    max_choices = models.PositiveSmallIntegerField(_("maximum"), default=1)
    free_choices = models.PositiveSmallIntegerField(_("free choices"), default=0)
    max_per_modifier = models.PositiveSmallIntegerField(_("max of one modifier"), default=1)

    class Meta:
        verbose_name = _("modifier group")
        verbose_name_plural = _("modifier groups")
        ordering = ["venue", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "code"], name="modgroup_unique_code"),
            models.CheckConstraint(
                condition=Q(min_choices__lte=models.F("max_choices")), name="modgroup_min_lte_max"
            ),
            models.CheckConstraint(condition=Q(max_choices__gte=1), name="modgroup_max_gte_1"),
            models.CheckConstraint(
                condition=Q(free_choices__lte=models.F("max_choices")),
                name="modgroup_free_lte_max",
            ),
            models.CheckConstraint(
                condition=Q(max_per_modifier__gte=1), name="modgroup_per_modifier_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.internal_name or self.name

    @property
    def is_required(self) -> bool:
        return self.min_choices >= 1


class MenuItem(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="items")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items")
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    plu = models.CharField(
        _("PLU / SKU"),
        max_length=32,
        validators=[RegexValidator(r"^[A-Za-z0-9._-]+$", _("Letters, digits, . _ - only."))],
    )
    price = models.PositiveIntegerField(_("price"), help_text=_("In minor units (cents)."))
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="items")
    station = models.ForeignKey(
        Station,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        verbose_name=_("kitchen station"),
        help_text=_("Empty: the category's default station."),
    )
    prep_minutes = models.PositiveSmallIntegerField(_("prep time (min)"), default=0)
    default_course = models.PositiveSmallIntegerField(_("default course"), default=1)
    is_available = models.BooleanField(
        _("available"), default=True, help_text=_("Off = 86'd: cannot be ordered.")
    )
    stock_count = models.PositiveIntegerField(
        _("stock count"),
        null=True,
        blank=True,
        help_text=_("Empty: not counted. Decrements when sent; 86'd at zero."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    modifier_groups = models.ManyToManyField(
        ModifierGroup, through="ItemModifierGroup", related_name="items", blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("menu item")
        verbose_name_plural = _("menu items")
        ordering = ["category", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "plu"], name="item_unique_plu_per_venue"),
            models.CheckConstraint(condition=Q(price__gte=0), name="item_price_gte_0"),
            models.CheckConstraint(condition=Q(default_course__gte=1), name="item_course_gte_1"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_station(self):
        return self.station or self.category.default_station


class ItemModifierGroup(models.Model):
    """Attaches a modifier group to an item, in order."""

    item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="group_links")
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="item_links")
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("modifier group of item")
        verbose_name_plural = _("modifier groups of item")
        ordering = ["item", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "group"], name="itemgroup_unique")]

    def __str__(self) -> str:
        return f"{self.item} → {self.group}"


class Modifier(models.Model):
    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="modifiers")
    name = models.CharField(_("name"), max_length=60)
    plu = models.CharField(_("PLU"), max_length=32, blank=True, default="")
    price_delta = models.IntegerField(
        _("price change"), default=0, help_text=_("In minor units (cents); may be negative.")
    )
    is_available = models.BooleanField(_("available"), default=True)
    is_default = models.BooleanField(_("pre-selected"), default=False)
    nested_group = models.ForeignKey(
        ModifierGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="parent_modifiers",
        verbose_name=_("nested group"),
        help_text=_("Asked when this modifier is chosen (steak → side → dressing)."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("modifier")
        verbose_name_plural = _("modifiers")
        ordering = ["group", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="modifier_unique_name_in_group"),
            models.UniqueConstraint(
                fields=["group", "plu"],
                condition=~Q(plu=""),
                name="modifier_unique_plu_in_group",
            ),
            models.CheckConstraint(
                condition=~Q(nested_group=models.F("group")), name="modifier_not_nested_in_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.name}"


class Device(models.Model):
    """A paired device: a front-of-house tablet, a kitchen screen or a phone.

    Devices authenticate with a random token (only its SHA-256 is stored), handed out once when
    the device is paired with a short code. The owner revokes a device in the admin.
    """

    class Kind(models.TextChoices):
        TABLET = "tablet", _("Tablet")
        KITCHEN_SCREEN = "kds", _("Kitchen screen")
        PHONE = "phone", _("Phone")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TABLET)
    station = models.ForeignKey(
        Station,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("station"),
        help_text=_("For kitchen screens: the station it shows."),
    )
    pairing_code = models.CharField(_("pairing code"), max_length=12, blank=True)
    pairing_expires_at = models.DateTimeField(_("pairing code valid until"), null=True, blank=True)
    token_digest = models.CharField(max_length=64, blank=True, editable=False)
    paired_at = models.DateTimeField(_("paired"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["venue", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_digest"], condition=~Q(token_digest=""), name="device_unique_token"
            ),
            models.UniqueConstraint(
                fields=["pairing_code"],
                condition=~Q(pairing_code=""),
                name="device_unique_pairing_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and bool(self.token_digest)


class PinAttempt(models.Model):
    """Every PIN typed on a device (signing in, or approving an action), kept for the lockout
    and for the manager to read.

    `staff` is whose PIN it was: on success the staff member it matched; on a failure the staff
    member the caller named (a sign-in that says who is signing in), or empty when nobody was
    named (a PIN alone): such failures count against the whole venue (restaurant/services.py).
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("Sign in")
        APPROVAL = "approval", _("Approval")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, null=True, blank=True, related_name="pin_attempts"
    )
    staff = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.SIGN_IN
    )
    requested_by = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("asked by"),
        help_text=_("For approvals: who was signed in and asked for the manager's PIN."),
    )
    success = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("PIN attempt")
        verbose_name_plural = _("PIN attempts")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["venue", "staff", "success", "created_at"], name="pin_attempt_lockout"
            )
        ]

    def __str__(self) -> str:
        return f"{'ok' if self.success else 'failed'} {self.created_at:%Y-%m-%d %H:%M:%S}"


class EventSequence(models.Model):
    """The last event sequence number of a venue; locked last in any writing transaction."""

    venue = models.OneToOneField(
        Venue, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("event sequence")

    def __str__(self) -> str:
        return f"{self.venue_id}: {self.last_seq}"


class Event(models.Model):
    """One realtime event: written in the transaction of the change it describes.

    `seq` is per venue, monotonic and gap-free, so a screen that sees seq n+2 after n knows it
    missed one and fetches a fresh snapshot (docs/realtime.md).
    """

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=60)
    version = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["venue", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "seq"], name="event_unique_seq_per_venue")
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.type}"
