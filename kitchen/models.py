"""Kitchen tickets: what each station is asked to make, routed from sent order lines.

A send of a check makes one ticket per station that has lines in it. A ticket's items point at
the order lines (whose snapshots give name, modifiers and note). Held courses are on the ticket
from the start, greyed until fired. A void of a sent line makes a VOID ticket at its station.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import Check, OrderLine
from restaurant.models import StaffMember, Station, Venue


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
