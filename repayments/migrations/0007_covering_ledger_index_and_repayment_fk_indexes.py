"""Posting at scale (issue 7):

- a loan's subledger balances per account and installment are read from one covering index
  (index-only: a cold loan's lines were one heap page each; they were spread over every day's
  close of business);
- a repayment's fund and loan lose their single-column indexes: the reference index leads with
  the fund, the repayments-by-date index with the loan. Only the indexes are dropped, as in 0006
  (the foreign-key constraints are not re-validated).
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE, COLUMNS = "repayments_repayment", ("fund_id", "loan_id")


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for name, info in connection.introspection.get_constraints(cursor, TABLE).items():
            if (info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1
                    and info["columns"][0] in COLUMNS and name.startswith(f"{TABLE}_{info['columns'][0]}_")):
                schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"', params=None)


def create_indexes(apps, schema_editor):
    for column in COLUMNS:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{TABLE}_{column}_idx" ON "{TABLE}" ("{column}")', params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("loanfund", "0004_product_min_age"),
        ("repayments", "0006_drop_covered_fk_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="loanledgerline",
            index=models.Index(fields=["loan", "account", "installment"], include=("amount", "kind", "entry_date"),
                               name="loanledger_loan_balance_idx"),
        ),
        migrations.RemoveIndex(model_name="loanledgerline", name="loanledger_loan_account_idx"),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="repayment",
                    name="fund",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="repayments",
                                            to="loanfund.fund"),
                ),
                migrations.AlterField(
                    model_name="repayment",
                    name="loan",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="repayments",
                                            to="repayments.loan"),
                ),
            ],
        ),
    ]
