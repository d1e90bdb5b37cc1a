"""ESC/POS printing of kitchen tickets: code pages, rendering, and the print-job services.

Rendering
    `ticket_render` draws a ticket on python-escpos's `Dummy` printer and returns the bytes. The
    character table is chosen explicitly: ESC t n with the printer's code page (CP858 = table
    19 on Epson-compatible printers, the one with the euro sign), and every piece of text is
    encoded here with that table, never by escpos's automatic code page guessing. Characters
    the table lacks are transliterated ("—" → "-", "ł" → "l") or printed as "?".

Jobs
    `ticket_print` writes a PrintJob with the rendered bytes in the caller's transaction (the
    send, fire or void that made the ticket), so the job exists exactly when the ticket does.
    `print_job_reprint` makes a new job with the same bytes under a REPRINT banner;
    `print_job_retry` puts a failed job back in the queue. Sending is the print worker's job
    (kitchen/print_worker.py).
"""

from __future__ import annotations

import logging
import textwrap
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from escpos.codepages import CodePages
from escpos.constants import CODEPAGE_CHANGE
from escpos.printer import Dummy

from kitchen.models import PrintJob, Ticket, TicketItem
from orders.models import LineModifier
from orders.selectors import check_with_lines, service_charge_percent, totals_for
from restaurant import permissions
from restaurant.errors import NotFound, PermissionDenied, ValidationFailed
from restaurant.models import Printer
from restaurant.money import format_money
from restaurant.permissions import Actor

logger = logging.getLogger(__name__)

DEFAULT_CODE_PAGE = "CP858"
MIN_WIDTH = 24

# --- Code pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodePage:
    """A single-byte ESC/POS character table: its name, its ESC t number and its 256 chars."""

    name: str
    number: int
    table: str  # 256 characters; "\ufffd" where a byte has no character

    @property
    def select(self) -> bytes:
        """ESC t n: select this character table."""
        return CODEPAGE_CHANGE + bytes([self.number])

    def decode(self, data: bytes) -> str:
        return "".join(self.table[b] for b in data)


# Epson's numbering (escpos-printer-db's default profile): name -> ESC t n.
@cache
def _epson_numbers() -> dict[str, int]:
    profile = Dummy().profile
    return {
        name.upper(): int(number)
        for name, number in profile.get_code_pages().items()
        if name != "Unknown"
    }


def _table(name: str) -> str | None:
    try:
        info = CodePages.get_encoding(name)
    except KeyError:
        return None
    high: list[str] = []
    if "data" in info:
        high = list("".join(info["data"]))
    elif "python_encode" in info:
        for byte in range(128, 256):
            try:
                high.append(bytes([byte]).decode(info["python_encode"]))
            except (UnicodeDecodeError, LookupError):
                high.append("\ufffd")
    if len(high) != 128:
        return None
    return "".join(chr(i) for i in range(128)) + "".join(high)


def _normalise(name: str) -> str:
    name = (name or "").strip().upper().replace(" ", "")
    if name.startswith("PC") and name[2:].isdigit():  # PC858 is how Epson's manuals say it
        name = "CP" + name[2:]
    return name


@cache
def code_page(name: str) -> CodePage:
    """The code page called `name` (CP858, cp1252, PC850, ...); CP858 when unknown."""
    key = _normalise(name)
    number = _epson_numbers().get(key)
    table = _table(key) if number is not None else None
    if number is None or table is None:
        if key != DEFAULT_CODE_PAGE:
            logger.warning("unknown printer code page %r; using %s", name, DEFAULT_CODE_PAGE)
        return code_page(DEFAULT_CODE_PAGE)
    return CodePage(name=key, number=number, table=table)


def code_page_by_number(number: int) -> CodePage | None:
    """The code page ESC t `number` selects on an Epson-compatible printer, if known."""
    for name, n in _epson_numbers().items():
        if n == number and _table(name) is not None:
            return code_page(name)
    return None


