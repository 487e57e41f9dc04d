"""Livefeed settings, read once from the environment (12-factor).

The defaults serve the embedded mode (a SQLite file and the in-memory channel layer, so a
newcomer needs no services), except DEBUG, which is off unless set: `make run` and the tests set
DEBUG=true. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS, and runs
`manage.py collectstatic`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LIVEFEED_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Off unless asked for: `make run` and the tests turn it on for themselves.
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not DEBUG:
    # Refuse to serve readers with a key anyone could know: missing, short, or a placeholder.
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if (
        len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
        or SECRET_KEY.startswith("django-insecure")
        or any(word in SECRET_KEY.lower() for word in ("change-me", "changeme", "secret-key", "replace-me"))
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY looks like a default or is too short: use at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
elif not SECRET_KEY:
    # Embedded mode: a key generated once and kept in the ignored var/ folder, never published.
    from django.core.management.utils import get_random_secret_key

    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(get_random_secret_key())
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "feeds",
]
# Features that plug into the core, each a Django app of its own. LIVEFEED_PLUGINS lists the ones
# to run (comma-separated; set but empty runs the core alone); unset runs all four.
PLUGINS = ["feeds.timing", "feeds.messaging", "feeds.webhooks", "feeds.participation"]
if "LIVEFEED_PLUGINS" in os.environ:
    PLUGINS = [name.strip() for name in os.environ["LIVEFEED_PLUGINS"].split(",") if name.strip()]
INSTALLED_APPS += PLUGINS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Refusals under /api/ in the client's Accept-Language (reader pages keep their feed's language).
    "feeds.api.language.APILanguageMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "livefeed.urls"
ASGI_APPLICATION = "livefeed.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'livefeed.sqlite3'}",
        # Kept open between requests: opening a connection per WebSocket connect was most of the
        # cost of a burst of readers arriving at once.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock up front, so two processes bumping a feed's seq
    # wait for each other instead of failing with "database is locked" halfway through.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Every Redis key and pub/sub channel this site uses starts with this, so several sites can share
# one Redis server (pub/sub ignores database numbers, so a different database is not enough).
REDIS_PREFIX = os.environ.get("LIVEFEED_REDIS_PREFIX", "livefeed")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py's asyncio pool raises past 100 connections by default, and a
                        # burst of readers joining their group at once needs one each.
                        "max_connections": int(os.environ.get("REDIS_MAX_CONNECTIONS", "4096")),
                        # Must outlast channels-redis' 5 s blocking read, or every idle receive
                        # ends in a timeout error that drops the consumer.
                        "socket_timeout": float(os.environ.get("REDIS_SOCKET_TIMEOUT", "30")),
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": f"{REDIS_PREFIX}:asgi",
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate-limit and lockout counters must be shared by every server process: Redis when there is one.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The site's own language (the admin, the list of feeds); each feed is read in its own language.
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
# Catalogs for Livefeed's own words (templates, Python and scripts), compiled .mo files included,
# so a machine without GNU gettext serves them; project templates' words are kept there too.
LOCALE_PATHS = [BASE_DIR / "feeds" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# `collectstatic` gives every file a name carrying its hash, which WhiteNoise serves with a year-long
# immutable cache; module imports are rewritten to the hashed names too. With DEBUG on, pages link
# the plain names, served straight from the source folders, and nothing needs collecting.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "livefeed.static_storage.ModuleManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploaded images and their renditions. Behind a proxy, serve MEDIA_URL from MEDIA_ROOT there and
# set LIVEFEED_SERVE_MEDIA=false; the embedded mode serves them itself.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
SERVE_MEDIA = env_bool("LIVEFEED_SERVE_MEDIA", True)
# Uploads larger than this are refused before Pillow reads them.
MAX_IMAGE_BYTES = int(os.environ.get("LIVEFEED_MAX_IMAGE_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_IMAGE_BYTES + 1024 * 1024

# --- Background tasks ---------------------------------------------------------------------------
# Scheduled entries are queued in the database and published by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGIN_URL = "admin:login"

# --- Security ---------------------------------------------------------------------------------
SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE)
# Proxies poll the health check over plain HTTP on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# Content Security Policy: scripts only from this site, no inline scripts anywhere (pages, desk,
# widget). Inline styles stay allowed for the admin's style attributes.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "https:", "data:"],
        "connect-src": [SELF, "ws:", "wss:"] if DEBUG else [SELF, "wss:"],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
    }
}

# Admin logins: lock out after repeated failures by one client address at one account, together.
# Locking an account from any address would let anyone who knows an editor's username keep them
# out mid-race by guessing at it; locking a whole address would shut out a shared press-room one.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_LOCKOUT_CALLABLE = "feeds.abuse.login_lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "feeds.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "feeds.api.schema.LivefeedAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "feeds.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["feeds.abuse.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"write": os.environ.get("API_WRITE_RATE", "120/min")},
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Livefeed API",
    "DESCRIPTION": "Read live feeds and their changes; post entries with a bearer token.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The reference page's script is served from this site (whitenoise), not a CDN, for the CSP.
    "REDOC_DIST": "SIDECAR",
    "AUTHENTICATION_WHITELIST": ["feeds.api.authentication.BearerTokenAuthentication"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "feeds.api.schema.complete_operations",
    ],
    "ENUM_NAME_OVERRIDES": {
        "FeedStatusEnum": "feeds.models.Feed.Status",
        "EntryStatusEnum": "feeds.models.Entry.Status",
    },
}
if "feeds.participation" in PLUGINS:
    # One name for the reactions wherever the schema lists them (a vote's field, the feed's set).
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ReactionEnum"] = "feeds.participation.models.REACTIONS"

LIVEFEED: dict[str, Any] = {
    "PAGE_SIZE": int(os.environ.get("LIVEFEED_PAGE_SIZE", "20")),
    # Public pages, widget, API reads and syndication feeds: a CDN may serve them this many
    # seconds, then a stale copy while it revalidates.
    "CACHE_MAX_AGE": int(os.environ.get("LIVEFEED_CACHE_MAX_AGE", "5")),
    "CACHE_STALE_WHILE_REVALIDATE": int(os.environ.get("LIVEFEED_CACHE_STALE_WHILE_REVALIDATE", "30")),
    # Who publishes, for structured data (schema.org) and feeds.
    "PUBLISHER_NAME": os.environ.get("LIVEFEED_PUBLISHER_NAME", "Livefeed"),
    "PUBLISHER_LOGO": os.environ.get("LIVEFEED_PUBLISHER_LOGO", ""),
    # Origins allowed to frame the widget (space-separated CSP sources); empty means any site.
    "EMBED_ORIGINS": env_list("LIVEFEED_EMBED_ORIGINS", []),
    # Reader connections one client address may hold open in one server process (behind a
    # proxy, start Daphne with --proxy-headers so the address is the reader's, not the proxy's).
    "MAX_CONNECTIONS_PER_ADDRESS": int(os.environ.get("LIVEFEED_MAX_CONNECTIONS_PER_ADDRESS", "500")),
    # Unsent bytes a reader may hold on the server before it is disconnected (it then resumes).
    "READER_BUFFER_BYTES": int(os.environ.get("LIVEFEED_READER_BUFFER_BYTES", str(256 * 1024))),
    # Whether URLs editors enter (timing sources, webhooks, hubs) may point at loopback or
    # private addresses; a production server refuses them unless told otherwise.
    "OUTBOUND_ALLOW_PRIVATE": env_bool("LIVEFEED_OUTBOUND_ALLOW_PRIVATE", DEBUG),
    # How long a write's Idempotency-Key and its answer are kept for retries (docs/idempotency.md).
    "IDEMPOTENCY_TTL_HOURS": int(os.environ.get("LIVEFEED_IDEMPOTENCY_TTL_HOURS", "24")),
    # Without Redis: where the local processes (server, worker, commands) keep the sockets that
    # carry changes between them. Empty: next to the SQLite file (`<file>-bus`), else in var/.
    "BUS_DIR": os.environ.get("LIVEFEED_BUS_DIR", ""),
    # A reader away this many seconds (a background tab, a dropped connection) is shown a summary
    # of the key events and race status changes missed when back.
    "AWAY_SUMMARY_AFTER": int(os.environ.get("LIVEFEED_AWAY_SUMMARY_AFTER", "180")),
    # Seconds between two counts of each feed's readers, kept for the desk's audience chart; 0 turns
    # the counting off (the figures already kept stay readable).
    "AUDIENCE_SAMPLE_SECONDS": max(0, int(os.environ.get("LIVEFEED_AUDIENCE_SAMPLE_SECONDS", "5"))),
}

# --- Reader participation: polls, reactions, questions (docs/participation.md) ------------------
LIVEFEED.update(
    {
        # Votes and reactions one client address may send (a crowd behind one NAT shares it).
        "PARTICIPATION_VOTE_RATE": os.environ.get("LIVEFEED_PARTICIPATION_VOTE_RATE", "600/min"),
        # Questions one client address may send.
        "PARTICIPATION_QUESTION_RATE": os.environ.get("LIVEFEED_PARTICIPATION_QUESTION_RATE", "5/10min"),
        # Seconds between two count messages of one poll or entry's reactions, site-wide.
        "PARTICIPATION_TALLY_SECONDS": float(os.environ.get("LIVEFEED_PARTICIPATION_TALLY_SECONDS", "1")),
    }
)

# One JSON object per line in production, for log collectors; plain text for a newcomer's terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(status_code)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- Webhooks and WebSub (docs/webhooks.md) ----------------------------------------------------
LIVEFEED.update(
    {
        # The site's public origin (https://live.example.com), for URLs built outside a request:
        # the WebSub topics the hub is pinged with.
        "SITE_URL": os.environ.get("LIVEFEED_SITE_URL", "").rstrip("/"),
        # The WebSub hub feeds advertise and ping; empty turns WebSub off.
        "WEBSUB_HUB": os.environ.get("LIVEFEED_WEBSUB_HUB", ""),
        # Seconds a webhook receiver has to answer one delivery.
        "WEBHOOK_TIMEOUT": float(os.environ.get("LIVEFEED_WEBHOOK_TIMEOUT", "10")),
        # First retry after this many seconds, doubling up to WEBHOOK_RETRY_MAX_SECONDS.
        "WEBHOOK_RETRY_SECONDS": float(os.environ.get("LIVEFEED_WEBHOOK_RETRY_SECONDS", "10")),
        "WEBHOOK_RETRY_MAX_SECONDS": float(os.environ.get("LIVEFEED_WEBHOOK_RETRY_MAX_SECONDS", "3600")),
        # Failed deliveries in a row after which a subscription is disabled.
        "WEBHOOK_MAX_FAILURES": int(os.environ.get("LIVEFEED_WEBHOOK_MAX_FAILURES", "10")),
        # Days acknowledged deliveries stay in the delivery log.
        "WEBHOOK_KEEP_DAYS": int(os.environ.get("LIVEFEED_WEBHOOK_KEEP_DAYS", "7")),
    }
)
if LIVEFEED["WEBSUB_HUB"] and not LIVEFEED["SITE_URL"]:
    raise ImproperlyConfigured(
        "LIVEFEED_WEBSUB_HUB needs LIVEFEED_SITE_URL, the public origin of the feeds it announces."
    )

# --- Posting from messaging apps ------------------------------------------------------------------
# Each integration is off (its endpoint answers 404) until its token and secret are set. The API
# base URLs only change in tests, which point them at a local server.
MESSAGING = {
    "TELEGRAM_BOT_TOKEN": os.environ.get("TELEGRAM_BOT_TOKEN", ""),
    "TELEGRAM_WEBHOOK_SECRET": os.environ.get("TELEGRAM_WEBHOOK_SECRET", ""),
    "TELEGRAM_API_URL": os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org"),
    "SLACK_SIGNING_SECRET": os.environ.get("SLACK_SIGNING_SECRET", ""),
    "SLACK_BOT_TOKEN": os.environ.get("SLACK_BOT_TOKEN", ""),
    "SLACK_API_URL": os.environ.get("SLACK_API_URL", "https://slack.com/api"),
}
