"""Permissions and audit names of the observatory, shaped `scope:resource:action`."""

from enum import StrEnum


class ObservatoryPermission(StrEnum):
    # Statistics for the whole country (national coordinator, national analyst).
    VIEW_NATIONAL = "observatory:indicator:view_national"
    # Statistics limited to one agency's cases (obj: the Agency); supervisors see their own agency.
    VIEW_AGENCY = "observatory:indicator:view_agency"
    # CSV/JSON exports of indicator views (obj: the Agency, or None for the whole country).
    EXPORT = "observatory:indicator:export"
    # Load the DHIS2 mapping and send data to DHIS2.
    DHIS2_MANAGE = "observatory:dhis2:manage"
    # Refresh the indicator snapshots on demand (national coordinators).
    REFRESH = "observatory:snapshot:refresh"


class ObservatoryAudit(StrEnum):
    SNAPSHOT_REFRESH = "observatory:snapshot:refresh"
    SNAPSHOT_REFRESH_REQUEST = "observatory:snapshot:request_refresh"
    EXPORT = "observatory:indicator:export"
    DHIS2_MAPPING_LOAD = "observatory:dhis2_mapping:load"
    DHIS2_EXPORT = "observatory:dhis2:export"
    DHIS2_PUSH = "observatory:dhis2:push"
    # DHIS2 took part of the data: its summary said WARNING (the counts and conflicts are on the Dhis2Push).
    DHIS2_PUSH_PARTIAL = "observatory:dhis2:push_partial"
    DHIS2_PUSH_FAILED = "observatory:dhis2:push_failed"
