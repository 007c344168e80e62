import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("loanfund")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Origination lives inside the loanfund app as a sub-package: its tasks module is found explicitly.
app.autodiscover_tasks(["loanfund.origination"])
