"""A Friday-night rush on the production shape, measured end to end.

    .venv/bin/python bench/rush.py                      # the fan-out figures at 2, 20, 100 orders/s
    .venv/bin/python bench/rush.py --find-max           # orders/s at POST p99 <= 250 ms
    .venv/bin/python bench/rush.py --layer pubsub --processes 1 --rates 20 --duration 20

What runs: PostgreSQL (a fresh database, `--database`), Redis (`--redis`, flushed), N daphne
processes serving Brigade (`--processes`), 30 kitchen screens and 20 tablets connected over
websockets, spread over the processes, and orders posted through the JSON API at a steady
rate. An order is what a server does for a takeaway: open a check, add 5 lines with modifiers
(one request each, as the tablet adds them; `--batch`: all five in one request), send. Each
order goes to the next tablet's staff token (`Authorization: Bearer`) on the next process.

What it reports, per rate (medians are nothing here: a rush is judged by its tail):
- achieved orders/s, and every POST's latency (p50, p95, p99, max; and per kind);
- order-to-screen: from the start of the send POST to the `ticket.created` event's arrival at
  every screen that should show it (the ticket's station and the expo screens), p50 ... max,
  and reach: the share of those deliveries that arrived;
- PostgreSQL sessions waiting on a lock, sampled from pg_stat_activity every 100 ms;
- in the same run, the baseline: a bare Channels app (bench/bare_asgi.py) on the same number of
  daphne processes and sockets, and one channel-layer `group_send` per order from this process;
  its delivery latency and Brigade's ratio to it.

The client runs on the same machine as the servers (2 cores here): it is part of the load.
Results are written as JSON to bench/results/ and summarised on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/brigade_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
POST_P99_TARGET_MS = 250.0


# --- figures ------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def tail(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    out = {"n": len(ms)}
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        value = pct(ms, p)
        out[name] = round(value, 1) if value is not None else None
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


# --- the venue ----------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _choices(item) -> list[dict]:
    """A valid choice for every required group (and one optional pick), nested included."""
    from restaurant.models import Modifier

    def for_group(group, optional_pick: bool) -> list[dict]:
        need = group.min_choices or (1 if optional_pick else 0)
        picked = []
        for modifier in Modifier.objects.filter(group=group, is_available=True).order_by(
            "sort_order", "pk"
        )[:need]:
            choice = {"modifier": modifier.pk, "quantity": 1}
            if modifier.nested_group_id:
                nested = for_group(modifier.nested_group, False)
                if nested:
                    choice["choices"] = nested
            picked.append(choice)
        return picked

    chosen: list[dict] = []
    optional_done = False
    for link in item.group_links.select_related("group").order_by("pk"):
        group = link.group
        pick = for_group(group, optional_pick=not optional_done and group.min_choices == 0)
        if pick and group.min_choices == 0:
            optional_done = True
        chosen.extend(pick)
    return chosen


def setup_venue(screens: int, tablets: int, lines: int) -> dict:
    """Migrate, seed the demo venue, pair the screens and tablets; the order template."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from orders.modifiers import modifiers_validate
    from pos.auth import SESSION_DEVICE, SESSION_SEEN, SESSION_STAFF, staff_token_for
    from restaurant.demo.seed import VENUE_SLUG
    from restaurant.models import MenuItem, StaffMember, Station, Venue
    from restaurant.permissions import SystemActor
    from restaurant.selectors import menu_is_available
    from restaurant.services import device_create, device_pair

    bench = SystemActor("rush benchmark setup")

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    venue = Venue.objects.get(slug=VENUE_SLUG)
    stations = list(Station.objects.filter(venue=venue).order_by("sort_order", "pk"))
    expo = [s.slug for s in stations if s.is_expo]

    kds = []
    for index in range(screens):
        station = stations[index % len(stations)]
        device = device_create(
            venue=venue, name=f"Screen {index + 1}", kind="kds", station=station, actor=bench
        )
        kds.append({"station": station.slug, "token": device_pair(code=device.pairing_code)[1]})

    staff = list(
        StaffMember.objects.filter(
            venue=venue, role__in=["server", "bartender", "manager"], is_active=True
        ).order_by("pk")
    )
    pads = []
    for index in range(tablets):
        device = device_create(venue=venue, name=f"Tablet {index + 1}", kind="tablet", actor=bench)
        _device, token = device_pair(code=device.pairing_code)
        device.refresh_from_db()
        member = staff[index % len(staff)]
        session = SessionStore()
        session[SESSION_DEVICE] = device.pk
        session[SESSION_STAFF] = member.pk
        session[SESSION_SEEN] = int(time.time()) + 365 * 24 * 3600
        session.create()
        pads.append(
            {
                "token": token,
                "bearer": staff_token_for(device=device, staff=member),
                "session": session.session_key,
            }
        )

    # Five lines over the kitchen's stations, each with modifiers where the item has some.
    now = timezone.now()
    by_station: dict[str, list] = {}
    for item in (
        MenuItem.objects.filter(venue=venue, is_active=True, is_available=True)
        .select_related("category__menu", "station", "category__default_station")
        .order_by("pk")
    ):
        if not menu_is_available(item.category.menu, now):
            continue
        station = item.effective_station
        if station is None or station.is_expo:
            continue
        by_station.setdefault(station.slug, []).append(item)
    template = []
    rounds = 0
    while len(template) < lines and rounds < 10:
        for slug in sorted(by_station):
            items = sorted(by_station[slug], key=lambda i: -i.group_links.count())
            if rounds < len(items) and len(template) < lines:
                item = items[rounds]
                choices = _choices(item)
                modifiers_validate(item=item, choices=choices)  # a bad template fails here
                template.append({"item": item.pk, "modifiers": choices, "station": slug})
        rounds += 1
    connections.close_all()
    return {"screens": kds, "tablets": pads, "expo": expo, "lines": template}


