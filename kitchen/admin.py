"""Kitchen tickets and print jobs in the back office, scoped to the user's venues.

Tickets are read-only (they change on the kitchen screens, through kitchen/services.py). Print
jobs are read-only too, with two actions that go through kitchen/printing.py: Reprint (a new
job with the same content under a REPRINT banner) and Retry (a failed job back in the queue).
Owners and managers see and act on print jobs ("floor.edit": printers are kitchen set-up).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kitchen.models import PrintJob, Ticket, TicketItem
from kitchen.printing import print_job_original, print_job_reprint, print_job_retry
from kitchen.virtual_printer import decode_escpos
from restaurant.admin import (
    RelatedOnly,
    VenueScopedAdmin,
    VenueScopedTabularInline,
    actor_for,
    venue_time,
)
from restaurant.admin_forms import register_venue_lookup
from restaurant.errors import DomainError

register_venue_lookup(TicketItem, "ticket__venue")

TICKET_VIEW_PERMISSION = "reports.view"
PRINT_JOB_PERMISSION = "floor.edit"


# --- Tickets --------------------------------------------------------------------------------


class TicketItemInline(VenueScopedTabularInline):
    model = TicketItem
    fk_name = "ticket"
    read_only = True
    view_permission = TICKET_VIEW_PERMISSION
    fields = ["quantity", "item", "seat", "course", "held", "fired", "status", "voided"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line", "ticket__venue")

    @admin.display(description=_("item"))
    def item(self, obj):
        return obj.line.name

    @admin.display(description=_("seat"))
    def seat(self, obj):
        return obj.line.seat or "-"

    @admin.display(description=_("fired"))
    def fired(self, obj):
        return venue_time(obj.fired_at, obj.ticket.venue) if obj.fired_at else ""


class PrintJobInline(VenueScopedTabularInline):
    model = PrintJob
    fk_name = "ticket"
    read_only = True
    view_permission = PRINT_JOB_PERMISSION
    verbose_name_plural = _("print jobs")
    fields = ["job", "kind", "target", "status", "attempts", "last_error", "printed_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("target").defer("payload").order_by("id")
        )

    @admin.display(description=_("print job"))
    def job(self, obj):
        url = reverse("admin:kitchen_printjob_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


@admin.register(Ticket)
class TicketAdmin(VenueScopedAdmin):
    read_only = True
    view_permission = TICKET_VIEW_PERMISSION
    inlines = [TicketItemInline, PrintJobInline]
    list_display = [
        "created",
        "check_link",
        "station",
        "kind",
        "send_batch",
        "rush",
        "item_count",
        "bumped",
        "venue",
    ]
    list_filter = [("venue", RelatedOnly), ("station", RelatedOnly), "kind", "rush"]
    list_select_related = ["venue", "station", "tab__table"]
    search_fields = ["tab__tab_name", "tab__table__name", "station__name"]
    date_hierarchy = "created_at"
    fields = [
        "venue",
        "check_link",
        "station",
        "kind",
        "send_batch",
        "rush",
        "sent_by",
        "created",
        "bumped",
        "bumped_by",
        "acknowledged_at",
    ]
    readonly_fields = fields

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        # Print jobs only for those who may see them (floor.edit); tickets are reports.view.
        if not self._allowed(request, PRINT_JOB_PERMISSION, obj):
            inlines.remove(PrintJobInline)
        return inlines

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_items=Count("items"))

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().lstrip("#")
        if number.isdigit():  # "#12" finds the tickets of check 12
            results |= queryset.filter(tab__number=int(number))
        return results, may_have_duplicates

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return venue_time(obj.created_at, obj.venue)

    @admin.display(description=_("bumped"), ordering="bumped_at")
    def bumped(self, obj):
        return venue_time(obj.bumped_at, obj.venue) if obj.bumped_at else ""

    @admin.display(description=_("check"), ordering="tab__number")
    def check_link(self, obj):
        url = reverse("admin:orders_check_change", args=[obj.tab_id])
        return format_html('<a href="{}">{}</a>', url, obj.tab)

    @admin.display(description=_("items"), ordering="_items")
    def item_count(self, obj):
        return obj._items


# --- Print jobs -----------------------------------------------------------------------------


@admin.register(PrintJob)
class PrintJobAdmin(VenueScopedAdmin):
    read_only = True
    view_permission = PRINT_JOB_PERMISSION
    list_display = [
        "job",
        "created",
        "kind",
        "ticket_link",
        "printer",
        "target",
        "status",
        "attempts",
        "error",
        "printed",
        "is_reprint",
        "venue",
    ]
    list_filter = [
        ("venue", RelatedOnly),
        "status",
        ("printer", RelatedOnly),
        ("target", RelatedOnly),
        "attempts",
        ("last_error", admin.EmptyFieldListFilter),
        "kind",
        "is_reprint",
    ]
    list_select_related = ["venue", "printer", "target", "ticket__station"]
    search_fields = ["last_error", "ticket__station__name", "ticket__tab__tab_name"]
    date_hierarchy = "created_at"
    actions = ["reprint", "retry"]
    fields = [
        "venue",
        "kind",
        "ticket_link",
        "printer",
        "target",
        "status",
        "attempts",
        "next_attempt",
        "last_error",
        "printed",
        "is_reprint",
        "reprint_of",
        "rerouted_from",
        "rerouted_to",
        "created",
        "preview",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")

    def get_object(self, request, object_id, from_field=None):
        # The change page shows the payload: load it there (and only there).
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.refresh_from_db(fields=["payload"])
        return obj

    def has_reprint_permission(self, request):
        return self._allowed(request, PRINT_JOB_PERMISSION)

    def has_retry_permission(self, request):
        return self._allowed(request, PRINT_JOB_PERMISSION)

    @admin.display(description=_("job"), ordering="id")
    def job(self, obj):
        return f"#{obj.pk}"

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return venue_time(obj.created_at, obj.venue)

    @admin.display(description=_("printed"), ordering="printed_at")
    def printed(self, obj):
        return venue_time(obj.printed_at, obj.venue) if obj.printed_at else ""

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj):
        if obj.status != PrintJob.Status.PENDING:
            return ""
        return venue_time(obj.next_attempt_at, obj.venue)

    @admin.display(description=_("last error"))
    def error(self, obj):
        return Truncator(obj.last_error).chars(60)

    @admin.display(description=_("ticket"))
    def ticket_link(self, obj):
        if obj.ticket_id is None:
            return "-"
        url = reverse("admin:kitchen_ticket_change", args=[obj.ticket_id])
        station = obj.ticket.station.name if obj.ticket else ""
        return format_html('<a href="{}">#{} {}</a>', url, obj.ticket_id, station)

    @admin.display(description=_("rerouted to"))
    def rerouted_to(self, obj):
        reroute = PrintJob.objects.filter(rerouted_from=obj).only("pk").first()
        if reroute is None:
            return "-"
        url = reverse("admin:kitchen_printjob_change", args=[reroute.pk])
        return format_html('<a href="{}">#{}</a>', url, reroute.pk)

    @admin.display(description=_("what it prints"))
    def preview(self, obj):
        if not obj.payload:
            return "-"
        width = obj.target.paper_width if obj.target else 42
        text = decode_escpos(bytes(obj.payload), obj.code_page, width)
        return format_html(
            '<pre style="font-family:monospace;background:#fffef8;color:#111;padding:1em;'
            'border:1px solid #ccc;display:inline-block;margin:0">{}</pre>',
            text,
        )

    # Actions ----------------------------------------------------------------------------

    def _each(self, request, queryset, service) -> int:
        done = 0
        for job in queryset.select_related("venue"):
            try:
                service(job=job, actor=actor_for(request, job.venue_id))
            except DomainError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)
            else:
                done += 1
        return done

    @admin.action(description=_("Reprint (marked REPRINT)"), permissions=["reprint"])
    def reprint(self, request, queryset):
        # A job, its reroutes and its reprints are one piece of paper: reprint it once.
        originals = {print_job_original(job).pk for job in queryset}
        done = self._each(request, PrintJob.objects.filter(pk__in=originals), print_job_reprint)
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d reprint is on its way to the printer.",
                    "%(count)d reprints are on their way to the printer.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Retry failed jobs"), permissions=["retry"])
    def retry(self, request, queryset):
        failed = queryset.filter(status=PrintJob.Status.FAILED)
        skipped = queryset.count() - failed.count()
        done = self._each(request, failed, print_job_retry)
        if skipped:
            self.message_user(
                request,
                gettext("Only failed jobs are retried; %(n)d selected job(s) were left alone.")
                % {"n": skipped},
                messages.WARNING,
            )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d job is queued again.", "%(count)d jobs are queued again.", done)
                % {"count": done},
                messages.SUCCESS,
            )
