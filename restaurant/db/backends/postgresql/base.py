"""PostgreSQL with Brigade's event log written just before commit (restaurant/db/backends)."""

from django.db.backends.postgresql import base

from restaurant.db.backends.events import EventLogMixin


class DatabaseWrapper(EventLogMixin, base.DatabaseWrapper):
    pass
