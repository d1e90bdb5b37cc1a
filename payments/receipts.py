"""Receipts: what a guest gets for a paid part (or the whole check), printed or emailed.

`receipt_document` reads a check's bill (payments.selectors.bill_for) into a `ReceiptDoc`, a
plain value with every amount the receipt shows, all taken from the bill: the check's totals
for the whole check, the part's frozen or computed `PartAmounts` for a part. Nothing here
computes money except the display of a by-item part's lines, whose share of the part is laid
out over its lines by restaurant.money.allocate so the lines add up to the part exactly.

`receipt_escpos` draws a doc for a receipt printer (CP858 by default: € and accents),
`receipt_email_parts` renders it for mail (templates/payments/receipt_email.txt and .html).
Both go through `receipt_sections`, so the paper and the mail say the same thing.

Services: `receipt_give` (print, email, or record that the guest wanted none) and
`drawer_kick` (queue the pulse that opens a cash drawer on its receipt printer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.utils import formataddr, parseaddr
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from escpos.constants import CD_KICK_2

from kitchen.models import PrintJob
from kitchen.printing import (
    CodePage,
    TicketWriter,
    print_job_queue,
    receipt_printer,
    service_charge_label,
)
from orders import services as order_services
from orders.models import Check, LineModifier, OrderLine
from orders.pricing import CheckTotals, lines_from_rows
from orders.selectors import check_with_lines
from payments.models import BillPart, Drawer, DrawerSession, Payment, Receipt
from payments.selectors import bill_for
from payments.splitting import PartAmounts
from restaurant import permissions
from restaurant.errors import Conflict, NotFound, ValidationFailed
from restaurant.models import StaffMember
from restaurant.money import allocate, format_money

logger = logging.getLogger(__name__)

EMAIL_MAX_LENGTH = 254

# --- The document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptDetail:
    """A row under an item: a chosen modifier (depth 1, 2, ...) or the line's discount."""

    text: str
    amount: int | None = None
    depth: int = 1


@dataclass(frozen=True)
class ReceiptItem:
    text: str  # "2 x Steak frites", "1/3 × Bottle Rioja"
    amount: int  # as priced, before discounts (net when prices exclude tax)
    details: tuple[ReceiptDetail, ...] = ()


@dataclass(frozen=True)
class ReceiptTax:
    code: str
    rate: Decimal
    net: int
    tax: int
    gross: int

    @property
    def rate_text(self) -> str:
        return f"{self.rate.normalize():f}%"


@dataclass(frozen=True)
class ReceiptPayment:
    method: str  # "Cash", "Card"
    amount: int  # toward the bill
    tip: int = 0
    tip_percent: Decimal | None = None
    card: str = ""  # "Visa •••• 4242"
    tendered: int | None = None  # cash only
    change: int = 0
    rounding: int = 0

    @property
    def collected(self) -> int:
        return self.amount + self.tip + self.rounding


