"""EventHub settings. Everything that differs between machines comes from the environment, read here only."""

import ipaddress
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

from eventhub.local_key import local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def _settings_error(message: str) -> None:
    """A setting that cannot work: one line on stderr and exit status 2, which reads better than a traceback."""
    sys.stderr.write(f"EventHub settings: {message}\n")
    raise SystemExit(2)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(name: str, default: bool) -> bool:
    """Strict: a typo such as DEBUG=ture is an error at start-up, not a flag silently turned off."""
    value = os.environ.get(name, str(default)).strip().lower()
    if value not in _TRUE | _FALSE:
        _settings_error(f"{name} must be one of 1/0, true/false, yes/no, on/off, not {os.environ[name]!r}")
    return value in _TRUE


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        _settings_error(f"{name} must be a number, not {os.environ[name]!r}")


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        _settings_error(f"{name} must be a whole number, not {os.environ[name]!r}")


DEBUG = _env_bool("DEBUG", False)
# Without SECRET_KEY (a checkout on a laptop), a key generated once under .eventhub/ serves every process
# started here; servers behind a load balancer need the same SECRET_KEY set on each.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    try:
        SECRET_KEY = local_secret_key(BASE_DIR / ".eventhub")
    except OSError as error:
        _settings_error(f"set SECRET_KEY, or let EventHub keep one in {BASE_DIR / '.eventhub'} ({error})")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "dashboard",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard.ui.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "eventhub.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = "eventhub.wsgi.application"
ASGI_APPLICATION = "eventhub.asgi.application"

# SQLite (WAL, immediate transactions so writers queue instead of failing) is the embedded default;
# PostgreSQL uses psycopg's pool because CONN_MAX_AGE leaks connections under ASGI.
try:
    DATABASES = {
        "default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    }
except ValueError as error:
    _settings_error(f"DATABASE_URL is not a database URL ({error})")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so servers and workers started by tests share the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("EVENTHUB_SQLITE_TEST_NAME", str(BASE_DIR / "test-db.sqlite3"))
    }
