"""Text typed by staff (reasons, names, notes): trimmed, bounded, never cut silently.

A reason or note longer than its column is refused with `too_long` naming the field, instead
of being stored cut short (the guest's reason is the audit trail: a cut one says something
else). One helper, so every service refuses the same way.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from restaurant.errors import ValidationFailed

REASON_MAX_LENGTH = 200


def clean_text(
    value,
    *,
    field: str,
    max_length: int,
    required: str | None = None,
    required_code: str = "required",
) -> str:
    """`value` trimmed; ValidationFailed when it is not text, too long, or empty while
    `required` (the message to show) is given. None counts as empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(
            _("%(field)s must be text.") % {"field": field}, code="invalid_type", field=field
        )
    value = value.strip()
    if required and not value:
        raise ValidationFailed(required, code=required_code, field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("%(field)s is at most %(n)d characters (this one has %(len)d).")
            % {"field": field, "n": max_length, "len": len(value)},
            code="too_long",
            field=field,
        )
    return value


def clean_reason(value, message: str, *, field: str = "reason") -> str:
    """A required reason (a void, a comp, a reopen, a refund, cash in or out)."""
    return clean_text(
        value,
        field=field,
        max_length=REASON_MAX_LENGTH,
        required=message,
        required_code="reason_required",
    )
