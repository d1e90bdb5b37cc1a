"""Benchmark of the order path a server's tap takes: add a line, send it, price the check,
and the realtime event reaching a listening screen.

Run:  .venv/bin/python bench/order_path.py [--rounds N]

It builds the demo venue in a temporary SQLite database (embedded defaults) and reports
medians, each also as a ratio to a baseline measured in the same process: one primary-key
read of a menu item through the ORM. Ratios stay comparable across machines; the absolute
figures are this machine's. Results are kept in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    data = tempfile.mkdtemp(prefix="brigade-bench-")
    os.environ["BRIGADE_DATA_DIR"] = data
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restaurant.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)


def timed(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    setup()

    from channels.layers import get_channel_layer
    from django.db import transaction

    from kitchen import services as kitchen
    from orders.selectors import check_with_lines, totals_for
    from orders.services import check_open, line_add
    from restaurant.models import MenuItem, Modifier, Table, Venue
    from restaurant.realtime import event_emit, venue_group
    from restaurant.services import staff_by_pin

    venue = Venue.objects.get(slug="de-brigade")
    daan = staff_by_pin(venue=venue, pin="1111")
    steak = MenuItem.objects.get(venue=venue, plu="D201")
    beer = MenuItem.objects.get(venue=venue, plu="B301")

    def mod(name):
        return {"modifier": Modifier.objects.get(group__venue=venue, name=name).pk}

    choice = [mod("Medium rare"), mod("Pepper sauce"), mod("Fries")]
    tables = iter(Table.objects.filter(venue=venue))
    tab = check_open(venue=venue, actor=daan, kind="table", table=next(tables), guest_count=4)

    results = []
    baseline = timed(lambda: MenuItem.objects.get(pk=steak.pk), rounds)
    results.append(("baseline: one menu item read by primary key", baseline))
    results.append(
        (
            "line_add: steak with 3 modifiers",
            timed(
                lambda: line_add(tab=tab, actor=daan, item=steak, seat=1, modifiers=choice), rounds
            ),
        )
    )
    results.append(
        (
            "line_add: a beer, no modifiers",
            timed(lambda: line_add(tab=tab, actor=daan, item=beer, seat=2), rounds),
        )
    )

    send_tab = check_open(venue=venue, actor=daan, kind="bar_tab", tab_name="bench")

    def add_and_send():
        line_add(tab=send_tab, actor=daan, item=beer)
        kitchen.lines_send(tab=send_tab, actor=daan)

    results.append(("add + send one line (ticket, print job, events)", timed(add_and_send, rounds)))

    priced = check_with_lines(check_id=tab.pk, venue=venue)
    lines = priced.lines.count()
    results.append(
        (f"price a check of {lines} lines (loaded)", timed(lambda: totals_for(priced), rounds))
    )
    results.append(
        (
            f"load and price a check of {lines} lines",
            timed(lambda: totals_for(check_with_lines(check_id=tab.pk, venue=venue)), rounds),
        )
    )

    # An event from commit to a listening screen, through the in-memory channel layer.
    layer = get_channel_layer()

    async def latency() -> float:
        channel = await layer.new_channel()
        await layer.group_add(venue_group(venue.pk), channel)
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            await asyncio.to_thread(_emit_one)
            await layer.receive(channel)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    def _emit_one():
        with transaction.atomic():
            event_emit(venue_id=venue.pk, type="bench.ping", data={})

    results.append(("event: write, commit, publish, received", asyncio.run(latency())))

    width = max(len(name) for name, _ in results)
    print(f"{'what':<{width}}  {'median':>10}  {'x baseline':>10}")
    for name, seconds in results:
        print(f"{name:<{width}}  {seconds * 1000:>8.2f}ms  {seconds / baseline:>10.1f}")


if __name__ == "__main__":
    main()
