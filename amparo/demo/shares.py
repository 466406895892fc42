"""The shares the demo data follows, and the words it is written with: where people live (2017 census),
the channels, forms, platforms and offenders of the reports (Disrupting Harm in Mozambique), and the
invented names and benign narrative templates. `amparo.demo.generate` draws from them.
"""

from __future__ import annotations

from amparo.cases.taxonomy import (
    Disclosure,
    Form,
    Platform,
    Relationship,
    Sex,
)

# --- Weights ------------------------------------------------------------------------------------

# 2017 census (INE), approximate population in thousands.
PROVINCE_POPULATION: dict[str, int] = {
    "MZ01": 2333,  # Cabo Delgado
    "MZ02": 1447,  # Gaza
    "MZ03": 1497,  # Inhambane
    "MZ04": 1911,  # Manica
    "MZ05": 2507,  # Maputo Província
    "MZ06": 1101,  # Maputo Cidade
    "MZ07": 6103,  # Nampula
    "MZ08": 1811,  # Niassa
    "MZ09": 2222,  # Sofala
    "MZ10": 2649,  # Tete
    "MZ11": 5111,  # Zambézia
}
# Share of a province's cases placed in the district of its capital (urban skew: reports and
# internet use concentrate in towns); the rest is spread evenly over the other districts.
CAPITAL_SHARE = 0.38

CHANNELS = {"helpline": 40, "desk": 22, "web": 14, "sms": 10, "ussd": 9, "international": 5}

FORMS = {
    Form.UNWANTED_EXPOSURE: 22,
    Form.HARASSMENT: 18,
    Form.GROOMING: 16,
    Form.SEXTORTION: 12,
    Form.NONCONSENSUAL_SHARING: 12,
    Form.OFFER_FOR_IMAGES: 9,
    Form.CSAM_PRODUCTION: 2.5,
    Form.CSAM_DISTRIBUTION: 2.5,
    Form.CSAM_POSSESSION: 1,
    Form.LIVE_STREAMING: 1.5,
    Form.TRAFFICKING: 1,
    Form.OTHER: 1.5,
}
PLATFORMS = {
    Platform.WHATSAPP: 30,
    Platform.FACEBOOK: 22,
    Platform.MESSENGER: 18,
    Platform.INSTAGRAM: 8,
    Platform.TIKTOK: 8,
    Platform.TELEGRAM: 3,
    Platform.PHONE_SMS: 3,
    Platform.YOUTUBE: 2,
    Platform.ONLINE_GAMES: 2,
    Platform.SNAPCHAT: 1,
    Platform.X: 1,
    Platform.DATING_APPS: 1,
    Platform.UNKNOWN: 1,
}
# How a platform reads in a narrative (fixed English, so that the plan does not depend on the locale).
PLATFORM_TEXT = {
    Platform.FACEBOOK: "Facebook",
    Platform.MESSENGER: "Facebook Messenger",
    Platform.WHATSAPP: "WhatsApp",
    Platform.INSTAGRAM: "Instagram",
    Platform.TIKTOK: "TikTok",
    Platform.TELEGRAM: "Telegram",
    Platform.YOUTUBE: "YouTube",
    Platform.X: "X",
    Platform.SNAPCHAT: "Snapchat",
    Platform.ONLINE_GAMES: "an online game",
    Platform.PHONE_SMS: "phone calls and SMS",
    Platform.DATING_APPS: "a dating app",
    Platform.OTHER: "another service",
    Platform.UNKNOWN: "an unnamed service",
}
FORM_TEXT = {
    Form.UNWANTED_EXPOSURE: "a child reported receiving unwanted inappropriate content on {where}",
    Form.HARASSMENT: "a child reported unwanted messages on {where}",
    Form.GROOMING: "a child reported that a contact on {where} tried to win their trust and asked them to keep the chats secret",
    Form.SEXTORTION: "a child reported being threatened on {where} by someone demanding more from them",
    Form.NONCONSENSUAL_SHARING: "a child reported that a private photo was shared without permission on {where}",
    Form.OFFER_FOR_IMAGES: "a child reported being offered airtime or money for photos on {where}",
    Form.CSAM_PRODUCTION: "a report of suspected abusive material involving a child on {where}, passed for specialist review",
    Form.CSAM_DISTRIBUTION: "a report of suspected abusive material being passed around on {where}, passed for specialist review",
    Form.CSAM_POSSESSION: "a report that someone may hold abusive material, mentioning {where}, passed for specialist review",
    Form.LIVE_STREAMING: "a report of a suspected live-stream request made to a child on {where}, passed for specialist review",
    Form.TRAFFICKING: "a child reported a suspicious offer of work or travel received on {where}",
    Form.OTHER: "a child reported feeling unsafe because of contact on {where}",
}
REPORTER_TEXT = {
    "self": "The child made the report.",
    "caregiver": "A caregiver made the report.",
    "teacher": "A teacher made the report.",
    "relative": "A relative made the report.",
    "neighbour": "A neighbour made the report.",
    "anonymous": "The report was anonymous.",
    "international": "The report came from a partner organisation abroad.",
}

