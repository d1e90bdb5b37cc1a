"""Pairing codes and the manager's password on /pos/pair/ cannot be guessed at leisure."""

import pytest
from django.core.cache import cache

from restaurant.models import Device
from restaurant.services import device_create
from tests.actors import SETUP
from tests.pos.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_wrong_pairing_codes_are_throttled(place):
    api = Api()
    for _ in range(5):
        wrong = api.post("auth/pair", {"code": "AAAAAA"})
        assert wrong.status_code == 403  # a refused credential, like a wrong PIN
    device = device_create(venue=place.venue, name="New tablet", actor=SETUP)
    blocked = api.post("auth/pair", {"code": device.pairing_code})
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "throttled"
    device.refresh_from_db()
    assert device.pairing_code and not device.token_digest  # still unpaired


def test_wrong_manager_passwords_on_the_pairing_page_are_throttled(client, place):
    for _ in range(5):
        response = client.post(
            "/pos/pair/", {"username": "nobody", "password": "wrong", "device_name": "T"}
        )
        assert response.status_code == 400
    response = client.post(
        "/pos/pair/", {"username": "nobody", "password": "wrong", "device_name": "T"}
    )
    assert response.status_code == 429
    assert not Device.objects.filter(name="T").exists()
