"""The printouts page: what the virtual printers printed, newest first (for the demo)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from kitchen.virtual_printer import (
    PrintedLine,
    collapse_feeds,
    format_lines,
    parse_escpos,
    stored_printouts,
)
from restaurant.admin import admin_venue_ids
from restaurant.models import Printer

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
PRINTOUTS_PERMISSION = "floor.edit"


def printouts_dir():
    return getattr(settings, "PRINTOUTS_DIR", None) or settings.DATA_DIR / "printouts"


def _html(lines: list[PrintedLine], width: int) -> str:
    """Printed lines as HTML: bold, double size and inverted as they look on paper."""
    rows = []
    for line in collapse_feeds(lines):
        if line.kind == "cut":
            rows.append(format_html('<div class="{}"></div>', "cut"))
            continue
        if line.kind == "marker":
            rows.append(format_html('<div class="marker">{}</div>', line.text))
            continue
        spans = format_html_join(
            "",
            '<span class="{}">{}</span>',
            (
                (
                    " ".join(
                        name
                        for name, on in (
                            ("b", s.style.bold),
                            ("u", s.style.underline),
                            ("w", s.style.width > 1),
                            ("h", s.style.height > 1),
                            ("inv", s.style.invert),
                        )
                        if on
                    ),
                    s.text,
                )
                for s in line.segments
            ),
        )
        tall = any(s.style.height > 1 for s in line.segments)
        rows.append(
            format_html(
                '<div class="line {} {}">{}</div>', line.align, "tall" if tall else "", spans
            )
        )
    return format_html_join("", "{}", ((row,) for row in rows))


@staff_member_required
def printouts(request):
    """The last printouts of the virtual printers on the ports of the user's printers."""
    venues = admin_venue_ids(request, PRINTOUTS_PERMISSION)
    if venues is not None and not venues:
        raise PermissionDenied
    printers = Printer.objects.filter(host__in=LOOPBACK).order_by("port", "name")
    if venues is not None:
        printers = printers.filter(venue_id__in=venues)
    names: dict[int, list[str]] = {}
    widths: dict[int, int] = {}
    for printer in printers:
        names.setdefault(printer.port, []).append(printer.name)
        widths.setdefault(printer.port, printer.paper_width)
    ports = None if venues is None else set(names)
    entries = []
    for port, received_at, raw, text in stored_printouts(printouts_dir(), ports=ports, limit=40):
        width = widths.get(port, 42)
        lines = parse_escpos(raw) if raw is not None else None
        entries.append(
            {
                "port": port,
                "printers": ", ".join(names.get(port, [])),
                "received_at": timezone.localtime(received_at),
                "html": _html(lines, width) if lines is not None else None,
                "text": format_lines(lines, width) if lines is not None else text,
                "width": width,
            }
        )
    return render(
        request,
        "kitchen/printouts.html",
        {
            "entries": entries,
            "ports": sorted(names) if venues is not None else None,
            "directory": printouts_dir(),
            "refresh": 3,
        },
    )
