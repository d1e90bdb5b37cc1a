"""Payment, bill and drawer reads follow the check's rules (issue 19, point 4).

The kitchen role may not see a check, so it sees neither its bill nor its payments (a card
payment answers with the bill and the whole check); drawers, readers and the Terminal
location are for those who take payments. A refused read changes nothing (a card payment's
read may ask Stripe and record what it says: a refused one does not get that far).
"""

import pytest

from payments.models import Drawer, Payment, StripeCall
from payments.services import drawer_open
from restaurant.models import StaffMember
from tests.factories import StaffFactory
from tests.pos.conftest import add_line, open_table, pair_device, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(place, server_api):
    drawer = Drawer.objects.create(venue=place.venue, name="Bar till")
    session = drawer_open(drawer=drawer, actor=place.manager, opening_float=10000)
    check = open_table(server_api, place.table1)
    add_line(server_api, check, place.soup)
    add_line(server_api, check, place.beer)
    response = server_api.post(f"checks/{check['id']}/payments", {"method": "cash", "amount": 500})
    assert response.status_code == 201, response.content
    return check, response.json()["payment"], session


def payment_state(payment_id: int) -> tuple:
    row = Payment.objects.get(pk=payment_id)
    return (row.status, row.amount, row.attempts, row.updated_at, StripeCall.objects.count())


def test_the_kitchen_reads_no_payment_bill_or_drawer(place, paid):
    check, payment, session = paid
    cook = sign_in(pair_device(place.venue, "Kitchen phone"), "4444")
    before = payment_state(payment["id"])
    refused = [
        cook.get(f"card-payments/{payment['id']}"),
        cook.get(f"checks/{check['id']}/bill"),
        cook.get(f"checks/{check['id']}"),
        cook.get("drawers"),
        cook.get(f"drawer-sessions/{session.pk}"),
        cook.get("readers"),
        cook.get("terminal/location"),
        cook.post(f"card-payments/{payment['id']}/retry"),
        cook.post(f"card-payments/{payment['id']}/cancel"),
        cook.post(f"card-payments/{payment['id']}/capture"),
        cook.post(f"payments/{payment['id']}/refunds", {"reason": "x"}),
    ]
    for response in refused:
        assert response.status_code == 403, response.content
        body = response.json()
        assert body["error"]["code"] == "permission_denied"
        assert set(body) == {"error"}  # nothing of the check, bill or payment
    assert payment_state(payment["id"]) == before


def test_those_who_may_see_the_check_read_its_payment(place, paid, server_api):
    check, payment, _session = paid
    other_server = sign_in(pair_device(place.venue, "Lotte's phone"), "3333")
    StaffFactory(venue=place.venue, role=StaffMember.Role.HOST, pin="5555")
    host = sign_in(pair_device(place.venue, "Host stand"), "5555")
    for api in (server_api, other_server, host):
        response = api.get(f"card-payments/{payment['id']}")
        assert response.status_code == 200, response.content
        assert response.json()["check"]["id"] == check["id"]
        assert api.get(f"checks/{check['id']}/bill").status_code == 200
    # The host may see checks but takes no payments: no drawers, readers or location.
    for path in ("drawers", "readers", "terminal/location"):
        assert host.get(path).status_code == 403
    assert server_api.get("drawers").status_code == 200
    assert server_api.get("readers").status_code == 200
