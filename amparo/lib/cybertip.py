"""A safe reader of NCMEC CyberTipline report packages.

NCMEC's case-management tool delivers a report to foreign law enforcement as a
folder (or a zip of one) holding one report XML (root ``report``, usually in the
namespace ``http://report.cybertip.org/leaws/icac``) and a ``Media/`` folder. The
element names are those of NCMEC's public CyberTipline Reporting API (the ESP
schema: ``incidentSummary``, ``reporter``, ``personOrUserReported``, ``victim``,
``fileDetails``, ...). The reader is tolerant: every element but ``reportId`` is
optional, repeated elements are all kept, the namespace may be present or absent,
and unknown elements are kept as raw (path, text) pairs.

Each ``fileDetails`` is matched to a file of the package's ``Media/`` folder by its
``fileName``, then its ``fileId`` (``locationOfFile`` is the file's original URL at
the platform: kept as data, used as a path only when it names a file of the package).

It is also defensive, because the package comes from outside:

* the XML is parsed with defusedxml, refusing any DTD, entity declaration or external
  reference (billion laughs, XXE) with a ``CyberTipError`` before expanding anything;
* the XML may not exceed ``MAX_XML_BYTES`` (checked from the file or zip header and
  again while reading) nor nest deeper than ``MAX_DEPTH``; an element's text may not
  exceed ``MAX_TEXT_CHARS``;
* zip members may not exceed ``max_member_bytes`` nor a compression ratio of
  ``MAX_COMPRESSION_RATIO``, and their bytes are counted while read, so a lying header
  cannot smuggle a bomb past the checks; paths that leave the package (absolute,
  ``..``, symbolic links) are refused.

``parse_package`` returns a ``CyberTipPackage``: the parsed ``CyberTipReport`` (plain
dataclasses, no Django) and a way to open each declared file. Mapping to the OCSEA
taxonomy codes (``INCIDENT_TYPE_FORMS``, ``ANNOTATION_FORMS``) and a suggested
priority are given as plain strings; the intake import maps the rest (location to
province and district) and creates the case.

Error messages never quote the package's content (it may identify people); they say
what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

NAMESPACE = "http://report.cybertip.org/leaws/icac"
MAX_XML_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 32
MAX_TEXT_CHARS = 1 << 20
MAX_ELEMENTS = 200_000
MAX_COMPRESSION_RATIO = 200
MAX_MEMBERS = 100_000
DEFAULT_MAX_MEMBER_BYTES = 2 * 1024**3
MAX_UNKNOWN_KEPT = 500

# NCMEC incident types (CyberTipline reporting API) to Amparo's OCSEA form codes
# (amparo.cases.taxonomy.Form values). Keys are compared case-insensitively.
INCIDENT_TYPE_FORMS: dict[str, list[str]] = {
    "child pornography (possession, manufacture, and distribution)": [
        "csam_possession",
        "csam_distribution",
        "csam_production",
    ],
    "child sexual abuse material": ["csam_possession", "csam_distribution"],
    "child sex trafficking": ["trafficking"],
    "child sex tourism": ["trafficking"],
    "child sexual molestation": ["other"],
    "online enticement of children for sexual acts": ["grooming"],
    "online enticement": ["grooming"],
    "unsolicited obscene material sent to a child": ["unwanted_exposure"],
    "misleading domain name": ["unwanted_exposure"],
    "misleading words or digital images on the internet": ["unwanted_exposure"],
}
# Report annotations that name a form of their own.
ANNOTATION_FORMS: dict[str, list[str]] = {
    "sextortion": ["sextortion"],
    "csamsolicitation": ["offer_for_images"],
    "possibletrafficking": ["trafficking"],
    "childsextrafficking": ["trafficking"],
    "livestreaming": ["live_streaming"],
}
# Annotations that raise the priority even without NCMEC's escalation flag.
HIGH_PRIORITY_ANNOTATIONS = frozenset(
    {
        "sextortion",
        "sadisticonlineexploitation",
        "physicalthreat",
        "possibletrafficking",
        "childsextrafficking",
    }
)


class CyberTipError(ValueError):
    """The package cannot be read safely; the message says why and what to do."""


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True, slots=True)
class IpEvent:
    ip: str
    event: str | None = None
    when: datetime | None = None
    when_raw: str | None = None
    port: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    country: str | None = None
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class Phone:
    number: str
    country_code: str | None = None  # the schema's countryCallingCode (older exports: countryCode)

    @property
    def international(self) -> str:
        """The number in E.164 (``+<code><number>``) when a calling code is given or written in."""
        digits = "".join(ch for ch in self.number if ch.isdigit() or ch == "+")
        if digits.startswith("00"):
            return "+" + digits[2:]
        code = "".join(ch for ch in (self.country_code or "") if ch.isdigit())
        if code and not digits.startswith("+"):
            return f"+{code}{digits.lstrip('0')}"
        return digits


@dataclass(slots=True)
class Person:
    """A reported person or user (or a victim): every identifier the report gives."""

    first_names: list[str] = field(default_factory=list)
    last_names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    screen_names: list[str] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    esp_identifiers: list[str] = field(default_factory=list)
    display_names: list[str] = field(default_factory=list)
    profile_urls: list[str] = field(default_factory=list)
    dates_of_birth: list[str] = field(default_factory=list)
    ages: list[int] = field(default_factory=list)
    ip_events: list[IpEvent] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)  # "IMEI 35...", with the event and time if given
    esp_services: list[str] = field(default_factory=list)
    prior_reports: list[str] = field(default_factory=list)  # priorCTReports
    group_identifiers: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    school_names: list[str] = field(default_factory=list)
    additional_info: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReportedFile:
    file_id: str | None = None
    original_name: str | None = None
    file_name: str | None = None  # the stored name: how the file is found in Media/
    location: str | None = None  # locationOfFile: the original URL, as given
    relative_path: str | None = None  # the package's file it was matched to, or None
    declared_hashes: dict[str, str] = field(default_factory=dict)  # md5/sha1/sha256 -> lower hex
    industry_classification: str | None = None
    viewed_by_esp: bool | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    annotations: list[str] = field(default_factory=list)  # fileAnnotations (generativeAi, viral, ...)
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, value): EXIF, ...
    additional_info: list[str] = field(default_factory=list)
    ip_events: list[IpEvent] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The name to show for the file: its stored name, original name or id."""
        return self.file_name or self.original_name or self.file_id or ""


