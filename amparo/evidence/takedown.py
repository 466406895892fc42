"""Takedown notices and the national URL block list (issue 5, item 9).

Staff (investigators, prosecutors) send a notice for a URL of a case to the organisation hosting it;
the organisation sees its notices through the industry API and answers: removed (time to removal =
removed_at - requested_at), refused or not found. Investigators with a national scope keep the national
URL block list, which authorised organisations download as text or CSV.

Every write is an action here (one transaction, one audit entry). The organisation acts as an
`audit.Actor(channel="industry:<code>")`; the industry API loads a notice only through
`notices_for_organisation`, so an organisation never reaches another's notices. The organisation model
lives in the intake app and is reached through the app registry, never imported. The staff page is
amparo.evidence.takedown_views.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import statistics
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.models import Case
from amparo.cases.taxonomy import Platform
from amparo.core import audit
from amparo.core.policy import can
from amparo.evidence.models import BlockCategory, BlockedUrl, TakedownNotice, TakedownStatus
from amparo.evidence.permissions import TakedownAudit, TakedownPermission

MAX_URL_CHARS = 2000
MAX_NOTE_CHARS = 2000
ANSWERS = (TakedownStatus.REMOVED, TakedownStatus.REFUSED, TakedownStatus.NOT_FOUND)


def organisation_model() -> Any:
    return apps.get_model("intake", "IndustryOrganisation")


def clean_url(value: str) -> str:
    """An http(s) URL with a host, at most 2,000 characters, without spaces or control characters."""
    value = (value or "").strip()
    parts = urlsplit(value) if len(value) <= MAX_URL_CHARS else None
    if (
        parts is None
        or parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        raise ValidationError(_("Give a full web address starting with http:// or https://."))
    return value


def _require(user: Any, permission: TakedownPermission, obj: Any = None) -> None:
    if not can(user, permission, obj):
        raise PermissionDenied


# --------------------------------------------------------------------------- notices


def create_notice(
    user: Any, case: Case | None, *, url: str, platform: str = Platform.UNKNOWN, organisation: Any = None
) -> TakedownNotice:
    """A notice to remove the material at `url` (of `case`), addressed to `organisation` if given."""
    _require(user, TakedownPermission.NOTICE_MANAGE, case)
    url = clean_url(url)
    if platform not in Platform.values:
        raise ValidationError(_("Unknown platform."))
    if organisation is not None and not organisation.active:
        raise ValidationError(_("This organisation is not active."))
    with transaction.atomic():
        notice = TakedownNotice.objects.create(
            case=case,
            url=url,
            platform=platform,
            organisation=organisation,
            requested_at=timezone.now(),
            status=TakedownStatus.SENT,
            created_by=user,
        )
        fields = ["url", "platform", "requested_at", "status"] + (["case"] if case else [])
        audit.record(
            user, TakedownAudit.NOTICE_CREATE, notice, fields + (["organisation"] if organisation else [])
        )
    return notice


def withdraw_notice(user: Any, notice: TakedownNotice) -> TakedownNotice:
    _require(user, TakedownPermission.NOTICE_MANAGE, notice.case)
    with transaction.atomic():
        notice = TakedownNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.status != TakedownStatus.SENT:
            raise ValidationError(_("Only a notice still waiting for an answer can be withdrawn."))
        notice.status = TakedownStatus.WITHDRAWN
        notice.save(update_fields=["status"])
        audit.record(user, TakedownAudit.NOTICE_WITHDRAW, notice, ["status"])
    return notice


def notices_for_organisation(organisation: Any):  # noqa: ANN201
    """The notices addressed to one organisation (the only way the industry API loads them)."""
    return TakedownNotice.objects.filter(organisation=organisation).order_by("-requested_at", "id")


def answer_notice(
    actor: audit.Actor, notice: TakedownNotice, *, status: str, note: str = ""
) -> TakedownNotice:
    """The organisation's answer: removed (time to removal measured from the request), refused or not found.

    `actor` is the organisation's channel actor; the notice must be addressed to that organisation
    (callers load it through notices_for_organisation)."""
    if not isinstance(actor, audit.Actor) or actor.user is not None:
        raise PermissionDenied
    if status not in ANSWERS:
        raise ValidationError(_("Answer removed, refused or not_found."))
    note = (note or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError(
            _("The note is too long: at most %(limit)d characters.") % {"limit": MAX_NOTE_CHARS}
        )
    with transaction.atomic():
        notice = TakedownNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.status != TakedownStatus.SENT:
            raise ValidationError(_("This notice was already answered or withdrawn."))
        now = timezone.now()
        notice.status = status
        notice.answered_at = now
        notice.answer_note = note
        fields = ["status", "answered_at"] + (["answer_note"] if note else [])
        if status == TakedownStatus.REMOVED:
            notice.removed_at = now
            fields.append("removed_at")
        notice.save(update_fields=fields)
        audit.record(actor, TakedownAudit.NOTICE_ANSWER, notice, fields)
    return notice


def removal_times(notices: Iterable[TakedownNotice]) -> dict[str, Any]:
    """Count and median time to removal of the removed notices among `notices` (`median` a timedelta,
    `median_days` the same in days, as the observatory's OCSEA.DAYS.REMOVAL counts it)."""
    times = [n.time_to_removal for n in notices if n.time_to_removal is not None]
    median = statistics.median(times) if times else None
    return {
        "removed": len(times),
        "median": median,
        "median_days": median / dt.timedelta(days=1) if median is not None else None,
    }


# --------------------------------------------------------------------------- the national block list


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def add_blocked_url(user: Any, url: str, category: str) -> BlockedUrl:
    _require(user, TakedownPermission.BLOCKLIST_MANAGE)
    url = clean_url(url)
    if category not in BlockCategory.values:
        raise ValidationError(_("Choose a reason for blocking."))
    try:
        with transaction.atomic():
            entry = BlockedUrl.objects.create(
                url=url, url_hash=_url_hash(url), category=category, added_by=user
            )
            audit.record(user, TakedownAudit.BLOCKLIST_ADD, entry, ["url", "category"])
    except IntegrityError:
        raise ValidationError(_("This address is already on the block list.")) from None
    return entry


def remove_blocked_url(user: Any, entry: BlockedUrl) -> BlockedUrl:
    _require(user, TakedownPermission.BLOCKLIST_MANAGE)
    with transaction.atomic():
        entry = BlockedUrl.objects.select_for_update().get(pk=entry.pk)
        if entry.removed_at is not None:
            raise ValidationError(_("This address was already removed from the block list."))
        entry.removed_at = timezone.now()
        entry.save(update_fields=["removed_at"])
        audit.record(user, TakedownAudit.BLOCKLIST_REMOVE, entry, ["removed_at"])
    return entry


def active_blocklist():  # noqa: ANN201
    return BlockedUrl.objects.filter(removed_at__isnull=True).order_by("added_at", "id")


def blocklist_download(actor: audit.Actor, fmt: str) -> tuple[str, str]:
    """The current list as (content type, body): `text` (one URL a line) or `csv` (url, category, added_at).
    The download is audited (who took which version of the list)."""
    rows = list(active_blocklist())
    audit.record_read(
        actor, TakedownAudit.BLOCKLIST_DOWNLOAD, ("evidence.blockedurl", ""), ["url", "category"]
    )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["url", "category", "added_at"])
        for row in rows:
            writer.writerow([row.url, row.category, row.added_at.astimezone(dt.UTC).isoformat()])
        return "text/csv; charset=utf-8", out.getvalue()
    return "text/plain; charset=utf-8", "".join(f"{row.url}\n" for row in rows)
