"""Importing an NCMEC CyberTipline referral package into a case (issue 5, item 8).

`import_package(actor, path)` reads the package with the defensive reader in amparo.lib.cybertip
(size, depth and entity limits; zip bombs and paths leaving the package refused), then:

1. returns the existing case if this report id was imported before (InternationalReferral is unique
   on source and report id);
2. seals every media file into the vault *before* any row is written, hashing it on the way, and
   compares the hashes the report declares: a mismatch is an integrity alarm (audited on its own) and
   the whole import fails;
3. in ONE transaction opens the international-referral case (owned by the receiving agency,
   AMPARO_CYBERTIP_AGENCY), its persons (reported persons as offenders, victims with their age), a note
   with every identifier and IP event (encrypted), the evidence items and the referral row.

Anything failing after the files were sealed deletes them again, so a malformed package leaves neither
a case nor a vault file. Case and evidence rows are written by the `cybertip` channel actor; the
person (or command) who imported is recorded on the referral and in the import's own audit entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from amparo.cases import actions as case_actions
from amparo.cases.models import FORM_CODES, Case, Channel, DatePrecision, PersonRole, Priority
from amparo.cases.taxonomy import Mode, Platform
from amparo.core import audit
from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.evidence import actions as evidence_actions
from amparo.evidence import vault
from amparo.evidence.storage import get_storage, max_bytes
from amparo.intake.industry import conf
from amparo.intake.models import InternationalReferral, ReferralSource
from amparo.intake.permissions import IntakeAudit, IntakePermission
from amparo.lib import cybertip, normalise
from amparo.lib.cybertip import CyberTipError

logger = logging.getLogger(__name__)

CHANNEL_ACTOR = audit.Actor(channel="cybertip")
Progress = Callable[[int], None]

# Words in a reporting company's name that name a platform of the taxonomy.
_PLATFORM_WORDS = {
    "whatsapp": Platform.WHATSAPP,
    "messenger": Platform.MESSENGER,
    "instagram": Platform.INSTAGRAM,
    "facebook": Platform.FACEBOOK,
    "meta": Platform.FACEBOOK,
    "tiktok": Platform.TIKTOK,
    "bytedance": Platform.TIKTOK,
    "telegram": Platform.TELEGRAM,
    "youtube": Platform.YOUTUBE,
    "google": Platform.YOUTUBE,
    "twitter": Platform.X,
    "snapchat": Platform.SNAPCHAT,
    "snap": Platform.SNAPCHAT,
    "roblox": Platform.ONLINE_GAMES,
    "discord": Platform.ONLINE_GAMES,
}


@dataclass(frozen=True)
class ImportResult:
    case: Case
    referral: InternationalReferral
    created: bool  # False: the report was imported before and its case is returned
    files: int


def receiving_agency() -> Agency:
    code = conf.cybertip_agency_code()
    agency = Agency.objects.filter(code=code, active=True).first()
    if agency is None:
        raise ValidationError(
            _("The receiving agency %(code)s does not exist or is not active; set AMPARO_CYBERTIP_AGENCY.")
            % {"code": code}
        )
    return agency


# --------------------------------------------------------------------------- mapping


def platforms_for(*names: str | None) -> list[str]:
    """Platform codes named in a reporting company's name (``[]`` when none is recognised)."""
    found: list[str] = []
    for name in names:
        words = normalise.name(name or "").replace(".", " ").split()
        for word in words:
            code = _PLATFORM_WORDS.get(word)
            if code and code not in found:
                found.append(code)
    return found


def _province_for(region: str) -> Province | None:
    wanted = normalise.name(region)
    if not wanted:
        return None
    for province in Province.objects.all():
        names = {normalise.name(province.name), province.iso_3166_2.lower(), province.code.lower()}
        if wanted in names:
            return province
    if wanted in {"cidade de maputo", "maputo cidade"}:
        return Province.objects.filter(code="MZ06").first()
    return None


