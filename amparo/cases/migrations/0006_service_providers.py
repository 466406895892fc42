"""Service providers that preservation and disclosure requests go to (seed data; editable in the admin)."""

from django.db import migrations


def seed(apps, schema_editor):
    pass  # filled in by the preservation-request work (issue 4)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_service_directory")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
