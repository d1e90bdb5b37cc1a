"""`manage.py import_menu FILE --venue SLUG`: create or update a venue's menu from JSON.

The format is docs/menu-format.md. The work is `restaurant.menu_io.menu_import`; this command
reads the file, finds the venue and prints what changed. On any problem it exits non-zero
with every problem listed, and nothing has changed.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from restaurant.errors import DomainError
from restaurant.menu_io import MenuInvalid, menu_import
from restaurant.models import Venue
from restaurant.permissions import SystemActor


def venue_by_slug(slug: str) -> Venue:
    venue = Venue.objects.filter(slug=slug).first()
    if venue is None:
        known = ", ".join(Venue.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise CommandError(
            _('No venue with slug "%(slug)s" (venues: %(known)s).')
            % {"slug": slug, "known": known or _("none")}
        )
    return venue


class Command(BaseCommand):
    help = "Create or update a venue's menu from a JSON file (see docs/menu-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The menu JSON file, or - for standard input.")
        parser.add_argument("--venue", required=True, help="Slug of the venue to import into.")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="Deactivate the venue's items whose PLU is not in the file.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and count the changes, then roll them back.",
        )

    def handle(self, *args, **options):
        venue = venue_by_slug(options["venue"])
        name = options["file"]
        try:
            if name == "-":
                text = sys.stdin.read()
            else:
                with open(name, encoding="utf-8-sig") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": name, "error": exc}
            ) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                _("%(file)s is not valid JSON: %(error)s at line %(line)d, column %(col)d.")
                % {"file": name, "error": exc.msg, "line": exc.lineno, "col": exc.colno}
            ) from exc
        try:
            result = menu_import(
                venue=venue,
                data=data,
                actor=SystemActor("import_menu command"),
                deactivate_missing=options["deactivate_missing"],
                dry_run=options["dry_run"],
            )
        except MenuInvalid as exc:
            raise CommandError(f"{name}: {exc.message}") from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.dry_run:
            title = _("Dry run, nothing was saved. Importing %(file)s into %(venue)s would do:")
        elif result.changed:
            title = _("Imported %(file)s into %(venue)s.")
        else:
            title = _("Imported %(file)s into %(venue)s: nothing changed.")
        self.stdout.write(title % {"file": name, "venue": venue.name})
        self.stdout.write(result.summary())
