"""What each staff role may do. Services check these; the admin follows them too."""

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


def staff_can(staff: StaffMember | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(staff and staff.is_active and staff.role in PERMISSIONS[permission])


def require(staff: StaffMember | None, permission: str) -> None:
    """Raise PermissionDenied (code `permission_denied`) unless the staff member may."""
    if not staff_can(staff, permission):
        who = staff.display_name if staff else _("Nobody")
        raise PermissionDenied(
            _("%(who)s may not %(what)s.")
            % {"who": who, "what": PERMISSION_LABELS.get(permission, permission)}
        )
