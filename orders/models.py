"""Checks (tabs), order lines with price snapshots, chosen modifiers, and the audit trail.

An order line is a piece of history: the item's name, PLU, unit price and tax rate and the
chosen modifiers are copied onto it when it is added, so later menu edits never change a past
check. Totals come from orders/pricing.py, computed from these snapshots only.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from restaurant.models import MenuItem, Modifier, StaffMember, Table, Venue


class Check(models.Model):
    class Kind(models.TextChoices):
        TABLE = "table", _("Table")
        BAR_TAB = "bar_tab", _("Bar tab")
        TAKEAWAY = "takeaway", _("Takeaway")
        ONLINE = "online", _("Online order")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        VOIDED = "voided", _("Voided")
        # Its lines went to another check (`merged_into`); it is closed and shows nothing.
        MERGED = "merged", _("Merged")

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="checks")
    number = models.PositiveIntegerField(_("number"), help_text=_("Per venue, from 1."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    server = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="checks")
    table = models.ForeignKey(
        Table, on_delete=models.PROTECT, null=True, blank=True, related_name="checks"
    )
    guest_count = models.PositiveSmallIntegerField(_("guests"), default=0)
    tab_name = models.CharField(_("name on tab"), max_length=80, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Optimistic concurrency: every write bumps the version (orders/services.py).
    version = models.PositiveIntegerField(default=1)
    # Check-level fields (server, table, guests, check discounts) last changed in this version.
    header_version = models.PositiveIntegerField(default=1)
    fired_courses = models.JSONField(default=list, blank=True, help_text=_("Courses fired."))
    prebill_printed_at = models.DateTimeField(_("check printed"), null=True, blank=True)
    paying_since = models.DateTimeField(_("paying since"), null=True, blank=True)
    # Kept by payments/services.py: what succeeded payments have paid toward the check (no
    # tips). A change that would bring the total below it is refused (orders/services.py).
    paid_amount = models.PositiveIntegerField(_("paid (minor units)"), default=0)
    service_charge_percent = models.DecimalField(
        _("service charge (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the venue's service charge applies; 0: waived."),
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_checks",
        verbose_name=_("merged into"),
    )

    class Meta:
        verbose_name = _("check")
        verbose_name_plural = _("checks")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "number"], name="check_unique_number"),
            models.CheckConstraint(
                condition=~Q(kind="table") | Q(table__isnull=False),
                name="check_table_kind_has_table",
            ),
            models.CheckConstraint(
                condition=Q(kind="table") | Q(table__isnull=True),
                name="check_only_table_kind_has_table",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="check_closed_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(status="merged", merged_into__isnull=False)
                | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="check_merged_has_target",
            ),
            # One open check per table: two tablets opening table 12 at once get one check.
            models.UniqueConstraint(
                fields=["table"], condition=Q(status="open"), name="check_one_open_per_table"
            ),
        ]
        indexes = [models.Index(fields=["venue", "status"], name="check_venue_status")]

    def __str__(self) -> str:
        return f"#{self.number} {self.label}"

    @property
    def label(self) -> str:
        if self.kind == self.Kind.TABLE and self.table_id:
            return str(_("Table %(name)s") % {"name": self.table.name})
        if self.tab_name:
            return self.tab_name
        return str(self.get_kind_display())

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class OrderLine(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        SENT = "sent", _("Sent")
        VOIDED = "voided", _("Voided")

    # Named `tab`, not `check`: a field called `check` would hide Model.check().
    tab = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="lines")
    menu_item = models.ForeignKey(
        MenuItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # --- snapshot, copied from the menu when the line is added -----------------------------
    name = models.CharField(_("name"), max_length=80)
    plu = models.CharField(_("PLU"), max_length=32)
    unit_price = models.PositiveIntegerField(_("item price (minor units)"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=7, decimal_places=4)
    tax_code = models.CharField(_("tax code"), max_length=8)
    station_slug = models.CharField(_("station"), max_length=40, blank=True)
    # ---------------------------------------------------------------------------------------
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    seat = models.PositiveSmallIntegerField(_("seat"), default=0, help_text=_("0 = shared"))
    course = models.PositiveSmallIntegerField(_("course"), default=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    added_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    rush = models.BooleanField(_("rush"), default=False)
    # The check version in which this line last changed: a stale write that touches this line
    # conflicts only if the line changed after the version the writer saw.
    changed_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_batch = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Which send of the check this line went out with.")
    )
    fired_at = models.DateTimeField(_("fired"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready"), null=True, blank=True)
    served_at = models.DateTimeField(_("served"), null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=200, blank=True)
    voided_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    void_approved_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["tab", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity_gte_1"),
            models.CheckConstraint(condition=Q(course__gte=1), name="line_course_gte_1"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="line_tax_rate_0_100"
            ),
            models.CheckConstraint(
                condition=~Q(status="voided") | ~Q(void_reason=""),
                name="line_void_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}x {self.name}"


class LineModifier(models.Model):
    """A chosen modifier, copied onto the line. `parent` links nested choices."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="modifiers")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    modifier = models.ForeignKey(
        Modifier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    group_name = models.CharField(_("group"), max_length=60)
    name = models.CharField(_("name"), max_length=60)
    plu = models.CharField(_("PLU"), max_length=32, blank=True)
    price_delta = models.IntegerField(_("price change per unit (minor units)"))
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    free_quantity = models.PositiveSmallIntegerField(
        _("free quantity"), default=0, help_text=_("Units covered by the group's free choices.")
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("line modifier")
        verbose_name_plural = _("line modifiers")
        ordering = ["line", "sort_order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="linemod_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(free_quantity__lte=models.F("quantity")),
                name="linemod_free_lte_quantity",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def charged_quantity(self) -> int:
        return self.quantity - self.free_quantity


class Adjustment(models.Model):
    """A comp or discount on one line or on the whole check: a percentage or an amount.

    A comp is a discount of 100% of what it applies to, recorded as its own kind for reports.
    Check-level adjustments are shared across the lines by largest remainder (orders/pricing.py),
    so each tax rate's base shrinks in proportion.
    """

    class Kind(models.TextChoices):
        COMP = "comp", _("Comp")
        DISCOUNT = "discount", _("Discount")

    tab = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="adjustments")
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="adjustments"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    percent = models.DecimalField(
        _("percent"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    amount = models.PositiveIntegerField(_("amount (minor units)"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    actor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("comp or discount")
        verbose_name_plural = _("comps and discounts")
        ordering = ["tab", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(percent__isnull=False) & Q(amount__isnull=True))
                | (Q(percent__isnull=True) & Q(amount__isnull=False)),
                name="adjustment_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gt=0) & Q(percent__lte=100)),
                name="adjustment_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="adjustment_amount_gt_0"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_has_reason"),
        ]

    def __str__(self) -> str:
        what = f"{self.percent}%" if self.percent is not None else str(self.amount)
        return f"{self.get_kind_display()} {what}"


class CheckAudit(models.Model):
    """Every change to a check: who, when, what, why. Written by the services only."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    tab = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="audit")
    line = models.ForeignKey(
        OrderLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    actor = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=40)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["tab", "id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.tab_id}"
