"""Staff PINs.

A PIN is 4-6 digits, so any stored hash of it can be brute-forced from a database dump alone.
We store an HMAC-SHA256 of (venue, PIN) keyed with settings.PIN_SECRET, which lives outside the
database: a dump alone reveals nothing, a PIN is found with one indexed lookup (no per-row
slow hash on every tap of a busy tablet), and the database enforces one PIN per venue.
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.utils.translation import gettext as _

from restaurant.errors import ValidationFailed

PIN_RE = re.compile(r"^\d{4,6}$")


def pin_validate(pin: str) -> str:
    pin = (pin or "").strip()
    if not PIN_RE.fullmatch(pin):
        raise ValidationFailed(_("A PIN is 4 to 6 digits."), code="invalid_pin", field="pin")
    return pin


def pin_digest(*, venue_id: int, pin: str) -> str:
    message = f"brigade-pin:{venue_id}:{pin}".encode()
    return hmac.new(settings.PIN_SECRET.encode(), message, hashlib.sha256).hexdigest()
