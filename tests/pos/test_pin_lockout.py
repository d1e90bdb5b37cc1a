"""The PIN lockout (issue 19, points 1 and 2): failures count per venue and per target over a
window, on every device alike; nobody else's success resets them; and parallel approval PINs
are counted and checked one at a time, so at most the limit is ever checked.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.test import Client

from orders.models import OrderLine
from restaurant.models import PinAttempt
from restaurant.services import PIN_FAILURES_BEFORE_LOCKOUT
from tests.pos.conftest import Api, add_line, open_table, pair_device, sign_in, state

pytestmark = pytest.mark.django_db

WRONG = [f"98{n:02d}" for n in range(20)]


def pin(device: Api, value: str, **extra):
    return device.post("auth/pin", {"pin": value, **extra})


def code(response) -> str:
    return response.json()["error"]["code"] if response.status_code >= 400 else "ok"


def test_a_server_cannot_keep_guessing_by_signing_in_between(place):
    """4 wrong PINs, then the server's own, repeated: the 5th wrong PIN locks the venue (before
    the fix, 12 wrong guesses in 3 rounds and no lockout)."""
    device = Api(device=pair_device(place.venue))
    outcomes = []
    guesses = iter(WRONG)
    for _round in range(2):
        for _guess in range(4):
            outcomes.append(code(pin(device, next(guesses))))
        outcomes.append(code(pin(device, "1111")))  # the server's own PIN
    assert outcomes == ["wrong_pin"] * 4 + ["ok"] + ["wrong_pin"] + ["locked_out"] * 4
    # Locked: no guess (nor the right PIN) is even checked, and nothing more is recorded.
    attempts = PinAttempt.objects.count()
    assert code(pin(device, next(guesses))) == "locked_out"
    assert code(pin(device, "2222")) == "locked_out"
    assert PinAttempt.objects.count() == attempts
    assert PinAttempt.objects.filter(success=False).count() == 5


def test_the_lockout_holds_on_every_device_of_the_venue(place):
    first = Api(device=pair_device(place.venue, "Bar tablet"))
    second = Api(device=pair_device(place.venue, "Terrace tablet"))
    for guess in WRONG[:PIN_FAILURES_BEFORE_LOCKOUT]:
        assert code(pin(first, guess)) == "wrong_pin"
    locked = pin(second, WRONG[5])
    assert code(locked) == "locked_out"
    assert locked.json()["error"]["retry_after"] > 0
    assert code(pin(second, "1111")) == "locked_out"
    assert PinAttempt.objects.filter(device__name="Terrace tablet").count() == 0


def test_another_venue_is_not_locked(place):
    from tests.factories import StaffFactory, VenueFactory

    other = VenueFactory(name="Other place")
    StaffFactory(venue=other, pin="1111")
    here = Api(device=pair_device(place.venue))
    there = Api(device=pair_device(other))
    for guess in WRONG[:5]:
        pin(here, guess)
    assert code(pin(here, "1111")) == "locked_out"
    assert code(pin(there, "1111")) == "ok"


def test_failures_expire_after_the_window(place):
    device = Api(device=pair_device(place.venue))
    for guess in WRONG[:5]:
        pin(device, guess)
    assert code(pin(device, "1111")) == "locked_out"
    PinAttempt.objects.update(
        created_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    )
    assert code(pin(device, "1111")) == "ok"


def test_the_wait_grows_with_each_failure_after_the_lockout(place):
    device = Api(device=pair_device(place.venue))
    for guess in WRONG[:5]:
        last = pin(device, guess)
    assert 25 <= last.json()["error"]["retry_after"] <= 30
    # The lock ran out: the next wrong PIN locks for twice as long.
    PinAttempt.objects.update(
        created_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=31)
    )
    again = pin(device, WRONG[5])
    assert code(again) == "wrong_pin"
    assert 55 <= again.json()["error"]["retry_after"] <= 60


def test_a_named_sign_in_counts_against_that_person_on_every_device(place):
    """A phone app that says who signs in: wrong PINs count against that person only, and
    their own success starts their count again; someone else's does not."""
    first = Api(device=pair_device(place.venue, "Phone 1"))
    second = Api(device=pair_device(place.venue, "Phone 2"))
    manager = place.manager.pk
    for guess in WRONG[:4]:
        assert code(pin(first, guess, staff=manager)) == "wrong_pin"
    # The server signs in in between (their own PIN, naming themselves): no reset for the manager.
    assert code(pin(first, "1111", staff=place.server.pk)) == "ok"
    # Someone else's PIN is not the manager's PIN.
    assert code(pin(second, "1111", staff=manager)) == "wrong_pin"
    assert code(pin(second, "2222", staff=manager)) == "locked_out"
    assert code(pin(first, WRONG[5], staff=manager)) == "locked_out"
    # Others, and PINs typed alone, are not locked by the manager's count.
    assert code(pin(second, "3333", staff=place.server2.pk)) == "ok"
    assert code(pin(second, "1111")) == "ok"
    failed = PinAttempt.objects.filter(success=False)
    assert failed.count() == 5 and set(failed.values_list("staff", flat=True)) == {manager}