# --- servers ------------------------------------------------------------------------------------


class Server:
    def __init__(self, app: str, env: dict, log_dir: Path, name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), app],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self, path: str | None) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    pass
                if path is None:
                    return
                import urllib.request

                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.log.name} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def server_env(args, data_dir: str, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "REDIS", "CHANNEL", "BRIGADE", "DB_", "STRIPE"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="restaurant.settings",
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CHANNEL_LAYER=args.layer,
        BRIGADE_DATA_DIR=data_dir,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


# --- PostgreSQL sampling ------------------------------------------------------------------------


class LockSampler(threading.Thread):
    """pg_stat_activity every 100 ms: sessions waiting on a lock, and connections."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.name_ = urlparse(url).path.lstrip("/")
        self.waiting: list[int] = []
        self.connections: list[int] = []
        self.running = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopped.is_set():
                if self.running.is_set():
                    row = conn.execute(
                        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
                        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        [self.name_],
                    ).fetchone()
                    self.waiting.append(row[0])
                    self.connections.append(row[1])
                time.sleep(0.1)

    def window(self):
        self.waiting, self.connections = [], []
        self.running.set()

    def figures(self) -> dict:
        self.running.clear()
        waiting = self.waiting or [0]
        return {
            "lock_waiting_mean": round(sum(waiting) / len(waiting), 2),
            "lock_waiting_max": max(waiting),
            "connections_max": max(self.connections or [0]),
        }


# --- websocket clients --------------------------------------------------------------------------


class Screen:
    """A kitchen screen (or a tablet): reads every frame, pings every 10 s like the real ones."""

    def __init__(self, index: int, station: str | None, kind: str):
        self.index = index
        self.station = station
        self.kind = kind
        self.arrivals: dict[int, float] = {}  # ticket id -> perf_counter at arrival
        self.frames = 0
        self.closed: int | None = None
        self.ws = None

    async def run(self, session, url: str, headers: dict, ready: asyncio.Event, marker: str):
        import aiohttp

        self.ws = await session.ws_connect(url, headers=headers, heartbeat=None, max_msg_size=0)
        ping_task = asyncio.create_task(self._ping())
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                self.frames += 1
                data = message.data
                if not ready.is_set() and '"hello"' in data:
                    ready.set()
                if marker in data:
                    now = time.perf_counter()
                    body = json.loads(data)
                    if body.get("type") == "events":  # Brigade: one frame per transaction
                        keys = [
                            e["data"]["ticket"]
                            for e in body["events"]
                            if e["type"] == "ticket.created"
                        ]
                    else:  # the bare baseline
                        keys = [body.get("i")]
                    for key in keys:
                        if key is not None and key not in self.arrivals:
                            self.arrivals[key] = now
        finally:
            ping_task.cancel()
            self.closed = self.ws.close_code

    async def _ping(self):
        n = 0
        while True:
            await asyncio.sleep(10)
            n += 1
            with contextlib.suppress(Exception):
                await self.ws.send_str(json.dumps({"type": "ping", "id": n}))


async def connect_all(session, specs, marker: str) -> tuple[list[Screen], list[asyncio.Task]]:
    screens, tasks, readies = [], [], []
    for index, (url, headers, station, kind) in enumerate(specs):
        screen = Screen(index, station, kind)
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(screen.run(session, url, headers, ready, marker)))
        screens.append(screen)
        readies.append(ready)
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    return screens, tasks


# --- one run at one rate ------------------------------------------------------------------------


async def brigade_rate(args, venue, servers, sampler, rate: float, duration: float) -> dict:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        specs = []
        for index, screen in enumerate(venue["screens"]):
            server = servers[index % len(servers)]
            specs.append(
                (
                    server.url.replace("http", "ws", 1) + f"/ws/kds/{screen['station']}/",
                    {"Origin": server.url, "Cookie": f"brigade_device={screen['token']}"},
                    screen["station"],
                    "screen",
                )
            )
        for index, pad in enumerate(venue["tablets"]):
            server = servers[(index + 1) % len(servers)]
            specs.append(
                (
                    server.url.replace("http", "ws", 1) + "/ws/pos/",
                    {
                        "Origin": server.url,
                        "Cookie": f"brigade_device={pad['token']}; sessionid={pad['session']}",
                    },
                    None,
                    "tablet",
                )
            )
        screens, tasks = await connect_all(session, specs, '"ticket.created"')
        kitchen = [s for s in screens if s.kind == "screen"]
        posts: dict[str, list[float]] = {"open": [], "line": [], "send": []}
        errors: list[str] = []
        expected: list[tuple[float, int, list[Screen]]] = []  # (send start, ticket, screens)
        done_at: list[float] = []

        async def post(server, pad, path, body, kind):
            started = time.perf_counter()
            async with session.post(
                server.url + "/api/v1/" + path,
                json=body,
                headers={
                    "Authorization": f"Bearer {pad['bearer']}",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            ) as response:
                payload = await response.json(content_type=None)
                posts[kind].append(time.perf_counter() - started)
                if response.status >= 300:
                    raise RuntimeError(f"{path}: {response.status} {payload}")
                return started, payload

        async def order(n: int):
            server = servers[n % len(servers)]
            pad = venue["tablets"][n % len(venue["tablets"])]
            try:
                _t, opened = await post(server, pad, "checks", {"kind": "takeaway"}, "open")
                check = opened["check"]["id"]
                lines = [
                    {"item": ln["item"], "modifiers": ln["modifiers"]} for ln in venue["lines"]
                ]
                if args.batch:  # the order's lines in one call
                    await post(server, pad, f"checks/{check}/lines", {"lines": lines}, "line")
                else:  # one call per line, as the tablet adds them
                    for body in lines:
                        await post(server, pad, f"checks/{check}/lines", body, "line")
                started, sent = await post(server, pad, f"checks/{check}/send", {}, "send")
                for ticket in sent["tickets"]:
                    targets = [
                        s
                        for s in kitchen
                        if s.station == ticket["station"] or s.station in venue["expo"]
                    ]
                    expected.append((started, ticket["id"], targets))
                done_at.append(time.perf_counter())
            except Exception as exc:
                errors.append(str(exc)[:300])

        cpu_before = {s.process.pid: cpu_seconds(s.process.pid) for s in servers}
        client_before = time.process_time()
        sampler.window()
        count = max(1, int(rate * duration))
        begin = time.perf_counter()
        orders = []
        for n in range(count):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            orders.append(asyncio.create_task(order(n)))
        await asyncio.gather(*orders)
        elapsed = (max(done_at) if done_at else time.perf_counter()) - begin
        await asyncio.sleep(3)  # let the last events land
        pg = sampler.figures()
        cpu = {pid: round(cpu_seconds(pid) - before, 2) for pid, before in cpu_before.items()}
        client_cpu = round(time.process_time() - client_before, 2)

        delays, delivered, wanted = [], 0, 0
        for started, ticket, targets in expected:
            for screen in targets:
                wanted += 1
                arrived = screen.arrivals.get(ticket)
                if arrived is not None:
                    delivered += 1
                    delays.append(arrived - started)
        closed = [s.index for s in screens if s.closed is not None]
        for screen in screens:
            await screen.ws.close()
        for task in tasks:
            task.cancel()
        all_posts = [v for values in posts.values() for v in values]
        return {
            "target_orders_per_s": rate,
            "orders": count,
            "orders_ok": len(done_at),
            "achieved_orders_per_s": round(len(done_at) / elapsed, 2) if elapsed > 0 else None,
            "errors": len(errors),
            "first_errors": errors[:3],
            "post": tail(all_posts),
            "post_by_kind": {kind: tail(values) for kind, values in posts.items()},
            "order_to_screen": tail(delays),
            "reach": round(delivered / wanted, 4) if wanted else None,
            "deliveries_expected": wanted,
            "sockets_closed_early": closed,
            "server_cpu_s": cpu,
            "client_cpu_s": client_cpu,
            "frames_received": sum(s.frames for s in screens),
            "frames_by_kind": {
                kind: sum(s.frames for s in screens if s.kind == kind)
                for kind in ("screen", "tablet")
            },
            **pg,
        }


async def bare_rate(args, servers, sockets: int, rate: float, duration: float) -> dict:
    """The same fan-out through a bare Channels app: one group_send per 'order'."""
    import aiohttp
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer_class = RedisPubSubChannelLayer if args.layer == "pubsub" else RedisChannelLayer
    layer = layer_class(hosts=[{"address": args.redis, "socket_timeout": 30}], prefix="bare")
    async with aiohttp.ClientSession() as session:
        specs = []
        for index in range(sockets):
            server = servers[index % len(servers)]
            specs.append(
                (
                    server.url.replace("http", "ws", 1) + "/ws/bare/",
                    {"Origin": server.url},
                    None,
                    "bare",
                )
            )
        screens, tasks = await connect_all(session, specs, '"i"')
        await asyncio.sleep(0.5)
        cpu_before = {s.process.pid: cpu_seconds(s.process.pid) for s in servers}
        sent: dict[int, float] = {}
        count = max(1, int(rate * duration))
        begin = time.perf_counter()
        for n in range(count):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[n] = time.perf_counter()
            await layer.group_send("bench", {"type": "bench.message", "text": json.dumps({"i": n})})
        await asyncio.sleep(3)
        cpu = {pid: round(cpu_seconds(pid) - before, 2) for pid, before in cpu_before.items()}
        delays, delivered = [], 0
        for n, started in sent.items():
            for screen in screens:
                arrived = screen.arrivals.get(n)
                if arrived is not None:
                    delivered += 1
                    delays.append(arrived - started)
        for screen in screens:
            await screen.ws.close()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await layer.flush()
        return {
            "target_per_s": rate,
            "messages": count,
            "delivery": tail(delays),
            "reach": round(delivered / (count * sockets), 4),
            "server_cpu_s": cpu,
        }


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# --- main -------------------------------------------------------------------------------------


def versions() -> dict:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "machine": platform.machine()}
    for name in ("django", "channels", "channels-redis", "daphne", "redis", "psycopg"):
        with contextlib.suppress(Exception):
            out[name] = version(name)
    out["cpus"] = os.cpu_count()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--layer", choices=("core", "pubsub"), default="core")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--http-threads", type=int, default=0, help="HTTP_THREADS of each server (0: default)"
    )
    parser.add_argument("--screens", type=int, default=30)
    parser.add_argument("--tablets", type=int, default=20)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument(
        "--batch", action="store_true", help="add an order's lines in one call (3 requests)"
    )
    parser.add_argument("--rates", default="2,20,100", help="orders per second, comma-separated")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per rate")
    parser.add_argument("--find-max", action="store_true", help="step the rate up to the limit")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--label", default="", help="a name for this run in the results file")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()

    rates = [float(r) for r in args.rates.split(",") if r]
    if args.find_max:
        rates = [10, 20, 40, 60, 80, 100, 125, 150, 200]
    data_dir = tempfile.mkdtemp(prefix="brigade-rush-")
    log_dir = Path(data_dir) / "logs"
    log_dir.mkdir()

    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CHANNEL_LAYER=args.layer,
        BRIGADE_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="restaurant.settings",
    )
    print(f"setting up {args.database} ...", flush=True)
    recreate_database(args.database)
    flush_redis(args.redis)
    venue = setup_venue(args.screens, args.tablets, args.lines)
    print(
        f"{len(venue['screens'])} screens, {len(venue['tablets'])} tablets, "
        f"{len(venue['lines'])} lines an order at stations "
        f"{sorted({line['station'] for line in venue['lines']})}",
        flush=True,
    )

    result = {
        "label": args.label,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "settings": {
            "layer": args.layer,
            "processes": args.processes,
            "screens": args.screens,
            "tablets": args.tablets,
            "lines_per_order": len(venue["lines"]),
            "lines_in_one_call": args.batch,
            "duration_s": args.duration,
            "http_threads": args.http_threads or "default",
        },
        "brigade": [],
        "baseline": [],
    }
    sampler = LockSampler(args.database)
    sampler.start()
    extra = {"HTTP_THREADS": str(args.http_threads)} if args.http_threads else {}
    servers = [
        Server(
            "restaurant.asgi:application",
            server_env(args, data_dir, **extra),
            log_dir,
            f"brigade-{i}",
        )
        for i in range(args.processes)
    ]
    try:
        for server in servers:
            server.wait("/healthz")
        print("servers:", " ".join(f"{s.process.pid}:{s.port}" for s in servers), flush=True)
        for rate in [] if args.baseline_only else rates:
            figures = asyncio.run(brigade_rate(args, venue, servers, sampler, rate, args.duration))
            result["brigade"].append(figures)
            print(
                f"brigade {rate:>6.0f}/s: achieved {figures['achieved_orders_per_s']}/s, "
                f"errors {figures['errors']}, POST p50 {figures['post']['p50']} "
                f"p99 {figures['post']['p99']} ms, to screen p50 "
                f"{figures['order_to_screen']['p50']} p99 {figures['order_to_screen']['p99']} ms, "
                f"reach {figures['reach']}, lock waits mean {figures['lock_waiting_mean']} "
                f"max {figures['lock_waiting_max']}, pg conns {figures['connections_max']}",
                flush=True,
            )
            if figures["first_errors"]:
                print("  e.g.", figures["first_errors"][0], flush=True)
            if args.find_max and (
                (figures["post"]["p99"] or 0) > POST_P99_TARGET_MS
                or (figures["achieved_orders_per_s"] or 0) < 0.9 * rate
                or figures["errors"]
            ):
                break
    finally:
        for server in servers:
            server.stop()
        sampler.stopped.set()

    if not args.no_baseline:
        flush_redis(args.redis)
        bare = [
            Server("bench.bare_asgi:application", server_env(args, data_dir), log_dir, f"bare-{i}")
            for i in range(args.processes)
        ]
        try:
            for server in bare:
                server.wait(None)
            for figures in result["brigade"] or [
                {"target_orders_per_s": r, "order_to_screen": {"p99": None}} for r in rates
            ]:
                rate = figures["target_orders_per_s"]
                base = asyncio.run(
                    bare_rate(args, bare, args.screens + args.tablets, rate, args.duration)
                )
                result["baseline"].append(base)
                ours, theirs = figures["order_to_screen"]["p99"], base["delivery"]["p99"]
                figures["p99_ratio_to_baseline"] = (
                    round(ours / theirs, 1) if ours and theirs else None
                )
                print(
                    f"baseline {rate:>5.0f}/s: p50 {base['delivery']['p50']} p99 "
                    f"{base['delivery']['p99']} ms, reach {base['reach']}, cpu "
                    f"{base['server_cpu_s']}; Brigade's p99 is "
                    f"{figures['p99_ratio_to_baseline']}x",
                    flush=True,
                )
        finally:
            for server in bare:
                server.stop()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"rush-{time.strftime('%Y%m%d-%H%M%S')}{'-' + args.label if args.label else ''}.json"
    (out / name).write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {out / name}  (server logs: {log_dir})")


if __name__ == "__main__":
    main()
