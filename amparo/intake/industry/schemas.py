"""Request and response shapes of the industry API, published in /api/industry/v1/openapi.json.

A report is modelled on the CyberTipline report (incident type, time, URLs, reported users with IP
events, files as hashes, description). Codes are validated against their lists on the way in and
returned as plain strings on the way out. Nothing in a response identifies anyone beyond what the
organisation itself sent or a request names.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field, model_validator

from amparo.cases.taxonomy import Platform

# NCMEC's incident types as codes, and the OCSEA forms each maps to (amparo.cases.taxonomy.Form).
INCIDENT_TYPES: dict[str, list[str]] = {
    "child_sexual_abuse_material": ["csam_possession", "csam_distribution"],
    "child_sex_trafficking": ["trafficking"],
    "child_sex_tourism": ["trafficking"],
    "child_sexual_molestation": ["other"],
    "online_enticement": ["grooming"],
    "unsolicited_obscene_material_to_child": ["unwanted_exposure"],
    "misleading_domain_name": ["unwanted_exposure"],
    "misleading_words_or_images": ["unwanted_exposure"],
}
# Report annotations: the form each adds, and whether it raises the priority (as in amparo.lib.cybertip).
ANNOTATIONS: dict[str, tuple[list[str], bool]] = {
    "sextortion": (["sextortion"], True),
    "csam_solicitation": (["offer_for_images"], False),
    "live_streaming": (["live_streaming"], False),
    "possible_trafficking": (["trafficking"], True),
    "sadistic_online_exploitation": ([], True),
    "physical_threat": ([], True),
}

IncidentType = Literal[tuple(INCIDENT_TYPES)]  # type: ignore[valid-type]
Annotation = Literal[tuple(ANNOTATIONS)]  # type: ignore[valid-type]
PlatformCode = Literal[tuple(Platform.values)]  # type: ignore[valid-type]


def _storable(value: str) -> str:
    """Text the database can store: valid UTF-8 (no lone surrogates), no NUL or other control characters
    except line breaks and tabs."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogate characters)") from None
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("text must not contain control characters")
    return value


def _plain_id(value: str) -> str:
    if not value or not all(ch.isascii() and (ch.isalnum() or ch in "-_.:") for ch in value):
        raise ValueError("use letters, digits and - _ . : only")
    return value


def _hex(length: int):  # noqa: ANN202
    def check(value: str) -> str:
        value = value.lower()
        if len(value) != length or any(ch not in "0123456789abcdef" for ch in value):
            raise ValueError(f"must be {length} hexadecimal digits")
        return value

    return AfterValidator(check)


Text = Annotated[str, AfterValidator(_storable)]
PlainId = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_plain_id)]


class IpEventIn(Schema):
    ip: Annotated[str, Field(max_length=64, description="IPv4 or IPv6 address")] = ""
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    event: Annotated[Text, Field(max_length=50, description="e.g. login, upload, registration")] = ""
    at: dt.datetime | None = None


class ReportedUserIn(Schema):
    """A user of the organisation's service who appears to have committed the offence."""

    screen_name: Annotated[Text, Field(max_length=200)] = ""
    display_name: Annotated[Text, Field(max_length=200)] = ""
    email: Annotated[Text, Field(max_length=254)] = ""
    phone: Annotated[Text, Field(max_length=40)] = ""
    esp_identifier: Annotated[
        Text, Field(max_length=200, description="the user's id at the organisation")
    ] = ""
    profile_url: Annotated[Text, Field(max_length=2000)] = ""
    ip_events: Annotated[list[IpEventIn], Field(max_length=50)] = []


class DeclaredFileIn(Schema):
    """A file of the report, given by its hashes (at least one). Upload the bytes separately if allowed."""

    file_id: Annotated[Text, Field(max_length=100)] = ""
    md5: Annotated[str, _hex(32)] | None = None
    sha1: Annotated[str, _hex(40)] | None = None
    sha256: Annotated[str, _hex(64)] | None = None
    industry_classification: Annotated[Text, Field(max_length=20, description="e.g. A1, B2")] = ""

    @model_validator(mode="after")
    def _one_hash(self) -> DeclaredFileIn:
        if not (self.md5 or self.sha1 or self.sha256):
            raise ValueError("give at least one of md5, sha1, sha256")
        return self


class LocationIn(Schema):
    country: Annotated[Text, Field(max_length=60)] = ""
    region: Annotated[Text, Field(max_length=100)] = ""
    city: Annotated[Text, Field(max_length=100)] = ""


class ReportIn(Schema):
    submission_id: PlainId = Field(
        description="Your own id for this report; sending it again returns the first answer."
    )
    incident_type: IncidentType
    incident_at: dt.datetime | None = None
    escalate: bool = Field(False, description="A child appears to be in immediate danger.")
    annotations: Annotated[list[Annotation], Field(max_length=10)] = []
    platform: PlatformCode | None = None
    urls: Annotated[list[Annotated[Text, Field(max_length=2000)]], Field(max_length=50)] = []
    reported_users: Annotated[list[ReportedUserIn], Field(max_length=20)] = []
    victim_age: Annotated[int, Field(ge=0, le=17)] | None = None
    estimated_location: LocationIn | None = None
    files: Annotated[list[DeclaredFileIn], Field(max_length=100)] = []
    description: Annotated[Text, Field(max_length=5000)] = ""


SubmissionStatus = Literal["received", "in_progress", "closed"]


class SubmissionOut(Schema):
    submission_id: str
    reference: str = Field(description="Amparo's reference of the case the report opened.")
    status: SubmissionStatus
    submitted_at: dt.datetime
    files_declared: int
    files_uploaded: int


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    count: int


class FileOut(Schema):
    submission_id: str
    sha256: str
    size: int


class PreservationOut(Schema):
    id: uuid.UUID
    number: str
    kind: Literal["preservation", "disclosure"]
    identifiers: list[str]
    date_from: dt.date
    date_to: dt.date
    legal_basis: str
    status: str
    sent_at: dt.datetime | None
    deadline: dt.date | None


class PreservationAnswerIn(Schema):
    status: Literal["acknowledged", "fulfilled", "partial", "refused"]
    note: Annotated[Text, Field(max_length=2000)] = ""


class TakedownOut(Schema):
    id: uuid.UUID
    url: str
    platform: str
    requested_at: dt.datetime
    status: Literal["sent", "removed", "refused", "not_found", "withdrawn"]
    removed_at: dt.datetime | None
    time_to_removal_seconds: int | None


class TakedownAnswerIn(Schema):
    status: Literal["removed", "refused", "not_found"]
    note: Annotated[Text, Field(max_length=2000)] = ""


class OrganisationOut(Schema):
    code: str
    name: str
    kind: str
    scopes: list[str] = Field(description="What the key in use may do.")
    key_prefix: str
    key_expires_at: dt.datetime | None
