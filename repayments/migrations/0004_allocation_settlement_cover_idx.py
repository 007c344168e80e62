"""Index only (issue 7, bench/RESULTS.md): days past due as of a date (close of business, the
month-end classification, reconciliation) sums each installment's principal and interest
allocations. A covering partial index lets PostgreSQL read them in installment order from the
index alone (index-only scan, no heap visits), a third the size of the table; the queries say
`component IN ('principal', 'interest')` so that the partial index applies.

PostgreSQL only (INCLUDE + partial); the SQLite demo does without.
"""

from django.db import migrations

NAME = "allocation_settlement_cover_idx"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON repayments_allocation (installment_id) "
        "INCLUDE (fund_id, effective_on, component, amount) "
        "WHERE installment_id IS NOT NULL AND component IN ('principal', 'interest')",
        params=None,
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}", params=None)


class Migration(migrations.Migration):
    dependencies = [("repayments", "0003_loan_fillfactor")]
    operations = [migrations.RunPython(forward, backward)]