@dataclass(slots=True)
class CyberTipReport:
    report_id: str
    incident_type: str | None = None
    incident_date: datetime | None = None
    incident_date_raw: str | None = None
    incident_date_description: str | None = None
    escalate: bool = False
    escalate_reason: str | None = None  # escalateToHighPriority's free text ("Immediate risk to child")
    annotations: list[str] = field(default_factory=list)
    reporter_company: str | None = None
    incident_details: list[tuple[str, str, str]] = field(default_factory=list)  # (incident, element, text)
    reported_persons: list[Person] = field(default_factory=list)
    victims: list[Person] = field(default_factory=list)
    files: list[ReportedFile] = field(default_factory=list)
    additional_info: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ip_events(self) -> list[IpEvent]:
        """Every IP capture event of every reported person, in document order."""
        return [event for person in self.reported_persons for event in person.ip_events]

    @property
    def estimated_location(self) -> Location | None:
        """The first estimated location given for a reported person, if any."""
        for person in self.reported_persons:
            if person.locations:
                return person.locations[0]
        return None

    @property
    def victim_age(self) -> int | None:
        """The youngest victim age given, if any."""
        ages = [age for victim in self.victims for age in victim.ages]
        return min(ages) if ages else None

    @property
    def forms(self) -> list[str]:
        """OCSEA form codes suggested by the incident type and annotations (may be empty)."""
        return suggested_forms(self.incident_type, self.annotations)

    @property
    def priority(self) -> str:
        """``immediate`` if NCMEC escalated it, ``high`` for grave annotations, else ``normal``."""
        if self.escalate:
            return "immediate"
        if any(a.lower() in HIGH_PRIORITY_ANNOTATIONS for a in self.annotations):
            return "high"
        return "normal"


def map_incident_type(incident_type: str | None) -> list[str]:
    """OCSEA form codes for an NCMEC incident type (``[]`` if unknown)."""
    if not incident_type:
        return []
    return list(INCIDENT_TYPE_FORMS.get(" ".join(incident_type.split()).lower(), []))


def suggested_forms(incident_type: str | None, annotations: list[str]) -> list[str]:
    """Form codes from the incident type then the annotations, without repeats."""
    forms = map_incident_type(incident_type)
    for annotation in annotations:
        for code in ANNOTATION_FORMS.get(annotation.lower(), []):
            if code not in forms:
                forms.append(code)
    return forms


