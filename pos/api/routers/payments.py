"""Bills: split, pay in cash (with the cash quote a cashier reads first), close, reopen,
receipts, refunds; and the cash drawers.

Thin views over payments/services.py; every bill write answers with the bill and the check as
they are after the write. Every amount a person sees is computed here, on the server
(payments/selectors.py and restaurant/money.py): the tablet only shows them.
"""

from django.utils.translation import gettext as _
from ninja import Router, Status

from orders import services as order_services
from payments import card, receipts
from payments import selectors as pay_selectors
from payments import services as pay_services
from payments.models import Drawer, DrawerSession, Payment
from pos.api import serialize
from pos.api.core import STAFF, Caller, not_found, write
from pos.api.routers.checks import _check, _check_body, _may_see
from pos.api.routers.payment_schemas import (
    BillAndCheck,
    BillOnly,
    CashIn,
    CashQuoteIn,
    CashQuoteOut,
    CountIn,
    CountOut,
    DrawerCloseIn,
    DrawerOpenIn,
    DrawersOut,
    MovementAnswer,
    MovementIn,
    PartSplitIn,
    PaymentAnswer,
    ReceiptAnswer,
    ReceiptIn,
    RefundAnswer,
    RefundIn,
    ReopenIn,
    SessionOnly,
    SplitIn,
    SplitPreviewOut,
    VersionIn,
)
from pos.api.schemas import responses
from restaurant import permissions
from restaurant.errors import ValidationFailed
from restaurant.queries import one

router = Router(tags=["bills"])

CHECK = "checks/{api_id:check_id}"


def bill_body(caller: Caller, check_id: int) -> dict:
    return serialize.bill_json(pay_selectors.bill_of(check_id=check_id, venue=caller.venue))


def bill_answer(caller: Caller, check_id: int, **extra) -> dict:
    return {**extra, "bill": bill_body(caller, check_id), "check": _check_body(caller, check_id)}


@router.get(f"{CHECK}/bill", auth=STAFF, response=responses({200: BillOnly}))
def bill(request, check_id: int):
    """The bill: every part to the cent, what is paid and left, each part's preset tips with
    their amounts and its balance as cash after the venue's rounding."""
    caller = request.auth
    tab = _check(caller, check_id)
    _may_see(caller, tab)
    return {"bill": bill_body(caller, tab.pk)}


@router.post(f"{CHECK}/bill/split", auth=STAFF, response=responses({200: BillAndCheck}))
@write()
def bill_split(request, check_id: int, body: SplitIn):
    """Split what is not paid yet: whole, even, by seat, by items (fractions) or by amounts.
    Parts that have payments stay as they are; all other open parts are replaced. Errors:
    `unknown_line`, `bad_fraction`, `line_overassigned`, `amounts_exceed_total`, `no_seats`,
    `seat_twice`, `stale_version`."""
    caller = request.auth
    tab = _check(caller, check_id)
    pay_services.bill_split(
        tab=tab,
        actor=caller.staff,
        mode=body.mode,
        ways=body.ways,
        groups=body.groups,
        parts=body.parts,
        amounts=body.amounts,
        expected_version=body.version,
    )
    return bill_answer(caller, tab.pk)


@router.post(f"{CHECK}/bill/split-preview", auth=STAFF, response=responses({200: SplitPreviewOut}))
def bill_split_preview(request, check_id: int, body: SplitIn):
    """What POST .../bill/split with this body would make, without splitting: each new part
    with its total to the cent. The split dialogs show it while the split is being set up;
    nothing is stored."""
    caller = request.auth
    tab = _check(caller, check_id)
    _may_see(caller, tab)
    return pay_services.split_preview(
        tab=tab,
        actor=caller.staff,
        mode=body.mode,
        ways=body.ways,
        groups=body.groups,
        parts=body.parts,
        amounts=body.amounts,
    )


@router.post(
    f"{CHECK}/bill/parts/{{api_id:part_id}}/split",
    auth=STAFF,
    response=responses({200: BillAndCheck}),
)
@write()
def part_split(request, check_id: int, part_id: int, body: PartSplitIn):
    """Split one unpaid part again (a seat pays in two halves)."""
    caller = request.auth
    tab = _check(caller, check_id)
    pay_services.part_split(
        tab=tab,
        actor=caller.staff,
        part_id=part_id,
        ways=body.ways,
        expected_version=body.version,
    )
    return bill_answer(caller, tab.pk)


