"""Permissions and audit names of the intake app's reports, receipts and staff intake pages,
shaped `scope:resource:action`. (The channels' own names live with the channels code.)"""

from enum import StrEnum


class IntakePermission(StrEnum):
    HELPLINE_RECORD = "intake:helpline:record"  # the helpline console
    DESK_RECORD = "intake:desk:record"  # an agency's walk-in desk
    TRIAGE = "intake:triage:use"  # the agency's queue of new reports (object: a case, or None for the page)
    MESSAGE_REPORTER = "intake:reporter_message:send"  # object: the case
    CYBERTIP_IMPORT = "intake:cybertip:import"  # import NCMEC CyberTipline packages (receiving agency)


class IntakeAudit(StrEnum):
    REPORT_CREATE = "intake:report:create"
    RECEIPT_REPLACE = "intake:receipt:replace"  # a read-aloud receipt replaced on first use
    STATUS_VIEW = "intake:report:status_view"  # a reporter looked their report up with the receipt
    REPORTER_REPLY = "intake:reporter_message:reply"
    STAFF_MESSAGE = "intake:reporter_message:send"
    MESSAGES_READ = "intake:reporter_message:read"  # staff read the reporter's replies
    ATTACHMENT_ADD = "intake:attachment:create"
    TRIAGE_LIST = "intake:triage:list"
    CASE_LINK = "intake:case_link:create"
    CASE_UNLINK = "intake:case_link:undo"
    CYBERTIP_IMPORT = "intake:cybertip:import"
    CYBERTIP_INTEGRITY_ALARM = "intake:cybertip:integrity_alarm"  # a declared hash did not match