def _district_for(city: str, province: Province | None) -> District | None:
    wanted = normalise.name(city)
    if not wanted:
        return None
    candidates = District.objects.select_related("province")
    if province is not None:
        candidates = candidates.filter(province=province)
    by_name = {}
    for district in candidates:
        name = normalise.name(district.name)
        by_name.setdefault(name, district)
        for prefix in ("cidade de ", "cidade da ", "cidade do "):
            if name.startswith(prefix):
                by_name.setdefault(name[len(prefix) :], district)
    match = by_name.get(wanted)
    if match is not None:
        return match
    # A provincial capital named by its city: the province's capital district.
    capitals = Province.objects.all() if province is None else [province]
    for candidate in capitals:
        if normalise.name(candidate.capital) == wanted:
            return District.objects.filter(province=candidate, is_capital=True).first()
    return None


def map_location(location: cybertip.Location | None) -> tuple[Province | None, District | None]:
    """Province and district for NCMEC's estimated location, where it is in Mozambique and the names
    are recognisable; (None, None) otherwise."""
    if location is None:
        return None, None
    country = (location.country or "").strip().upper()
    if country and country not in {"MZ", "MOZ", "MOZAMBIQUE", "MOÇAMBIQUE", "MOCAMBIQUE"}:
        return None, None
    province = _province_for(location.region or "")
    district = _district_for(location.city or "", province)
    if district is not None:
        province = district.province
    return province, district


def _join(values: list[str]) -> str:
    return ", ".join(dict.fromkeys(values))


def _identifiers_note(report: cybertip.CyberTipReport, missing: int) -> str:
    """Every identifier and IP event of the report, for the case note (encrypted at rest)."""
    lines = [_("NCMEC CyberTipline report %(id)s.") % {"id": report.report_id}]
    if report.reporter_company:
        lines.append(_("Reported by: %(company)s.") % {"company": report.reporter_company})
    if report.incident_type:
        lines.append(_("Incident type: %(type)s.") % {"type": report.incident_type})
    if report.incident_date_raw and report.incident_date is None:
        lines.append(_("Incident date as given: %(date)s.") % {"date": report.incident_date_raw})
    if report.annotations:
        lines.append(_("Annotations: %(list)s.") % {"list": _join(report.annotations)})
    if report.escalate:
        lines.append(_("NCMEC escalated this report to high priority."))
    for number, person in enumerate(report.reported_persons, 1):
        lines.append(_("Reported person %(n)d:") % {"n": number})
        fields = [
            (_("names"), [" ".join(p) for p in zip(person.first_names, person.last_names, strict=False)]),
            (_("display names"), person.display_names),
            (_("screen names"), person.screen_names),
            (_("e-mail addresses"), person.emails),
            (_("phone numbers"), [phone.international for phone in person.phones]),
            (_("platform identifiers"), person.esp_identifiers),
            (_("profile URLs"), person.profile_urls),
            (_("dates of birth"), person.dates_of_birth),
        ]
        for label, values in fields:
            if values:
                lines.append(f"  {label}: {_join(values)}")
        for event in person.ip_events:
            lines.append(
                "  "
                + _("IP %(ip)s, %(event)s, %(when)s")
                % {
                    "ip": event.ip + (f":{event.port}" if event.port else ""),
                    "event": event.event or "-",
                    "when": event.when.isoformat() if event.when else (event.when_raw or "-"),
                }
            )
        for location in person.locations:
            place = [v for v in (location.city, location.region, location.country) if v]
            if place:
                lines.append("  " + _("estimated location: %(place)s") % {"place": ", ".join(place)})
    for number, victim in enumerate(report.victims, 1):
        identifiers = victim.screen_names + victim.emails + victim.display_names
        if identifiers:
            lines.append(_("Victim %(n)d identifiers: %(list)s") % {"n": number, "list": _join(identifiers)})
    if report.urls:
        lines.append(_("URLs: %(list)s") % {"list": _join(report.urls)})
    for reported in report.files:
        if reported.industry_classification:
            lines.append(
                _("File %(id)s: classified %(class)s by the platform.")
                % {"id": reported.file_id or "-", "class": reported.industry_classification}
            )
    if missing:
        lines.append(
            _("%(count)d declared file(s) were not in the package (ask NCMEC for them).") % {"count": missing}
        )
    if report.unknown:
        lines.append(_("Other elements of the report:"))
        lines.extend(f"  {path}: {text}" for path, text in report.unknown[:100])
    return "\n".join(lines)