def test_a_named_sign_in_of_another_venue_is_404(place):
    from tests.factories import StaffFactory, VenueFactory

    stranger = StaffFactory(venue=VenueFactory(name="Elsewhere"), pin="5555")
    device = Api(device=pair_device(place.venue))
    response = pin(device, "5555", staff=stranger.pk)
    assert response.status_code == 404 and response.json()["error"]["field"] == "staff"
    assert not PinAttempt.objects.exists()


# --- approval PINs ---------------------------------------------------------------------------


@pytest.fixture
def sent_soup(place, server_api):
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    sent = server_api.post(f"checks/{check['id']}/send").json()
    return sent["check"], line


def void(api: Api, check, line, approver_pin: str):
    return api.post(
        f"checks/{check['id']}/lines/{line['id']}/void",
        {"reason": "guest left", "approver_pin": approver_pin},
    )


def test_approval_guesses_and_sign_ins_share_the_venues_count(place, sent_soup):
    """A server guesses the manager's approval PIN, signing in again in between: locked."""
    check, line = sent_soup
    token = pair_device(place.venue, "Server tablet")
    before = state(check["id"])
    outcomes = []
    for guess in WRONG[:4]:
        outcomes.append(code(void(sign_in(token, "1111"), check, line, guess)))
    server = sign_in(token, "1111")  # the server's own PIN in between resets nothing
    outcomes.append(code(void(server, check, line, WRONG[4])))
    outcomes.append(code(void(server, check, line, "2222")))  # even the right one now
    assert outcomes == ["bad_approval_pin"] * 5 + ["locked_out"]
    assert code(pin(Api(device=pair_device(place.venue)), "1111")) == "locked_out"
    assert state(check["id"]) == before
    assert OrderLine.objects.get(pk=line["id"]).status == "sent"
    failed = PinAttempt.objects.filter(success=False)
    assert set(failed.values_list("purpose", flat=True)) == {"approval"}
    assert set(failed.values_list("requested_by", flat=True)) == {place.server.pk}


def test_a_pin_of_someone_who_may_not_approve_counts_as_a_failure(place, sent_soup):
    check, line = sent_soup
    server = sign_in(pair_device(place.venue), "1111")
    before = state(check["id"])
    response = void(server, check, line, "3333")  # another server's PIN
    assert code(response) == "permission_denied"
    assert PinAttempt.objects.filter(purpose="approval", success=False).count() == 1
    assert state(check["id"]) == before


def test_the_approval_pin_may_come_in_a_header(place, sent_soup):
    check, line = sent_soup
    server = sign_in(pair_device(place.venue), "1111")
    response = server.post(
        f"checks/{check['id']}/lines/{line['id']}/void",
        {"reason": "guest left"},
        headers={"X-Approver-PIN": "2222"},
    )
    assert response.status_code == 200, response.content
    row = OrderLine.objects.get(pk=line["id"])
    assert row.status == "voided" and row.void_approved_by == place.manager


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_approval_guesses_check_at_most_the_limit(place):
    """15 voids at once, each with a guessed approver_pin: only 5 PINs are ever compared."""
    server_api = sign_in(pair_device(place.venue, "Server phone"), "1111")
    check = open_table(server_api, place.table1)
    line = add_line(server_api, check, place.soup)["line"]
    check = server_api.post(f"checks/{check['id']}/send").json()["check"]
    PinAttempt.objects.all().delete()
    before = state(check["id"])
    barrier = threading.Barrier(15)
    outcomes: list[str] = []

    def guess(n: int):
        try:
            api = Api(Client(), token=server_api.token)
            barrier.wait()
            outcomes.append(code(void(api, check, line, f"{9000 + n}")))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["bad_approval_pin"] * 5 + ["locked_out"] * 10
    assert PinAttempt.objects.count() == 5
    assert state(check["id"]) == before
    assert OrderLine.objects.get(pk=line["id"]).status == "sent"
