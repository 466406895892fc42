"""The cases app's own timeline source (amparo.cases.timeline): reception, status changes, notes, referrals
with their decisions and revocations, and consent records.

What an agency holding the case through a referral sees: the non-identifying steps (reception, status
changes, its own referrals), and beyond them only what its referrals shared: free-text reasons and notes
with the "notes" section. Consent records are shown to the owning agency, and to a receiving agency the
ones its referrals rest on. Free text is marked identifying (shown only to identity roles).
Assignments are in the audit log only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from amparo.cases.models import Case, Channel, ConsentAnswer, LegalBasis, Priority, ShareableField
from amparo.cases.permissions import CaseAudit
from amparo.cases.timeline import Entry
from amparo.cases.workflow import Outcome, Status
from amparo.core.models import AuditEntry

DECISIONS = {
    str(CaseAudit.REFERRAL_ACCEPT): ("referral-accepted", "accepted"),
    str(CaseAudit.REFERRAL_DECLINE): ("referral-declined", "declined"),
    str(CaseAudit.REFERRAL_REVOKE): ("referral-revoked", "revoked"),
}


def _label(choices: Any, code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


def _username(user: Any) -> str:
    return user.get_username() if user is not None else _("System")


def consent_summary(consent: Any) -> str:
    if consent.legal_basis:
        return _("Legal basis: %(basis)s.") % {"basis": _label(LegalBasis, consent.legal_basis)}
    return _("Child: %(child)s. Caregiver: %(caregiver)s.") % {
        "child": _label(ConsentAnswer, consent.child_consent),
        "caregiver": _label(ConsentAnswer, consent.caregiver_consent),
    }


def case_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    owner = getattr(user, "agency_id", None) == case.owning_agency_id
    free_text = ShareableField.NOTES in sections
    yield Entry(
        at=case.received_at,
        kind="received",
        title=_("Case received (%(channel)s).") % {"channel": _label(Channel, case.channel)},
    )
    yield from _transitions(case, free_text)
    if free_text:
        yield from _notes(case)
    referrals = case.referrals.select_related("from_agency", "to_agency", "created_by", "consent")
    if not owner:
        referrals = referrals.filter(to_agency_id=getattr(user, "agency_id", None))
    referrals = list(referrals)
    yield from _referrals(referrals)
    yield from _referral_decisions(referrals)
    consents = case.consents.select_related("recorded_by")
    if not owner:
        consents = consents.filter(pk__in=[r.consent_id for r in referrals if r.consent_id])
    yield from _consents(consents)


def _transitions(case: Case, free_text: bool) -> Iterator[Entry]:
    for t in case.transitions.select_related("actor"):
        title = _("Status: %(from)s → %(to)s") % {
            "from": _label(Status, t.from_status),
            "to": _label(Status, t.to_status),
        }
        if t.outcome:
            title += " (" + _label(Outcome, t.outcome) + ")"
        yield Entry(
            at=t.at,
            kind="transition",
            title=title,
            detail=t.reason if free_text else "",
            actor=_username(t.actor),
            identifying=True,
        )


def _notes(case: Case) -> Iterator[Entry]:
    for note in case.notes.select_related("author"):
        yield Entry(
            at=note.created_at,
            kind="note",
            title=_("Note"),
            detail=note.text,
            actor=_username(note.author),
            identifying=True,
        )


def _referrals(referrals: list[Any]) -> Iterator[Entry]:
    for r in referrals:
        shared = [_label(ShareableField, code) for code in r.shared_fields or ()]
        yield Entry(
            at=r.created_at,
            kind="referral",
            title=_("Referred from %(from)s to %(to)s, urgency %(urgency)s.")
            % {
                "from": r.from_agency.short_name,
                "to": r.to_agency.short_name,
                "urgency": _label(Priority, r.urgency),
            }
            + " "
            + (
                _("Shared: %(sections)s.") % {"sections": "; ".join(shared)}
                if shared
                else _("Only the non-identifying facts are shared.")
            ),
            detail=r.reason,
            actor=_username(r.created_by),
            identifying=True,
        )


def _referral_decisions(referrals: list[Any]) -> Iterator[Entry]:
    """Acceptances, refusals and revocations, from the audit log (a referral keeps only its latest)."""
    decisions = AuditEntry.objects.filter(
        object_type="cases.referral",
        object_id__in=[str(r.pk) for r in referrals],
        action__in=list(DECISIONS),
    ).order_by("id")
    by_id = {str(r.pk): r for r in referrals}
    last_decision = {}
    for entry in decisions:
        last_decision[entry.object_id] = entry.pk
    titles = {
        "accepted": _("%(agency)s accepted the referral."),
        "declined": _("%(agency)s declined the referral."),
        "revoked": _("%(agency)s revoked the referral."),
    }
    for entry in decisions:
        r = by_id[entry.object_id]
        kind, status = DECISIONS[entry.action]
        agency = r.from_agency if status == "revoked" else r.to_agency
        # The stored reason belongs to the latest decision on the referral.
        latest = last_decision[entry.object_id] == entry.pk and r.status == status
        yield Entry(
            at=entry.at,
            kind=kind,
            title=titles[status] % {"agency": agency.short_name},
            detail=r.decision_reason if latest else "",
            actor=entry.actor_username or _("System"),
            identifying=True,
        )


def _consents(consents: Any) -> Iterator[Entry]:
    for consent in consents:
        yield Entry(
            at=consent.recorded_at,
            kind="consent",
            title=_("Consent to share recorded (%(purpose)s). %(summary)s")
            % {"purpose": consent.purpose, "summary": consent_summary(consent)},
            detail=consent.justification,
            actor=_username(consent.recorded_by),
            identifying=True,
        )