# --------------------------------------------------------------------------- files


@dataclass
class _Presealed:
    """A file already sealed into the vault (amparo.evidence.actions.add_item accepts `sealed`)."""

    sealed: vault.Sealed
    name: str
    declared_type: str = ""


def _seal(
    package: cybertip.CyberTipPackage, relative: str, progress: Progress | None
) -> tuple[vault.Sealed, dict]:
    hashers = {kind: hashlib.new(kind, usedforsecurity=False) for kind in ("md5", "sha1", "sha256")}
    sealer = vault.Sealer(uuid.uuid4(), storage=get_storage())
    try:
        with package.open(relative) as stream:
            while chunk := stream.read(vault.CHUNK_SIZE):
                for hasher in hashers.values():
                    hasher.update(chunk)
                sealer.write(chunk)
                if progress is not None:
                    progress(len(chunk))
    except vault.TooLarge:
        raise CyberTipError(
            _("A file of the package is larger than the vault accepts (%(limit)s bytes).")
            % {"limit": max_bytes()}
        ) from None
    except BaseException:
        sealer.abort()
        raise
    return sealer.close(), {kind: hasher.hexdigest() for kind, hasher in hashers.items()}


def _media_files(package: cybertip.CyberTipPackage) -> list[tuple[str, cybertip.ReportedFile | None]]:
    """(path, declared file or None) for every file to store: the declared ones present in the package,
    then any other file under Media/ (kept: it came with the report)."""
    chosen: list[tuple[str, cybertip.ReportedFile | None]] = []
    seen: set[str] = set()
    for reported, present in package.files():
        if present and reported.relative_path not in seen:
            chosen.append((reported.relative_path, reported))
            seen.add(reported.relative_path)
    for member in sorted(package.members):
        if member in seen or member == package.xml_path:
            continue
        if member.split("/", 1)[0].lower() == "media":
            chosen.append((member, None))
            seen.add(member)
    return chosen


def _record_alarm(actor: Any, report_id: str) -> None:
    with transaction.atomic():
        audit.record(
            actor,
            IntakeAudit.CYBERTIP_INTEGRITY_ALARM,
            ("intake.internationalreferral", report_id),
            ["declared_hashes"],
        )
    logger.error("CyberTipline import refused: a declared hash did not match (report %s)", report_id)


# --------------------------------------------------------------------------- the import


def _check_actor(actor: Any) -> Any:
    """The staff user behind the actor (None for a command run as the system); refuses others."""
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if user is not None and not can(user, IntakePermission.CYBERTIP_IMPORT):
        raise PermissionDenied
    return user


def _existing(report_id: str) -> InternationalReferral | None:
    return (
        InternationalReferral.objects.select_related("case")
        .filter(source=ReferralSource.NCMEC, external_id=report_id)
        .first()
    )


