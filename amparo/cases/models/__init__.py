"""The case models, one module per area of case work (import from here, not from the modules).

- records: the case, its people, notes, status transitions and inter-agency referrals
- casework: consent, relations and merges between cases, time limits
- services: the service directory and service referrals
- justice: justice events, child interviews, preservation and disclosure requests
- rights: delivery of the victim rights information package
"""

from amparo.cases.models.casework import (
    CaseRelation,
    ConsentAnswer,
    ConsentRecord,
    LegalBasis,
    RelationReason,
    ShareableField,
)
from amparo.cases.models.justice import (
    Interview,
    JusticeEvent,
    JusticeEventKind,
    PreservationKind,
    PreservationRequest,
    PreservationStatus,
    ProviderKind,
    ServiceProvider,
    Verdict,
)
from amparo.cases.models.records import (
    DISCLOSURE_CODES,
    FORM_CODES,
    IDENTIFYING_CASE_FIELDS,
    IDENTIFYING_PERSON_FIELDS,
    PLATFORM_CODES,
    PRIORITY_ORDER,
    Case,
    CaseForm,
    CaseNote,
    CasePlatform,
    Channel,
    DatePrecision,
    Person,
    PersonRole,
    Priority,
    Referral,
    ReferralStatus,
    SyncedModel,
    Transition,
    default_origin,
    new_reference,
)
from amparo.cases.models.rights import DeliveryMethod, RightsAudience, RightsDelivery
from amparo.cases.models.services import Service, ServiceKind, ServiceOutcome, ServiceReferral

__all__ = [
    "DISCLOSURE_CODES",
    "FORM_CODES",
    "IDENTIFYING_CASE_FIELDS",
    "IDENTIFYING_PERSON_FIELDS",
    "PLATFORM_CODES",
    "PRIORITY_ORDER",
    "Case",
    "CaseForm",
    "CaseNote",
    "CasePlatform",
    "CaseRelation",
    "Channel",
    "ConsentAnswer",
    "ConsentRecord",
    "DatePrecision",
    "DeliveryMethod",
    "Interview",
    "JusticeEvent",
    "JusticeEventKind",
    "LegalBasis",
    "Person",
    "PersonRole",
    "PreservationKind",
    "PreservationRequest",
    "PreservationStatus",
    "Priority",
    "ProviderKind",
    "Referral",
    "ReferralStatus",
    "RelationReason",
    "RightsAudience",
    "RightsDelivery",
    "Service",
    "ServiceKind",
    "ServiceOutcome",
    "ServiceProvider",
    "ServiceReferral",
    "ShareableField",
    "SyncedModel",
    "Transition",
    "Verdict",
    "default_origin",
    "new_reference",
]
