"""Shared set-up for the justice tests (justice events, interviews, preservation requests, the dossier):
a SERNIC case in Maputo city with a named child, and referrals that share chosen sections."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.db.models import Max
from django.utils import timezone
from pypdf import PdfReader

from amparo.cases import actions
from amparo.cases.models import Case, Referral
from amparo.cases.tests.fixtures import given_consent
from amparo.conftest import SYSTEM
from amparo.core.models import Agency, AuditEntry, District

CHILD = "Quitéria Sintética"
CHILD_PHONE = "+258 84 555 0101"
NARRATIVE = "Relato inventado: um adulto pediu fotografias por mensagem."
OWNER = "sernic"
MAPUTO_CITY = "MZ0601"


def new_case(narrative: str = NARRATIVE, agency: str = OWNER) -> Case:
    case = actions.create_case(
        SYSTEM,
        channel="helpline",
        owning_agency=Agency.objects.get(code=agency),
        district=District.objects.get(pk=MAPUTO_CITY),
        narrative=narrative,
        forms=("grooming",),
        platforms=("whatsapp",),
    )
    actions.add_person(SYSTEM, case, role="victim", name=CHILD, phone=CHILD_PHONE, age=13, sex="female")
    return case


def share(case: Case, to_agency: str, sections: Iterable[str], decider: Any) -> Referral:
    """Refer `case` to `to_agency` sharing `sections`; `decider` (a user of that agency) accepts."""
    referral = actions.refer_case(
        SYSTEM,
        case,
        Agency.objects.get(code=to_agency),
        reason="Synthetic referral for tests.",
        consent=given_consent(case),
        shared_fields=list(sections),
    )
    return actions.decide_referral(decider, referral, accept=True)


def ago(**delta: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def mark() -> int:
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


def entries_since(start: int, *, prefix: str = "") -> list[AuditEntry]:
    """Audit entries after `start`, oldest first (only actions starting with `prefix`)."""
    qs = AuditEntry.objects.filter(id__gt=start, action__startswith=prefix).order_by("id")
    return list(qs)


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page of a PDF (pypdf, the extractor installed in .venv)."""
    assert content.startswith(b"%PDF-")
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def flat(text: str) -> str:
    """Text with runs of white space made single spaces (PDF line breaks fall anywhere)."""
    return " ".join(text.split())
