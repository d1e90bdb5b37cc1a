"""Small query helpers shared by the apps."""

from __future__ import annotations

from django.db.models import QuerySet


def one(queryset: QuerySet):
    """The row a unique lookup finds, or None.

    `QuerySet.first()` orders by the model's `Meta.ordering` (or the primary key) before it
    takes a row; for a menu item that is an ORDER BY through its category and menu, joins that
    Django compiles on every call and PostgreSQL then sorts one row by. Where the filter names
    at most one row, the order means nothing, and leaving it out was a tenth of a busy server's
    CPU (bench/RESULTS.md)."""
    rows = list(queryset.order_by()[:1])
    return rows[0] if rows else None
