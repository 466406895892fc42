"""The OCSEA taxonomy: stable codes with translatable labels.

Codes never change meaning. A new version may add codes or retire them (kept for old cases);
every case records the taxonomy version it was classified under.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TAXONOMY_VERSION = "2026.1"


class Form(models.TextChoices):
    """Forms of online child sexual exploitation and abuse."""

    CSAM_PRODUCTION = "csam_production", _("Child sexual abuse material: production")
    CSAM_POSSESSION = "csam_possession", _("Child sexual abuse material: possession")
    CSAM_DISTRIBUTION = "csam_distribution", _("Child sexual abuse material: distribution")
    LIVE_STREAMING = "live_streaming", _("Live-streaming of child sexual abuse")
    GROOMING = "grooming", _("Online grooming or solicitation")
    SEXTORTION = "sextortion", _("Sexual extortion")
    NONCONSENSUAL_SHARING = "nonconsensual_sharing", _("Non-consensual sharing of sexual images")
    OFFER_FOR_IMAGES = "offer_for_images", _("Offering money or gifts for sexual images or acts")
    UNWANTED_EXPOSURE = "unwanted_exposure", _("Unwanted exposure to sexual content")
    HARASSMENT = "harassment", _("Online sexual harassment")
    TRAFFICKING = "trafficking", _("Trafficking facilitated online")
    OTHER = "other", pgettext_lazy("OCSEA form", "Other")


class Mode(models.TextChoices):
    ONLINE = "online", _("Fully online")
    IN_PERSON_WITH_TECH = "in_person_tech", _("In person, involving technology")
    UNKNOWN = "unknown", pgettext_lazy("mode", "Unknown")


class Platform(models.TextChoices):
    FACEBOOK = "facebook", "Facebook"
    MESSENGER = "messenger", "Facebook Messenger"
    WHATSAPP = "whatsapp", "WhatsApp"
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"
    TELEGRAM = "telegram", "Telegram"
    YOUTUBE = "youtube", "YouTube"
    X = "x", "X"
    SNAPCHAT = "snapchat", "Snapchat"
    ONLINE_GAMES = "online_games", _("Online games")
    PHONE_SMS = "phone_sms", _("Phone calls or SMS")
    DATING_APPS = "dating_apps", _("Dating apps")
    OTHER = "other", pgettext_lazy("platform", "Other")
    UNKNOWN = "unknown", pgettext_lazy("platform", "Unknown")


class Relationship(models.TextChoices):
    """The offender's relationship to the child."""

    FAMILY = "family", _("Family member")
    INTIMATE_PARTNER = "intimate_partner", _("Intimate partner")
    FRIEND_PEER = "friend_peer", _("Friend or peer")
    ACQUAINTANCE = "acquaintance", _("Acquaintance or neighbour")
    TEACHER_CAREGIVER = "teacher_caregiver", _("Teacher or caregiver")
    ONLINE_ONLY = "online_only", _("Online-only contact")
    STRANGER = "stranger", _("Stranger")
    UNKNOWN = "unknown", pgettext_lazy("relationship", "Unknown")


# Relationships in which the offender is someone the child knew (the seeds' "known to the child").
KNOWN_RELATIONSHIPS = frozenset(
    {
        Relationship.FAMILY,
        Relationship.INTIMATE_PARTNER,
        Relationship.FRIEND_PEER,
        Relationship.ACQUAINTANCE,
        Relationship.TEACHER_CAREGIVER,
    }
)


class Disclosure(models.TextChoices):
    """Whom the child told."""

    NO_ONE = "no_one", _("Told no one")
    FRIEND = "friend", _("Friend")
    SIBLING = "sibling", _("Sibling")
    CAREGIVER = "caregiver", _("Caregiver")
    TEACHER = "teacher", _("Teacher")
    HELPLINE = "helpline", _("Helpline")
    POLICE = "police", _("Police")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    OTHER = "other", pgettext_lazy("disclosure", "Other")


class RiskFlag(models.TextChoices):
    IMMEDIATE_DANGER = "immediate_danger", _("Child in immediate danger")
    ONGOING_CONTACT = "ongoing_contact", _("Offender still in contact with the child")
    OFFENDER_HAS_ACCESS = "offender_has_access", _("Offender has physical access to the child")
    SELF_HARM = "self_harm", _("Risk of self-harm")
    IMAGES_SPREADING = "images_spreading", _("Images are being spread")
    MULTIPLE_VICTIMS = "multiple_victims", _("Several children may be affected")


class AgeBand(models.TextChoices):
    UNDER_9 = "0-8", _("Under 9")
    AGE_9_11 = "9-11", _("9 to 11")
    AGE_12_14 = "12-14", _("12 to 14")
    AGE_15_17 = "15-17", _("15 to 17")
    ADULT = "18+", _("18 or older")
    UNKNOWN = "unknown", pgettext_lazy("age band", "Unknown")


def age_band(age: int | None) -> str:
    if age is None:
        return AgeBand.UNKNOWN
    if age < 9:
        return AgeBand.UNDER_9
    if age < 12:
        return AgeBand.AGE_9_11
    if age < 15:
        return AgeBand.AGE_12_14
    if age < 18:
        return AgeBand.AGE_15_17
    return AgeBand.ADULT


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", pgettext_lazy("sex", "Other")
    UNKNOWN = "unknown", pgettext_lazy("sex", "Unknown")
