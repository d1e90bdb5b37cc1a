"""`manage.py print_worker`: send queued print jobs to the network printers (a loop)."""

from __future__ import annotations

import logging
import os
import signal
import threading

from django.core.management.base import BaseCommand

from kitchen.print_worker import print_jobs_run, print_jobs_run_once


class _QuietEscpos(logging.Filter):
    """python-escpos logs every connection on the root logger; the worker logs each job."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and f"{os.sep}escpos{os.sep}" in record.pathname)


class Command(BaseCommand):
    help = (
        "Send queued print jobs to their printers, retrying with backoff and rerouting to "
        "backup printers. Runs until SIGINT/SIGTERM (the job being sent is finished first)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Try every job that is due now once, then exit.",
        )

    def handle(self, *args, once: bool, **options):
        logging.getLogger().addFilter(_QuietEscpos())
        if once:
            outcomes = print_jobs_run_once()
            summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
            self.stdout.write(f"print_worker: {summary or 'nothing due'}")
            return
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        print_jobs_run(stop=stop)
