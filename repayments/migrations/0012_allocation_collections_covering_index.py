"""Month-end at 1,000,000 loans (issue 7): the monthly and quarterly reports' collections (a
period's payments, reversals and recoveries summed by component) read the allocation index on
(fund, effective_on) and then one heap row per allocation. With 8.4 million allocations in a month
spread over a 13 GB table, that statement alone took 177 s with cold pages. The index now carries
kind, component and amount: an index-only scan of the month's contiguous slice."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0011_installment_first_paid_on'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='allocation',
            index=models.Index(fields=['fund', 'effective_on'], include=('kind', 'component', 'amount'), name='allocation_fund_date_cover_idx'),
        ),
        migrations.RemoveIndex(model_name='allocation', name='allocation_fund_date_idx'),
    ]
