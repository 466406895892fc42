"""A small starter set of education material in Portuguese and English, FOR EXPERT REVIEW.

`amparo outreach seed_content` loads it through the actions (audited) as the national coordinating
ministry's (MGCAS) material, each translation sent for review, never approved: a child-protection
expert must read and approve every text (`--approve-as` lets a named approver sign off in a demo).
The texts follow widely used child-online-protection advice (no secrets with adults online, never
pay or send more under a threat, keep the messages, report; believe a child who tells) and use the
numbers the rest of Amparo shows (`{helpline}` and `{police}` stand for AMPARO_CHILD_HELPLINE_NUMBER and
AMPARO_POLICE_NUMBER, filled in when the texts are loaded).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amparo.core.models import Agency, District
from amparo.outreach import actions
from amparo.outreach.models import (
    AgeBand,
    Audience,
    ContentItem,
    ContentStatus,
    Format,
    Setting,
    Sex,
    Topic,
    Translation,
)

OWNER = "mgcas"
REVIEW_NOTE = "Starter text for expert review: not checked by a child-protection expert yet."


@dataclass(frozen=True)
class Seed:
    slug: str
    audience: str
    topic: str
    format: str
    texts: dict[str, tuple[str, str]]  # language -> (title, body)
    messages: dict[str, list[str]] = field(default_factory=dict)  # SMS series: language -> messages


STARTER: list[Seed] = [
    Seed(
        "sms-caregivers-safe-online",
        Audience.CAREGIVERS,
        Topic.GROOMING_SIGNS,
        Format.SMS_SERIES,
        {
            "pt": ("Dicas semanais para pais e cuidadores", ""),
            "en": ("Weekly tips for parents and caregivers", ""),
        },
        {
            "pt": [
                "Fale com a sua criança sobre o que faz no telemóvel, com calma e muitas vezes. Pergunte que aplicações usa e com quem fala.",
                "Sinais de aliciamento: alguém que oferece presentes, crédito ou dinheiro, pede segredos ou quer falar em privado com a criança.",
                "Ninguém deve pedir fotos íntimas a uma criança. Pedir, guardar ou partilhar essas fotos é crime, mesmo que a criança tenha aceite.",
                "Se alguém ameaça divulgar fotos para obter dinheiro ou mais fotos: não pague, não envie mais, guarde as mensagens e denuncie.",
                "Ajude a criança a pôr as contas em modo privado e a não partilhar a localização, a escola ou o número com desconhecidos.",
                "Se uma criança lhe contar um abuso: mantenha a calma, acredite, diga que a culpa não é dela e não confronte o agressor sozinho.",
                "Para denunciar: ligue {helpline} Linha Fala Criança (grátis) ou {police} (polícia). Não precisa de dar o seu nome.",
                "Combine em família regras para o uso do telemóvel e continue a conversar. Esta série termina aqui.",
            ],
            "en": [
                "Talk with your child about what they do on the phone, calmly and often. Ask which apps they use and who they talk to.",
                "Signs of grooming: someone who gives gifts, airtime or money, asks for secrets or wants to talk to the child in private.",
                "No one should ask a child for intimate photos. Asking for, keeping or sharing them is a crime, even if the child agreed.",
                "If someone threatens to share photos to get money or more photos: do not pay, do not send more, keep the messages and report.",
                "Help your child set accounts to private and not share their location, school or number with strangers.",
                "If a child tells you about abuse: stay calm, believe them, say it is not their fault and do not confront the abuser alone.",
                "To report: call {helpline} Linha Fala Criança (free) or {police} (police). You do not have to give your name.",
                "Agree family rules for phone use together and keep talking. This series ends here.",
            ],
        },
    ),
    Seed(
        "sms-teens-sextortion",
        Audience.CHILDREN_13_17,
        Topic.SEXTORTION,
        Format.SMS_SERIES,
        {"pt": ("Dicas semanais para adolescentes", ""), "en": ("Weekly tips for teenagers", "")},
        {
            "pt": [
                "Quem conheceste só na internet pode não ser quem diz ser. Desconfia de quem te elogia muito e pede segredo.",
                "Ninguém tem o direito de te pedir fotos íntimas. Podes sempre dizer não e bloquear.",
                "Se alguém ameaça divulgar fotos tuas: não pagues, não envies mais, guarda as mensagens e pede ajuda. A culpa não é tua.",
                "Põe as tuas contas em privado e não partilhes a tua localização com desconhecidos.",
                "Se algo te incomoda, conta a um adulto de confiança ou liga {helpline}, grátis. Podes denunciar sem dar o teu nome.",
                "Se um amigo te contar que está a ser ameaçado, acredita nele e ajuda-o a pedir ajuda. Esta série termina aqui.",
            ],
            "en": [
                "Someone you met only online may not be who they say. Be careful with people who praise you a lot and ask for secrets.",
                "No one has the right to ask you for intimate photos. You can always say no and block them.",
                "If someone threatens to share your photos: do not pay, do not send more, keep the messages and ask for help. It is not your fault.",
                "Set your accounts to private and do not share your location with strangers.",
                "If something bothers you, tell an adult you trust or call {helpline}, free. You can report without giving your name.",
                "If a friend tells you they are being threatened, believe them and help them get help. This series ends here.",
            ],
        },
    ),
    Seed(
        "ussd-children-9-12",
        Audience.CHILDREN_9_12,
        Topic.CONSENT,
        Format.USSD_TIP,
        {
            "pt": (
                "Segredos",
                "Um adulto que te pede segredos ou fotos do teu corpo está errado. Conta a alguém de confiança ou liga {helpline}, grátis.",
            ),
            "en": (
                "Secrets",
                "An adult who asks you for secrets or photos of your body is wrong. Tell someone you trust or call {helpline}, free.",
            ),
        },
    ),
    Seed(
        "ussd-teens",
        Audience.CHILDREN_13_17,
        Topic.SEXTORTION,
        Format.USSD_TIP,
        {
            "pt": (
                "Ameaças",
                "Se te ameaçam com fotos: não pagues, não envies mais, guarda as mensagens. Liga {helpline}. A culpa não é tua.",
            ),
            "en": (
                "Threats",
                "If someone threatens you with photos: do not pay, do not send more, keep the messages. Call {helpline}. It is not your fault.",
            ),
        },
    ),
    Seed(
        "ussd-caregivers",
        Audience.CAREGIVERS,
        Topic.DISCLOSURE,
        Format.USSD_TIP,
        {
            "pt": (
                "Se a criança contar",
                "Se uma criança contar um abuso: acredite, mantenha a calma, diga que não é culpa dela. Ligue {helpline}.",
            ),
            "en": (
                "If a child tells you",
                "If a child tells you about abuse: believe them, stay calm, say it is not their fault. Call {helpline}.",
            ),
        },
    ),
    Seed(
        "ussd-teachers",
        Audience.TEACHERS,
        Topic.REPORTING,
        Format.USSD_TIP,
        {
            "pt": (
                "Na escola",
                "Um aluno em risco online? Ouça sem julgar, não partilhe as imagens e ligue {helpline} ou {police} para denunciar.",
            ),
            "en": (
                "At school",
                "A pupil at risk online? Listen without judging, do not share the images and call {helpline} or {police} to report.",
            ),
        },
    ),
    Seed(
        "ussd-health-social",
        Audience.HEALTH_SOCIAL,
        Topic.DISCLOSURE,
        Format.USSD_TIP,
        {
            "pt": (
                "No serviço",
                "Uma criança revela abuso online? Acredite, registe as palavras dela e encaminhe: {helpline} ou {police}.",
            ),
            "en": (
                "At work",
                "A child discloses online abuse? Believe them, note their own words and refer: {helpline} or {police}.",
            ),
        },
    ),
    Seed(
        "ussd-private-sector",
        Audience.PRIVATE_SECTOR,
        Topic.REPORTING,
        Format.USSD_TIP,
        {
            "pt": (
                "Empresas",
                "Encontrou imagens de abuso de crianças? Não as copie nem reenvie. Preserve os dados e denuncie.",
            ),
            "en": (
                "Companies",
                "Found child abuse images? Do not copy or forward them. Preserve the data and report.",
            ),
        },
    ),
    Seed(
        "web-children-9-12",
        Audience.CHILDREN_9_12,
        Topic.CONSENT,
        Format.WEB_PAGE,
        {
            "pt": (
                "O teu corpo é teu",
                "Ninguém pode pedir-te fotos ou vídeos do teu corpo. Nem amigos, nem adultos, nem pessoas da internet.\n\n"
                "- Se alguém te pede um segredo que te deixa com medo, conta a um adulto de confiança.\n"
                "- Não combines encontros com pessoas que só conheces da internet.\n"
                "- Se vires algo que te assusta, fecha e conta a alguém.\n\n"
                "Se algo acontecer, a culpa nunca é tua.",
            ),
            "en": (
                "Your body belongs to you",
                "No one may ask you for photos or videos of your body. Not friends, not adults, not people on the internet.\n\n"
                "- If someone asks you to keep a secret that makes you afraid, tell an adult you trust.\n"
                "- Do not agree to meet people you only know from the internet.\n"
                "- If you see something that scares you, close it and tell someone.\n\n"
                "If something happens, it is never your fault.",
            ),
        },
    ),
    Seed(
        "web-teens-sextortion",
        Audience.CHILDREN_13_17,
        Topic.SEXTORTION,
        Format.WEB_PAGE,
        {
            "pt": (
                "Ameaças com fotos: o que fazer",
                "Algumas pessoas fingem ser jovens, ganham a tua confiança e depois ameaçam divulgar fotos tuas para obter dinheiro ou mais fotos.\n\n"
                "- Não pagues e não envies mais nada.\n"
                "- Não apagues as mensagens. Guarda o link ou o nome da conta. Podes tirar captura de ecrã de uma mensagem de ameaça, se não mostrar nenhuma imagem sexual; nunca guardes nem envies imagens sexuais.\n"
                "- Bloqueia a pessoa depois de guardares as provas.\n"
                "- Conta a um adulto de confiança e denuncia.\n\n"
                "A culpa é de quem ameaça, nunca tua.",
            ),
            "en": (
                "Threats with photos: what to do",
                "Some people pretend to be young, win your trust and then threaten to share your photos to get money or more photos.\n\n"
                "- Do not pay and do not send anything more.\n"
                "- Do not delete the messages. Keep the link or the account name. A screenshot of a threatening message is fine if it shows no sexual picture; never keep or send sexual pictures.\n"
                "- Block the person after you have kept the evidence.\n"
                "- Tell an adult you trust and report.\n\n"
                "The fault is with the person who threatens, never with you.",
            ),
        },
    ),
    Seed(
        "web-caregivers-grooming",
        Audience.CAREGIVERS,
        Topic.GROOMING_SIGNS,
        Format.WEB_PAGE,
        {
            "pt": (
                "Sinais de aliciamento online",
                "O aliciamento é quando alguém ganha a confiança de uma criança para depois a abusar, muitas vezes pelo telemóvel.\n\n"
                "- A criança recebe presentes, crédito ou dinheiro sem explicação.\n"
                "- Esconde o telemóvel ou fica nervosa com mensagens.\n"
                "- Fala de um novo amigo mais velho que pede segredo.\n\n"
                "Converse com calma, sem castigar. Se suspeitar de abuso, ligue {helpline} ou {police}.",
            ),
            "en": (
                "Signs of online grooming",
                "Grooming is when someone gains a child's trust in order to abuse them later, often through the phone.\n\n"
                "- The child receives gifts, airtime or money without explanation.\n"
                "- They hide their phone or seem nervous about messages.\n"
                "- They talk about a new older friend who asks for secrecy.\n\n"
                "Talk calmly, without punishing. If you suspect abuse, call {helpline} or {police}.",
            ),
        },
    ),
    Seed(
        "web-caregivers-disclosure",
        Audience.CAREGIVERS,
        Topic.DISCLOSURE,
        Format.WEB_PAGE,
        {
            "pt": (
                "Quando uma criança conta",
                "Se uma criança lhe contar que alguém lhe fez mal online ou pessoalmente:\n\n"
                "- Ouça e acredite. Agradeça por ter contado.\n"
                "- Diga que a culpa não é dela.\n"
                "- Não confronte o agressor e não apague as mensagens.\n"
                "- Procure ajuda: {helpline} Linha Fala Criança ou {police} polícia.",
            ),
            "en": (
                "When a child tells you",
                "If a child tells you that someone hurt them online or in person:\n\n"
                "- Listen and believe them. Thank them for telling you.\n"
                "- Tell them it is not their fault.\n"
                "- Do not confront the abuser and do not delete the messages.\n"
                "- Get help: {helpline} Linha Fala Criança or {police} police.",
            ),
        },
    ),
    Seed(
        "poster-teens-sextortion",
        Audience.CHILDREN_13_17,
        Topic.SEXTORTION,
        Format.POSTER,
        {
            "pt": (
                "Ameaçado com fotos? Não estás sozinho.",
                "- Não pagues.\n- Não envies mais fotos.\n- Guarda as mensagens.\n- Conta a alguém de confiança.\n\nA culpa não é tua.",
            ),
            "en": (
                "Threatened with photos? You are not alone.",
                "- Do not pay.\n- Do not send more photos.\n- Keep the messages.\n- Tell someone you trust.\n\nIt is not your fault.",
            ),
        },
    ),
    Seed(
        "poster-caregivers-privacy",
        Audience.CAREGIVERS,
        Topic.PRIVACY,
        Format.POSTER,
        {
            "pt": (
                "Proteja a sua criança no telemóvel",
                "- Contas em modo privado.\n- Sem localização partilhada com desconhecidos.\n- Conversas frequentes, sem castigos.\n- Ninguém pede fotos íntimas a uma criança: isso é crime.",
            ),
            "en": (
                "Protect your child on the phone",
                "- Accounts set to private.\n- No location shared with strangers.\n- Frequent talks, without punishment.\n- No one asks a child for intimate photos: that is a crime.",
            ),
        },
    ),
    Seed(
        "radio-caregivers-image-sharing",
        Audience.CAREGIVERS,
        Topic.IMAGE_SHARING,
        Format.RADIO,
        {
            "pt": (
                "Spot de rádio: partilhar imagens",
                "LOCUTOR: Sabia que partilhar fotos íntimas de uma criança é crime, mesmo que tenha sido ela a enviá-las?\n\n"
                "MÃE: E se a minha filha receber uma dessas fotos?\n\n"
                "LOCUTOR: Não reenvie. Guarde o nome da conta e ligue {helpline}, Linha Fala Criança, grátis. Em emergência, {police}.",
            ),
            "en": (
                "Radio spot: sharing images",
                "PRESENTER: Did you know that sharing intimate photos of a child is a crime, even if the child sent them?\n\n"
                "MOTHER: And if my daughter receives one of those photos?\n\n"
                "PRESENTER: Do not forward it. Keep the account name and call {helpline}, Linha Fala Criança, free. In an emergency, {police}.",
            ),
        },
    ),
]


def seed(actor: Any, *, approver: Any = None) -> dict[str, int]:
    """Create the starter items that do not exist yet (by slug); send each translation for review and,
    when `approver` is given, approve it as them. Returns counts."""
    owner = Agency.objects.get(code=OWNER)
    created = approved = 0
    for entry in STARTER:
        with transaction.atomic():
            item = ContentItem.objects.filter(slug=entry.slug).first()
            if item is None:
                item = actions.create_item(
                    actor,
                    slug=entry.slug,
                    audience=entry.audience,
                    topic=entry.topic,
                    format=entry.format,
                    owning_agency=owner,
                    review_note=REVIEW_NOTE,
                )
                created += 1
            for language, (title, body) in entry.texts.items():
                tr = Translation.objects.filter(item=item, language=language).first()
                if tr is None:
                    tr = actions.save_translation(
                        actor,
                        item,
                        language,
                        title=with_numbers(title),
                        body=with_numbers(body),
                        messages=[with_numbers(m) for m in entry.messages.get(language, [])],
                    )
                if tr.status == ContentStatus.DRAFT:
                    tr = actions.submit_for_review(actor, tr)
                if approver is not None and tr.status == ContentStatus.IN_REVIEW:
                    actions.approve(approver, tr)
                    approved += 1
    return {"items_created": created, "translations_approved": approved, "items": len(STARTER)}


def owner_probe() -> ContentItem:
    """An unsaved item owned by the starter material's agency, to ask the approval rule about."""
    return ContentItem(owning_agency=Agency.objects.get(code=OWNER))