# --------------------------------------------------------------------------- XML parsing


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child_text(element: Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return _text(child)
    return None


def _texts(element: Element, name: str) -> list[str]:
    return [t for child in _children(element, name) if (t := _text(child)) is not None]


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    return None


def _datetime(value: str | None) -> datetime | None:
    """An aware datetime from an ISO 8601 string, or ``None`` if it cannot be read."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # NCMEC writes UTC; a naive time is taken as UTC rather than as local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if 0 <= number < 150 else None


def _ip_event(element: Element) -> IpEvent | None:
    ip = _child_text(element, "ipAddress")
    if ip is None:
        return None
    when_raw = _child_text(element, "dateTime")
    return IpEvent(
        ip=ip,
        event=_child_text(element, "eventName"),
        when=_datetime(when_raw),
        when_raw=when_raw,
        port=_child_text(element, "port"),
    )


def _location(element: Element) -> Location:
    return Location(
        country=_child_text(element, "countryCode") or _child_text(element, "country"),
        region=_child_text(element, "region"),
        city=_child_text(element, "city"),
        postal_code=_child_text(element, "postalCode") or _child_text(element, "zipCode"),
    )


def _device_id(element: Element) -> str | None:
    value = _child_text(element, "idValue") or _text(element)
    if value is None:
        return None
    kind = _child_text(element, "idType")
    when = [v for v in (_child_text(element, "eventName"), _child_text(element, "dateTime")) if v]
    return " ".join(v for v in (kind, value) if v) + (f" ({', '.join(when)})" if when else "")


def _address(element: Element) -> str | None:
    parts = [
        _child_text(element, name)
        for name in ("address", "city", "zipCode", "state", "nonUsaState", "country")
    ]
    text = ", ".join(p for p in parts if p)
    kind = element.get("type")
    return (f"{text} ({kind})" if kind else text) or None


_PERSON_TEXT_LISTS = {
    "espService": "esp_services",
    "priorCTReports": "prior_reports",
    "groupIdentifier": "group_identifiers",
    "schoolName": "school_names",
    "additionalInfo": "additional_info",
}


def _person(element: Element) -> Person:
    person = Person()
    inside: set[int] = set()  # nodes already read as part of a composite (address, deviceId)
    # Identifiers may sit directly under the person or inside a nested block
    # (personOrUserReportedPerson, victimPerson, ...); walk the subtree once.
    for node in element.iter():
        if id(node) in inside:
            continue
        name = _local(node.tag)
        text = _text(node)
        if name == "ipCaptureEvent":
            event = _ip_event(node)
            if event:
                person.ip_events.append(event)
        elif name == "estimatedLocation":
            person.locations.append(_location(node))
        elif name == "deviceId":
            inside.update(id(child) for child in node.iter())
            if device := _device_id(node):
                person.device_ids.append(device)
        elif name == "address" and len(node):
            inside.update(id(child) for child in node.iter())
            if address := _address(node):
                person.addresses.append(address)
        elif text is None:
            continue
        elif name in _PERSON_TEXT_LISTS:
            getattr(person, _PERSON_TEXT_LISTS[name]).append(text)
        elif name == "address":
            person.addresses.append(text)
        elif name == "email":
            person.emails.append(text)
        elif name == "screenName":
            person.screen_names.append(text)
        elif name in {"phone", "mobilePhone", "phoneNumber"}:
            person.phones.append(Phone(text, node.get("countryCallingCode") or node.get("countryCode")))
        elif name == "espIdentifier":
            person.esp_identifiers.append(text)
        elif name == "displayName":
            person.display_names.append(text)
        elif name == "profileUrl":
            person.profile_urls.append(text)
        elif name == "firstName":
            person.first_names.append(text)
        elif name == "lastName":
            person.last_names.append(text)
        elif name == "dateOfBirth":
            person.dates_of_birth.append(text)
        elif name in {"age", "approximateAge"}:
            age = _int(text)
            if age is not None:
                person.ages.append(age)
    return person


def _file(element: Element) -> ReportedFile:
    reported = ReportedFile(
        file_id=_child_text(element, "fileId"),
        original_name=_child_text(element, "originalFileName") or _child_text(element, "fileName"),
        file_name=_child_text(element, "fileName"),
        location=_child_text(element, "locationOfFile"),
        industry_classification=_child_text(element, "industryClassification"),
        viewed_by_esp=_bool(_child_text(element, "fileViewedByEsp")),
        exif_viewed_by_esp=_bool(_child_text(element, "exifViewedByEsp")),
        publicly_available=_bool(_child_text(element, "publiclyAvailable")),
        additional_info=_texts(element, "additionalInfo"),
    )
    for block in _children(element, "fileAnnotations"):
        for child in block:
            value = _text(child)
            if value is not None and value.lower() == "false":
                continue
            annotation = _local(child.tag) if value is None or value.lower() == "true" else value
            if annotation and annotation not in reported.annotations:
                reported.annotations.append(annotation)
        if len(block) == 0 and (text := _text(block)):
            reported.annotations.extend(a for a in text.replace(",", " ").split() if a)
    for block in _children(element, "details"):
        kind = block.get("type") or _child_text(block, "type") or ""
        pairs = _children(block, "nameValuePair") or [block]
        for pair in pairs:
            name, value = _child_text(pair, "name"), _child_text(pair, "value")
            if name and value:
                reported.details.append((kind, name, value))
    for block in _children(element, "deviceId"):
        if device := _device_id(block):
            reported.device_ids.append(device)
    for node in element.iter():
        name = _local(node.tag)
        if name in {"originalFileHash", "fileHash", "hash"}:
            value = _text(node)
            kind = (node.get("hashType") or "").strip().lower().replace("-", "")
            if value and kind in {"md5", "sha1", "sha256"}:
                value = value.lower()
                if _is_hex(value, {"md5": 32, "sha1": 40, "sha256": 64}[kind]):
                    reported.declared_hashes.setdefault(kind, value)
        elif name == "ipCaptureEvent":
            event = _ip_event(node)
            if event:
                reported.ip_events.append(event)
    return reported


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(ch in "0123456789abcdef" for ch in value)


_KNOWN_TOP = {
    "reportId",
    "incidentSummary",
    "internetDetails",
    "reporter",
    "personOrUserReported",
    "victim",
    "fileDetails",
    "additionalInfo",
}


def _collect_unknown(element: Element, path: str, report: CyberTipReport) -> None:
    for node in element.iter():
        if len(report.unknown) >= MAX_UNKNOWN_KEPT:
            return
        text = _text(node)
        if text is not None:
            report.unknown.append((f"{path}/{_local(node.tag)}", text))


def parse_report_xml(data: bytes) -> CyberTipReport:
    """Parse one report XML (bytes), refusing unsafe or oversized input with ``CyberTipError``."""
    if len(data) > MAX_XML_BYTES:
        raise CyberTipError(
            f"The report XML is larger than {MAX_XML_BYTES // (1024 * 1024)} MB; "
            "ask NCMEC to split the report or check that the right file was chosen."
        )
    root = _parse_limited(data)
    if _local(root.tag) != "report":
        raise CyberTipError("The XML is not a CyberTipline report (its root element is not 'report').")
    report_id = _child_text(root, "reportId")
    if report_id is None:
        raise CyberTipError("The report XML has no reportId; it cannot be imported.")
    if len(report_id) > 64 or not report_id.replace("-", "").isalnum():
        raise CyberTipError("The reportId is not a plain identifier; check the package.")
    report = CyberTipReport(report_id=report_id)
    for summary in _children(root, "incidentSummary"):
        report.incident_type = report.incident_type or _child_text(summary, "incidentType")
        if report.incident_date_raw is None:
            report.incident_date_raw = _child_text(summary, "incidentDateTime")
            report.incident_date = _datetime(report.incident_date_raw)
        report.incident_date_description = report.incident_date_description or _child_text(
            summary, "incidentDateTimeDescription"
        )
        # Free text in the schema ("Immediate risk to child"): any value but false escalates.
        reason = _child_text(summary, "escalateToHighPriority")
        if reason is not None and _bool(reason) is not False:
            report.escalate = True
            if _bool(reason) is None:
                report.escalate_reason = report.escalate_reason or reason
        for annotation_block in _children(summary, "reportAnnotations"):
            for child in annotation_block:
                name = _local(child.tag)
                if name and name not in report.annotations:
                    report.annotations.append(name)
    for details in _children(root, "internetDetails"):
        for node in details.iter():
            if _local(node.tag) in {"url", "webPageUrl", "urlAddress"} and (text := _text(node)):
                report.urls.append(text)
        for incident in details:  # chatImIncident, emailIncident, ...: every detail kept
            for node in incident.iter():
                if node is not incident and (text := _text(node)):
                    report.incident_details.append((_local(incident.tag), _local(node.tag), text))
    for reporter in _children(root, "reporter"):
        report.reporter_company = report.reporter_company or _child_text(reporter, "companyName")
        template = _child_text(reporter, "companyTemplate")
        if report.reporter_company is None and template:
            # Free text that starts with the company's name (then how to serve legal process, ...).
            report.reporter_company = template.splitlines()[0].strip()[:200] or None
    report.reported_persons = [_person(e) for e in _children(root, "personOrUserReported")]
    report.victims = [_person(e) for e in _children(root, "victim")]
    report.files = [_file(e) for e in _children(root, "fileDetails")]
    report.additional_info = _texts(root, "additionalInfo")
    for child in root:
        if _local(child.tag) not in _KNOWN_TOP:
            _collect_unknown(child, "", report)
    return report


def _parse_limited(data: bytes) -> Element:
    """defusedxml iterparse with depth, element-count and text-size limits."""
    depth = 0
    count = 0
    root: Element | None = None
    try:
        for event, element in DET.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                depth += 1
                count += 1
                if root is None:
                    root = element
                if depth > MAX_DEPTH:
                    raise CyberTipError(
                        f"The report XML nests elements deeper than {MAX_DEPTH} levels; it was refused as unsafe."
                    )
                if count > MAX_ELEMENTS:
                    raise CyberTipError(
                        f"The report XML has more than {MAX_ELEMENTS} elements; it was refused as unsafe."
                    )
            else:
                depth -= 1
                if element.text is not None and len(element.text) > MAX_TEXT_CHARS:
                    raise CyberTipError(
                        f"An element of the report XML holds more than {MAX_TEXT_CHARS} characters; "
                        "it was refused as unsafe."
                    )
    except defusedxml.DTDForbidden:
        raise CyberTipError(
            "The report XML declares a DTD, which is refused for safety (it can hide entity expansion "
            "or external references). Ask the sender for the report without a DOCTYPE."
        ) from None
    except defusedxml.EntitiesForbidden:
        raise CyberTipError(
            "The report XML declares entities, which are refused for safety (entity expansion). "
            "Ask the sender for a clean export."
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise CyberTipError(
            "The report XML refers to an external resource, which is refused for safety."
        ) from None
    except defusedxml.NotSupportedError:  # pragma: no cover - defusedxml refuses a feature
        raise CyberTipError("The report XML uses a feature refused for safety.") from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise CyberTipError(
            f"The report XML is not well-formed (line {line}, column {column}); check that the file is complete."
        ) from None
    except RecursionError:  # pragma: no cover - depth is limited above
        raise CyberTipError("The report XML is nested too deeply.") from None
    if root is None:  # pragma: no cover - iterparse raises on empty input
        raise CyberTipError("The report XML is empty.")
    return root


# --------------------------------------------------------------------------- packages


def safe_relative_path(value: str) -> str:
    """A normalised POSIX path inside the package, or ``CyberTipError`` if it would leave it."""
    text = value.replace("\\", "/").strip()
    if not text or "\x00" in text:
        raise CyberTipError("A file path in the package is empty or malformed.")
    path = PurePosixPath(text)
    if path.is_absolute() or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise CyberTipError("A file path in the package is absolute; the package was refused.")
    parts = [p for p in path.parts if p not in ("", ".")]
    if any(p == ".." for p in parts) or not parts:
        raise CyberTipError("A file path in the package leaves the package folder; the package was refused.")
    return "/".join(parts)


class _LimitedReader(io.RawIOBase):
    """Reads at most ``limit`` bytes from ``inner``; more is a ``CyberTipError`` (a lying header)."""

    def __init__(self, inner: IO[bytes], limit: int, name: str) -> None:
        self._inner = inner
        self._limit = limit
        self._seen = 0
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise CyberTipError(
                f"The package's file {self._name!r} is corrupt ({type(exc).__name__}); ask for a new copy."
            ) from None
        self._seen += len(data)
        if self._seen > self._limit:
            raise CyberTipError(
                f"The package's file {self._name!r} is larger than its declared or allowed size; "
                "the package was refused as unsafe."
            )
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


@dataclass
class CyberTipPackage:
    """A parsed package: its report, and access to the files it holds."""

    report: CyberTipReport
    xml_path: str
    members: dict[str, int]  # relative path -> size in bytes (declared for zips)
    max_member_bytes: int
    _root: Path | None = None
    _zip: zipfile.ZipFile | None = None
    _prefix: str = ""

    def __post_init__(self) -> None:
        match_files(self.report.files, self.members)

    def __enter__(self) -> CyberTipPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def has(self, relative_path: str) -> bool:
        return relative_path in self.members

    def open(self, relative_path: str) -> BinaryIO:
        """A binary stream of one file of the package (never more than its allowed size)."""
        relative_path = safe_relative_path(relative_path)
        if relative_path not in self.members:
            raise CyberTipError("The report names a file that is not in the package.")
        limit = min(self.members[relative_path], self.max_member_bytes)
        if self._zip is not None:
            inner: IO[bytes] = self._zip.open(self._prefix + relative_path)
        else:
            assert self._root is not None
            inner = _open_inside(self._root, relative_path)
        return io.BufferedReader(_LimitedReader(inner, limit, relative_path), buffer_size=1 << 16)  # type: ignore[return-value]

    def verify(self, reported: ReportedFile, chunk_size: int = 1 << 20) -> dict[str, bool]:
        """Hash a declared file and compare with each declared hash: ``{hash type: matches}``."""
        if reported.relative_path is None or not reported.declared_hashes:
            return {}
        hashers = {kind: hashlib.new(kind, usedforsecurity=False) for kind in reported.declared_hashes}
        with self.open(reported.relative_path) as stream:
            while chunk := stream.read(chunk_size):
                for hasher in hashers.values():
                    hasher.update(chunk)
        return {kind: hashers[kind].hexdigest() == value for kind, value in reported.declared_hashes.items()}

    def files(self) -> Iterator[tuple[ReportedFile, bool]]:
        """Each declared file, and whether the package holds it."""
        for reported in self.report.files:
            yield reported, reported.relative_path is not None and reported.relative_path in self.members


def _media_names(members: dict[str, int]) -> dict[str, list[str]]:
    """Files under the package's Media/ folder by base name (and by name without extension)."""
    names: dict[str, list[str]] = {}
    for member in sorted(members):
        parts = member.split("/")
        if len(parts) < 2 or not any(p.lower() == "media" for p in parts[:-1]):
            continue
        base = parts[-1]
        for key in dict.fromkeys(
            (base, base.lower(), base.rsplit(".", 1)[0], base.rsplit(".", 1)[0].lower())
        ):
            names.setdefault(key, []).append(member)
    return names


def match_files(files: list[ReportedFile], members: dict[str, int]) -> None:
    """Set each declared file's ``relative_path`` to the package file it is: the Media/ file named by
    its ``fileName`` (exactly, then ignoring letter case), else by its ``fileId``, else the package
    path ``locationOfFile`` names (older exports put one there; a URL or a path leaving the package is
    only data). Each package file is matched at most once."""
    names = _media_names(members)
    taken: set[str] = set()

    def first_free(key: str | None) -> str | None:
        if not key:
            return None
        key = key.replace("\\", "/").rsplit("/", 1)[-1]
        for candidate in (key, key.lower()):
            for member in names.get(candidate, []):
                if member not in taken:
                    return member
        return None

    for reported in files:
        found = first_free(reported.file_name) or first_free(reported.file_id)
        if found is None and reported.location:
            try:
                relative = safe_relative_path(reported.location)
            except CyberTipError:
                relative = None
            if relative in members and relative not in taken:
                found = relative
        reported.relative_path = found
        if found is not None:
            taken.add(found)


def _open_inside(root: Path, relative_path: str) -> IO[bytes]:
    target = root.joinpath(*relative_path.split("/"))
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise CyberTipError("A file of the package lies outside the package folder; it was refused.")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags)
    except OSError:
        raise CyberTipError("A file of the package cannot be opened (missing or a link).") from None
    return os.fdopen(fd, "rb")


