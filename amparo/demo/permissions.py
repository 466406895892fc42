from enum import StrEnum


class DemoAudit(StrEnum):
    AGENCY_CREATE = "demo:agency:create"
