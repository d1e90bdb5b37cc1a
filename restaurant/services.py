"""Write services of the venue domain: staff and PINs, 86ing, prices.

Each service runs in a transaction, checks the actor's permission when one is given, and
raises a DomainError (restaurant/errors.py) that changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from restaurant import permissions
from restaurant.errors import NotFound, PermissionDenied, ValidationFailed
from restaurant.models import Device, MenuItem, Modifier, PinAttempt, StaffMember, Venue
from restaurant.money import round_half_up
from restaurant.pins import pin_digest, pin_validate
from restaurant.realtime import event_emit


@transaction.atomic
def staff_create(
    *,
    venue: Venue,
    username: str,
    display_name: str,
    role: str,
    pin: str,
    email: str = "",
    password: str | None = None,
    actor: StaffMember | None = None,
) -> StaffMember:
    """Create (or reuse) a Django user and give them a staff profile with a PIN at `venue`."""
    if actor is not None:
        permissions.require(actor, "staff.manage")
    if role not in StaffMember.Role.values:
        raise ValidationFailed(_("Unknown role %(role)s.") % {"role": role}, field="role")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if not created and StaffMember.objects.filter(venue=venue, user=user).exists():
        raise ValidationFailed(
            _("%(user)s already works at this venue.") % {"user": username},
            code="already_staff",
            field="username",
        )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    # Owners and managers use the back office (the Django admin).
    if role in (StaffMember.Role.OWNER, StaffMember.Role.MANAGER) and not user.is_staff:
        user.is_staff = True
    user.save()
    staff = StaffMember(venue=venue, user=user, display_name=display_name, role=role)
    _set_pin(staff, pin)
    return staff


def _set_pin(staff: StaffMember, pin: str) -> None:
    pin = pin_validate(pin)
    digest = pin_digest(venue_id=staff.venue_id, pin=pin)
    clash = StaffMember.objects.filter(venue_id=staff.venue_id, pin_digest=digest)
    if staff.pk:
        clash = clash.exclude(pk=staff.pk)
    if clash.exists():
        raise ValidationFailed(
            _("That PIN is already used by someone at this venue; choose another."),
            code="pin_taken",
            field="pin",
        )
    staff.pin_digest = digest
    staff.pin_set_at = timezone.now()
    try:
        with transaction.atomic():
            staff.save()
    except IntegrityError as exc:  # a concurrent writer took the PIN first
        raise ValidationFailed(
            _("That PIN is already used by someone at this venue; choose another."),
            code="pin_taken",
            field="pin",
        ) from exc


@transaction.atomic
def staff_update(
    *,
    staff: StaffMember,
    display_name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    actor: StaffMember | None = None,
) -> StaffMember:
    """Change a staff member's name, role or active flag. A venue keeps an active owner."""
    if actor is not None:
        permissions.require(actor, "staff.manage")
    staff = (
        StaffMember.objects.select_for_update(no_key=True).select_related("user").get(pk=staff.pk)
    )
    new_role = staff.role if role is None else role
    new_active = staff.is_active if is_active is None else is_active
    if new_role not in StaffMember.Role.values:
        raise ValidationFailed(_("Unknown role %(role)s.") % {"role": new_role}, field="role")
    stops_owning = (
        staff.role == StaffMember.Role.OWNER
        and staff.is_active
        and (new_role != StaffMember.Role.OWNER or not new_active)
    )
    if stops_owning and not (
        StaffMember.objects.select_for_update(no_key=True)
        .filter(venue_id=staff.venue_id, role=StaffMember.Role.OWNER, is_active=True)
        .exclude(pk=staff.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("A venue needs at least one active owner."), code="last_owner", field="role"
        )
    if display_name is not None:
        if not display_name.strip():
            raise ValidationFailed(_("Give a display name."), field="display_name")
        staff.display_name = display_name.strip()[:60]
    staff.role = new_role
    staff.is_active = new_active
    staff.save(update_fields=["display_name", "role", "is_active"])
    # Owners and managers use the back office (the Django admin).
    back_office = new_role in (StaffMember.Role.OWNER, StaffMember.Role.MANAGER) and new_active
    if back_office and not staff.user.is_staff:
        staff.user.is_staff = True
        staff.user.save(update_fields=["is_staff"])
    return staff


@transaction.atomic
def staff_set_pin(*, staff: StaffMember, pin: str, actor: StaffMember | None = None) -> None:
    if actor is not None and actor.pk != staff.pk:
        permissions.require(actor, "staff.manage")
    staff = StaffMember.objects.select_for_update(no_key=True).get(pk=staff.pk)
    _set_pin(staff, pin)


def staff_by_pin(*, venue: Venue, pin: str) -> StaffMember | None:
    """The active staff member with this PIN at `venue`, or None."""
    try:
        pin = pin_validate(pin)
    except ValidationFailed:
        return None
    return (
        StaffMember.objects.select_related("user", "venue")
        .filter(venue=venue, pin_digest=pin_digest(venue_id=venue.pk, pin=pin), is_active=True)
        .first()
    )


@transaction.atomic
def menu_item_set_available(
    *, item: MenuItem, available: bool, actor: StaffMember | None = None
) -> MenuItem:
    """86 (available=False) or un-86 an item. Un-86ing an item whose stock ran out needs stock."""
    if actor is not None:
        permissions.require(actor, "item.86")
    item = MenuItem.objects.select_for_update(no_key=True).get(pk=item.pk)
    if available and item.stock_count == 0:
        raise ValidationFailed(
            _("%(item)s has no stock left; set a stock count before un-86ing it.")
            % {"item": item.name},
            code="out_of_stock",
            field="stock_count",
        )
    if item.is_available != available:
        item.is_available = available
        item.save(update_fields=["is_available", "updated_at"])
        event_emit(
            venue_id=item.venue_id,
            type="item.availability",
            data={"item": item.pk, "available": available, "stock_count": item.stock_count},
        )
    return item


@transaction.atomic
def modifier_set_available(
    *, modifier: Modifier, available: bool, actor: StaffMember | None = None
) -> Modifier:
    if actor is not None:
        permissions.require(actor, "item.86")
    modifier = (
        Modifier.objects.select_for_update(no_key=True).select_related("group").get(pk=modifier.pk)
    )
    if modifier.is_available != available:
        modifier.is_available = available
        modifier.save(update_fields=["is_available"])
        event_emit(
            venue_id=modifier.group.venue_id,
            type="modifier.availability",
            data={"modifier": modifier.pk, "available": available},
        )
    return modifier


@transaction.atomic
def menu_items_change_price(
    *,
    venue: Venue,
    item_ids: Iterable[int],
    percent: Decimal | None = None,
    amount: int | None = None,
    round_to: int = 1,
    actor: StaffMember | None = None,
) -> list[MenuItem]:
    """Raise or lower prices of many items: by a percentage or a fixed amount (minor units).

    Results round half up to a multiple of `round_to` (10 = whole ten cents). A change that
    would make any price negative changes nothing.
    """
    if actor is not None:
        permissions.require(actor, "menu.edit")
    if (percent is None) == (amount is None):
        raise ValidationFailed(_("Give either a percentage or an amount."), field="percent")
    if round_to < 1:
        raise ValidationFailed(_("Round to at least 1."), field="round_to")
    ids = sorted(set(item_ids))
    items = list(
        MenuItem.objects.select_for_update(no_key=True)
        .filter(venue=venue, pk__in=ids)
        .order_by("pk")
    )
    if len(items) != len(ids):
        raise NotFound(_("Some items do not belong to this venue."), field="items")
    for item in items:
        if percent is not None:
            new = Decimal(item.price) * (Decimal(100) + Decimal(percent)) / Decimal(100)
        else:
            new = Decimal(item.price + amount)
        new_price = round_half_up(new / round_to) * round_to
        if new_price < 0:
            raise ValidationFailed(
                _("The new price of %(item)s would be negative.") % {"item": item.name},
                code="negative_price",
                field="price",
            )
        item.price = new_price
    MenuItem.objects.bulk_update(items, ["price"])
    MenuItem.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    return items


# --- devices and PIN sign-in -------------------------------------------------------------------

# The cookie that holds a paired browser's device token (tablets and kitchen screens alike).
DEVICE_COOKIE = "brigade_device"
DEVICE_COOKIE_MAX_AGE = 5 * 365 * 24 * 3600  # five years: paired until revoked

PAIRING_CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B
PAIRING_CODE_LENGTH = 6
PAIRING_CODE_MINUTES = 30
PIN_FAILURES_BEFORE_LOCKOUT = 5
PIN_FAILURE_WINDOW_MINUTES = 15
PIN_LOCKOUT_SECONDS = 30
PIN_LOCKOUT_MAX_SECONDS = 300


def _token_digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def device_create(
    *,
    venue: Venue,
    name: str,
    kind: str = "tablet",
    station=None,
    actor: StaffMember | None = None,
) -> Device:
    """Register a device and give it a short pairing code (valid 30 minutes)."""
    if actor is not None:
        permissions.require(actor, "floor.edit")
    if kind not in Device.Kind.values:
        raise ValidationFailed(_("Unknown device kind %(kind)s.") % {"kind": kind}, field="kind")
    if not (name or "").strip():
        raise ValidationFailed(_("Give the device a name."), field="name")
    if station is not None and station.venue_id != venue.pk:
        raise NotFound(_("No such station here."), field="station")
    device = Device.objects.create(venue=venue, name=name.strip()[:60], kind=kind, station=station)
    device_new_pairing_code(device=device)
    return device


@transaction.atomic
def device_new_pairing_code(*, device: Device) -> str:
    import datetime
    import secrets

    for _attempt in range(20):
        code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _i in range(PAIRING_CODE_LENGTH))
        if not Device.objects.filter(pairing_code=code).exists():
            break
    device.pairing_code = code
    device.pairing_expires_at = timezone.now() + datetime.timedelta(minutes=PAIRING_CODE_MINUTES)
    device.save(update_fields=["pairing_code", "pairing_expires_at"])
    return code


