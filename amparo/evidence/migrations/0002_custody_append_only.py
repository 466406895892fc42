"""On PostgreSQL, make the chain of custody append-only at the database level: UPDATE and DELETE on
evidence_custodyevent raise an error, whoever the application user is. (TRUNCATE is left to the
test suite's flushes; the audit log's own TRUNCATE trigger covers tampering with the record of events.)"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION amparo_custody_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the chain of custody is append-only: %% on evidence_custodyevent is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER amparo_custody_no_update_delete
    BEFORE UPDATE OR DELETE ON evidence_custodyevent
    FOR EACH ROW EXECUTE FUNCTION amparo_custody_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS amparo_custody_no_update_delete ON evidence_custodyevent;
DROP FUNCTION IF EXISTS amparo_custody_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
