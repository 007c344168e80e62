"""Close of business at 1,000,000 loans (issue 7):

- the partial index of loans in arrears is on status, not on days_past_due: aging changes the days
  past due of every loan in arrears every day, and an indexed column made each of those updates
  rewrite all the loan's indexes instead of a HOT update in place;
- the penalty stage's probe of what each overdue installment has accrued (one subledger line per
  day) reads the amounts and dates from the index alone.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('borrowers', '0001_initial'),
        ('loanfund', '0004_product_min_age'),
        ('repayments', '0007_covering_ledger_index_and_repayment_fk_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="loan",
            index=models.Index(condition=models.Q(("status__in", ["in_arrears", "restructured"])), fields=["fund"],
                               name="loan_overdue_status_idx"),
        ),
        migrations.RemoveIndex(model_name="loan", name="loan_in_arrears_idx"),
        migrations.AddIndex(
            model_name="loanledgerline",
            index=models.Index(fields=["installment", "kind"], include=("amount", "entry_date"), name="loanledger_inst_cover_idx"),
        ),
        migrations.RemoveIndex(model_name="loanledgerline", name="loanledger_installment_idx"),
    ]
