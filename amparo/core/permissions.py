"""Permissions of the core app, named `scope:resource:action`. Other apps declare their own enums."""

from enum import StrEnum


class CorePermission(StrEnum):
    USER_MANAGE = "core:user:manage"
    AGENCY_MANAGE = "core:agency:manage"
    CONFIG_MANAGE = "core:config:manage"
    AUDIT_READ = "core:audit:read"
    AGGREGATE_READ = "core:aggregate:read"
