"""Load Mozambique's 11 provinces and 156 districts from the CSV kept in amparo/core/data/."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"

# The district holding each provincial capital (P-codes).
CAPITALS = {
    "MZ01": ("Pemba", "MZ0104"),
    "MZ02": ("Xai-Xai", "MZ0207"),
    "MZ03": ("Inhambane", "MZ0301"),
    "MZ04": ("Chimoio", "MZ0402"),
    "MZ05": ("Matola", "MZ0502"),
    "MZ06": ("Maputo", "MZ0601"),
    "MZ07": ("Nampula", "MZ0702"),
    "MZ08": ("Lichinga", "MZ0802"),
    "MZ09": ("Beira", "MZ0906"),
    "MZ10": ("Tete", "MZ1006"),
    "MZ11": ("Quelimane", "MZ1103"),
}
# Display names with full Portuguese spelling where the source is unaccented; codes stay the key.
DISPLAY = {"MZ05": "Maputo Província", "MZ06": "Maputo Cidade", "MZ11": "Zambézia"}


def load(apps, schema_editor):
    Province = apps.get_model("core", "Province")
    District = apps.get_model("core", "District")
    with open(DATA / "mz_province_iso3166.csv", encoding="utf-8") as fh:
        iso = {row["code"]: row["iso_3166_2"] for row in csv.DictReader(fh)}
    with open(DATA / "mz_admin_units.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["level"] == "province":
            code = row["code"]
            Province.objects.update_or_create(
                code=code,
                defaults={"name": DISPLAY.get(code, row["name"]), "iso_3166_2": iso[code], "capital": CAPITALS[code][0]},
            )
    capital_districts = {d for _, d in CAPITALS.values()}
    for row in rows:
        if row["level"] == "district":
            District.objects.update_or_create(
                code=row["code"],
                defaults={"name": row["name"], "province_id": row["parent_code"], "is_capital": row["code"] in capital_districts},
            )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
