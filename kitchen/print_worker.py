"""The print worker: claims due print jobs, sends them to network printers, records the outcome.

Run by `manage.py print_worker` (a loop; `--once` for one pass). Several workers may run at
once, on one database:

Claiming
    A job is claimed by a conditional UPDATE (status pending → printing, attempts + 1) that only
    one worker can win; on PostgreSQL the candidates are first picked with
    SELECT ... FOR UPDATE SKIP LOCKED, so workers do not queue behind each other. Jobs of one
    printer go out one at a time and in order: a job waits while an older job of the same
    printer is still pending or printing (a raw-TCP printer serves one connection at a time,
    and a FIRE chit must not come out before its ticket).

Sending
    Outside any transaction: python-escpos's `Network` printer opens a TCP connection (raw
    port 9100 protocol) with a timeout, writes the stored bytes, and closes.

Outcome
    Sent → printed. An error → pending again after a backoff (PRINT_RETRY_BASE_SECONDS doubled
    per attempt, at most PRINT_RETRY_MAX_SECONDS). After PRINT_MAX_ATTEMPTS failures the job
    is rerouted: it becomes `rerouted` and a new job with the same bytes goes to the first
    active backup printer not yet tried (at most one reroute per job: a one-to-one field).
    While a printer is known to be down (a job was rerouted away from it and nothing printed
    on it since), the next jobs are rerouted after one failed attempt; a switched-off
    printer's jobs are rerouted without an attempt.
    Without a backup it keeps retrying until PRINT_GIVE_UP_SECONDS after it was first queued,
    then it is `failed` (the back office can retry or reprint it).

Exactly once
    The bytes of a job are sent by the one worker that claimed it, and a printed job is never
    claimed again. The one window left is a worker killed between the printer taking the bytes
    and the database recording it: such a job stays `printing`, and after
    PRINT_STALE_SECONDS it is queued again (a ticket printed twice beats a ticket lost).
    SIGTERM lets the current job finish first, so `serve` and deploys do not open that window.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone
from escpos.printer import Network

from kitchen.models import PrintJob
from kitchen.printing import code_page, printer_route, reroute_banner
from restaurant.models import Printer

logger = logging.getLogger(__name__)

Status = PrintJob.Status


# --- Settings (restaurant/settings.py may set them; these are the defaults) ------------------


def max_attempts() -> int:
    return max(1, int(getattr(settings, "PRINT_MAX_ATTEMPTS", 3)))


def retry_base_seconds() -> float:
    return float(getattr(settings, "PRINT_RETRY_BASE_SECONDS", 2))


def retry_max_seconds() -> float:
    return float(getattr(settings, "PRINT_RETRY_MAX_SECONDS", 60))


def socket_timeout() -> float:
    return float(getattr(settings, "PRINT_SOCKET_TIMEOUT", 5))


def poll_seconds() -> float:
    return float(getattr(settings, "PRINT_POLL_SECONDS", 1))


def stale_seconds() -> float:
    return float(getattr(settings, "PRINT_STALE_SECONDS", 120))


def give_up_seconds() -> float:
    return float(getattr(settings, "PRINT_GIVE_UP_SECONDS", 600))


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failure: base, 2x base, 4x base, ... capped."""
    return min(retry_base_seconds() * 2 ** max(attempts - 1, 0), retry_max_seconds())


# --- Claiming ---------------------------------------------------------------------------------


def _due(now) -> object:
    older_unfinished = PrintJob.objects.filter(
        target_id=OuterRef("target_id"),
        status__in=[Status.PENDING, Status.PRINTING],
        pk__lt=OuterRef("pk"),
    )
    return (
        PrintJob.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .exclude(Exists(older_unfinished))
        .order_by("next_attempt_at", "pk")
    )


