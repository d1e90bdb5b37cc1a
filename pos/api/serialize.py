"""JSON shapes of the API: checks, lines, menus, the floor. Plain JSON types only.

Money is an integer in the currency's minor unit (the check and menu carry `currency`); rates
and percentages are decimal strings ("21", "12.5"); times are ISO 8601 strings. The bodies
are stored as-is for idempotent replays, so nothing here may return a non-JSON value.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from orders.models import Adjustment, Check, LineModifier, OrderLine
from orders.modifiers import MAX_DEPTH, rule_text
from orders.selectors import check_floor_status, totals_for
from restaurant.models import (
    Category,
    Device,
    FloorArea,
    ItemModifierGroup,
    Menu,
    MenuItem,
    Modifier,
    ModifierGroup,
    StaffMember,
    Venue,
)
from restaurant.selectors import menu_is_available


def decimal_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


def when(value) -> str | None:
    return value.isoformat() if value else None


def staff_ref(staff: StaffMember | None) -> dict | None:
    if staff is None:
        return None
    return {"id": staff.pk, "name": staff.display_name, "role": staff.role}


def device_json(device: Device) -> dict:
    return {
        "id": device.pk,
        "name": device.name,
        "kind": device.kind,
        "venue": {"id": device.venue_id, "name": device.venue.name, "slug": device.venue.slug},
    }


def venue_json(venue: Venue) -> dict:
    return {
        "id": venue.pk,
        "name": venue.name,
        "slug": venue.slug,
        "currency": venue.currency,
        "timezone": venue.timezone,
        "language": venue.language,
        "prices_include_tax": venue.prices_include_tax,
        "tip_presets": list(venue.tip_presets or []),
    }


# --- checks ------------------------------------------------------------------------------------


def _modifier_tree(rows: list[LineModifier]) -> list[dict]:
    children: dict[int | None, list[LineModifier]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)

    def build(parent_id):
        return [
            {
                "id": row.pk,
                "modifier": row.modifier_id,
                "group": row.group_name,
                "name": row.name,
                "plu": row.plu,
                "price_delta": row.price_delta,
                "quantity": row.quantity,
                "free_quantity": row.free_quantity,
                "charged": row.price_delta * row.charged_quantity,
                "modifiers": build(row.pk),
            }
            for row in children.get(parent_id, [])
        ]

    return build(None)


def adjustment_json(adjustment: Adjustment) -> dict:
    return {
        "id": adjustment.pk,
        "kind": adjustment.kind,
        "line": adjustment.line_id,
        "percent": decimal_text(adjustment.percent),
        "amount": adjustment.amount,
        "reason": adjustment.reason,
        "actor": adjustment.actor_id,
        "approved_by": adjustment.approved_by_id,
        "created_at": when(adjustment.created_at),
    }


def line_json(line: OrderLine, amounts: dict | None = None) -> dict:
    modifiers = list(line.modifiers.all())
    unit_total = line.unit_price + sum(m.price_delta * m.charged_quantity for m in modifiers)
    amount = (amounts or {}).get(line.pk)
    voided = line.status == OrderLine.Status.VOIDED
    total = 0 if voided else unit_total * line.quantity
    discount = amount.line_discount + amount.check_discount if amount is not None else 0
    return {
        "id": line.pk,
        "item": line.menu_item_id,
        "name": line.name,
        "plu": line.plu,
        "quantity": line.quantity,
        "seat": line.seat,
        "course": line.course,
        "note": line.note,
        "status": line.status,
        "rush": line.rush,
        "station": line.station_slug,
        "tax_code": line.tax_code,
        "tax_rate": decimal_text(line.tax_rate),
        "unit_price": line.unit_price,
        "unit_total": unit_total,
        "total": total,
        "voided_total": unit_total * line.quantity if voided else 0,
        "discount": discount,
        "total_after_discounts": total - discount,
        "changed_version": line.changed_version,
        "created_at": when(line.created_at),
        "sent_at": when(line.sent_at),
        "fired_at": when(line.fired_at),
        "ready_at": when(line.ready_at),
        "served_at": when(line.served_at),
        "voided_at": when(line.voided_at),
        "void_reason": line.void_reason,
        "modifiers": _modifier_tree(modifiers),
        "adjustments": [adjustment_json(a) for a in line.adjustments.all() if a.removed_at is None],
    }


def totals_json(tab: Check) -> tuple[dict, dict]:
    """The check's totals, and each line's amounts by line id."""
    totals = totals_for(tab)
    body = {
        "before_discounts": totals.before_discounts,
        "discount": totals.discount,
        "subtotal": totals.subtotal,
        "tax": totals.tax,
        "service_charge": totals.service_charge,
        "total": totals.total,
        "prices_include_tax": totals.prices_include_tax,
        "taxes": [
            {
                "code": t.code,
                "rate": decimal_text(t.rate),
                "net": t.net,
                "tax": t.tax,
                "gross": t.gross,
            }
            for t in totals.taxes
        ],
    }
    return body, {a.key: a for a in totals.amounts}


def check_summary(tab: Check, *, total: int | None = None) -> dict:
    body = {
        "id": tab.pk,
        "number": tab.number,
        "kind": tab.kind,
        "label": tab.label,
        "status": tab.status,
        "version": tab.version,
        "server": staff_ref(tab.server),
        "table": {"id": tab.table_id, "name": tab.table.name} if tab.table_id else None,
        "guest_count": tab.guest_count,
        "tab_name": tab.tab_name,
        "floor_status": check_floor_status(tab),
        "opened_at": when(tab.opened_at),
        "closed_at": when(tab.closed_at),
        "paid_amount": tab.paid_amount,
    }
    if total is not None:
        body["total"] = total
    return body


def check_json(tab: Check, *, seq: int) -> dict:
    """The full check (from orders.selectors.check_with_lines) as the tablet renders it."""
    totals, amounts = totals_json(tab)
    body = check_summary(tab)
    body.update(
        {
            "currency": tab.venue.currency,
            "header_version": tab.header_version,
            "note": tab.note,
            "fired_courses": list(tab.fired_courses or []),
            "prebill_printed_at": when(tab.prebill_printed_at),
            "paying_since": when(tab.paying_since),
            "lines": [line_json(line, amounts) for line in tab.lines.all()],
            "adjustments": [
                adjustment_json(a)
                for a in tab.adjustments.all()
                if a.line_id is None and a.removed_at is None
            ],
            "totals": totals,
            "seq": seq,
        }
    )
    return body


# --- menus -------------------------------------------------------------------------------------


class MenuTree:
    """Loads a venue's menu rows in a handful of queries and renders them as JSON."""

    def __init__(self, venue: Venue, menus: list[Menu]):
        self.venue = venue
        self.menus = menus
        menu_ids = [m.pk for m in menus]
        self.categories_by_menu: dict[int, list[Category]] = defaultdict(list)
        for category in Category.objects.filter(menu_id__in=menu_ids).order_by(
            "sort_order", "name", "pk"
        ):
            self.categories_by_menu[category.menu_id].append(category)
        self.items_by_category: dict[int, list[MenuItem]] = defaultdict(list)
        items = (
            MenuItem.objects.filter(venue=venue, is_active=True, category__menu_id__in=menu_ids)
            .select_related("tax_rate", "station", "category__default_station")
            .order_by("sort_order", "name", "pk")
        )
        for item in items:
            self.items_by_category[item.category_id].append(item)
        self.groups_by_item: dict[int, list[int]] = defaultdict(list)
        for item_id, group_id in (
            ItemModifierGroup.objects.filter(
                item__venue=venue, item__category__menu_id__in=menu_ids
            )
            .order_by("item_id", "sort_order", "pk")
            .values_list("item_id", "group_id")
        ):
            self.groups_by_item[item_id].append(group_id)
        self.groups = {g.pk: g for g in ModifierGroup.objects.filter(venue=venue)}
        self.modifiers_by_group: dict[int, list[Modifier]] = defaultdict(list)
        for mod in Modifier.objects.filter(group__venue=venue).order_by(
            "group_id", "sort_order", "name", "pk"
        ):
            self.modifiers_by_group[mod.group_id].append(mod)

    def group_json(self, group_id: int, depth: int = 1) -> dict | None:
        group = self.groups.get(group_id)
        if group is None or depth > MAX_DEPTH:
            return None
        return {
            "id": group.pk,
            "code": group.code,
            "name": group.name,
            "min": group.min_choices,
            "max": group.max_choices,
            "free": group.free_choices,
            "max_per_modifier": group.max_per_modifier,
            "required": group.is_required,
            "rule": rule_text(group),
            "modifiers": [
                {
                    "id": mod.pk,
                    "name": mod.name,
                    "plu": mod.plu,
                    "price_delta": mod.price_delta,
                    "available": mod.is_available,
                    "default": mod.is_default,
                    "group": (
                        self.group_json(mod.nested_group_id, depth + 1)
                        if mod.nested_group_id
                        else None
                    ),
                }
                for mod in self.modifiers_by_group.get(group.pk, [])
            ],
        }

    def item_json(self, item: MenuItem) -> dict:
        station = item.effective_station
        return {
            "id": item.pk,
            "name": item.name,
            "description": item.description,
            "plu": item.plu,
            "price": item.price,
            "tax_rate": {
                "id": item.tax_rate_id,
                "code": item.tax_rate.code,
                "rate": decimal_text(item.tax_rate.rate),
            },
            "available": item.is_available and item.stock_count != 0,
            "stock_count": item.stock_count,
            "default_course": item.default_course,
            "prep_minutes": item.prep_minutes,
            "station": station.slug if station else None,
            "modifier_groups": [
                g for g in (self.group_json(gid) for gid in self.groups_by_item[item.pk]) if g
            ],
        }

    def menu_json(self, menu: Menu, *, at=None) -> dict:
        return {
            "id": menu.pk,
            "name": menu.name,
            "available_now": menu_is_available(menu, at),
            "windows": [
                {
                    "weekdays": list(w.weekdays),
                    "starts_at": w.starts_at.strftime("%H:%M"),
                    "ends_at": w.ends_at.strftime("%H:%M"),
                }
                for w in menu.windows.all()
            ],
            "categories": [
                {
                    "id": category.pk,
                    "name": category.name,
                    "color": category.color,
                    "items": [self.item_json(i) for i in self.items_by_category[category.pk]],
                }
                for category in self.categories_by_menu[menu.pk]
            ],
        }

    def as_json(self, *, at=None) -> dict:
        return {
            "currency": self.venue.currency,
            "prices_include_tax": self.venue.prices_include_tax,
            "menus": [self.menu_json(menu, at=at) for menu in self.menus],
        }


