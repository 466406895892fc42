"""Request and response shapes of the staff API (amparo.cases.api), published in /api/v1/openapi.json.

Codes (statuses, priorities, sections…) are validated against the enums on the way in and returned as
plain strings on the way out. A field the caller may not see is null, never absent, and the case says
which sections it may see (`visible_sections`) and whether identifying fields are shown to it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from amparo.cases.models import ConsentAnswer, LegalBasis, Priority, ShareableField
from amparo.cases.workflow import Outcome, Status

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def _storable(value: str) -> str:
    """Text that the database can store: valid UTF-8 (no lone surrogates) without NUL characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogate characters)") from None
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value


Text = Annotated[str, AfterValidator(_storable)]
# The schema says "at least one character that is not a space" too, so that clients and generated tests
# know it; the validator gives the clearer message.
RequiredText = Annotated[
    str,
    AfterValidator(_storable),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"minLength": 1, "pattern": r"\S"}),
]


# --- reading -----------------------------------------------------------------------------------


class AgencyOut(Schema):
    code: str
    name: str
    short_name: str
    kind: str


class ScopeOut(Schema):
    level: str = Field(description="national, province or district (empty: no case access)")
    province: str | None = Field(description="P-code of the province, e.g. MZ07")
    district: str | None = Field(description="P-code of the district, e.g. MZ0702")


class MeOut(Schema):
    username: str
    agency: str
    roles: list[str]
    scope: ScopeOut
    works_on_cases: bool = Field(description="Whether this account may use the case endpoints.")
    token_prefix: str
    token_expires_at: dt.datetime


class CaseSummaryOut(Schema):
    """The non-identifying facts of a case, visible to every agency that holds it."""

    reference: str
    status: str
    outcome: str | None
    priority: str
    channel: str
    mode: str
    owning_agency: str
    assigned_to: str | None = Field(description="Username of the staff member working on the case.")
    province: str | None
    district: str | None
    received_at: dt.datetime
    updated_at: dt.datetime
    incident_date: dt.date | None
    forms: list[str]
    platforms: list[str]
    risk_flags: list[str]


class CasePageOut(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")
    items: list[CaseSummaryOut]


class PersonOut(Schema):
    id: uuid.UUID
    role: str
    age: int | None
    age_band: str
    sex: str
    relationship: str
    identity_visible: bool = Field(
        description="False when the person's section was not shared with you or your role may not see identities."
    )
    name: str | None
    phone: str | None
    address: str | None


class TransitionOut(Schema):
    at: dt.datetime
    from_status: str
    to_status: str
    outcome: str | None
    actor: str | None
    reason: str | None


class NoteOut(Schema):
    id: uuid.UUID
    created_at: dt.datetime
    author: str | None
    text: str | None


class ConsentOut(Schema):
    id: uuid.UUID = Field(description="Give it as consent_id to refer the case again under this record.")
    child_consent: str
    caregiver_consent: str
    legal_basis: str | None
    recorded_at: dt.datetime
    permits_sharing: bool = Field(
        description="Whether the record allows a referral: both consented, or a justified legal basis."
    )


class ReferralOut(Schema):
    id: uuid.UUID
    case_reference: str
    from_agency: str
    to_agency: str
    status: str
    urgency: str
    shared_fields: list[str]
    created_at: dt.datetime
    respond_by: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str | None
    decision_reason: str | None
    consent: ConsentOut | None


class ReferralPageOut(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[ReferralOut]


class CaseOut(CaseSummaryOut):
    visible_sections: list[str] = Field(description="The sections of the case you may see.")
    identity_visible: bool = Field(description="Whether your role may see identifying fields at all.")
    narrative: str | None
    persons: list[PersonOut]
    transitions: list[TransitionOut]
    notes: list[NoteOut] | None = Field(description="null when notes were not shared with you.")
    referrals: list[ReferralOut]
    consents: list[ConsentOut] | None = Field(
        description="The case's consent records; null unless you may refer the case (its owning agency)."
    )


# --- writing -----------------------------------------------------------------------------------


class StatusChangeIn(Schema):
    to_status: Status
    reason: RequiredText = Field(max_length=2000)
    outcome: Outcome | None = Field(None, description="Required when closing a case, forbidden otherwise.")


class NoteIn(Schema):
    text: RequiredText = Field(max_length=20000)


class ConsentIn(Schema):
    purpose: RequiredText = Field(max_length=200)
    child_consent: ConsentAnswer
    caregiver_consent: ConsentAnswer
    legal_basis: LegalBasis = Field(
        LegalBasis.NONE, description="Grounds to share without consent; needs a justification."
    )
    justification: Text = Field("", max_length=5000)


class ReferralIn(Schema):
    # Exactly one of consent and consent_id (said in the schema too, for clients and generated tests).
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["consent"]}, {"required": ["consent_id"]}]}
    )

    to_agency: str = Field(pattern=r"^[a-z0-9-]{1,40}$", description="Code of the receiving agency.")
    reason: RequiredText = Field(max_length=5000)
    urgency: Priority = Priority.NORMAL
    shared_fields: list[ShareableField] = Field(
        default_factory=list,
        max_length=len(ShareableField.values),
        description="Sections the receiving agency may see beyond the non-identifying facts.",
    )
    # Null is not offered in the schema (give the other field instead), though it is read as absent.
    consent: ConsentIn | SkipJsonSchema[None] = Field(
        None,
        description="A new consent record (or legal basis) made with the referral. Give this or consent_id.",
    )
    consent_id: uuid.UUID | SkipJsonSchema[None] = Field(
        None,
        description="An existing consent record of the case (`consents` of the case). Give this or consent.",
    )

    @model_validator(mode="after")
    def _one_consent(self) -> ReferralIn:
        if (self.consent is None) == (self.consent_id is None):
            raise ValueError(
                "give either consent (a new consent record or legal basis) or consent_id (an existing one)"
            )
        return self


class DecisionIn(Schema):
    accept: bool
    reason: Text = Field("", max_length=5000, description="Required when declining.")


class RevokeIn(Schema):
    reason: Text = Field("", max_length=5000)
