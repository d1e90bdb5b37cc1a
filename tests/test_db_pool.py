"""A server process holds at most its pool's connections to PostgreSQL, under load and at rest.

Under an ASGI server each request runs in a thread of its own; with a connection kept per
thread (CONN_MAX_AGE) every request opened a new connection and left it open. The pool
(psycopg_pool through Django) lends a connection per request and takes it back.
"""

from __future__ import annotations

import threading
import time
import urllib.request
import uuid

import pytest
from django.db import connection

from restaurant.services import device_create, device_pair
from tests.actors import SETUP
from tests.e2e.conftest import server_env
from tests.factories import StationFactory, VenueFactory
from tests.servers import Daphne

POOL_MAX = 4
REQUESTS = 40


def _connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_server_opens_at_most_its_pools_connections(tmp_path):
    venue = VenueFactory()
    grill = StationFactory(venue=venue, slug="grill", name="Grill")
    screen = device_create(venue=venue, name="Grill screen", kind="kds", station=grill, actor=SETUP)
    token = device_pair(code=screen.pairing_code)[1]
    name = f"brigade-pool-{uuid.uuid4().hex[:8]}"
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    server = Daphne(
        "pool",
        {
            **server_env(tmp_path),
            "DATABASE_URL": url,
            "DB_APPLICATION_NAME": name,
            "PGAPPNAME": name,  # libpq's own variable: names the connections of any setup
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": str(POOL_MAX),
            "LOG_LEVEL": "WARNING",
        },
        tmp_path,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    statuses: list[int] = []
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        try:
            while not done.is_set():
                peak = max(peak, _connections(name))
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's connection goes back to the pool

    def get():
        request = urllib.request.Request(
            server.url + "/api/v1/kitchen/stations/grill/snapshot",
            headers={"Cookie": f"brigade_device={token}"},
        )
        with opener.open(request, timeout=30) as response:
            statuses.append(response.status)

    try:
        sampler = threading.Thread(target=sample)
        sampler.start()
        for _round in range(2):
            threads = [threading.Thread(target=get) for _ in range(REQUESTS // 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        done.set()
        sampler.join()
        assert statuses == [200] * REQUESTS
        assert 1 <= peak <= POOL_MAX
        assert _connections(name) <= POOL_MAX  # at rest too: nothing left behind
    finally:
        done.set()
        server.stop()
