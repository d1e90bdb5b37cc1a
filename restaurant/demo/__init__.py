"""Demo data shipped with Brigade.

`brasserie_menu.json` is the menu of "Brasserie De Brigade", a Dutch brasserie (EUR, prices
include 9% / 21% VAT), in the menu import format (docs/menu-format.md). It references the
stations grill, cold, bar and pastry by slug; they must exist before it is imported.
"""

import json
from pathlib import Path

BRASSERIE_MENU_PATH = Path(__file__).with_name("brasserie_menu.json")
BRASSERIE_STATIONS = ("grill", "cold", "bar", "pastry")


def brasserie_menu() -> dict:
    """The demo menu document, freshly parsed (safe to modify)."""
    return json.loads(BRASSERIE_MENU_PATH.read_text(encoding="utf-8"))
