"""The service directory seen from a place: the nearest services to a district, and the timeline entries
of a case's service referrals.

`nearest_services` is what the rights package, the SMS and USSD channels and the case page use to say
where a child or family can go: services of the district first, then of its province (province-wide
ones before other districts'), then national ones. Only active services; demo entries only in demo mode
(`AMPARO_DEMO=1`), and never outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from amparo.cases.models import Case, Service, ServiceOutcome, ShareableField
from amparo.cases.timeline import Entry
from amparo.core.models import District, Province


def directory() -> QuerySet[Service]:
    """Active services that may be shown here (demo entries only in demo mode)."""
    qs = Service.objects.filter(active=True).select_related("province", "district", "agency")
    if not settings.DEMO:
        qs = qs.filter(is_demo=False)
    return qs


def nearest_services(
    district: District | str | None,
    kinds: Iterable[str] | None = None,
    limit: int = 3,
    *,
    province: Province | str | None = None,
) -> list[Service]:
    """Up to `limit` services for someone in `district` (or only `province` when the district is not
    known): the district's, then the province's, then national ones; by kind and name within each tier."""
    if isinstance(district, str):
        district = District.objects.filter(pk=district).first()
    province_id = district.province_id if district is not None else None
    if province_id is None and province is not None:
        province_id = province.pk if isinstance(province, Province) else province
    qs = directory()
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    found: list[Service] = []
    seen: set[Any] = set()

    def take(rows: Iterable[Service]) -> bool:
        for service in rows:
            if service.pk in seen:
                continue
            seen.add(service.pk)
            found.append(service)
            if len(found) >= limit:
                return True
        return False

    if limit <= 0:
        return []
    tiers: list[QuerySet[Service]] = []
    if district is not None:
        tiers.append(qs.filter(district=district))
    if province_id is not None:
        tiers.append(qs.filter(province_id=province_id, district__isnull=True, is_national=False))
        others = qs.filter(province_id=province_id, district__isnull=False)
        if district is not None:
            others = others.exclude(district=district)
        tiers.append(others.order_by("-district__is_capital", "district__code", "kind", "name"))
    tiers.append(qs.filter(is_national=True))
    for tier in tiers:
        if take(tier[: limit * 2]):
            break
    return found


def service_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    """Timeline source: service referrals and their outcomes (only with the case's services section).
    Reasons and outcome notes are free text, so they are marked identifying."""
    if ShareableField.SERVICES not in sections:
        return
    for referral in case.service_referrals.select_related("service", "referred_by"):
        yield Entry(
            at=referral.referred_at,
            kind="service-referral",
            title=_("Referred to a service: %(service)s (%(kind)s).")
            % {"service": referral.service.name, "kind": referral.service.get_kind_display()},
            detail=referral.reason,
            actor=referral.referred_by.get_username() if referral.referred_by else _("System"),
            identifying=True,
        )
        if referral.outcome_at is not None and referral.outcome != ServiceOutcome.PENDING:
            yield Entry(
                at=referral.outcome_at,
                kind="service-outcome",
                title=_("Outcome of the referral to %(service)s: %(outcome)s.")
                % {"service": referral.service.name, "outcome": referral.get_outcome_display()},
                detail=referral.outcome_note,
                identifying=True,
            )
