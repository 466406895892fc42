from enum import StrEnum


class CasePermission(StrEnum):
    LIST = "cases:case:list"
    CREATE = "cases:case:create"
    READ = "cases:case:read"
    WRITE = "cases:case:write"
    TRANSITION = "cases:case:transition"
    READ_IDENTITY = "cases:person:read_identity"
    REFER = "cases:referral:create"
    DECIDE_REFERRAL = "cases:referral:decide"
    REASSIGN = "cases:case:reassign"
    SET_PRIORITY = "cases:case:set_priority"
    RECORD_CONSENT = "cases:consent:create"


class CaseAudit(StrEnum):
    CREATE = "cases:case:create"
    VIEW = "cases:case:view"
    VIEW_IDENTITY = "cases:person:view_identity"
    UPDATE = "cases:case:update"
    TRANSITION = "cases:case:transition"
    ASSIGN = "cases:case:assign"
    PERSON_ADD = "cases:person:create"
    PERSON_UPDATE = "cases:person:update"
    NOTE_ADD = "cases:note:create"
    REFERRAL_CREATE = "cases:referral:create"
    REFERRAL_ACCEPT = "cases:referral:accept"
    REFERRAL_DECLINE = "cases:referral:decline"
    REFERRAL_REVOKE = "cases:referral:revoke"
    LIST = "cases:case:list"
    PRIORITY_CHANGE = "cases:case:set_priority"
    CONSENT_RECORD = "cases:consent:create"
    REFERRAL_LIST = "cases:referral:list"


# --- Justice, interviews, preservation requests, relations and the dossier ---


class JusticePermission(StrEnum):
    # Investigation steps (investigators; prosecutors direct investigations) and prosecution/court steps
    # (prosecutors and court officers): amparo.cases.justice.INVESTIGATION_KINDS / COURT_KINDS.
    RECORD_INVESTIGATION_EVENT = "cases:justice_event:create_investigation"
    RECORD_COURT_EVENT = "cases:justice_event:create_court"
    RECORD_INTERVIEW = "cases:interview:create"
    REQUEST_PRESERVATION = "cases:preservation:create"
    ANSWER_PRESERVATION = "cases:preservation:answer"
    LIST_PRESERVATION = "cases:preservation:list"
    LINK_CASES = "cases:relation:create"
    MERGE_CASES = "cases:case:merge"
    EXPORT_DOSSIER = "cases:case:export_dossier"


class JusticeAudit(StrEnum):
    JUSTICE_EVENT_CREATE = "cases:justice_event:create"
    INTERVIEW_CREATE = "cases:interview:create"
    PRESERVATION_CREATE = "cases:preservation:create"
    PRESERVATION_SEND = "cases:preservation:send"
    PRESERVATION_ANSWER = "cases:preservation:answer"
    PRESERVATION_REMIND = "cases:preservation:remind"
    PRESERVATION_EXPIRE = "cases:preservation:expire"
    PRESERVATION_LETTER = "cases:preservation:download_letter"
    PRESERVATION_VIEW_IDENTIFIERS = "cases:preservation:view_identifiers"
    PRESERVATION_LIST = "cases:preservation:list"
    PROVIDER_CREATE = "cases:service_provider:create"
    PROVIDER_UPDATE = "cases:service_provider:update"
    RELATION_CREATE = "cases:relation:create"
    RELATION_REMOVE = "cases:relation:remove"
    CASE_MERGE = "cases:case:merge"
    CASE_MERGE_RECEIVE = "cases:case:merge_receive"
    CASE_UNMERGE = "cases:case:unmerge"
    CASE_UNMERGE_RELEASE = "cases:case:unmerge_release"
    DOSSIER_EXPORT = "cases:case:export_dossier"


# --- The service directory, service referrals and the victim rights package ---


class ServicePermission(StrEnum):
    LIST_DIRECTORY = "cases:service:list"
    MANAGE_DIRECTORY = "cases:service:manage"
    REFER = "cases:service_referral:create"
    RECORD_OUTCOME = "cases:service_referral:record_outcome"


class ServiceAudit(StrEnum):
    SERVICE_CREATE = "cases:service:create"
    SERVICE_UPDATE = "cases:service:update"
    REFERRAL_CREATE = "cases:service_referral:create"
    OUTCOME_RECORD = "cases:service_referral:record_outcome"


class RightsPermission(StrEnum):
    RECORD_DELIVERY = "cases:rights_delivery:create"
    EXPORT_PACKAGE = "cases:rights_package:export"
    SEND_SMS = "cases:rights_package:send_sms"


class RightsAudit(StrEnum):
    DELIVERY_CREATE = "cases:rights_delivery:create"
    PACKAGE_EXPORT = "cases:rights_package:export"
    PACKAGE_VIEW = "cases:rights_package:view"  # the reporter's web page, opened with the receipt