# Stand-ins for characters that are on few or no ESC/POS tables.
_TRANSLITERATE = {
    "—": "-",
    "–": "-",
    "‐": "-",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "…": "...",
    "•": "*",
    "×": "x",
    "\u00a0": " ",
    "\u202f": " ",
}


@cache
def _reverse(page: CodePage) -> dict[str, int]:
    return {char: byte for byte, char in enumerate(page.table) if char != "\ufffd"}


def encode_text(text: str, page: CodePage) -> bytes:
    """`text` as bytes of `page`; what the table lacks is transliterated, else "?"."""
    reverse = _reverse(page)
    out = bytearray()
    for char in text:
        if char in ("\n", "\t"):
            out.append(ord(char))
            continue
        if ord(char) < 32 or ord(char) == 127:
            continue  # no control bytes from user text: they would be printer commands
        if char in reverse:
            out.append(reverse[char])
            continue
        substitute = _TRANSLITERATE.get(char)
        if substitute is None:
            base = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in base if not unicodedata.combining(c))
            substitute = base if base and all(c in reverse for c in base) else "?"
        out.extend(reverse.get(c, ord("?")) for c in substitute)
    return bytes(out)


# --- Drawing on the Dummy printer ------------------------------------------------------------


class TicketWriter:
    """Lines of text with styles on a python-escpos Dummy printer, encoded by us.

    Only style changes are sent (escpos's `set` for each), so the bytes stay short.
    """

    def __init__(self, *, page: CodePage, width: int):
        self.page = page
        self.width = max(width, MIN_WIDTH)
        self.printer = Dummy()
        self.printer.hw("INIT")  # ESC @: a known state (normal size, left, no bold)
        self.printer._raw(page.select)
        self.state = {"size": (False, False), "bold": False, "invert": False, "align": "left"}

    def _write(self, text: str) -> None:
        self.printer._raw(encode_text(text, self.page))

    def style(
        self, *, big: bool = False, tall: bool = False, bold=False, invert=False, align="left"
    ) -> None:
        size = (big, big or tall)
        if size != self.state["size"]:
            if size == (False, False):
                self.printer.set(normal_textsize=True)
            else:
                self.printer.set(double_width=size[0], double_height=size[1])
            self.state["size"] = size
            self.state["bold"] = False  # ESC ! (the size command) also ends bold
        changes = {
            key: value
            for key, value in (("bold", bold), ("invert", invert), ("align", align))
            if self.state[key] != value
        }
        if changes:
            self.printer.set(**changes)
            self.state.update(changes)

    def line(
        self,
        text: str = "",
        *,
        bold: bool = False,
        big: bool = False,
        tall: bool = False,
        invert: bool = False,
        align: str = "left",
        indent: int = 0,
    ) -> None:
        """Print `text`, wrapped to the paper (continuation lines keep the indent)."""
        columns = self.width // 2 if big else self.width
        self.style(big=big, tall=tall, bold=bold, invert=invert, align=align)
        pad = " " * indent
        if len(pad + text) <= columns:
            wrapped = [pad + text]
        else:
            wrapped = textwrap.wrap(
                text,
                width=max(columns, indent + 8),
                initial_indent=pad,
                subsequent_indent=pad + "  ",
                break_long_words=True,
            ) or [""]
        for part in wrapped:
            self._write(part + "\n")

    def columns(self, left: str, right: str, *, bold: bool = False, tall: bool = False) -> None:
        """`left` and `right` on one line, pushed apart (right wins when it does not fit)."""
        if not right:
            self.line(left, bold=bold, tall=tall)
            return
        room = self.width - len(right) - 1
        if len(left) > room:
            self.line(left, bold=bold, tall=tall)
            self.line(right, bold=bold, tall=tall, align="right")
            return
        self.line(left.ljust(room) + " " + right, bold=bold, tall=tall)

    def rule(self, char: str = "-") -> None:
        self.line(char * self.width)

    def feed(self, lines: int = 1) -> None:
        self.style()
        self._write("\n" * lines)

    def cut(self) -> bytes:
        self.style()
        self.printer.cut()  # feeds past the cutter (ESC d 6), then GS V 0
        return self.printer.output

    def output(self) -> bytes:
        """The bytes so far, with the styles back to normal (for banners in front of a job)."""
        self.style()
        return self.printer.output


