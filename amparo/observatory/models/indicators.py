"""Computed indicator values (snapshots) and the DHIS2 mapping."""

__all__: list[str] = []
