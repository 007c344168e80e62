"""Model instances from raw SELECTs, for the hot reads whose ORM query would cost more to compile
than to run (the posting lock, the balance endpoint, the JWT user)."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from django.db import connection


@contextmanager
def prepared_cursor(*, native: bool = False):
    """A cursor for the few statements every request runs (the JWT user, the balance read):
    PostgreSQL plans each once per connection instead of on every call (server-side binding; the
    connection prepares a statement from its DB_PREPARE_THRESHOLD-th run). Planning those joins
    cost more than running them (1.7 ms against 0.4 ms for the balance read at 1,000,000 loans).
    Django's own cursors stay client-side and unprepared. Other backends: the usual cursor.

    native: the statement is already in PostgreSQL's own placeholders (native_placeholders) and
    goes to the server as it is. psycopg rewrites %(name)s placeholders on every call once a
    statement is longer than its conversion cache takes (4 KB): about 0.2 ms a request for the
    member's balance read."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    # Django's wrapper (query log, execute wrappers, error translation) around a server-side cursor.
    with connection._prepare_cursor(_cursor_classes()[native](connection.connection)) as cursor:
        yield cursor


@functools.cache
def _cursor_classes() -> dict[bool, type]:
    """psycopg's server-side cursors (by `native`), which keep the statement they ran where
    Django's query log reads it (`cursor._query`): psycopg leaves it unset when it runs a statement
    already prepared, and the log then recorded None for it."""
    import psycopg

    def keeping_query(base):
        class Keeping(base):
            def _convert_query(self, query, params=None):
                self._query = super()._convert_query(query, params)
                return self._query

        Keeping.__name__ = Keeping.__qualname__ = f"QueryKeeping{base.__name__}"
        return Keeping

    return {True: keeping_query(psycopg.RawCursor), False: keeping_query(psycopg.Cursor)}


def native_placeholders(statement: str, names: tuple[str, ...]) -> str:
    """`statement` with %(name)s written as PostgreSQL's $1, $2, ... in the order of `names`, for
    prepared_cursor(native=True) and a parameter sequence in that order."""
    for position, name in enumerate(names, start=1):
        statement = statement.replace(f"%({name})s", f"${position}")
    if "%(" in statement or "%s" in statement:
        raise ValueError("a placeholder is not among the names given")
    return statement.replace("%%", "%")


class RowLoader:
    """Model instances from the columns of a raw SELECT, converted the way the ORM converts them
    (the backend's and the field's converters: JSON, dates on SQLite, ...). For the hot reads
    whose ORM query would cost more to compile than to run."""

    _cache: dict = {}

    def __init__(self, model, alias: str, defer: tuple[str, ...] = ()):
        self.model, self.alias = model, alias
        # Deferred fields are left out of the SELECT; reading one later loads it (Django's deferral).
        self.fields = [f for f in model._meta.concrete_fields if f.name not in defer]
        self.attnames = [f.attname for f in self.fields]
        self.columns = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in self.fields)
        self.converters = []
        for index, f in enumerate(self.fields):
            col = f.get_col(alias)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((index, col, found))

    @classmethod
    def of(cls, model, alias: str, defer: tuple[str, ...] = ()) -> RowLoader:
        key = (model, alias, connection.vendor, defer)
        if key not in cls._cache:
            cls._cache[key] = cls(model, alias, defer)
        return cls._cache[key]

    def build(self, row, start: int = 0):
        values = list(row[start:start + len(self.fields)])
        for index, col, found in self.converters:
            value = values[index]
            for convert in found:
                value = convert(value, col, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def converted(field, value):
    """One raw value converted as the ORM would read `field` (e.g. a decimal on SQLite)."""
    col = field.get_col("x")
    for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = convert(value, col, connection)
    return value


def token_users() -> RowLoader:
    """The columns a request's user is read with (the JWT user, and the member's balance read
    that reads it with the balances): last_login and date_joined are not read by the API and load
    if read."""
    from django.contrib.auth import get_user_model

    return RowLoader.of(get_user_model(), "u", defer=("last_login", "date_joined"))
