"""The national service directory (seed data). Demo entries come from `amparo seed_demo`, not from here.

Only national services whose existence and role are well established are listed, under their official
Portuguese names. Phone numbers are given only where the project already publishes them (116, 112); every
other contact is left blank on purpose: confirm contacts, hours and languages with each body before
publishing, and add local offices (by district) in the admin. Each entry has a fixed id so that this
migration can run again (update, never duplicate) and so that district nodes agree on it.
"""

import uuid

from django.db import migrations

NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-4f3e-9c55-1b7f0e2a9d10")
CONFIRM = "Confirmar contactos, horário e línguas antes de publicar."

# key, name, kind, agency code (or None), phone, hours, notes
SERVICES = [
    (
        "linha-fala-crianca-116",
        "Linha Fala Criança — 116",
        "helpline",
        "linha-fala-crianca",
        "116",
        "24 horas, todos os dias",
        "Linha de apoio à criança, gratuita. Escuta, aconselha e encaminha para os serviços mais próximos.",
    ),
    (
        "prm-emergencia-112",
        "Polícia da República de Moçambique — emergência 112",
        "other",
        "prm",
        "112",
        "24 horas, todos os dias",
        "Em caso de perigo imediato para uma criança.",
    ),
    (
        "prm-gafmvv",
        "Gabinetes de Atendimento à Família e Menores Vítimas de Violência (PRM)",
        "family_desk",
        "prm-gafmvv",
        "",
        "",
        "Gabinetes da PRM nas esquadras e comandos de todo o país: recebem queixas de violência contra "
        "crianças e famílias. " + CONFIRM,
    ),
    (
        "misau-cai",
        "Centros de Atendimento Integrado (CAI) às vítimas de violência — unidades sanitárias do MISAU",
        "integrated_centre",
        "misau",
        "",
        "",
        "Atendimento integrado nos hospitais e centros de saúde: cuidados de saúde, apoio psicossocial, "
        "polícia e encaminhamento. " + CONFIRM,
    ),
    (
        "ipaj",
        "IPAJ — Instituto de Patrocínio e Assistência Jurídica",
        "legal_aid",
        None,
        "",
        "",
        "Assistência jurídica e patrocínio judiciário gratuitos para quem não tem meios. "
        "Delegações nas províncias e distritos. " + CONFIRM,
    ),
    (
        "sdsmas",
        "Serviços Distritais de Saúde, Mulher e Acção Social (SDSMAS)",
        "social_welfare",
        "mgcas",
        "",
        "",
        "Acção social em cada distrito: protecção da criança, apoio às famílias e encaminhamento. " + CONFIRM,
    ),
    (
        "inas",
        "INAS — Instituto Nacional de Acção Social",
        "social_welfare",
        "mgcas",
        "",
        "",
        "Programas de assistência social às famílias e crianças vulneráveis; delegações nas províncias. "
        + CONFIRM,
    ),
]


def service_id(key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, key)


def seed(apps, schema_editor):
    Agency = apps.get_model("core", "Agency")
    Service = apps.get_model("cases", "Service")
    agencies = {a.code: a for a in Agency.objects.all()}
    for key, name, kind, agency, phone, hours, notes in SERVICES:
        Service.objects.update_or_create(
            id=service_id(key),
            defaults={
                "name": name,
                "kind": kind,
                "agency": agencies.get(agency) if agency else None,
                "is_national": True,
                "province": None,
                "district": None,
                "phone": phone,
                "hours": hours,
                "languages": ["pt"],
                "free_of_charge": True,
                "notes": notes,
                "is_demo": False,
                "active": True,
            },
        )


def unseed(apps, schema_editor):
    Service = apps.get_model("cases", "Service")
    Service.objects.filter(id__in=[service_id(s[0]) for s in SERVICES], referrals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_casework"), ("core", "0003_national_agencies")]
    operations = [migrations.RunPython(seed, unseed)]
