"""Idempotency records for the API: a retried write (same key) is applied once."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from restaurant.models import StaffMember, Venue


class IdempotencyKey(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    staff = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["venue", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
