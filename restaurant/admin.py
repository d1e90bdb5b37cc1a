"""The owners' back office: the Django admin, scoped to venues and governed by staff roles.

Who sees what
    A superuser sees and edits everything. Any other admin user works only with the venues
    where they have an active StaffMember profile with the role owner or manager; every
    queryset, every choice in a form and every action is limited to those venues
    (`VenueScopedMixin`).

Who may do what
    The role decides, not Django's per-model permissions: each admin names the permission of
    restaurant/permissions.py it needs (`edit_permission`, checked with `staff_can` against the
    user's profile at the row's venue). Owners edit menus, prices, tax rates, staff and the
    venue; managers see those, 86 items, and edit the floor, stations and printers.

How things change
    Plain settings (menus, tables, printers, ...) are edited through model forms. Everything
    with rules goes through restaurant/services.py: 86 / un-86, prices and stock (in the item
    list and on the item's page), bulk price changes, adding staff and setting PINs, devices.
    The services are given who acts (`actor_for`: the user's staff profile at the row's venue,
    or a SuperuserActor for a superuser) and decide again. A DomainError from a service
    becomes a form error or an admin message, and the service has changed nothing.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop, ngettext
from django.utils.translation import gettext_lazy as _

from restaurant import money, services
from restaurant.admin_forms import (
    WEEKDAY_CHOICES,
    MenuWindowForm,
    MoneyField,
    PinResetForm,
    PriceChangeForm,
    StaffAddForm,
    StaffChangeForm,
    VenueScopedForm,
    venue_id_of,
    venue_lookup,
)
from restaurant.errors import DomainError
from restaurant.models import (
    Category,
    Device,
    FloorArea,
    ItemModifierGroup,
    Menu,
    MenuItem,
    MenuWindow,
    Modifier,
    ModifierGroup,
    PinAttempt,
    Printer,
    StaffMember,
    Station,
    Table,
    TaxRate,
    Venue,
    smart_tips_problem,
)
from restaurant.permissions import Actor, SuperuserActor, staff_can

# --- Who is asking ------------------------------------------------------------------------

#: Roles that may use the back office at their venue.
ADMIN_ROLES = frozenset({StaffMember.Role.OWNER, StaffMember.Role.MANAGER})


def is_superuser(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


def admin_profiles(request: HttpRequest) -> dict[int, StaffMember]:
    """The user's active owner/manager profiles by venue id (cached on the request)."""
    cached = getattr(request, "_brigade_admin_profiles", None)
    if cached is None:
        user = request.user
        cached = {}
        if user.is_authenticated and user.is_active and user.is_staff:
            cached = {
                staff.venue_id: staff
                for staff in StaffMember.objects.filter(
                    user=user, is_active=True, role__in=ADMIN_ROLES
                ).select_related("venue")
            }
        request._brigade_admin_profiles = cached
    return cached


def admin_venue_ids(request: HttpRequest, permission: str | None = None) -> set[int] | None:
    """Venue ids where the user may `permission` (any back-office use when None).

    None means every venue (a superuser).
    """
    if is_superuser(request):
        return None
    return {
        venue_id
        for venue_id, staff in admin_profiles(request).items()
        if permission is None or staff_can(staff, permission)
    }


def actor_for(request: HttpRequest, venue_id: int) -> Actor:
    """Who the services should check for this user at this venue: their staff profile there.

    A superuser acts as a SuperuserActor (their staff profile, if any, is not needed).
    """
    if is_superuser(request):
        return SuperuserActor(request.user)
    staff = admin_profiles(request).get(venue_id)
    if staff is None:  # the admin never offers such a row; refuse rather than act unchecked
        raise PermissionDenied
    return staff


def sees_several_venues(request: HttpRequest) -> bool:
    cached = getattr(request, "_brigade_several_venues", None)
    if cached is None:
        venues = admin_venue_ids(request)
        cached = Venue.objects.count() > 1 if venues is None else len(venues) > 1
        request._brigade_several_venues = cached
    return cached


# --- Display helpers ------------------------------------------------------------------------


def money_text(amount: int | None, venue: Venue, *, signed: bool = False) -> str:
    """'€ 24.50' in the venue's currency; `signed` adds a + to positive amounts (deltas)."""
    if amount is None:
        return "-"
    text = money.format_money(amount, venue.currency)
    return f"+{text}" if signed and amount > 0 else text


def show_money(amount: int | None, venue: Venue, *, signed: bool = False) -> str:
    """money_text as HTML that never wraps between the symbol and the number."""
    return format_html(
        '<span style="white-space:nowrap">{}</span>', money_text(amount, venue, signed=signed)
    )


