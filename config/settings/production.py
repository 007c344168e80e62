from .base import *  # noqa: F401,F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise RuntimeError("Production runs on PostgreSQL: set DATABASE_URL.")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
