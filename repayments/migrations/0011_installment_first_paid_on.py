"""Installment.first_paid_on (repayments.settlement): the first day an allocation to an installment
took effect. Reads skip the allocation probe of an unsettled installment with none: at 1,000,000
loans 98 % of the overdue installments close of business reads were never paid at all. Backfilled
for the installments not settled (the ones reads probe)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from repayments.settlement import first_paid_backfill

    first_paid_backfill()


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0010_cheaper_subledger_writes'),
    ]

    operations = [
        migrations.AddField(
            model_name='installment',
            name='first_paid_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
