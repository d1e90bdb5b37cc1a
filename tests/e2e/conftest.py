"""The real product in a subprocess, started the way `make run` starts it.

`brigade_server` (one per test module) runs `manage.py migrate`, `seed_demo --if-empty` (when
that command exists, else a superuser is created) and `manage.py serve` on a free port, with a
fresh BRIGADE_DATA_DIR and the embedded defaults (SQLite, in-memory channel layer, DEBUG off).
It yields a `Server` with the base URL and a back office login, and stops the server after the
module. Browser tests combine it with `tablet_page` from tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Browser tests save what they saw here; `SCREENSHOT_DIR=docs/screenshots make test` refreshes
# the pictures the README links to.
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "brigade-shots"
)
SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

# Variables that would make the server differ from `make run` on a fresh machine.
CONFIG_VARS = {
    "BRIGADE_ENV",
    "SECRET_KEY",
    "PIN_SECRET",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DEBUG",
    "DATABASE_URL",
    "SQLITE_PATH",
    "SQLITE_TEST_PATH",
    "REDIS_URL",
    "STATIC_ROOT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright; not in `make run`
    "STRIPE_API_BASE",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_EMULATOR_PORT",
    "STRIPE_WEBHOOK_URL",
}
SMOKE_ADMIN = ("smoke-admin", "smoke-Admin-password-1")


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="restaurant.settings",
        BRIGADE_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**server_env(data_dir), **extra_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


def demo_owner() -> dict | None:
    """The demo owner from the seed module (with a back office password), if there is one."""
    try:
        from restaurant.demo.seed import DEMO_LOGINS
    except ImportError:
        return None
    return next(
        (
            login
            for login in DEMO_LOGINS
            if str(login.get("role", "")).lower() == "owner" and login.get("password")
        ),
        None,
    )


def seed_demo_available() -> bool:
    from django.core.management import get_commands

    return "seed_demo" in get_commands()


def prepare_data_dir(data_dir: Path) -> tuple[str, str]:
    """Migrate and seed `data_dir` like `make run`; return a back office (username, password)."""
    manage(data_dir, "migrate", "--noinput", "-v", "0")
    if seed_demo_available():
        manage(data_dir, "seed_demo", "--if-empty")
        owner = demo_owner()
        if owner:
            return owner["username"], owner["password"]
    username, password = SMOKE_ADMIN
    manage(
        data_dir,
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.test",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    return username, password


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """GET without any proxy from the environment; returns status, headers, body."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    data_dir: Path
    username: str
    password: str
    stripe_url: str = ""  # the Stripe emulator this server talks to

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        """PIDs of the supervisor's child processes (Linux /proc)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()  # its children get SIGTERM from the kernel (PDEATHSIG)
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, login: tuple[str, str], timeout: float = 60) -> Server:
    """`manage.py serve` on a free port; returns once GET /healthz answers 200."""
    port = free_port()
    stripe_port = free_port()  # like `make run`: the local Stripe emulator, on a port of its own
    log_path = data_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env={
                **server_env(data_dir),
                "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
                "STRIPE_EMULATOR_PORT": str(stripe_port),
            },
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, data_dir, *login)
    server.stripe_url = f"http://127.0.0.1:{stripe_port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{server.log()}")
        try:
            if http_get(server.url + "/healthz", timeout=2)[0] == 200 and "running" in server.log():
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"serve did not answer /healthz within {timeout}s:\n{server.log()}")


@pytest.fixture(scope="module")
def brigade_data_dir(tmp_path_factory) -> tuple[Path, tuple[str, str]]:
    """A migrated, seeded data directory and a back office login for it."""
    data_dir = tmp_path_factory.mktemp("brigade-data")
    return data_dir, prepare_data_dir(data_dir)


@pytest.fixture(scope="module")
def brigade_server(brigade_data_dir):
    data_dir, login = brigade_data_dir
    server = start_server(data_dir, login)
    try:
        yield server
    finally:
        server.stop()
