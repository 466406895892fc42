"""Permission and audit names of the industry API and its organisations, shaped `scope:resource:action`.

An organisation's own rights are the scopes of its API key (amparo.intake.models.IndustryScope); these
names are for the staff side (managing organisations and keys) and for the audit trail."""

from enum import StrEnum


class IndustryPermission(StrEnum):
    MANAGE = "intake:industry_organisation:manage"  # create organisations and their API keys


class IndustryAudit(StrEnum):
    ORGANISATION_CREATE = "intake:industry_organisation:create"
    ORGANISATION_UPDATE = "intake:industry_organisation:update"
    KEY_CREATE = "intake:industry_api_key:create"
    KEY_REVOKE = "intake:industry_api_key:revoke"
    REPORT_SUBMIT = "intake:industry_report:create"
    REPORT_FILE = "intake:industry_report:file_upload"
    SUBMISSIONS_READ = "intake:industry_report:list"
    PRESERVATION_READ = "intake:preservation_request:industry_read"
    TAKEDOWN_READ = "intake:takedown_notice:industry_read"
