"""On PostgreSQL, make the audit log append-only at the database level: UPDATE, DELETE and
TRUNCATE on core_auditentry raise an error, whoever the application user is."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION amparo_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: %% on core_auditentry is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER amparo_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION amparo_audit_append_only();
CREATE TRIGGER amparo_audit_no_truncate
    BEFORE TRUNCATE ON core_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION amparo_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS amparo_audit_no_truncate ON core_auditentry;
DROP TRIGGER IF EXISTS amparo_audit_no_update_delete ON core_auditentry;
DROP FUNCTION IF EXISTS amparo_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_national_agencies")]
    operations = [migrations.RunPython(forward, backward)]
