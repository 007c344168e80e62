"""Settings of the benchmark server (bench/run.py section 5): the project's, with DEBUG off (no
query log) and one extra URL: a trivial authenticated DRF endpoint to compare against."""

from config.settings.local import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
