"""Response shapes shared by the check operations: a check, its lines, comps and totals.

Exactly the keys pos/api/serialize.py produces (`Out` refuses any other, so a serializer that
grows a key without its schema fails loudly instead of drifting from the document). Money is
an integer in minor units of the check's `currency`; rates and percents are decimal strings;
times ISO 8601 strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pos.api.routers.auth import StaffRef
from pos.api.schemas import Money, Out

FloorStatus = Literal[
    "free", "seated", "ordered", "food_fired", "food_ready", "check_printed", "paying"
]
Decimal = str  # "21", "12.5"
Time = str  # ISO 8601


class TableRef(Out):
    id: int
    name: str


class Adjustment(Out):
    id: int
    kind: Literal["comp", "discount"]
    line: int | None = Field(description="The line comped or discounted; null: the whole check.")
    percent: Decimal | None
    amount: Money | None
    reason: str
    actor: int | None
    approved_by: int | None
    created_at: Time | None


class LineModifier(Out):
    id: int
    modifier: int | None
    group: str
    name: str
    plu: str
    price_delta: Money
    quantity: int
    free_quantity: int
    charged: Money = Field(description="What it adds to one unit: price_delta x charged units.")
    modifiers: list[LineModifier] = Field(description="Choices of this modifier's nested group.")


class Line(Out):
    id: int
    item: int | None
    name: str
    plu: str
    quantity: int
    seat: int = Field(description="0 = shared")
    course: int
    note: str
    status: Literal["new", "sent", "voided"]
    rush: bool
    station: str
    tax_code: str
    tax_rate: Decimal | None
    unit_price: Money
    unit_total: Money = Field(description="Unit price with modifiers.")
    total: Money = Field(description="unit_total x quantity; 0 when voided.")
    voided_total: Money = Field(description="What a voided line was worth; 0 otherwise.")
    discount: Money
    total_after_discounts: Money
    changed_version: int
    created_at: Time | None
    sent_at: Time | None
    fired_at: Time | None
    ready_at: Time | None
    served_at: Time | None
    voided_at: Time | None
    void_reason: str
    modifiers: list[LineModifier]
    adjustments: list[Adjustment]


class TaxLine(Out):
    code: str
    rate: Decimal | None
    net: Money
    tax: Money
    gross: Money


class Totals(Out):
    before_discounts: Money
    discount: Money
    subtotal: Money
    tax: Money
    service_charge: Money = Field(description="Included in subtotal and total.")
    total: Money
    prices_include_tax: bool
    taxes: list[TaxLine]


class CheckSummary(Out):
    id: int
    number: int
    kind: Literal["table", "bar_tab", "takeaway", "online"]
    label: str
    status: Literal["open", "closed", "voided", "merged"]
    version: int
    server: StaffRef | None
    table: TableRef | None
    guest_count: int
    tab_name: str
    floor_status: FloorStatus
    opened_at: Time | None
    closed_at: Time | None
    paid_amount: Money = Field(description="Paid toward the check so far (no tips).")


class CheckListed(CheckSummary):
    total: Money


class CheckOut(CheckSummary):
    """The full check as the tablet renders it (every check write answers with it)."""

    currency: str
    header_version: int
    note: str
    fired_courses: list[int]
    prebill_printed_at: Time | None
    paying_since: Time | None
    lines: list[Line]
    adjustments: list[Adjustment] = Field(description="Check-level comps and discounts.")
    totals: Totals
    seq: int = Field(
        description="The venue's last event when the check was read. A write's answer carries "
        "the seq from before its own events, which get their numbers at commit and then "
        "arrive on the websocket."
    )


class CheckOnly(Out):
    check: CheckOut


class TicketRef(Out):
    id: int
    station: str
    kind: str
    rush: bool


LineModifier.model_rebuild()