# --- What goes on a ticket -------------------------------------------------------------------

KIND_OF_TICKET = {
    Ticket.Kind.ORDER: PrintJob.Kind.ORDER,
    Ticket.Kind.ADDITION: PrintJob.Kind.ADDITION,
    Ticket.Kind.VOID: PrintJob.Kind.VOID,
}


def _kind_title(kind: str) -> str:
    return {
        PrintJob.Kind.ORDER: _("ORDER"),
        PrintJob.Kind.ADDITION: _("ADDITION"),
        PrintJob.Kind.VOID: _("VOID"),
        PrintJob.Kind.FIRE: _("FIRE"),
        PrintJob.Kind.CHIT: _("READY"),
    }[kind]


def _local(moment, venue) -> str:
    return timezone.localtime(moment, venue.tzinfo).strftime("%Y-%m-%d %H:%M")


def _items_for(ticket: Ticket, item_ids: Iterable[int] | None) -> list[TicketItem]:
    items = (
        TicketItem.objects.filter(ticket=ticket)
        .select_related("line")
        .prefetch_related(
            Prefetch("line__modifiers", queryset=LineModifier.objects.order_by("sort_order", "id"))
        )
    )
    if item_ids is not None:
        items = items.filter(pk__in=list(item_ids))
    return sorted(items, key=lambda i: (i.course, i.held, i.line.seat, i.pk))


