"""Django settings for Banyan.

Everything that differs between machines comes from the environment:
``DATABASE_URL`` (default: a SQLite file under ``var/``), ``BANYAN_SECRET_KEY``,
``BANYAN_DATA_KEY`` / ``BANYAN_INDEX_KEY`` / ``BANYAN_KEY_FILE`` (see ``banyan.core.vault``),
``BANYAN_AUDIT_ANCHOR`` (the audit chain's anchor file, default ``var/audit.anchor``), ``BANYAN_VAR_DIR``,
``BANYAN_DEBUG`` and ``BANYAN_ALLOWED_HOSTS``.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("BANYAN_VAR_DIR", PROJECT_DIR / "var"))

DEBUG = os.environ.get("BANYAN_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("BANYAN_SECRET_KEY", "banyan-dev-only-secret-key-change-me-in-production-0000")
ALLOWED_HOSTS = os.environ.get("BANYAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "banyan.core",
    "banyan.places",
    "banyan.people",
    "banyan.audit",
    "banyan.sensing",
    "banyan.warning",
    "banyan.notify",
    "banyan.response",
    "banyan.care",
    "banyan.emergency",
    "banyan.emergency.rollcall",
    "banyan.emergency.shelters",
    "banyan.emergency.relay",
    "banyan.emergency.epidemic",
    "banyan.community.timebank",
    "banyan.community.votes",
    "banyan.cockpit",
    "banyan.sim",
    "banyan.processes",
    "banyan.bench",
    "ninja",  # Swagger UI from ninja's own static files at /api/v1/docs, never from a CDN
    "axes",  # sign-in throttling and lockout (banyan.people.login)
    "django_otp",  # the second factor (banyan.people.otp)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "banyan.core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "banyan.core.middleware.SessionTimeoutMiddleware",  # after messages: says why it signed out
    "django_otp.middleware.OTPMiddleware",
    "banyan.people.otp.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "banyan.core.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a lockout into the 429 sign-in page
]

ROOT_URLCONF = "banyan.urls"
ASGI_APPLICATION = "banyan.asgi.application"
WSGI_APPLICATION = "banyan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "banyan.core.context_processors.shell",
                "banyan.notify.context_processors.inbox",
                "banyan.places.context_processors.basemap",
                "banyan.care.context_processors.menu",
            ],
        },
    },
]


def _private_sqlite_file(name: str) -> None:
    """The SQLite file (and its -wal/-shm files, which SQLite creates with the database file's mode) is
    readable by its owner only: made 0600 before SQLite first opens it; an older one is narrowed to
    0600. Banyan's own folder (``BANYAN_VAR_DIR``, default ``var/``) is 0700; run as root, 0711 (nobody
    else may list it, but the demo's Mosquitto, which drops to the ``mosquitto`` user, may pass through
    to ``var/mosquitto``)."""
    path = Path(name)
    if name == ":memory:" or name.startswith("file:"):
        return
    folder_mode = 0o711 if os.geteuid() == 0 else 0o700
    if not path.parent.exists():
        path.parent.mkdir(mode=folder_mode, parents=True, exist_ok=True)
    if path.parent.resolve() == VAR_DIR.resolve() and VAR_DIR.stat().st_uid == os.getuid():
        VAR_DIR.chmod(folder_mode)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is a new SQLite database
    for each in (path, Path(f"{name}-wal"), Path(f"{name}-shm")):
        if each.exists() and each.stat().st_mode & 0o077 and each.stat().st_uid == os.getuid():
            each.chmod(0o600)


def _database() -> dj_database_url.DBConfig:
    default_sqlite = f"sqlite:///{VAR_DIR / 'banyan.sqlite3'}"
    url = os.environ.get("DATABASE_URL", default_sqlite)
    config = dj_database_url.parse(url, conn_max_age=0)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        _private_sqlite_file(config["NAME"])
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
        config.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "account:login"
LOGIN_REDIRECT_URL = "account:home"
LOGOUT_REDIRECT_URL = "account:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},  # Django's 20,000 list
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Signing in (banyan.people.login, README "Signing in"): django-axes counts wrong passwords per account and
# per client address on Banyan's clock; BANYAN_LOGIN's limits within LOCKOUT_MINUTES lock the account or
# the address for LOCKOUT_MINUTES after the last wrong password (the sign-in page, 429, names the time).
AUTHENTICATION_BACKENDS = [
    "banyan.people.login.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
BANYAN_LOGIN = {
    "ACCOUNT_LIMIT": int(os.environ.get("BANYAN_LOGIN_ACCOUNT_LIMIT", "10")),
    "ADDRESS_LIMIT": int(os.environ.get("BANYAN_LOGIN_ADDRESS_LIMIT", "30")),
    "LOCKOUT_MINUTES": int(os.environ.get("BANYAN_LOGIN_LOCKOUT_MINUTES", "5")),
}
AXES_HANDLER = "banyan.people.login.LoginAttemptHandler"
AXES_FAILURE_LIMIT = BANYAN_LOGIN["ACCOUNT_LIMIT"]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # in this order: LoginAttemptHandler relies on it
AXES_COOLOFF_TIME = "banyan.people.login.lockout_duration"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the end of a lockout shown on the page stays true
AXES_LOCKOUT_CALLABLE = "banyan.people.login.lockout_response"
AXES_CLIENT_STR_CALLABLE = "banyan.people.login.client_str"  # no user name or address in log lines
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit log (login.succeeded)
AXES_VERBOSE = False
# The second factor (banyan.people.otp, .stepup): required for these roles (optional for residents);
# revealing many people's data needs it re-entered within STEP_UP_MINUTES.
BANYAN_OTP = {
    "REQUIRED_ROLES": [
        "platform_admin",
        "street_officer",
        "community_director",
        "grid_worker",
        "property_staff",
        "volunteer",
        "auditor",
    ],
    "STEP_UP_MINUTES": int(os.environ.get("BANYAN_STEP_UP_MINUTES", "5")),
    "RECOVERY_CODES": 10,
}
OTP_TOTP_ISSUER = "Banyan"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# No STATIC_ROOT by default: WhiteNoise serves straight from the apps (WHITENOISE_USE_FINDERS).
if os.environ.get("BANYAN_STATIC_ROOT"):
    STATIC_ROOT = os.environ["BANYAN_STATIC_ROOT"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads (ledgers full of ID numbers) stay in memory, never in a temporary file.
FILE_UPLOAD_HANDLERS = ["banyan.core.uploads.BoundedMemoryUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024  # also keeps ASGI request bodies off disk

# The end of the audit chain, recorded outside the database (docs/adr/0004-audit-chain.md).
AUDIT_ANCHOR_FILE = Path(os.environ.get("BANYAN_AUDIT_ANCHOR", VAR_DIR / "audit.anchor"))
# Each write of the anchor is forced to disk (fsync) unless BANYAN_AUDIT_FSYNC=0: only for a throwaway
# database, such as a drill's, that no crash needs to survive.
AUDIT_ANCHOR_FSYNC = os.environ.get("BANYAN_AUDIT_FSYNC", "1") != "0"

# The offline basemap (banyan/places/tiles.py; README "Offline basemap"): a local MBTiles or PMTiles file
# of raster tiles that Banyan serves itself at /tiles/{z}/{x}/{y} under its own drawing of the maps.
# Unset: no basemap, the maps show Banyan's drawing alone. A missing, unreadable or vector file stops
# start-up with a system check naming it (banyan/places/checks.py).
BANYAN_BASEMAP = {"FILE": os.environ.get("BANYAN_BASEMAP_FILE", "")}

# --- Security headers, cookies and sessions (docs/production.md; README "Production") -----------------
# A strict Content-Security-Policy on every response (django-csp): scripts only from Banyan's own static
# files (no inline script, no 'unsafe-inline', no 'unsafe-eval'), no plugins, no framing, forms only to
# Banyan. img-src takes data: and blob: for Leaflet's and ECharts' drawn images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# BANYAN_TLS=1: Banyan is reached over https (directly or through a proxy that terminates TLS): plain http
# is redirected, browsers are told to use https only for a year (HSTS, subdomains included) and cookies
# travel only over https. BANYAN_PROXY_SSL_HEADER=1 additionally trusts the proxy's X-Forwarded-Proto:
# set it only behind a proxy that always sets (overwrites) that header.
BANYAN_TLS = os.environ.get("BANYAN_TLS", "0") == "1"
if BANYAN_TLS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's plain-http health check
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
if os.environ.get("BANYAN_PROXY_SSL_HEADER", "0") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A session lasts at most 8 hours from sign-in and ends after BANYAN_SESSION_IDLE_MINUTES (default 30)
# without a request (banyan.core.middleware.SessionTimeoutMiddleware, on banyan.core.clock), and the
# cookie is dropped when the browser closes.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
BANYAN_SESSION_IDLE_MINUTES = int(os.environ.get("BANYAN_SESSION_IDLE_MINUTES", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A 4xx answer is logged in one line, without a traceback (a 5xx keeps it): banyan/core/errors.py.
    "filters": {"client_errors": {"()": "banyan.core.errors.ClientErrorLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BANYAN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors"]},
    },
}

NINJA_PAGINATION_MAX_LIMIT = 500
# Rate limits (lookups, reports, photos, Open311) count in Django's cache. "local" (the default) counts
# in each process's memory; several `banyan serve` processes must share one count, or each allows the
# whole limit: BANYAN_CACHE=database keeps it in the database (table banyan_cache, made by
# `banyan migrate`).
BANYAN_CACHE = os.environ.get("BANYAN_CACHE", "local")
if BANYAN_CACHE not in ("local", "database"):
    raise ImproperlyConfigured(f"BANYAN_CACHE must be local or database, not {BANYAN_CACHE!r}")
CACHE_TABLE = "banyan_cache"
if BANYAN_CACHE == "database":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}}
# Rate limits (banyan/core/throttle.py; a spent one answers 429): "N/s", "N/min", "N/hour", "N/day".
BANYAN_RATE_LIMITS = {
    "reports": "10/hour",  # a resident's reports (API and web form), per account
    "photos": "60/hour",  # photos sent with reports and incident steps, counted one by one, per account
    "open311_address": "30/hour",  # Open311 service requests per client address
    "open311_key": "300/hour",  # Open311 service requests per api_key (a city app relays many residents)
}
# Addresses for rate limits: REMOTE_ADDR, or the Nth address from the right of X-Forwarded-For behind
# N trusted proxies (never a client-chosen header otherwise).
NINJA_NUM_PROXIES = int(os.environ.get("BANYAN_NUM_PROXIES", "0"))

# `banyan ingest` (banyan/sensing/ingest/; README "Ingest"). The broker, and how readings are batched.
BANYAN_MQTT_URL = os.environ.get("BANYAN_MQTT_URL", "mqtt://127.0.0.1:1883")
# The broker's password and ACL files that `banyan mqtt sync` writes (deploy/mosquitto/banyan.conf reads
# them) and its pid file for `--reload`. Service passwords and the bus key: banyan/core/mqtt.py.
BANYAN_MQTT_PASSWORD_FILE = os.environ.get("BANYAN_MQTT_PASSWORD_FILE", "/etc/mosquitto/banyan/passwd")
BANYAN_MQTT_ACL_FILE = os.environ.get("BANYAN_MQTT_ACL_FILE", "/etc/mosquitto/banyan/acl")
BANYAN_MQTT_PID_FILE = os.environ.get("BANYAN_MQTT_PID_FILE", "/run/mosquitto/mosquitto.pid")
# The event bus between processes (banyan/core/bus_mqtt.py): "local" keeps each process's events to
# itself; "mqtt" bridges them through the broker, so the web server sees what ingest and the worker do.
BANYAN_BUS = os.environ.get("BANYAN_BUS", "local")
if BANYAN_BUS not in ("local", "mqtt"):
    raise ImproperlyConfigured(f"BANYAN_BUS must be local or mqtt, not {BANYAN_BUS!r}")
BANYAN_INGEST = {
    "BATCH_SIZE": int(os.environ.get("BANYAN_INGEST_BATCH_SIZE", "1000")),  # messages per transaction
    "BATCH_WAIT_MS": int(os.environ.get("BANYAN_INGEST_BATCH_WAIT_MS", "10")),  # longest wait to fill a batch
    "OFFLINE_SWEEP_S": int(os.environ.get("BANYAN_INGEST_OFFLINE_SWEEP_S", "60")),
    "BACKOFF_MAX_S": 30,  # reconnect and retry delays double up to this
}

# Notifications (banyan/notify/, docs/notify.md): email over SMTP, SMS and voice through HTTP gateways.
EMAIL_HOST = os.environ.get("BANYAN_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BANYAN_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("BANYAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("BANYAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("BANYAN_EMAIL_TLS", "0") == "1"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("BANYAN_EMAIL_FROM", "banyan@localhost")
BANYAN_NOTIFY = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SMS_GATEWAY_URL": os.environ.get("BANYAN_SMS_GATEWAY_URL", ""),
    "VOICE_GATEWAY_URL": os.environ.get("BANYAN_VOICE_GATEWAY_URL", ""),
    # Sent to the gateways as a bearer token, and required on their delivery receipts.
    "GATEWAY_TOKEN": os.environ.get("BANYAN_GATEWAY_TOKEN", ""),
    "GATEWAY_TIMEOUT_S": 10.0,
    "MAX_ATTEMPTS": int(os.environ.get("BANYAN_NOTIFY_MAX_ATTEMPTS", "5")),
    "RETRY_BASE_S": 30,  # waits between attempts double from this …
    "RETRY_MAX_S": 1800,  # … up to this
    "SSE_HEARTBEAT_S": 15.0,  # a comment line keeps idle streams (and proxies) open
    "SSE_POLL_S": 2.0,  # how often a stream looks for messages written by other processes
}
