"""Computed indicator values (snapshots), the DHIS2 mapping and what DHIS2 answered to each push."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["Dhis2DataElement", "Dhis2OrgUnit", "Dhis2Push", "IndicatorSnapshot"]


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


class Dhis2Push(models.Model):
    """One push of a period to DHIS2 and DHIS2's import summary: its counts and every conflict (the data
    element, period or org unit it names, DHIS2's message). Aggregate figures only, never case data."""

    class Outcome(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        PARTIAL = "partial", _("Partly imported")
        FAILED = "failed", _("Failed")

    period = models.CharField(_("period"), max_length=8)
    at = models.DateTimeField(_("sent"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    import_status = models.CharField(_("DHIS2 status"), max_length=10, blank=True)
    sent = models.PositiveIntegerField(_("data values sent"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    ignored = models.PositiveIntegerField(_("ignored"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    conflicts = models.JSONField(_("conflicts"), default=list, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("DHIS2 push")
        verbose_name_plural = _("DHIS2 pushes")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.period} {self.outcome}"
