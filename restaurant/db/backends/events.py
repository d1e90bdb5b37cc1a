"""The database side of the realtime event log: events are written just before commit.

`restaurant.realtime.event_emit` does not write its event at once: it adds it to the
connection's pending list. This mixin writes the pending events as the very last statements
of the transaction, right before COMMIT: one counter update per venue (`EventSequence`, which
hands out the gap-free `seq`) and one multi-row insert. The counter row's lock is therefore
held only for the flush and the commit, not for the whole transaction, so writers of one venue
no longer queue behind each other for their entire transactions (docs/realtime.md).

A savepoint rolled back drops the events emitted inside it; a rollback drops them all. Under
a test case's transaction (pytest-django's `db` fixture, Django's TestCase), which never
commits, the events are written when the outermost block of the code under test ends, as if
it had committed there.
"""

from __future__ import annotations

from django.db import DatabaseError


def _only_testcase_blocks(connection) -> bool:
    blocks = connection.atomic_blocks
    return bool(blocks) and all(getattr(b, "_from_testcase", False) for b in blocks)


class EventLogMixin:
    """Mixed into Brigade's database backends (restaurant/db/backends/*/base.py)."""

    brigade_event_log = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (savepoint ids active when emitted, Event) in emit order
        self.pending_events: list = []
        self.event_batch = None

    # --- the hooks ------------------------------------------------------------------------

    def commit(self):
        if self.pending_events:
            self.flush_events()
        super().commit()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._forget_events()

    def close(self):
        try:
            super().close()
        finally:
            self._forget_events()

    def savepoint_rollback(self, sid):
        super().savepoint_rollback(sid)
        self.pending_events = [(sids, ev) for sids, ev in self.pending_events if sid not in sids]

    def savepoint_commit(self, sid):
        super().savepoint_commit(sid)
        if self.pending_events and _only_testcase_blocks(self):
            self.flush_events()

    # --- the work -------------------------------------------------------------------------

    def event_pending(self, event) -> None:
        self.pending_events.append((frozenset(self.savepoint_ids), event))
        if _only_testcase_blocks(self):  # emitted at a test's own level: nothing else will end
            self.flush_events()

    def flush_events(self) -> None:
        from restaurant.realtime import write_events

        events = [event for _sids, event in self.pending_events]
        batch = self.event_batch
        self.pending_events = []
        self.event_batch = None
        try:
            write_events(self, events)
        except DatabaseError:
            raise
        except Exception as exc:  # never leave a half-done commit without a rollback
            raise DatabaseError(f"could not write the realtime events: {exc}") from exc
        if batch is not None:
            batch.written(events)

    def _forget_events(self) -> None:
        self.pending_events = []
        self.event_batch = None
