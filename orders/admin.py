"""Checks and their audit trail in the back office: read-only.

Checks change only through orders/services.py (on the tablets); here owners and managers look
them up: the lines as they were rung in (snapshots, with their modifiers), the totals and who
did what. Scoped to the user's venues like the rest of the admin (restaurant/admin.py).
The check's payments and receipts are shown too: payments/admin.py attaches their inlines to
CheckAdmin, since orders never imports payments.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders.models import Adjustment, Check, CheckAudit, LineModifier, OrderLine
from orders.pricing import lines_from_rows
from orders.selectors import totals_for
from restaurant.admin import (
    RelatedOnly,
    VenueScopedAdmin,
    VenueScopedTabularInline,
    money_table,
    money_text,
    show_money,
    venue_time,
)
from restaurant.admin_forms import register_venue_lookup

register_venue_lookup(OrderLine, "tab__venue")
register_venue_lookup(LineModifier, "line__tab__venue")
register_venue_lookup(Adjustment, "tab__venue")

# Looking at checks is reporting: owners and managers ("reports.view").
CHECK_VIEW_PERMISSION = "reports.view"


def _modifier_lines(line: OrderLine) -> list[tuple[str, str]]:
    """(indent in em, text) per chosen modifier, nested choices under their parent."""
    mods = list(line.modifiers.all())
    children: dict[int | None, list[LineModifier]] = {}
    for mod in mods:
        children.setdefault(mod.parent_id, []).append(mod)
    venue = line.tab.venue
    result = []

    def walk(parent_id, depth):
        for mod in children.get(parent_id, []):
            text = mod.name if mod.quantity == 1 else f"{mod.quantity}x {mod.name}"
            if mod.price_delta:
                text += " (" + money_text(mod.price_delta, venue, signed=True)
                if mod.free_quantity:
                    text += ", " + gettext("%(n)d free") % {"n": mod.free_quantity}
                text += ")"
            result.append((depth * 1.5, text))
            walk(mod.pk, depth + 1)

    walk(None, 0)
    return result


class OrderLineInline(VenueScopedTabularInline):
    model = OrderLine
    fk_name = "tab"
    read_only = True
    view_permission = CHECK_VIEW_PERMISSION
    verbose_name_plural = _("lines")
    fields = [
        "quantity",
        "name",
        "plu",
        "chosen_modifiers",
        "unit_price_money",
        "line_total",
        "seat",
        "course",
        "status",
        "note",
        "added_by",
        "void",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tab__venue", "added_by", "voided_by", "void_approved_by")
            .prefetch_related(
                Prefetch("modifiers", queryset=LineModifier.objects.order_by("sort_order", "id")),
                "adjustments",
            )
        )

    @admin.display(description=_("modifiers"))
    def chosen_modifiers(self, obj):
        lines = _modifier_lines(obj)
        if not lines:
            return "-"
        return format_html_join("", '<div style="padding-left:{}em">{}</div>', lines)

    @admin.display(description=_("item price"))
    def unit_price_money(self, obj):
        return show_money(obj.unit_price, obj.tab.venue)

    @admin.display(description=_("amount"))
    def line_total(self, obj):
        """Quantity x (price + modifiers), before comps and discounts (see the totals)."""
        (priced,) = lines_from_rows([obj])
        return show_money(priced.total, obj.tab.venue)

    @admin.display(description=_("void"))
    def void(self, obj):
        if obj.status != OrderLine.Status.VOIDED:
            return ""
        who = obj.voided_by.display_name if obj.voided_by else "-"
        if obj.void_approved_by:
            who += " / " + obj.void_approved_by.display_name
        return f"{obj.void_reason} ({who})"


class AdjustmentInline(VenueScopedTabularInline):
    model = Adjustment
    fk_name = "tab"
    read_only = True
    view_permission = CHECK_VIEW_PERMISSION
    fields = ["kind", "applies_to", "how_much", "reason", "actor", "approved_by", "removed"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tab__venue", "line", "actor", "approved_by")
            .order_by("id")
        )

    @admin.display(description=_("on"))
    def applies_to(self, obj):
        return str(obj.line) if obj.line_id else gettext("the whole check")

    @admin.display(description=_("how much"))
    def how_much(self, obj):
        if obj.percent is not None:
            return f"{obj.percent.normalize():f}%"
        return money_text(obj.amount, obj.tab.venue)

    @admin.display(description=_("removed"))
    def removed(self, obj):
        return venue_time(obj.removed_at, obj.tab.venue) if obj.removed_at else ""


class CheckAuditInline(VenueScopedTabularInline):
    model = CheckAudit
    fk_name = "tab"
    read_only = True
    view_permission = CHECK_VIEW_PERMISSION
    fields = ["when", "action", "actor", "approved_by", "line", "reason", "data"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "actor", "approved_by", "line")
            .order_by("id")
        )

    @admin.display(description=_("when"))
    def when(self, obj):
        return venue_time(obj.created_at, obj.venue)


@admin.register(Check)
class CheckAdmin(VenueScopedAdmin):
    read_only = True
    view_permission = CHECK_VIEW_PERMISSION
    inlines = [OrderLineInline, AdjustmentInline, CheckAuditInline]
    list_display = [
        "number",
        "label_text",
        "kind",
        "status",
        "server",
        "guest_count",
        "opened",
        "closed",
        "total",
        "paid",
        "venue",
    ]
    list_display_links = ["number", "label_text"]
    list_filter = [("venue", RelatedOnly), "status", "kind", ("server", RelatedOnly)]
    search_fields = ["tab_name", "table__name", "server__display_name", "note"]
    date_hierarchy = "opened_at"
    fieldsets = [
        (None, {"fields": ["venue", "number", "kind", "status", "table", "tab_name"]}),
        (None, {"fields": ["server", "guest_count", "note", "opened", "closed", "version"]}),
        (_("Totals"), {"fields": ["totals", "paid"]}),
    ]
    readonly_fields = [
        "venue",
        "number",
        "kind",
        "status",
        "table",
        "tab_name",
        "server",
        "guest_count",
        "note",
        "opened",
        "closed",
        "version",
        "totals",
        "paid",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("venue", "server", "table")
            .prefetch_related("lines__modifiers", "lines__adjustments", "adjustments")
        )

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().lstrip("#")
        if number.isdigit():  # "12" or "#12" also finds check number 12
            results |= queryset.filter(number=int(number))
        return results, may_have_duplicates

    def _totals(self, obj):
        return totals_for(obj)

    @admin.display(description=_("check"))
    def label_text(self, obj):
        return obj.label

    @admin.display(description=_("opened"), ordering="opened_at")
    def opened(self, obj):
        return venue_time(obj.opened_at, obj.venue)

    @admin.display(description=_("closed"), ordering="closed_at")
    def closed(self, obj):
        return venue_time(obj.closed_at, obj.venue)

    @admin.display(description=_("total"))
    def total(self, obj):
        return show_money(self._totals(obj).total, obj.venue)

    @admin.display(description=_("paid"), ordering="paid_amount")
    def paid(self, obj):
        """What succeeded payments put toward the check, without tips (kept on the check by
        payments/services.py; the payments themselves are listed below, see payments/admin.py)."""
        return show_money(obj.paid_amount, obj.venue)

    @admin.display(description=_("totals"))
    def totals(self, obj):
        totals = self._totals(obj)
        venue = obj.venue
        rows = []
        if totals.discount:
            rows.append((gettext("Items"), show_money(totals.before_discounts, venue)))
            rows.append((gettext("Comps and discounts"), show_money(-totals.discount, venue)))
        rows.append((gettext("Subtotal"), show_money(totals.subtotal, venue)))
        for tax in totals.taxes:
            label = gettext("Tax %(code)s (%(rate)s%%) on %(base)s") % {
                "code": tax.code,
                "rate": f"{tax.rate.normalize():f}",
                "base": money_text(tax.base, venue),
            }
            rows.append((label, show_money(tax.tax, venue)))
        rows.append((gettext("Total"), show_money(totals.total, venue)))
        return money_table(rows, "check-totals")


@admin.register(CheckAudit)
class CheckAuditAdmin(VenueScopedAdmin):
    read_only = True
    view_permission = CHECK_VIEW_PERMISSION
    list_display = ["when", "check_link", "action", "actor", "approved_by", "reason", "venue"]
    list_filter = [("venue", RelatedOnly), "action", ("actor", RelatedOnly)]
    list_select_related = ["venue", "tab", "actor", "approved_by"]
    search_fields = ["action", "reason", "tab__tab_name", "actor__display_name"]
    date_hierarchy = "created_at"
    fields = [
        "venue",
        "when",
        "check_link",
        "line",
        "action",
        "actor",
        "approved_by",
        "reason",
        "data",
    ]
    readonly_fields = fields

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, obj):
        return venue_time(obj.created_at, obj.venue)

    @admin.display(description=_("check"), ordering="tab__number")
    def check_link(self, obj):
        url = reverse("admin:orders_check_change", args=[obj.tab_id])
        return format_html('<a href="{}">{}</a>', url, obj.tab)
