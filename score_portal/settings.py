"""SCORE Portal settings: one module, driven by the environment.

Every variable is documented in the README ("Settings"). With no environment at all the
portal runs on the embedded default: a SQLite file, tasks run in-process after commit and
emails printed to the console. DATABASE_URL, REDIS_URL and EMAIL_URL switch to the real
services. SCORE_ENVIRONMENT=production turns on every safety check and refuses to start
with DEBUG on, the default secret key or no allowed hosts.
"""

from pathlib import Path

import environ
import sentry_sdk
from django.utils.translation import gettext_lazy as _
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from score_portal.env import Env, SettingsError

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

# --- Environment --------------------------------------------------------------------------
ENVIRONMENT = env.choice("SCORE_ENVIRONMENT", "development", ("development", "production"))
PRODUCTION = ENVIRONMENT == "production"

_DEFAULT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.string("SECRET_KEY", _DEFAULT_SECRET_KEY)
DEBUG = env.boolean("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS")
# Absolute address of the portal, for links in emails and on certificates.
SITE_URL = env.url("SITE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")
VAR_DIR = Path(env.string("SCORE_VAR_DIR", str(BASE_DIR / "var")))

if PRODUCTION:
    if DEBUG:
        raise SettingsError("DEBUG must be off when SCORE_ENVIRONMENT=production.")
    if SECRET_KEY == _DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise SettingsError(
            "SECRET_KEY must be set to a random value of at least 50 characters in production."
        )
    if not ALLOWED_HOSTS:
        raise SettingsError("ALLOWED_HOSTS must list the portal's host names in production.")
    if not env.is_set("REDIS_URL"):
        raise SettingsError(
            "REDIS_URL is required in production: the worker, rate limits and cache use it."
        )
    if not env.is_set("DATABASE_URL"):
        raise SettingsError("DATABASE_URL is required in production (PostgreSQL).")
    if not env.is_set("SITE_URL"):
        raise SettingsError(
            "SITE_URL is required in production: emails and certificates link to it."
        )

# --- Applications -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_countries",
    "django_filters",
    "django_htmx",
    "import_export",
    "csp",
    "simple_history",
    "score_portal",
    "partners",
    "suppliers",
    "training",
    "reporting",
    "search",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    # An id for every request (response header, logs, the tasks it queues); then liveness,
    # answered before the host check and the HTTPS redirect so a container's own healthcheck
    # can ask 127.0.0.1 (and not counted in the metrics, which the probes would swamp).
    "score_portal.observability.RequestIdMiddleware",
    "score_portal.health.LivenessMiddleware",
    "score_portal.observability.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "score_portal.accounts.PersonalSettingsMiddleware",
    "score_portal.scope.ScopeMiddleware",
    # History rows name the signed-in person when no service said who acted
    # (score_portal.history: the Django admin's edits).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "score_portal.urls"
WSGI_APPLICATION = "score_portal.wsgi.application"
AUTH_USER_MODEL = "score_portal.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "score_portal.context_processors.navigation",
                "score_portal.context_processors.notices_badge",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
