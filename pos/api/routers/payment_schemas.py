"""Request and response shapes of the bill, payment, card and drawer operations.

Responses declare exactly the keys pos/api/serialize.py produces (`Out` refuses any other).
Money is an integer in minor units of the bill's `currency`; percents and rates are decimal
strings in answers; times are ISO 8601 strings. Request bounds are the ones the services
check (payments/services.py `MAX_CASH`, restaurant/text.py lengths), stated here so that the
document says them; a rule that depends on data (a part already paid, a drawer that is not
open) stays with the services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from payments.services import MAX_CASH
from pos.api.routers.auth import StaffRef
from pos.api.routers.check_schemas import CheckOut, TaxLine, Time
from pos.api.schemas import (
    Bool,
    In,
    Int,
    Money,
    Out,
    Text,
    bounded_int,
    bounded_text,
    decimal_number,
)
from restaurant.jsonio import MAX_INT
from restaurant.text import REASON_MAX_LENGTH

DecimalText = str  # "12.5"


MONEY_TEXT = "Minor units of the venue's currency (cents), at most 100,000.00."
Amount = bounded_int(1, MAX_CASH, MONEY_TEXT)
AmountOrZero = bounded_int(0, MAX_CASH, MONEY_TEXT)
Ref = bounded_int(1, MAX_INT, "An id.")
CheckVersion = bounded_int(
    1,
    MAX_INT,
    "The check version the client last saw; a stale one is refused with 409 `stale_version`.",
)
ApproverPinText = bounded_text(
    64, "A manager's PIN approving the action (or the X-Approver-PIN header)."
)


PERCENT_TEXT = 'A percent from 0 to 100, as a number or a decimal string ("12.5").'
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100),
    BeforeValidator(decimal_number),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 100},
                {"type": "string", "pattern": r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$"},
            ],
            "description": PERCENT_TEXT,
        }
    ),
]
Note = bounded_text(200, "At most 200 characters.")
Reason = bounded_text(REASON_MAX_LENGTH, "Why (required; at most 200 characters, not only spaces).")


# --- answers -------------------------------------------------------------------------------------


class PaymentOut(Out):
    id: int
    check: int
    part: int
    method: str = Field(description="cash | card")
    status: str = Field(description="pending | succeeded | failed | canceled")
    amount: Money = Field(description="Paid toward the part (exact).")
    tip: Money
    tip_percent: DecimalText | None
    rounding: Money = Field(description="Cash rounding: collected - amount - tip.")
    collected: Money = Field(description="amount + tip + rounding.")
    tendered: Money | None
    change: Money
    card_brand: str
    card_last4: str
    channel: str = Field(description='"" (cash) | reader | tap_to_pay')
    reader: int | None
    tip_on_reader: bool
    stripe_payment_intent: str | None
    attempts: int
    failure_code: str
    failure_message: str = Field(description="Why the last try failed (declined...).")
    refunded: Money
    refundable: Money = Field(description="What a refund can still give back (card payments).")
    server: int | None = Field(description="The check's server, to whom the tip goes.")
    taken_by: int | None
    drawer_session: int | None
    created_at: Time | None


class TipOption(Out):
    percent: int
    amount: Money = Field(description="The tip at this percent, on the venue's tip basis.")


class PartShare(Out):
    line: int
    numerator: int
    denominator: int


class BillPartOut(Out):
    id: int
    position: int
    label: str
    kind: str = Field(description="even | lines | amount")
    status: str = Field(description="open | paid")
    fixed_amount: Money | None
    total: Money
    tax: Money
    taxes: list[TaxLine]
    discount: Money
    service_charge: Money
    paid: Money
    tips: Money
    balance: Money
    half: Money = Field(description="Half the balance, rounded up: the first of two payments.")
    cash_due: Money = Field(description="The balance rounded to the venue's cash step.")
    cash_rounding: Money = Field(description="cash_due - balance (what cash rounding adds).")
    tip_basis: Money
    tip_options: list[TipOption] = Field(
        description="Each preset tip for paying the balance, with its amount."
    )
    shares: list[PartShare]
    payments: list[PaymentOut]


class TipBasisRule(Out):
    before_tax: bool
    before_discount: bool


class Unassigned(Out):
    total: Money
    taxes: list[TaxLine]


class BillOut(Out):
    check: int
    number: int
    status: str
    version: int
    currency: str
    total: Money
    tax: Money
    taxes: list[TaxLine]
    service_charge: Money
    paid: Money
    tips: Money
    balance: Money
    left_to_split: Money = Field(
        description="What a new split shares out: the total less the parts it keeps (paid, "
        "partly paid, or being paid by card)."
    )
    cash_rounding: int = Field(description="Cash is rounded to this step (5 = 5 cents).")
    tip_presets: list[int]
    tip_basis: TipBasisRule
    parts: list[BillPartOut]
    unassigned: Unassigned = Field(
        description="What no part covers yet (lines added after a split by item)."
    )
    settled: bool


class BillOnly(Out):
    bill: BillOut


class BillAndCheck(Out):
    bill: BillOut
    check: CheckOut


class PaymentAnswer(Out):
    payment: PaymentOut
    bill: BillOut
    check: CheckOut


class CardAnswer(Out):
    payment: PaymentOut
    client_secret: str | None = Field(
        None,
        description="tap_to_pay: for the Terminal SDK on the phone to collect and confirm the "
        "PaymentIntent (null while another request is still creating it: start again). Only "
        "in the answer that starts a Tap to Pay payment.",
    )
    bill: BillOut
    check: CheckOut


class CashQuoteOut(Out):
    part: int
    amount: Money = Field(description="Toward the part.")
    tip: Money
    tip_percent: DecimalText | None
    tip_options: list[TipOption] = Field(description="The preset tips for paying `amount`.")
    due: Money = Field(description="amount + tip, exact.")
    rounding: Money = Field(description="What the venue's cash rounding adds to `due`.")
    cash_due: Money = Field(description="What the guest hands over at least (due + rounding).")
    tendered: Money = Field(description="Cash handed over (default: exactly cash_due).")
    change: Money = Field(description="tendered - cash_due, when tendered is enough; else 0.")
    short: Money = Field(description="cash_due - tendered, when tendered is not enough; else 0.")
    tender_options: list[Money] = Field(
        description="Likely notes to be handed over: cash_due, then the next round amounts."
    )


class PreviewPart(Out):
    label: str
    total: Money


class SplitPreviewOut(Out):
    left_to_split: Money = Field(description="What the split shares out.")
    parts: list[PreviewPart] = Field(description="The parts the split would make, to the cent.")
    unassigned: Money = Field(description="What no part would cover (lines left out).")


class ReceiptOut(Out):
    id: int
    kind: str
    part: int | None
    email: str
    reprint: bool


class ReceiptAnswer(Out):
    receipt: ReceiptOut


class RefundOut(Out):
    id: int
    amount: Money
    status: str
    stripe_id: str | None


class RefundAnswer(Out):
    refund: RefundOut
    payment: PaymentOut


class ReaderOut(Out):
    id: int
    label: str
    device_type: str
    stripe_id: str


class ReadersOut(Out):
    readers: list[ReaderOut]


class ConnectionTokenOut(Out):
    secret: str
    location: str


class LocationRef(Out):
    id: str
    display_name: str


class LocationOut(Out):
    location: LocationRef


class DrawerRef(Out):
    id: int
    name: str


class DrawerReport(Out):
    float: Money
    cash_sales: Money
    cash_tips: Money
    rounding: Money
    pay_in: Money
    pay_out: Money
    payments: int
    expected: Money


class DrawerSessionOut(Out):
    id: int
    drawer: DrawerRef
    status: str = Field(description="open | closed")
    opened_by: StaffRef | None
    opened_at: Time | None
    opening_float: Money
    closed_by: StaffRef | None
    closed_at: Time | None
    expected: Money | None
    counted: Money | None
    denominations: dict[str, int] | None
    variance: Money | None = Field(description="counted - expected: negative is short.")
    note: str
    report: DrawerReport | None = Field(
        None, description="For drawer managers: what should be in the drawer."
    )


class SessionOnly(Out):
    session: DrawerSessionOut


class DrawerRow(Out):
    id: int
    name: str
    session: DrawerSessionOut | None


class DrawersOut(Out):
    drawers: list[DrawerRow]
    may_manage: bool


class CountLine(Out):
    value: Money
    count: int
    amount: Money = Field(description="value x count")


class CountOut(Out):
    counted: Money = Field(description="The count's total: what closing with it records.")
    lines: list[CountLine] = Field(description="Each value counted (not 0), largest first.")


class CountIn(In):
    denominations: dict[str, Any] = Field(
        description='value in minor units -> how many, such as {"5000": 2, "200": 7}.'
    )


class MovementOut(Out):
    id: int
    kind: str
    amount: Money
    reason: str


class MovementAnswer(Out):
    movement: MovementOut
    session: DrawerSessionOut


# --- requests ------------------------------------------------------------------------------------


class SplitIn(In):
    mode: Text = Field(description="whole | even | seat | items | amounts")
    ways: Int | None = Field(None, description="even: into how many parts (2 to 50).")
    groups: list[Any] | None = Field(
        None,
        max_length=500,
        description="seat: seat groups such as [[1, 2], [3], [4]]; omit for one part per "
        "seat. Shared lines (seat 0) are shared equally.",
    )
    parts: list[Any] | None = Field(
        None, max_length=500, description="items: what each part pays ({label, lines})."
    )
    amounts: list[Any] | None = Field(
        None, max_length=500, description="amounts: fixed parts; the rest is one more part."
    )
    version: CheckVersion | None = None


class PartSplitIn(In):
    ways: Int = Field(description="Into how many parts (2 to 50).")
    version: CheckVersion | None = None


class CashIn(In):
    part: Ref | None = Field(
        None,
        description="Omit when the bill has one open part or is not split (the whole check).",
    )
    method: Text = Field(description="cash (card payments go through POST .../card-payments).")
    amount: Amount | None = Field(
        None,
        description="Toward the part; omit for its balance. More than the balance is refused "
        "(`overpayment`).",
    )
    tip: AmountOrZero | None = None
    tip_percent: Percent | None = Field(
        None, description="Of this payment's share of the part's tip basis."
    )
    tendered: AmountOrZero | None = Field(
        None, description="Cash handed over; default: exactly what is due after rounding."
    )
    drawer_session: Ref | None = Field(None, description="When several drawers are open.")
    version: CheckVersion | None = None


class CashQuoteIn(In):
    amount: Amount | None = Field(None, description="Toward the part; default: its balance.")
    tip: AmountOrZero | None = None
    tip_percent: Percent | None = None
    tendered: AmountOrZero | None = Field(None, description="Default: exactly the cash due.")


class VersionIn(In):
    version: CheckVersion | None = None


class ReopenIn(In):
    reason: Reason
    approver_pin: ApproverPinText | None = None


class ReceiptIn(In):
    part: Ref | None = Field(None, description="Omit for the whole check.")
    kind: Text = Field(description="print | email | none")
    email: Text | None = Field(
        None, description="For kind email (required there); checked when given."
    )
    reprint: Bool | None = None


class CardIn(In):
    part: Ref | None = Field(None, description="Omit when the bill has one open part.")
    channel: Text | None = Field(None, description="reader (default) | tap_to_pay")
    reader: Ref | None = Field(None, description="reader: which one (GET /readers).")
    amount: Amount | None = Field(None, description="Toward the part; default: its balance.")
    tip: AmountOrZero | None = Field(
        None,
        description="Chosen on the tablet: in the amount charged, the reader skips its tip screen.",
    )
    tip_percent: Percent | None = None
    tip_on_reader: Bool | None = Field(
        None,
        description="The guest picks the tip on the reader (its suggestions use the venue's "
        "tip basis).",
    )
    version: CheckVersion | None = None


class RefundIn(In):
    amount: Amount | None = Field(None, description="Default: all that is left.")
    reason: Reason | None = None
    approver_pin: ApproverPinText | None = None


class DrawerOpenIn(In):
    opening_float: AmountOrZero


class MovementIn(In):
    kind: Text = Field(description="pay_in | pay_out")
    amount: Amount
    reason: Reason


class DrawerCloseIn(In):
    counted: AmountOrZero | None = None
    denominations: dict[str, Any] | None = Field(
        None,
        description='value in minor units -> how many, such as {"5000": 2, "200": 7}: values '
        "1 to 99,999,999, at most 100,000 of each, at most 50 values.",
    )
    note: Note | None = None
