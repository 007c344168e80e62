"""Allocation references checked once per INSERT statement instead of once per row at commit
(issue 7), as the subledger's are (0009).

A collection sheet line writes about four allocation rows, and each carried six deferred foreign
keys: about 24 row checks per line at commit, each an SPI query that also locks the referenced row
(FOR KEY SHARE). After each INSERT one set-based statement over the statement's new rows checks
instead that:

- the loan exists and is in the row's fund (so the fund exists);
- the installment, when there is one, is that loan's;
- the repayment, when there is one, is that loan's;
- the allocation reversed, when there is one, is that loan's;
- the journal entry, when there is one, is the row's fund's.

The row locks kept the referenced rows from being deleted meanwhile. Nothing referenced is ever
deleted instead: loans and installments (0009), journal entries and allocations (append-only,
loanfund 0002 and 0002 here), and from here repayments (a repayment is reversed, never deleted).
PostgreSQL only; on SQLite (the demo) the writers' own reads are the check.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION repayments_allocation_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.loan_id, n.fund_id INTO bad FROM (SELECT DISTINCT loan_id, fund_id FROM new_allocations) n
     WHERE NOT EXISTS (SELECT 1 FROM repayments_loan l WHERE l.id = n.loan_id AND l.fund_id = n.fund_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation of loan % in fund %: no such loan in that fund', bad.loan_id, bad.fund_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.installment_id, n.loan_id INTO bad FROM new_allocations n
     WHERE n.installment_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM repayments_installment i WHERE i.id = n.installment_id AND i.loan_id = n.loan_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation of loan %: installment % is not that loan''s', bad.loan_id, bad.installment_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.repayment_id, n.loan_id INTO bad FROM (SELECT DISTINCT repayment_id, loan_id FROM new_allocations
                                                     WHERE repayment_id IS NOT NULL) n
     WHERE NOT EXISTS (SELECT 1 FROM repayments_repayment r WHERE r.id = n.repayment_id AND r.loan_id = n.loan_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation of loan %: repayment % is not that loan''s', bad.loan_id, bad.repayment_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.reverses_id, n.loan_id INTO bad FROM new_allocations n
     WHERE n.reverses_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM repayments_allocation a WHERE a.id = n.reverses_id AND a.loan_id = n.loan_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation of loan %: the allocation reversed, %, is not that loan''s', bad.loan_id, bad.reverses_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.journal_entry_id, n.fund_id INTO bad FROM (SELECT DISTINCT journal_entry_id, fund_id FROM new_allocations
                                                         WHERE journal_entry_id IS NOT NULL) n
     WHERE NOT EXISTS (SELECT 1 FROM loanfund_journalentry e WHERE e.id = n.journal_entry_id AND e.fund_id = n.fund_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation in fund %: journal entry % is not that fund''s', bad.fund_id, bad.journal_entry_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER repayments_allocation_references AFTER INSERT ON repayments_allocation
    REFERENCING NEW TABLE AS new_allocations FOR EACH STATEMENT EXECUTE FUNCTION repayments_allocation_references_exist();

CREATE TRIGGER repayments_repayment_never_deleted BEFORE DELETE ON repayments_repayment
    FOR EACH ROW EXECUTE FUNCTION repayments_never_deleted();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS repayments_repayment_never_deleted ON repayments_repayment;
DROP TRIGGER IF EXISTS repayments_allocation_references ON repayments_allocation;
DROP FUNCTION IF EXISTS repayments_allocation_references_exist();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('repayments', '0014_one_covering_allocation_index_by_installment'),
    ]

    operations = [
        migrations.AlterField(
            model_name='allocation',
            name='fund',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loanfund.fund'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='loan',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='repayments.loan'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='repayment',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='repayments.repayment'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='installment',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='repayments.installment'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='reverses',
            field=models.OneToOneField(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversed_by', to='repayments.allocation'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='journal_entry',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loanfund.journalentry'),
        ),
        migrations.RunPython(forward, backward),
    ]
