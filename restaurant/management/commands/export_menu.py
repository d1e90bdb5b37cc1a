"""`manage.py export_menu --venue SLUG [-o FILE]`: write a venue's menu as JSON.

The format is docs/menu-format.md; `import_menu` reads it back. Without -o the document goes
to standard output.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from restaurant.management.commands.import_menu import venue_by_slug
from restaurant.menu_io import menu_export


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write a venue's menu as JSON (see docs/menu-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("--venue", required=True, help="Slug of the venue to export.")
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output.")

    def handle(self, *args, **options):
        venue = venue_by_slug(options["venue"])
        document = menu_export(venue=venue)
        text = dumps(document)
        path = options["output"]
        if not path:
            self.stdout.write(text, ending="")
            return
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": path, "error": exc}
            ) from exc
        items = sum(len(c["items"]) for m in document["menus"] for c in m["categories"])
        self.stdout.write(
            _("Wrote the menu of %(venue)s (%(menus)d menus, %(items)d items) to %(file)s.")
            % {"venue": venue.name, "menus": len(document["menus"]), "items": items, "file": path}
        )
