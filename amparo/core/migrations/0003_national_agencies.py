"""Seed the national bodies named in the Disrupting Harm research. Production needs them too;
their codes are stable identifiers."""

from django.db import migrations

AGENCIES = [
    # code, official name, short name, kind, scope province (None = national)
    ("sernic", "Serviço Nacional de Investigação Criminal", "SERNIC", "criminal_investigation", None),
    ("prm", "Polícia da República de Moçambique", "PRM", "police", None),
    ("prm-gafmvv", "Gabinetes de Atendimento à Família e Menores Vítimas de Violência (PRM)", "GAFMVV", "police", None),
    ("pgr", "Procuradoria-Geral da República", "PGR", "prosecution", None),
    ("mgcas", "Ministério do Género, Criança e Acção Social", "MGCAS", "social_welfare", None),
    ("mjacr", "Ministério da Justiça, Assuntos Constitucionais e Religiosos", "MJACR", "government", None),
    ("tribunal-menores-maputo", "Tribunal de Menores da Cidade de Maputo", "TMCM", "court", "MZ06"),
    ("linha-fala-crianca", "Linha Fala Criança (116)", "Linha 116", "helpline", None),
    ("incm", "Instituto Nacional das Comunicações de Moçambique", "INCM", "regulator", None),
    ("intic", "Instituto Nacional de Tecnologias de Informação e Comunicação", "INTIC", "regulator", None),
    ("cndh", "Comissão Nacional dos Direitos Humanos", "CNDH", "human_rights", None),
    ("minedh", "Ministério da Educação e Desenvolvimento Humano", "MINEDH", "education", None),
    ("misau", "Ministério da Saúde", "MISAU", "health", None),
]


def seed(apps, schema_editor):
    Agency = apps.get_model("core", "Agency")
    for code, name, short, kind, province in AGENCIES:
        Agency.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "short_name": short,
                "kind": kind,
                "scope_level": "province" if province else "national",
                "province_id": province,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_geography")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
