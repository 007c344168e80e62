"""Settings shared by every environment. Everything deployment-specific comes from the environment."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-demo-key-change-me-in-production-0123456789")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_standardized_errors",
    "djmoney",
    "simple_history",
    "loanfund",
    "borrowers",
    "repayments",
    "compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Embedded default for the demo: SQLite beside the project. Tests and production set DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'demo.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Requests are short indexed reads and writes. On tables of tens of millions of rows the
    # planner's estimates cross the JIT and parallel-query thresholds for them, and compiling a
    # plan or starting workers costs tens of milliseconds (measured on the balance endpoint at
    # 1,000,000 loans: 33-67 ms instead of ~1). Batch jobs opt back in to parallel workers per
    # transaction (BATCH_PARALLEL_WORKERS, repayments.cob.tune_session_for_batch).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = env.str(
        "DB_SESSION_OPTIONS", default="-c jit=off -c max_parallel_workers_per_gather=0")
    # The statements every request runs go through loanfund.rows.prepared_cursor: prepared (planned
    # once per connection) from this many runs. Django's own cursors never prepare.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD", default=2)
else:
    # The covering indexes' extra columns (PostgreSQL) are left out on the demo's SQLite.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Money: VND only, no minor unit. The currency is always explicit on a row.
CURRENCIES = ("VND",)
CURRENCY_CHOICES = [("VND", "Vietnamese đồng")]
DEFAULT_CURRENCY = "VND"
CURRENCY_DECIMAL_PLACES = 0

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "loanfund.api.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "loanfund.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": env("THROTTLE_ANON", default="120/minute"), "auth": env("THROTTLE_AUTH", default="30/minute")},
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "loanfund.api.errors.ExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "409", "415", "429"],
    "ERROR_SCHEMAS": {"409": "loanfund.api.errors.ConflictErrorResponseSerializer"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loan fund API",
    "DESCRIPTION": "Lending for trade-union worker support funds (microfinance programs under Decision 20/2017/QĐ-TTg).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LedgerSideEnum": "loanfund.models.ledger.SIDE_CHOICES",
        "ReportKindEnum": "compliance.models.REPORT_KINDS",
        "ReportStatusEnum": "compliance.models.REPORT_STATUSES",
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

from datetime import timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
}

# Celery: Redis when REDIS_URL is set; otherwise the embedded demo default runs tasks eagerly.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULE = {
    # Approved applications past their validity expire, 00:15 Vietnamese time.
    "expire-applications": {"task": "loanfund.origination.tasks.expire_applications", "schedule": crontab(minute=15, hour=0)},
    # Nightly close of business for yesterday, 00:30 Vietnamese time.
    "close-of-business": {"task": "repayments.tasks.close_of_business_all_funds", "schedule": crontab(minute=30, hour=0)},
    # Classification on the 1st at 01:00 for the previous month-end.
    "monthly-classification": {"task": "compliance.tasks.classify_all_funds", "schedule": crontab(minute=0, hour=1, day_of_month=1)},
    # Monthly portfolio report on the 2nd.
    "monthly-report": {"task": "compliance.tasks.monthly_reports_all_funds", "schedule": crontab(minute=0, hour=2, day_of_month=2)},
    # Quarterly operations report on the 5th after a quarter ends.
    "quarterly-report": {"task": "compliance.tasks.quarterly_reports_all_funds", "schedule": crontab(minute=0, hour=2, day_of_month=5, month_of_year="1,4,7,10")},
}

# Memory per sort/hash for the nightly portfolio-wide statements (close of business).
COB_WORK_MEM = env("COB_WORK_MEM", default="256MB")
# Parallel workers per query for the portfolio-wide statements (close of business, classification).
BATCH_PARALLEL_WORKERS = env.int("BATCH_PARALLEL_WORKERS", default=2)
# Close of business posts a loan's penalty memo (off-balance 9113, cumulative days) every this many
# days, a seventh of the loans in arrears each day (1: every loan every day), and every loan's on a
# month's last day; a repayment, restructuring or write-off catches it up to its day, and the
# balance reads add what is not yet posted (docs/servicing.md, "Penalty").
PENALTY_MEMO_EVERY_DAYS = env.int("PENALTY_MEMO_EVERY_DAYS", default=7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
