"""Pairing, PIN sign-in, lockout, staff tokens, sessions and CSRF on /api/v1/."""

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore

from orders.models import Check
from restaurant.models import Device, PinAttempt
from restaurant.services import PIN_FAILURES_BEFORE_LOCKOUT, device_create, device_revoke
from tests.actors import SETUP
from tests.pos.conftest import Api, pair_device, sign_in, tablet

pytestmark = pytest.mark.django_db


def test_pairing_hands_out_the_device_token_once(place):
    device = device_create(venue=place.venue, name="Bar tablet", actor=SETUP)
    response = Api().post("auth/pair", {"code": device.pairing_code.lower()})
    assert response.status_code == 200
    body = response.json()
    assert body["device"] == {
        "id": device.pk,
        "name": "Bar tablet",
        "kind": "tablet",
        "venue": {"id": place.venue.pk, "name": "Brasserie", "slug": place.venue.slug},
    }
    device.refresh_from_db()
    assert device.paired_at is not None and device.pairing_code == ""
    assert len(body["token"]) > 30
    # The code is spent: pairing again with it is refused, and nothing changes.
    again = Api().post("auth/pair", {"code": "ABCDEF"})
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "bad_pairing_code"
    assert again.json()["error"]["field"] == "code"


def test_pin_sign_in_returns_a_staff_token_that_works(place):
    token = pair_device(place.venue)
    response = Api(device=token).post("auth/pin", {"pin": "1111"})
    assert response.status_code == 200
    body = response.json()
    assert body["staff"] == {
        "id": place.server.pk,
        "name": place.server.display_name,
        "role": "server",
    }
    assert body["token_type"] == "Bearer" and body["expires_in"] == 12 * 3600
    attempt = PinAttempt.objects.get()
    assert attempt.success and attempt.staff == place.server

    me = Api(token=body["token"]).get("me")
    assert me.status_code == 200
    assert me.json()["staff"]["id"] == place.server.pk
    assert me.json()["venue"]["currency"] == "EUR"
    assert "check.order" in me.json()["permissions"]
    assert "line.void_approve" not in me.json()["permissions"]


def test_no_device_is_401_and_changes_nothing(place):
    response = Api().get("me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "device_not_paired",
            "message": "This device is not paired with Brigade.",
            "field": None,
        }
    }
    write = Api().post("checks", {"kind": "takeaway"})
    assert write.status_code == 401
    assert not Check.objects.exists()
    pin = Api().post("auth/pin", {"pin": "1111"})
    assert pin.status_code == 401
    assert not PinAttempt.objects.exists()


def test_a_device_without_a_pin_is_401_pin_required(place):
    device = Api(device=pair_device(place.venue))
    response = device.get("floor")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "pin_required"
    assert device.post("checks", {"kind": "takeaway"}).status_code == 401
    assert not Check.objects.exists()


def test_a_forged_staff_token_is_401(place):
    response = Api(token="not-a-real-token").get("me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_not_paired"


def test_a_revoked_device_and_its_staff_tokens_stop_working(place):
    token = pair_device(place.venue)
    staff_api = sign_in(token, "1111")
    assert staff_api.get("me").status_code == 200

    device_revoke(device=Device.objects.get(name="Tablet"), actor=SETUP)

    response = staff_api.get("me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_not_paired"
    assert staff_api.post("checks", {"kind": "takeaway"}).status_code == 401
    assert not Check.objects.exists()
    before = PinAttempt.objects.count()
    assert Api(device=token).post("auth/pin", {"pin": "1111"}).status_code == 401
    assert PinAttempt.objects.count() == before


def test_five_wrong_pins_lock_the_device(place):
    device = Api(device=pair_device(place.venue))
    for _attempt in range(PIN_FAILURES_BEFORE_LOCKOUT):
        response = device.post("auth/pin", {"pin": "9999"})
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "wrong_pin" and error["field"] == "pin"
    assert "retry_after" in error and error["retry_after"] > 0
    assert int(response["Retry-After"]) == error["retry_after"]
    assert PinAttempt.objects.filter(success=False).count() == PIN_FAILURES_BEFORE_LOCKOUT

    # While locked even the right PIN is refused, and not logged as a success.
    locked = device.post("auth/pin", {"pin": "1111"})
    assert locked.status_code == 403
    error = locked.json()["error"]
    assert error["code"] == "locked_out"
    assert 0 < error["retry_after"] <= 30
    assert locked["Retry-After"] == str(error["retry_after"])
    assert not PinAttempt.objects.filter(success=True).exists()
    assert PinAttempt.objects.count() == PIN_FAILURES_BEFORE_LOCKOUT


def test_a_pin_must_be_text(place):
    device = Api(device=pair_device(place.venue))
    response = device.post("auth/pin", {"pin": 1111})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "pin"
    assert response.json()["error"]["code"] == "invalid_type"
    assert not PinAttempt.objects.exists()


def test_tablet_session_sign_in_with_csrf(place):
    api = tablet(place.venue)
    # No CSRF token: refused before the PIN is even looked at.
    refused = api.post("auth/pin", {"pin": "1111"}, headers={"X-CSRFToken": ""})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert not PinAttempt.objects.exists()

    signed_in = api.post("auth/pin", {"pin": "1111"})
    assert signed_in.status_code == 200
    assert signed_in.json()["staff"]["id"] == place.server.pk
    assert api.client.session["pos_staff_id"] == place.server.pk

    me = api.get("me", headers={"X-CSRFToken": ""})
    assert me.status_code == 200  # reads need no CSRF token
    assert me.json()["staff"]["id"] == place.server.pk


def test_session_writes_need_the_csrf_token(place):
    api = tablet(place.venue, "1111")
    refused = api.post("checks", {"kind": "takeaway"}, headers={"X-CSRFToken": "x" * 32})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert not Check.objects.exists()

    opened = api.post("checks", {"kind": "takeaway"})
    assert opened.status_code == 201
    assert Check.objects.get().server == place.server


def test_token_requests_are_exempt_from_csrf(place, server_api):
    server_api.client = type(server_api.client)(enforce_csrf_checks=True)
    assert server_api.post("checks", {"kind": "takeaway"}).status_code == 201


def test_logout_signs_the_tablet_out(place):
    api = tablet(place.venue, "1111")
    response = api.post("auth/logout")
    assert response.status_code == 200
    assert response.json() == {"signed_out": True}
    assert "pos_staff_id" not in api.client.session
    after = api.get("me")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "pin_required"


def test_idle_tablet_locks_itself(place, settings):
    api = tablet(place.venue, "1111")
    settings.POS_IDLE_LOCK_SECONDS = -1
    response = api.get("me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "locked"


def test_a_request_racing_the_logout_cannot_sign_the_tablet_back_in(place):
    api = tablet(place.venue, "1111")
    # A keep-alive GET read the signed-in session just before the sign-out...
    racing = SessionStore(session_key=api.client.cookies["sessionid"].value)
    assert racing["pos_staff_id"] == place.server.pk
    racing["pos_last_seen"] = racing["pos_last_seen"] + 1
    assert api.post("auth/logout").status_code == 200
    # ...and saves it after: that save fails instead of undoing the sign-out.
    with pytest.raises(UpdateError):
        racing.save()
    assert api.get("me").json()["error"]["code"] == "pin_required"
