"""Importing an NCMEC CyberTipline referral package into a case (issue 5, item 8).

`import_package(actor, path)` reads the package with the defensive reader in amparo.lib.cybertip
(size, depth and entity limits; zip bombs and paths leaving the package refused), then:

1. returns the existing case if this report id was imported before (InternationalReferral is unique
   on source and report id);
2. seals every media file into the vault *before* any row is written, hashing it on the way, and
   compares the hashes the report declares (``originalFileHash``: the file as the user uploaded it,
   which the platform may since have changed): a mismatch is audited as an integrity alarm, recorded
   on the item's chain of custody and shown in the import's output, never silently accepted;
3. in ONE transaction opens the international-referral case (owned by the receiving agency,
   AMPARO_CYBERTIP_AGENCY) at the report's priority (escalated reports at the highest), its persons
   (reported persons as offenders, victims with their age, year of birth and address), a note with
   every identifier, device, IP event and incident detail (encrypted), the evidence items (with the
   platform's classification, annotations, EXIF and original URL, encrypted) and the referral row.

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
from dataclasses import dataclass, field
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
class FileOutcome:
    """What became of one declared file (``fileDetails``)."""

    file_name: str
    file_id: str | None
    found: bool  # the package holds it (matched by fileName, then fileId)
    md5_ok: bool | None  # the declared MD5 matches the file; None: no MD5 declared or file not found

    def as_json(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "file_id": self.file_id,
            "found": self.found,
            "md5_ok": self.md5_ok,
        }


@dataclass(frozen=True)
class ImportResult:
    case: Case
    referral: InternationalReferral
    created: bool  # False: the report was imported before and its case is returned
    files: int
    file_outcomes: tuple[FileOutcome, ...] = ()


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


def _ip_line(event: cybertip.IpEvent) -> str:
    return _("IP %(ip)s, %(event)s, %(when)s") % {
        "ip": event.ip + (f":{event.port}" if event.port else ""),
        "event": event.event or "-",
        "when": event.when.isoformat() if event.when else (event.when_raw or "-"),
    }


def _person_lines(person: cybertip.Person) -> list[str]:
    fields = [
        (_("names"), [" ".join(p) for p in zip(person.first_names, person.last_names, strict=False)]),
        (_("display names"), person.display_names),
        (_("screen names"), person.screen_names),
        (_("e-mail addresses"), person.emails),
        (_("phone numbers"), [phone.international for phone in person.phones]),
        (_("platform identifiers"), person.esp_identifiers),
        (_("platform services"), person.esp_services),
        (_("profile URLs"), person.profile_urls),
        (_("dates of birth"), person.dates_of_birth),
        (_("schools"), person.school_names),
        (_("addresses"), person.addresses),
        (_("devices"), person.device_ids),
        (_("prior CyberTipline reports"), person.prior_reports),
        (_("group identifiers"), person.group_identifiers),
        (_("additional information"), person.additional_info),
    ]
    lines = [f"  {label}: {_join(values)}" for label, values in fields if values]
    lines.extend("  " + _ip_line(event) for event in person.ip_events)
    for location in person.locations:
        place = [v for v in (location.city, location.region, location.country) if v]
        if place:
            lines.append("  " + _("estimated location: %(place)s") % {"place": ", ".join(place)})
    return lines


def _identifiers_note(
    report: cybertip.CyberTipReport, missing: int, mismatched: list[cybertip.ReportedFile] = ()
) -> str:
    """Every identifier, device, IP event and incident detail of the report, for the case note
    (encrypted at rest)."""
    lines = [_("NCMEC CyberTipline report %(id)s.") % {"id": report.report_id}]
    if report.reporter_company:
        lines.append(_("Reported by: %(company)s.") % {"company": report.reporter_company})
    if report.incident_type:
        lines.append(_("Incident type: %(type)s.") % {"type": report.incident_type})
    if report.incident_date_raw and report.incident_date is None:
        lines.append(_("Incident date as given: %(date)s.") % {"date": report.incident_date_raw})
    if report.incident_date_description:
        lines.append(_("About the incident date: %(text)s") % {"text": report.incident_date_description})
    if report.annotations:
        lines.append(_("Annotations: %(list)s.") % {"list": _join(report.annotations)})
    if report.escalate_reason:
        lines.append(_("Escalated to high priority: %(reason)s") % {"reason": report.escalate_reason})
    elif report.escalate:
        lines.append(_("NCMEC escalated this report to high priority."))
    for kind, name, text in report.incident_details:
        lines.append(f"{kind} / {name}: {text}")
    for number, person in enumerate(report.reported_persons, 1):
        lines.append(_("Reported person %(n)d:") % {"n": number})
        lines.extend(_person_lines(person))
    for number, victim in enumerate(report.victims, 1):
        lines.append(_("Victim %(n)d:") % {"n": number})
        lines.extend(_person_lines(victim))
    if report.urls:
        lines.append(_("URLs: %(list)s") % {"list": _join(report.urls)})
    for reported in report.files:
        label = reported.label or "-"
        if reported.industry_classification:
            lines.append(
                _("File %(id)s: classified %(class)s by the platform.")
                % {"id": label, "class": reported.industry_classification}
            )
        if reported.location:
            lines.append(
                _("File %(id)s: original location %(url)s") % {"id": label, "url": reported.location}
            )
        lines.extend(
            f"  {_('File %(id)s') % {'id': label}}: " + _ip_line(event) for event in reported.ip_events
        )
    for reported in mismatched:
        lines.append(
            _("File %(id)s: the MD5 the report declares does not match the file received (see its custody).")
            % {"id": reported.label or "-"}
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
    reported: cybertip.ReportedFile | None = None
    mismatch: list[str] = field(default_factory=list)  # declared hash types the file does not have


def _sender_details(reported: cybertip.ReportedFile, mismatch: list[str]) -> dict[str, Any]:
    """What the platform said of a file, for the evidence item (stored encrypted)."""
    details: dict[str, Any] = {
        "file_id": reported.file_id,
        "file_name": reported.file_name,
        "original_url": reported.location,
        "viewed_by_esp": reported.viewed_by_esp,
        "exif_viewed_by_esp": reported.exif_viewed_by_esp,
        "publicly_available": reported.publicly_available,
        "annotations": reported.annotations,
        "details": [{"type": kind, "name": name, "value": value} for kind, name, value in reported.details],
        "devices": reported.device_ids,
        "ip_events": [_ip_line(event) for event in reported.ip_events],
        "additional_info": reported.additional_info,
        "declared_hashes": reported.declared_hashes,
        "declared_hash_mismatch": mismatch,
    }
    return {key: value for key, value in details.items() if value not in (None, [], {})}


def _outcomes(
    package: cybertip.CyberTipPackage, checked: dict[int, dict[str, bool]] | None = None
) -> tuple[FileOutcome, ...]:
    """Each declared file: found in the package, and whether its declared MD5 matched (verified now
    unless ``checked`` holds the result of sealing it)."""
    outcomes = []
    for reported, present in package.files():
        md5_ok = None
        if present and "md5" in reported.declared_hashes:
            result = checked.get(id(reported)) if checked is not None else None
            md5_ok = (result if result is not None else package.verify(reported)).get("md5")
        outcomes.append(FileOutcome(reported.label, reported.file_id, present, md5_ok))
    return tuple(outcomes)


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
    logger.error("CyberTipline import: a declared hash did not match its file (report %s)", report_id)


def _birth_year(person: cybertip.Person) -> int | None:
    for text in person.dates_of_birth:
        year = text.strip()[:4]
        if year.isdigit() and 1900 <= int(year) <= 2100:
            return int(year)
    return None


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
            return ImportResult(existing.case, existing, False, existing.file_count, _outcomes(package))
        media = _media_files(package)
        missing = sum(1 for _reported, present in package.files() if not present)
        if on_total is not None:
            on_total(sum(package.members[p] for p, _r in media))
        storage = get_storage()
        sealed: list[_Presealed] = []
        checked: dict[int, dict[str, bool]] = {}
        try:
            for relative, reported in media:
                result, digests = _seal(package, relative, progress)
                name = (reported.original_name if reported else None) or relative.rsplit("/", 1)[-1]
                wrong: list[str] = []
                if reported is not None:
                    checked[id(reported)] = {k: digests[k] == v for k, v in reported.declared_hashes.items()}
                    wrong = [k for k, ok in checked[id(reported)].items() if not ok]
                sealed.append(_Presealed(result, name, reported=reported, mismatch=wrong))
            if any(item.mismatch for item in sealed):
                # Kept (the platform may have changed the file since the user uploaded it), never
                # silently: audited here, on each item's custody chain, in the note and the output.
                _record_alarm(actor, report.report_id)
            imported = _write(actor, user, agency, report, sealed, missing)
            return ImportResult(
                imported.case, imported.referral, True, imported.files, _outcomes(package, checked)
            )
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
    services = [
        service for person in report.reported_persons + report.victims for service in person.esp_services
    ]
    platforms = platforms_for(report.reporter_company, *services)
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
                address=(person.addresses or [""])[0][:500],
                age=min(person.ages) if person.ages and min(person.ages) <= 120 else None,
                birth_year=_birth_year(person),
            )
        for victim in report.victims:
            names = [" ".join(p) for p in zip(victim.first_names, victim.last_names, strict=False)]
            case_actions.add_person(
                CHANNEL_ACTOR,
                case,
                role=PersonRole.VICTIM,
                name=(names or [""])[0][:500],
                phone=victim.phones[0].international if victim.phones else "",
                address=(victim.addresses or [""])[0][:500],
                age=min(victim.ages) if victim.ages and min(victim.ages) <= 120 else None,
                birth_year=_birth_year(victim),
            )
        mismatched = [item.reported for item in sealed if item.mismatch and item.reported is not None]
        case_actions.add_note(CHANNEL_ACTOR, case, _identifiers_note(report, missing, mismatched))
        referral = InternationalReferral.objects.create(
            source=ReferralSource.NCMEC,
            external_id=report.report_id,
            case=case,
            imported_by=user,
            file_count=len(sealed),
        )
        for item in sealed:
            reported = item.reported
            evidence_actions.add_item(
                CHANNEL_ACTOR,
                case,
                item,
                original_name=item.name,
                received_from=_("NCMEC CyberTipline report %(id)s") % {"id": report.report_id},
                channel="cybertip",
                received_by=agency,
                classification=(reported.industry_classification or "") if reported else "",
                sender_details=_sender_details(reported, item.mismatch) if reported else None,
                declared_hash_mismatch=item.mismatch,
            )
        audit.record(
            actor, IntakeAudit.CYBERTIP_IMPORT, referral, ["source", "external_id", "case", "file_count"]
        )
    return ImportResult(case, referral, True, len(sealed))
