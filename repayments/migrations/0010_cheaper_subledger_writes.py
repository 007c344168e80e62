"""Cheaper subledger writes for close of business (400,000-700,000 penalty lines a day at 1M loans).

- The installment index of 0008 is dropped: close of business and the per-loan catch-up now probe an
  installment's lines by (loan, account, installment), the covering loan-balance index of 0007.
- The per-statement reference check of 0009 checks that a line's installment exists from the
  primary key index alone. Checking that it is the line's loan's too read every installment's heap
  row (1.4 s of close of business at 1M); the writers take the installment from a join on the
  loan, and `manage.py reconcile` recomputes every loan's subledger from its installments.
"""

from django.db import migrations

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
     WHERE n.installment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM repayments_installment i WHERE i.id = n.installment_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'subledger line of loan %: no such installment %', bad.loan_id, bad.installment_id
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
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("repayments.migrations.0009_ledger_line_set_based_references")
        schema_editor.execute(previous.FORWARD.split("CREATE TRIGGER")[0], params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0009_ledger_line_set_based_references'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='loanledgerline',
            name='loanledger_inst_cover_idx',
        ),
        migrations.RunPython(forward, backward),
    ]