@router.post(
    f"{CHECK}/bill/parts/{{api_id:part_id}}/cash-quote",
    auth=STAFF,
    response=responses({200: CashQuoteOut}),
)
def cash_quote(request, check_id: int, part_id: int, body: CashQuoteIn):
    """What a cash payment of a part comes to, before it is taken: the tip (a preset percent
    or an amount), the cash due after the venue's rounding, and the change for what the guest
    hands over. Nothing is stored; the payment itself computes the same amounts again."""
    caller = request.auth
    tab = _check(caller, check_id)
    _may_see(caller, tab)
    return pay_services.cash_quote(
        tab=tab,
        actor=caller.staff,
        part_id=part_id,
        amount=body.amount,
        tip=body.tip,
        tip_percent=body.tip_percent,
        tendered=body.tendered,
    )


@router.post(f"{CHECK}/payments", auth=STAFF, response=responses({201: PaymentAnswer}))
@write()
def payment_create(request, check_id: int, body: CashIn):
    """Take a cash payment for a part (or the whole check). A fully paid check closes and its
    table frees up. Errors: `overpayment`, `part_paid`, `part_required`, `tendered_short`,
    `no_open_drawer`, `drawer_required`, `tip_too_large`, `check_not_open`, `stale_version`."""
    caller = request.auth
    tab = _check(caller, check_id)
    if body.method != Payment.Method.CASH:
        raise ValidationFailed(
            _("Payments here are taken in cash; card payments go through the reader."),
            code="bad_method",
            field="method",
        )
    payment = pay_services.payment_cash(
        tab=tab,
        actor=caller.staff,
        part_id=body.part,
        amount=body.amount,
        tip=body.tip,
        tip_percent=body.tip_percent,
        tendered=body.tendered,
        drawer_session_id=body.drawer_session,
        expected_version=body.version,
    )
    return Status(201, bill_answer(caller, tab.pk, payment=serialize.payment_json(payment)))


@router.post(f"{CHECK}/close", auth=STAFF, response=responses({200: BillAndCheck}))
@write()
def bill_close(request, check_id: int, body: VersionIn):
    """Close a check that owes nothing (all comped)."""
    caller = request.auth
    tab = _check(caller, check_id)
    pay_services.bill_close(tab=tab, actor=caller.staff, expected_version=body.version)
    return bill_answer(caller, tab.pk)


@router.post(f"{CHECK}/reopen", auth=STAFF, response=responses({200: BillAndCheck}))
@write(approval="check.reopen", field_map={"approver": "approver_pin"})
def reopen(request, check_id: int, body: ReopenIn):
    """Reopen a closed check (a manager's PIN approves)."""
    caller = request.auth
    tab = _check(caller, check_id)
    order_services.check_reopen(
        tab=tab, actor=caller.staff, approver=caller.approver, reason=body.reason
    )
    return bill_answer(caller, tab.pk)


@router.post(f"{CHECK}/receipts", auth=STAFF, response=responses({201: ReceiptAnswer}))
@write()
def receipt_create(request, check_id: int, body: ReceiptIn):
    """Give a receipt: print, email or none (also for closed checks: reprint)."""
    caller = request.auth
    tab = _check(caller, check_id)
    receipt = receipts.receipt_give(
        tab=tab,
        actor=caller.staff,
        part_id=body.part,
        kind=body.kind,
        email=body.email or "",
        reprint=bool(body.reprint),
    )
    return Status(
        201,
        {
            "receipt": {
                "id": receipt.pk,
                "kind": receipt.kind,
                "part": receipt.part_id,
                "email": receipt.email,
                "reprint": receipt.reprint,
            }
        },
    )


@router.post(
    "payments/{api_id:payment_id}/refunds", auth=STAFF, response=responses({201: RefundAnswer})
)
@write(atomic=False, approval="discount.approve", field_map={"approver": "approver_pin"})
def payment_refund(request, payment_id: int, body: RefundIn):
    """Refund a captured card payment, fully or partly (a manager's PIN approves)."""
    from pos.api.routers.cards import payment_of

    caller = request.auth
    payment = payment_of(caller, payment_id)
    refund = card.payment_refund(
        payment=payment,
        actor=caller.staff,
        amount=body.amount,
        reason=body.reason or "",
        approver=caller.approver,
    )
    return Status(
        201,
        {
            "refund": {
                "id": refund.pk,
                "amount": refund.amount,
                "status": refund.status,
                "stripe_id": refund.stripe_id,
            },
            "payment": serialize.payment_json(Payment.objects.get(pk=payment.pk)),
        },
    )


# --- drawers -------------------------------------------------------------------------------------