def print_job_claim(
    *, now=None, exclude: set[int] | frozenset[int] = frozenset()
) -> PrintJob | None:
    """Claim the next due job for this worker (status printing), or None when none is due."""
    now = now or timezone.now()
    if not _due(now).exclude(pk__in=exclude).exists():
        return None  # a plain read: an idle worker takes no write lock (SQLite)
    with transaction.atomic():
        candidates = _due(now).exclude(pk__in=exclude)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(no_key=True, skip_locked=True)
        for job_id in list(candidates.values_list("pk", flat=True)[:5]):
            # Only one worker's UPDATE finds the job still pending.
            won = PrintJob.objects.filter(pk=job_id, status=Status.PENDING).update(
                status=Status.PRINTING, attempts=F("attempts") + 1, claimed_at=timezone.now()
            )
            if won:
                return PrintJob.objects.select_related("target", "printer", "venue").get(pk=job_id)
    return None


def print_jobs_recover(*, now=None) -> int:
    """Queue again the jobs a worker claimed and never finished (it was killed)."""
    now = now or timezone.now()
    stale = PrintJob.objects.filter(
        status=Status.PRINTING, claimed_at__lt=now - timedelta(seconds=stale_seconds())
    )
    if not stale.exists():
        return 0
    count = stale.update(
        status=Status.PENDING,
        next_attempt_at=now,
        last_error="interrupted while printing (the worker stopped); sending again",
    )
    if count:
        logger.warning("%d print job(s) were interrupted while printing; queued again", count)
    return count


# --- Sending ----------------------------------------------------------------------------------


class PrintError(Exception):
    pass


def send_to_printer(printer: Printer, payload: bytes) -> None:
    """Write `payload` to the printer's raw TCP port; raise PrintError when that fails."""
    device = Network(host=printer.host, port=printer.port, timeout=socket_timeout())
    try:
        device.open()
        device._raw(payload)
    except Exception as exc:  # DeviceNotFoundError, OSError (refused, reset, timeout)
        # escpos wraps the socket's error; the socket's own words say more ("refused").
        cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
        reason = str(cause) or type(cause).__name__
        raise PrintError(f"{printer.host}:{printer.port}: {reason}".replace("\n", " ")) from exc
    finally:
        with contextlib.suppress(OSError):
            device.close()


# --- Outcomes ---------------------------------------------------------------------------------


def _mark_printed(job: PrintJob) -> None:
    # Also from pending: if a stale-claim recovery re-queued it meanwhile, it is printed now
    # and must not go out again.
    PrintJob.objects.filter(pk=job.pk, status__in=[Status.PRINTING, Status.PENDING]).update(
        status=Status.PRINTED, printed_at=timezone.now(), claimed_at=None
    )


def _reroute_chain(job: PrintJob) -> list[PrintJob]:
    chain = [job]
    seen = {job.pk}
    while chain[-1].rerouted_from_id and chain[-1].rerouted_from_id not in seen:
        seen.add(chain[-1].rerouted_from_id)
        chain.append(chain[-1].rerouted_from)
    return chain


def _known_down(printer_id: int | None) -> bool:
    """A job was rerouted away from this printer and nothing has printed on it since."""
    if printer_id is None:
        return False
    down_since = PrintJob.objects.filter(rerouted_from__target_id=printer_id).aggregate(
        at=Max("created_at")
    )["at"]
    if down_since is None:
        return False
    last_ok = PrintJob.objects.filter(target_id=printer_id, status=Status.PRINTED).aggregate(
        at=Max("printed_at")
    )["at"]
    return last_ok is None or last_ok < down_since


