"""Write services of the venue domain: staff and PINs, 86ing, prices.

Each service runs in a transaction, checks the actor's permission (every write service takes
an `actor`: a StaffMember, or a permissions.SystemActor / SuperuserActor saying who else acts;
see restaurant/permissions.py), and raises a DomainError (restaurant/errors.py) that changes
nothing. What they change is logged to `brigade.audit` with the actor's name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from restaurant import permissions
from restaurant.errors import NotFound, PermissionDenied, ValidationFailed
from restaurant.models import Device, MenuItem, Modifier, PinAttempt, StaffMember, Venue
from restaurant.money import round_half_up
from restaurant.permissions import Actor
from restaurant.pins import pin_digest, pin_validate
from restaurant.queries import one
from restaurant.realtime import device_sockets_close, event_emit

audit_log = logging.getLogger("brigade.audit")


def _record(action: str, actor: Actor, **data) -> None:
    """Who changed what, by name (the system and superusers have no staff row)."""
    audit_log.info(
        "%s by %s: %s",
        action,
        permissions.actor_name(actor),
        ", ".join(f"{key}={value}" for key, value in data.items()),
    )


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
    actor: Actor,
) -> StaffMember:
    """Create (or reuse) a Django user and give them a staff profile with a PIN at `venue`."""
    permissions.require(actor, "staff.manage")
    permissions.require_venue(actor, venue.pk)
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
    _record("staff.create", actor, staff=staff.pk, role=role)
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
    actor: Actor,
) -> StaffMember:
    """Change a staff member's name, role or active flag. A venue keeps an active owner."""
    permissions.require(actor, "staff.manage")
    permissions.require_venue(actor, staff.venue_id)
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
    _back_office_follow_role(staff.user)
    _record("staff.update", actor, staff=staff.pk, role=staff.role, active=staff.is_active)
    return staff


BACK_OFFICE_ROLES = (StaffMember.Role.OWNER, StaffMember.Role.MANAGER)


def _back_office_follow_role(user) -> None:
    """Owners and managers use the back office (the Django admin); nobody else does.

    The user's admin flag follows their staff profiles at every venue: on while one of them is
    an active owner or manager, off otherwise (a demoted manager can no longer sign in to the
    admin). Superusers keep theirs.
    """
    if user.is_superuser:
        return
    back_office = StaffMember.objects.filter(
        user=user, role__in=BACK_OFFICE_ROLES, is_active=True
    ).exists()
    if user.is_staff != back_office:
        user.is_staff = back_office
        user.save(update_fields=["is_staff"])


@transaction.atomic
def staff_set_pin(*, staff: StaffMember, pin: str, actor: Actor) -> None:
    """Set a PIN: one's own, or anyone's at the venue for who may manage staff."""
    own = isinstance(actor, StaffMember) and actor.pk == staff.pk and actor.is_active
    if not own:
        permissions.require(actor, "staff.manage")
        permissions.require_venue(actor, staff.venue_id)
    staff = StaffMember.objects.select_for_update(no_key=True).get(pk=staff.pk)
    _set_pin(staff, pin)
    _record("staff.set_pin", actor, staff=staff.pk)


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
def menu_item_set_available(*, item: MenuItem, available: bool, actor: Actor) -> MenuItem:
    """86 (available=False) or un-86 an item. Un-86ing an item whose stock ran out needs stock."""
    permissions.require(actor, "item.86")
    permissions.require_venue(actor, item.venue_id)
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
        _record("item.availability", actor, item=item.pk, available=available)
    return item


#: `stock_count` left as it is (None is a value: the item's stock is not counted).
UNCHANGED = object()


