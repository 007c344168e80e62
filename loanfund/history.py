"""django-simple-history's audit trail, with its manager's class made once per model.

simple_history's descriptor builds the history manager's class (`Manager.from_queryset`, which
walks the queryset class with `inspect.getmembers`) on every `Model.history` access, and every
save of a model with history makes one: about 1 ms of a single repayment's posting on the
benchmark host. That class depends only on its arguments, so it is made once. What is recorded
is unchanged."""

from __future__ import annotations

import functools

from simple_history import manager, models


class HistoryManager(manager.HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


def HistoricalRecords(**options) -> models.HistoricalRecords:  # noqa: N802 - stands in for the class
    return models.HistoricalRecords(history_manager=HistoryManager, **options)
