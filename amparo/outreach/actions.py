"""Every write of the outreach app: content and its review, subscriptions, dispatches, sessions.

Each function takes the acting user (or an `audit.Actor` for a channel or the system), checks the
policy, runs in one transaction and writes its audit entry there (field names only).

Review workflow of a translation: draft -> in review -> approved -> retired. Editing returns a
translation to draft (an approved one stops being published until approved again); only an approver
of the owning agency approves, returns or retires; nothing but an approved translation reaches any
channel (`published`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.intake.models import OutboundMessage, OutboundStatus
from amparo.outreach.models import (
    AgeBand,
    Audience,
    CommunitySession,
    ContentItem,
    ContentStatus,
    Dispatch,
    Format,
    SeriesMessage,
    SessionParticipants,
    Setting,
    Sex,
    Subscriber,
    SubscriberState,
    Topic,
    Translation,
)
from amparo.outreach.permissions import OutreachAudit, OutreachPermission

USSD_TIP_MAX_CHARS = 140
SERIES_MESSAGE_MAX_CHARS = 300
SERIES_MAX_MESSAGES = 26


def _require(actor: Any, permission: OutreachPermission, obj: Any = None) -> None:
    if isinstance(actor, audit.Actor) and actor.user is None:
        return  # a channel or the system (commands), which check what they do themselves
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if not can(user, permission, obj):
        raise PermissionDenied


def _user(actor: Any) -> Any:
    user = actor.user if isinstance(actor, audit.Actor) else actor
    return user if getattr(user, "is_authenticated", False) else None


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


# ---------------------------------------------------------------------------
# What is published (the one query every channel uses)


def published(format: str, language: str | None = None) -> QuerySet[Translation]:
    """Approved translations of `format` (optionally in one language). Nothing else is ever shown or sent."""
    qs = Translation.objects.filter(status=ContentStatus.APPROVED, item__format=format).select_related("item")
    return qs.filter(language=language) if language else qs


def published_in(format: str, language: str, **item_filters: Any) -> list[Translation]:
    """Approved translations of `format` for the items matching `item_filters`, one per item: in
    `language` where approved, else in Portuguese (the default language) where approved."""
    filters = {f"item__{key}": value for key, value in item_filters.items()}
    rows = list(
        published(format)
        .filter(language__in={language, settings.LANGUAGE_CODE}, **filters)
        .order_by("item__slug")
    )
    chosen: dict[Any, Translation] = {}
    for tr in rows:
        if tr.item_id not in chosen or tr.language == language:
            chosen[tr.item_id] = tr
    return list(chosen.values())


# ---------------------------------------------------------------------------
# Content library


def create_item(
    actor: Any,
    *,
    slug: str,
    audience: str,
    topic: str,
    format: str,
    owning_agency: Agency,
    cadence_days: int = 7,
    review_note: str = "",
) -> ContentItem:
    probe = ContentItem(owning_agency=owning_agency)
    _require(actor, OutreachPermission.CONTENT_EDIT, probe)
    if audience not in Audience.values or topic not in Topic.values or format not in Format.values:
        raise ValidationError(_("Choose an audience, a topic and a format from the lists."))
    if not 1 <= cadence_days <= 60:
        raise ValidationError(_("Days between messages must be from 1 to 60."))
    if ContentItem.objects.filter(slug=slug).exists():
        raise ValidationError(_("Another item already has this short name."))
    with transaction.atomic():
        item = ContentItem.objects.create(
            slug=slug,
            audience=audience,
            topic=topic,
            format=format,
            owning_agency=owning_agency,
            cadence_days=cadence_days,
            review_note=review_note[:200],
            created_by=_user(actor),
        )
        audit.record(
            actor,
            OutreachAudit.CONTENT_CREATE,
            item,
            ["slug", "audience", "topic", "format", "owning_agency", "cadence_days", "review_note"],
        )
    return item


def _check_text(item: ContentItem, title: str, body: str, messages: Sequence[str]) -> list[str]:
    if not title.strip():
        raise ValidationError(_("Write a title."))
    cleaned = [m.strip() for m in messages if m.strip()]
    if item.format == Format.SMS_SERIES:
        if not cleaned:
            raise ValidationError(_("An SMS series needs at least one message."))
        if len(cleaned) > SERIES_MAX_MESSAGES:
            raise ValidationError(
                _("An SMS series holds at most %(count)s messages.") % {"count": SERIES_MAX_MESSAGES}
            )
        if any(len(m) > SERIES_MESSAGE_MAX_CHARS for m in cleaned):
            raise ValidationError(
                _("Each SMS message must be at most %(count)s characters.")
                % {"count": SERIES_MESSAGE_MAX_CHARS}
            )
    elif not body.strip():
        raise ValidationError(_("Write the text."))
    if item.format == Format.USSD_TIP and len(body.strip()) > USSD_TIP_MAX_CHARS:
        raise ValidationError(
            _("A USSD tip must be at most %(count)s characters.") % {"count": USSD_TIP_MAX_CHARS}
        )
    return cleaned


def save_translation(
    actor: Any,
    item: ContentItem,
    language: str,
    *,
    title: str,
    body: str = "",
    messages: Sequence[str] = (),
) -> Translation:
    """Create or edit the translation of `item` in `language`. An edit returns it to draft, so that
    a changed text is never published before it is approved again; a retired one cannot be edited."""
    _require(actor, OutreachPermission.CONTENT_EDIT, item)
    if language not in languages():
        raise ValidationError(_("Choose a language from the list."))
    cleaned = _check_text(item, title, body, messages)
    with transaction.atomic():
        tr = Translation.objects.select_for_update().filter(item=item, language=language).first()
        if tr is not None and tr.status == ContentStatus.RETIRED:
            raise ValidationError(_("A retired translation cannot be edited."))
        fields = ["title", "body", "status"]
        if tr is None:
            tr = Translation(item=item, language=language)
            fields.append("language")
        tr.title = title.strip()[:160]
        tr.body = body.strip() if item.format != Format.SMS_SERIES else ""
        tr.status = ContentStatus.DRAFT
        tr.approved_by = None
        tr.approved_at = None
        tr.save()
        if item.format == Format.SMS_SERIES:
            tr.messages.all().delete()
            SeriesMessage.objects.bulk_create(
                SeriesMessage(translation=tr, position=i, text=text)
                for i, text in enumerate(cleaned, start=1)
            )
            fields.append("messages")
        audit.record(actor, OutreachAudit.TRANSLATION_SAVE, tr, fields)
    return tr


def _transition(
    actor: Any,
    tr: Translation,
    *,
    permission: OutreachPermission,
    allowed_from: Iterable[str],
    to: str,
    action: OutreachAudit,
) -> Translation:
    _require(actor, permission, tr.item)
    with transaction.atomic():
        locked = Translation.objects.select_for_update().select_related("item").get(pk=tr.pk)
        if locked.status not in set(allowed_from):
            raise ValidationError(
                _("This translation is %(status)s; that step is not possible now.")
                % {"status": locked.get_status_display()}
            )
        locked.status = to
        fields = ["status"]
        if to == ContentStatus.IN_REVIEW:
            locked.submitted_by = _user(actor)
            fields.append("submitted_by")
        if to == ContentStatus.APPROVED:
            locked.approved_by = _user(actor)
            locked.approved_at = timezone.now()
            fields += ["approved_by", "approved_at"]
        locked.save()
        audit.record(actor, action, locked, fields)
    return locked


def submit_for_review(actor: Any, tr: Translation) -> Translation:
    return _transition(
        actor,
        tr,
        permission=OutreachPermission.CONTENT_EDIT,
        allowed_from=[ContentStatus.DRAFT],
        to=ContentStatus.IN_REVIEW,
        action=OutreachAudit.TRANSLATION_SUBMIT,
    )


def approve(actor: Any, tr: Translation) -> Translation:
    return _transition(
        actor,
        tr,
        permission=OutreachPermission.CONTENT_APPROVE,
        allowed_from=[ContentStatus.IN_REVIEW],
        to=ContentStatus.APPROVED,
        action=OutreachAudit.TRANSLATION_APPROVE,
    )


def return_to_draft(actor: Any, tr: Translation) -> Translation:
    return _transition(
        actor,
        tr,
        permission=OutreachPermission.CONTENT_APPROVE,
        allowed_from=[ContentStatus.IN_REVIEW],
        to=ContentStatus.DRAFT,
        action=OutreachAudit.TRANSLATION_RETURN,
    )


def retire(actor: Any, tr: Translation) -> Translation:
    return _transition(
        actor,
        tr,
        permission=OutreachPermission.CONTENT_APPROVE,
        allowed_from=[ContentStatus.DRAFT, ContentStatus.IN_REVIEW, ContentStatus.APPROVED],
        to=ContentStatus.RETIRED,
        action=OutreachAudit.TRANSLATION_RETIRE,
    )


# ---------------------------------------------------------------------------
# Subscriptions (channel actors; the SMS and USSD handlers call these inside their transaction)


def start_subscription(
    actor: audit.Actor, channel: Any, phone: str, phone_index: str, *, language: str
) -> Subscriber:
    """Create the subscriber, or restart an existing one's choices (a way to change audience)."""
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().filter(channel=channel, phone_index=phone_index).first()
        created = sub is None
        if created:
            sub = Subscriber(channel=channel, phone_index=phone_index)
        sub.phone = phone
        sub.language = language
        sub.state = SubscriberState.AUDIENCE
        sub.invalid_count = 0
        sub.stopped_at = None
        sub.save()
        audit.record(
            actor,
            OutreachAudit.SUBSCRIBER_START if created else OutreachAudit.SUBSCRIBER_UPDATE,
            sub,
            ["phone", "phone_index", "language", "state"],
        )
    return sub