def _pick_xml(candidates: list[str]) -> str:
    if not candidates:
        raise CyberTipError(
            "The package holds no report XML; choose the folder (or zip) downloaded from NCMEC's case "
            "management tool."
        )
    if len(candidates) > 1:
        raise CyberTipError(
            f"The package holds {len(candidates)} XML files outside Media/; import one report at a time."
        )
    return candidates[0]


def _is_report_xml(relative: str) -> bool:
    parts = relative.split("/")
    return relative.lower().endswith(".xml") and not any(p.lower() == "media" for p in parts[:-1])


def _from_folder(root: Path, max_member_bytes: int) -> CyberTipPackage:
    members: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in filenames:
            full = base / name
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue  # links and devices are not part of a package
            relative = full.relative_to(root).as_posix()
            members[relative] = info.st_size
            if len(members) > MAX_MEMBERS:
                raise CyberTipError(f"The package holds more than {MAX_MEMBERS} files; it was refused.")
        dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
    xml_path = _pick_xml(sorted(m for m in members if _is_report_xml(m)))
    if members[xml_path] > MAX_XML_BYTES:
        raise CyberTipError(
            f"The report XML is larger than {MAX_XML_BYTES // (1024 * 1024)} MB; it was refused."
        )
    with _open_inside(root, xml_path) as handle:
        data = handle.read(MAX_XML_BYTES + 1)
    report = parse_report_xml(data)
    return CyberTipPackage(report, xml_path, members, max_member_bytes, _root=root)


