"""Allocation rows and the per-loan subledger are append-only in PostgreSQL too (like the ledger).

Reuses the ledger's trigger function from loanfund 0002. Skipped on SQLite (the demo), where the
models' ImmutableModel guard applies.
"""

from django.db import migrations

TABLES = ("repayments_allocation", "repayments_loanledgerline")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION loanfund_ledger_is_append_only();",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [("repayments", "0001_initial"), ("loanfund", "0002_ledger_triggers")]
    operations = [migrations.RunPython(forward, backward)]