# --- floor -------------------------------------------------------------------------------------


def floor_json(venue: Venue, rows: list[dict], *, seq: int, open_tabs: list[Check]) -> dict:
    """The floor plan from orders.selectors.floor: areas, tables, status, open check."""
    by_area: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        table, tab = row["table"], row["check"]
        by_area[table.area_id].append(
            {
                "id": table.pk,
                "name": table.name,
                "seats": table.seats,
                "shape": table.shape,
                "x": table.x,
                "y": table.y,
                "width": table.width,
                "height": table.height,
                "status": row["status"],
                "check": (
                    {
                        "id": tab.pk,
                        "number": tab.number,
                        "server": staff_ref(tab.server),
                        "guest_count": tab.guest_count,
                        "version": tab.version,
                        "opened_at": when(tab.opened_at),
                    }
                    if tab is not None
                    else None
                ),
            }
        )
    return {
        "seq": seq,
        "areas": [
            {"id": area.pk, "name": area.name, "tables": by_area.get(area.pk, [])}
            for area in FloorArea.objects.filter(venue=venue)
        ],
        "tabs": [check_summary(tab) for tab in open_tabs if tab.table_id is None],
    }


# --- bills, payments, drawers ------------------------------------------------------------------


def _rate_parts(taxes) -> list[dict]:
    return [
        {
            "code": t.code,
            "rate": decimal_text(t.rate),
            "net": t.gross - t.tax,
            "tax": t.tax,
            "gross": t.gross,
        }
        for t in taxes
    ]