def update_subscription(actor: audit.Actor, sub: Subscriber, **changes: Any) -> Subscriber:
    """Record a subscriber's answer (language, audience, province, state, invalid count)."""
    allowed = {"language", "audience", "province", "state", "invalid_count"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    with transaction.atomic():
        current = Subscriber.objects.select_for_update().values_list("state", flat=True).get(pk=sub.pk)
        if current == SubscriberState.STOPPED:
            return sub  # stopped meanwhile: a late answer changes nothing
        for name, value in changes.items():
            setattr(sub, name, value)
        fields = sorted(changes)
        if changes.get("state") == SubscriberState.ACTIVE:
            sub.activated_at = timezone.now()
            sub.series = choose_series(sub)
            sub.next_position = resume_position(sub, sub.series)
            sub.next_due_at = timezone.now()
            fields += ["activated_at", "series", "next_position", "next_due_at"]
        sub.save()
        audit.record(actor, OutreachAudit.SUBSCRIBER_UPDATE, sub, fields)
    return sub


def choose_series(sub: Subscriber) -> ContentItem | None:
    """The first approved SMS series for the subscriber's audience, in their language or Portuguese."""
    found = published_in(Format.SMS_SERIES, sub.language, audience=sub.audience)
    return found[0].item if found else None


def stop_subscription(actor: audit.Actor, sub: Subscriber) -> bool:
    """Stop at once: nothing more is sent, messages still waiting for a retry are cancelled, and the
    number is erased (the blind index stays, so a repeated PARAR is recognised). Returns False when
    the subscriber had already stopped (nothing changes)."""
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if sub.state == SubscriberState.STOPPED:
            return False
        sub.state = SubscriberState.STOPPED
        sub.stopped_at = timezone.now()
        sub.next_due_at = None
        sub.phone = ""
        sub.save()
        pending = list(
            OutboundMessage.objects.select_for_update().filter(
                pk__in=Dispatch.objects.filter(subscriber=sub).values("message_id"),
                status=OutboundStatus.QUEUED,
            )
        )
        for out in pending:
            out.status = OutboundStatus.FAILED
            out.failure_reason = "cancelled:unsubscribed"
            out.recipient = ""
            out.final_at = timezone.now()
            out.next_attempt_at = None
            out.save(update_fields=["status", "failure_reason", "recipient", "final_at", "next_attempt_at"])
            audit.record(actor, OutreachAudit.DISPATCH_CANCEL, out, ["status", "failure_reason", "recipient"])
        audit.record(
            actor, OutreachAudit.SUBSCRIBER_STOP, sub, ["state", "stopped_at", "next_due_at", "phone"]
        )
    return True


def queue_dispatch(
    actor: audit.Actor, sub: Subscriber, tr: Translation, message: SeriesMessage, text: str, now: dt.datetime
) -> Dispatch | None:
    """Queue the subscriber's next series message (as an intake outgoing SMS) and move them on.
    None when the subscriber stopped or moved on meanwhile (a concurrent run)."""
    from amparo.intake import gsm

    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if (
            locked.state != SubscriberState.ACTIVE
            or locked.next_position != message.position
            or not locked.phone
        ):
            return None
        seg = gsm.segment(text)
        out = OutboundMessage.objects.create(
            channel_id=locked.channel_id,
            recipient=locked.phone,
            phone_index=locked.phone_index,
            text=text,
            encoding=seg.encoding,
            parts=seg.parts,
        )
        dispatch = Dispatch.objects.create(
            subscriber=locked, translation=tr, position=message.position, language=tr.language, message=out
        )
        last = not tr.messages.filter(position__gt=message.position).exists()
        locked.next_position = message.position + 1
        locked.next_due_at = None if last else now + dt.timedelta(days=tr.item.cadence_days)
        if last:
            locked.state = SubscriberState.COMPLETED
        locked.save(update_fields=["next_position", "next_due_at", "state", "updated_at"])
        audit.record(actor, OutreachAudit.DISPATCH_QUEUE, dispatch, ["message", "position", "language"])
        audit.record(
            actor, OutreachAudit.SUBSCRIBER_UPDATE, locked, ["next_position", "next_due_at", "state"]
        )
    return dispatch


def resume_position(sub: Subscriber, series: ContentItem | None) -> int:
    """Where the subscriber's series starts: after the last of its messages they were already sent
    (in any language), so that subscribing again continues the series and never repeats a tip."""
    if series is None or sub.pk is None:
        return 1
    last = Dispatch.objects.filter(subscriber=sub, translation__item=series).aggregate(last=Max("position"))
    return (last["last"] or 0) + 1


def assign_series(actor: audit.Actor, sub: Subscriber, series: ContentItem) -> None:
    """A subscriber who started before any series was approved gets one now."""
    with transaction.atomic():
        position = resume_position(sub, series)
        Subscriber.objects.filter(pk=sub.pk, series__isnull=True).update(
            series=series, next_position=position
        )
        sub.series = series
        sub.next_position = position
        audit.record(actor, OutreachAudit.SUBSCRIBER_UPDATE, sub, ["series", "next_position"])


def complete_subscriber(actor: audit.Actor, sub: Subscriber) -> None:
    """The subscriber has had every message of their series: nothing more is due."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=sub.pk, state=SubscriberState.ACTIVE).update(
            state=SubscriberState.COMPLETED, next_due_at=None
        )
        audit.record(actor, OutreachAudit.SUBSCRIBER_UPDATE, sub, ["state", "next_due_at"])


def defer_subscriber(actor: audit.Actor, sub: Subscriber, until: dt.datetime | None) -> None:
    """Nothing approved to send yet (or any more): look again at `until` (None: never)."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=sub.pk).update(next_due_at=until)
        audit.record(actor, OutreachAudit.SUBSCRIBER_UPDATE, sub, ["next_due_at"])


# ---------------------------------------------------------------------------
# Community sessions


PARTICIPANT_KEYS = [(sex, band) for sex in Sex.values for band in AgeBand.values]


def _session_checks(
    *,
    district: District,
    setting: str,
    audience: str,
    participants: Mapping[tuple[str, str], int],
    date: dt.date,
) -> None:
    if setting not in Setting.values or audience not in Audience.values:
        raise ValidationError(_("Choose a setting and an audience from the lists."))
    if date > timezone.localdate():
        raise ValidationError(_("The date of a session cannot be in the future."))
    if any(count < 0 for count in participants.values()):
        raise ValidationError(_("Counts cannot be negative."))
    if set(participants) - set(PARTICIPANT_KEYS):
        raise ValueError("unknown participant group")


def record_session(
    actor: Any,
    *,
    date: dt.date,
    district: District,
    setting: str,
    audience: str,
    facilitating_agency: Agency,
    participants: Mapping[tuple[str, str], int],
    out_of_school: int = 0,
    with_disability: int = 0,
    materials: Iterable[ContentItem] = (),
    other_materials: str = "",
    urban: bool | None = None,
    session: CommunitySession | None = None,
) -> CommunitySession:
    """Record a new community session, or correct one (`session`)."""
    probe = session or CommunitySession(facilitating_agency=facilitating_agency)
    _require(actor, OutreachPermission.SESSION_RECORD, probe)
    if session is not None and facilitating_agency.pk != session.facilitating_agency_id:
        _require(
            actor,
            OutreachPermission.SESSION_RECORD,
            CommunitySession(facilitating_agency=facilitating_agency),
        )
    _session_checks(
        district=district, setting=setting, audience=audience, participants=participants, date=date
    )
    children = sum(c for (_sex, band), c in participants.items() if band != AgeBand.ADULT)
    if out_of_school > children or with_disability > sum(participants.values()):
        raise ValidationError(
            _("Out-of-school children and participants with disabilities cannot outnumber the participants.")
        )
    with transaction.atomic():
        created = session is None
        session = session or CommunitySession()
        session.date = date
        session.district = district
        session.urban = district.is_capital if urban is None else urban
        session.setting = setting
        session.audience = audience
        session.facilitating_agency = facilitating_agency
        session.out_of_school = out_of_school
        session.with_disability = with_disability
        session.other_materials = other_materials.strip()[:200]
        if created:
            session.created_by = _user(actor)
        session.save()
        session.materials.set(list(materials))
        session.participants.all().delete()
        SessionParticipants.objects.bulk_create(
            SessionParticipants(session=session, sex=sex, age_band=band, count=count)
            for (sex, band), count in participants.items()
            if count
        )
        audit.record(
            actor,
            OutreachAudit.SESSION_CREATE if created else OutreachAudit.SESSION_UPDATE,
            session,
            [
                "date",
                "district",
                "urban",
                "setting",
                "audience",
                "facilitating_agency",
                "participants",
                "out_of_school",
                "with_disability",
                "materials",
                "other_materials",
            ],
        )
    return session


def province_or_none(code: str) -> Province | None:
    return Province.objects.filter(pk=code).first() if code else None