def import_package(
    actor: Any,
    path: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one CyberTipline package (folder, zip or lone XML). Raises CyberTipError for an unsafe,
    malformed or inconsistent package (nothing is left behind), PermissionDenied for a user who may not
    import. `on_total(bytes)` is called once with the size of the media to store, `progress(n)` as it is."""
    user = _check_actor(actor)
    agency = receiving_agency()
    with cybertip.parse_package(path, max_member_bytes=max_bytes()) as package:
        report = package.report
        if len(report.report_id) > 64:
            raise CyberTipError(_("The report id is longer than 64 characters; the package was refused."))
        existing = _existing(report.report_id)
        if existing is not None:
            return ImportResult(existing.case, existing, False, existing.file_count)
        media = _media_files(package)
        missing = sum(1 for _reported, present in package.files() if not present)
        if on_total is not None:
            on_total(sum(package.members[p] for p, _r in media))
        storage = get_storage()
        sealed: list[_Presealed] = []
        try:
            for relative, reported in media:
                result, digests = _seal(package, relative, progress)
                name = (reported.original_name if reported else None) or relative.rsplit("/", 1)[-1]
                sealed.append(_Presealed(result, name))
                if reported is not None:
                    wrong = [k for k, v in reported.declared_hashes.items() if digests[k] != v]
                    if wrong:
                        _record_alarm(actor, report.report_id)
                        raise CyberTipError(
                            _(
                                "File %(number)d of the report does not match the %(kinds)s hash the report "
                                "declares. Nothing was imported; ask NCMEC for a new copy of the package."
                            )
                            % {"number": report.files.index(reported) + 1, "kinds": ", ".join(wrong).upper()}
                        )
            return _write(actor, user, agency, report, sealed, missing)
        except IntegrityError:
            # Imported concurrently by someone else: theirs stands, ours is removed.
            for item in sealed:
                storage.delete(item.sealed.storage_key)
            existing = _existing(report.report_id)
            if existing is None:
                raise
            return ImportResult(existing.case, existing, False, existing.file_count)
        except BaseException:
            for item in sealed:
                storage.delete(item.sealed.storage_key)
            raise


def _write(
    actor: Any,
    user: Any,
    agency: Agency,
    report: cybertip.CyberTipReport,
    sealed: list[_Presealed],
    missing: int,
) -> ImportResult:
    forms = [code for code in report.forms if code in FORM_CODES]
    province, district = map_location(report.estimated_location)
    platforms = platforms_for(report.reporter_company)
    priority = report.priority if report.priority in Priority.values else Priority.NORMAL
    narrative = "\n\n".join(report.additional_info)
    with transaction.atomic():
        case = case_actions.create_case(
            CHANNEL_ACTOR,
            channel=Channel.INTERNATIONAL,
            owning_agency=agency,
            forms=forms,
            platforms=platforms,
            priority=priority,
            mode=Mode.ONLINE,
            province=province,
            district=district,
            incident_date=report.incident_date.date() if report.incident_date else None,
            incident_date_precision=DatePrecision.EXACT
            if report.incident_date
            else DatePrecision.APPROXIMATE,
            narrative=narrative,
        )
        for person in report.reported_persons:
            names = [" ".join(p) for p in zip(person.first_names, person.last_names, strict=False)]
            name = (names or person.display_names or person.screen_names or [""])[0]
            case_actions.add_person(
                CHANNEL_ACTOR,
                case,
                role=PersonRole.OFFENDER,
                name=name[:500],
                phone=person.phones[0].international if person.phones else "",
                age=min(person.ages) if person.ages and min(person.ages) <= 120 else None,
            )
        for victim in report.victims:
            names = [" ".join(p) for p in zip(victim.first_names, victim.last_names, strict=False)]
            case_actions.add_person(
                CHANNEL_ACTOR,
                case,
                role=PersonRole.VICTIM,
                name=(names or [""])[0][:500],
                age=min(victim.ages) if victim.ages and min(victim.ages) <= 120 else None,
            )
        case_actions.add_note(CHANNEL_ACTOR, case, _identifiers_note(report, missing))
        referral = InternationalReferral.objects.create(
            source=ReferralSource.NCMEC,
            external_id=report.report_id,
            case=case,
            imported_by=user,
            file_count=len(sealed),
        )
        for item in sealed:
            evidence_actions.add_item(
                CHANNEL_ACTOR,
                case,
                item,
                original_name=item.name,
                received_from=_("NCMEC CyberTipline report %(id)s") % {"id": report.report_id},
                channel="cybertip",
                received_by=agency,
            )
        audit.record(
            actor, IntakeAudit.CYBERTIP_IMPORT, referral, ["source", "external_id", "case", "file_count"]
        )
    return ImportResult(case, referral, True, len(sealed))