@dataclass(frozen=True)
class ReceiptDoc:
    """Everything one receipt shows; amounts in minor units of `currency`."""

    currency: str
    language: str
    venue_name: str
    header: tuple[str, ...]  # the venue's receipt header, or its name and address
    vat_number: str
    check_number: int
    check_label: str
    part_label: str  # "" for the whole check
    server: str
    when: datetime  # in the venue's time zone
    items: tuple[ReceiptItem, ...]
    discount: int  # taken off on top of the items' own discounts (positive)
    discount_label: str
    service_charge: int
    service_charge_label: str
    prices_include_tax: bool
    subtotal: int  # what the items come to after discounts with the service charge, as priced
    tax: int
    check_total: int | None  # set when this receipt is for a share of the check
    total: int  # what this receipt is for
    taxes: tuple[ReceiptTax, ...]
    payments: tuple[ReceiptPayment, ...]
    tips: int
    rounding: int
    paid: int  # what the guest handed over net of change: amounts, tips and rounding
    balance: int  # still to pay on what this receipt is for
    footer: tuple[str, ...] = field(default_factory=tuple)
    check_id: int | None = None
    part_id: int | None = None

    def money(self, amount: int) -> str:
        return format_money(amount, self.currency)

    @property
    def when_text(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:%M")


def _header(venue) -> tuple[str, ...]:
    lines = [line.strip() for line in (venue.receipt_header or "").splitlines() if line.strip()]
    if not lines:
        lines = [venue.name]
    text = "\n".join(lines)
    for line in venue.address_lines():
        if line not in text:
            lines.append(line)
    return tuple(lines)


def _modifier_details(line: OrderLine, currency: str) -> list[ReceiptDetail]:
    """The line's chosen modifiers, nested choices under their parent, with their price."""
    children: dict[int | None, list[LineModifier]] = {}
    for mod in line.modifiers.all():
        children.setdefault(mod.parent_id, []).append(mod)
    rows: list[ReceiptDetail] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for mod in children.get(parent_id, []):
            text = mod.name if mod.quantity == 1 else f"{mod.quantity} x {mod.name}"
            charged = mod.price_delta * mod.charged_quantity
            if charged:
                sign = "+" if charged > 0 else ""
                text = f"{text} {sign}{format_money(charged, currency)}"
            rows.append(ReceiptDetail(text=text, depth=depth))
            walk(mod.pk, depth + 1)

    walk(None, 1)
    return rows


def _share_text(line: OrderLine, fraction: Fraction) -> str:
    units = fraction * line.quantity
    if units.denominator == 1:
        return f"{units.numerator} x {line.name}"
    if line.quantity == 1:
        return f"{fraction.numerator}/{fraction.denominator} × {line.name}"
    return f"{fraction.numerator}/{fraction.denominator} × {line.quantity} x {line.name}"


def _spread(amount: int, weights: list[Fraction], fallback: list[Fraction]) -> list[int]:
    if not amount or not weights:
        return [0] * len(weights)
    if sum(weights) > 0:
        return allocate(amount, weights)
    if sum(fallback) > 0:
        return allocate(amount, fallback)
    return allocate(amount, [1] * len(weights))


def _share_amounts(
    amounts: PartAmounts,
    shares: list[tuple[OrderLine, Fraction]],
    totals: CheckTotals,
    prices_include_tax: bool,
) -> list[int]:
    """What each line share of a by-item part shows, as priced before discounts: the part's
    amount at each rate (plus its discount, less its service charge, spread over the rates by
    the shares' exact parts of them) laid out over the shares at that rate by
    restaurant.money.allocate, so the lines, the discount and the service charge add up to
    the part exactly."""
    line_amounts = {a.key: a for a in totals.amounts}
    priced = {p.key: p for p in lines_from_rows([line for line, _f in shares])}
    rates = [(r.code, Decimal(r.rate)) for r in amounts.taxes]
    at_rate: dict[tuple[str, Decimal], list[int]] = {key: [] for key in rates}
    for i, (line, _f) in enumerate(shares):
        key = (line.tax_code, Decimal(line.tax_rate))
        if key not in at_rate:  # the part has no such rate (cannot happen): show it nowhere
            continue
        at_rate[key].append(i)

    def exact(i: int, what: str) -> Fraction:
        line, fraction = shares[i]
        amount = line_amounts.get(line.pk)
        if what == "gross":
            return fraction * priced[line.pk].unit_total * line.quantity
        return fraction * (getattr(amount, what) if amount is not None else 0)

    gross = [sum((exact(i, "gross") for i in at_rate[k]), Fraction(0)) for k in rates]
    discounts = _spread(
        amounts.discount,
        [sum((exact(i, "discount") for i in at_rate[k]), Fraction(0)) for k in rates],
        gross,
    )
    services = _spread(
        amounts.service_charge,
        [sum((exact(i, "service_charge") for i in at_rate[k]), Fraction(0)) for k in rates],
        gross,
    )
    result = [0] * len(shares)
    for r, (key, rate_part) in enumerate(zip(rates, amounts.taxes, strict=True)):
        as_priced = rate_part.gross if prices_include_tax else rate_part.net
        before = as_priced + discounts[r] - services[r]
        indices = at_rate[key]
        weights = [exact(i, "gross") for i in indices]
        for i, amount in zip(indices, _spread(before, weights, weights), strict=True):
            result[i] = amount
    return result


def _when(tab: Check, part: BillPart | None, payments: list[Payment]) -> datetime:
    moment = None
    if part is not None and part.paid_at:
        moment = part.paid_at
    elif payments:
        moment = max(p.succeeded_at or p.created_at for p in payments)
    elif tab.closed_at:
        moment = tab.closed_at
    return timezone.localtime(moment or timezone.now(), tab.venue.tzinfo)


def _payment(payment: Payment) -> ReceiptPayment:
    card = ""
    if payment.card_brand or payment.card_last4:
        brand = payment.card_brand.title() if payment.card_brand else ""
        last4 = f"•••• {payment.card_last4}" if payment.card_last4 else ""
        card = " ".join(part for part in (brand, last4) if part)
    return ReceiptPayment(
        method=str(payment.get_method_display()),
        amount=payment.amount,
        tip=payment.tip,
        tip_percent=payment.tip_percent,
        card=card,
        tendered=payment.tendered if payment.method == Payment.Method.CASH else None,
        change=payment.change,
        rounding=payment.rounding,
    )


def receipt_document(*, tab: Check, part: BillPart | None = None) -> ReceiptDoc:
    """The receipt for `part` of the check's bill, or for the whole check. Reads only."""
    tab = check_with_lines(check_id=tab.pk, venue=tab.venue)
    venue = tab.venue
    currency = venue.currency
    bill = bill_for(tab)
    view = None
    if part is not None:
        view = bill.part(part.pk)
        if view is None:
            raise ValueError(f"part {part.pk} is not on the bill of check {tab.pk}")
        part = view.part
    with translation.override(venue.language):
        totals = bill.totals
        rows = {line.pk: line for line in tab.lines.all()}
        by_item = bool(part is not None and part.kind == BillPart.Kind.LINES and part.shares.all())
        items: list[ReceiptItem] = []
        if by_item:
            shares = [
                (rows[share.line_id], Fraction(share.numerator, share.denominator))
                for share in part.shares.all()
                if share.line_id in rows
                and (
                    rows[share.line_id].status != OrderLine.Status.VOIDED
                    or part.status == BillPart.Status.PAID
                )
            ]
            spread = _share_amounts(view.amounts, shares, totals, venue.prices_include_tax)
            for (line, fraction), amount in zip(shares, spread, strict=True):
                items.append(
                    ReceiptItem(
                        text=_share_text(line, fraction),
                        amount=amount,
                        details=tuple(_modifier_details(line, currency)),
                    )
                )
            amounts = view.amounts
            discount, discount_label = amounts.discount, _("Discount")
        else:
            line_amounts = {a.key: a for a in totals.amounts}
            for line in tab.lines.all():
                amount = line_amounts.get(line.pk)
                if line.status == OrderLine.Status.VOIDED or amount is None:
                    continue
                details = _modifier_details(line, currency)
                if amount.line_discount:
                    details.append(ReceiptDetail(_("Discount"), -amount.line_discount))
                items.append(
                    ReceiptItem(
                        text=f"{line.quantity} x {line.name}",
                        amount=amount.gross,
                        details=tuple(details),
                    )
                )
            discount = totals.discount - sum(a.line_discount for a in totals.amounts)
            discount_label = _("Check discount")

        if view is not None and (by_item or view.amounts.total != totals.total):
            # A share: its own VAT, service charge, total and payments.
            amounts = view.amounts
            taxes = tuple(
                ReceiptTax(r.code, Decimal(r.rate), r.net, r.tax, r.gross)
                for r in amounts.taxes
                if r.gross or r.tax
            )
            if by_item:  # only its lines: its own service charge, subtotal and tax
                service_charge, tax, check_total = amounts.service_charge, amounts.tax, None
                subtotal = amounts.total if venue.prices_include_tax else amounts.net
            else:  # every line of the check, then its share
                service_charge, tax, check_total = (
                    totals.service_charge,
                    totals.tax,
                    totals.total,
                )
                subtotal = totals.subtotal
            total = amounts.total
            payments = [p for p in view.payments if p.status == Payment.Status.SUCCEEDED]
            balance = view.balance
        else:
            taxes = tuple(
                ReceiptTax(t.code, Decimal(t.rate), t.net, t.tax, t.gross)
                for t in totals.taxes
                if t.gross or t.tax
            )
            service_charge = totals.service_charge
            subtotal, tax, check_total, total = totals.subtotal, totals.tax, None, totals.total
            if view is not None:
                payments = [p for p in view.payments if p.status == Payment.Status.SUCCEEDED]
                balance = view.balance
            else:
                payments = list(
                    Payment.objects.filter(tab=tab, status=Payment.Status.SUCCEEDED).order_by("pk")
                )
                balance = bill.balance
        receipt_payments = tuple(_payment(p) for p in payments)
        return ReceiptDoc(
            currency=currency,
            language=venue.language,
            venue_name=venue.name,
            header=_header(venue),
            vat_number=venue.vat_number,
            check_number=tab.number,
            check_label=str(tab.label),
            part_label=(part.label or str(part.position)) if part is not None else "",
            server=tab.server.display_name,
            when=_when(tab, part, payments),
            items=tuple(items),
            discount=discount,
            discount_label=discount_label,
            service_charge=service_charge,
            service_charge_label=service_charge_label(tab),
            prices_include_tax=venue.prices_include_tax,
            subtotal=subtotal,
            tax=tax,
            check_total=check_total,
            total=total,
            taxes=taxes,
            payments=receipt_payments,
            tips=sum(p.tip for p in receipt_payments),
            rounding=sum(p.rounding for p in receipt_payments),
            paid=sum(p.collected for p in receipt_payments),
            balance=balance,
            footer=tuple(
                line.strip() for line in (venue.receipt_footer or "").splitlines() if line.strip()
            ),
            check_id=tab.pk,
            part_id=part.pk if part is not None else None,
        )


# --- What the paper and the mail show ---------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    amount: str = ""
    strong: bool = False
    depth: int = 0


def receipt_sections(doc: ReceiptDoc) -> dict:
    """The receipt as labelled rows with formatted amounts, in the doc's language (call it
    inside translation.override(doc.language)): what both the printout and the mail show."""
    money = doc.money
    items = [
        {
            "text": item.text,
            "amount": money(item.amount),
            "details": [
                Row(d.text, money(d.amount) if d.amount is not None else "", depth=d.depth)
                for d in item.details
            ],
        }
        for item in doc.items
    ]
    adjustments = []
    if doc.discount:
        adjustments.append(Row(doc.discount_label, money(-doc.discount)))
    if doc.service_charge:
        adjustments.append(Row(doc.service_charge_label, money(doc.service_charge)))
    summary = []
    if not doc.prices_include_tax:
        summary.append(Row(_("Subtotal"), money(doc.subtotal)))
        summary.append(Row(_("Tax"), money(doc.tax)))
    if doc.check_total is not None:
        summary.append(Row(_("Check total"), money(doc.check_total)))
        summary.append(Row(_("Your share"), money(doc.total)))
    total = Row(_("TOTAL"), money(doc.total), strong=True)
    taxes = [
        {
            "label": f"{t.code} {t.rate_text}".strip(),
            "net": money(t.net),
            "tax": money(t.tax),
            "gross": money(t.gross),
        }
        for t in doc.taxes
    ]
    payments = []
    for p in doc.payments:
        details = []
        if p.tip:
            label = _("Tip")
            if p.tip_percent is not None:
                label = _("Tip %(percent)s%%") % {"percent": f"{p.tip_percent.normalize():f}"}
            details.append(Row(label, money(p.tip), depth=1))
        if p.tendered is not None:
            details.append(Row(_("Tendered"), money(p.tendered), depth=1))
            details.append(Row(_("Change"), money(p.change), depth=1))
        label = f"{p.method} {p.card}".strip()
        payments.append({"row": Row(label, money(p.amount)), "details": details})
    settlement = []
    if doc.payments:
        if doc.tips:
            settlement.append(Row(_("Tips"), money(doc.tips)))
        if doc.rounding:
            settlement.append(Row(_("Rounding"), money(doc.rounding)))
        settlement.append(Row(_("Paid"), money(doc.paid), strong=True))
    if doc.balance:
        settlement.append(Row(_("Still to pay"), money(doc.balance), strong=True))
    return {
        "header": list(doc.header),
        "vat_number": _("VAT number %(n)s") % {"n": doc.vat_number} if doc.vat_number else "",
        "title": _("RECEIPT"),
        "check": _("Check #%(n)s") % {"n": doc.check_number},
        "check_label": doc.check_label,
        "part_label": doc.part_label,
        "server": _("Server: %(name)s") % {"name": doc.server},
        "when": doc.when_text,
        "items": items,
        "adjustments": adjustments,
        "summary": summary,
        "total": total,
        "tax_heading": {
            "label": _("VAT"),
            "net": _("Net"),
            "tax": _("VAT"),
            "gross": _("Total"),
        },
        "taxes": taxes,
        "payments": payments,
        "settlement": settlement,
        "footer": list(doc.footer),
    }


def _tax_table(out: TicketWriter, sections: dict) -> None:
    heading, taxes = sections["tax_heading"], sections["taxes"]
    cells = [heading, *taxes]
    cell = max(len(c[k]) for c in cells for k in ("net", "tax", "gross")) + 1
    label = out.width - 3 * cell
    if label < max(len(c["label"]) for c in cells) + 1:
        # Narrow paper: one row per rate ("VAT 21% over € 9.83" ... "€ 2.07").
        for t in taxes:
            out.columns(f"{heading['label']} {t['label']}", "")
            out.columns("  " + heading["net"] + " " + t["net"], t["tax"])
        return

    def row(c: dict) -> str:
        return (
            c["label"].ljust(label)
            + c["net"].rjust(cell)
            + c["tax"].rjust(cell)
            + c["gross"].rjust(cell)
        )

    out.line(row(heading), bold=True)
    for t in taxes:
        out.line(row(t))


def receipt_escpos(doc: ReceiptDoc, *, page: CodePage, width: int, reprint: bool = False) -> bytes:
    """The ESC/POS bytes of a receipt for a printer with `page` and `width` characters."""
    with translation.override(doc.language):
        s = receipt_sections(doc)
        out = TicketWriter(page=page, width=width)
        for i, line in enumerate(s["header"]):
            out.line(line, bold=i == 0, align="center")
        if s["vat_number"]:
            out.line(s["vat_number"], align="center")
        out.feed()
        out.line(" " + s["title"] + " ", big=True, bold=True, invert=True, align="center")
        if reprint:
            out.line(" " + _("REPRINT") + " ", big=True, bold=True, invert=True, align="center")
            out.line(
                _("Copy printed %(time)s")
                % {
                    "time": timezone.localtime(timezone.now(), doc.when.tzinfo).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                },
                align="center",
            )
        out.feed()
        out.columns(s["check_label"], f"#{doc.check_number}", bold=True)
        if s["part_label"]:
            out.line(s["part_label"], bold=True)
        out.columns(s["server"], s["when"])
        out.rule()
        for item in s["items"]:
            out.columns(item["text"], item["amount"])
            for d in item["details"]:
                out.columns("  " * d.depth + d.label, d.amount)
        for row in s["adjustments"]:
            out.columns(row.label, row.amount)
        out.rule()
        for row in s["summary"]:
            out.columns(row.label, row.amount)
        out.columns(s["total"].label, s["total"].amount, bold=True, tall=True)
        out.feed()
        if s["taxes"]:
            _tax_table(out, s)
            out.feed()
        if s["payments"] or s["settlement"]:
            out.rule()
            for p in s["payments"]:
                out.columns(p["row"].label, p["row"].amount)
                for d in p["details"]:
                    out.columns("  " * d.depth + d.label, d.amount)
            for row in s["settlement"]:
                out.columns(row.label, row.amount, bold=row.strong)
            out.rule()
        if s["footer"]:
            out.feed()
            for line in s["footer"]:
                out.line(line, align="center")
        return out.cut()


def receipt_email_parts(doc: ReceiptDoc) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the receipt mail."""
    with translation.override(doc.language):
        context = receipt_sections(doc)
        context["doc"] = doc
        subject = _("Your receipt from %(venue)s (check #%(n)s)") % {
            "venue": doc.venue_name,
            "n": doc.check_number,
        }
        context["subject"] = subject
        text = render_to_string("payments/receipt_email.txt", context)
        html = render_to_string("payments/receipt_email.html", context)
    return subject, text, html


# --- Services ---------------------------------------------------------------------------------


def _bill_part(tab: Check, part_id) -> BillPart | None:
    if part_id is None:
        return None
    if isinstance(part_id, bool) or not isinstance(part_id, int):
        raise ValidationFailed(_("Choose which part of the bill."), field="part")
    part = (
        BillPart.objects.filter(pk=part_id, tab=tab)
        .exclude(status=BillPart.Status.REPLACED)
        .first()
    )
    if part is None:
        raise NotFound(_("No such part on this check's bill."), field="part")
    return part


def _email_address(email) -> str:
    address = email.strip() if isinstance(email, str) else ""
    try:
        if not address or len(address) > EMAIL_MAX_LENGTH:
            raise ValidationError("bad length")
        validate_email(address)
    except ValidationError as exc:
        raise ValidationFailed(
            _("Enter a valid email address for the receipt."), code="bad_email", field="email"
        ) from exc
    return address


def _send(message: EmailMultiAlternatives, receipt_id: int) -> None:
    """After commit: a mail server that is down loses the mail, not the recorded receipt."""
    try:
        message.send()
    except Exception:
        logger.exception("could not email receipt %s", receipt_id)


@transaction.atomic
def receipt_give(
    *,
    tab: Check,
    actor: StaffMember,
    part_id: int | None = None,
    kind: str,
    email: str = "",
    reprint: bool = False,
) -> Receipt:
    """Give the guest a receipt for a part (or the whole check): printed on the venue's
    receipt printer, emailed (after commit), or none (the choice is recorded). Open and
    closed checks alike; a second print of the same part is marked as a reprint."""
    permissions.require(actor, "payment.take")
    if actor.venue_id != tab.venue_id:
        raise permissions.PermissionDenied(_("You do not work at this venue."))
    tab = Check.objects.select_for_update(no_key=True).select_related("venue").get(pk=tab.pk)
    if kind not in Receipt.Kind.values:
        raise ValidationFailed(
            _("A receipt is printed, emailed or none; not %(kind)s.") % {"kind": kind},
            code="bad_kind",
            field="kind",
        )
    part = _bill_part(tab, part_id)
    # An address given is checked whatever the kind (a bad one is never silently ignored).
    address = _email_address(email) if kind == Receipt.Kind.EMAIL or email else ""
    if kind != Receipt.Kind.EMAIL:
        address = ""
    job = None
    if kind == Receipt.Kind.PRINT:
        printer = receipt_printer(tab.venue_id)
        if printer is None:
            raise Conflict(
                _("This venue has no receipt printer switched on."),
                code="no_receipt_printer",
            )
        reprint = (
            bool(reprint)
            or Receipt.objects.filter(tab=tab, part=part, kind=Receipt.Kind.PRINT).exists()
        )
        doc = receipt_document(tab=tab, part=part)
        job = print_job_queue(
            venue_id=tab.venue_id,
            printer=printer,
            kind=PrintJob.Kind.RECEIPT,
            render=lambda page, width: receipt_escpos(doc, page=page, width=width, reprint=reprint),
        )
    receipt = Receipt.objects.create(
        venue_id=tab.venue_id,
        tab=tab,
        part=part,
        kind=kind,
        email=address,
        reprint=bool(reprint) and kind == Receipt.Kind.PRINT,
        staff=actor,
    )
    if kind == Receipt.Kind.EMAIL:
        doc = receipt_document(tab=tab, part=part)
        subject, text, html = receipt_email_parts(doc)
        _name, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=formataddr((tab.venue.name, sender or settings.DEFAULT_FROM_EMAIL)),
            to=[address],
        )
        message.attach_alternative(html, "text/html")
        transaction.on_commit(lambda: _send(message, receipt.pk))
    order_services.check_audit(
        tab,
        action="receipt",
        actor=actor,
        receipt=receipt.pk,
        kind=kind,
        part=part.pk if part else None,
        reprint=receipt.reprint,
        print_job=job.pk if job else None,
    )
    return receipt


def drawer_pulse() -> bytes:
    """ESC p 0 50 50: a 100 ms pulse on pin 2, which opens a drawer on a receipt printer."""
    return CD_KICK_2


def drawer_kick(*, drawer: Drawer | DrawerSession) -> PrintJob | None:
    """Queue the pulse that opens `drawer` (or a session's drawer) on its receipt printer, in
    the caller's transaction. None when the drawer hangs on no printer or it is switched off
    (a backup printer cannot open this drawer)."""
    if isinstance(drawer, DrawerSession):
        drawer = drawer.drawer
    printer = drawer.printer
    if printer is None or not printer.is_active:
        return None
    return print_job_queue(
        venue_id=drawer.venue_id,
        printer=printer,
        kind=PrintJob.Kind.DRAWER,
        render=lambda page, width: drawer_pulse(),
    )
