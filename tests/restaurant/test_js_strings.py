"""The tablet's and the kitchen screens' JavaScript strings come from one place
(restaurant/js_strings.py): every `t("key")` the scripts show is in their app's table,
translated for the request's language."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from restaurant.js_strings import COMMON, KITCHEN_SCREEN, TABLET, js_strings

STATIC = Path(__file__).resolve().parents[2] / "static"
KEY = re.compile(r"""\bt\(\s*["'](\w+)["']""")


def keys_used(folder: str) -> set[str]:
    return {
        key for path in (STATIC / folder).rglob("*.js") for key in KEY.findall(path.read_text())
    }


@pytest.mark.parametrize(("folder", "table"), [("pos/js", TABLET), ("kds/js", KITCHEN_SCREEN)])
def test_every_string_a_script_shows_is_in_its_table(folder, table):
    used = keys_used(folder)
    assert len(used) > 20  # the scan finds the scripts' strings
    assert used - set(js_strings(table)) == set()


def test_the_shared_strings_are_in_both_apps_and_translated_per_request():
    assert set(COMMON) <= set(js_strings(TABLET)) & set(js_strings(KITCHEN_SCREEN))
    assert not set(COMMON) & (set(TABLET) | set(KITCHEN_SCREEN))  # each string in one place
    with translation.override("en"):
        english = js_strings(KITCHEN_SCREEN)
    assert english["reconnecting"] == "Reconnecting…" and english["bump"] == "Bump"
    assert all(isinstance(text, str) for text in english.values())
    with translation.override("nl"):  # translated when built, not when the module loaded
        assert js_strings(KITCHEN_SCREEN)["reconnecting"] == "Opnieuw verbinden…"
        assert js_strings(TABLET)["reconnecting"] == "Opnieuw verbinden…"
