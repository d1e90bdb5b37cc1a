"""Brigade settings: one module, driven by environment variables, with embedded defaults.

Every variable is documented in README.md ("Configuration"). Defaults give the demo:
SQLite in var/, the in-memory channel layer, DEBUG off, a generated SECRET_KEY kept in var/.
`BRIGADE_ENV=production` turns on the production rules (SECRET_KEY and ALLOWED_HOSTS required,
HTTPS-only cookies, HSTS, ...).
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BRIGADE_DATA_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


ENVIRONMENT = os.environ.get("BRIGADE_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("BRIGADE_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when BRIGADE_ENV=production")
    # Demo / development: generate once and keep it in the data directory, so sessions
    # and PIN digests survive a restart.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# PINs are looked up by an HMAC keyed with this secret (see restaurant/pins.py). It defaults
# to SECRET_KEY; set it separately to rotate SECRET_KEY without resetting every PIN.
PIN_SECRET = os.environ.get("PIN_SECRET", "") or SECRET_KEY

if PRODUCTION:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when BRIGADE_ENV=production")
else:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "restaurant.apps.RestaurantConfig",
    "orders.apps.OrdersConfig",
    "kitchen.apps.KitchenConfig",
    "payments.apps.PaymentsConfig",
    "pos.apps.PosConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "restaurant.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "restaurant.urls"
WSGI_APPLICATION = "restaurant.wsgi.application"
ASGI_APPLICATION = "restaurant.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Brigade's backends are Django's, with the realtime event log written just before COMMIT
# (restaurant/db/backends/events.py).
BACKENDS = {
    "django.db.backends.postgresql": "restaurant.db.backends.postgresql",
    "django.db.backends.sqlite3": "restaurant.db.backends.sqlite3",
}
# PostgreSQL connections come from a pool per server process (psycopg_pool through Django):
# under an ASGI server every request runs in a thread of its own, and a connection kept per
# thread (CONN_MAX_AGE) would be a new connection per request, left open afterwards.
DB_POOL_MIN_SIZE = int(os.environ.get("DB_POOL_MIN_SIZE", "2"))
DB_POOL_MAX_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", "8"))
DB_POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "10"))
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Shown in pg_stat_activity, so an operator sees whose connections these are.
        _db.setdefault("OPTIONS", {})["application_name"] = os.environ.get(
            "DB_APPLICATION_NAME", "brigade"
        )
        _db["OPTIONS"]["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
            # A connection idle this long is closed (down to min_size).
            "max_idle": 300,
        }
    _db["ENGINE"] = BACKENDS.get(_db["ENGINE"], _db["ENGINE"])
    DATABASES = {"default": _db}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": BACKENDS["django.db.backends.sqlite3"],
            "NAME": os.environ.get("SQLITE_PATH", str(DATA_DIR / "brigade.sqlite3")),
            "OPTIONS": {
                # Writers take the lock at BEGIN, so two writers queue instead of failing
                # half-way with "database is locked"; WAL lets readers run beside a writer.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=20000;"
                ),
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- HTTP under daphne (restaurant/http_bridge.py) -------------------------------------------
# Threads per server process running Django's views; by default as many as it has database
# connections, so a request never waits in a thread for a connection.
HTTP_THREADS = int(os.environ.get("HTTP_THREADS", "0")) or (DB_POOL_MAX_SIZE if DATABASE_URL else 8)
HTTP_MAX_BODY_BYTES = int(os.environ.get("HTTP_MAX_BODY_BYTES", str(16 * 1024 * 1024)))

# --- Channels -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# channels_redis blocks on an empty channel for 5 s (BZPOPMIN); redis-py's default socket read
# timeout is also 5 s, so an idle socket's read could time out first and close a screen's
# websocket (1011). Reads wait well past the layer's blocking read.
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "30"))
CHANNEL_LAYER_KINDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER", "core").strip().lower()
if CHANNEL_LAYER not in CHANNEL_LAYER_KINDS:
    raise ImproperlyConfigured("CHANNEL_LAYER must be 'core' or 'pubsub'")
if REDIS_URL:
    _redis_host = {
        "address": REDIS_URL,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
    }
    _layer_config: dict = {
        "hosts": [_redis_host],
        "prefix": os.environ.get("CHANNELS_PREFIX", "brigade"),
    }
    if CHANNEL_LAYER == "core":
        _layer_config["capacity"] = int(os.environ.get("CHANNELS_CAPACITY", "100"))
        _layer_config["expiry"] = 60
    CHANNEL_LAYERS = {
        "default": {"BACKEND": CHANNEL_LAYER_KINDS[CHANNEL_LAYER], "CONFIG": _layer_config}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ----------------------------------------------------------------------------------
_email_host = os.environ.get("EMAIL_HOST", "")
if _email_host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email_host
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "brigade@localhost")

# --- Stripe (payments/stripe_api.py is the only module that talks to it) ----------------------
# STRIPE_API_BASE unset: real Stripe (test or live keys). `make run` points it at the local
# emulator (`manage.py stripe_emulator`), with the emulator's development keys as defaults.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").strip().rstrip("/")
_emulated = bool(STRIPE_API_BASE) and not PRODUCTION
STRIPE_SECRET_KEY = os.environ.get(
    "STRIPE_SECRET_KEY", "sk_test_brigade_emulator" if _emulated else ""
)
STRIPE_WEBHOOK_SECRET = os.environ.get(
    "STRIPE_WEBHOOK_SECRET", "whsec_brigade_emulator" if _emulated else ""
)
STRIPE_EMULATOR_PORT = int(os.environ.get("STRIPE_EMULATOR_PORT", "12111"))
STRIPE_WEBHOOK_URL = os.environ.get(
    "STRIPE_WEBHOOK_URL", "http://127.0.0.1:8000/payments/stripe/webhook/"
)
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
# Seconds a card payment may wait for its webhook before the tablet's polling asks Stripe.
STRIPE_POLL_AFTER_SECONDS = float(os.environ.get("STRIPE_POLL_AFTER_SECONDS", "3"))

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The SDK logs every request at INFO; the emulator logs its side already.
        "stripe": {"level": "WARNING"},
    },
}

# --- Brigade --------------------------------------------------------------------------------
BRIGADE_DEFAULT_VENUE = os.environ.get("BRIGADE_DEFAULT_VENUE", "")
# Tablets sign the staff member out after this many seconds without a tap.
POS_IDLE_LOCK_SECONDS = int(os.environ.get("POS_IDLE_LOCK_SECONDS", "120"))
# How long a staff token from POST /api/v1/auth/pin stays valid (API clients).
POS_STAFF_TOKEN_HOURS = int(os.environ.get("POS_STAFF_TOKEN_HOURS", "12"))

# Kitchen printing (kitchen/print_worker.py)
PRINT_MAX_ATTEMPTS = int(os.environ.get("PRINT_MAX_ATTEMPTS", "3"))  # then the backup printer
PRINT_RETRY_BASE_SECONDS = float(os.environ.get("PRINT_RETRY_BASE_SECONDS", "2"))
PRINT_RETRY_MAX_SECONDS = float(os.environ.get("PRINT_RETRY_MAX_SECONDS", "60"))
PRINT_SOCKET_TIMEOUT = float(os.environ.get("PRINT_SOCKET_TIMEOUT", "5"))
PRINT_POLL_SECONDS = float(os.environ.get("PRINT_POLL_SECONDS", "1"))
PRINT_STALE_SECONDS = float(os.environ.get("PRINT_STALE_SECONDS", "120"))
PRINT_GIVE_UP_SECONDS = float(os.environ.get("PRINT_GIVE_UP_SECONDS", "600"))
