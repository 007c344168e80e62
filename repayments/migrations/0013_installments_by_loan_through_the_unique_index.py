"""Repayment posting at 1,000,000 loans (issue 7): settling an installment changes settled_on, an
indexed column, so the update is not HOT and adds an entry to every index of the installment
table. Two of them were keyed by loan: the unique (loan, schedule_version, number) and
(loan, due_on). Posting read the loan's installments through the second and then had to read the
first's leaf (cold at 1M) for the new entry: about 1.2 random reads per line of a collection sheet.
The unique index now serves the reads by loan too (a loan has a few hundred installments at most:
the due-date filter runs on those), and the table loses 2.5 GB of index.

The index of the installments by due date (not superseded) goes too: close of business reads the
installments falling due on a day through the partial index of the unsettled ones and the range on
settled_on (repayments.sql), and no statement read it in a whole benchmark run at 1M (idx_scan 0),
while each settled installment added an entry to it at a random leaf."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0012_allocation_collections_covering_index'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='installment', name='installment_loan_due_idx'),
        migrations.RemoveIndex(model_name='installment', name='installment_due_idx'),
    ]