@transaction.atomic
def menu_item_set_price_and_stock(
    *, item: MenuItem, actor: Actor, price: int | None = None, stock_count=UNCHANGED
) -> MenuItem:
    """Set an item's price (minor units) and/or its counted stock (None: not counted).

    The row is locked while it changes. Stock set to 0 86's the item, as selling the last one
    does; tablets hear of a stock or availability change (`item.availability`). Setting stock
    does not un-86 an item (that is `menu_item_set_available`).
    """
    permissions.require(actor, "menu.edit")
    permissions.require_venue(actor, item.venue_id)
    if price is not None and (isinstance(price, bool) or not isinstance(price, int) or price < 0):
        raise ValidationFailed(_("A price is a whole number of cents, 0 or more."), field="price")
    if (
        stock_count is not UNCHANGED
        and stock_count is not None
        and (isinstance(stock_count, bool) or not isinstance(stock_count, int) or stock_count < 0)
    ):
        raise ValidationFailed(
            _("A stock count is a whole number, 0 or more (empty: not counted)."),
            field="stock_count",
        )
    item = MenuItem.objects.select_for_update(no_key=True).get(pk=item.pk)
    changed: dict[str, object] = {}
    if price is not None and price != item.price:
        changed["price"] = item.price = price
    if stock_count is not UNCHANGED and stock_count != item.stock_count:
        changed["stock_count"] = item.stock_count = stock_count
        if stock_count == 0 and item.is_available:
            changed["is_available"] = item.is_available = False
    if not changed:
        return item
    item.save(update_fields=[*changed, "updated_at"])
    if "stock_count" in changed:
        event_emit(
            venue_id=item.venue_id,
            type="item.availability",
            data={
                "item": item.pk,
                "available": item.is_available,
                "stock_count": item.stock_count,
            },
        )
    _record("item.update", actor, item=item.pk, **changed)
    return item


@transaction.atomic
def modifier_set_available(*, modifier: Modifier, available: bool, actor: Actor) -> Modifier:
    permissions.require(actor, "item.86")
    modifier = (
        Modifier.objects.select_for_update(no_key=True).select_related("group").get(pk=modifier.pk)
    )
    permissions.require_venue(actor, modifier.group.venue_id)
    if modifier.is_available != available:
        modifier.is_available = available
        modifier.save(update_fields=["is_available"])
        event_emit(
            venue_id=modifier.group.venue_id,
            type="modifier.availability",
            data={"modifier": modifier.pk, "available": available},
        )
        _record("modifier.availability", actor, modifier=modifier.pk, available=available)
    return modifier


@transaction.atomic
def menu_items_change_price(
    *,
    venue: Venue,
    item_ids: Iterable[int],
    percent: Decimal | None = None,
    amount: int | None = None,
    round_to: int = 1,
    actor: Actor,
) -> list[MenuItem]:
    """Raise or lower prices of many items: by a percentage or a fixed amount (minor units).

    Results round half up to a multiple of `round_to` (10 = whole ten cents). A change that
    would make any price negative changes nothing.
    """
    permissions.require(actor, "menu.edit")
    permissions.require_venue(actor, venue.pk)
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
    _record("items.change_price", actor, items=ids)
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
    actor: Actor,
) -> Device:
    """Register a device and give it a short pairing code (valid 30 minutes)."""
    permissions.require(actor, "floor.edit")
    permissions.require_venue(actor, venue.pk)
    if kind not in Device.Kind.values:
        raise ValidationFailed(_("Unknown device kind %(kind)s.") % {"kind": kind}, field="kind")
    if not (name or "").strip():
        raise ValidationFailed(_("Give the device a name."), field="name")
    if station is not None and station.venue_id != venue.pk:
        raise NotFound(_("No such station here."), field="station")
    device = Device.objects.create(venue=venue, name=name.strip()[:60], kind=kind, station=station)
    device_new_pairing_code(device=device, actor=actor)
    _record("device.create", actor, device=device.pk, kind=kind)
    return device


@transaction.atomic
def device_new_pairing_code(*, device: Device, actor: Actor) -> str:
    """A fresh pairing code for `device` (the old one stops working)."""
    import datetime
    import secrets

    permissions.require(actor, "floor.edit")
    permissions.require_venue(actor, device.venue_id)

    for _attempt in range(20):
        code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _i in range(PAIRING_CODE_LENGTH))
        if not Device.objects.filter(pairing_code=code).exists():
            break
    device.pairing_code = code
    device.pairing_expires_at = timezone.now() + datetime.timedelta(minutes=PAIRING_CODE_MINUTES)
    device.save(update_fields=["pairing_code", "pairing_expires_at"])
    return code


# Devices a staff member signs in on (tablets, phones); a kitchen screen only shows its station.
STAFF_DEVICE_KINDS = frozenset({Device.Kind.TABLET, Device.Kind.PHONE})


