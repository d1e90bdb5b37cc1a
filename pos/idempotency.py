"""Idempotent writes: a retried tap (same `Idempotency-Key`) is applied once.

The client makes a fresh key (a UUID) per user action and sends it with every retry of that
action. The first request that completes stores its response in the same transaction as its
effect; a retry gets that stored response back and changes nothing. Two copies of one request
racing each other: the loser's insert of the key fails on the unique constraint, its whole
transaction (effect included) rolls back, and it answers with the winner's response. A key
reused for a different request is refused (409 `idempotency_key_reused`). A request that
fails stores nothing, so retrying it runs it again (it changed nothing the first time).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pos.models import IdempotencyKey
from restaurant.errors import Conflict, ValidationFailed
from restaurant.models import StaffMember, Venue
from restaurant.queries import one

HEADER = "Idempotency-Key"


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body or b"")
    return digest.hexdigest()


def run_idempotent(
    request,
    *,
    venue: Venue,
    staff: StaffMember | None,
    run: Callable[[], tuple[int, dict]],
    atomic: bool = True,
) -> tuple[int, dict, bool]:
    """Run `run()` (returning status and JSON body) at most once per idempotency key.

    With `atomic=False` (writes that call Stripe) `run()` is not wrapped in one transaction:
    its services commit their own steps and are idempotent themselves (one pending card
    payment per part, Stripe calls with stored keys), and the answer is stored once it is
    known. Returns (status, body, replayed).
    """
    block = transaction.atomic if atomic else contextlib.nullcontext
    key = request.headers.get(HEADER, "").strip()
    if not key:
        with block():
            status, body = run()
        return status, body, False
    if len(key) > 100:
        raise ValidationFailed(_("The idempotency key is too long."), field=HEADER)
    fingerprint = _request_hash(request)

    def replay(record: IdempotencyKey) -> tuple[int, dict, bool]:
        if record.request_hash != fingerprint:
            raise Conflict(
                _("This idempotency key was used for a different request."),
                code="idempotency_key_reused",
                field=HEADER,
            )
        return record.status_code, record.response, True

    existing = one(IdempotencyKey.objects.filter(venue=venue, key=key))
    if existing is not None:
        return replay(existing)
    record = IdempotencyKey(
        venue=venue,
        key=key,
        staff=staff,
        method=request.method,
        path=request.path[:300],
        request_hash=fingerprint,
    )
    try:
        with transaction.atomic() if atomic else contextlib.nullcontext():
            status, body = run()
            record.status_code, record.response = status, body
            if not _store(record):
                raise _KeyTaken  # rolls the effect back: the other copy's answer stands
    except (_KeyTaken, IntegrityError):
        stored = one(IdempotencyKey.objects.filter(venue=venue, key=key))
        if stored is None:
            raise
        return replay(stored)
    return status, body, False


class _KeyTaken(Exception):
    """Another copy of this request stored its answer first."""


_COLUMNS = ("venue", "key", "staff", "method", "path", "request_hash", "status_code", "response")


def _store(record: IdempotencyKey) -> bool:
    """Insert the record unless the key is taken (INSERT ... ON CONFLICT DO NOTHING: no
    savepoint needed). Waits for a concurrent copy's transaction; False when it won."""
    from django.db import connection
    from django.utils import timezone

    record.created_at = timezone.now()
    meta = IdempotencyKey._meta
    fields = [meta.get_field(name) for name in (*_COLUMNS, "created_at")]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT (venue_id, key) DO NOTHING RETURNING id"
    )
    params = [f.get_db_prep_save(getattr(record, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk = row[0]
    return True
