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