def _from_zip(path: Path, max_member_bytes: int) -> CyberTipPackage:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CyberTipError(
            f"The zip file cannot be opened ({type(exc).__name__}); ask for a new copy."
        ) from None
    try:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise CyberTipError(f"The package holds more than {MAX_MEMBERS} files; it was refused.")
        names = [safe_relative_path(i.filename) for i in infos]
        # A zip of the folder itself: strip one common top-level directory.
        prefix = ""
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all("/" in n for n in names):
            prefix = next(iter(tops)) + "/"
        members: dict[str, int] = {}
        for info, name in zip(infos, names, strict=True):
            if info.flag_bits & 0x1:
                raise CyberTipError("The zip file is encrypted; ask for an unencrypted copy.")
            if info.file_size > max_member_bytes:
                raise CyberTipError(
                    f"A file in the zip is larger than the allowed {max_member_bytes} bytes; it was refused."
                )
            if info.file_size > (1 << 20) and info.file_size > MAX_COMPRESSION_RATIO * max(
                info.compress_size, 1
            ):
                raise CyberTipError(
                    "A file in the zip is compressed more than any real file would be (a zip bomb); "
                    "the package was refused."
                )
            relative = name[len(prefix) :] if prefix else name
            if relative in members:
                raise CyberTipError("The zip file holds the same path twice; it was refused.")
            members[relative] = info.file_size
        xml_path = _pick_xml(sorted(m for m in members if _is_report_xml(m)))
        if members[xml_path] > MAX_XML_BYTES:
            raise CyberTipError(
                f"The report XML is larger than {MAX_XML_BYTES // (1024 * 1024)} MB; it was refused."
            )
        limited = _LimitedReader(archive.open(prefix + xml_path), members[xml_path], xml_path)
        with io.BufferedReader(limited) as stream:
            data = stream.read(MAX_XML_BYTES + 1)
        report = parse_report_xml(data)
        return CyberTipPackage(report, xml_path, members, max_member_bytes, _zip=archive, _prefix=prefix)
    except BaseException:
        archive.close()
        raise


def parse_package(
    path: str | os.PathLike[str], *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> CyberTipPackage:
    """Read a CyberTipline package (a folder, a zip of one, or a lone report XML).

    Use the result as a context manager (it may hold a zip open). Raises
    ``CyberTipError`` for anything unsafe or unreadable; nothing is written anywhere.
    """
    source = Path(path)
    if source.is_dir():
        return _from_folder(source, max_member_bytes)
    if not source.is_file():
        raise CyberTipError("The package path is neither a folder nor a file; check the path.")
    with open(source, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        return _from_zip(source, max_member_bytes)
    if source.suffix.lower() == ".xml":
        size = source.stat().st_size
        if size > MAX_XML_BYTES:
            raise CyberTipError(
                f"The report XML is larger than {MAX_XML_BYTES // (1024 * 1024)} MB; it was refused."
            )
        with open(source, "rb") as handle:
            data = handle.read(MAX_XML_BYTES + 1)
        return CyberTipPackage(parse_report_xml(data), source.name, {}, max_member_bytes, _root=source.parent)
    raise CyberTipError("The file is neither a zip nor an XML report; choose the package NCMEC delivered.")
