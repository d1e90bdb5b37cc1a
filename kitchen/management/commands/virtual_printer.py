"""`manage.py virtual_printer --port 9101-9104`: fake ESC/POS network printers on 127.0.0.1."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kitchen.views import printouts_dir
from kitchen.virtual_printer import VirtualPrinter, parse_ports


class Command(BaseCommand):
    help = (
        "Listen like network printers (raw TCP, ESC/POS) and keep what they print, decoded, "
        "under BRIGADE_DATA_DIR/printouts/<port>/ (shown at /kitchen/printouts/)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            action="append",
            default=[],
            help="A port, a range (9101-9104) or a list (9101,9102); repeatable. Default 9100.",
        )
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument(
            "--dir", default="", help="Where to keep printouts (default: <data dir>/printouts)."
        )
        parser.add_argument(
            "--code-page", default="CP858", help="The printers' power-on character table."
        )
        parser.add_argument("--width", type=int, default=42, help="Characters per line.")
        parser.add_argument(
            "--echo", action="store_true", help="Also write each printout's text to stdout."
        )
        parser.add_argument(
            "--allow-busy",
            action="store_true",
            help="Keep running when a port is taken (as `serve` does): that printer is offline.",
        )

    def handle(self, *args, port, host, dir, code_page, width, echo, allow_busy, **options):
        try:
            ports = parse_ports(port or ["9100"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        directory = dir or printouts_dir()

        def show(printout):
            self.stdout.write(
                f"virtual_printer: {printout.port}: printout of {len(printout.data)} bytes"
                + (f"\n{printout.text}" if echo else "")
            )
            self.stdout.flush()

        def ready(printer):
            listening = ", ".join(map(str, printer.ports))
            self.stdout.write(
                f"virtual_printer: listening on {host} port(s) {listening}; "
                f"printouts in {directory}"
            )
            self.stdout.flush()

        printer = VirtualPrinter(
            ports,
            host=host,
            directory=directory,
            code_page=code_page,
            width=width,
            on_printout=show,
            on_ready=ready,
        )
        printer.serve_forever(keep_running=allow_busy)
        if printer.failed_ports and not allow_busy:
            raise CommandError(
                "could not listen on "
                + "; ".join(f"{p}: {e}" for p, e in printer.failed_ports.items())
            )
        self.stdout.write("virtual_printer: stopped")
