"""The settlement projection (repayments.settlement): `Installment.settled_on`, backfilled from the
allocation rows in one set-based statement, then its two indexes (built after the backfill, which
is faster than maintaining them row by row)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from repayments.settlement import settled_on_select

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"""
            WITH computed AS ({settled_on_select("1 = 1")})
            UPDATE repayments_installment SET settled_on = computed.settled_on
              FROM computed
             WHERE repayments_installment.id = computed.installment_id AND computed.settled_on IS NOT NULL""")


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
