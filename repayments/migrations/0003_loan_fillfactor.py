"""Close of business rewrites every overdue loan's days_past_due each night: leave room on each
page so those updates stay HOT (no index maintenance: the column is not indexed)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE repayments_loan SET (fillfactor = 80)", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE repayments_loan RESET (fillfactor)", params=None)


class Migration(migrations.Migration):
    dependencies = [("repayments", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forward, backward)]
