"""What each staff role may do. Services check these; the admin follows them too.

Every write service takes an `actor` (keyword, no default) and decides with `require`. The
actor is a StaffMember, or, where no staff member acts, an object that says who does:
`SystemActor` (Brigade itself: a management command, the demo seed, a worker) or
`SuperuserActor` (a Django superuser without a staff profile, in the back office). Both may do
everything at every venue; None is nobody and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from restaurant.errors import PermissionDenied
from restaurant.models import StaffMember

Role = StaffMember.Role

# Permission names are verbs on nouns, checked by services.
PERMISSIONS: dict[str, set[str]] = {
    "check.open": {Role.SERVER, Role.BARTENDER, Role.HOST, Role.MANAGER, Role.OWNER},
    "check.order": {Role.SERVER, Role.BARTENDER, Role.MANAGER, Role.OWNER},
    "check.view_all": {Role.SERVER, Role.BARTENDER, Role.HOST, Role.MANAGER, Role.OWNER},
    "line.void_unsent": {Role.SERVER, Role.BARTENDER, Role.MANAGER, Role.OWNER},
    "line.void_approve": {Role.MANAGER, Role.OWNER},
    "discount.approve": {Role.MANAGER, Role.OWNER},
    "check.reopen": {Role.MANAGER, Role.OWNER},
    "payment.take": {Role.SERVER, Role.BARTENDER, Role.MANAGER, Role.OWNER},
    "item.86": {Role.MANAGER, Role.OWNER, Role.KITCHEN},
    "menu.edit": {Role.OWNER},
    "staff.manage": {Role.OWNER},
    "venue.edit": {Role.OWNER},
    "floor.edit": {Role.OWNER, Role.MANAGER},
    "drawer.manage": {Role.MANAGER, Role.OWNER},
    "reports.view": {Role.MANAGER, Role.OWNER},
    "kitchen.bump": {Role.KITCHEN, Role.MANAGER, Role.OWNER},
}

PERMISSION_LABELS = {
    "check.open": gettext_lazy("open checks"),
    "check.order": gettext_lazy("take orders"),
    "check.view_all": gettext_lazy("see all checks"),
    "line.void_unsent": gettext_lazy("remove unsent lines"),
    "line.void_approve": gettext_lazy("approve voids"),
    "discount.approve": gettext_lazy("approve comps and discounts"),
    "check.reopen": gettext_lazy("reopen checks"),
    "payment.take": gettext_lazy("take payments"),
    "item.86": gettext_lazy("86 items"),
    "menu.edit": gettext_lazy("edit menus"),
    "staff.manage": gettext_lazy("manage staff"),
    "venue.edit": gettext_lazy("edit the venue"),
    "floor.edit": gettext_lazy("edit the floor plan"),
    "drawer.manage": gettext_lazy("manage cash drawers"),
    "reports.view": gettext_lazy("see reports"),
    "kitchen.bump": gettext_lazy("bump kitchen tickets"),
}


@dataclass(frozen=True)
class SystemActor:
    """Brigade itself, named for the record: "import_menu command", "demo seed", ..."""

    name: str

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return True


@dataclass(frozen=True)
class SuperuserActor:
    """A Django superuser acting in the back office without a staff profile at the venue."""

    user: Any

    @property
    def display_name(self) -> str:
        return _("%(user)s (superuser)") % {"user": self.user.get_username()}

    @property
    def is_active(self) -> bool:
        return bool(self.user.is_active and self.user.is_superuser)


Actor = StaffMember | SystemActor | SuperuserActor


def _is_above_roles(actor: object) -> bool:
    return isinstance(actor, (SystemActor, SuperuserActor)) and actor.is_active


def actor_name(actor: Actor | None) -> str:
    """Who acted, for messages and the record."""
    return actor.display_name if actor is not None else _("Nobody")


def staff_can(staff: Actor | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if _is_above_roles(staff):
        return True
    return bool(
        isinstance(staff, StaffMember) and staff.is_active and staff.role in PERMISSIONS[permission]
    )


def works_at(actor: Actor | None, venue_id: int) -> bool:
    """A staff member acts at their own venue only; the system and superusers at every one."""
    if _is_above_roles(actor):
        return True
    return isinstance(actor, StaffMember) and actor.venue_id == venue_id


def require_venue(actor: Actor | None, venue_id: int) -> None:
    """Raise PermissionDenied unless `actor` acts at this venue."""
    if not works_at(actor, venue_id):
        raise PermissionDenied(
            _("%(who)s does not work at this venue.") % {"who": actor_name(actor)}
        )


def require(staff: Actor | None, permission: str) -> None:
    """Raise PermissionDenied (code `permission_denied`) unless the actor may."""
    if not staff_can(staff, permission):
        who = actor_name(staff)
        raise PermissionDenied(
            _("%(who)s may not %(what)s.")
            % {"who": who, "what": PERMISSION_LABELS.get(permission, permission)}
        )
