"""Settings: production refuses to start half-configured, defaults are safe, env switches work.

Most tests start `manage.py` in a subprocess, because settings are read once at import; each
gets a fresh BRIGADE_DATA_DIR and none of the configuration variables of this test run.
"""

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent

# Variables settings.py reads that must not leak from the environment of this test run.
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
    "SECURE_SSL_REDIRECT",
    "EMAIL_HOST",
    # tests/conftest.py sets this for Playwright; a deployment must not have it (async.E001)
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}

PRODUCTION = {
    "BRIGADE_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
    "ALLOWED_HOSTS": "pos.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://pos.example.com",
}


def manage(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    environ.update(
        DJANGO_SETTINGS_MODULE="restaurant.settings", BRIGADE_DATA_DIR=str(data_dir), **env
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def shell_json(data_dir: Path, code: str, **env: str):
    """Run `code` in `manage.py shell`; it must print one JSON document as its last line."""
    result = manage(data_dir, "shell", "-v", "0", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr
    # It did not fall back to generating a key of its own.
    assert not (tmp_path / "secret_key").exists()


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    env = {**PRODUCTION, "ALLOWED_HOSTS": ""}
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_unknown_environment_refuses_to_start(tmp_path):
    result = manage(tmp_path, "check", BRIGADE_ENV="staging")
    assert result.returncode != 0
    assert "BRIGADE_ENV" in result.stderr


def test_production_passes_the_deploy_check(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_production_turns_on_https_only_cookies_and_hsts(tmp_path):
    values = shell_json(
        tmp_path,
        "import json; from django.conf import settings as s; print(json.dumps(["
        "s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS > 0, s.ALLOWED_HOSTS, s.WHITENOISE_USE_FINDERS]))",
        **PRODUCTION,
    )
    assert values == [False, True, True, True, True, ["pos.example.com"], False]


def test_debug_is_off_by_default(tmp_path):
    values = shell_json(
        tmp_path,
        "import json; from django.conf import settings as s;"
        " print(json.dumps([s.DEBUG, s.PRODUCTION, s.WHITENOISE_USE_FINDERS]))",
    )
    # Off, in development too; static files are still served (whitenoise, from the finders).
    assert values == [False, False, True]


def test_development_keeps_a_generated_secret_key_in_the_data_dir(tmp_path):
    code = "import json; from django.conf import settings as s; print(json.dumps(s.SECRET_KEY))"
    first = shell_json(tmp_path, code)
    second = shell_json(tmp_path, code)
    assert len(first) >= 50
    assert first == second == (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_defaults_are_sqlite_in_the_data_dir_and_the_in_memory_layer(tmp_path):
    values = shell_json(
        tmp_path,
        "import json; from django.conf import settings as s; d = s.DATABASES['default'];"
        " print(json.dumps([d['ENGINE'], str(d['NAME']),"
        " s.CHANNEL_LAYERS['default']['BACKEND']]))",
    )
    assert values == [
        "restaurant.db.backends.sqlite3",
        str(tmp_path / "brigade.sqlite3"),
        "channels.layers.InMemoryChannelLayer",
    ]


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    # Only settings are read: nothing connects to these hosts.
    values = shell_json(
        tmp_path,
        "import json; from django.conf import settings as s; d = s.DATABASES['default'];"
        " c = s.CHANNEL_LAYERS['default'];"
        " print(json.dumps([d['ENGINE'], d['NAME'], d['HOST'], d['PORT'], d['USER'],"
        " c['BACKEND'], c['CONFIG']['hosts']]))",
        DATABASE_URL="postgres://brigade:secret@db.example.com:5433/brigade",
        REDIS_URL="redis://cache.example.com:6380/2",
    )
    assert values == [
        "restaurant.db.backends.postgresql",
        "brigade",
        "db.example.com",
        5433,
        "brigade",
        "channels_redis.core.RedisChannelLayer",
        [
            {
                "address": "redis://cache.example.com:6380/2",
                "socket_timeout": 30.0,
                "socket_connect_timeout": 5,
                "socket_keepalive": True,
            }
        ],
    ]


# A file database, as `make run` uses it: WAL, foreign keys, and writers that take the lock
# at BEGIN (so a second writer waits instead of failing half-way with "database is locked").
SQLITE_PROBE = """
import json, sqlite3
from django.db import connection, transaction
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal_mode = cursor.fetchone()[0]
    cursor.execute("PRAGMA foreign_keys")
    foreign_keys = cursor.fetchone()[0]
with transaction.atomic():
    # No write yet: with IMMEDIATE transactions the write lock is taken at BEGIN anyway.
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        locked = False
        other.rollback()
    except sqlite3.OperationalError as exc:
        locked = "locked" in str(exc)
    other.close()
print(json.dumps([journal_mode, foreign_keys, locked]))
"""


def test_embedded_sqlite_uses_wal_foreign_keys_and_immediate_transactions(tmp_path):
    migrate = manage(tmp_path, "migrate", "--noinput", "-v", "0")
    assert migrate.returncode == 0, migrate.stderr
    assert shell_json(tmp_path, SQLITE_PROBE) == ["wal", 1, True]
    # WAL is a property of the file: a plain connection without Django's pragmas sees it too.
    plain = sqlite3.connect(tmp_path / "brigade.sqlite3")
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        plain.close()


@pytest.mark.django_db
def test_this_runs_database_connection_is_configured_for_integrity():
    """The connection the suite itself runs on (SQLite by default, PostgreSQL in CI)."""
    if connection.vendor == "postgresql":
        # Foreign keys are always enforced there; SQLite needs its pragmas (checked below).
        # Connections come from a bounded pool per process, never one kept per thread.
        assert connection.settings_dict["CONN_MAX_AGE"] == 0
        assert connection.settings_dict["OPTIONS"]["pool"]["max_size"] >= 1
        assert connection.pool is not None
        return
    assert connection.vendor == "sqlite"
    assert connection.transaction_mode == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
    # The test database is in memory unless SQLITE_TEST_PATH names a file; memory has no WAL
    # (the subprocess test above checks WAL on a real file).
    assert journal_mode == ("memory" if connection.is_in_memory_db() else "wal")
