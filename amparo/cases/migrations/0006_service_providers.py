"""Service providers that preservation and disclosure requests go to (seed data; editable in the admin).

Addresses and e-mail addresses for legal requests are not invented: they are left for the administrator to
confirm with each provider before the first request is sent (the letter says so while they are blank).
"""

from django.db import migrations

PROVIDERS = [
    # code, name, kind, response days
    ("vodacom", "Vodacom Moçambique", "mobile", 30),
    ("movitel", "Movitel", "mobile", 30),
    ("tmcel", "Tmcel (Moçambique Telecom)", "mobile", 30),
    ("meta", "Meta Platforms (Facebook, Messenger, Instagram)", "platform", 30),
    ("whatsapp", "WhatsApp", "platform", 30),
    ("google", "Google", "platform", 30),
    ("tiktok", "TikTok", "platform", 30),
]


def seed(apps, schema_editor):
    ServiceProvider = apps.get_model("cases", "ServiceProvider")
    for code, name, kind, days in PROVIDERS:
        ServiceProvider.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "response_days": days, "active": True},
        )


def unseed(apps, schema_editor):
    ServiceProvider = apps.get_model("cases", "ServiceProvider")
    ServiceProvider.objects.filter(code__in=[p[0] for p in PROVIDERS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_service_directory")]
    operations = [migrations.RunPython(seed, unseed)]
