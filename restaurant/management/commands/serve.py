"""`manage.py serve`: run the whole product for the demo under one small supervisor.

It starts the ASGI server (daphne) and every helper process in `EXTRA_PROCESSES` as child
processes, waits until GET /healthz answers, prints a banner with the URLs and the demo logins,
and then watches the children. Ctrl-C or SIGTERM stops them all (terminate, wait, then kill);
if any child dies on its own, the rest are stopped and the command exits non-zero.

To add a process (print worker, virtual printer, Stripe emulator), add one line to
`EXTRA_PROCESSES`; to show a new page in the banner, add one line to `BANNER_URLS`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.urls import Resolver404, resolve


def manage(*args: str) -> list[str]:
    """argv for a `manage.py` command run with this Python."""
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


# Helper processes started beside the web server, as (name, argv). For example:
#     ("print-worker", manage("print_worker")),
#     ("virtual-printer", manage("virtual_printer", "--port", "9100")),
EXTRA_PROCESSES: list[tuple[str, list[str]]] = [
    # The demo venue's printers: kitchen 9101, bar 9102, office backup 9103, receipts 9104.
    ("virtual-printer", manage("virtual_printer", "--port", "9101-9104", "--allow-busy")),
    ("print-worker", manage("print_worker")),
]

# Pages shown in the banner, as (path, label). A path is only shown once it resolves, so an
# entry may be listed before its app lands.
BANNER_URLS: list[tuple[str, str]] = [
    ("/admin/", "Back office"),
    ("/pos/", "Tablet POS"),
    ("/kds/", "Kitchen display"),
    ("/payments/readers/", "Simulated card readers"),
    ("/healthz", "Health check"),
]


def stripe_emulated() -> bool:
    """`make run` points STRIPE_API_BASE at the local emulator: serve starts it."""
    base = settings.STRIPE_API_BASE
    return base.startswith(("http://127.0.0.1:", "http://localhost:")) and not settings.PRODUCTION


def stripe_emulator_child(port: int) -> Child:
    return Child(
        "stripe-emulator",
        manage(
            "stripe_emulator",
            "--port",
            str(settings.STRIPE_EMULATOR_PORT),
            "--webhook-url",
            f"http://127.0.0.1:{port}/payments/stripe/webhook/",
        ),
    )


READY_TIMEOUT = 60.0  # seconds to wait for /healthz after starting daphne
STOP_TIMEOUT = 10.0  # seconds a child gets to exit after SIGTERM before it is killed
POLL_INTERVAL = 0.2


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by us, not from input
            self.argv,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            # Own process group: a terminal's Ctrl-C reaches only the supervisor, which then
            # stops the children in order instead of them racing to exit on their own.
            start_new_session=True,
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM if the supervisor itself dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except Exception:  # noqa: S110 - best effort; the supervisor still stops children itself
        pass


def _client_host(host: str) -> str:
    """The address to reach a server bound to `host` (a wildcard bind is reached on loopback)."""
    if host in {"", "0.0.0.0"}:  # noqa: S104 - a comparison, not a bind
        return "127.0.0.1"
    if host in {"::", "[::]"}:
        return "[::1]"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _healthy(url: str) -> bool:
    # No proxies: a http_proxy in the environment must not intercept a loopback check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _path_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _demo_logins() -> list[dict]:
    try:
        from restaurant.demo.seed import DEMO_LOGINS
    except ImportError:
        return []
    return list(DEMO_LOGINS)


def login_lines() -> list[str]:
    """Staff per venue, read from the database, with the demo PINs and passwords that still work.

    PINs are stored as keyed digests, so the clear PINs come from the demo seed's DEMO_LOGINS;
    each one is shown only if it still matches the database (a changed PIN is not printed).
    """
    from restaurant.models import StaffMember, Venue
    from restaurant.pins import pin_digest

    demo = _demo_logins()
    lines: list[str] = []
    try:
        venues = list(Venue.objects.prefetch_related("staff__user"))
    except DatabaseError:
        return ["  (no database tables yet: run `manage.py migrate`)"]
    if not venues:
        return ["  (no venues yet: run `manage.py seed_demo` or add one in the back office)"]
    back_office_roles = {StaffMember.Role.OWNER, StaffMember.Role.MANAGER}
    for venue in venues:
        lines.append(f"  {venue.name}")
        # Owners and managers first (they have back office logins), then by name.
        staff = sorted(
            (s for s in venue.staff.all() if s.is_active),
            key=lambda s: (s.role not in back_office_roles, s.role != "owner", s.display_name),
        )
        if not staff:
            lines.append("    (no active staff)")
        rows = []
        for member in staff:
            login = next((d for d in demo if d.get("name") == member.display_name), None)
            pin = account = ""
            if login:
                demo_pin = str(login.get("pin") or "")
                if demo_pin and pin_digest(venue_id=venue.pk, pin=demo_pin) == member.pin_digest:
                    pin = demo_pin
                user = member.user
                password = login.get("password")
                if (
                    member.role in back_office_roles
                    and password
                    and login.get("username") == user.get_username()
                    and user.is_active
                    and user.is_staff
                    and user.check_password(password)
                ):
                    account = f"{user.get_username()} / {password}"
            rows.append((member.display_name, member.get_role_display(), pin, account))
        if rows:
            name_w = max(len("Name"), *(len(r[0]) for r in rows))
            role_w = max(len("Role"), *(len(str(r[1])) for r in rows))
            show_pin = any(r[2] for r in rows)
            show_account = any(r[3] for r in rows)
            header = f"    {'Name':<{name_w}}  {'Role':<{role_w}}"
            if show_pin:
                header += "  PIN   "
            if show_account:
                header += "  Back office login"
            lines.append(header.rstrip())
            for name, role, pin, account in rows:
                line = f"    {name:<{name_w}}  {role!s:<{role_w}}"
                if show_pin:
                    line += f"  {pin or '-':<6}"
                if show_account:
                    line += f"  {account}"
                lines.append(line.rstrip())
    if demo:
        lines.append("")
        lines.append("  These are demo logins: change every PIN and password before real use.")
    return lines


def banner(base_url: str) -> str:
    lines = ["", "Brigade is running. Press Ctrl-C to stop.", ""]
    urls = [(path, label) for path, label in BANNER_URLS if _path_exists(path)]
    width = max(len(label) for _, label in urls)
    lines += [f"  {label:<{width}}  {base_url}{path}" for path, label in urls]
    lines += ["", "Staff:"]
    lines += login_lines()
    lines.append("")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Run the web server and helper processes for the demo, and print the demo logins."
    requires_system_checks = []  # `make run` has just run them (migrate); start fast

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (8000).")

    def handle(self, *args, host: str, port: int, **options):
        base_url = f"http://{_client_host(host)}:{port}"
        children = [
            Child(
                "web",
                [
                    sys.executable,
                    "-m",
                    "restaurant.webserver",  # daphne, with secrets redacted from its log
                    "-b",
                    host.strip("[]"),
                    "-p",
                    str(port),
                    "restaurant.asgi:application",
                ],
            ),
            *(Child(name, list(argv)) for name, argv in EXTRA_PROCESSES),
        ]
        if stripe_emulated():
            children.append(stripe_emulator_child(port))

        self._signal: int | None = None

        def on_signal(signum, frame):
            self._signal = signum

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        failure: str | None = None
        try:
            for child in children:
                self.stdout.write(f"serve: starting {child.name}: {' '.join(child.argv)}")
                child.start()
            failure = self._wait_ready(children, base_url + "/healthz")
            if failure is None and self._signal is None and stripe_emulated():
                failure = (
                    self._wait_ready(children, settings.STRIPE_API_BASE + "/_emulator/health")
                    or self._stripe_demo()
                )
            if failure is None and self._signal is None:
                self.stdout.write(banner(base_url))
                self.stdout.flush()
                failure = self._watch(children)
            if self._signal is not None:
                self.stdout.write(f"serve: {signal.Signals(self._signal).name}, stopping")
        finally:
            # A second Ctrl-C must not abort the shutdown half-way.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            self._stop_all(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure:
            raise CommandError(failure)
        self.stdout.write("serve: stopped")

    def _stripe_demo(self) -> str | None:
        """Readers and locations exist again in the emulator's fresh memory."""
        from payments.demo import terminal_demo_ensure
        from restaurant.errors import DomainError

        try:
            terminal_demo_ensure(log=lambda line: self.stdout.write(f"serve: {line}"))
        except (DomainError, DatabaseError) as exc:
            self.stdout.write(f"serve: the Stripe demo set-up failed: {exc}")
        return None

    def _first_exited(self, children: list[Child]) -> str | None:
        for child in children:
            code = child.exit_code()
            if code is not None:
                return f"{child.name} exited with code {code}; stopped the other processes"
        return None

    def _wait_ready(self, children: list[Child], url: str) -> str | None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self._signal is None:
            failure = self._first_exited(children)
            if failure:
                return failure
            if _healthy(url):
                return None
            time.sleep(POLL_INTERVAL)
        if self._signal is not None:
            return None
        return f"{url} did not answer within {READY_TIMEOUT:.0f}s"

    def _watch(self, children: list[Child]) -> str | None:
        while self._signal is None:
            failure = self._first_exited(children)
            if failure:
                return failure
            time.sleep(POLL_INTERVAL)
        return None

    def _stop_all(self, children: list[Child]) -> None:
        running = [c for c in reversed(children) if c.exit_code() is None and c.process]
        for child in running:
            child.process.terminate()  # a no-op if it has exited meanwhile
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"serve: {child.name} did not stop in time; killing it")
                child.process.kill()
                child.process.wait()
