"""Permission and audit names of the evidence app, shaped `scope:resource:action`."""

from enum import StrEnum


class EvidencePermission(StrEnum):
    READ = "evidence:item:read"  # see that an item exists, its hashes, matches and custody
    ADD = "evidence:item:add"  # store a file into a case's vault
    REVEAL = "evidence:item:reveal"  # blurred preview, then the full item with a fresh TOTP code
    CUSTODY = "evidence:item:custody"  # legal hold, release, share, destroy
    EXPORT_HASHES = "evidence:hashes:export"  # a case's hashes (never its files) for cooperation
    HASHLIST_MANAGE = "evidence:hashlist:manage"  # import hash lists


class EvidenceAudit(StrEnum):
    ITEM_RECEIVE = "evidence:item:receive"
    ITEM_HASH = "evidence:item:hash"
    ITEM_MATCH = "evidence:item:match"
    ITEM_VIEW = "evidence:item:view"
    ITEM_LIST = "evidence:item:list"
    ITEM_PREVIEW = "evidence:item:preview"
    ITEM_REVEAL = "evidence:item:reveal"
    ITEM_REVEAL_REFUSED = "evidence:item:reveal_refused"
    ITEM_DOWNLOAD = "evidence:item:download"
    ITEM_EXPORT = "evidence:item:export"
    ITEM_SHARE = "evidence:item:share"
    ITEM_HOLD = "evidence:item:hold"
    ITEM_RELEASE = "evidence:item:release"
    ITEM_DESTROY = "evidence:item:destroy"
    ITEM_INTEGRITY_ALARM = "evidence:item:integrity_alarm"
    CUSTODY_REPORT = "evidence:custody:report"
    LINK_PROPOSE = "evidence:link:propose"
    HASHLIST_IMPORT = "evidence:hashlist:import"
    HASHES_EXPORT = "evidence:hashes:export"
    KEYS_REWRAP = "evidence:keys:rewrap"


class TakedownPermission(StrEnum):
    NOTICE_MANAGE = "evidence:takedown:manage"  # send or withdraw takedown notices for a case's URLs
    BLOCKLIST_MANAGE = "evidence:blocklist:manage"  # add to or remove from the national URL block list


class TakedownAudit(StrEnum):
    NOTICE_CREATE = "evidence:takedown:create"
    NOTICE_WITHDRAW = "evidence:takedown:withdraw"
    NOTICE_ANSWER = "evidence:takedown:answer"  # the organisation confirmed removal, refused or found nothing
    NOTICE_LIST = "evidence:takedown:list"
    BLOCKLIST_ADD = "evidence:blocked_url:create"
    BLOCKLIST_REMOVE = "evidence:blocked_url:remove"
    BLOCKLIST_DOWNLOAD = "evidence:blocklist:download"
