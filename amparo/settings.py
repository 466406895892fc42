"""Amparo's one settings module. Everything that differs between deployments comes from the
environment (documented in docs/configuration.md); defaults are the safe choice."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django.conf.locale
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from amparo.lib.env import (
    ConfigError,
    decode_key,
    env_bool,
    env_int,
    env_list,
    env_phone_number,
    env_secret,
    env_str,
    env_url,
)
from amparo.lib.private_files import private_dir, private_file

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent

DEMO = env_bool("AMPARO_DEMO", False)
DATA_DIR = Path(env_str("AMPARO_DATA_DIR", str(PROJECT_DIR / "var"))).resolve()
NODE_ROLE = env_str("AMPARO_NODE_ROLE", "national")
if NODE_ROLE not in {"national", "district"}:
    raise ConfigError(f"AMPARO_NODE_ROLE must be 'national' or 'district'; got {NODE_ROLE!r}.")


# Which installation created a record (district nodes synchronise with the national server). On a
# district node `amparo node init` records its origin in DATA_DIR/origin, read here when AMPARO_ORIGIN is
# not set (amparo.sync.actions.ORIGIN_FILE).
def _recorded_origin() -> str:
    if NODE_ROLE != "district":
        return ""
    try:
        return (DATA_DIR / "origin").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


ORIGIN = env_str("AMPARO_ORIGIN").strip() or _recorded_origin() or "national"
# A district node warns its users when it has not synchronised for this long (hours); `amparo sync --watch`
# and the worker synchronise every AMPARO_SYNC_INTERVAL seconds.
SYNC_WARN_AFTER_HOURS = env_int("AMPARO_SYNC_WARN_AFTER_HOURS", 72, minimum=1)
SYNC_INTERVAL = env_int("AMPARO_SYNC_INTERVAL", 300, minimum=10)
# Signed checkpoints of the audit chain heads, kept outside the database (docs/security.md).
AUDIT_CHECKPOINT_FILE = Path(
    env_str("AMPARO_AUDIT_CHECKPOINT_FILE", str(DATA_DIR / "audit" / "checkpoints.jsonl"))
).resolve()
AUDIT_CHECKPOINT_MINUTES = env_int("AMPARO_AUDIT_CHECKPOINT_MINUTES", 10, minimum=1)


def _demo_key_file(name: str) -> str | None:
    """In demo mode only, `make demo` keeps generated keys in the data directory."""
    path = DATA_DIR / name
    if DEMO and path.exists():
        return path.read_text(encoding="utf-8").strip()
    return None


SECRET_KEY = env_secret("AMPARO_SECRET_KEY") or _demo_key_file("secret_key")
if not SECRET_KEY:
    raise ConfigError(
        "AMPARO_SECRET_KEY (or AMPARO_SECRET_KEY_FILE) is not set. Generate one with "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"` and put it in the environment; '
        "`make demo` does this for you in demo mode."
    )
if len(SECRET_KEY) < 32:
    raise ConfigError("AMPARO_SECRET_KEY must be at least 32 characters long.")

_master = env_secret("AMPARO_MASTER_KEY") or _demo_key_file("master_key")
if not _master:
    raise ConfigError(
        "AMPARO_MASTER_KEY (or AMPARO_MASTER_KEY_FILE) is not set: it protects every identifying field. "
        'Generate one with `python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`; '
        "`make demo` does this for you in demo mode."
    )
AMPARO_MASTER_KEY = decode_key("AMPARO_MASTER_KEY", _master)
# Earlier master keys, kept only while `amparo rotate_keys` re-wraps data keys under the new one.
AMPARO_OLD_MASTER_KEYS = [
    decode_key("AMPARO_OLD_MASTER_KEYS", k) for k in env_list("AMPARO_OLD_MASTER_KEYS", [])
]

DEBUG = env_bool("AMPARO_DEBUG", False)
ALLOWED_HOSTS = env_list("AMPARO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("AMPARO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "amparo.core",
    "amparo.cases",
    "amparo.intake",
    "amparo.evidence",
    "amparo.observatory",
    "amparo.outreach",
    "amparo.sync",
    "amparo.demo",
]

MIDDLEWARE = [
    "amparo.core.middleware.RequestIdMiddleware",
    "amparo.core.metrics.MetricsMiddleware",  # counts requests by route name for /metrics
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "amparo.core.middleware.SessionLifetimeMiddleware",
    "amparo.core.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "amparo.core.replica.ReplicaReadsMiddleware",  # observatory pages read the replica, if there is one
]

ROOT_URLCONF = "amparo.urls"
WSGI_APPLICATION = "amparo.wsgi.application"

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
                "amparo.core.context_processors.amparo",
                "amparo.sync.context_processors.sync_state",
            ],
        },
    },
]

# Database: SQLite in the data directory unless DATABASE_URL says otherwise. The data directory is
# created 0700 and the SQLite file 0600 whatever the umask (SQLite gives its -wal and -shm files the
# database file's mode).
private_dir(DATA_DIR)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'amparo.sqlite3'}"),
        conn_max_age=env_int("AMPARO_DB_CONN_MAX_AGE", 60, minimum=0),
        # A kept connection is checked before each request reuses it: after a database restart the first
        # request on each thread would otherwise fail on the dead connection.
        conn_health_checks=True,
    )
}
if NODE_ROLE == "district" and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # A revoked node must be able to erase its data; on PostgreSQL the custody chain is append-only.
    raise ConfigError(
        "A district node runs on SQLite: leave DATABASE_URL unset or point it at a sqlite:/// file."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:") and "mode=memory" not in str(
        DATABASES["default"]["NAME"]
    ):
        private_file(DATABASES["default"]["NAME"])
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Writers queue instead of failing; the audit chain relies on serialised appends.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        }
    )
# A PostgreSQL streaming replica for the observatory's heavy reads (amparo.core.replica; optional).
_replica_url = env_str("DATABASE_REPLICA_URL", "")
if _replica_url:
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ConfigError(
            "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL too (a streaming replica)."
        )
    DATABASES["replica"] = dj_database_url.parse(
        _replica_url, conn_max_age=env_int("AMPARO_DB_CONN_MAX_AGE", 60, minimum=0)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["amparo.core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after inactivity: every request renews the cookie's age.
SESSION_COOKIE_AGE = env_int("AMPARO_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
# ... and, however active, this long after sign-in (amparo.core.middleware.SessionLifetimeMiddleware).
AMPARO_SESSION_MAX_HOURS = env_int("AMPARO_SESSION_MAX_HOURS", 12, minimum=1)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# HTTPS: on by default; the demo on http://127.0.0.1 switches it off.
HTTPS = env_bool("AMPARO_HTTPS", not DEMO)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
BEHIND_PROXY = env_bool("AMPARO_BEHIND_PROXY", False)
# Behind the TLS-terminating proxy Django can tell HTTPS requests (X-Forwarded-Proto), so it redirects
# plain HTTP itself too; local probes of /healthz and /metrics over http://127.0.0.1 are exempt.
SECURE_SSL_REDIRECT = env_bool("AMPARO_SSL_REDIRECT", HTTPS and BEHIND_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("AMPARO_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading binds the whole registered domain (gov.mz) in browsers for years: the domain's owner decides
# it, so it is off unless AMPARO_HSTS_PRELOAD says otherwise, and Django's reminder is silenced
# (docs/security.md, "amparo check --deploy").
SECURE_HSTS_PRELOAD = env_bool("AMPARO_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin": nothing leaks to other sites, and browsers still send a real Origin header on our
# own form posts (with "no-referrer" they send "Origin: null", which fails the CSRF check).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# How many reverse proxies we run in front of Amparo: the client's address is the one the outermost of
# them saw (amparo.core.client); 0 ignores X-Forwarded-For, which anyone can send.
AMPARO_TRUSTED_PROXIES = env_int("AMPARO_TRUSTED_PROXIES", 0, minimum=0)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Content Security Policy: nothing is allowed unless listed; all assets are our own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}

# Two-factor authentication and lock-out.
OTP_TOTP_ISSUER = "Amparo"
AXES_FAILURE_LIMIT = env_int("AMPARO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AMPARO_LOGIN_COOLOFF_MINUTES", 30, minimum=1) / 60
# axes locks an address out across every user name; a user name gets a growing delay instead of a lock
# (amparo.core.signin). Success does not reset the address's count (an attacker's own valid account would
# reset it); it clears that user name's failures only.
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "amparo.core.client.client_address"
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# Languages: Portuguese first; local languages fall back to Portuguese string by string,
# because Django falls back to LANGUAGE_CODE's catalogue for any missing message.
LANGUAGE_CODE = "pt"
# Mozambican languages Django does not know yet (ISO 639-3 / 639-1 codes).
EXTRA_LANG_INFO = {
    "vmw": {"bidi": False, "code": "vmw", "name": "Makhuwa", "name_local": "Emakhuwa"},
    "ts": {"bidi": False, "code": "ts", "name": "Tsonga", "name_local": "Xichangana"},
    "seh": {"bidi": False, "code": "seh", "name": "Sena", "name_local": "Cisena"},
    "ny": {"bidi": False, "code": "ny", "name": "Nyanja", "name_local": "Cinyanja"},
}
django.conf.locale.LANG_INFO.update(EXTRA_LANG_INFO)
LANGUAGES = [
    ("pt", _("Portuguese")),
    ("en", _("English")),
    ("vmw", _("Emakhuwa")),
    ("ts", _("Xichangana")),
    ("seh", _("Cisena")),
    ("ny", _("Cinyanja")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Africa/Maputo"
USE_TZ = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns (an error in tests) when it is missing
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "files"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Files Django itself stores (FileSystemStorage) are private to the service's user too.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Background work: a database queue by default (django-tasks-db), run by `amparo worker`
# or inside `amparo serve`; "immediate" runs tasks inline (tests, scripts).
_tasks_backend = env_str("AMPARO_TASKS_BACKEND", "database")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
            "rq": "django_tasks_rq.RQBackend",
        }.get(_tasks_backend)
        or "",
        "QUEUES": [],
    }
}
if not TASKS["default"]["BACKEND"]:
    raise ConfigError(
        f"AMPARO_TASKS_BACKEND must be database, immediate, dummy or rq; got {_tasks_backend!r}."
    )
if _tasks_backend == "rq":
    # Redis through django-rq (pip install -e ".[rq]"); the same two queues as the database backend.
    REDIS_URL = env_str("REDIS_URL", "")
    if not REDIS_URL:
        raise ConfigError("AMPARO_TASKS_BACKEND=rq needs REDIS_URL (for example redis://127.0.0.1:6379/0).")
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 900} for name in ("default", "periodic")}
    TASKS["default"]["QUEUES"] = list(RQ_QUEUES)

# Monitoring: `/healthz` details and `/metrics` need `Authorization: Bearer <token>` (amparo.core.monitoring).
AMPARO_MONITORING_TOKEN = env_secret("AMPARO_MONITORING_TOKEN")
# `/healthz` turns unhealthy when a queue's oldest ready task, or an acknowledged report still without its
# case (an unfiled web report, an unprocessed SMS), is older than this many seconds (amparo.core.health).
AMPARO_HEALTH_MAX_QUEUE_AGE = env_int("AMPARO_HEALTH_MAX_QUEUE_AGE", 120, minimum=10)

# Numbers and addresses shown to the public (front door, report form, rights package, awareness pages).
# Confirm the police number with the national police before going live (docs/configuration.md).
AMPARO_POLICE_NUMBER = env_phone_number("AMPARO_POLICE_NUMBER", "119")
AMPARO_CHILD_HELPLINE_NUMBER = env_phone_number("AMPARO_CHILD_HELPLINE_NUMBER", "116")
# Where the quick exit leaves to: a neutral public page outside Amparo.
AMPARO_QUICK_EXIT_URL = env_url("AMPARO_QUICK_EXIT_URL", "https://pt.wikipedia.org/wiki/Matapa")

EMAIL_BACKEND = env_str("AMPARO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("AMPARO_FROM_EMAIL", "amparo@localhost")

# Case time limits per priority (amparo.cases.deadlines; JSON, strict: a bad value stops start-up).
from amparo.cases.deadlines import parse_targets  # noqa: E402  (imports no model)

AMPARO_RESPONSE_TARGETS = parse_targets(env_str("AMPARO_RESPONSE_TARGETS", ""))

# Logs carry ids and event names, never personal data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "amparo.core.middleware.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("AMPARO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger prints the path of failing requests; ours carry no personal data,
        # but a 404 on a guessed URL is noise, so only errors are kept.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}
