"""Write services of the venue domain: staff and PINs, 86ing, prices.

Each service runs in a transaction, checks the actor's permission when one is given, and
raises a DomainError (restaurant/errors.py) that changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from restaurant import permissions
from restaurant.errors import NotFound, ValidationFailed
from restaurant.models import MenuItem, Modifier, StaffMember, Venue
from restaurant.pins import pin_digest, pin_validate


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
def staff_set_pin(*, staff: StaffMember, pin: str, actor: StaffMember | None = None) -> None:
    if actor is not None and actor.pk != staff.pk:
        permissions.require(actor, "staff.manage")
    staff = StaffMember.objects.select_for_update().get(pk=staff.pk)
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
    item = MenuItem.objects.select_for_update().get(pk=item.pk)
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
    return item


@transaction.atomic
def modifier_set_available(
    *, modifier: Modifier, available: bool, actor: StaffMember | None = None
) -> Modifier:
    if actor is not None:
        permissions.require(actor, "item.86")
    modifier = Modifier.objects.select_for_update().get(pk=modifier.pk)
    if modifier.is_available != available:
        modifier.is_available = available
        modifier.save(update_fields=["is_available"])
    return modifier


def _rounded(value: Decimal) -> int:
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


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
        MenuItem.objects.select_for_update().filter(venue=venue, pk__in=ids).order_by("pk")
    )
    if len(items) != len(ids):
        raise NotFound(_("Some items do not belong to this venue."), field="items")
    for item in items:
        if percent is not None:
            new = Decimal(item.price) * (Decimal(100) + Decimal(percent)) / Decimal(100)
        else:
            new = Decimal(item.price + amount)
        new_price = _rounded(new / round_to) * round_to
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
