"""One settings module for every run mode, read from the environment (django-environ).

DEBUG is off unless DJANGO_DEBUG says otherwise; with DEBUG off the settings refuse to load
without DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY. `make run` (the embedded demo: SQLite and a
filesystem Celery broker under var/) and the tests set DJANGO_DEBUG=1 themselves. Production sets
DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY, FIELD_ENCRYPTION_KEY, DJANGO_ALLOWED_HOSTS.
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("XIAODAI_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Off unless asked for: an unset variable must never show a stranger the settings on an error page.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_DEMO_SECRET = "django-insecure-xiaodai-demo-only-never-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEMO_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set (DEBUG is off; for development set DJANGO_DEBUG=1)"
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Key for fields encrypted at rest (owners' national ID numbers, bank cards). Any string works;
# it is stretched to a Fernet key. Only a DEBUG run (the demo, the tests) may fall back to the
# secret key; production refuses to start without its own, which must never change.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=SECRET_KEY if DEBUG else "")
if not FIELD_ENCRYPTION_KEY:
    raise environ.ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be set (DEBUG is off; for development set DJANGO_DEBUG=1)"
    )
# Key of the HMAC-SHA256 under which partners' API keys are stored: a stolen table is useless
# without it. Apart from DJANGO_SECRET_KEY, so that rotating that one keeps the keys working.
API_KEY_HASH_KEY = env.str("API_KEY_HASH_KEY", default=SECRET_KEY if DEBUG else "")
if not API_KEY_HASH_KEY:
    raise environ.ImproperlyConfigured(
        "API_KEY_HASH_KEY must be set (DEBUG is off; for development set DJANGO_DEBUG=1)"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "auditlog",
    "common",
    "merchants",
    "payments",
    "lending",
    "scoring",
    "riskcontrol",
]
# The demo (marketplace simulator, demo borrowers and logins, their commands) is an app of its own
# above the production apps, on by default so `make run` needs nothing; production sets
# XIAODAI_DEMO=0 and nothing of it is installed, migrated, scheduled or served.
XIAODAI_DEMO = env.bool("XIAODAI_DEMO", default=True)
if XIAODAI_DEMO:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    # Outermost: once the answer is written, the thread gets back its own language (the request's
    # lasts as long as the request); then every request gets its id (X-Request-ID, in logs and
    # audit rows); then NUL characters are refused before anything reads them, and Django's own
    # errors under /api/ get the API's problem-details shape.
    "common.middleware.LanguageScopeMiddleware",
    "common.request_id.RequestIdMiddleware",
    "common.middleware.ApiProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "common.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "common.security.PermissionsPolicyMiddleware",
    "common.security.UserRateLimitMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "common.context_processors.business_date",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'xiaodai.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes; a busy timeout instead of
    # "database is locked" when both write at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # `make run` builds the demo's database (migrate, seed_demo, scoring_demo) with this set: no
    # fsync at all and a 256 MiB page cache. A crash of the machine mid-build can lose the file,
    # which `make clean-demo` and the next `make run` rebuild; the demo's servers never set it.
    if env.bool("XIAODAI_SQLITE_BUILD", default=False):
        DATABASES["default"]["OPTIONS"]["init_command"] = (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
            "PRAGMA temp_store=MEMORY;"
        )
    # Tests get a database file of their own, not Django's default shared-cache in-memory database:
    # with a live server thread and an in-process Celery worker, shared cache locks whole tables and
    # answers a second writer at once with "database table is locked" (SQLITE_LOCKED), which no busy
    # timeout waits out. A file uses the ordinary locks the timeout and WAL above handle. One file
    # per test process, removed when its run ends.
    DATABASES["default"].setdefault("TEST", {})
    DATABASES["default"]["TEST"].setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"xiaodai-test-{os.getpid()}.sqlite3")
    )
else:
    # A connection per request unless configured: the development server runs each request in a
    # thread of its own, and a persistent connection per thread is never reused, only leaked until
    # PostgreSQL runs out. gunicorn's long-lived workers do reuse theirs: docker-compose.yml sets
    # DATABASE_CONN_MAX_AGE for them. Health checks drop a connection the server has closed.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "common.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
# Dates as the portal writes them (2026-12-06 22:51) and figures grouped by thousands, in both
# languages and in the workbench too (config/formats).
FORMAT_MODULE_PATH = "config.formats"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Security: everything `manage.py check --deploy` asks for when DEBUG is off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Sessions end after SESSION_IDLE_MINUTES without a request (each request renews the cookie), and
# with the browser; the cookie is never readable by scripts.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in lockout (django-axes) on the portal's and the workbench's login forms: after
# AXES_FAILURE_LIMIT failures for one username from one address, that pair is refused for
# AXES_COOLOFF_TIME, before any password is checked. Attempts are rows in the database (every
# web process sees them; administrators unlock under "Axes" in the workbench).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "common.security.lockout_response"
AXES_VERBOSE = False

# Content-Security-Policy (django-csp): our own origin only; the few inline scripts and style
# blocks carry the response's nonce. Inline style attributes stay allowed (style-src-attr): they
# cannot run code. Nothing may frame a page, and forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=()"
)
# A signed-in person's writes on the portal and the workbench ("<count>/<s|min|hour|day>").
USER_RATE_LIMIT = env.str("USER_RATE_LIMIT", default="120/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.api.auth.PartnerApiKeyAuthentication"],
    # A key, then the scope its view declares for the method (merchants/api/auth.py).
    "DEFAULT_PERMISSION_CLASSES": ["merchants.api.auth.IsPartner", "merchants.api.auth.HasScope"],
    # Per key and per partner; counted in the cache (Redis in production), 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "merchants.api.auth.PartnerApiRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "common.api.ProblemAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.api_parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xiaodai partner API",
    "DESCRIPTION": (
        "Partner platforms push merchants, orders and order-state changes, and read what they "
        "sent. Authenticate with `Authorization: Api-Key <key>`. Amounts are yuan as strings "
        'with two decimals ("1234.50"), never floats. Errors are problem documents '
        "(`application/problem+json`) whose `errors` name each field at fault by its path in the "
        "request, in one form everywhere: names and list positions joined by dots "
        "(`orders.3.amount`, `owner.national_id`), never brackets."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from the online validator (validator.swagger.io): the docs load nothing from the internet.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Each operation's key scope and access refusals (merchants/api/auth.py); then every operation's
    # common errors as problem details and the examples beside each app's views (common/api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "merchants.api.auth.scopes_in_schema",
        "common.api_schema.postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "merchants.models.OrderStatus",
        "MerchantStatusEnum": "merchants.models.Merchant.Status",
        "WebhookEventTypeEnum": "merchants.webhooks.models.EventType",
    },
}

# Requests a partner API key, and a partner with all its keys together, may make per window
# ("<count>/<s|min|hour|day>"; empty turns a limit off). Over it: 429 with Retry-After.
API_RATE_LIMITS = {
    "key": env.str("API_RATE_LIMIT_PER_KEY", default="1200/min"),
    "partner": env.str("API_RATE_LIMIT_PER_PARTNER", default="3000/min"),
}
# A rotated key keeps working this long beside its replacement unless the operator says otherwise.
API_KEY_ROTATION_OVERLAP_HOURS = env.int("API_KEY_ROTATION_OVERLAP_HOURS", default=24)

# Webhooks (docs/api.md "Webhooks"): a receiver has WEBHOOKS_TIMEOUT_SECONDS to answer 2xx; a failed
# attempt is retried after base × 2^(n−1) seconds (at most the cap), WEBHOOKS_MAX_ATTEMPTS in all
# (the defaults span about a day); at most WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT deliveries to one
# endpoint are sent at once. Endpoints must be https on public addresses unless the two ALLOW
# settings say otherwise (the demo and the tests receive on 127.0.0.1).
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
WEBHOOKS_RETRY_BASE_SECONDS = env.float("WEBHOOKS_RETRY_BASE_SECONDS", default=30.0)
WEBHOOKS_RETRY_MAX_SECONDS = env.float("WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600.0)
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=12)
WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = env.int("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", default=4)
WEBHOOKS_BUSY_RETRY_SECONDS = env.float("WEBHOOKS_BUSY_RETRY_SECONDS", default=5.0)
WEBHOOKS_REQUEUE_AFTER_SECONDS = env.float("WEBHOOKS_REQUEUE_AFTER_SECONDS", default=120.0)
# A guarantee between members (POST /api/v1/guarantees/) ends at most this many years after it
# began (`until_on`); a longer one is refused naming `until_on` (merchants/signal_models.py).
GUARANTEE_MAX_YEARS = env.int("GUARANTEE_MAX_YEARS", default=5)
# A partner registers at most this many endpoints (each event is delivered to every endpoint that
# hears its type); one more is a 409 `too_many_endpoints` naming the limit.
WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER = env.int("WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER", default=20)
WEBHOOKS_SECRET_OVERLAP_SECONDS = env.int("WEBHOOKS_SECRET_OVERLAP_SECONDS", default=24 * 3600)
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=DEBUG or XIAODAI_DEMO)
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=DEBUG or XIAODAI_DEMO)

# Examples of the partner API's requests and replies, by operationId (common/api_schema.py).
API_EXAMPLE_MODULES = [
    "merchants.api.examples",
    "payments.api.examples",
    "lending.api.examples",
    "scoring.api.examples",
    "riskcontrol.api.examples",
]

# Bounds on what the partner API accepts (docs/api.md, "Bounds"). An amount in one request is at
# most API_MAX_AMOUNT_FEN (99,999,999.99 yuan; a member's declared yearly figures at most
# API_MAX_DECLARED_FEN); no date or instant lies before API_EARLIEST_DATE; JSON nests at most
# API_MAX_JSON_DEPTH levels. A request body is at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes: room for
# the largest batch (PARTNER_API_MAX_BATCH orders with every field at its longest is about
# 3.1 MB), refused whole with a 413 beyond.
API_MAX_AMOUNT_FEN = env.int("API_MAX_AMOUNT_FEN", default=9_999_999_999)
API_MAX_DECLARED_FEN = env.int("API_MAX_DECLARED_FEN", default=99_999_999_999_999)
API_EARLIEST_DATE = env.str("API_EARLIEST_DATE", default="2000-01-01")
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=20)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=4 * 1024 * 1024)

# Largest batch a partner may send in one bulk request; larger ones are refused whole.
PARTNER_API_MAX_BATCH = env.int("PARTNER_API_MAX_BATCH", default=5000)
# How long a partner's portal hand-off link (POST /api/v1/merchants/<id>/portal-link/) lets the
# merchant in after it was made; each link works once.
MERCHANTS_HANDOFF_MAX_AGE_SECONDS = env.int("MERCHANTS_HANDOFF_MAX_AGE_SECONDS", default=120)

# Celery: Redis in production, kombu's filesystem transport when REDIS_URL is not set.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_DIR = VAR_DIR / "celery"
# The cache holds rate-limit counters and seen request signatures: Redis in production, so every
# gunicorn worker counts together; one process's memory in the embedded demo.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "xd"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "xiaodai"}
    )
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # The filesystem transport ignores the host; naming one spares each worker a warning.
    CELERY_BROKER_URL = "filesystem://localhost/"
    for _folder in ("queue", "processed", "control"):
        (CELERY_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "control_folder": str(CELERY_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Long jobs watched from a page (common/jobs.py): a running job whose worker has shown no sign of
# life for this long is failed when read (its worker died without restarting).
JOBS_STALE_AFTER_SECONDS = env.int("JOBS_STALE_AFTER_SECONDS", default=900)
# A running job's worker touches it this often (0: only its progress reports do), well within the above.
JOBS_HEARTBEAT_SECONDS = env.int("JOBS_HEARTBEAT_SECONDS", default=30)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Three queues, so that a backlog of one never delays the others: work a person is waiting for
# (a sandbox run, a withdrawal), the steady background (payout batches, holds), and the long nightly
# batches (close of business and its chunks, features, rescoring, monitoring). Every deployment
# runs at least one worker consuming each queue (docker-compose.yml, run_demo).
CELERY_QUEUE_INTERACTIVE = "interactive"
CELERY_QUEUE_DEFAULT = "default"
CELERY_QUEUE_BATCH = "batch"
# Webhooks to partners wait on partners' servers: their own queue, so a slow receiver delays no payout.
CELERY_QUEUE_WEBHOOKS = "webhooks"
CELERY_QUEUES_ALL = (
    CELERY_QUEUE_INTERACTIVE,
    CELERY_QUEUE_DEFAULT,
    CELERY_QUEUE_BATCH,
    CELERY_QUEUE_WEBHOOKS,
)
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_DEFAULT
# Payments: a merchant's own withdrawal is interactive (someone waits at the screen); payout batch
# files and hold expiry stay on default, so neither the nightly batches nor a sandbox run can hold
# money back from wallets; the nightly reconciliation is a long batch.
CELERY_TASK_ROUTES = {
    "payments.tasks.payout_submit": {"queue": CELERY_QUEUE_INTERACTIVE},
    "payments.tasks.reconcile_nightly": {"queue": CELERY_QUEUE_BATCH},
    "payments.tasks.ledger_totals_refresh": {"queue": CELERY_QUEUE_BATCH},
    "scoring.sandbox.tasks.*": {"queue": CELERY_QUEUE_INTERACTIVE},
    # Training started from a page: a risk manager watches it.
    "scoring.tasks.model_train_job": {"queue": CELERY_QUEUE_INTERACTIVE},
    "lending.tasks.application_fulfil": {"queue": CELERY_QUEUE_INTERACTIVE},
    "lending.tasks.applications_fulfil_sweep": {"queue": CELERY_QUEUE_INTERACTIVE},
    "lending.tasks.*": {"queue": CELERY_QUEUE_BATCH},
    "lending.tasks_collections.*": {"queue": CELERY_QUEUE_BATCH},
    "scoring.tasks.*": {"queue": CELERY_QUEUE_BATCH},
    "scoring.monitoring.tasks.*": {"queue": CELERY_QUEUE_BATCH},
    "riskcontrol.tasks.*": {"queue": CELERY_QUEUE_BATCH},
    "riskcontrol.tasks_network.*": {"queue": CELERY_QUEUE_BATCH},
    "merchants.webhooks.tasks.*": {"queue": CELERY_QUEUE_WEBHOOKS},
    "common.tasks.*": {"queue": CELERY_QUEUE_BATCH},
}
# Task modules beside the apps' tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ["lending.tasks_collections", "riskcontrol.tasks_network", "merchants.webhooks.tasks"]
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DIR / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Webhooks: due deliveries that have no message queued (bulk emits, retries whose message was lost).
    "webhooks-sweep": {
        "task": "merchants.webhooks.tasks.webhooks_sweep",
        "schedule": env.float("WEBHOOKS_SWEEP_EVERY_SECONDS", default=10.0),
    },
    # Approvals whose asynchronous payout message was lost (lending.services.applications).
    "lending-fulfil-sweep": {
        "task": "lending.tasks.applications_fulfil_sweep",
        "schedule": env.float("LENDING_FULFIL_SWEEP_EVERY_SECONDS", default=60.0),
    },
    # Waiting payouts leave in batch files within seconds; a run that finds none costs one query.
    "payments-settle-payouts": {
        "task": "payments.tasks.payouts_settle",
        "schedule": env.float("PAYOUTS_SETTLE_EVERY_SECONDS", default=5.0),
    },
    "common-idempotency-purge": {
        "task": "common.tasks.idempotency_records_purge_nightly",
        "schedule": crontab(hour=3, minute=30),
    },
    "payments-expire-holds": {
        "task": "payments.tasks.holds_expire",
        "schedule": crontab(minute="*/15"),
    },
    # The trial balance's running totals: the postings since the last run (payments.ledger_totals).
    "payments-ledger-totals": {
        "task": "payments.tasks.ledger_totals_refresh",
        "schedule": crontab(minute="*/10"),
    },
    "payments-reconcile-nightly": {
        "task": "payments.tasks.reconcile_nightly",
        "schedule": crontab(hour=1, minute=0),
    },
    # Each loan against its ledger entries, kept for the trial-balance page (lending.reconciliation).
    "lending-loan-book-check-nightly": {
        "task": "lending.tasks.loan_book_check_nightly",
        "schedule": crontab(hour=1, minute=15),
    },
    # Closes every business date up to yesterday (the demo replaces it: trade a date, then close it).
    "lending-close-of-business": {
        "task": "lending.tasks.close_of_business_nightly",
        "schedule": crontab(hour=0, minute=10),
    },
    # A fanned-out close that stalled (its workers killed with their messages) and that no
    # dispatcher waits for is taken over (lending.cob_dispatch.cob_stall_check).
    "lending-cob-stall-check": {
        "task": "lending.tasks.cob_stall_check",
        "schedule": env.float("LENDING_COB_STALL_CHECK_EVERY_SECONDS", default=60.0),
    },
    # Collections: open and close cases, check promises to pay, for the last date closed.
    "lending-collections-nightly": {
        "task": "lending.tasks_collections.collections_nightly",
        "schedule": crontab(hour=0, minute=30),
    },
    # Scoring's daily aggregates and feature snapshots of the dates closed.
    "scoring-features-refresh": {
        "task": "scoring.tasks.features_refresh",
        "schedule": crontab(hour=0, minute=40),
    },
    # Rescore, rank and issue offers from the snapshots written at 00:40 (score_all).
    "scoring-scores-refresh": {
        "task": "scoring.tasks.scores_refresh_nightly",
        "schedule": crontab(hour=1, minute=20),
    },
    # The portfolio page's month-end history of the date closed (read by /risk/portfolio/).
    "scoring-portfolio-snapshot": {
        "task": "scoring.tasks.portfolio_snapshot_nightly",
        "schedule": crontab(hour=1, minute=0),
    },
    # PSI of the score and features, predicted vs actual default by grade; alerts by email once.
    "scoring-monitoring-nightly": {
        "task": "scoring.monitoring.tasks.monitoring_nightly",
        "schedule": crontab(hour=2, minute=0),
    },
    # The relationship network and its ring flags for the date closed (before monitoring reads them).
    "riskcontrol-network-build": {
        "task": "riskcontrol.tasks_network.network_build_nightly",
        "schedule": crontab(hour=1, minute=30),
    },
    # Post-loan monitoring of the date closed: warnings, levels, actions (after scoring's nightly).
    "riskcontrol-monitoring-nightly": {
        "task": "riskcontrol.tasks.monitoring_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
}

if XIAODAI_DEMO:
    # In the demo the marketplace trades a day before that day closes: the demo's task trades D,
    # then closes D, day by day, in place of lending's nightly close (which would close untraded days).
    CELERY_TASK_ROUTES["demo.tasks.*"] = {"queue": CELERY_QUEUE_BATCH}
    # (tests/demo/test_advance.py checks that no lending close is left in the demo's schedule.)
    CELERY_BEAT_SCHEDULE.pop("lending-close-of-business", None)
    CELERY_BEAT_SCHEDULE["demo-trade-and-close"] = {
        "task": "demo.tasks.demo_days_trade_and_close",
        "schedule": crontab(hour=0, minute=10),
    }

# Drift alerts reach risk managers by email; the demo prints them to the console.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="xiaodai@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Personal data is encrypted in its columns, so SQL and database errors carry only tokens; the
    # filter masks any national ID, bank card or mobile number that still reaches a log line.
    "filters": {"pii": {"()": "common.masking.PiiLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["pii"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The development server's line per request; the demo (run_demo) keeps only errors.
        "django.server": {
            "handlers": ["console"],
            "level": env.str("DJANGO_SERVER_LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
    },
}

# The audit log (django-auditlog's LogEntry, see common/audit.py): every save, delete, conditional
# UPDATE and bulk insert of these models leaves a row with the actor (additional_data["actor"]),
# the request id (cid), and the changed fields before and after. Personal data is masked in it;
# bookkeeping columns are left out.
AUDITLOG_CID_GETTER = "common.request_id.request_id_get"
AUDITLOG_STORE_JSON_CHANGES = False
AUDITLOG_DISABLE_REMOTE_ADDR = True
_NOT_AUDITED = ["updated_at", "created_at"]
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "lending.loan", "exclude_fields": _NOT_AUDITED},
    {"model": "lending.creditline", "exclude_fields": _NOT_AUDITED},
    {"model": "lending.cobrun", "exclude_fields": ["chunk_bounds"]},
    {"model": "payments.account", "exclude_fields": _NOT_AUDITED},
    {"model": "payments.fundingpool", "exclude_fields": _NOT_AUDITED},
    {"model": "merchants.apikey", "exclude_fields": [*_NOT_AUDITED, "digest", "last_used_at"]},
    {
        "model": "merchants.owner",
        "exclude_fields": [
            *_NOT_AUDITED,
            "national_id_index",
            "phone_index",
            "address_index",
            "bank_card_index",
        ],
        "mask_fields": ["name", "national_id", "phone", "address", "bank_card"],
        "mask_callable": "common.masking.mask_value",
    },
    {"model": "merchants.merchant", "exclude_fields": [*_NOT_AUDITED, "content_hash"]},
    {"model": "merchants.guarantee"},
)

# The simulated payment channel behind withdrawals: how slow and how unreliable it is.
PAYMENT_CHANNEL = {
    "LATENCY_SECONDS": env.float("PAYMENT_CHANNEL_LATENCY_SECONDS", default=0.5),
    "TRANSIENT_FAILURE_RATE": env.float("PAYMENT_CHANNEL_TRANSIENT_FAILURE_RATE", default=0.05),
    "FAILURE_RATE": env.float("PAYMENT_CHANNEL_FAILURE_RATE", default=0.02),
    "MAX_RETRIES": env.int("PAYMENT_CHANNEL_MAX_RETRIES", default=5),
    # Batch files: payouts per file (one round trip each), the first retry's wait (doubling after),
    # and how long a worker's claim on a batch lasts before another worker may take it over.
    "BATCH_SIZE": env.int("PAYMENT_CHANNEL_BATCH_SIZE", default=500),
    "RETRY_BACKOFF_SECONDS": env.float("PAYMENT_CHANNEL_RETRY_BACKOFF_SECONDS", default=1.0),
    "CLAIM_SECONDS": env.int("PAYMENT_CHANNEL_CLAIM_SECONDS", default=300),
}

# What one partner platform may settle into its merchants' wallets, in fen: per business date and
# in total (its clearing account's balance), with overrides per partner code, e.g.
# SETTLEMENT_CAPS_FEN_BY_PARTNER='{"tmall": {"daily": 500000000000}}'. Both stay far inside the
# ledger's limit per account (payments.ledger.ACCOUNT_BALANCE_LIMIT_FEN, 10^17).
SETTLEMENT_CAPS_FEN = {
    "daily": env.int("SETTLEMENT_DAILY_CAP_FEN", default=10**12),  # 10 billion yuan a day
    "total": env.int("SETTLEMENT_TOTAL_CAP_FEN", default=10**16),  # 100 trillion yuan
}
SETTLEMENT_CAPS_FEN_BY_PARTNER = env.json("SETTLEMENT_CAPS_FEN_BY_PARTNER", default={})
# How long a partner request waits for another one with the same Idempotency-Key to finish
# before it is answered 409 "in progress" (common/idempotency.py).
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)
# How long a key's stored reply is kept (common/tasks.py purges older ones each night); a key
# resent after that is a new request.
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=30)

# Lending: the legal cap on the all-in annual cost of credit (an IRR-based APR), and the size of
# the chunks close of business works in.
LENDING_ANNUAL_COST_CAP = env.str("LENDING_ANNUAL_COST_CAP", default="0.24")
LENDING_COB_CHUNK_SIZE = env.int("LENDING_COB_CHUNK_SIZE", default=50_000)
# The five-tier classification: the first day past due of each tier below normal.
LENDING_CLASSIFICATION_THRESHOLDS = {
    "special_mention_from": env.int("LENDING_SPECIAL_MENTION_FROM", default=1),
    "substandard_from": env.int("LENDING_SUBSTANDARD_FROM", default=91),
    "doubtful_from": env.int("LENDING_DOUBTFUL_FROM", default=181),
    "loss_from": env.int("LENDING_LOSS_FROM", default=361),
}
LENDING_COB_CHUNK_TIMEOUT_SECONDS = env.int("LENDING_COB_CHUNK_TIMEOUT_SECONDS", default=1800)
# A fanned-out close that has not moved for this long is taken over (what its run misses is sent
# again): a worker killed with its messages would otherwise leave them to the broker's visibility
# timeout (an hour). Re-sent work that was only slow finds itself done and does nothing.
LENDING_COB_WATCH_SECONDS = env.int("LENDING_COB_WATCH_SECONDS", default=60)

# The credit assembly line (信贷工厂): per kind of product, the stages an application passes, in
# order, run by lending.pipeline the way Django runs MIDDLEWARE. A stage is a dotted path to a
# callable (lending.pipeline.stage) that passes, declines, or refers the application to a
# person's queue. Risk control's stages plug in here by name.
# Risk control's checks come before the rating (riskcontrol/stages.py; thresholds in the active
# rule set), and the related parties' limit after the merchant's own exposure.
_RISK_BEFORE_RATING = [
    "riskcontrol.stages.identity",
    "riskcontrol.stages.blacklist",
    "riskcontrol.stages.velocity",
    "riskcontrol.stages.antifraud",
    "riskcontrol.stages.policy",
]
_B2C_STAGES = [
    "lending.stages.eligibility",
    *_RISK_BEFORE_RATING,
    "scoring.stages.rate",
    "lending.stages.record",
    "lending.stages.exposure",
    "riskcontrol.stages.group_exposure",
]
_B2B_STAGES = [*_B2C_STAGES, "lending.stages.declared_check", "lending.stages.video_check"]
CREDIT_PIPELINE = {
    "order_loan": [*_B2C_STAGES, "lending.stages.auto_decide"],
    "credit_loan": [*_B2C_STAGES, "lending.stages.auto_decide"],
    "revolving": [*_B2B_STAGES, "lending.stages.field_inspection", "lending.stages.officer_approval"],
    "fixed_loan": [*_B2B_STAGES, "lending.stages.field_inspection", "lending.stages.officer_approval"],
}
# A person's stage: how long a case may wait in each queue before it is shown as late.
LENDING_QUEUE_TIME_LIMITS_HOURS = {
    "video_check": env.int("LENDING_VIDEO_CHECK_HOURS", default=48),
    "field_inspection": env.int("LENDING_FIELD_INSPECTION_HOURS", default=120),
    "officer_approval": env.int("LENDING_OFFICER_APPROVAL_HOURS", default=24),
    "fraud_review": env.int("LENDING_FRAUD_REVIEW_HOURS", default=24),
}
# Approvals of at least this many fen need a second officer (four eyes).
LENDING_SECOND_APPROVAL_FROM_FEN = env.int("LENDING_SECOND_APPROVAL_FROM_FEN", default=20_000_000)
# A declined merchant may apply again after this many days (a stage may ask for longer).
LENDING_REAPPLY_AFTER_DAYS = env.int("LENDING_REAPPLY_AFTER_DAYS", default=30)
# A rating older than this many days is refreshed when the merchant applies.
LENDING_RATING_MAX_AGE_DAYS = env.int("LENDING_RATING_MAX_AGE_DAYS", default=7)
# The instant path's payout: "inline" in the request, or "async" by a Celery task (the portal
# page updates by itself when the money lands).
LENDING_INSTANT_PAYOUT = env.str("LENDING_INSTANT_PAYOUT", default="inline")
# An approval's payout task has this long before the sweep (CELERY_BEAT_SCHEDULE) does it instead.
LENDING_FULFIL_SWEEP_AFTER_SECONDS = env.int("LENDING_FULFIL_SWEEP_AFTER_SECONDS", default=30)
# Video interviews: slots on business days, the lender's own video tool's address for each.
LENDING_VIDEO_SLOTS = {
    "first_hour": env.int("LENDING_VIDEO_FIRST_HOUR", default=9),
    "last_hour": env.int("LENDING_VIDEO_LAST_HOUR", default=17),
    "minutes": env.int("LENDING_VIDEO_SLOT_MINUTES", default=30),
    "seats": env.int("LENDING_VIDEO_SEATS", default=3),
    "days_ahead": env.int("LENDING_VIDEO_DAYS_AHEAD", default=10),
    "url_template": env.str(
        "LENDING_VIDEO_URL_TEMPLATE", default="https://meet.example.com/xiaodai/{reference}"
    ),
}
# Documents a member uploads: kinds of file and the largest size.
LENDING_DOCUMENT_TYPES = ["application/pdf", "image/jpeg", "image/png"]
LENDING_DOCUMENT_MAX_BYTES = env.int("LENDING_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# Collections (催收), docs/risk.md "Collections": the step of each delinquency bucket ("M4+" is M4
# and after; actions sms, phone, visit, letter, legal; every_days between contacts), the longest a
# promise to pay may run, and the write-off policy (days past due and broken promises from which a
# case is proposed to a second officer). Override the table with JSON in LENDING_COLLECTION_STRATEGY.
LENDING_COLLECTION_STRATEGY = env.json(
    "LENDING_COLLECTION_STRATEGY",
    default={
        "M1": {"action": "sms", "every_days": 7, "label": "Reminder SMS"},
        "M2": {"action": "phone", "every_days": 3, "label": "Phone call every 3 days"},
        "M3": {"action": "visit", "every_days": 7, "label": "Field visit / demand letter"},
        "M4+": {
            "action": "legal",
            "every_days": 14,
            "label": "Legal action, write-off review",
        },
    },
)
LENDING_PROMISE_MAX_DAYS = env.int("LENDING_PROMISE_MAX_DAYS", default=14)
LENDING_COLLECTION_WRITE_OFF_POLICY = {
    "min_days_past_due": env.int("LENDING_WRITE_OFF_FROM_DAYS_PAST_DUE", default=180),
    "min_broken_promises": env.int("LENDING_WRITE_OFF_MIN_BROKEN_PROMISES", default=1),
}

# Books kept beside the ledger that `manage.py reconcile` and the nightly check prove against it
# (the loan book: each loan's balances, each pool's loans), by dotted path so that payments imports
# no domain app above it; each returns a list of differences in words (empty: they agree).
LEDGER_SUBLEDGER_CHECKS = ["lending.reconciliation.loan_book_differences"]
# The same books' proof on the trial-balance page: each returns an object with `html` (its
# part of the page, in the reader's language) and `is_clean`.
LEDGER_SUBLEDGER_SECTIONS = ["lending.reconciliation.loan_book_section"]

# Four eyes (四眼原则): decisions a second person approves. Executors are registered by dotted
# path, so common imports no domain app; each takes (params, *, requested_by, approved_by, on).
FOUR_EYES_ACTIONS = {
    "loan.write_off": "lending.approvals.write_off",
    "line.grant": "lending.approvals.line_grant",
    "pool.create": "payments.approvals.pool_create",
    "pool.add_capital": "payments.approvals.pool_add_capital",
    "pool.borrow": "payments.approvals.pool_borrow",
}
# Per action, the amount in fen above which a second person is needed (0: always; an action not
# listed: always). Override some or all with JSON, e.g.
# FOUR_EYES_THRESHOLDS_FEN='{"loan.write_off": 100000}' (write-offs up to ¥1,000 by one person).
FOUR_EYES_THRESHOLDS_FEN = {
    "loan.write_off": 0,
    "line.grant": 0,
    "pool.create": 0,
    "pool.add_capital": 0,
    "pool.borrow": 0,
    # The credit pipeline's officer approval applies this one itself (application_stage_decide),
    # from LENDING_SECOND_APPROVAL_FROM_FEN ("at least", so "above" one fen less): set that.
    "application.approve": LENDING_SECOND_APPROVAL_FROM_FEN - 1,
    **{str(action): int(fen) for action, fen in env.json("FOUR_EYES_THRESHOLDS_FEN", default={}).items()},
}
