"""Every scheduled job names a task the worker actually registers."""

from config.celery_app import app


def test_every_beat_entry_is_a_registered_task():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {"expire-applications", "close-of-business", "monthly-classification", "monthly-report", "quarterly-report"} <= set(schedule)
    missing = [entry["task"] for entry in schedule.values() if entry["task"] not in app.tasks]
    assert missing == []