@transaction.atomic
def device_pair(*, code: str) -> tuple[Device, str]:
    """Exchange a pairing code for the device's token (shown once; only its hash is kept)."""
    import secrets

    code = (code or "").strip().upper().replace("-", "").replace(" ", "")
    device = (
        Device.objects.select_for_update(no_key=True)
        .filter(pairing_code=code, revoked_at__isnull=True)
        .first()
        if code
        else None
    )
    if (
        device is None
        or not device.pairing_expires_at
        or device.pairing_expires_at < timezone.now()
    ):
        raise ValidationFailed(
            _("That pairing code is not valid (or has expired); ask a manager for a new one."),
            code="bad_pairing_code",
            field="code",
        )
    token = secrets.token_urlsafe(32)
    device.token_digest = _token_digest(token)
    device.pairing_code = ""
    device.pairing_expires_at = None
    device.paired_at = timezone.now()
    device.save(update_fields=["token_digest", "pairing_code", "pairing_expires_at", "paired_at"])
    return device, token


def device_by_token(token: str) -> Device | None:
    if not token:
        return None
    return (
        Device.objects.select_related("venue", "station")
        .filter(token_digest=_token_digest(token), revoked_at__isnull=True)
        .first()
    )


@transaction.atomic
def device_revoke(*, device: Device, actor: StaffMember | None = None) -> Device:
    if actor is not None:
        permissions.require(actor, "floor.edit")
    device = Device.objects.select_for_update(no_key=True).get(pk=device.pk)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.token_digest = ""
        device.pairing_code = ""
        device.save(update_fields=["revoked_at", "token_digest", "pairing_code"])
    return device


