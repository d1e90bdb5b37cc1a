"""Kitchen tickets: what each station is asked to make, routed from sent order lines.

A send of a check makes one ticket per station that has lines in it. A ticket's items point at
the order lines (whose snapshots give name, modifiers and note). Held courses are on the ticket
from the start, greyed until fired. A void of a sent line makes a VOID ticket at its station.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Check, OrderLine
from restaurant.models import Printer, StaffMember, Station, Venue


class Ticket(models.Model):
    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        ADDITION = "addition", _("Addition")
        VOID = "void", _("Void")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    tab = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="tickets")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="tickets")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    send_batch = models.PositiveIntegerField(_("send"))
    rush = models.BooleanField(_("rush"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bumped_at = models.DateTimeField(_("bumped"), null=True, blank=True)
    bumped_by = models.CharField(_("bumped by"), max_length=60, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    class Meta:
        verbose_name = _("kitchen ticket")
        verbose_name_plural = _("kitchen tickets")
        ordering = ["venue", "created_at", "id"]
        indexes = [models.Index(fields=["station", "bumped_at"], name="ticket_station_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.tab.number} @ {self.station.slug}"


class TicketItem(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        COOKING = "cooking", _("Cooking")
        READY = "ready", _("Ready")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="items")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="ticket_items")
    quantity = models.PositiveIntegerField(default=1)
    course = models.PositiveSmallIntegerField(default=1)
    held = models.BooleanField(_("held"), default=False)
    fired_at = models.DateTimeField(_("fired"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    voided = models.BooleanField(_("voided"), default=False)

    class Meta:
        verbose_name = _("ticket item")
        verbose_name_plural = _("ticket items")
        ordering = ["ticket", "course", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="ticketitem_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(held=False) | Q(fired_at__isnull=True),
                name="ticketitem_held_not_fired",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}x {self.line.name}"


class PrintJob(models.Model):
    """One piece of paper for one printer: rendered ESC/POS bytes, printed exactly once.

    Written in the transaction of the ticket it prints (kitchen/printing.py), so a rolled-back
    send leaves no job and a committed one always has its job. The print worker
    (kitchen/print_worker.py) claims due jobs, sends them over raw TCP and records the outcome:

        pending --claim--> printing --sent--> printed
                               |--error, attempts left--> pending (next_attempt_at: backoff)
                               |--error, attempts used up, a backup printer--> rerouted
                               |      (and a new pending job for the backup: `reroute`)
                               '--error, no backup and retried too long--> failed

    The payload is stored, so a reprint prints the same content (with REPRINT on top) even
    after the menu, the check or the ticket changed.
    """

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        ADDITION = "addition", _("Addition")
        VOID = "void", _("Void")
        FIRE = "fire", _("Fire")
        CHIT = "chit", _("Chit on bump")
        PREBILL = "prebill", _("Check (pre-bill)")
        RECEIPT = "receipt", _("Receipt")
        DRAWER = "drawer", _("Open the cash drawer")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to print")
        PRINTING = "printing", _("Printing")
        PRINTED = "printed", _("Printed")
        FAILED = "failed", _("Failed")
        REROUTED = "rerouted", _("Sent to the backup printer")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="print_jobs",
        verbose_name=_("ticket"),
    )
    printer = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="print_jobs",
        verbose_name=_("printer"),
        help_text=_("The printer this was meant for (the station's)."),
    )
    target = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("printed on"),
        help_text=_("The printer this job is sent to: the printer itself or its backup."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    payload = models.BinaryField(_("ESC/POS bytes"), editable=False)
    code_page = models.CharField(_("code page"), max_length=16, default="CP858")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    printed_at = models.DateTimeField(_("printed"), null=True, blank=True)
    is_reprint = models.BooleanField(_("reprint"), default=False)
    reprint_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reprints",
        verbose_name=_("reprint of"),
    )
    # One-to-one: a job is handed to a backup printer at most once (the database refuses a
    # second reroute), so a reroute can never make two copies.
    rerouted_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reroute",
        verbose_name=_("rerouted from"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("print job")
        verbose_name_plural = _("print jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="printjob_due"),
            models.Index(fields=["target", "status"], name="printjob_target_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="printed", printed_at__isnull=False)
                | (~Q(status="printed") & Q(printed_at__isnull=True)),
                name="printjob_printed_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(is_reprint=True) | Q(reprint_of__isnull=True),
                name="printjob_reprint_of_only_on_reprints",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"