@transaction.atomic
def device_pair(*, code: str, kinds: frozenset[str] | None = None) -> tuple[Device, str]:
    """Exchange a pairing code for the device's token (shown once; only its hash is kept).

    With `kinds`, a code made for another kind of device is refused (`wrong_device_kind`)
    before it is spent, so it still pairs the device it was made for.
    """
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
        # A well-formed code that opens nothing is a refused credential (403), like a PIN.
        raise PermissionDenied(
            _("That pairing code is not valid (or has expired); ask a manager for a new one."),
            code="bad_pairing_code",
            field="code",
        )
    if kinds is not None and device.kind not in kinds:
        raise PermissionDenied(
            _("That code is for a %(kind)s; pair it on that device.")
            % {"kind": Device.Kind(device.kind).label.lower()},
            code="wrong_device_kind",
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
    return one(
        Device.objects.select_related("venue", "station").filter(
            token_digest=_token_digest(token), revoked_at__isnull=True
        )
    )


@transaction.atomic
def device_revoke(*, device: Device, actor: Actor) -> Device:
    permissions.require(actor, "floor.edit")
    permissions.require_venue(actor, device.venue_id)
    device = Device.objects.select_for_update(no_key=True).get(pk=device.pk)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.token_digest = ""
        device.pairing_code = ""
        device.save(update_fields=["revoked_at", "token_digest", "pairing_code"])
        _record("device.revoke", actor, device=device.pk)
    # Its open websockets close once this has committed (on every server process): a screen
    # revoked while connected hears nothing more and shows its pairing page.
    transaction.on_commit(partial(device_sockets_close, device.pk))
    return device


def pin_lockout_remaining(*, venue: Venue, staff: StaffMember | None = None) -> int:
    """Seconds before another PIN is taken at `venue` for this target (0: none).

    Failures count per venue and per target over the last PIN_FAILURE_WINDOW_MINUTES, on
    every device alike: a PIN typed alone (`staff` None: sign-in by PIN only, and every
    approval PIN) counts against the venue, so no success of anyone resets it and a second
    tablet gets no fresh tries; a sign-in that names who is signing in counts against that
    staff member, and only their own success starts their count again. From the fifth
    failure on, each one locks for twice as long (30 s, 60 s, ... at most 5 minutes).
    """
    import datetime

    now = timezone.now()
    since = now - datetime.timedelta(minutes=PIN_FAILURE_WINDOW_MINUTES)
    attempts = PinAttempt.objects.filter(venue=venue, created_at__gte=since)
    if staff is None:
        failures = attempts.filter(staff__isnull=True, success=False)
    else:
        failures = attempts.filter(staff=staff, success=False)
        last_success = (
            attempts.filter(staff=staff, success=True, purpose=PinAttempt.Purpose.SIGN_IN)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last_success is not None:
            failures = failures.filter(created_at__gt=last_success)
    times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:50])
    if len(times) < PIN_FAILURES_BEFORE_LOCKOUT:
        return 0
    extra = len(times) - PIN_FAILURES_BEFORE_LOCKOUT
    wait = min(PIN_LOCKOUT_SECONDS * (2**extra), PIN_LOCKOUT_MAX_SECONDS)
    remaining = (times[0] + datetime.timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _locked_out(remaining: int, field: str) -> PermissionDenied:
    error = PermissionDenied(
        _("Too many wrong PINs. Try again in %(s)d seconds.") % {"s": remaining},
        code="locked_out",
        field=field,
    )
    error.retry_after = remaining
    return error


@dataclass(frozen=True)
class PinCheck:
    checked: bool  # False: locked out, the PIN was not even compared
    accepted: StaffMember | None = None
    matched: StaffMember | None = None  # whose PIN it was (accepted or not)
    remaining: int = 0  # seconds of lockout left


def _pin_check(
    *,
    venue: Venue,
    device: Device | None,
    pin: str,
    target: StaffMember | None,
    purpose: str,
    requested_by: StaffMember | None = None,
    ip_address: str | None = None,
    accept=lambda staff: True,
) -> PinCheck:
    """Count, check and record one PIN attempt atomically.

    The venue row is locked while the count is read, the PIN compared and the attempt
    written, so parallel requests take turns and at most the limit is ever checked. The
    attempt commits here, whatever the caller's request does next: call this outside the
    request's own transaction. While locked out nothing is checked or recorded.
    """
    with transaction.atomic():
        Venue.objects.select_for_update(no_key=True).filter(
            pk=venue.pk
        ).first()  # one PIN at a time
        remaining = pin_lockout_remaining(venue=venue, staff=target)
        if remaining:
            return PinCheck(checked=False, remaining=remaining)
        matched = staff_by_pin(venue=venue, pin=pin) if pin else None
        if target is not None and matched is not None and matched.pk != target.pk:
            matched = None  # someone else's PIN is no PIN for the person named
        accepted = matched if matched is not None and accept(matched) else None
        PinAttempt.objects.create(
            venue=venue,
            device=device,
            staff=accepted or target,
            purpose=purpose,
            requested_by=requested_by,
            success=accepted is not None,
            ip_address=ip_address,
        )
        if device is not None:
            Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
        remaining = 0 if accepted else pin_lockout_remaining(venue=venue, staff=target)
    return PinCheck(checked=True, accepted=accepted, matched=matched, remaining=remaining)


def pin_sign_in(
    *,
    device: Device,
    pin: str,
    staff: StaffMember | None = None,
    ip_address: str | None = None,
) -> StaffMember:
    """Check a PIN typed on a paired device; every attempt is logged (PinAttempt).

    `staff`, when given, is who is signing in: the PIN must be theirs, and a wrong one counts
    against them. Without it the PIN alone decides and a wrong one counts against the venue.
    Five failures lock out (see `pin_lockout_remaining`) on every device of the venue.

    Raises PermissionDenied with code `locked_out` (and `retry_after` seconds) while locked,
    or `wrong_pin` for a PIN that matches no active staff member (or not the one named).
    """
    import logging

    if not device.is_active:
        raise PermissionDenied(_("This device is not paired."), code="device_revoked")
    if staff is not None and (staff.venue_id != device.venue_id or not staff.is_active):
        raise NotFound(_("No such staff member here."), field="staff")
    check = _pin_check(
        venue=device.venue,
        device=device,
        pin=pin,
        target=staff,
        purpose=PinAttempt.Purpose.SIGN_IN,
        ip_address=ip_address,
    )
    if check.accepted is not None:
        return check.accepted
    if not check.checked:
        raise _locked_out(check.remaining, "pin")
    remaining = check.remaining
    logging.getLogger("brigade.security").warning(
        "wrong PIN on device %s (%s) from %s", device.pk, device.name, ip_address
    )
    error = PermissionDenied(
        _("Wrong PIN. The tablet is locked for a while.") if remaining else _("Wrong PIN."),
        code="wrong_pin",
        field="pin",
    )
    error.retry_after = remaining
    raise error


def approver_by_pin(
    *,
    venue: Venue,
    pin: str,
    permission: str,
    device: Device | None = None,
    requested_by: StaffMember | None = None,
    ip_address: str | None = None,
) -> StaffMember:
    """The manager whose PIN approves an action at this venue, or PermissionDenied.

    Approval PINs count toward the venue's lockout like sign-in PINs, and are counted,
    checked and recorded atomically (`_pin_check`): run it before the request's own
    transaction, so the attempt stays recorded when the request is refused. A PIN of someone
    who may not approve is refused as `permission_denied` and counts as a failure too.
    """
    import logging

    check = _pin_check(
        venue=venue,
        device=device,
        pin=pin,
        target=None,
        purpose=PinAttempt.Purpose.APPROVAL,
        requested_by=requested_by,
        ip_address=ip_address,
        accept=lambda staff: permissions.staff_can(staff, permission),
    )
    if not check.checked:
        raise _locked_out(check.remaining, "approver_pin")
    if check.accepted is not None:
        return check.accepted
    logging.getLogger("brigade.security").warning(
        "wrong approval PIN on device %s asked by staff %s from %s",
        device.pk if device else "-",
        requested_by.pk if requested_by else "-",
        ip_address,
    )
    if check.matched is not None:
        permissions.require(check.matched, permission)  # raises: may not approve
    error = PermissionDenied(
        _("That approval PIN is not right."), code="bad_approval_pin", field="approver_pin"
    )
    error.retry_after = check.remaining or None
    raise error
