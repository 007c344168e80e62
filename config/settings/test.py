"""Tests run on PostgreSQL: `make test` starts a throwaway cluster when DATABASE_URL is unset."""

from .base import *  # noqa: F401,F403
from .base import DATABASES, REST_FRAMEWORK, env

if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise RuntimeError("Tests need PostgreSQL: run `make test` (it starts one) or set DATABASE_URL.")
DATABASES["default"]["CONN_MAX_AGE"] = 0
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = env("MEDIA_ROOT", default="/tmp/loanfund-test-media")
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "auth": "10000/minute"}}

# Tests send tasks eagerly unless they take the `celery_worker` fixture, which starts a real worker
# on the test database and switches sending to the Redis broker for that test.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_EAGER", default=True)
