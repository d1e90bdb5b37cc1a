"""Bills, split parts, payments, cash drawers and receipts.

A check's bill is paid in parts (`BillPart`): the whole check, equal shares, seats, items
(fractions of lines: a bottle of wine three ways), or fixed amounts. What each part owes is
computed from the check's lines by payments/splitting.py, exact to the cent, until the part is
paid: then its amounts (total and VAT per rate) are frozen on the part and never change.
A part is paid by one or more `Payment`s (half card, half cash); each payment carries its own
tip, attributed to the check's server and to whoever took it. Cash goes into a drawer session.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Check, OrderLine
from restaurant.models import Printer, StaffMember, Venue
from restaurant.money import format_money


class Drawer(models.Model):
    """A till's cash drawer. Cash payments go into its open session."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="drawers")
    name = models.CharField(_("name"), max_length=60)
    printer = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("receipt printer"),
        help_text=_("The receipt printer the drawer hangs on: it kicks the drawer open."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("cash drawer")
        verbose_name_plural = _("cash drawers")
        ordering = ["venue", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="drawer_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class DrawerSession(models.Model):
    """One drawer from the counted float to the counted close, with the variance."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    drawer = models.ForeignKey(
        Drawer, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("drawer")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    opened_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    opening_float = models.PositiveIntegerField(_("float (minor units)"))
    closed_by = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    expected = models.IntegerField(_("expected (minor units)"), null=True, blank=True)
    counted = models.PositiveIntegerField(_("counted (minor units)"), null=True, blank=True)
    denominations = models.JSONField(
        _("count by denomination"),
        default=dict,
        blank=True,
        help_text=_("Coin or note value in minor units → how many."),
    )
    variance = models.IntegerField(
        _("variance (minor units)"),
        null=True,
        blank=True,
        help_text=_("Counted minus expected: negative is short, positive is over."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("drawer session")
        verbose_name_plural = _("drawer sessions")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["drawer"], condition=Q(status="open"), name="drawer_one_open_session"
            ),
            models.CheckConstraint(
                condition=Q(
                    status="open",
                    closed_at__isnull=True,
                    counted__isnull=True,
                    variance__isnull=True,
                )
                | Q(
                    status="closed",
                    closed_at__isnull=False,
                    counted__isnull=False,
                    expected__isnull=False,
                    variance__isnull=False,
                ),
                name="drawer_session_closed_fields",
            ),
        ]

    def __str__(self) -> str:
        opened = self.opened_at.astimezone(self.drawer.venue.tzinfo) if self.opened_at else None
        return f"{self.drawer} {opened:%Y-%m-%d %H:%M}" if opened else str(self.drawer)


class DrawerMovement(models.Model):
    """Cash put in or taken out of a drawer without a sale, with the reason."""

    class Kind(models.TextChoices):
        PAY_IN = "pay_in", _("Pay in")
        PAY_OUT = "pay_out", _("Pay out")

    session = models.ForeignKey(DrawerSession, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.PositiveIntegerField(_("amount (minor units)"))
    reason = models.CharField(_("reason"), max_length=200)
    staff = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pay in or out")
        verbose_name_plural = _("pays in and out")
        ordering = ["session", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="movement_amount_gt_0"),
            models.CheckConstraint(condition=~Q(reason=""), name="movement_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount, self.session.venue.currency)}"


class BillPart(models.Model):
    """One part of a check's bill, paid by one or more payments.

    kind `even`: one equal share of whatever the other parts leave (the whole check is one even
    part); `lines`: fractions of order lines (`PartShare`: by seat, by item); `amount`: a fixed
    amount. While no payment has succeeded on it, a new split replaces it (status `replaced`);
    once paid its amounts are frozen in `frozen` (payments.splitting.PartAmounts.to_dict()).
    """

    class Kind(models.TextChoices):
        EVEN = "even", _("Equal share")
        LINES = "lines", _("Items")
        AMOUNT = "amount", _("Amount")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        REPLACED = "replaced", _("Replaced by a new split")

    tab = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="bill_parts")
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("label"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.PositiveIntegerField(_("amount (minor units)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    frozen = models.JSONField(_("amounts when paid"), null=True, blank=True)
    created_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        verbose_name = _("bill part")
        verbose_name_plural = _("bill parts")
        ordering = ["tab", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="amount", amount__gt=0) | (~Q(kind="amount") & Q(amount=None)),
                name="billpart_amount_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", frozen__isnull=False, paid_at__isnull=False)
                | (~Q(status="paid") & Q(paid_at=None)),
                name="billpart_paid_is_frozen",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.position}"


class PartShare(models.Model):
    """This part pays numerator/denominator of the line (1/3 of the bottle)."""

    part = models.ForeignKey(BillPart, on_delete=models.CASCADE, related_name="shares")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    numerator = models.PositiveIntegerField()
    denominator = models.PositiveIntegerField()

    class Meta:
        ordering = ["part", "line"]
        constraints = [
            models.UniqueConstraint(fields=["part", "line"], name="partshare_unique_line"),
            models.CheckConstraint(
                condition=Q(numerator__gte=1) & Q(numerator__lte=F("denominator")),
                name="partshare_fraction_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator} of line {self.line_id}"


class Payment(models.Model):
    """Money toward one bill part, with its own tip.

    `amount` is what it pays toward the part (exact); `tip` is on top. For cash, `rounding` is
    the venue's cash rounding (collected − amount − tip, ±2 cents at a 5-cent step),
    `tendered` what the guest handed over and `change` what went back, so the drawer received
    amount + tip + rounding. The tip is attributed to the check's `server` at payment time and
    to `taken_by`.
    """

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CARD = "card", _("Card")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Channel(models.TextChoices):
        READER = "reader", _("Card reader")
        TAP_TO_PAY = "tap_to_pay", _("Tap to Pay")

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    tab = models.ForeignKey(Check, on_delete=models.PROTECT, related_name="payments")
    part = models.ForeignKey(BillPart, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    amount = models.PositiveIntegerField(_("amount (minor units)"))
    tip = models.PositiveIntegerField(_("tip (minor units)"), default=0)
    tip_percent = models.DecimalField(
        _("tip (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    tip_basis = models.PositiveIntegerField(_("tip basis (minor units)"), default=0)
    rounding = models.IntegerField(_("cash rounding (minor units)"), default=0)
    tendered = models.PositiveIntegerField(_("tendered (minor units)"), null=True, blank=True)
    change = models.PositiveIntegerField(_("change (minor units)"), default=0)
    drawer_session = models.ForeignKey(
        DrawerSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("drawer session"),
    )
    server = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("server")
    )
    taken_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("taken by")
    )
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    # --- card payments (payments/card.py) ---------------------------------------------------
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, blank=True, default=""
    )
    reader = models.ForeignKey(
        "CardReader",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("card reader"),
    )
    tip_on_reader = models.BooleanField(_("tip chosen on the reader"), default=False)
    stripe_payment_intent = models.CharField(
        _("Stripe PaymentIntent"), max_length=255, null=True, blank=True, unique=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts on the reader"), default=0)
    failure_code = models.CharField(_("failure code"), max_length=60, blank=True)
    failure_message = models.CharField(_("failure"), max_length=255, blank=True)
    # The last decline recorded from Stripe (its failed charge), so a decline of an earlier
    # attempt is never recorded again once a new attempt has cleared it.
    declined_charge = models.CharField(max_length=255, blank=True, editable=False)
    refunded = models.PositiveIntegerField(_("refunded (minor units)"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["tab", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(method="cash") | Q(drawer_session__isnull=False),
                name="payment_cash_has_drawer",
            ),
            models.CheckConstraint(
                condition=Q(method="cash") | (Q(rounding=0) & Q(change=0)),
                name="payment_rounding_cash_only",
            ),
            # One card payment in progress per part: a retried or concurrent "pay by card"
            # reuses it, so a part can never have two PaymentIntents charging it.
            models.UniqueConstraint(
                fields=["part"],
                condition=Q(method="card", status="pending"),
                name="payment_one_pending_card_per_part",
            ),
            models.CheckConstraint(
                condition=Q(refunded__lte=F("amount") + F("tip")), name="payment_refund_lte_paid"
            ),
        ]
        indexes = [models.Index(fields=["venue", "status"], name="payment_venue_status")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {format_money(self.amount, self.venue.currency)}"

    @property
    def collected(self) -> int:
        """What the venue received: amount + tip + cash rounding."""
        return self.amount + self.tip + self.rounding


class Receipt(models.Model):
    """A receipt given for a part (or the whole check): printed, emailed, or declined."""

    class Kind(models.TextChoices):
        PRINT = "print", _("Printed")
        EMAIL = "email", _("Emailed")
        NONE = "none", _("No receipt")

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    tab = models.ForeignKey(Check, on_delete=models.PROTECT, related_name="receipts")
    part = models.ForeignKey(
        BillPart, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    email = models.EmailField(_("email"), blank=True)
    reprint = models.BooleanField(_("reprint"), default=False)
    staff = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["tab", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="email") | ~Q(email=""), name="receipt_email_has_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.tab_id}"


class TerminalLocation(models.Model):
    """The venue's Stripe Terminal location (readers and Tap to Pay phones belong to it)."""

    venue = models.OneToOneField(Venue, on_delete=models.CASCADE, related_name="terminal_location")
    stripe_id = models.CharField(_("Stripe location id"), max_length=255, unique=True)
    display_name = models.CharField(_("name"), max_length=120)
    # The location's Terminal Configuration (configuration_overrides): on-reader tipping from
    # the venue's presets, and the tipping it was last given (payments.card keeps it current).
    configuration_id = models.CharField(
        _("Stripe configuration id"), max_length=255, blank=True, editable=False
    )
    tipping = models.JSONField(
        _("tipping on the readers"), default=dict, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("Terminal location")
        verbose_name_plural = _("Terminal locations")

    def __str__(self) -> str:
        return f"{self.display_name} ({self.stripe_id})"


class CardReader(models.Model):
    """A Stripe Terminal smart reader registered for the venue (server-driven)."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="card_readers")
    label = models.CharField(_("label"), max_length=60)
    stripe_id = models.CharField(_("Stripe reader id"), max_length=255, unique=True)
    location_id = models.CharField(_("Stripe location id"), max_length=255, blank=True)
    device_type = models.CharField(_("device type"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("card reader")
        verbose_name_plural = _("card readers")
        ordering = ["venue", "label"]

    def __str__(self) -> str:
        return self.label


class StripeCall(models.Model):
    """An idempotency key, stored before the Stripe call it is sent with.

    A retried call (the same operation of the same payment) reuses its key, so Stripe answers
    with what it did the first time instead of doing it again.
    """

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="stripe_calls")
    operation = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "operation"], name="stripecall_one_key_per_operation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.idempotency_key}"


class Refund(models.Model):
    """Money given back on a captured card payment (full or partial, a manager approved)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(_("amount (minor units)"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(_("reason"), max_length=200)
    stripe_id = models.CharField(_("Stripe refund id"), max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    staff = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    approved_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("approved by")
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["payment", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.payment_id}"


class WebhookEvent(models.Model):
    """A Stripe webhook event, stored by its id before it is handled (a duplicate is a no-op)."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