# Who a session of each setting is usually for (demo data only).
_DEMO_AUDIENCES = {
    Setting.SCHOOL: [Audience.CHILDREN_9_12, Audience.CHILDREN_13_17, Audience.TEACHERS],
    Setting.COMMUNITY: [Audience.CAREGIVERS, Audience.CHILDREN_13_17],
    Setting.HEALTH: [Audience.HEALTH_SOCIAL, Audience.CAREGIVERS],
    Setting.WORKPLACE: [Audience.PRIVATE_SECTOR],
    Setting.ONLINE: [Audience.CHILDREN_13_17, Audience.TEACHERS],
}


def demo_sessions(recorder: Any, *, count: int = 40, seed: int = 8, today: dt.date | None = None) -> int:
    """Record `count` invented community sessions of the last twelve months as `recorder` (a user who
    may record sessions for their own agency), through the audited action, so that the reach page
    has something to show in a demo. Deterministic for a given `seed`. Returns how many were recorded."""
    rng = random.Random(seed)  # noqa: S311  (invented demo data, not security)
    today = today or timezone.localdate()
    districts = list(District.objects.order_by("code"))
    if not districts:
        return 0
    # Most sessions in a few districts, as awareness work usually is.
    focus = rng.sample(districts, k=min(len(districts), 12))
    materials = list(ContentItem.objects.filter(format__in=[Format.POSTER, Format.WEB_PAGE]))
    for _n in range(count):
        setting = rng.choice(list(Setting))
        audience = rng.choice(_DEMO_AUDIENCES[setting])
        adults = audience not in (Audience.CHILDREN_9_12, Audience.CHILDREN_13_17)
        bands = [AgeBand.ADULT] if adults else [AgeBand.AGE_10_14, AgeBand.AGE_15_17]
        participants = {(str(sex), str(band)): rng.randint(3, 30) for sex in Sex for band in bands}
        children = 0 if adults else sum(participants.values())
        actions.record_session(
            recorder,
            date=today - dt.timedelta(days=rng.randint(1, 360)),
            district=rng.choice(focus) if rng.random() < 0.8 else rng.choice(districts),
            setting=str(setting),
            audience=str(audience),
            facilitating_agency=recorder.agency,
            participants=participants,
            out_of_school=rng.randint(0, children // 4) if children else 0,
            with_disability=rng.randint(0, 3),
            materials=rng.sample(materials, k=min(len(materials), rng.randint(0, 2))),
        )
    return count


def with_numbers(text: str) -> str:
    """The starter texts with the configured numbers to call."""
    return text.replace("{helpline}", settings.AMPARO_CHILD_HELPLINE_NUMBER).replace(
        "{police}", settings.AMPARO_POLICE_NUMBER
    )
