"""Shared fixtures and the rules for tests that need outside services.

Markers: `postgres`, `redis`, `browser`. Where the service is absent such a test is skipped
with a reason, so a newcomer's `make test` passes on embedded defaults. With
REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the test instead, and any skip at
all fails the run.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _service_missing(marker: str) -> str | None:
    """Why the service behind `marker` cannot be used here, or None when it can."""
    if marker == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "restaurant.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
    elif marker == "redis":
        url = os.environ.get("REDIS_URL", "")
        if not url:
            return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
        if not _reachable(url, 6379):
            return f"Redis at {url} is not reachable"
    elif marker == "browser":
        if not os.path.exists(CHROMIUM):
            return "needs headless Chromium: apt-get install chromium"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs the playwright package (make venv)"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker):
            reason = _service_missing(marker)
            if reason:
                if REQUIRE_SERVICES:
                    pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
                pytest.skip(reason)


def pytest_sessionfinish(session, exitstatus):
    if not REQUIRE_SERVICES:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(
                f"REQUIRE_SERVICES=1: {skipped} test(s) were skipped; every test must run.",
                red=True,
            )
        session.exitstatus = 1


def _forget_connections() -> None:
    """Drop this thread's database connections (the in-memory test database ignores close())."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()
        del connections[conn.alias]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles count failures in Django's cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _responses_match_the_document(monkeypatch):
    """Every /api/v1/ response a test gets from django.test.Client is checked against the
    generated OpenAPI document (tests/api_document.py)."""
    from tests import api_document

    api_document.install(monkeypatch)
    yield


@pytest.fixture(autouse=True)
def _channels_thread_without_connections(request):
    """After a websocket test, leave Channels' database thread without a connection.

    Channels runs consumers' sync database code in asgiref's one shared thread, which outlives
    the test; a connection left there would be touched (and refused) by later tests.
    """
    yield
    if request.node.get_closest_marker("django_db") is None:
        return
    import asyncio

    from asgiref.sync import sync_to_async

    asyncio.run(sync_to_async(_forget_connections)())


@pytest.fixture
def chromium_browser(monkeypatch):
    """A headless Debian Chromium driven by Playwright (never Playwright's own download)."""
    # Playwright's sync API runs an event loop in this thread; the ORM must still be usable.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tablet_page(chromium_browser):
    """A page at 1024x768 with touch, like the tablets on the floor."""
    context = chromium_browser.new_context(
        viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