_database_url = env.url(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}", ("sqlite", "postgres", "postgresql")
)
DATABASES = {"default": environ.Env.db_url_config(_database_url)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections, checked before reuse so a restarted server costs no error.
    DATABASES["default"]["CONN_MAX_AGE"] = env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.string("DATABASE_TEST_NAME") or None
    # Parameters bound by the server, and a statement run five times on a connection kept
    # prepared there (psycopg's prepare_threshold): PostgreSQL then skips parsing and
    # planning the queries every page repeats (the scope, a page of a list, its count).
    # Behind PgBouncer in transaction mode older than 1.21, set DATABASE_PREPARED=false.
    if env.boolean("DATABASE_PREPARED", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
else:
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite: wait for a writer instead of failing at once when the worker writes too.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

# --- Cache, Celery ------------------------------------------------------------------------
REDIS_URL = env.string("REDIS_URL")
# Redis is an accelerator, not a single point of failure (README, "When Redis is down"): a
# connection or command to it gives up after REDIS_TIMEOUT_MS, and a process that found it
# down works without it for REDIS_RETRY_SECONDS before asking again (score_portal/cache.py,
# score_portal.jobs.publish), so a stopped or frozen Redis keeps no page over a second.
REDIS_TIMEOUT = env.integer("REDIS_TIMEOUT_MS", 500, minimum=50) / 1000
REDIS_RETRY_SECONDS = env.integer("REDIS_RETRY_SECONDS", 10, minimum=1)
if REDIS_URL:
    env.url("REDIS_URL", REDIS_URL, ("redis", "rediss"))
    CACHES = {
        "default": {
            # Django's Redis backend that answers from a per-process local cache while
            # Redis fails, instead of raising into the request.
            "BACKEND": "score_portal.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "score",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
                "fallback_seconds": REDIS_RETRY_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database alone, with or without Redis: a sign-out made while Redis is
# away must stay a sign-out once it is back (a cached copy of the session in a Redis that
# was frozen, or restarted from its dump, would sign the person in again); it costs one
# primary-key query per request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The broker lives in a Redis database of its own (REDIS_BROKER_URL, e.g. .../1 beside the
# cache's .../0): flushing the cache then never drops queued work. Not read from
# CELERY_BROKER_URL: Celery reads that variable itself, over any configuration.
REDIS_BROKER_URL = (
    env.url("REDIS_BROKER_URL", "", ("redis", "rediss")) if env.is_set("REDIS_BROKER_URL") else ""
)
if REDIS_BROKER_URL and not REDIS_URL:
    raise SettingsError("REDIS_BROKER_URL needs REDIS_URL: without it tasks run in-process.")
CELERY_BROKER_URL = REDIS_BROKER_URL or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in-process; they are still queued after commit
# (delay_on_commit), so the embedded default behaves like production.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redone
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# One queue per kind of work, so a long import never waits in front of an email and a burst
# of certificates never holds up either: each queue has workers of its own (README, "Scaling
# out"). CELERY_QUEUE names the default queue and prefixes the others. Routes go by module
# (and sweeps by name), so a task added to a module lands in that module's queue.
CELERY_QUEUE = env.string("CELERY_QUEUE", "score")
TASK_QUEUES = {
    "default": CELERY_QUEUE,  # the sweeps and reminders: short, periodic
    "emails": f"{CELERY_QUEUE}.emails",
    "certificates": f"{CELERY_QUEUE}.certificates",
    "imports": f"{CELERY_QUEUE}.imports",
    "webhooks": f"{CELERY_QUEUE}.webhooks",
}
CELERY_TASK_DEFAULT_QUEUE = TASK_QUEUES["default"]
CELERY_TASK_ROUTES = {
    # Exact names first, then the patterns in this order: the first that matches wins.
    "training.tasks.send_classroom_reminders": {"queue": TASK_QUEUES["default"]},
    "score_portal.tasks.send_notice_digests": {"queue": TASK_QUEUES["default"]},
    "*.sweep_*": {"queue": TASK_QUEUES["default"]},
    # A results report is a document render, like a certificate: the same workers.
    "reporting.tasks.render_results_report": {"queue": TASK_QUEUES["certificates"]},
    # Counting the dashboards' figures again takes seconds at programme scale: not in front
    # of the sweeps.
    "reporting.tasks.refresh_results": {"queue": TASK_QUEUES["certificates"]},
    "score_portal.tasks.*": {"queue": TASK_QUEUES["emails"]},
    "training.tasks.*": {"queue": TASK_QUEUES["certificates"]},
    "suppliers.tasks.*": {"queue": TASK_QUEUES["imports"]},
    "webhooks.tasks.*": {"queue": TASK_QUEUES["webhooks"]},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # Fail fast when Redis is down or frozen while a request queues work: the outbox row (or
    # the pending certificate, the import) is already committed, and the periodic sweep
    # queues it later. Without socket_timeout a publish to a frozen Redis waits for ever.
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
    # Connecting a channel: one attempt (kombu retries for ever by default).
    "max_retries": 0,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
# A publish is tried once: a retry would double the wait on a frozen Redis, and a connection
# Redis closed meanwhile is replaced when taken from the pool anyway. What failed is queued
# by the sweep.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
# Celery closes the database connection around every task unless told to reuse it, and
# opening one costs more than sending an email: reuse it for this many tasks (0: never).
# Between tasks Django's own checks still close a broken or obsolete connection (tasks.py).
CELERY_DB_REUSE_MAX = env.integer("CELERY_DB_REUSE_MAX", 500, minimum=0) or None
# Recycle a worker child after this many tasks (certificate rendering keeps fonts and caches
# in memory: a safety net that keeps worker memory flat; 0 turns it off). Not read from
# CELERY_WORKER_MAX_TASKS_PER_CHILD: `celery worker` takes that variable as its own
# --max-tasks-per-child option, which refuses 0 and stops the worker.
CELERY_WORKER_MAX_TASKS_PER_CHILD = (
    env.integer("WORKER_MAX_TASKS_PER_CHILD", 1000, minimum=0) or None
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Periodic work (run by `celery beat`); each task is safe to run twice.
# How old the results dashboards' figures may be (reporting/rollups.py): they are counted
# once and kept this long, the unfiltered ones counted again by beat every half of it.
RESULTS_FRESHNESS_SECONDS = env.integer("RESULTS_FRESHNESS_SECONDS", 600, minimum=60)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "classroom-reminders": {
        "task": "training.tasks.send_classroom_reminders",
        "schedule": 60 * 60,  # hourly: a reminder claimed once goes out once
    },
    "job-sweep": {
        "task": "score_portal.tasks.sweep_jobs",
        # Every kind of background job (emails, certificate renders, supplier imports):
        # what a dead worker held or a broker outage left waiting is queued again.
        "schedule": 60,
    },
    "duplicate-factories": {
        "task": "suppliers.tasks.find_duplicate_factories",
        "schedule": 24 * 60 * 60,  # nightly: the ILO's queue of likely duplicate factories
    },
    "search-keys": {
        "task": "suppliers.tasks.refresh_search_keys",
        # An import queues it after its commit; this catches one lost with the broker.
        "schedule": 5 * 60,
    },
    "notice-digests": {
        "task": "score_portal.tasks.send_notice_digests",
        # hourly: each person's daily digest goes out in their own morning, once a day
        "schedule": 60 * 60,
    },
    "results-figures": {
        "task": "reporting.tasks.refresh_results",
        # Half the figures' freshness: the unfiltered dashboards never expire in front of a
        # reader, and no figure shown is older than RESULTS_FRESHNESS_SECONDS.
        "schedule": max(RESULTS_FRESHNESS_SECONDS // 2, 30),
    },
    "beat-heartbeat": {
        "task": "score_portal.tasks.beat_heartbeat",
        "schedule": 60,  # readiness says beat is late when the heartbeat is old
    },
}
# Background jobs (score_portal.jobs): a worker holding a job for longer than this has died,
# and the sweep hands the job to another (the tasks' time limits stop a live worker a minute
# or two before); a job is tried at most JOB_MAX_ATTEMPTS times (supplier imports, whose
# failures are not passing ones, three times), then it waits in the admin's "Background
# jobs" page for a person to retry it.
JOB_STALE_MINUTES = env.integer("JOB_STALE_MINUTES", 15, minimum=5)
JOB_MAX_ATTEMPTS = env.integer("JOB_MAX_ATTEMPTS", 8, minimum=1)

# --- Webhooks ---------------------------------------------------------------------------------
# Webhook targets must be public https addresses (no loopback, private or link-local address,
# checked when subscribing and again after DNS resolution at each delivery). On only for tests
# and local receivers: then http and any address are accepted.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.boolean("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
if PRODUCTION and WEBHOOKS_ALLOW_PRIVATE_TARGETS:
    raise SettingsError(
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS lets webhooks reach the portal's own network: "
        "never in production."
    )

# --- KPI privacy ----------------------------------------------------------------------------
# A KPI figure a brand sees over factories that did not share their readings with it covers
# at least this many factories (training/impact.py); below it, the figure is withheld.
KPI_MIN_FACTORIES = env.integer("KPI_MIN_FACTORIES", 3, minimum=2)

# --- Results reports (reporting/reports.py) -----------------------------------------------------
# A partnership's results report covering more enrolments than this is generated by the worker
# and listed on the Reports page (with an email when ready); a smaller one renders in the request.
RESULTS_REPORT_INLINE_ENROLMENTS = env.integer("RESULTS_REPORT_INLINE_ENROLMENTS", 200, minimum=0)
for _replaced in (
    "EMAIL_STALE_SENDING_MINUTES",
    "EMAIL_MAX_ATTEMPTS",
    "SUPPLIER_IMPORT_STALE_MINUTES",
):
    if env.is_set(_replaced):  # a deployment would otherwise believe it still applies
        raise SettingsError(
            f"{_replaced} is no longer read: JOB_STALE_MINUTES and JOB_MAX_ATTEMPTS apply to "
            "every background job (see the README)."
        )

# --- Email --------------------------------------------------------------------------------
_email_url = env.url(
    "EMAIL_URL",
    "consolemail://",
    ("smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail"),
)
_email = environ.Env.email_url_config(_email_url)
if _email_url.startswith("filemail://"):
    # django-environ drops the leading "/" of filemail:///abs/path; keep the path as written.
    _email["EMAIL_FILE_PATH"] = _email_url.removeprefix("filemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or str(VAR_DIR / "sent-emails")
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env.string(
    "DEFAULT_FROM_EMAIL", "SCORE Portal <no-reply@score-portal.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Accounts (django-allauth) ------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ALLOW_SIGNUPS = env.boolean("ACCOUNT_ALLOW_SIGNUPS", default=True)
ACCOUNT_ADAPTER = "score_portal.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SCORE Portal] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Failed sign-ins: 10 per minute per client address, and 5 per 5 minutes per account *from
# one address* (the adapter makes the "key" account + address), so failures elsewhere never
# lock the owner out. The Django admin login goes through the same view (see urls.py).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/300s/key",
    "reset_password": "20/m/ip,5/m/key",
    "signup": "20/m/ip",
}
# Behind a reverse proxy every request comes from the proxy: rate limits per address must
# read the client from X-Forwarded-For, counting this many proxies from the right (0: trust
# no header, use the socket address). The certificate check uses the same address.
ALLAUTH_TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SCORE Portal"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("tr", _("Turkish")),
    ("vi", _("Vietnamese")),
    ("es", _("Spanish")),
    ("bn", _("Bengali")),
]
# The portal's own catalogue, then what upstream packages lack in the portal's languages
# (allauth in Vietnamese and Bengali, Bengali country names: tools/upstream_translations.py).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale-upstream"]
# Number grouping where Django's locale formats differ from the Unicode CLDR (zh-Hans, vi, bn).
FORMAT_MODULE_PATH = ["score_portal.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- History (django-simple-history; score_portal/history.py) -----------------------------
# The admin shows an object's history but does not "revert" to an old version: that write
# would bypass the services' rules. A change's reason may be longer than 100 characters.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- Static and uploaded files ------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploads and certificates go through Django's storage API only: MEDIA_ROOT on a local (or
# shared) disk, or an S3-compatible bucket when AWS_STORAGE_BUCKET_NAME is set, so web and
# workers may run on different hosts. The bucket stays private and its URLs unsigned: files
# are streamed by views that check access, never linked to. boto3 finds the credentials
# itself (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the host's role).
_default_storage: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if env.is_set("AWS_STORAGE_BUCKET_NAME"):
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.string("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": (
                env.url("AWS_S3_ENDPOINT_URL", "", ("http", "https"))
                if env.is_set("AWS_S3_ENDPOINT_URL")
                else None
            ),
            "region_name": env.string("AWS_S3_REGION_NAME") or None,
            "addressing_style": (
                env.choice("AWS_S3_ADDRESSING_STYLE", "auto", ("auto", "path", "virtual"))
            ),
            "location": env.string("AWS_LOCATION").strip("/"),
            "default_acl": "private",
            "querystring_auth": False,
            # As on a disk: a second file of the same name gets a new name, never overwrites.
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if not PRODUCTION:
    # Serve static files straight from static/ in development and tests (no collectstatic).
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The public certificate check (/verify/<code>/): requests per minute per client address.
CERTIFICATE_VERIFY_RATE_PER_MINUTE = env.integer(
    "CERTIFICATE_VERIFY_RATE_PER_MINUTE", 30, minimum=1
)
# Partnership applications may attach one PDF up to this size.
PARTNERSHIP_DOCUMENT_MAX_BYTES = env.integer(
    "PARTNERSHIP_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1
)
# Supplier-list imports: the largest file accepted; the most an XLSX may unpack to (a zip
# bomb is refused before openpyxl inflates it); files up to INLINE_BYTES are read during the
# upload request and lists up to INLINE_ROWS rows are written during the confirm request,
# larger ones by the worker with a progress bar and an email when done.
SUPPLIER_IMPORT_MAX_BYTES = env.integer("SUPPLIER_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES = env.integer(
    "SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024, minimum=1
)
SUPPLIER_IMPORT_INLINE_BYTES = env.integer("SUPPLIER_IMPORT_INLINE_BYTES", 256 * 1024, minimum=0)
SUPPLIER_IMPORT_INLINE_ROWS = env.integer("SUPPLIER_IMPORT_INLINE_ROWS", 2000, minimum=0)
# A file larger than this (about 12,000 rows) is read by two processes, its rows cleaned and
# normalised by a helper forked on the machine's other core (suppliers/importing/preparing.py).
SUPPLIER_IMPORT_PARALLEL_BYTES = env.integer(
    "SUPPLIER_IMPORT_PARALLEL_BYTES", 1024 * 1024, minimum=0
)
# An Excel export is built whole in the request (XLSX is a zip: it cannot be streamed as CSV
# is): 95,000 suppliers took 7.5-13 s depending on the machine, so a longer list would run
# into the server's 30 s timeout. Above this many suppliers the portal offers the CSV.
SUPPLIER_EXPORT_XLSX_MAX_ROWS = env.integer("SUPPLIER_EXPORT_XLSX_MAX_ROWS", 100_000, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", default=True)

# Strict CSP: no inline scripts or styles anywhere; allauth's TOTP QR code is a data: image.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- The REST API (api/; README, "API") ------------------------------------------------------
# Organisation-scoped keys; one error shape; pages of 50 (page_size up to 100); per-key
# rates (API_RATE_*: requests per minute for a key's reads and writes).
API_RATE_READ = env.integer("API_RATE_READ_PER_MINUTE", 600, minimum=1)
API_RATE_WRITE = env.integer("API_RATE_WRITE_PER_MINUTE", 120, minimum=1)
# A POST's Idempotency-Key is remembered this long: a retry gets the first answer.
API_IDEMPOTENCY_HOURS = env.integer("API_IDEMPOTENCY_HOURS", 24, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.OrganisationKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasOrganisationKey"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": None,
    # The client's address (unkeyed requests' rate limits) as the sign-in limits see it.
    "NUM_PROXIES": ALLAUTH_TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SCORE Portal API",
    "DESCRIPTION": (
        "The portal's data for brands', providers' and the ILO's own systems. Authenticate "
        "with an organisation's key: `Authorization: Api-Key <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The enums' own hook, then every operation's error answers (api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "EnrolmentStatusEnum": "training.models.Enrolment.Status",
        "CertificateStatusEnum": "training.models.Certificate.Status",
        "PartnershipStatusEnum": "partners.models.Partnership.Status",
        "CountryEnum": "django_countries.countries",
        "VisitKindEnum": "training.models.ConsultingVisit.Kind",
        "KPIReadingKindEnum": "training.models.KPIReading.Kind",
    },
}

# --- Logging, errors, health, metrics ----------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# One JSON object per line for a log collector (production's default), or plain lines.
LOG_FORMAT = env.choice("LOG_FORMAT", "json" if PRODUCTION else "plain", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # request_id (and task_id, task_name in a task) on every record: observability.py.
    "filters": {"request_id": {"()": "score_portal.observability.RequestIdFilter"}},
    "formatters": {
        # Keeps Celery's own "[time: LEVEL/process]" start, which people and tests grep for.
        "plain": {
            "format": "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s "
            "[%(request_id)s]: %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every rendering step at INFO; keep its warnings (refused fetches).
        "weasyprint.progress": {"level": "WARNING"},
        # django-health-check logs each failing check with its traceback; the page, the
        # JSON and the metrics already say it (its unexpected errors still log).
        "health_check": {"level": "ERROR"},
    },
}

# Error reporting, only when SENTRY_DSN is set: exceptions of requests and tasks, without
# personal data (no cookies, user, request bodies); performance tracing only when asked.
SENTRY_DSN = env.string("SENTRY_DSN")
SENTRY_TRACES_SAMPLE_RATE = env.fraction("SENTRY_TRACES_SAMPLE_RATE")
if SENTRY_DSN:
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=ENVIRONMENT,
        release=env.string("SENTRY_RELEASE") or None,
        send_default_pii=False,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# Readiness (/health/): each check's timeout in seconds; beat counts as late when its
# heartbeat (every minute) is older than this; the disk of the media files must keep this
# share free.
HEALTH_CHECK_TIMEOUT = env.integer("HEALTH_CHECK_TIMEOUT", 1, minimum=1)
HEALTH_BEAT_LATE_MINUTES = env.integer("HEALTH_BEAT_LATE_MINUTES", 5, minimum=2)
HEALTH_DISK_MIN_FREE_PERCENT = env.integer("HEALTH_DISK_MIN_FREE_PERCENT", 10, minimum=0)
# /metrics answers a scraper that sends "Authorization: Bearer <METRICS_TOKEN>" (and ILO
# admins and staff signed in); anyone else gets 404. Unset: only the signed-in ILO.
METRICS_TOKEN = env.string("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise SettingsError("METRICS_TOKEN must be at least 32 characters long.")
