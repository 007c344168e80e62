"""Repayment posting at 1,000,000 loans (issue 7): each allocation row added an entry to two
indexes keyed by installment: (installment, effective_on) and the covering partial index of
migration 0004 (principal and interest only). At 1M loans each was about one random leaf read per
line of a collection sheet. One index now does both: keyed (installment, effective_on), covering
fund, component and amount for every component. Close of business's principal-and-interest sums
stay index-only (component is a filter on the index tuple), and the table loses 2.2 GB of index.
The INCLUDE part is PostgreSQL's; the SQLite demo gets the plain (installment, effective_on) index."""

from django.db import migrations, models

OLD = "allocation_settlement_cover_idx"


def drop_old(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}", params=None)


def restore_old(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {OLD} ON repayments_allocation (installment_id) "
            "INCLUDE (fund_id, effective_on, component, amount) "
            "WHERE installment_id IS NOT NULL AND component IN ('principal', 'interest')", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0013_installments_by_loan_through_the_unique_index'),
    ]

    # The old indexes' files are freed only at commit: on a disk without room for the new index and
    # its sort next to them (at 1M loans about 6 + 7 GB), drop the two first by hand; both drops
    # here say IF EXISTS.
    operations = [
        migrations.RunPython(drop_old, restore_old),
        migrations.RemoveIndex(model_name='allocation', name='allocation_installment_idx'),
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(condition=models.Q(('installment__isnull', False)), fields=['installment', 'effective_on'],
                               include=('fund', 'component', 'amount'), name='allocation_inst_cover_idx'),
        ),
    ]
