"""Two tablets paying the same part at once, on PostgreSQL where row locks are real."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from orders.models import Check
from payments import services as pay_services
from payments.models import Payment
from restaurant.errors import DomainError
from tests.payments.conftest import table_check


def run_at_once(calls) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_six_tablets_paying_one_part_at_once_take_the_money_once(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.steak, 1), (bistro.beer, 2)])
    bill = pay_services.bill_split(tab=tab, actor=bistro.server, mode="seat")
    seat1 = next(v for v in bill.parts if v.part.label == "Seat 1")
    staff = [bistro.server, bistro.server2, bistro.manager] * 2
    outcomes = run_at_once(
        [
            lambda actor=actor: pay_services.payment_cash(
                tab=tab, actor=actor, part_id=seat1.part.pk
            )
            for actor in staff
        ]
    )
    assert sorted(outcomes) == ["ok"] + ["part_paid"] * 5
    assert Payment.objects.filter(part=seat1.part).count() == 1
    tab.refresh_from_db()
    assert tab.paid_amount == 2450


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_paying_the_last_part_twice_at_once_closes_the_check_once(bistro, till):
    tab, _ = table_check(bistro, lines=[(bistro.beer, 1)])
    outcomes = run_at_once([lambda: pay_services.payment_cash(tab=tab, actor=bistro.server)] * 4)
    assert sorted(outcomes) == ["check_not_open"] * 3 + ["ok"]
    tab.refresh_from_db()
    assert tab.status == Check.Status.CLOSED and tab.paid_amount == 450
    assert Payment.objects.count() == 1
