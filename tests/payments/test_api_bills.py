"""The bill over /api/v1/: split, pay cash with a tip, receipts choice, close, reopen, drawers.

Clients sign in through the API itself (tests/pos/conftest.py helpers), like the tablet.
"""

from __future__ import annotations

import uuid

from orders.models import Check
from payments.models import BillPart, DrawerSession, Payment
from tests.payments.conftest import table_check
from tests.pos.conftest import pair_device, sign_in, tablet


def key() -> str:
    return str(uuid.uuid4())


def test_split_by_seat_then_pay_each_part_in_cash_over_the_api(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.risotto, 2), (bistro.pasta, 3)])
    api = tablet(bistro.venue, "1111")
    bill = api.get(f"checks/{tab.pk}/bill").json()["bill"]
    assert (bill["total"], bill["balance"], bill["parts"]) == (5347, 5347, [])
    assert bill["unassigned"]["total"] == 5347 and bill["cash_rounding"] == 5
    response = api.post(
        f"checks/{tab.pk}/bill/split",
        {"mode": "seat", "groups": [[1, 2], [3]], "version": bill["version"]},
        key=key(),
    )
    assert response.status_code == 200, response.content
    bill = response.json()["bill"]
    assert [(p["label"], p["total"]) for p in bill["parts"]] == [
        ("Seats 1 + 2", 4400),
        ("Seat 3", 947),
    ]
    seat3 = bill["parts"][1]
    assert seat3["cash_due"] == 945
    assert seat3["tip_options"] == [
        {"percent": 5, "amount": 47},
        {"percent": 10, "amount": 95},
        {"percent": 15, "amount": 142},
    ]
    assert seat3["taxes"] == [{"code": "L", "rate": "9", "net": 869, "tax": 78, "gross": 947}]
    payment_key = key()
    body = {
        "part": seat3["id"],
        "method": "cash",
        "tip_percent": 10,
        "tendered": 2000,
        "version": bill["version"],
    }
    response = api.post(f"checks/{tab.pk}/payments", body, key=payment_key)
    assert response.status_code == 201, response.content
    payment = response.json()["payment"]
    # 9.47 + 0.95 tip = 10.42 -> 10.40 in cash; change 9.60
    assert (payment["amount"], payment["tip"], payment["rounding"]) == (947, 95, -2)
    assert (payment["collected"], payment["change"]) == (1040, 960)
    # the tablet retries the same tap (lost answer): applied once, same answer
    again = api.post(f"checks/{tab.pk}/payments", body, key=payment_key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["payment"]["id"] == payment["id"]
    assert Payment.objects.filter(tab=tab).count() == 1
    bill = response.json()["bill"]
    assert (bill["paid"], bill["balance"], bill["tips"]) == (947, 4400, 95)
    assert response.json()["check"]["floor_status"] == "paying"
    # a stale version is refused: the check changed since the bill was shown
    stale = api.post(
        f"checks/{tab.pk}/payments",
        {"part": bill["parts"][0]["id"], "method": "cash", "version": bill["version"] - 1},
        key=key(),
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    last = api.post(
        f"checks/{tab.pk}/payments",
        {"part": bill["parts"][0]["id"], "method": "cash", "version": bill["version"]},
        key=key(),
    )
    assert last.status_code == 201, last.content
    assert last.json()["check"]["status"] == "closed"
    assert last.json()["bill"]["settled"] is True
    floor = api.get("floor").json()
    table = next(t for a in floor["areas"] for t in a["tables"] if t["name"] == "12")
    assert table["status"] == "free"
    closed = api.get("checks", status="closed").json()["checks"]
    assert [c["id"] for c in closed] == [tab.pk] and closed[0]["paid_amount"] == 5347


def test_overpaying_and_bad_input_are_refused_and_change_nothing(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    api = sign_in(pair_device(bistro.venue), "1111")
    cases = [
        ({"method": "cash", "amount": 451}, 400, "overpayment"),
        ({"method": "cash", "amount": "4.50"}, 400, "invalid_type"),
        ({"method": "cash", "tendered": 100}, 400, "tendered_short"),
        ({"method": "card"}, 400, "bad_method"),
        ({"method": "cash", "tip_percent": "lots"}, 400, "invalid_type"),
        ({"method": "cash", "tip_percent": 120}, 400, "invalid"),
        ({"method": "cash", "part": 999999}, 404, "not_found"),
        ({"method": "cash", "bogus": 1}, 400, "unknown_field"),
    ]
    for body, status, code in cases:
        response = api.post(f"checks/{tab.pk}/payments", body, key=key())
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["code"] == code, (body, response.content)
    assert Payment.objects.count() == 0 and BillPart.objects.count() == 0
    tab.refresh_from_db()
    assert tab.status == Check.Status.OPEN and tab.paid_amount == 0


def test_a_host_cannot_take_payments(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    host = sign_in(pair_device(bistro.venue), "4444")
    response = host.post(f"checks/{tab.pk}/payments", {"method": "cash"}, key=key())
    assert response.status_code == 403
    assert Payment.objects.count() == 0


def test_split_items_with_fractions_and_part_split_over_the_api(bistro, till):
    tab, lines = table_check(bistro, lines=[(bistro.wine, 0), (bistro.pasta, 4)])
    wine, pasta = (str(line.pk) for line in lines)
    api = sign_in(pair_device(bistro.venue), "1111")
    response = api.post(
        f"checks/{tab.pk}/bill/split",
        {
            "mode": "items",
            "parts": [
                {"label": "Anna", "lines": {wine: "1/2"}},
                {"label": "Bram", "lines": {wine: [1, 2], pasta: 1}},
            ],
        },
        key=key(),
    )
    assert response.status_code == 200, response.content
    parts = response.json()["bill"]["parts"]
    assert [(p["label"], p["total"]) for p in parts] == [("Anna", 1800), ("Bram", 2747)]
    bram = parts[1]
    response = api.post(f"checks/{tab.pk}/bill/parts/{bram['id']}/split", {"ways": 2}, key=key())
    assert response.status_code == 200, response.content
    parts = response.json()["bill"]["parts"]
    assert [(p["label"], p["total"]) for p in parts] == [
        ("Anna", 1800),
        ("Bram 1/2", 1374),
        ("Bram 2/2", 1373),
    ]
    bad = api.post(
        f"checks/{tab.pk}/bill/split",
        {"mode": "items", "parts": [{"lines": {wine: "3/2"}}]},
        key=key(),
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_fraction"


def test_reopen_with_a_manager_pin_over_the_api(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    api = tablet(bistro.venue, "1111")
    assert api.post(f"checks/{tab.pk}/payments", {"method": "cash"}, key=key()).status_code == 201
    refused = api.post(f"checks/{tab.pk}/reopen", {"reason": "Forgot dessert"}, key=key())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "approval_required"
    wrong = api.post(
        f"checks/{tab.pk}/reopen",
        {"reason": "Forgot dessert", "approver_pin": "9999"},
        key=key(),
    )
    assert wrong.status_code == 403
    response = api.post(
        f"checks/{tab.pk}/reopen",
        {"reason": "Forgot dessert", "approver_pin": "2222"},
        key=key(),
    )
    assert response.status_code == 200, response.content
    assert response.json()["check"]["status"] == "open"
    assert response.json()["bill"]["paid"] == 450


def test_drawer_open_pay_out_and_close_with_variance_over_the_api(bistro):
    manager = tablet(bistro.venue, "2222")
    drawers = manager.get("drawers").json()
    assert drawers["may_manage"] is True
    assert drawers["drawers"] == [{"id": bistro.drawer.pk, "name": "Bar till", "session": None}]
    response = manager.post(f"drawers/{bistro.drawer.pk}/open", {"opening_float": 15000}, key=key())
    assert response.status_code == 201, response.content
    session = response.json()["session"]
    twice = manager.post(f"drawers/{bistro.drawer.pk}/open", {"opening_float": 0}, key=key())
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "drawer_already_open"
    tab, _ = table_check(bistro, lines=[(bistro.pasta, 1)])
    server = tablet(bistro.venue, "1111")
    paid = server.post(f"checks/{tab.pk}/payments", {"method": "cash"}, key=key())
    assert paid.status_code == 201, paid.content
    assert (
        server.post(f"drawer-sessions/{session['id']}/close", {"counted": 0}, key=key()).status_code
        == 403
    )
    out = manager.post(
        f"drawer-sessions/{session['id']}/movements",
        {"kind": "pay_out", "amount": 500, "reason": "Window cleaner"},
        key=key(),
    )
    assert out.status_code == 201, out.content
    assert out.json()["session"]["report"]["expected"] == 15000 + 945 - 500
    closed = manager.post(
        f"drawer-sessions/{session['id']}/close",
        {"denominations": {"10000": 1, "5000": 1, "200": 2}, "note": "12.40 short? no: 0.45"},
        key=key(),
    )
    assert closed.status_code == 200, closed.content
    body = closed.json()["session"]
    assert (body["expected"], body["counted"], body["variance"]) == (15445, 15400, -45)
    assert body["closed_by"]["id"] == bistro.manager.pk
    again = manager.post(f"drawer-sessions/{session['id']}/close", {"counted": 1}, key=key())
    assert again.status_code == 409 and again.json()["error"]["code"] == "drawer_closed"
    assert DrawerSession.objects.get().variance == -45