def _drawer(caller: Caller, drawer_id: int) -> Drawer:
    drawer = one(Drawer.objects.filter(pk=drawer_id, venue=caller.venue))
    if drawer is None:
        raise not_found(_("cash drawer"))
    return drawer


def _session(caller: Caller, session_id: int) -> DrawerSession:
    session = one(
        DrawerSession.objects.select_related("drawer", "opened_by", "closed_by").filter(
            pk=session_id, venue=caller.venue
        )
    )
    if session is None:
        raise not_found(_("drawer session"))
    return session


def _session_body(session: DrawerSession) -> dict:
    session = DrawerSession.objects.select_related("drawer", "opened_by", "closed_by").get(
        pk=session.pk
    )
    return serialize.drawer_session_json(session, pay_selectors.drawer_expected(session))


@router.get("drawers", auth=STAFF, response=responses({200: DrawersOut}), tags=["drawers"])
def drawers(request):
    """Cash drawers and their open sessions (with what is expected in them, for managers)."""
    caller = request.auth
    permissions.require(caller.staff, "payment.take")  # who takes cash sees the drawers
    open_by_drawer = {s.drawer_id: s for s in pay_selectors.open_drawer_sessions(caller.venue)}
    may_manage = permissions.staff_can(caller.staff, "drawer.manage")
    rows = []
    for drawer in Drawer.objects.filter(venue=caller.venue, is_active=True).order_by("name"):
        session = open_by_drawer.get(drawer.pk)
        body = None
        if session is not None:
            body = _session_body(session) if may_manage else serialize.drawer_session_json(session)
        rows.append({"id": drawer.pk, "name": drawer.name, "session": body})
    return {"drawers": rows, "may_manage": may_manage}


@router.post(
    "drawers/{api_id:drawer_id}/open",
    auth=STAFF,
    response=responses({201: SessionOnly}),
    tags=["drawers"],
)
@write()
def drawer_open(request, drawer_id: int, body: DrawerOpenIn):
    """Open a drawer with the counted float."""
    caller = request.auth
    drawer = _drawer(caller, drawer_id)
    session = pay_services.drawer_open(
        drawer=drawer, actor=caller.staff, opening_float=body.opening_float
    )
    return Status(201, {"session": _session_body(session)})


@router.get(
    "drawer-sessions/{api_id:session_id}",
    auth=STAFF,
    response=responses({200: SessionOnly}),
    tags=["drawers"],
)
def drawer_session(request, session_id: int):
    """A drawer session with what is expected in it."""
    caller = request.auth
    permissions.require(caller.staff, "drawer.manage")
    return {"session": _session_body(_session(caller, session_id))}


@router.post(
    "drawer-sessions/{api_id:session_id}/movements",
    auth=STAFF,
    response=responses({201: MovementAnswer}),
    tags=["drawers"],
)
@write()
def drawer_movement(request, session_id: int, body: MovementIn):
    """Pay cash in or out of the drawer, with the reason."""
    caller = request.auth
    session = _session(caller, session_id)
    movement = pay_services.drawer_movement_add(
        session=session,
        actor=caller.staff,
        kind=body.kind,
        amount=body.amount,
        reason=body.reason,
    )
    return Status(
        201,
        {
            "movement": {
                "id": movement.pk,
                "kind": movement.kind,
                "amount": movement.amount,
                "reason": movement.reason,
            },
            "session": _session_body(session),
        },
    )


@router.post(
    "drawer-sessions/{api_id:session_id}/count",
    auth=STAFF,
    response=responses({200: CountOut}),
    tags=["drawers"],
)
def drawer_count(request, session_id: int, body: CountIn):
    """What a count by denomination adds up to (shown while counting, before closing with
    it); nothing is stored. Errors as for closing: `denominations` invalid,
    `count_too_large`."""
    caller = request.auth
    session = _session(caller, session_id)
    return pay_services.drawer_count(
        session=session, actor=caller.staff, denominations=body.denominations
    )


@router.post(
    "drawer-sessions/{api_id:session_id}/close",
    auth=STAFF,
    response=responses({200: SessionOnly}),
    tags=["drawers"],
)
@write()
def drawer_close(request, session_id: int, body: DrawerCloseIn):
    """Close the drawer with the count; the variance is recorded. Errors: `drawer_closed`
    (closed already), `count_mismatch`, `count_required`, `count_too_large`."""
    caller = request.auth
    session = _session(caller, session_id)
    session = pay_services.drawer_close(
        session=session,
        actor=caller.staff,
        counted=body.counted,
        denominations=body.denominations,
        note=body.note or "",
    )
    return {"session": _session_body(session)}
