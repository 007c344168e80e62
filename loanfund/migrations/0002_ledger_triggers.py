"""The ledger's rules enforced by PostgreSQL itself, not only by Python.

- An entry's lines balance per currency, checked at commit (deferred constraint trigger), and an
  entry has lines.
- Entries and lines are never updated or deleted (row triggers); corrections are reversals.
On SQLite (the demo's embedded default) these are skipped; Python enforces the same rules.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION loanfund_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    bad record;
BEGIN
    IF TG_TABLE_NAME = 'loanfund_journalentry' THEN eid := NEW.id; ELSE eid := NEW.entry_id; END IF;
    IF NOT EXISTS (SELECT 1 FROM loanfund_journalline WHERE entry_id = eid) THEN
        RAISE EXCEPTION 'journal entry % has no lines', eid USING ERRCODE = 'check_violation';
    END IF;
    -- on-balance and off-balance (memo) lines balance separately
    SELECT l.amount_currency, SUM(CASE WHEN l.side = 'D' THEN l.amount ELSE -l.amount END) AS diff INTO bad
      FROM loanfund_journalline l JOIN loanfund_account a ON a.id = l.account_id
     WHERE l.entry_id = eid
     GROUP BY l.amount_currency, a.kind = 'memo' HAVING SUM(CASE WHEN l.side = 'D' THEN l.amount ELSE -l.amount END) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced by % %', eid, bad.diff, bad.amount_currency USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER loanfund_journalline_balanced
    AFTER INSERT ON loanfund_journalline DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION loanfund_entry_must_balance();
CREATE CONSTRAINT TRIGGER loanfund_journalentry_has_lines
    AFTER INSERT ON loanfund_journalentry DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION loanfund_entry_must_balance();

CREATE OR REPLACE FUNCTION loanfund_ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable: post a reversing entry instead', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER loanfund_journalline_immutable BEFORE UPDATE OR DELETE ON loanfund_journalline
    FOR EACH ROW EXECUTE FUNCTION loanfund_ledger_is_append_only();
CREATE TRIGGER loanfund_journalentry_immutable BEFORE UPDATE OR DELETE ON loanfund_journalentry
    FOR EACH ROW EXECUTE FUNCTION loanfund_ledger_is_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS loanfund_journalentry_immutable ON loanfund_journalentry;
DROP TRIGGER IF EXISTS loanfund_journalline_immutable ON loanfund_journalline;
DROP TRIGGER IF EXISTS loanfund_journalentry_has_lines ON loanfund_journalentry;
DROP TRIGGER IF EXISTS loanfund_journalline_balanced ON loanfund_journalline;
DROP FUNCTION IF EXISTS loanfund_ledger_is_append_only();
DROP FUNCTION IF EXISTS loanfund_entry_must_balance();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("loanfund", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
