"""Encrypt the TOTP secrets stored in clear by django-otp (issue 16, item 11; amparo.core.totp)."""

from django.db import migrations


def encrypt_secrets(apps, schema_editor):
    from amparo.core import crypto, totp

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    for device in TOTPDevice.objects.exclude(key__startswith=crypto.PREFIX).only("id", "user_id", "key"):
        TOTPDevice.objects.filter(pk=device.pk).update(key=totp.seal(device.key, device))


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_separation_of_duties"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, migrations.RunPython.noop)]