else:
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 2, "max_size": _env_int("DATABASE_POOL_SIZE", 20), "timeout": 10}
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("EVENTHUB_REDIS_PREFIX", "eventhub") + ":asgi"},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Login throttling (django-axes), for the dashboard and the admin alike: after this many failures in a row
# for one username, or from one client address, logins are refused for the cool-off (a failure during the
# lockout restarts it). `manage.py axes_reset` (or the admin's "Access attempts") lifts a lockout.
# Behind a reverse proxy, run Daphne with --proxy-headers so the address is the client's, not the proxy's.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = _env_int("EVENTHUB_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(seconds=_env_float("EVENTHUB_LOGIN_COOLOFF_SECONDS", 900.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no start-up banner on every manage.py command; failures and lockouts are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Production hardening: on unless DEBUG, so `manage.py check --deploy` passes with DEBUG off.
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # LOG_FORMAT=json: one JSON object per line, for log collectors.
    "formatters": {"json": {"()": "dashboard.observability.json_logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"}
        | ({"formatter": "json"} if os.environ.get("LOG_FORMAT", "").lower() == "json" else {})
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# EventHub's own knobs. Limits follow EventBridge where it has them.
EVENTHUB = {
    "MAX_ENTRY_BYTES": _env_int("EVENTHUB_MAX_ENTRY_BYTES", 256 * 1024),
    "MAX_BATCH_ENTRIES": _env_int("EVENTHUB_MAX_BATCH_ENTRIES", 10),
    "MAX_JSON_DEPTH": _env_int("EVENTHUB_MAX_JSON_DEPTH", 64),
    "ACCOUNT": os.environ.get("EVENTHUB_ACCOUNT", "000000000000"),
    "REGION": os.environ.get("EVENTHUB_REGION", "local-1"),
    # Threads (each with its own database connection) that store published batches concurrently.
    "INGEST_THREADS": _env_int("EVENTHUB_INGEST_THREADS", 4),
    "REDIS_PREFIX": os.environ.get("EVENTHUB_REDIS_PREFIX", "eventhub"),
    # Retry schedule: delay = random(0, min(cap, base * 2**attempt)) (full jitter).
    "RETRY_BASE_SECONDS": _env_float("EVENTHUB_RETRY_BASE_SECONDS", 1.0),
    "RETRY_CAP_SECONDS": _env_float("EVENTHUB_RETRY_CAP_SECONDS", 300.0),
    # Hosts or networks webhooks may reach although they are not public (the demo and tests allow loopback).
    "WEBHOOK_ALLOW_NETWORKS": [n for n in os.environ.get("EVENTHUB_WEBHOOK_ALLOW_NETWORKS", "").split(",") if n],
    # Python targets may only name registered handlers: modules whose @eventhub_handler functions register
    # on import, or dotted paths of callables (the shop demo's warehouse, plus EVENTHUB_HANDLERS).
    "HANDLERS": [
        "dashboard.shop.orders.ship_new_order",
        *(h for h in os.environ.get("EVENTHUB_HANDLERS", "").split(",") if h),
    ],
    # Dispatch workers (manage.py dispatch). A delivery held longer than the visibility timeout is presumed
    # abandoned and taken over, so it must exceed the longest target timeout (60 s) plus a margin.
    "DISPATCH_CONCURRENCY": _env_int("EVENTHUB_DISPATCH_CONCURRENCY", 64),
    "DISPATCH_PREFETCH": _env_int("EVENTHUB_DISPATCH_PREFETCH", 512),
    "VISIBILITY_TIMEOUT_SECONDS": _env_float("EVENTHUB_VISIBILITY_TIMEOUT_SECONDS", 70.0),
    "RECLAIM_INTERVAL_SECONDS": _env_float("EVENTHUB_RECLAIM_INTERVAL_SECONDS", 5.0),
    "DELAYED_POLL_SECONDS": _env_float("EVENTHUB_DELAYED_POLL_SECONDS", 0.1),
    # The sweeper re-enqueues unfinished deliveries overdue by more than the grace (lost from Redis).
    "SWEEP_INTERVAL_SECONDS": _env_float("EVENTHUB_SWEEP_INTERVAL_SECONDS", 5.0),
    "SWEEP_GRACE_SECONDS": _env_float("EVENTHUB_SWEEP_GRACE_SECONDS", 60.0),
    "SWEEP_BATCH": _env_int("EVENTHUB_SWEEP_BATCH", 5000),
    # A delivery whose worker died this many times is dead-lettered as worker_lost (poison event).
    "WORKER_LOST_LIMIT": _env_int("EVENTHUB_WORKER_LOST_LIMIT", 3),
    "RESPONSE_EXCERPT_BYTES": _env_int("EVENTHUB_RESPONSE_EXCERPT_BYTES", 2048),
    # Event sourcing: modules whose aggregates and projections register themselves on import.
    "EVENT_SOURCING_MODULES": ["dashboard.shop.orders", "dashboard.shop.projections"],
    "PROJECTION_BATCH": _env_int("EVENTHUB_PROJECTION_BATCH", 500),
    # How long a reader of the global log waits for in-flight transactions to fill a gap in positions.
    "LOG_GAP_WAIT_SECONDS": _env_float("EVENTHUB_LOG_GAP_WAIT_SECONDS", 2.0),
    "REPLAY_DEFAULT_RATE": _env_float("EVENTHUB_REPLAY_DEFAULT_RATE", 100.0),
    "RETENTION_INTERVAL_SECONDS": _env_float("EVENTHUB_RETENTION_INTERVAL_SECONDS", 3600.0),
    # After an API key is rotated, its previous secret keeps working this long (clients switch meanwhile).
    "API_KEY_ROTATION_GRACE_SECONDS": _env_float("EVENTHUB_API_KEY_ROTATION_GRACE_SECONDS", 86400.0),
    # /readyz fails while no dispatch worker heartbeats; off for web servers probed apart from the workers.
    "READY_NEEDS_WORKERS": _env_bool("EVENTHUB_READY_NEEDS_WORKERS", True),
    # OpenTelemetry spans (dashboard/observability/tracing.py); the exporter is set by the standard OTEL_* variables.
    "TRACING": _env_bool("EVENTHUB_TRACING", False),
    # Networks whose clients may scrape /metrics without an API key (e.g. the Prometheus server's).
    "METRICS_ALLOW_NETWORKS": [n for n in os.environ.get("EVENTHUB_METRICS_ALLOW_NETWORKS", "").split(",") if n],
}
for _network in EVENTHUB["METRICS_ALLOW_NETWORKS"]:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        _settings_error(f"EVENTHUB_METRICS_ALLOW_NETWORKS: {_network!r} is not a network such as 10.0.0.0/8")
# A whole batch of maximum-size entries fits; anything larger is answered 413 by the API.
DATA_UPLOAD_MAX_MEMORY_SIZE = EVENTHUB["MAX_ENTRY_BYTES"] * EVENTHUB["MAX_BATCH_ENTRIES"] + 64 * 1024
