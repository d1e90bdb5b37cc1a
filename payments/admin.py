"""Money in the back office: cash drawers, the drawer variance report, payments and tips.

Drawers are set-up: owners and managers ("drawer.manage") add them and choose the receipt
printer that kicks them open. Everything else is a report ("reports.view") and read-only, for
superusers too: drawer sessions, payments and receipts change only through payments/services.py
(on the tablets), which keep the bill, the drawer and the audit trail consistent.

- Drawer sessions: the variance report (counted − expected, red when short); a session's page
  breaks the expected cash down (payments.selectors.drawer_expected) next to the count by
  denomination, with its pays in / out and its cash payments.
- Payments: the tip report. Above the list, for the rows the filters and the date hierarchy
  select: totals by method and tips by server (succeeded payments only).
- The check's page (orders/admin.py) gets the check's payments and receipts, attached here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Prefetch, Sum
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders.admin import CheckAdmin
from payments import card
from payments.models import (
    CardReader,
    Drawer,
    DrawerMovement,
    DrawerSession,
    Payment,
    Receipt,
    Refund,
    TerminalLocation,
)
from payments.selectors import drawer_expected
from restaurant.admin import (
    RelatedOnly,
    VenueAdmin,
    VenueScopedAdmin,
    VenueScopedTabularInline,
    actor_for,
    money_table,
    money_text,
    show_money,
    venue_time,
)
from restaurant.admin_forms import register_venue_lookup
from restaurant.errors import DomainError
from restaurant.models import Printer, StaffMember, Venue
from restaurant.money import format_money

register_venue_lookup(DrawerMovement, "session__venue")
register_venue_lookup(Refund, "payment__venue")

REPORTS_PERMISSION = "reports.view"
DRAWER_PERMISSION = "drawer.manage"


# --- Display helpers ------------------------------------------------------------------------


def _check_link(payment: Payment) -> str:
    url = reverse("admin:orders_check_change", args=[payment.tab_id])
    return format_html('<a href="{}">#{}</a>', url, payment.tab.number)


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _tip_percent(payment: Payment) -> str:
    """The percentage chosen on the tablet; for a tip typed as an amount, what it came to."""
    if payment.tip_percent is not None:
        return _percent(payment.tip_percent)
    if payment.tip and payment.tip_basis:
        share = (Decimal(payment.tip) * 100 / payment.tip_basis).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        return "≈ " + _percent(share)
    return "-"


def _card(payment: Payment) -> str:
    if not payment.card_last4:
        return payment.card_brand or "-"
    return f"{payment.card_brand} •••• {payment.card_last4}".strip()


def _variance(amount: int | None, venue: Venue) -> str:
    """Counted − expected, signed: red and "short" below zero, "over" above."""
    if amount is None:
        return "-"
    if amount < 0:
        return format_html(
            '<strong class="variance-short" style="color:var(--error-fg, #ba2121)">{} {}</strong>',
            show_money(amount, venue, signed=True),
            gettext("short"),
        )
    if amount > 0:
        return format_html(
            '<span class="variance-over">{} {}</span>',
            show_money(amount, venue, signed=True),
            gettext("over"),
        )
    return show_money(amount, venue)


# --- Drawers --------------------------------------------------------------------------------


@admin.register(Drawer)
class DrawerAdmin(VenueScopedAdmin):
    view_permission = DRAWER_PERMISSION
    edit_permission = DRAWER_PERMISSION
    list_display = [
        "name",
        "is_active",
        "printer",
        "session_state",
        "session_opened_by",
        "session_since",
        "session_float",
        "sessions_link",
        "venue",
    ]
    list_filter = [("venue", RelatedOnly), "is_active"]
    search_fields = ["name"]
    fields = ["venue", "name", "printer", "is_active", "session_state"]
    readonly_fields = ["session_state"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f != "session_state"]

    def get_queryset(self, request):
        open_sessions = DrawerSession.objects.filter(
            status=DrawerSession.Status.OPEN
        ).select_related("opened_by")
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "printer")
            .prefetch_related(Prefetch("sessions", queryset=open_sessions, to_attr="_open"))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "printer":
            # Only receipt printers kick a drawer open; the mixin narrows them to the user's
            # venues and the form to the drawer's own venue.
            kwargs["queryset"] = Printer.objects.filter(role=Printer.Role.RECEIPT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _open_session(self, obj) -> DrawerSession | None:
        sessions = getattr(obj, "_open", None)
        if sessions is None:  # not loaded through get_queryset
            sessions = list(
                obj.sessions.filter(status=DrawerSession.Status.OPEN).select_related("opened_by")
            )
        return sessions[0] if sessions else None

    @admin.display(description=_("session"))
    def session_state(self, obj):
        session = self._open_session(obj) if obj.pk else None
        if session is None:
            return gettext("closed")
        url = reverse("admin:payments_drawersession_change", args=[session.pk])
        return format_html('<a href="{}"><strong>{}</strong></a>', url, gettext("open"))

    @admin.display(description=_("opened by"))
    def session_opened_by(self, obj):
        session = self._open_session(obj)
        return session.opened_by.display_name if session else "-"

    @admin.display(description=_("open since"))
    def session_since(self, obj):
        session = self._open_session(obj)
        return venue_time(session.opened_at, obj.venue) if session else "-"

    @admin.display(description=_("float"))
    def session_float(self, obj):
        session = self._open_session(obj)
        return show_money(session.opening_float, obj.venue) if session else "-"

    @admin.display(description=_("sessions"))
    def sessions_link(self, obj):
        url = reverse("admin:payments_drawersession_changelist") + f"?drawer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("history"))


# --- Drawer sessions: the variance report -------------------------------------------------


class DrawerMovementInline(VenueScopedTabularInline):
    model = DrawerMovement
    fk_name = "session"
    read_only = True
    view_permission = REPORTS_PERMISSION
    fields = ["when", "kind", "how_much", "reason", "staff"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("session__venue", "staff")

    @admin.display(description=_("when"))
    def when(self, obj):
        return venue_time(obj.created_at, obj.session.venue)

    @admin.display(description=_("amount"))
    def how_much(self, obj):
        amount = obj.amount if obj.kind == DrawerMovement.Kind.PAY_IN else -obj.amount
        return show_money(amount, obj.session.venue, signed=True)


class PaymentColumns:
    """Read-only columns shared by the payment list and the payment inlines."""

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return venue_time(obj.created_at, obj.venue)

    @admin.display(description=_("check"), ordering="tab__number")
    def check_link(self, obj):
        return _check_link(obj)

    @admin.display(description=_("part"))
    def part_label(self, obj):
        return str(obj.part)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_money(self, obj):
        return show_money(obj.amount, obj.venue)

    @admin.display(description=_("tip"), ordering="tip")
    def tip_money(self, obj):
        return show_money(obj.tip, obj.venue)

    @admin.display(description=_("tip %"))
    def tip_pct(self, obj):
        return _tip_percent(obj)

    @admin.display(description=_("rounding"))
    def rounding_money(self, obj):
        return show_money(obj.rounding, obj.venue, signed=True) if obj.rounding else "-"

    @admin.display(description=_("tendered"))
    def tendered_money(self, obj):
        return show_money(obj.tendered, obj.venue) if obj.tendered is not None else "-"

    @admin.display(description=_("change"))
    def change_money(self, obj):
        return show_money(obj.change, obj.venue) if obj.change else "-"

    @admin.display(description=_("collected"))
    def collected_money(self, obj):
        return show_money(obj.collected, obj.venue)

    @admin.display(description=_("card"))
    def card(self, obj):
        return _card(obj)


class DrawerPaymentInline(PaymentColumns, VenueScopedTabularInline):
    """The cash payments that went into this drawer session."""

    model = Payment
    fk_name = "drawer_session"
    read_only = True
    view_permission = REPORTS_PERMISSION
    verbose_name_plural = _("cash payments")
    show_change_link = True
    fields = [
        "created",
        "check_link",
        "part_label",
        "amount_money",
        "tip_money",
        "rounding_money",
        "tendered_money",
        "change_money",
        "taken_by",
        "status",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(method=Payment.Method.CASH)
            .select_related("venue", "tab", "part", "taken_by")
            .order_by("id")
        )


@admin.register(DrawerSession)
class DrawerSessionAdmin(VenueScopedAdmin):
    read_only = True
    view_permission = REPORTS_PERMISSION
    inlines = [DrawerMovementInline, DrawerPaymentInline]
    list_display = [
        "drawer",
        "opened",
        "opened_by",
        "float_money",
        "expected_money",
        "counted_money",
        "variance_money",
        "closed",
        "closed_by",
        "note",
        "venue",
    ]
    list_display_links = ["drawer", "opened"]
    list_filter = [
        ("venue", RelatedOnly),
        ("drawer", RelatedOnly),
        "status",
        ("closed_by", RelatedOnly),
    ]
    list_select_related = ["venue", "drawer", "opened_by", "closed_by"]
    search_fields = ["drawer__name", "note", "opened_by__display_name", "closed_by__display_name"]
    date_hierarchy = "opened_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "venue",
                    "drawer",
                    "status",
                    ("opened", "opened_by"),
                    "float_money",
                    ("closed", "closed_by"),
                    "note",
                ]
            },
        ),
        (_("Cash"), {"fields": ["breakdown", "denominations_counted"]}),
    ]
    readonly_fields = [
        "venue",
        "drawer",
        "status",
        "opened",
        "opened_by",
        "float_money",
        "closed",
        "closed_by",
        "note",
        "breakdown",
        "denominations_counted",
    ]

    @admin.display(description=_("opened"), ordering="opened_at")
    def opened(self, obj):
        return venue_time(obj.opened_at, obj.venue)

    @admin.display(description=_("closed"), ordering="closed_at")
    def closed(self, obj):
        if obj.status == DrawerSession.Status.OPEN:
            return format_html("<strong>{}</strong>", gettext("still open"))
        return venue_time(obj.closed_at, obj.venue)

    @admin.display(description=_("float"), ordering="opening_float")
    def float_money(self, obj):
        return show_money(obj.opening_float, obj.venue)

    @admin.display(description=_("expected"), ordering="expected")
    def expected_money(self, obj):
        return show_money(obj.expected, obj.venue)

    @admin.display(description=_("counted"), ordering="counted")
    def counted_money(self, obj):
        return show_money(obj.counted, obj.venue)

    @admin.display(description=_("variance"), ordering="variance")
    def variance_money(self, obj):
        return _variance(obj.variance, obj.venue)

    @admin.display(description=_("expected in the drawer"))
    def breakdown(self, obj):
        venue = obj.venue
        expected = drawer_expected(obj)
        rows = [
            (gettext("Float"), show_money(expected["float"], venue)),
            (
                ngettext(
                    "Cash sales (%(count)d payment)",
                    "Cash sales (%(count)d payments)",
                    expected["payments"],
                )
                % {"count": expected["payments"]},
                show_money(expected["cash_sales"], venue),
            ),
            (gettext("Cash tips"), show_money(expected["cash_tips"], venue)),
            (gettext("Cash rounding"), show_money(expected["rounding"], venue, signed=True)),
            (gettext("Pays in"), show_money(expected["pay_in"], venue)),
            (gettext("Pays out"), show_money(-expected["pay_out"], venue)),
            (
                format_html("<strong>{}</strong>", gettext("Expected")),
                format_html("<strong>{}</strong>", show_money(expected["expected"], venue)),
            ),
        ]
        if obj.status == DrawerSession.Status.CLOSED:
            if obj.expected != expected["expected"]:
                # Payments changed after the count (a refund, say): the variance stays the one
                # recorded against what was expected at closing.
                rows.append((gettext("Expected at closing"), show_money(obj.expected, venue)))
            rows.append((gettext("Counted"), show_money(obj.counted, venue)))
            rows.append((gettext("Variance"), _variance(obj.variance, venue)))
        else:
            rows.append((gettext("Counted"), gettext("not yet: the drawer is open")))
        return money_table(rows)

    @admin.display(description=_("count by denomination"))
    def denominations_counted(self, obj):
        counts = []
        for value, count in (obj.denominations or {}).items():
            try:
                counts.append((int(value), int(count)))
            except (TypeError, ValueError):
                continue
        if not counts:
            return "-"
        venue = obj.venue
        rows = [
            (
                format_html("{} × {}", money_text(value, venue), count),
                show_money(value * count, venue),
            )
            for value, count in sorted(counts, reverse=True)
        ]
        rows.append((gettext("Total"), show_money(sum(v * c for v, c in counts), venue)))
        return money_table(rows)


# --- Payments: the tip report -----------------------------------------------------------------


def payment_summary(queryset) -> list[dict]:
    """Per venue (each in its own currency): succeeded payments of `queryset` by method, and
    tips by server. Three queries, however many rows."""
    done = queryset.filter(status=Payment.Status.SUCCEEDED).order_by()
    by_method = list(
        done.values("venue", "method")
        .annotate(count=Count("id"), amount=Sum("amount"), tip=Sum("tip"), rounding=Sum("rounding"))
        .order_by("venue", "method")
    )
    by_server = list(
        done.values("venue", "server")
        .annotate(count=Count("id"), amount=Sum("amount"), tip=Sum("tip"))
        .order_by("venue", "-tip", "server")
    )
    if not by_method:
        return []
    venues = Venue.objects.in_bulk({row["venue"] for row in by_method})
    servers = StaffMember.objects.in_bulk({row["server"] for row in by_server})
    methods = dict(Payment.Method.choices)

    blocks: dict[int, dict] = {}
    for row in by_method:
        venue = venues[row["venue"]]
        block = blocks.setdefault(
            venue.pk,
            {
                "venue": venue,
                "methods": [],
                "servers": [],
                "totals": dict.fromkeys(("count", "amount", "tip", "rounding"), 0),
            },
        )
        collected = row["amount"] + row["tip"] + row["rounding"]
        block["methods"].append(
            {
                "label": methods.get(row["method"], row["method"]),
                "count": row["count"],
                "amount": show_money(row["amount"], venue),
                "tip": show_money(row["tip"], venue),
                "rounding": show_money(row["rounding"], venue, signed=True),
                "collected": show_money(collected, venue),
            }
        )
        for key in ("count", "amount", "tip", "rounding"):
            block["totals"][key] += row[key]
    for row in by_server:
        block = blocks[row["venue"]]
        venue = block["venue"]
        block["servers"].append(
            {
                "name": servers[row["server"]].display_name,
                "count": row["count"],
                "amount": show_money(row["amount"], venue),
                "tip": show_money(row["tip"], venue),
            }
        )
    for block in blocks.values():
        totals, venue = block["totals"], block["venue"]
        block["total"] = {
            "count": totals["count"],
            "amount": show_money(totals["amount"], venue),
            "tip": show_money(totals["tip"], venue),
            "rounding": show_money(totals["rounding"], venue, signed=True),
            "collected": show_money(totals["amount"] + totals["tip"] + totals["rounding"], venue),
        }
    return list(blocks.values())


class RefundInline(VenueScopedTabularInline):
    model = Refund
    fk_name = "payment"
    read_only = True
    view_permission = REPORTS_PERMISSION
    fields = ["created_at", "amount_money", "status", "reason", "staff", "approved_by", "stripe_id"]
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount_money(self, obj):
        return show_money(obj.amount, obj.payment.venue)


@admin.register(Payment)
class PaymentAdmin(PaymentColumns, VenueScopedAdmin):
    read_only = True
    view_permission = REPORTS_PERMISSION
    list_display = [
        "created",
        "check_link",
        "part_label",
        "method",
        "amount_money",
        "tip_money",
        "tip_pct",
        "rounding_money",
        "server",
        "taken_by",
        "card",
        "status",
        "venue",
    ]
    list_display_links = ["created"]
    list_filter = [
        ("venue", RelatedOnly),
        "method",
        "status",
        ("server", RelatedOnly),
        ("taken_by", RelatedOnly),
    ]

    def get_queryset(self, request):
        # Here rather than list_select_related, which Django skips once the queryset has a
        # select_related.
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "tab", "part", "server", "taken_by", "drawer_session__drawer")
        )

    search_fields = ["tab__tab_name", "server__display_name", "taken_by__display_name"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "venue",
                    "check_link",
                    "part_label",
                    ("method", "status"),
                    ("created", "succeeded"),
                    ("server", "taken_by"),
                ]
            },
        ),
        (
            _("Amounts"),
            {
                "fields": [
                    "amount_money",
                    ("tip_money", "tip_pct", "tip_basis_money"),
                    "rounding_money",
                    "collected_money",
                ]
            },
        ),
        (_("Cash"), {"fields": ["tendered_money", "change_money", "drawer_session_link"]}),
        (
            _("Card"),
            {
                "fields": [
                    "card",
                    ("channel", "reader"),
                    "stripe_payment_intent",
                    ("attempts", "failure_message"),
                    "refunded_money",
                ]
            },
        ),
    ]
    inlines = [RefundInline]
    readonly_fields = [
        "channel",
        "reader",
        "stripe_payment_intent",
        "attempts",
        "failure_message",
        "refunded_money",
        "venue",
        "check_link",
        "part_label",
        "method",
        "status",
        "created",
        "succeeded",
        "server",
        "taken_by",
        "amount_money",
        "tip_money",
        "tip_pct",
        "tip_basis_money",
        "rounding_money",
        "collected_money",
        "tendered_money",
        "change_money",
        "drawer_session_link",
        "card",
    ]

    @admin.display(description=_("refunded"))
    def refunded_money(self, obj):
        return show_money(obj.refunded, obj.venue)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isdigit():  # "12" or "#12": the payments of check 12; "4242": a card's last 4
            results |= queryset.filter(tab__number=int(term))
            if len(term) == 4:
                results |= queryset.filter(card_last4=term)
        return results, may_have_duplicates

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        changelist = context.get("cl") if context else None
        if changelist is not None:
            # The changelist's queryset is the filtered one (filters, date hierarchy, search),
            # before paging: the summary covers every row the list selects, not one page.
            context["payment_summary"] = payment_summary(changelist.queryset)
        return response

    @admin.display(description=_("succeeded"))
    def succeeded(self, obj):
        return venue_time(obj.succeeded_at, obj.venue)

    @admin.display(description=_("tip basis"))
    def tip_basis_money(self, obj):
        return show_money(obj.tip_basis, obj.venue)

    @admin.display(description=_("drawer session"))
    def drawer_session_link(self, obj):
        if not obj.drawer_session_id:
            return "-"
        session = obj.drawer_session
        url = reverse("admin:payments_drawersession_change", args=[session.pk])
        return format_html(
            '<a href="{}">{}, {}</a>', url, session.drawer, venue_time(session.opened_at, obj.venue)
        )


# --- On the check's page ----------------------------------------------------------------------


class CheckPaymentInline(PaymentColumns, VenueScopedTabularInline):
    model = Payment
    fk_name = "tab"
    read_only = True
    view_permission = REPORTS_PERMISSION
    show_change_link = True
    fields = [
        "created",
        "part_label",
        "method",
        "amount_money",
        "tip_money",
        "tip_pct",
        "rounding_money",
        "server",
        "taken_by",
        "card",
        "status",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "part", "server", "taken_by")
            .order_by("id")
        )


class CheckReceiptInline(VenueScopedTabularInline):
    model = Receipt
    fk_name = "tab"
    read_only = True
    view_permission = REPORTS_PERMISSION
    fields = ["when", "kind", "part", "email", "reprint", "staff"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("venue", "part", "staff").order_by("id")

    @admin.display(description=_("when"))
    def when(self, obj):
        return venue_time(obj.created_at, obj.venue)


# orders never imports payments (docs/ARCHITECTURE.md: restaurant <- orders <- payments), so
# CheckAdmin in orders/admin.py cannot name these inlines. payments may import orders: the
# inlines are attached to the registered CheckAdmin from here, when the admin autodiscovers
# payments/admin.py (after orders/admin.py, which this module imports anyway).
CheckAdmin.inlines = [*CheckAdmin.inlines, CheckPaymentInline, CheckReceiptInline]


# --- Card readers (Stripe Terminal) -------------------------------------------------------------


class CardReaderAddForm(forms.ModelForm):
    """Adding a reader registers it with Stripe (payments.card.card_reader_register)."""

    registration_code = forms.CharField(
        label=_("registration code"),
        help_text=_(
            "The code the reader shows when you register it; simulated-wpe adds a simulated "
            "reader (Stripe test mode and the local emulator)."
        ),
    )

    class Meta:
        model = CardReader
        fields = ["venue", "label"]

    def clean(self):
        cleaned = super().clean()
        venue, label = cleaned.get("venue"), cleaned.get("label")
        code = cleaned.get("registration_code")
        if venue and label and code and not self.errors:
            try:
                self.registered = card.card_reader_register(
                    venue=venue,
                    label=label,
                    registration_code=code,
                    actor=self.actor_for(venue.pk),
                )
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned

    def save(self, commit=True):
        # Registered (and saved) by the service in clean(); the admin still calls save_m2m.
        self.save_m2m = lambda: None
        return self.registered


@admin.register(CardReader)
class CardReaderAdmin(VenueScopedAdmin):
    view_permission = DRAWER_PERMISSION
    edit_permission = DRAWER_PERMISSION
    list_display = ["label", "stripe_id", "device_type", "location_id", "is_active", "venue"]
    list_filter = [("venue", RelatedOnly), "is_active"]
    search_fields = ["label", "stripe_id"]
    fields = ["venue", "label", "stripe_id", "device_type", "location_id", "is_active"]
    readonly_fields = ["stripe_id", "device_type", "location_id"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CardReaderAddForm
            kwargs["fields"] = ["venue", "label", "registration_code"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:  # a class made for this request: the service is told who registers
            form.actor_for = staticmethod(lambda venue_id: actor_for(request, venue_id))
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["venue", "label", "registration_code"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return super().get_readonly_fields(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # On add the form registered and saved the reader already.


def _readers_follow_the_tip_presets(request, venue) -> None:
    """After a venue is saved: its card readers' tipping Configuration follows its presets
    (only where the venue has a Terminal location; otherwise it is made with the location)."""
    if not TerminalLocation.objects.filter(venue=venue).exists():
        return
    try:
        card.terminal_configuration_ensure(venue=venue)
    except DomainError as exc:
        messages.warning(
            request,
            gettext(
                "The card readers' tips could not be updated at Stripe now (%(error)s); they "
                "are updated before the next payment with the tip on the reader."
            )
            % {"error": exc.message},
        )


# Like CheckAdmin.inlines above: restaurant's VenueAdmin cannot know about payments.
VenueAdmin.after_save = [*VenueAdmin.after_save, _readers_follow_the_tip_presets]


@admin.register(TerminalLocation)
class TerminalLocationAdmin(VenueScopedAdmin):
    view_permission = DRAWER_PERMISSION
    read_only = True
    list_display = ["display_name", "stripe_id", "configuration_id", "venue"]
    fields = ["venue", "display_name", "stripe_id", "configuration_id", "reader_tips"]
    readonly_fields = fields

    @admin.display(description=_("tips on the readers"))
    def reader_tips(self, obj):
        """What the location's Configuration offers, as it was last set from the presets."""
        if not obj.tipping:
            return gettext("none (no tip screen on the readers)")
        parts = []
        for currency, spec in obj.tipping.items():
            text = ", ".join(f"{p}%" for p in spec.get("percentages") or [])
            if spec.get("smart_tip_threshold"):
                text += " · " + gettext("below %(threshold)s: %(amounts)s") % {
                    "threshold": format_money(spec["smart_tip_threshold"], currency.upper()),
                    "amounts": ", ".join(
                        format_money(a, currency.upper()) for a in spec.get("fixed_amounts") or []
                    ),
                }
            parts.append(text)
        return "; ".join(parts)
