"""``manage.py stripe_emulator``: serve the local Stripe emulator (docs/stripe-emulator.md)."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from payments.stripe_emulator import (
    API_VERSION,
    DEFAULT_API_KEY,
    DEFAULT_PORT,
    DEFAULT_WEBHOOK_SECRET,
    EmulatorServer,
)


class Command(BaseCommand):
    help = (
        "Run the local Stripe emulator: PaymentIntents, refunds, Terminal readers (simulated "
        "WisePOS E), test helpers and signed webhooks, for use with the official stripe SDK."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
        parser.add_argument(
            "--port",
            type=int,
            default=getattr(settings, "STRIPE_EMULATOR_PORT", None) or DEFAULT_PORT,
            help="port to listen on (STRIPE_EMULATOR_PORT, else 12111)",
        )
        parser.add_argument(
            "--webhook-url",
            default=getattr(settings, "STRIPE_WEBHOOK_URL", None) or "",
            help="where to POST signed events (STRIPE_WEBHOOK_URL); empty: log them only",
        )
        parser.add_argument(
            "--webhook-secret",
            default=getattr(settings, "STRIPE_WEBHOOK_SECRET", None) or DEFAULT_WEBHOOK_SECRET,
            help="signing secret for Stripe-Signature (STRIPE_WEBHOOK_SECRET)",
        )
        parser.add_argument(
            "--webhook-api-version",
            default=API_VERSION,
            help=f"the webhook endpoint's API version: events are rendered in it ({API_VERSION})",
        )
        parser.add_argument(
            "--api-key",
            default=getattr(settings, "STRIPE_SECRET_KEY", None) or DEFAULT_API_KEY,
            help="the only secret key accepted (STRIPE_SECRET_KEY)",
        )

    def handle(self, *args, **options):
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        emulator = EmulatorServer(
            options["host"],
            options["port"],
            api_key=options["api_key"],
            webhook_url=options["webhook_url"] or None,
            webhook_secret=options["webhook_secret"],
            webhook_api_version=options["webhook_api_version"],
            log=write,
        )
        # webhook deliveries log through the package logger; show them with the requests
        handler = _LineHandler(write)
        package_logger = logging.getLogger("payments.stripe_emulator")
        saved_logger = (package_logger.level, package_logger.propagate)
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)
        package_logger.propagate = False

        stop = threading.Event()
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())

        emulator.start()
        write(
            f"Stripe emulator (API {API_VERSION}) listening on {emulator.url}\n"
            f"  api key:        {_masked(options['api_key'])}\n"
            f"  webhooks:       {options['webhook_url'] or '(none: events are only logged)'}"
            f" (API {options['webhook_api_version']})\n"
            f"  control API:    {emulator.url}/_emulator/state\n"
            "Stop with Ctrl-C."
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:  # pragma: no cover - SIGINT is handled above
            pass
        finally:
            write("Stopping the Stripe emulator...")
            emulator.stop()
            package_logger.removeHandler(handler)
            package_logger.level, package_logger.propagate = saved_logger
            for sig, old in previous.items():
                signal.signal(sig, old)
        write("Stripe emulator stopped.")


class _LineHandler(logging.Handler):
    def __init__(self, write):
        super().__init__(logging.INFO)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write(record.getMessage())
        except Exception:  # pragma: no cover
            self.handleError(record)


def _masked(key: str) -> str:
    return key if len(key) <= 12 else key[:8] + "…" + key[-4:]
