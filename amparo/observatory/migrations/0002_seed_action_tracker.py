"""The recommended actions of the seeds' "way forward" (Act, Educate, Invest), as tracker rows."""

from django.db import migrations


def seed(apps, schema_editor):  # noqa: ANN001, ANN201
    from amparo.observatory.actions import seed_rows

    seed_rows(apps.get_model("observatory", "Action"), apps.get_model("core", "Agency"))


class Migration(migrations.Migration):
    dependencies = [
        ("observatory", "0001_initial"),
        ("core", "0003_national_agencies"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
