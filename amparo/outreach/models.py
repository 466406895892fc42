"""Outreach: the reviewed content library, SMS subscriptions and what was sent to them, and the
register of community awareness sessions.

Subscribers are deliberately cut off from reports and cases: no foreign key leads from a subscriber
(or anything sent to one) to a report, a case or a person, and the phone number is kept only
encrypted, with a blind index for look-up, until the subscriber stops.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from amparo.core.fields import EncryptedTextField
from amparo.lib import normalise


class Audience(models.TextChoices):
    CHILDREN_9_12 = "children_9_12", _("Children aged 9 to 12")
    CHILDREN_13_17 = "children_13_17", _("Adolescents aged 13 to 17")
    CAREGIVERS = "caregivers", _("Parents and caregivers")
    TEACHERS = "teachers", _("Teachers")
    HEALTH_SOCIAL = "health_social", _("Health and social workers")
    PRIVATE_SECTOR = "private_sector", _("Private sector")


class Topic(models.TextChoices):
    GROOMING_SIGNS = "grooming_signs", _("Signs of grooming")
    SEXTORTION = "sextortion", _("Sextortion and what to do")
    CONSENT = "consent_boundaries", _("Consent and boundaries")
    IMAGE_SHARING = "image_sharing", _("Sharing images")
    PRIVACY = "privacy_settings", _("Privacy settings")
    REPORTING = "how_to_report", _("How and where to report")
    DISCLOSURE = "supporting_disclosure", _("Supporting a child who discloses")


class Format(models.TextChoices):
    SMS_SERIES = "sms_series", _("SMS series")
    USSD_TIP = "ussd_tip", _("USSD tip")
    WEB_PAGE = "web_page", _("Web page")
    POSTER = "poster", _("Printable poster or leaflet")
    RADIO = "radio_script", _("Radio script")


class ContentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    RETIRED = "retired", _("Retired")


class ContentItem(models.Model):
    """One piece of material (a series, a tip, a page, a poster, a radio script) owned by an agency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("short name"), max_length=80, unique=True)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    topic = models.CharField(_("topic"), max_length=30, choices=Topic.choices)
    format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    owning_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="+", verbose_name=_("owning agency")
    )
    cadence_days = models.PositiveSmallIntegerField(
        _("days between messages"), default=7, help_text=_("SMS series only.")
    )
    review_note = models.CharField(_("review note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["audience", "topic", "format", "slug"]
        verbose_name = _("content item")
        verbose_name_plural = _("content items")

    def __str__(self) -> str:
        return self.slug


class Translation(models.Model):
    """An item in one language, with its own review status. An SMS series keeps its messages in
    `SeriesMessage`; every other format uses `body` (paragraphs separated by blank lines; lines
    starting with "- " are list items)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=160)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ContentStatus.choices, default=ContentStatus.DRAFT
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["item", "language"]
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [
            models.UniqueConstraint(fields=["item", "language"], name="outreach_translation_unique")
        ]
        indexes = [models.Index(fields=["status", "language"], name="outreach_tr_status_lang")]

    def __str__(self) -> str:
        return f"{self.item.slug} ({self.language})"


class SeriesMessage(models.Model):
    """Message number `position` (from 1) of an SMS series in one language."""

    translation = models.ForeignKey(Translation, on_delete=models.CASCADE, related_name="messages")
    position = models.PositiveSmallIntegerField(_("position"))
    text = models.CharField(_("text"), max_length=400)

    class Meta:
        ordering = ["translation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["translation", "position"], name="outreach_series_message_unique")
        ]

    def __str__(self) -> str:
        return f"{self.translation_id} #{self.position}"


class SubscriberState(models.TextChoices):
    AUDIENCE = "audience", _("Choosing audience")
    PROVINCE = "province", _("Choosing province")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Series completed")
    STOPPED = "stopped", _("Stopped")


class Subscriber(models.Model):
    """One phone (by blind index) subscribed on one SMS channel. Never linked to a report or case.

    The number is kept encrypted only while messages may still be sent; it is erased when the
    subscriber stops. The blind index stays, so that a repeated PARAR is recognised."""

    BLIND_INDEXES = {"phone_index": lambda s: normalise.phone(s.phone)}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey("intake.Channel", on_delete=models.PROTECT, related_name="+")
    phone_index = models.CharField(max_length=64, db_index=True)
    phone = EncryptedTextField(_("phone number"))
    language = models.CharField(_("language"), max_length=8, default="pt")
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, blank=True)
    province = models.ForeignKey(
        "core.Province", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=SubscriberState.choices, default=SubscriberState.AUDIENCE
    )
    series = models.ForeignKey(
        ContentItem, on_delete=models.PROTECT, null=True, blank=True, related_name="subscribers"
    )
    next_position = models.PositiveSmallIntegerField(default=1)
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    invalid_count = models.PositiveSmallIntegerField(default=0)
    subscribed_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            # A stopped subscriber keeps its index (a repeated PARAR is recognised) but not its number;
            # an index key rotation then empties the index, so empty indexes may repeat.
            models.UniqueConstraint(
                fields=["channel", "phone_index"],
                condition=~models.Q(phone_index=""),
                name="outreach_subscriber_unique",
            )
        ]

    def __str__(self) -> str:
        return f"subscriber {self.pk} ({self.state})"


class Dispatch(models.Model):
    """One series message queued for one subscriber; its fate is the intake outgoing message's
    status (which the provider's delivery reports update)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="dispatches")
    translation = models.ForeignKey(Translation, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
    message = models.OneToOneField(
        "intake.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "translation", "position"], name="outreach_dispatch_once"
            )
        ]

    def __str__(self) -> str:
        return f"dispatch {self.pk}"


class Setting(models.TextChoices):
    SCHOOL = "school", _("School")
    COMMUNITY = "community", _("Community")
    HEALTH = "health", _("Health centre")
    WORKPLACE = "workplace", _("Workplace")
    ONLINE = "online", pgettext_lazy("session setting", "Online")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class AgeBand(models.TextChoices):
    UNDER_10 = "under_10", _("Under 10")
    AGE_10_14 = "10_14", _("10 to 14")
    AGE_15_17 = "15_17", _("15 to 17")
    ADULT = "18_plus", _("18 and over")


class CommunitySession(models.Model):
    """An awareness session held on one date in one district (counts only, no names)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    date = models.DateField(_("date"))
    district = models.ForeignKey(
        "core.District", on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    urban = models.BooleanField(_("urban"), default=False)
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    facilitating_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="+", verbose_name=_("facilitating agency")
    )
    out_of_school = models.PositiveIntegerField(_("out-of-school children"), default=0)
    with_disability = models.PositiveIntegerField(_("children with disabilities"), default=0)
    materials = models.ManyToManyField(
        ContentItem, blank=True, related_name="sessions", verbose_name=_("materials used")
    )
    other_materials = models.CharField(_("other materials"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "id"]
        verbose_name = _("community session")
        verbose_name_plural = _("community sessions")
        indexes = [models.Index(fields=["date"], name="outreach_session_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.district_id}"

    def participants_total(self) -> int:
        return sum(p.count for p in self.participants.all())


class SessionParticipants(models.Model):
    session = models.ForeignKey(CommunitySession, on_delete=models.CASCADE, related_name="participants")
    sex = models.CharField(max_length=8, choices=Sex.choices)
    age_band = models.CharField(max_length=8, choices=AgeBand.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "sex", "age_band"], name="outreach_participants_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.sex} {self.age_band}"