def _modifier_rows(item: TicketItem) -> list[tuple[int, str]]:
    """(depth, text) of the line's chosen modifiers, nested choices under their parent."""
    children: dict[int | None, list[LineModifier]] = defaultdict(list)
    for mod in item.line.modifiers.all():
        children[mod.parent_id].append(mod)
    rows: list[tuple[int, str]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for mod in children.get(parent_id, []):
            rows.append((depth, mod.name if mod.quantity == 1 else f"{mod.quantity} x {mod.name}"))
            walk(mod.pk, depth + 1)

    walk(None, 1)
    return rows


def ticket_render(
    *,
    ticket: Ticket,
    kind: str,
    page: CodePage,
    width: int,
    item_ids: Iterable[int] | None = None,
) -> bytes:
    """The ESC/POS bytes of a kitchen ticket (all its items, or only `item_ids`)."""
    tab = ticket.tab
    venue = tab.venue
    with translation.override(venue.language):
        out = TicketWriter(page=page, width=width)
        out.line(ticket.station.name.upper(), big=True, bold=True, align="center")
        title = _kind_title(kind)
        out.line(
            f" {title} ", big=True, bold=True, invert=kind == PrintJob.Kind.VOID, align="center"
        )
        if ticket.rush and kind != PrintJob.Kind.VOID:
            out.line(" " + _("RUSH") + " ", big=True, bold=True, invert=True, align="center")
        out.feed()
        out.columns(str(tab.label), f"#{tab.number}", bold=True, tall=True)
        out.columns(
            _("Server: %(name)s") % {"name": tab.server.display_name},
            _("Guests: %(n)d") % {"n": tab.guest_count} if tab.guest_count else "",
        )
        sent_by = ticket.sent_by.display_name if ticket.sent_by_id else ""
        when = _local(ticket.created_at or timezone.now(), venue)
        if kind == PrintJob.Kind.FIRE:
            when = _local(timezone.now(), venue)
        by = ""
        if sent_by and sent_by != tab.server.display_name:
            by = _("by %(name)s") % {"name": sent_by}
        out.columns(when, by)
        if tab.note:
            out.line("!! " + tab.note, bold=True)
        out.rule()

        items = _items_for(ticket, item_ids)
        for (course, held), group in _grouped(items):
            if held and kind != PrintJob.Kind.VOID:
                out.line(_("HOLD — course %(n)d") % {"n": course}, bold=True, invert=True)
            else:
                out.line(_("Course %(n)d") % {"n": course}, bold=True)
            for item in group:
                line = item.line
                text = f"{item.quantity} x {line.name}"
                if kind == PrintJob.Kind.VOID:
                    text = _("VOID") + " " + text
                seat = _("S%(n)d") % {"n": line.seat} if line.seat else ""
                out.columns(text, seat, bold=True, tall=True)
                for depth, mod in _modifier_rows(item):
                    out.line(mod, indent=2 * depth)
                if line.note:
                    out.line("!! " + line.note, bold=True, indent=2)
                if kind == PrintJob.Kind.VOID and line.void_reason:
                    out.line(_("Reason: %(reason)s") % {"reason": line.void_reason}, indent=2)
            out.feed()
        out.rule()
        out.line(
            _("Ticket %(ticket)d · send %(batch)d")
            % {"ticket": ticket.pk, "batch": ticket.send_batch},
            align="center",
        )
        return out.cut()


def _grouped(items: list[TicketItem]) -> list[tuple[tuple[int, bool], list[TicketItem]]]:
    groups: dict[tuple[int, bool], list[TicketItem]] = {}
    for item in items:
        groups.setdefault((item.course, item.held), []).append(item)
    return list(groups.items())


def reprint_banner(*, page: CodePage, width: int, venue) -> bytes:
    """The REPRINT banner put in front of a stored payload (which starts with ESC @)."""
    with translation.override(venue.language):
        out = TicketWriter(page=page, width=width)
        out.line(" " + _("REPRINT") + " ", big=True, bold=True, invert=True, align="center")
        out.line(_local(timezone.now(), venue), align="center")
        return out.output()


def reroute_banner(*, page: CodePage, width: int, venue, printer_name: str) -> bytes:
    """A banner for a job printed on a backup: whose ticket it is, so it reaches the cooks."""
    with translation.override(venue.language):
        out = TicketWriter(page=page, width=width)
        out.line(
            _("For %(printer)s (it is not printing)") % {"printer": printer_name},
            bold=True,
            invert=True,
            align="center",
        )
        return out.output()


# --- Where a job goes ------------------------------------------------------------------------


def printer_route(printer: Printer | None, *, skip: Iterable[int] = ()) -> Printer | None:
    """`printer` if it is switched on, else the first active printer down its backup chain.

    Printers in `skip` (already tried) are passed over; a loop of backups ends the search.
    """
    seen = set(skip)
    while printer is not None and printer.pk not in seen:
        if printer.is_active:
            return printer
        seen.add(printer.pk)
        printer = printer.backup
    return None


# --- Services --------------------------------------------------------------------------------


def ticket_print(
    *, ticket: Ticket, kind: str | None = None, items: Iterable[TicketItem] | None = None
) -> PrintJob | None:
    """Queue a ticket (or, for a FIRE chit, some of its items) for its station's printer.

    Runs inside the caller's transaction: the job is committed with the ticket or not at all.
    Returns None when the station does not print tickets.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket_print must run inside the transaction of the ticket")
    station = ticket.station
    prints = station.print_on_bump if kind == PrintJob.Kind.CHIT else station.print_tickets
    if not prints or station.printer_id is None:
        return None
    printer = station.printer
    kind = kind or KIND_OF_TICKET[ticket.kind]
    target = printer_route(printer)
    shape = target or printer
    page = code_page(shape.code_page)
    job = PrintJob(
        venue_id=ticket.venue_id,
        ticket=ticket,
        printer=printer,
        target=target,
        kind=kind,
        code_page=page.name,
    )
    item_ids = None if items is None else [item.pk for item in items]
    try:
        with transaction.atomic():  # a rendering bug must not lose the order: see below
            job.payload = ticket_render(
                ticket=ticket, kind=kind, page=page, width=shape.paper_width, item_ids=item_ids
            )
    except Exception as exc:
        # The ticket still reaches the kitchen screen; the job shows the error in the back
        # office instead of failing the whole send.
        logger.exception("could not render ticket %s for printing", ticket.pk)
        job.payload = b""
        job.status = PrintJob.Status.FAILED
        job.last_error = f"could not render the ticket: {exc}"[:500]
    if target is None and job.status == PrintJob.Status.PENDING:
        job.status = PrintJob.Status.FAILED
        job.last_error = _("%(printer)s and its backups are switched off.") % {"printer": printer}
    job.save()
    return job


def _require(actor: Actor, job: PrintJob) -> None:
    permissions.require(actor, "floor.edit")
    if not permissions.works_at(actor, job.venue_id):
        raise PermissionDenied(_("This print job is of another venue."))


def print_job_original(job: PrintJob) -> PrintJob:
    """The first job of a reroute chain, or the job a reprint was made from."""
    seen = set()
    while job.pk not in seen:
        seen.add(job.pk)
        if job.reprint_of_id:
            job = job.reprint_of
        elif job.rerouted_from_id:
            job = job.rerouted_from
        else:
            break
    return job


@transaction.atomic
def print_job_reprint(*, job: PrintJob, actor: Actor) -> PrintJob:
    """A new job with the same bytes as `job`, under a REPRINT banner, for the same printer.

    Reprinting a reprint or a rerouted job reprints the original once (one banner).
    """
    _require(actor, job)
    if job.kind == PrintJob.Kind.DRAWER:
        raise ValidationFailed(
            _("Opening the cash drawer is not reprinted."), code="not_reprintable"
        )
    original = print_job_original(PrintJob.objects.select_related("venue").get(pk=job.pk))
    payload = bytes(original.payload or b"")
    if not payload:
        raise ValidationFailed(_("This print job has nothing to print."), code="empty_job")
    printer = original.printer or original.target
    target = printer_route(printer)
    if target is None:
        raise NotFound(
            _("No active printer for this job: switch the printer or a backup on."),
            code="no_printer",
        )
    page = code_page(target.code_page)
    banner = reprint_banner(page=page, width=target.paper_width, venue=original.venue)
    return PrintJob.objects.create(
        venue_id=original.venue_id,
        ticket_id=original.ticket_id,
        printer=printer,
        target=target,
        kind=original.kind,
        code_page=original.code_page,
        payload=banner + payload,
        is_reprint=True,
        reprint_of=original,
    )


@transaction.atomic
def print_job_retry(*, job: PrintJob, actor: Actor) -> PrintJob:
    """Put a failed job back in the queue, for its printer (or the first active backup)."""
    _require(actor, job)
    job = PrintJob.objects.select_for_update(no_key=True).get(pk=job.pk)
    if job.status != PrintJob.Status.FAILED:
        raise ValidationFailed(
            _("Only failed print jobs can be retried; this one is %(status)s.")
            % {"status": job.get_status_display()},
            code="not_failed",
        )
    if not job.payload:
        raise ValidationFailed(_("This print job has nothing to print."), code="empty_job")
    target = printer_route(job.printer or job.target)
    if target is None:
        raise NotFound(
            _("No active printer for this job: switch the printer or a backup on."),
            code="no_printer",
        )
    job.target = target
    job.status = PrintJob.Status.PENDING
    job.attempts = 0
    job.next_attempt_at = timezone.now()
    job.claimed_at = None
    job.save(update_fields=["target", "status", "attempts", "next_attempt_at", "claimed_at"])
    return job


# --- The check (pre-bill) for the table -------------------------------------------------------


def receipt_printer(venue_id: int) -> Printer | None:
    return (
        Printer.objects.filter(venue_id=venue_id, role=Printer.Role.RECEIPT, is_active=True)
        .order_by("name")
        .first()
    )


def prebill_render(*, tab, page: CodePage, width: int) -> bytes:
    """The check a server brings to the table before paying: lines, discounts, VAT per rate."""
    tab = check_with_lines(check_id=tab.pk, venue=tab.venue)
    venue = tab.venue

    def money(amount: int) -> str:
        return format_money(amount, venue.currency)

    totals = totals_for(tab)
    with translation.override(venue.language):
        out = TicketWriter(page=page, width=width)
        for header in (venue.receipt_header or venue.name).splitlines():
            out.line(header, bold=True, align="center")
        out.feed()
        out.line(" " + _("CHECK") + " ", big=True, bold=True, invert=True, align="center")
        out.columns(str(tab.label), f"#{tab.number}", bold=True)
        out.columns(
            _("Server: %(name)s") % {"name": tab.server.display_name},
            _("Guests: %(n)d") % {"n": tab.guest_count} if tab.guest_count else "",
        )
        out.line(_local(timezone.now(), venue))
        out.rule()
        amounts = {a.key: a for a in totals.amounts}
        for line in tab.lines.all():
            if line.status == "voided":
                continue
            amount = amounts.get(line.pk)
            out.columns(
                f"{line.quantity} x {line.name}",
                money(amount.gross if amount else 0),
            )
            for mod in line.modifiers.all():
                charged = mod.price_delta * (mod.quantity - mod.free_quantity)
                out.columns("  " + mod.name, money(charged) if charged else "")
            if amount and amount.line_discount:
                out.columns("  " + _("Discount"), money(-amount.line_discount))
        if totals.discount - sum(a.line_discount for a in totals.amounts):
            out.columns(
                _("Check discount"),
                money(-(totals.discount - sum(a.line_discount for a in totals.amounts))),
            )
        if totals.service_charge > 0:
            out.columns(service_charge_label(tab), money(totals.service_charge))
        out.rule()
        out.columns(_("TOTAL"), money(totals.total), bold=True, tall=True)
        out.feed()
        for tax in totals.taxes:
            out.columns(
                _("VAT %(rate)s%% over %(net)s")
                % {"rate": f"{tax.rate.normalize():f}", "net": money(tax.net)},
                money(tax.tax),
            )
        if venue.vat_number:
            out.line(_("VAT number %(n)s") % {"n": venue.vat_number})
        out.feed()
        out.line(_("This is not a receipt."), align="center")
        return out.cut()


def service_charge_label(tab) -> str:
    """The label "Service charge 10%" (the check's own percentage, or the venue's)."""
    percent = service_charge_percent(tab)
    if not percent:
        return _("Service charge")
    return _("Service charge %(percent)s%%") % {"percent": f"{percent.normalize():f}"}


def print_job_queue(
    *, venue_id: int, printer: Printer, kind: str, render: Callable[[CodePage, int], bytes]
) -> PrintJob:
    """Queue a job of `kind` for `printer` in the caller's transaction (so a rolled-back change
    prints nothing). `render(page, width)` draws it for the printer that will print it (the
    printer itself or its first active backup); with none active the job is a visible failure.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("print_job_queue must run inside the transaction of the change")
    target = printer_route(printer)
    shape = target or printer
    page = code_page(shape.code_page)
    job = PrintJob(
        venue_id=venue_id,
        printer=printer,
        target=target,
        kind=kind,
        code_page=page.name,
        payload=render(page, shape.paper_width),
    )
    if target is None:
        job.status = PrintJob.Status.FAILED
        job.last_error = _("%(printer)s and its backups are switched off.") % {"printer": printer}
    job.save()
    return job


def prebill_print(*, tab) -> PrintJob | None:
    """Queue the check for the venue's receipt printer (in the caller's transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("prebill_print must run inside the transaction of the change")
    printer = receipt_printer(tab.venue_id)
    if printer is None:
        return None
    return print_job_queue(
        venue_id=tab.venue_id,
        printer=printer,
        kind=PrintJob.Kind.PREBILL,
        render=lambda page, width: prebill_render(tab=tab, page=page, width=width),
    )
