"""Drop the single-column indexes Django puts on foreign keys where a composite index already
starts with that column (allocation: fund, loan, installment; subledger line: fund, loan,
installment; installment: loan). Every allocation and subledger row written (close of business
writes tens of thousands a day) maintained them for nothing.

Only the indexes are dropped: the foreign-key constraints stay as they are (AlterField would drop
and re-validate them, a full scan of the largest tables on upgrade).
"""

import django.db.models.deletion
from django.db import migrations, models

COLUMNS = {
    "repayments_allocation": ("fund_id", "loan_id", "installment_id"),
    "repayments_loanledgerline": ("fund_id", "loan_id", "installment_id"),
    "repayments_installment": ("loan_id",),
}


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                if (
                    info["index"]
                    and not info["unique"]
                    and not info["primary_key"]
                    and len(info["columns"]) == 1
                    and info["columns"][0] in columns
                    and not info.get("orders") == ["DESC"]
                    and name.startswith(f"{table}_{info['columns'][0]}_")
                ):
                    schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"', params=None)


def create_indexes(apps, schema_editor):
    for table, columns in COLUMNS.items():
        for column in columns:
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{table}_{column}_idx" ON "{table}" ("{column}")', params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("repayments", "0005_installment_settlement"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="allocation",
                    name="fund",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="loanfund.fund"
                    ),
                ),
                migrations.AlterField(
                    model_name="allocation",
                    name="installment",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="allocations",
                        to="repayments.installment",
                    ),
                ),
                migrations.AlterField(
                    model_name="allocation",
                    name="loan",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="allocations", to="repayments.loan"
                    ),
                ),
                migrations.AlterField(
                    model_name="installment",
                    name="loan",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="schedule", to="repayments.loan"
                    ),
                ),
                migrations.AlterField(
                    model_name="loanledgerline",
                    name="fund",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="loanfund.fund"
                    ),
                ),
                migrations.AlterField(
                    model_name="loanledgerline",
                    name="installment",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_lines",
                        to="repayments.installment",
                    ),
                ),
                migrations.AlterField(
                    model_name="loanledgerline",
                    name="loan",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="ledger_lines", to="repayments.loan"
                    ),
                ),
            ],
        ),
    ]