def _failed(job: PrintJob, error: str, *, reroute_now: bool = False, give_up: bool = False) -> str:
    """Record a failed attempt: retry later, reroute to a backup, or give up."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            PrintJob.objects.select_for_update(no_key=True, of=("self",))
            .select_related("target", "printer", "venue")
            .filter(pk=job.pk, status=Status.PRINTING, attempts=job.attempts)
            .first()
        )
        if job is None:  # no longer ours (recovered as stale); its new owner decides
            return "lost"
        job.last_error = error[:500]
        job.claimed_at = None
        chain = _reroute_chain(job)
        # After PRINT_MAX_ATTEMPTS failures; at once when the printer is known to be down,
        # so a queue of tickets for a dead printer does not trickle out one backoff at a time.
        if not give_up and (
            reroute_now or job.attempts >= max_attempts() or _known_down(job.target_id)
        ):
            start = job.target or job.printer
            # A drawer pulse only means something to the printer the drawer hangs on.
            backup = (
                None
                if job.kind == PrintJob.Kind.DRAWER
                else printer_route(
                    start.backup if start else None,
                    skip={j.target_id for j in chain if j.target_id},
                )
            )
            if backup is not None:
                job.status = Status.REROUTED
                job.save(update_fields=["status", "last_error", "claimed_at"])
                _reroute(job, chain[-1], backup, now)
                logger.warning(
                    "print job %s failed %d time(s) on %s (%s); rerouted to %s",
                    job.pk,
                    job.attempts,
                    job.target,
                    error,
                    backup,
                )
                return "rerouted"
        first_queued = chain[-1].created_at
        if give_up or (now - first_queued).total_seconds() >= give_up_seconds():
            job.status = Status.FAILED
            logger.error("print job %s failed for good on %s: %s", job.pk, job.target, error)
        else:
            job.status = Status.PENDING
            job.next_attempt_at = now + timedelta(seconds=backoff_seconds(job.attempts))
            logger.warning(
                "print job %s: attempt %d on %s failed (%s); next try at %s",
                job.pk,
                job.attempts,
                job.target,
                error,
                timezone.localtime(job.next_attempt_at).strftime("%H:%M:%S"),
            )
        job.save(update_fields=["status", "last_error", "claimed_at", "next_attempt_at"])
        return "failed" if job.status == Status.FAILED else "retry"


def _reroute(job: PrintJob, first: PrintJob, backup: Printer, now) -> PrintJob:
    """A copy of `job` for `backup`: the first job's bytes under a "for <printer>" banner."""
    meant_for = job.printer or first.target
    banner = b""
    if meant_for is not None:
        banner = reroute_banner(
            page=code_page(job.code_page),
            width=backup.paper_width,
            venue=job.venue,
            printer_name=str(meant_for.name),
        )
    return PrintJob.objects.create(
        venue_id=job.venue_id,
        ticket_id=job.ticket_id,
        printer_id=job.printer_id,
        target=backup,
        kind=job.kind,
        code_page=job.code_page,
        payload=banner + bytes(first.payload),
        is_reprint=job.is_reprint,
        reprint_of_id=job.reprint_of_id,
        rerouted_from=job,
        next_attempt_at=now,
    )


def print_job_process(job: PrintJob) -> str:
    """Send a claimed job and record what happened: printed, retry, rerouted or failed."""
    target = job.target
    if not job.payload:
        return _failed(job, "nothing to print", give_up=True)
    if target is None or not target.is_active:
        name = target or job.printer or "the printer"
        return _failed(job, f"{name} is switched off or was removed", reroute_now=True)
    try:
        send_to_printer(target, bytes(job.payload))
    except PrintError as exc:
        return _failed(job, str(exc))
    _mark_printed(job)
    logger.info("printed job %s (%s) on %s", job.pk, job.kind, target)
    return "printed"


# --- The loop ---------------------------------------------------------------------------------


def print_jobs_run_once(*, stop: threading.Event | None = None) -> Counter:
    """One pass: every job due now is tried once. Returns a count per outcome."""
    outcomes: Counter = Counter()
    print_jobs_recover()
    started = timezone.now()
    tried: set[int] = set()
    while stop is None or not stop.is_set():
        job = print_job_claim(now=started, exclude=tried)
        if job is None:
            break
        tried.add(job.pk)
        outcomes[print_job_process(job)] += 1
    return outcomes


def print_jobs_run(*, stop: threading.Event) -> None:
    """Work until `stop` is set; the job being sent when it is set is finished first."""
    logger.info("print worker started")
    while not stop.is_set():
        try:
            print_jobs_run_once(stop=stop)
        except DatabaseError:
            logger.exception("print worker: database error; trying again")
        if not connection.in_atomic_block:  # (a test may run the loop inside its transaction)
            close_old_connections()
        stop.wait(poll_seconds())
    logger.info("print worker stopped")