def payment_json(payment) -> dict:
    from payments.selectors import refundable

    return {
        "id": payment.pk,
        "check": payment.tab_id,
        "part": payment.part_id,
        "method": payment.method,
        "status": payment.status,
        "amount": payment.amount,
        "tip": payment.tip,
        "tip_percent": decimal_text(payment.tip_percent),
        "rounding": payment.rounding,
        "collected": payment.collected,
        "tendered": payment.tendered,
        "change": payment.change,
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
        "channel": payment.channel,
        "reader": payment.reader_id,
        "tip_on_reader": payment.tip_on_reader,
        "stripe_payment_intent": payment.stripe_payment_intent,
        "attempts": payment.attempts,
        "failure_code": payment.failure_code,
        "failure_message": payment.failure_message,
        "refunded": payment.refunded,
        "refundable": refundable(payment),
        "server": payment.server_id,
        "taken_by": payment.taken_by_id,
        "drawer_session": payment.drawer_session_id,
        "created_at": when(payment.created_at),
    }


def bill_json(bill) -> dict:
    """The bill (payments.selectors.Bill): every part to the cent, what is paid and left."""
    from payments.selectors import part_tip_basis, tip_options
    from restaurant.money import round_cash

    tab = bill.tab
    venue = tab.venue
    parts = []
    for view in bill.parts:
        part = view.part
        cash_due = round_cash(view.balance, venue.cash_rounding)
        parts.append(
            {
                "id": part.pk,
                "position": part.position,
                "label": part.label,
                "kind": part.kind,
                "status": part.status,
                "fixed_amount": part.amount,
                "total": view.amounts.total,
                "tax": view.amounts.tax,
                "taxes": _rate_parts(view.amounts.taxes),
                "discount": view.amounts.discount,
                "service_charge": view.amounts.service_charge,
                "paid": view.paid,
                "tips": view.tips,
                "balance": view.balance,
                "half": (view.balance + 1) // 2,
                "cash_due": cash_due,
                "cash_rounding": cash_due - view.balance,
                "tip_basis": part_tip_basis(view, venue),
                "tip_options": tip_options(view, venue) if view.balance else [],
                "shares": [
                    {"line": s.line_id, "numerator": s.numerator, "denominator": s.denominator}
                    for s in part.shares.all()
                ],
                "payments": [payment_json(p) for p in view.payments],
            }
        )
    return {
        "check": tab.pk,
        "number": tab.number,
        "status": tab.status,
        "version": tab.version,
        "currency": venue.currency,
        "total": bill.total,
        "tax": bill.totals.tax,
        "taxes": _rate_parts(bill.totals.taxes),
        "service_charge": bill.totals.service_charge,
        "paid": bill.paid,
        "tips": bill.tips,
        "balance": bill.balance,
        "left_to_split": bill.total - sum(v.amounts.total for v in bill.parts if v.locked),
        "cash_rounding": venue.cash_rounding,
        "tip_presets": list(venue.tip_presets or []),
        "tip_basis": {
            "before_tax": venue.tip_before_tax,
            "before_discount": venue.tip_before_discount,
        },
        "parts": parts,
        "unassigned": {
            "total": bill.unassigned.total,
            "taxes": _rate_parts(bill.unassigned.taxes),
        },
        "settled": bill.settled and bill.unassigned.total == 0,
    }


def drawer_session_json(session, expected: dict | None = None) -> dict:
    body = {
        "id": session.pk,
        "drawer": {"id": session.drawer_id, "name": session.drawer.name},
        "status": session.status,
        "opened_by": staff_ref(session.opened_by),
        "opened_at": when(session.opened_at),
        "opening_float": session.opening_float,
        "closed_by": staff_ref(session.closed_by),
        "closed_at": when(session.closed_at),
        "expected": session.expected,
        "counted": session.counted,
        "denominations": session.denominations,
        "variance": session.variance,
        "note": session.note,
    }
    if expected is not None:
        body["report"] = expected
        if session.expected is None:
            body["expected"] = expected["expected"]
    return body