def pin_lockout_remaining(*, device: Device) -> int:
    """Seconds this device must still wait before another PIN is accepted (0: none)."""
    import datetime

    now = timezone.now()
    since = now - datetime.timedelta(minutes=PIN_FAILURE_WINDOW_MINUTES)
    attempts = (
        PinAttempt.objects.filter(device=device, created_at__gte=since)
        .order_by("-created_at")
        .values_list("success", "created_at")[:50]
    )
    failures = []
    for success, created in attempts:
        if success:
            break
        failures.append(created)
    if len(failures) < PIN_FAILURES_BEFORE_LOCKOUT:
        return 0
    extra = len(failures) - PIN_FAILURES_BEFORE_LOCKOUT
    wait = min(PIN_LOCKOUT_SECONDS * (2**extra), PIN_LOCKOUT_MAX_SECONDS)
    remaining = (failures[0] + datetime.timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _locked_out(remaining: int, field: str) -> PermissionDenied:
    error = PermissionDenied(
        _("Too many wrong PINs. Try again in %(s)d seconds.") % {"s": remaining},
        code="locked_out",
        field=field,
    )
    error.retry_after = remaining
    return error


def pin_sign_in(*, device: Device, pin: str, ip_address: str | None = None) -> StaffMember:
    """Check a PIN typed on a paired device. Every attempt is logged; 5 failures lock it.

    Raises PermissionDenied with code `locked_out` (and `retry_after` seconds) while locked,
    or `wrong_pin` for a PIN that matches no active staff member at the device's venue.
    """
    import logging

    if not device.is_active:
        raise PermissionDenied(_("This device is not paired."), code="device_revoked")
    with transaction.atomic():
        Device.objects.select_for_update(no_key=True).filter(pk=device.pk).first()  # one at a time
        remaining = pin_lockout_remaining(device=device)
        if remaining:
            raise _locked_out(remaining, "pin")
        staff = staff_by_pin(venue=device.venue, pin=pin)
        PinAttempt.objects.create(
            venue=device.venue,
            device=device,
            staff=staff,
            success=staff is not None,
            ip_address=ip_address,
        )
        Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    if staff is None:
        logging.getLogger("brigade.security").warning(
            "wrong PIN on device %s (%s) from %s", device.pk, device.name, ip_address
        )
        remaining = pin_lockout_remaining(device=device)
        error = PermissionDenied(
            _("Wrong PIN. The tablet is locked for a while.") if remaining else _("Wrong PIN."),
            code="wrong_pin",
            field="pin",
        )
        error.retry_after = remaining
        raise error
    return staff


def approver_by_pin(
    *, venue: Venue, pin: str, permission: str, device: Device | None = None
) -> StaffMember:
    """The manager whose PIN approves an action at this venue, or PermissionDenied.

    Approval PINs count toward the device's lockout like sign-in PINs: a locked device takes
    none, and a wrong one is marked (`failed_pin_device`) so the edge records the attempt
    after the request's transaction has rolled back (`pin_attempt_record_failure`).
    """
    if device is not None:
        remaining = pin_lockout_remaining(device=device)
        if remaining:
            raise _locked_out(remaining, "approver_pin")
    staff = staff_by_pin(venue=venue, pin=pin) if pin else None
    if staff is None:
        error = PermissionDenied(
            _("That approval PIN is not right."), code="bad_approval_pin", field="approver_pin"
        )
        error.failed_pin_device = device
        raise error
    permissions.require(staff, permission)
    return staff


def pin_attempt_record_failure(*, device: Device, ip_address: str | None = None) -> None:
    """Log a wrong PIN typed on a device (outside the failed request's transaction)."""
    import logging

    PinAttempt.objects.create(
        venue_id=device.venue_id, device=device, success=False, ip_address=ip_address
    )
    logging.getLogger("brigade.security").warning(
        "wrong approval PIN on device %s (%s) from %s", device.pk, device.name, ip_address
    )