KNOWN = {
    Relationship.FRIEND_PEER: 30,
    Relationship.ACQUAINTANCE: 25,
    Relationship.INTIMATE_PARTNER: 20,
    Relationship.FAMILY: 15,
    Relationship.TEACHER_CAREGIVER: 10,
}
NOT_KNOWN = {Relationship.ONLINE_ONLY: 50, Relationship.STRANGER: 30, Relationship.UNKNOWN: 20}
SHARE_KNOWN = 0.65
SHARE_TOLD_NO_ONE = 0.30
TOLD = {
    Disclosure.FRIEND: 32,
    Disclosure.CAREGIVER: 24,
    Disclosure.SIBLING: 16,
    Disclosure.TEACHER: 8,
    Disclosure.HELPLINE: 8,
    Disclosure.POLICE: 4,
    Disclosure.SOCIAL_WORKER: 3,
    Disclosure.OTHER: 5,
}
# Victims' ages: mostly 12–17, some 9–11, few younger; None = not recorded.
AGES: dict[int | None, float] = {
    5: 0.5, 6: 1, 7: 1.5, 8: 2,
    9: 3.5, 10: 4.5, 11: 6,
    12: 8, 13: 11, 14: 14, 15: 16, 16: 15, 17: 11,
    None: 3,
}  # fmt: skip
VICTIM_SEX = {Sex.FEMALE: 58, Sex.MALE: 40, Sex.UNKNOWN: 2}
REGIONAL_LANGUAGE = {"MZ01": "vmw", "MZ07": "vmw", "MZ08": "yao", "MZ11": "chw", "MZ02": "ts", "MZ05": "ts", "MZ06": "ts", "MZ03": "ts", "MZ04": "ndc", "MZ09": "ndc", "MZ10": "nyu"}  # fmt: skip

FEMALE_NAMES = (
    "Ana", "Maria", "Joana", "Fátima", "Gracinda", "Luísa", "Celeste", "Esperança", "Amélia", "Rosa",
    "Isabel", "Teresa", "Helena", "Lurdes", "Albertina", "Felismina", "Zaida", "Anifa", "Amina", "Rabia",
    "Cacilda", "Argentina", "Lídia", "Telma", "Nilza", "Sheila", "Yolanda", "Elisa", "Marta", "Olga",
)  # fmt: skip
MALE_NAMES = (
    "João", "José", "Manuel", "António", "Carlos", "Armando", "Fernando", "Alberto", "Celso", "Ernesto",
    "Abel", "Samuel", "Hélio", "Nelson", "Issufo", "Abdul", "Jacinto", "Tomás", "Domingos", "Felisberto",
    "Zacarias", "Aurélio", "Sérgio", "Edson", "Cláudio", "Rafael", "Benedito", "Lourenço", "Inácio", "Mateus",
)  # fmt: skip
SURNAMES = (
    "Cossa", "Sitoe", "Macuácua", "Nhantumbo", "Tembe", "Mabunda", "Langa", "Chauque", "Mucavele", "Matsinhe",
    "Muianga", "Bila", "Nhaca", "Mussa", "Momade", "Abdula", "Ussene", "Amade", "Saíde", "Cumbe",
    "Zandamela", "Chilaule", "Massingue", "Mutemba", "Timana", "Muchanga", "Macamo", "Dimande", "Fumo", "Chirindza",
    "Namashulua", "Muhate", "Ernesto", "Jossefa", "Uamusse", "Chamusse", "Vilanculo", "Mavie", "Tivane", "Nhampossa",
)  # fmt: skip
