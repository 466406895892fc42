"""Whether a consent record permits sharing a case with another agency (decision 11).

Sharing is permitted when the child consented and the caregiver consented too (or there is no caregiver to
ask: "not applicable"), or when a legal basis overrides consent and a written justification says why.
`refer_case` asks here, so that every way of referring (page, API, imports) follows the same rule.
"""

from __future__ import annotations

from typing import Any

from amparo.cases.models import ConsentAnswer, LegalBasis

_BASES = frozenset(b for b in LegalBasis.values if b)


def has_legal_basis(consent: Any) -> bool:
    return consent.legal_basis in _BASES and bool((consent.justification or "").strip())


def consent_permits_sharing(consent: Any) -> bool:
    if consent is None:
        return False
    if has_legal_basis(consent):
        return True
    return consent.child_consent == ConsentAnswer.GIVEN and consent.caregiver_consent in (
        ConsentAnswer.GIVEN,
        ConsentAnswer.NOT_APPLICABLE,
    )
