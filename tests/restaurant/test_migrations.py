"""Data migrations, run for real: back to the migration before, rows in the old shape, forward."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("restaurant", "0004_venue_tips_service_charge")]
AFTER = [("restaurant", "0005_venue_structured_address")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_free_text_address_is_split_into_its_parts_where_it_can_be_read():
    old = _migrate(BEFORE)
    Venue = old.get_model("restaurant", "Venue")
    texts = {
        "demo": "Keizersgracht 1, 1015 CJ Amsterdam",
        "lines": "Singel 5\n2e verdieping\n1012VB  Amsterdam\nNederland",
        "us": "1234 Main Street, San Francisco, CA 94111",
        "berlin": "Friedrichstraße 43, 10117 Berlin",
        "unreadable": "Behind the station, ask for Marco",
        "none": "",
    }
    for slug, text in texts.items():
        Venue.objects.create(name=slug, slug=slug, address=text)
    try:
        new = _migrate(AFTER)
        Venue = new.get_model("restaurant", "Venue")
        parts = {
            v.slug: (
                v.address_line1,
                v.address_line2,
                v.address_postal_code,
                v.address_city,
                v.address_state,
                v.address_country,
            )
            for v in Venue.objects.all()
        }
        assert parts == {
            "demo": ("Keizersgracht 1", "", "1015 CJ", "Amsterdam", "", "NL"),
            "lines": ("Singel 5", "2e verdieping", "1012 VB", "Amsterdam", "", "NL"),
            "us": ("1234 Main Street", "", "94111", "San Francisco", "CA", "US"),
            "berlin": ("Friedrichstraße 43", "", "10117", "Berlin", "", ""),
            # nothing is lost: the owner completes it (a card reader is refused until then)
            "unreadable": ("Behind the station, ask for Marco", "", "", "", "", ""),
            "none": ("", "", "", "", "", ""),
        }
        # and back: the parts become one text again
        old = _migrate(BEFORE)
        Venue = old.get_model("restaurant", "Venue")
        back = dict(Venue.objects.values_list("slug", "address"))
        assert back["demo"] == "Keizersgracht 1, 1015 CJ Amsterdam"
        assert back["us"] == "1234 Main Street, San Francisco, CA 94111"
        assert back["none"] == ""
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
