"""Signed webhook delivery from a background thread, with retries and a delivery log.

The signature is Stripe's scheme, the one ``stripe.Webhook.construct_event`` verifies:
``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{payload}")>``.

One worker delivers events one at a time, oldest first, so without faults the receiver sees
them in the order they happened. A failed attempt (non-2xx or connection error) is retried
later with exponential backoff, without holding up the events behind it. Faults:
``duplicate`` (every event delivered twice), ``reorder`` (events are held for a short window
and the batch is delivered newest first) and ``delay_ms`` (a pause before every attempt).
"""

from __future__ import annotations

import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from hashlib import sha256
from typing import Any

logger = logging.getLogger("payments.stripe_emulator")

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks; Brigade emulator)"


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{ts}.{payload}".encode(), sha256)
    return f"t={ts},v1={mac.hexdigest()}"


class WebhookDispatcher:
    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        max_attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 5.0,
        api_version: str | None = None,
    ):
        self.url = url or None
        # The endpoint's API version: events sent to it are rendered in it (None: the
        # account's, which is the emulator's API_VERSION).
        self.api_version = api_version
        self.secret = secret
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.timeout = timeout
        # faults
        self.duplicate = False
        self.reorder = False
        self.reorder_window = 0.3
        self.delay = 0.0
        self.observer: Any = None  # called with each event's payload as it is enqueued

        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._held: list[dict[str, Any]] = []
        self._held_until = 0.0
        self._busy = 0
        self._seq = itertools.count()
        self._log: dict[str, dict[str, Any]] = {}
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="stripe-emulator-webhooks", daemon=True
        )
        self._thread.start()

    # --- configuration --------------------------------------------------------------------

    def configure(self, **faults: Any) -> None:
        with self._cond:
            if "duplicate" in faults:
                self.duplicate = bool(faults["duplicate"])
            if "reorder" in faults:
                self.reorder = bool(faults["reorder"])
                if not self.reorder:
                    self._release_held()
            if "reorder_window_ms" in faults:
                self.reorder_window = max(0.0, float(faults["reorder_window_ms"]) / 1000)
            if "delay_ms" in faults:
                self.delay = max(0.0, float(faults["delay_ms"]) / 1000)
            self._cond.notify_all()

    def faults(self) -> dict[str, Any]:
        with self._cond:
            return {
                "duplicate_webhooks": self.duplicate,
                "reorder_webhooks": self.reorder,
                "reorder_window_ms": int(self.reorder_window * 1000),
                "webhook_delay_ms": int(self.delay * 1000),
            }

    def reset(self) -> None:
        """Forget queued deliveries, the log and the faults."""
        with self._cond:
            self._heap.clear()
            self._held.clear()
            self._log.clear()
            self.duplicate = self.reorder = False
            self.reorder_window = 0.3
            self.delay = 0.0
            self._cond.notify_all()

    # --- producer side --------------------------------------------------------------------

    def enqueue(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event, indent=2)
        if self.observer is not None:
            self.observer(payload)
        with self._cond:
            record = {
                "id": event["id"],
                "type": event["type"],
                "created": event["created"],
                "status": "pending" if self.url else "no_endpoint",
                "url": self.url,
                "copies": 2 if self.duplicate else 1,
                "delivered": 0,
                "attempts": [],
            }
            self._log[event["id"]] = record
            if not self.url:
                return
            jobs = [
                {"event_id": event["id"], "payload": payload, "copy": n, "attempt": 0}
                for n in range(1, record["copies"] + 1)
            ]
            if self.reorder:
                if not self._held:
                    self._held_until = time.monotonic() + self.reorder_window
                self._held.extend(jobs)
            else:
                now = time.monotonic()
                for job in jobs:
                    heapq.heappush(self._heap, (now, next(self._seq), job))
            self._cond.notify_all()

    def _release_held(self) -> None:
        # newest first; both copies of a duplicated event stay next to each other
        now = time.monotonic()
        for job in reversed(self._held):
            heapq.heappush(self._heap, (now, next(self._seq), job))
        self._held.clear()

    # --- observers ------------------------------------------------------------------------

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(json.dumps(r)) for r in self._log.values()]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued, held or in flight (held batches are released
        right away). False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._held:
                self._release_held()
                self._cond.notify_all()
            while self._heap or self._held or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
                if self._held:
                    self._release_held()
                    self._cond.notify_all()
            return True

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # --- worker ---------------------------------------------------------------------------

    def _next_job(self) -> dict[str, Any] | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._held and now >= self._held_until:
                    self._release_held()
                if self._heap and self._heap[0][0] <= now:
                    self._busy += 1
                    return heapq.heappop(self._heap)[2]
                waits = [1.0]
                if self._heap:
                    waits.append(self._heap[0][0] - now)
                if self._held:
                    waits.append(self._held_until - now)
                self._cond.wait(max(0.0, min(waits)))
            return None

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                if self.delay:
                    time.sleep(self.delay)
                self._attempt(job)
            except Exception:  # pragma: no cover - never let the worker die
                logger.exception("webhook worker crashed on %s", job.get("event_id"))
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, job: dict[str, Any]) -> None:
        url, secret = self.url, self.secret
        job["attempt"] += 1
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        if not url:
            error = "no webhook endpoint configured"
        else:
            body = job["payload"].encode("utf-8")
            request = urllib.request.Request(  # noqa: S310 - URL comes from the operator
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": USER_AGENT,
                    "Stripe-Signature": sign(job["payload"], secret),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    status = response.status
                    response.read()
            except urllib.error.HTTPError as exc:
                status = exc.code
                error = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        ok = status is not None and 200 <= status < 300
        with self._cond:
            record = self._log.get(job["event_id"])
            if record is None:  # reset while in flight
                return
            record["attempts"].append(
                {
                    "at": int(time.time()),
                    "copy": job["copy"],
                    "attempt": job["attempt"],
                    "status": status,
                    "error": None if ok else error,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
            if ok:
                record["delivered"] += 1
                record["status"] = "delivered"
            elif job["attempt"] < self.max_attempts:
                due = time.monotonic() + self.backoff * (2 ** (job["attempt"] - 1))
                heapq.heappush(self._heap, (due, next(self._seq), job))
                if record["status"] != "delivered":
                    record["status"] = "retrying"
            elif record["status"] != "delivered":
                finished = [a for a in record["attempts"] if a["attempt"] >= self.max_attempts]
                if len(finished) >= record["copies"]:
                    record["status"] = "failed"
            self._cond.notify_all()
        logger.info(
            "webhook %s %s copy %s attempt %s -> %s",
            job["event_id"],
            record["type"],
            job["copy"],
            job["attempt"],
            status if status is not None else error,
        )
