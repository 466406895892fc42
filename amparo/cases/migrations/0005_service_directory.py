"""The national service directory (seed data). Demo entries come from `amparo seed_demo`, not from here."""

from django.db import migrations


def seed(apps, schema_editor):
    pass  # filled in by the service-directory work (issue 4)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_casework"), ("core", "0003_national_agencies")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
