"""Computed indicator values (snapshots) and the DHIS2 mapping."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Dhis2DataElement", "Dhis2OrgUnit", "IndicatorSnapshot"]


class IndicatorSnapshot(models.Model):
    """A published (already protected) indicator view, refreshed by the background task.

    ``data`` holds only what may be published: suppressed cells are stored as their marker, never
    their count, so that the snapshot table holds no small number either.
    """

    code = models.CharField(_("indicator"), max_length=64)
    period = models.CharField(_("period"), max_length=8)
    by = models.CharField(_("disaggregation"), max_length=64, blank=True)
    agency_code = models.CharField(_("agency"), max_length=40, blank=True)
    indicator_version = models.CharField(_("indicator version"), max_length=16)
    data = models.JSONField(_("published values"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("indicator snapshot")
        verbose_name_plural = _("indicator snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "period", "by", "agency_code"], name="unique_indicator_snapshot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.period} {self.by or 'total'}"


class Dhis2DataElement(models.Model):
    """Where one indicator value goes in DHIS2: an indicator and one category of one disaggregation
    (or the total: both blank) map to a data element and a category option combo."""

    indicator = models.CharField(_("indicator"), max_length=64)
    dimension = models.CharField(_("disaggregation"), max_length=32, blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    data_element = models.CharField(_("DHIS2 data element"), max_length=11)
    category_option_combo = models.CharField(_("DHIS2 category option combo"), max_length=11, blank=True)

    class Meta:
        verbose_name = _("DHIS2 data element mapping")
        verbose_name_plural = _("DHIS2 data element mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "dimension", "category"], name="unique_dhis2_data_element_mapping"
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator}/{self.dimension}/{self.category} -> {self.data_element}"


class Dhis2OrgUnit(models.Model):
    """A place of ours (the country "MZ", a province or a district P-code) and its DHIS2 org unit."""

    area = models.CharField(_("area code"), max_length=8, unique=True)
    org_unit = models.CharField(_("DHIS2 organisation unit"), max_length=11)

    class Meta:
        verbose_name = _("DHIS2 organisation unit mapping")
        verbose_name_plural = _("DHIS2 organisation unit mappings")

    def __str__(self) -> str:
        return f"{self.area} -> {self.org_unit}"
