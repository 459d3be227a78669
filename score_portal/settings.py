"""SCORE Portal settings: one module, driven by the environment.

Every variable is documented in the README ("Settings"). With no environment at all the
portal runs on the embedded default: a SQLite file, tasks run in-process after commit and
emails printed to the console. DATABASE_URL, REDIS_URL and EMAIL_URL switch to the real
services. SCORE_ENVIRONMENT=production turns on every safety check and refuses to start
with DEBUG on, the default secret key or no allowed hosts.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

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
    "score_portal",
    "partners",
    "suppliers",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "score_portal.scope.ScopeMiddleware",
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
if REDIS_URL:
    env.url("REDIS_URL", REDIS_URL, ("redis", "rediss"))
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "score",
        }
    }
    # Sessions read from Redis and written through to the database: a signed-in page costs
    # one query less, and a flushed cache loses no one's session.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Without Redis the cache is per process: sessions stay in the database alone, so a
    # sign-out in one process is seen by every other.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in-process; they are still queued after commit
# (delay_on_commit), so the embedded default behaves like production.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redone
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.string("CELERY_QUEUE", "score")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # Fail fast when Redis is down while a request queues work: the outbox row (or the
    # pending certificate) is already committed, and the periodic sweep queues it later.
    "socket_connect_timeout": 2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
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
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "classroom-reminders": {
        "task": "training.tasks.send_classroom_reminders",
        "schedule": 60 * 60,  # hourly: a reminder claimed once goes out once
    },
    "outbox-sweep": {
        "task": "score_portal.tasks.sweep_outbox",
        "schedule": 60,  # stuck emails (broker down, worker died) are queued again
    },
    "certificate-sweep": {
        "task": "training.tasks.sweep_certificates",
        "schedule": 120,  # renders never queued or lost with a worker are queued again
    },
    "supplier-import-sweep": {
        "task": "suppliers.tasks.sweep_supplier_imports",
        "schedule": 120,  # imports never queued or left by a dead worker are queued again
    },
}
# The outbox sweep: a SENDING row older than this belongs to a dead worker and is claimed
# again; a FAILED row is retried until it has had EMAIL_MAX_ATTEMPTS attempts.
EMAIL_STALE_SENDING_MINUTES = env.integer("EMAIL_STALE_SENDING_MINUTES", 10, minimum=1)
EMAIL_MAX_ATTEMPTS = env.integer("EMAIL_MAX_ATTEMPTS", 8, minimum=1)

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
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static and uploaded files ------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "media")))
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
# An Excel export is built whole in the request (XLSX is a zip: it cannot be streamed as CSV
# is): 95,000 suppliers took 7.5-13 s depending on the machine, so a longer list would run
# into the server's 30 s timeout. Above this many suppliers the portal offers the CSV.
SUPPLIER_EXPORT_XLSX_MAX_ROWS = env.integer("SUPPLIER_EXPORT_XLSX_MAX_ROWS", 100_000, minimum=1)
# A worker that has read or written an import for longer than this has died: the sweep hands
# the import to another. The tasks' time limits stop a live one a minute or two before.
SUPPLIER_IMPORT_STALE_MINUTES = env.integer("SUPPLIER_IMPORT_STALE_MINUTES", 15, minimum=5)
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

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every rendering step at INFO; keep its warnings (refused fetches).
        "weasyprint.progress": {"level": "WARNING"},
    },
}
