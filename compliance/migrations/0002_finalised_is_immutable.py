"""Finalised means frozen, enforced by PostgreSQL itself (any endpoint, admin action or task).

- A finalised report row is never updated or deleted; its files are never added, changed or deleted.
- A frozen provisioning run (one a finalised report used) is never updated or deleted, nor are its
  snapshot rows (checked per statement over the transition table, so bulk deletes stay fast).
On SQLite (the demo's embedded default) these are skipped; the model guards and services refuse the same.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION compliance_report_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'finalised' THEN
        RAISE EXCEPTION 'report_finalised: report % is finalised and never changes', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER compliance_report_finalised BEFORE UPDATE OR DELETE ON compliance_compliancereport
    FOR EACH ROW EXECUTE FUNCTION compliance_report_guard();

CREATE OR REPLACE FUNCTION compliance_reportfile_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE rid bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN rid := NEW.report_id; ELSE rid := OLD.report_id; END IF;
    IF EXISTS (SELECT 1 FROM compliance_compliancereport WHERE id = rid AND status = 'finalised') THEN
        RAISE EXCEPTION 'report_finalised: the files of report % never change', rid USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER compliance_reportfile_finalised BEFORE INSERT OR UPDATE OR DELETE ON compliance_reportfile
    FOR EACH ROW EXECUTE FUNCTION compliance_reportfile_guard();

CREATE OR REPLACE FUNCTION compliance_run_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.frozen THEN
        RAISE EXCEPTION 'report_finalised: provisioning run % is frozen by a finalised report', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER compliance_provisionrun_frozen BEFORE UPDATE OR DELETE ON compliance_provisionrun
    FOR EACH ROW EXECUTE FUNCTION compliance_run_guard();

CREATE OR REPLACE FUNCTION compliance_snapshot_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed c JOIN compliance_provisionrun r ON r.id = c.run_id WHERE r.frozen) THEN
        RAISE EXCEPTION 'report_finalised: snapshot rows of a frozen provisioning run never change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER compliance_snapshot_frozen_update AFTER UPDATE ON compliance_classificationsnapshot
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION compliance_snapshot_guard();
CREATE TRIGGER compliance_snapshot_frozen_delete AFTER DELETE ON compliance_classificationsnapshot
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION compliance_snapshot_guard();
CREATE TRIGGER compliance_snapshot_frozen_insert AFTER INSERT ON compliance_classificationsnapshot
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION compliance_snapshot_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS compliance_snapshot_frozen_insert ON compliance_classificationsnapshot;
DROP TRIGGER IF EXISTS compliance_snapshot_frozen_delete ON compliance_classificationsnapshot;
DROP TRIGGER IF EXISTS compliance_snapshot_frozen_update ON compliance_classificationsnapshot;
DROP FUNCTION IF EXISTS compliance_snapshot_guard();
DROP TRIGGER IF EXISTS compliance_provisionrun_frozen ON compliance_provisionrun;
DROP FUNCTION IF EXISTS compliance_run_guard();
DROP TRIGGER IF EXISTS compliance_reportfile_finalised ON compliance_reportfile;
DROP FUNCTION IF EXISTS compliance_reportfile_guard();
DROP TRIGGER IF EXISTS compliance_report_finalised ON compliance_compliancereport;
DROP FUNCTION IF EXISTS compliance_report_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
