"""The settlement projection (repayments.settlement): `Installment.settled_on`, backfilled from the
allocation rows in one set-based statement, then its two indexes (built after the backfill, which
is faster than maintaining them row by row)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from repayments.settlement import fund_installments_settle

    fund_installments_settle(None)  # every fund, in chunks of loans
    if schema_editor.connection.vendor == "postgresql":
        # Fresh statistics: without them the planner takes the new partial index of unsettled
        # installments for per-loan reads and scans millions of entries (measured: 58 ms a balance).
        schema_editor.execute("ANALYZE repayments_installment", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("repayments", "0004_allocation_settlement_cover_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="installment",
            name="settled_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="installment",
            index=models.Index(condition=models.Q(("settled_on__isnull", True)), fields=["due_on"], name="installment_unsettled_idx"),
        ),
        migrations.AddIndex(
            model_name="installment",
            index=models.Index(fields=["settled_on"], name="installment_settled_idx"),
        ),
        migrations.AddIndex(
            model_name="loan",
            index=models.Index(condition=models.Q(("days_past_due__gt", 0)), fields=["fund"], name="loan_in_arrears_idx"),
        ),
    ]