def money_table(rows, css_class: str = "money-breakdown") -> str:
    """(label, amount text) rows as a small two-column table, amounts right-aligned."""
    return format_html(
        '<table class="{}">{}</table>',
        css_class,
        format_html_join("", '<tr><td>{}</td><td style="text-align:right">{}</td></tr>', rows),
    )


def venue_time(moment, venue: Venue) -> str:
    """An aware datetime shown in the venue's timezone."""
    if moment is None:
        return "-"
    return date_format(timezone.localtime(moment, venue.tzinfo), "DATETIME_FORMAT")


# --- The mixin: venue scoping and role permissions -----------------------------------------


class VenueScopedMixin:
    """Scope an admin (or inline) to the user's venues and let staff roles decide access.

    view_permission
        What a user needs at a row's venue to see it; None: any owner/manager profile.
    edit_permission
        What a user needs at a row's venue to add, change or delete it.
    read_only
        Nobody changes these rows here, superusers included (they change through services).
    superuser_adds / superuser_deletes
        Only superusers may add / delete (for example venues themselves).
    """

    view_permission: str | None = None
    edit_permission: str | None = None
    read_only = False
    superuser_adds = False
    superuser_deletes = False
    form = VenueScopedForm
    money_fields: dict[str, str] = {}

    # Permissions ---------------------------------------------------------------------------

    def _allowed(self, request, permission, obj=None) -> bool:
        venues = admin_venue_ids(request, permission)
        if venues is None:
            return True
        if obj is None:
            return bool(venues)
        return venue_id_of(obj) in venues

    def has_module_permission(self, request):
        return self._allowed(request, self.view_permission)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_permission, obj)

    def has_change_permission(self, request, obj=None):
        if self.read_only:
            return False
        return self._allowed(request, self.edit_permission, obj)

    def has_add_permission(self, request, obj=None):
        # ModelAdmin calls this with the request only; an inline passes the parent object.
        if self.read_only:
            return False
        if self.superuser_adds:
            return is_superuser(request)
        return self._allowed(request, self.edit_permission, obj)

    def has_delete_permission(self, request, obj=None):
        if self.read_only:
            return False
        if self.superuser_deletes:
            return is_superuser(request)
        return self._allowed(request, self.edit_permission, obj)

    def has_eighty_six_permission(self, request):
        """For the 86 / un-86 actions; the service checks each row's venue again."""
        return self._allowed(request, "item.86")

    # Querysets and choices -------------------------------------------------------------------

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        venues = admin_venue_ids(request, self.view_permission)
        if venues is None:
            return queryset
        return queryset.filter(**{f"{venue_lookup(self.model)}__in": venues})

    def _editable_venue_ids(self, request) -> set[int] | None:
        permission = self.view_permission if self.read_only else self.edit_permission
        return admin_venue_ids(request, permission)

    def _scoped_choices(self, db_field, request, kwargs):
        lookup = venue_lookup(db_field.related_model)
        venues = self._editable_venue_ids(request)
        if lookup is None or venues is None:
            return kwargs
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        if queryset is None:
            queryset = db_field.related_model._default_manager.using(kwargs.get("using"))
        kwargs["queryset"] = queryset.filter(**{f"{lookup}__in": venues})
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.money_fields:
            return MoneyField(
                label=capfirst(self.money_fields[db_field.name]),
                required=not db_field.blank,
                min_value=0 if isinstance(db_field, models.PositiveIntegerField) else None,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class VenueScopedAdmin(VenueScopedMixin, admin.ModelAdmin):
    """A ModelAdmin of venue-scoped rows (see VenueScopedMixin)."""

    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # A row never moves to another venue: everything it points at is of its venue.
        if obj is not None and "venue" not in fields and venue_lookup(self.model) == "venue":
            fields.append("venue")
        return fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        venues = self._editable_venue_ids(request)
        if venue_lookup(self.model) == "venue" and venues and len(venues) == 1:
            initial.setdefault("venue", next(iter(venues)))
        return initial

    def get_list_display(self, request):
        fields = list(super().get_list_display(request))
        if not sees_several_venues(request):
            fields = [f for f in fields if f != "venue"]
        return fields

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not sees_several_venues(request):

            def by_venue(entry) -> bool:
                name = entry[0] if isinstance(entry, tuple) else entry
                return isinstance(name, str) and name.endswith("venue")

            filters = [f for f in filters if not by_venue(f)]
        return filters

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", self.form)
        return super().get_changelist_form(request, **kwargs)

    def get_changelist_formset(self, request, **kwargs):
        formset_class = super().get_changelist_formset(request, **kwargs)
        model_admin = self

        class RowPermissionFormSet(formset_class):
            """list_editable: each changed row needs change permission at its own venue."""

            def clean(self):
                super().clean()
                for form in self.forms:
                    if form.has_changed() and not model_admin.has_change_permission(
                        request, form.instance
                    ):
                        raise ValidationError(
                            gettext("You may not change %(row)s.") % {"row": form.instance}
                        )

        return RowPermissionFormSet


class VenueScopedTabularInline(VenueScopedMixin, admin.TabularInline):
    extra = 0


# RelatedOnlyFieldListFilter offers only values present in the (venue-scoped) changelist, so
# a filter never lists another venue's categories or stations.
RelatedOnly = admin.RelatedOnlyFieldListFilter


# --- Venue ----------------------------------------------------------------------------------


class VenueForm(VenueScopedForm):
    """The tablets offer tip presets as buttons: whole percentages, 1 to 100."""

    def clean_tip_fixed_amounts(self):
        amounts = self.cleaned_data.get("tip_fixed_amounts")
        return [] if amounts in (None, "") else amounts

    def clean(self):
        cleaned = super().clean()
        problem = smart_tips_problem(
            cleaned.get("tip_smart_threshold"), cleaned.get("tip_fixed_amounts")
        )
        if problem and "tip_fixed_amounts" not in self.errors:
            self.add_error("tip_fixed_amounts", problem)
        return cleaned

    def clean_address_country(self):
        return (self.cleaned_data.get("address_country") or "").strip().upper()

    def clean_tip_presets(self):
        presets = self.cleaned_data.get("tip_presets")
        if presets in (None, ""):
            return []
        if not isinstance(presets, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100 for p in presets
        ):
            raise ValidationError(
                _("Enter whole percentages from 1 to 100 in brackets, for example [5, 10, 15]."),
                code="tip_presets",
            )
        return presets


@admin.register(Venue)
class VenueAdmin(VenueScopedAdmin):
    edit_permission = "venue.edit"
    form = VenueForm
    superuser_adds = True
    superuser_deletes = True
    list_display = ["name", "slug", "currency", "timezone", "language", "prices_include_tax"]
    search_fields = ["name", "slug"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "language", "timezone"]}),
        (_("Money"), {"fields": ["currency", "prices_include_tax"]}),
        (
            _("Bills and tips"),
            {
                "fields": [
                    "tip_presets",
                    ("tip_smart_threshold", "tip_fixed_amounts"),
                    ("tip_before_tax", "tip_before_discount"),
                    ("service_charge_percent", "service_charge_min_guests"),
                    "cash_rounding",
                ]
            },
        ),
        (
            _("Address"),
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    ("address_postal_code", "address_city"),
                    ("address_state", "address_country"),
                ],
                "description": _(
                    "Printed on receipts. Card readers need it complete: Stripe registers "
                    "them at this address (street, postal code, city and country; the state "
                    "or province where the country has them)."
                ),
            },
        ),
        (_("Receipts"), {"fields": ["receipt_header", "receipt_footer", "vat_number"]}),
    ]

    # Apps above restaurant that keep something in step with a venue's settings add a callable
    # here, called with (request, venue) after it is saved: payments keeps the card readers'
    # tipping Configuration in step with the tip presets (payments/admin.py).
    after_save: list = []

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ["name"]} if obj is None else {}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for hook in self.after_save:
            hook(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Devices and links know a venue by its slug and currency: only a superuser changes
        # them on an existing venue.
        if obj is not None and not is_superuser(request):
            fields += ["slug", "currency"]
        return fields


# --- Staff ----------------------------------------------------------------------------------


@admin.register(StaffMember)
class StaffMemberAdmin(VenueScopedAdmin):
    edit_permission = "staff.manage"
    form = StaffChangeForm
    list_display = ["display_name", "user", "role", "is_active", "pin_set", "venue"]
    list_filter = ["role", "is_active", ("venue", RelatedOnly)]
    search_fields = [
        "display_name",
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
    ]
    list_select_related = ["user", "venue"]
    fields = ["venue", "account", "display_name", "role", "is_active", "pin_set"]
    readonly_fields = ["account", "pin_set"]

    @admin.display(description=_("PIN set"), ordering="pin_set_at")
    def pin_set(self, obj):
        return venue_time(obj.pin_set_at, obj.venue)

    @admin.display(description=_("account"))
    def account(self, obj):
        user = obj.user
        if user.is_staff and user.has_usable_password():
            return gettext("%(username)s, signs in to the back office") % {
                "username": user.get_username()
            }
        return user.get_username()

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/reset-pin/",
                self.admin_site.admin_view(self.reset_pin_view),
                name="{}_{}_reset_pin".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        # A venue keeps at least one active owner.
        if obj is not None and obj.role == StaffMember.Role.OWNER and obj.is_active:
            return (
                StaffMember.objects.filter(
                    venue_id=obj.venue_id, role=StaffMember.Role.OWNER, is_active=True
                )
                .exclude(pk=obj.pk)
                .exists()
            )
        return True

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The form checked the last-owner rule for a friendly message; the service enforces
        # it again and gives owners and managers back-office access.
        services.staff_update(
            staff=obj,
            display_name=obj.display_name,
            role=obj.role,
            is_active=obj.is_active,
            actor=actor_for(request, obj.venue_id),
        )

    # Adding: one form that hands everything to services.staff_create --------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        venues = Venue.objects.order_by("name")
        allowed = admin_venue_ids(request, "staff.manage")
        if allowed is not None:
            venues = venues.filter(pk__in=allowed)
        initial = {"venue": request.GET["venue"]} if request.GET.get("venue") else {}
        form = StaffAddForm(
            request.POST if request.method == "POST" else None, venues=venues, initial=initial
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                staff = services.staff_create(
                    venue=data["venue"],
                    username=data["username"],
                    display_name=data["display_name"],
                    role=data["role"],
                    pin=data["pin"],
                    email=data["email"],
                    password=data["password"] or None,
                    actor=actor_for(request, data["venue"].pk),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.log_addition(request, staff, [{"added": {}}])
                return self.response_add(request, staff)

        fieldsets = [
            (None, {"fields": ["venue", "username", "display_name", "role"]}),
            (_("PIN"), {"fields": ["pin", "pin_confirm"]}),
            (
                _("Back office (owners and managers)"),
                {"fields": ["email", "password"]},
            ),
        ]
        adminform = helpers.AdminForm(form, fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Add %s") % self.opts.verbose_name,
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    # Reset PIN: a page of its own, linked from the change page --------------------------

    def reset_pin_view(self, request, object_id):
        staff = self.get_object(request, unquote(object_id))
        if staff is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, staff):
            raise PermissionDenied
        form = PinResetForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.staff_set_pin(
                    staff=staff,
                    pin=form.cleaned_data["pin"],
                    actor=actor_for(request, staff.venue_id),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.log_change(request, staff, [{"changed": {"fields": [gettext_noop("PIN")]}}])
                self.message_user(
                    request,
                    gettext("The PIN of %(name)s was changed.") % {"name": staff.display_name},
                    messages.SUCCESS,
                )
                return redirect(
                    reverse(
                        "admin:restaurant_staffmember_change",
                        args=[staff.pk],
                        current_app=self.admin_site.name,
                    )
                )
        adminform = helpers.AdminForm(form, [(None, {"fields": ["pin", "pin_confirm"]})], {})
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reset PIN"),
            "subtitle": str(staff),
            "opts": self.opts,
            "original": staff,
            "adminform": adminform,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/restaurant/staffmember/reset_pin.html", context)


# --- Floor ----------------------------------------------------------------------------------


@admin.register(FloorArea)
class FloorAreaAdmin(VenueScopedAdmin):
    edit_permission = "floor.edit"
    list_display = ["name", "sort_order", "table_count", "venue"]
    list_editable = ["sort_order"]
    list_filter = [("venue", RelatedOnly)]
    search_fields = ["name"]
    fields = ["venue", "name", "sort_order"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("venue").annotate(_tables=Count("tables"))
        )

    @admin.display(description=_("tables"), ordering="_tables")
    def table_count(self, obj):
        url = reverse("admin:restaurant_table_changelist") + f"?area__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj._tables)


@admin.register(Table)
class TableAdmin(VenueScopedAdmin):
    edit_permission = "floor.edit"
    list_display = ["name", "area", "seats", "shape", "is_active", "venue"]
    list_editable = ["seats", "is_active"]
    list_filter = [("venue", RelatedOnly), ("area", RelatedOnly), "shape", "is_active"]
    list_select_related = ["area", "venue"]
    search_fields = ["name", "area__name"]
    fieldsets = [
        (None, {"fields": ["venue", "area", "name", "seats", "shape", "is_active"]}),
        (
            _("Position on the floor plan"),
            {"fields": [("x", "y"), ("width", "height")], "classes": ["collapse"]},
        ),
    ]


# --- Tax, printers, stations ----------------------------------------------------------------


@admin.register(TaxRate)
class TaxRateAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    list_display = ["name", "code", "rate", "venue"]
    list_filter = [("venue", RelatedOnly)]
    search_fields = ["name", "code"]
    fields = ["venue", "name", "code", "rate"]


# Stations and printers are kitchen set-up, which managers handle with the floor
# ("floor.edit": owners and managers).
@admin.register(Printer)
class PrinterAdmin(VenueScopedAdmin):
    edit_permission = "floor.edit"
    list_display = ["name", "host", "port", "role", "code_page", "backup", "is_active", "venue"]
    list_filter = [("venue", RelatedOnly), "role", "is_active"]
    list_select_related = ["backup", "venue"]
    search_fields = ["name", "host"]
    fields = [
        "venue",
        "name",
        "role",
        ("host", "port"),
        "code_page",
        "paper_width",
        "backup",
        "is_active",
    ]


@admin.register(Station)
class StationAdmin(VenueScopedAdmin):
    edit_permission = "floor.edit"
    list_display = [
        "name",
        "slug",
        "is_expo",
        "printer",
        "show_on_screen",
        "print_tickets",
        "timers",
        "sort_order",
        "venue",
    ]
    list_editable = ["sort_order"]
    list_filter = [("venue", RelatedOnly), "is_expo", "show_on_screen", "print_tickets"]
    list_select_related = ["printer", "venue"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["venue", "name", "slug", "is_expo", "sort_order"]}),
        (
            _("Screen and printing"),
            {"fields": ["show_on_screen", "printer", "print_tickets", "print_on_bump"]},
        ),
        (_("Ticket timers"), {"fields": [("warn_after_seconds", "late_after_seconds")]}),
    ]

    @admin.display(description=_("yellow / red after"))
    def timers(self, obj):
        return f"{obj.warn_after_seconds // 60}:{obj.warn_after_seconds % 60:02d} / " + (
            f"{obj.late_after_seconds // 60}:{obj.late_after_seconds % 60:02d}"
        )


# --- Menus ----------------------------------------------------------------------------------


class MenuWindowInline(VenueScopedTabularInline):
    model = MenuWindow
    form = MenuWindowForm
    edit_permission = "menu.edit"
    fields = ["weekdays", "starts_at", "ends_at"]


@admin.register(Menu)
class MenuAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    inlines = [MenuWindowInline]
    list_display = ["name", "is_active", "available_when", "category_count", "sort_order", "venue"]
    list_editable = ["is_active", "sort_order"]
    list_filter = [("venue", RelatedOnly), "is_active"]
    search_fields = ["name"]
    fields = ["venue", "name", "is_active", "sort_order"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("venue")
            .prefetch_related("windows")
            .annotate(_categories=Count("categories"))
        )

    @admin.display(description=_("available"))
    def available_when(self, obj):
        windows = list(obj.windows.all())
        if not windows:
            return gettext("Always")
        names = dict(WEEKDAY_CHOICES)
        parts = []
        for window in windows:
            days = " ".join(str(names[d]) for d in window.weekdays if d in names)
            parts.append(f"{days} {window}")
        return "; ".join(parts)

    @admin.display(description=_("categories"), ordering="_categories")
    def category_count(self, obj):
        url = reverse("admin:restaurant_category_changelist") + f"?menu__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj._categories)


@admin.register(Category)
class CategoryAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    list_display = [
        "name",
        "menu",
        "default_station",
        "colour",
        "sort_order",
        "item_count",
        "venue",
    ]
    list_editable = ["sort_order"]
    list_filter = [("venue", RelatedOnly), ("menu", RelatedOnly)]
    list_select_related = ["menu", "default_station", "venue"]
    search_fields = ["name", "menu__name"]
    fields = ["venue", "menu", "name", "default_station", "color", "sort_order"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_items=Count("items"))

    @admin.display(description=_("button colour"))
    def colour(self, obj):
        if not obj.color:
            return "-"
        return format_html(
            '<span style="display:inline-block;width:1.2em;height:1.2em;border-radius:3px;'
            'vertical-align:middle;background:{}"></span> {}',
            obj.color,
            obj.color,
        )

    @admin.display(description=_("items"), ordering="_items")
    def item_count(self, obj):
        url = reverse("admin:restaurant_menuitem_changelist") + f"?category__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj._items)


class ItemModifierGroupInline(VenueScopedTabularInline):
    model = ItemModifierGroup
    edit_permission = "menu.edit"
    fields = ["group", "sort_order"]
    autocomplete_fields = ["group"]
    ordering = ["sort_order", "id"]
    verbose_name = _("modifier group")
    verbose_name_plural = _("modifier groups, in the order they are asked")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group", "item__venue")


def _set_available(modeladmin, request, queryset, *, available: bool, service, argument: str):
    """Run an availability service per row; each failure is its own error message."""
    done = 0
    for row in queryset:
        venue_id = venue_id_of(row)
        try:
            service(**{argument: row}, available=available, actor=actor_for(request, venue_id))
        except DomainError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
        else:
            done += 1
    return done


@admin.register(MenuItem)
class MenuItemAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    money_fields = {"price": _("price")}
    inlines = [ItemModifierGroupInline]
    list_display = [
        "name",
        "plu",
        "category",
        "price",
        "is_available",
        "stock_count",
        "kitchen_station",
        "is_active",
        "venue",
    ]
    list_editable = ["price", "stock_count"]
    list_filter = [
        ("venue", RelatedOnly),
        ("category", RelatedOnly),
        "is_available",
        "is_active",
        ("station", RelatedOnly),
    ]
    search_fields = ["name", "plu", "description"]
    autocomplete_fields = ["category"]
    readonly_fields = ["is_available"]
    actions = ["eighty_six", "un_eighty_six", "change_prices"]
    fieldsets = [
        (None, {"fields": ["venue", "category", "name", "description", "plu"]}),
        (_("Price and tax"), {"fields": ["price", "tax_rate"]}),
        (_("Kitchen"), {"fields": ["station", "prep_minutes", "default_course"]}),
        (
            _("Availability"),
            {
                "fields": ["is_active", "is_available", "stock_count", "sort_order"],
                "description": _(
                    "86 an item, or bring it back, with the actions in the item list."
                ),
            },
        ),
    ]

    def get_queryset(self, request):
        # Here rather than list_select_related (which Django skips once the queryset has a
        # select_related): the list's list_editable POST and the columns read all of these.
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "category__menu", "category__default_station", "station")
        )

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        if not self.has_change_permission(request):
            # Without list_editable the price column shows the money, not minor units.
            fields = ["price_money" if f == "price" else f for f in fields]
        return fields

    @admin.display(description=_("price"), ordering="price")
    def price_money(self, obj):
        return show_money(obj.price, obj.venue)

    #: Changed through services.menu_item_set_price_and_stock, never saved by the form.
    SERVICE_FIELDS = ("price", "stock_count")

    def save_model(self, request, obj, form, change):
        """The item list's in-place edits and the item's page: price and stock go through the
        service (row lock, permission, 86 at zero stock, the tablets' availability event);
        the other fields are plain settings."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        through_service = [f for f in self.SERVICE_FIELDS if f in form.changed_data]
        plain = [
            f
            for f in form.changed_data
            if f not in self.SERVICE_FIELDS and f in {x.name for x in obj._meta.concrete_fields}
        ]
        if plain:
            obj.save(update_fields=[*plain, "updated_at"])
        if through_service:
            wanted = {f: form.cleaned_data[f] for f in through_service}
            try:
                item = services.menu_item_set_price_and_stock(
                    item=obj, actor=actor_for(request, obj.venue_id), **wanted
                )
            except DomainError as exc:
                # The changelist and change form run this in their transaction: undo it all.
                # (The form validated the values, so this is rare: refused, or a bad value.)
                if exc.status == 403:
                    raise PermissionDenied(exc.message) from exc
                raise BadRequest(exc.message) from exc
            obj.price, obj.stock_count, obj.is_available = (
                item.price,
                item.stock_count,
                item.is_available,
            )

    @admin.display(description=_("kitchen station"))
    def kitchen_station(self, obj):
        if obj.station:
            return obj.station.name
        if obj.category.default_station:
            return format_html(
                '<span title="{}">{}</span>',
                gettext("the category's default station"),
                obj.category.default_station.name,
            )
        return "-"

    # Actions ----------------------------------------------------------------------------

    @admin.action(description=_("86 selected items (sold out)"), permissions=["eighty_six"])
    def eighty_six(self, request, queryset):
        done = _set_available(
            self,
            request,
            queryset,
            available=False,
            service=services.menu_item_set_available,
            argument="item",
        )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d item is 86'd.", "%(count)d items are 86'd.", done)
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Un-86 selected items (available again)"), permissions=["eighty_six"]
    )
    def un_eighty_six(self, request, queryset):
        done = _set_available(
            self,
            request,
            queryset,
            available=True,
            service=services.menu_item_set_available,
            argument="item",
        )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d item is available again.",
                    "%(count)d items are available again.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Change prices of selected items"), permissions=["change"])
    def change_prices(self, request, queryset):
        """An intermediate page: percentage or amount, rounding, preview, then apply."""
        items = list(queryset.select_related("venue", "category").order_by("venue", "name"))
        submitted = "apply" in request.POST or "preview" in request.POST
        form = PriceChangeForm(request.POST if submitted else None)
        new_prices: dict[int, int] = {}
        if submitted and form.is_valid():
            preview = "apply" not in request.POST
            try:
                new_prices = self._change_prices(request, items, form, preview=preview)
            except ValidationError as exc:
                form.add_error(None, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if not preview:
                    self.message_user(
                        request,
                        ngettext(
                            "The price of %(count)d item was changed.",
                            "The prices of %(count)d items were changed.",
                            len(items),
                        )
                        % {"count": len(items)},
                        messages.SUCCESS,
                    )
                    return None  # back to the changelist
        rows = [
            {
                "item": item,
                "price": show_money(item.price, item.venue),
                "new_price": (
                    show_money(new_prices[item.pk], item.venue) if item.pk in new_prices else ""
                ),
                "changed": item.pk in new_prices and new_prices[item.pk] != item.price,
            }
            for item in items
        ]
        adminform = helpers.AdminForm(
            form, [(None, {"fields": ["percent", "amount", "round_to"]})], {}
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change prices"),
            "subtitle": None,
            "opts": self.opts,
            "adminform": adminform,
            "errors": helpers.AdminErrorList(form, []),
            "rows": rows,
            "previewed": bool(new_prices),
            "several_venues": len({item.venue_id for item in items}) > 1,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + adminform.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/restaurant/menuitem/change_prices.html", context)

    def _change_prices(self, request, items, form, *, preview: bool) -> dict[int, int]:
        """Call the service once per venue, all in one transaction: all or nothing.

        A preview runs the same service and rolls back, so it shows exactly what applying
        would do.
        """
        by_venue: dict[int, list[MenuItem]] = defaultdict(list)
        for item in items:
            by_venue[item.venue_id].append(item)
        plans = []
        for venue_items in by_venue.values():
            venue = venue_items[0].venue
            amount, step = form.minor_units(venue.currency)
            plans.append((venue, [i.pk for i in venue_items], amount, step))
        new_prices = {}
        with transaction.atomic():
            for venue, ids, amount, step in plans:
                changed = services.menu_items_change_price(
                    venue=venue,
                    item_ids=ids,
                    percent=form.cleaned_data["percent"],
                    amount=amount,
                    round_to=step,
                    actor=actor_for(request, venue.pk),
                )
                new_prices.update({item.pk: item.price for item in changed})
            if preview:
                transaction.set_rollback(True)
        return new_prices


# --- Modifiers ------------------------------------------------------------------------------


class ModifierInline(VenueScopedTabularInline):
    model = Modifier
    fk_name = "group"
    edit_permission = "menu.edit"
    money_fields = {"price_delta": _("price change")}
    fields = [
        "name",
        "plu",
        "price_delta",
        "is_default",
        "nested_group",
        "is_available",
        "sort_order",
    ]
    readonly_fields = ["is_available"]
    autocomplete_fields = ["nested_group"]
    # Narrow inputs, so a row of this table fits the page.
    input_widths = {"name": "12em", "plu": "6em", "sort_order": "4em"}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group__venue", "nested_group")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in self.input_widths:
            field.widget.attrs["style"] = f"width: {self.input_widths[db_field.name]}"
        if isinstance(field and field.widget, RelatedFieldWidgetWrapper):
            # Only the choice here: groups are edited on their own page.
            widget = field.widget
            widget.can_add_related = widget.can_change_related = False
            widget.can_delete_related = widget.can_view_related = False
            widget.widget.attrs["data-width"] = "12em"  # select2 reads its width from here
        return field


@admin.register(ModifierGroup)
class ModifierGroupAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    inlines = [ModifierInline]
    list_display = ["name", "internal_name", "code", "rule", "modifier_count", "venue"]
    list_filter = [("venue", RelatedOnly)]
    search_fields = ["name", "internal_name", "code"]
    prepopulated_fields = {"code": ["name"]}
    fieldsets = [
        (None, {"fields": ["venue", "name", "internal_name", "code"]}),
        (
            _("Choices"),
            {
                "fields": [
                    ("min_choices", "max_choices"),
                    ("free_choices", "max_per_modifier"),
                ],
                "description": _(
                    "Required when the minimum is 1 or more. Free choices are the most "
                    "expensive ones."
                ),
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("venue")
            .annotate(_modifiers=Count("modifiers"))
        )

    @admin.display(description=_("choose"))
    def rule(self, obj):
        if obj.min_choices == obj.max_choices:
            text = gettext("exactly %(n)d") % {"n": obj.min_choices}
        elif obj.min_choices:
            text = gettext("%(min)d to %(max)d") % {"min": obj.min_choices, "max": obj.max_choices}
        else:
            text = gettext("up to %(max)d") % {"max": obj.max_choices}
        if obj.free_choices:
            text += ", " + gettext("%(n)d free") % {"n": obj.free_choices}
        return text

    @admin.display(description=_("modifiers"), ordering="_modifiers")
    def modifier_count(self, obj):
        return obj._modifiers


@admin.register(Modifier)
class ModifierAdmin(VenueScopedAdmin):
    edit_permission = "menu.edit"
    money_fields = {"price_delta": _("price change")}
    list_display = [
        "name",
        "group",
        "price_change",
        "is_available",
        "is_default",
        "nested_group",
        "venue",
    ]
    list_filter = [("group__venue", RelatedOnly), ("group", RelatedOnly), "is_available"]
    list_select_related = ["group__venue", "nested_group"]
    search_fields = ["name", "plu", "group__name", "group__internal_name"]
    autocomplete_fields = ["group", "nested_group"]
    readonly_fields = ["is_available"]
    actions = ["eighty_six", "un_eighty_six"]
    fields = [
        "group",
        "name",
        "plu",
        "price_delta",
        "is_default",
        "nested_group",
        "is_available",
        "sort_order",
    ]

    @admin.display(description=_("venue"), ordering="group__venue__name")
    def venue(self, obj):
        return obj.group.venue

    @admin.display(description=_("price change"), ordering="price_delta")
    def price_change(self, obj):
        return show_money(obj.price_delta, obj.group.venue, signed=True)

    @admin.action(description=_("86 selected modifiers"), permissions=["eighty_six"])
    def eighty_six(self, request, queryset):
        done = _set_available(
            self,
            request,
            queryset.select_related("group"),
            available=False,
            service=services.modifier_set_available,
            argument="modifier",
        )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d modifier is 86'd.", "%(count)d modifiers are 86'd.", done)
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Un-86 selected modifiers"), permissions=["eighty_six"])
    def un_eighty_six(self, request, queryset):
        done = _set_available(
            self,
            request,
            queryset.select_related("group"),
            available=True,
            service=services.modifier_set_available,
            argument="modifier",
        )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d modifier is available again.",
                    "%(count)d modifiers are available again.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )


# --- Devices --------------------------------------------------------------------------------


@admin.register(Device)
class DeviceAdmin(VenueScopedAdmin):
    """Tablets, kitchen screens and phones. A new device gets a pairing code to type on it."""

    edit_permission = "floor.edit"
    list_display = ["name", "kind", "station", "pairing", "paired_at", "last_seen_at", "state"]
    list_filter = [("venue", RelatedOnly), "kind"]
    list_select_related = ["station", "venue"]
    search_fields = ["name"]
    fields = ["venue", "name", "kind", "station", "pairing", "paired_at", "last_seen_at"]
    readonly_fields = ["pairing", "paired_at", "last_seen_at"]
    actions = ["new_pairing_code", "revoke"]

    def _each_device(self, request, queryset, service) -> list:
        """Run a device service per row, as the user at that row's venue; errors are messages."""
        done = []
        for device in queryset:
            try:
                done.append(
                    (device, service(device=device, actor=actor_for(request, device.venue_id)))
                )
            except DomainError as exc:
                self.message_user(request, f"{device}: {exc.message}", messages.ERROR)
        return done

    @admin.display(description=_("pairing code"))
    def pairing(self, obj):
        if obj.revoked_at:
            return "—"
        if obj.pairing_code and obj.pairing_expires_at and obj.pairing_expires_at > timezone.now():
            until = date_format(timezone.localtime(obj.pairing_expires_at), "H:i")
            return format_html(
                '<strong style="font-size:1.4em;letter-spacing:.2em">{}</strong> {}',
                obj.pairing_code,
                gettext("(valid until %(time)s)") % {"time": until},
            )
        return gettext("paired") if obj.token_digest else gettext("expired: make a new code")

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.revoked_at:
            return gettext("revoked")
        return gettext("active") if obj.token_digest else gettext("waiting to pair")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        device = services.device_create(
            venue=obj.venue,
            name=obj.name,
            kind=obj.kind,
            station=obj.station,
            actor=actor_for(request, obj.venue_id),
        )
        obj.pk = device.pk
        obj.refresh_from_db()

    @admin.action(description=_("Make a new pairing code"), permissions=["change"])
    def new_pairing_code(self, request, queryset):
        done = self._each_device(
            request, queryset.filter(revoked_at__isnull=True), services.device_new_pairing_code
        )
        for device, code in done:
            self.message_user(
                request,
                gettext("%(device)s: pairing code %(code)s") % {"device": device, "code": code},
            )

    @admin.action(
        description=_("Revoke: the device is signed out for good"), permissions=["change"]
    )
    def revoke(self, request, queryset):
        if self._each_device(request, queryset, services.device_revoke):
            self.message_user(request, gettext("Revoked."), messages.WARNING)


@admin.register(PinAttempt)
class PinAttemptAdmin(VenueScopedAdmin):
    """PINs typed on tablets (sign-ins and approvals): failed PINs are logged here for the
    manager, with who asked for an approval."""

    read_only = True
    view_permission = "reports.view"
    list_display = ["created_at", "purpose", "device", "staff", "requested_by", "success"]
    list_filter = [("venue", RelatedOnly), "success", "purpose"]
    list_select_related = ["device", "staff", "requested_by"]
    date_hierarchy = "created_at"
    fields = [
        "venue",
        "created_at",
        "purpose",
        "device",
        "staff",
        "requested_by",
        "success",
        "ip_address",
    ]
    readonly_fields = fields
