"""The subledger's references checked once per INSERT statement instead of once per row (issue 7).

Close of business inserts ~400,000 subledger lines a day at 1,000,000 loans. Four deferred row
foreign keys per line ran 1.6 million checks at commit, each locking the referenced loan,
installment or journal entry row: 16 s, more than the rest of the day's run. Instead, after each
INSERT (or COPY) one set-based statement over the statement's new rows checks that:

- the loan exists and is in the line's fund;
- the installment, when there is one, is that loan's;
- the journal entry exists and is the line's fund's.

The row locks the foreign keys took protected the referenced rows from deletion meanwhile; loans
and installments are never deleted instead (a trigger, like journal entries in loanfund 0002).
PostgreSQL only; on SQLite (the demo) the writers' own joins are the check.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION repayments_ledgerline_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.loan_id, n.fund_id INTO bad FROM (SELECT DISTINCT loan_id, fund_id FROM new_lines) n
     WHERE NOT EXISTS (SELECT 1 FROM repayments_loan l WHERE l.id = n.loan_id AND l.fund_id = n.fund_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'subledger line of loan % in fund %: no such loan in that fund', bad.loan_id, bad.fund_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.installment_id, n.loan_id INTO bad FROM new_lines n
     WHERE n.installment_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM repayments_installment i WHERE i.id = n.installment_id AND i.loan_id = n.loan_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'subledger line of loan %: installment % is not that loan''s', bad.loan_id, bad.installment_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.journal_entry_id, n.fund_id INTO bad FROM (SELECT DISTINCT journal_entry_id, fund_id FROM new_lines) n
     WHERE NOT EXISTS (SELECT 1 FROM loanfund_journalentry e WHERE e.id = n.journal_entry_id AND e.fund_id = n.fund_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'subledger line in fund %: journal entry % is not that fund''s', bad.fund_id, bad.journal_entry_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER repayments_loanledgerline_references AFTER INSERT ON repayments_loanledgerline
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION repayments_ledgerline_references_exist();

CREATE OR REPLACE FUNCTION repayments_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted (a loan is closed, written off or restructured; an installment superseded)',
          TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER repayments_loan_never_deleted BEFORE DELETE ON repayments_loan
    FOR EACH ROW EXECUTE FUNCTION repayments_never_deleted();
CREATE TRIGGER repayments_installment_never_deleted BEFORE DELETE ON repayments_installment
    FOR EACH ROW EXECUTE FUNCTION repayments_never_deleted();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS repayments_installment_never_deleted ON repayments_installment;
DROP TRIGGER IF EXISTS repayments_loan_never_deleted ON repayments_loan;
DROP FUNCTION IF EXISTS repayments_never_deleted();
DROP TRIGGER IF EXISTS repayments_loanledgerline_references ON repayments_loanledgerline;
DROP FUNCTION IF EXISTS repayments_ledgerline_references_exist();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('loanfund', '0004_product_min_age'),
        ('repayments', '0008_aging_hot_updates_and_covering_penalty_probe'),
    ]

    operations = [
        migrations.AlterField(
            model_name='loanledgerline',
            name='fund',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loanfund.fund'),
        ),
        migrations.AlterField(
            model_name='loanledgerline',
            name='installment',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_lines', to='repayments.installment'),
        ),
        migrations.AlterField(
            model_name='loanledgerline',
            name='journal_entry',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loanfund.journalentry'),
        ),
        migrations.AlterField(
            model_name='loanledgerline',
            name='loan',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_lines', to='repayments.loan'),
        ),
        migrations.RunPython(forward, backward),
    ]
