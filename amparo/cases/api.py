"""The staff API, /api/v1/ (django-ninja): cases and referrals for other systems (Primero, the Ministry of
the Interior's case database, an agency's own tools).

- Authentication: `Authorization: Bearer <token>` only (`amparo api_token create`). The session cookie
  is never accepted, so a signed-in browser cannot be made to write through the API (and no CSRF token
  is needed for bearer requests). The token acts as its user: the same roles, scope and access policy.
- Access: cases are listed through `visible_cases` and loaded through `get_case_for_user` (an outsider
  gets 404), exactly like the pages, and those reads are audited the same way. What of a case is shown
  follows `visible_sections` (the sections a referral chose) and the identity roles.
- Writes call the actions (amparo.cases.actions), which check the policy and audit.
- Each token is rate-limited (`AMPARO_API_RATE_PER_MINUTE`, 429 with Retry-After).
- Errors are JSON `{"detail": "..."}` in the request's language: 400 refused by the rules, 401 no valid
  token, 403 not allowed, 404 not found (or not yours to see), 422 malformed input, 429 too many requests.

The schema is served at /api/v1/openapi.json and a plain page listing the operations at /api/v1/docs
(no JavaScript: the interactive Swagger page would need scripts and inline styles the CSP forbids).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.responses import Status as Reply
from ninja.security import HttpBearer
from pydantic import Field

from amparo.cases import actions
from amparo.cases.access import get_case_for_user, get_referral_for_user
from amparo.cases.api_schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AgencyOut,
    CaseOut,
    CasePageOut,
    CaseSummaryOut,
    DecisionIn,
    MeOut,
    NoteIn,
    NoteOut,
    ReferralIn,
    ReferralOut,
    ReferralPageOut,
    RevokeIn,
    StatusChangeIn,
)
from amparo.cases.consent import consent_permits_sharing
from amparo.cases.models import (
    Case,
    CaseNote,
    ConsentRecord,
    Person,
    PersonRole,
    Referral,
    ReferralStatus,
    ShareableField,
    Transition,
)
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.policy import visible_cases
from amparo.cases.visibility import visible_sections
from amparo.cases.workflow import Status, TransitionError
from amparo.core import audit, ratelimit, tokens
from amparo.core.api import (
    COMMON_ERRORS,
    OBJECT_ERRORS,
    WRITE_ERRORS,
    RateLimited,
    docs_for_staff_or_token,
    error,
    install_error_handlers,
)
from amparo.core.models import Agency
from amparo.core.policy import can, in_scope, scope_q
from amparo.core.roles import IDENTITY_ROLES
from amparo.lib.env import env_int

API_VERSION = "1"
RATE_SCOPE = "api:token"
# Case references look like AMP-7K3Q-X9D2; anything else cannot be a case (404 without a query).
REFERENCE_RE = re.compile(r"^AMP-[0-9A-Z]{4}-[0-9A-Z]{4}$")

# The section that guards the identity of each kind of person.
PERSON_SECTIONS = {
    PersonRole.VICTIM: ShareableField.VICTIM_IDENTITY,
    PersonRole.CAREGIVER: ShareableField.CAREGIVER_IDENTITY,
    PersonRole.OFFENDER: ShareableField.OFFENDER_IDENTITY,
    PersonRole.REPORTER: ShareableField.REPORTER_IDENTITY,
}


def rate_per_minute() -> int:
    """Requests per minute allowed to one token (read when used, so that operators and tests can set it)."""
    return env_int("AMPARO_API_RATE_PER_MINUTE", 120, minimum=1)


class TokenAuth(HttpBearer):
    """Bearer tokens of amparo.core.tokens; the request acts as the token's user (request.auth)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = tokens.verify(token)
        if row is None:
            return None
        retry_after = ratelimit.consume(RATE_SCOPE, str(row.pk), rate=rate_per_minute(), per_seconds=60)
        if retry_after:
            raise RateLimited(retry_after)
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


class OperationsPage(DocsBase):
    """/api/v1/docs: a server-rendered list of the operations (no scripts, no CDN, strict CSP)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        schema = api.get_openapi_schema(path_params=kwargs)
        operations = []
        for path, methods in schema["paths"].items():
            for method, operation in methods.items():
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "responses": sorted(operation.get("responses", {})),
                    }
                )
        context = {
            "operations": operations,
            "openapi_url": self.get_openapi_url(api, kwargs),
            "max_page_size": MAX_PAGE_SIZE,
            "rate": rate_per_minute(),
        }
        return render(request, "cases/api_docs.html", context)


API_UNAUTHENTICATED = gettext_lazy(
    "A valid API token is needed: send 'Authorization: Bearer <token>'. "
    "Tokens expire and can be revoked; ask an administrator for a new one."
)

api = NinjaAPI(
    title="Amparo staff API",
    version=API_VERSION,
    description=(
        "Cases and referrals under the same access policy as Amparo's pages. "
        "Authenticate with `Authorization: Bearer <token>` (`amparo api_token create`)."
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=OperationsPage(),
    docs_decorator=docs_for_staff_or_token(TokenAuth(), API_UNAUTHENTICATED),
)

CASE_ERRORS = OBJECT_ERRORS  # errors every authenticated operation may answer: amparo.core.api

install_error_handlers(
    api,
    too_many=gettext_lazy("Too many requests for this token. Wait %(seconds)d seconds and try again."),
    unauthenticated=API_UNAUTHENTICATED,
    realm="amparo",
    not_found=gettext_lazy("Not found, or not shared with your agency."),
)


def _error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return error(api, request, status, detail, **extra)


@api.exception_handler(TransitionError)
def _bad_transition(request: HttpRequest, exc: TransitionError) -> HttpResponse:
    return _error(request, 400, str(exc))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, _("Your account may not do this."))


# --- helpers -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _require_case_work(user: Any) -> None:
    """Only accounts with a case role use the case endpoints (analysts, auditors, admins get 403)."""
    if not can(user, CasePermission.LIST):
        raise PermissionDenied


def _load_case(user: Any, reference: str, permission: CasePermission = CasePermission.READ) -> Case:
    _require_case_work(user)
    if not REFERENCE_RE.match(reference):
        raise Http404
    return get_case_for_user(user, reference, permission)


def _blank_to_none(value: str) -> str | None:
    return value or None


def _summary(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "status": case.status,
        "outcome": _blank_to_none(case.outcome),
        "priority": case.priority,
        "channel": case.channel,
        "mode": case.mode,
        "owning_agency": case.owning_agency.code,
        "assigned_to": case.assigned_to.get_username() if case.assigned_to_id else None,
        "province": case.province_id,
        "district": case.district_id,
        "received_at": case.received_at,
        "updated_at": case.updated_at,
        "incident_date": case.incident_date,
        "forms": sorted(f.form for f in case.forms.all()),
        "platforms": sorted(p.platform for p in case.platforms.all()),
        "risk_flags": list(case.risk_flags or []),
    }


def _has_identity_role(user: Any) -> bool:
    return bool(user.roles & IDENTITY_ROLES)


def _referral(referral: Referral, *, show_reason: bool) -> dict[str, Any]:
    consent = referral.consent
    return {
        "id": referral.pk,
        "case_reference": referral.case.reference,
        "from_agency": referral.from_agency.code,
        "to_agency": referral.to_agency.code,
        "status": referral.status,
        "urgency": referral.urgency,
        "shared_fields": [f for f in referral.shared_fields or [] if f in ShareableField.values],
        "created_at": referral.created_at,
        "respond_by": referral.respond_by,
        "decided_at": referral.decided_at,
        "reason": (referral.reason or None) if show_reason else None,
        "decision_reason": (referral.decision_reason or None) if show_reason else None,
        "consent": None if consent is None else _consent(consent),
    }


def _consent(consent: ConsentRecord) -> dict[str, Any]:
    """The answers and the legal basis; never the purpose or the justification (free text)."""
    return {
        "id": consent.pk,
        "child_consent": consent.child_consent,
        "caregiver_consent": consent.caregiver_consent,
        "legal_basis": _blank_to_none(consent.legal_basis),
        "recorded_at": consent.recorded_at,
        "permits_sharing": consent_permits_sharing(consent),
    }


def _page(qs: QuerySet, limit: int, offset: int) -> tuple[int, list[Any], int | None]:
    count = qs.count()
    items = list(qs[offset : offset + limit])
    next_offset = offset + limit if offset + limit < count else None
    return count, items, next_offset


def _aware(value: dt.datetime) -> dt.datetime:
    """A naive datetime is read in Maputo time; out-of-range values are refused (422)."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise NinjaValidationError(
            [{"loc": ["query", "updated_since"], "msg": "date and time out of range"}]
        ) from None


# --- the account -------------------------------------------------------------------------------

router = Router()


@router.get("/me", response={200: MeOut, **COMMON_ERRORS}, summary="The account behind the token")
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    level, province, district = user.effective_scope()
    token = request.api_token  # type: ignore[attr-defined]
    return {
        "username": user.get_username(),
        "agency": user.agency.code,
        "roles": sorted(user.roles),
        "scope": {"level": level or "", "province": province, "district": district},
        "works_on_cases": can(user, CasePermission.LIST),
        "token_prefix": token.prefix,
        "token_expires_at": token.expires_at,
    }


@router.get(
    "/agencies",
    response={200: list[AgencyOut], **COMMON_ERRORS},
    summary="Active agencies (referral targets)",
)
def list_agencies(request: HttpRequest) -> list[Agency]:
    return list(Agency.objects.filter(active=True).order_by("code"))


# --- cases ---------------------------------------------------------------------------------------


class CaseFilters(Schema):
    status: Status | None = Field(None, description="Only cases with this status.")
    updated_since: dt.datetime | None = Field(None, description="Only cases changed at or after this time.")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get("/cases", response={200: CasePageOut, **COMMON_ERRORS}, summary="List the cases you may see")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    user = _user(request)
    _require_case_work(user)
    qs = (
        visible_cases(user)
        .select_related("owning_agency", "assigned_to")
        .prefetch_related("forms", "platforms")
        .order_by("-received_at", "reference")
    )
    used = []
    if filters.status:
        qs = qs.filter(status=filters.status)
        used.append("status")
    if filters.updated_since:
        qs = qs.filter(updated_at__gte=_aware(filters.updated_since))
        used.append("updated_since")
    count, cases, next_offset = _page(qs, filters.limit, filters.offset)
    audit.record_read(user, CaseAudit.LIST, None, used)
    return {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "next_offset": next_offset,
        "items": [_summary(c) for c in cases],
    }


def _case_detail(user: Any, case: Case) -> dict[str, Any]:
    """The case as `user` may see it; records which identifying fields were shown (as the page does)."""
    sections = visible_sections(user, case)
    identity = can(user, CasePermission.READ_IDENTITY, case)
    shown: set[str] = set()  # each part adds the identifying fields it showed

    narrative = None
    if identity and ShareableField.NARRATIVE in sections and case.narrative:
        narrative = case.narrative
        shown.add("narrative")
    notes = _notes_out(case, identity, shown) if ShareableField.NOTES in sections else None
    # The consent records are for those who may refer the case (the owning agency's case workers).
    consents = None
    if can(user, CasePermission.REFER, case):
        consents = [_consent(c) for c in ConsentRecord.objects.filter(case=case).order_by("recorded_at")]
    detail = {
        **_summary(case),
        "visible_sections": sorted(sections),
        "identity_visible": identity,
        "narrative": narrative,
        "persons": _persons_out(case, sections, identity, shown),
        # Free text (reasons, notes) travels with the "notes" section and needs an identity role, as on the page.
        "transitions": _transitions_out(case, identity and ShareableField.NOTES in sections, shown),
        "notes": notes,
        "referrals": _referrals_out(user, case, identity, shown),
        "consents": consents,
    }
    if shown:
        audit.record_read(user, CaseAudit.VIEW_IDENTITY, case, sorted(shown))
    return detail


def _persons_out(case: Case, sections: Any, identity: bool, shown: set[str]) -> list[dict[str, Any]]:
    persons = []
    for person in Person.objects.filter(case=case).order_by("role", "created_at"):
        visible = identity and PERSON_SECTIONS.get(person.role) in sections
        entry = {
            "id": person.pk,
            "role": person.role,
            "age": person.age,
            "age_band": person.age_band,
            "sex": person.sex,
            "relationship": person.relationship,
            "identity_visible": visible,
            "name": None,
            "phone": None,
            "address": None,
        }
        if visible:
            for field in ("name", "phone", "address"):
                value = getattr(person, field) or None
                entry[field] = value
                if value:
                    shown.add(f"person.{field}")
        persons.append(entry)
    return persons


def _transitions_out(case: Case, reasons_visible: bool, shown: set[str]) -> list[dict[str, Any]]:
    transitions = []
    for t in Transition.objects.filter(case=case).select_related("actor").order_by("at", "created_at"):
        reason = (t.reason or None) if reasons_visible else None
        if reason:
            shown.add("transition.reason")
        transitions.append(
            {
                "at": t.at,
                "from_status": t.from_status,
                "to_status": t.to_status,
                "outcome": _blank_to_none(t.outcome),
                "actor": t.actor.get_username() if t.actor_id else None,
                "reason": reason,
            }
        )
    return transitions


def _notes_out(case: Case, identity: bool, shown: set[str]) -> list[dict[str, Any]]:
    notes = []
    for note in CaseNote.objects.filter(case=case).select_related("author").order_by("created_at"):
        text = (note.text or None) if identity else None
        if text:
            shown.add("note.text")
        notes.append(
            {
                "id": note.pk,
                "created_at": note.created_at,
                "author": note.author.get_username() if note.author_id else None,
                "text": text,
            }
        )
    return notes


def _referrals_out(user: Any, case: Case, identity: bool, shown: set[str]) -> list[dict[str, Any]]:
    """The owning agency sees every referral of its case; a receiving agency only those made to it."""
    referral_qs = Referral.objects.filter(case=case).select_related(
        "case", "from_agency", "to_agency", "consent"
    )
    if case.owning_agency_id != user.agency_id:
        referral_qs = referral_qs.filter(to_agency_id=user.agency_id)
    referrals = [_referral(r, show_reason=identity) for r in referral_qs.order_by("created_at")]
    if identity and any(r["reason"] or r["decision_reason"] for r in referrals):
        shown.add("referral.reason")
    return referrals


@router.get("/cases/{reference}", response={200: CaseOut, **CASE_ERRORS}, summary="Read one case")
def get_case(request: HttpRequest, reference: str) -> dict[str, Any]:
    user = _user(request)
    case = _load_case(user, reference)
    return _case_detail(user, case)


@router.post(
    "/cases/{reference}/status",
    response={200: CaseSummaryOut, **WRITE_ERRORS},
    summary="Change the status of a case",
)
def change_status(request: HttpRequest, reference: str, payload: StatusChangeIn) -> dict[str, Any]:
    user = _user(request)
    case = _load_case(user, reference, CasePermission.TRANSITION)
    actions.transition_case(
        user, case, payload.to_status, reason=payload.reason, outcome=payload.outcome or ""
    )
    case.refresh_from_db()
    return _summary(case)


@router.post(
    "/cases/{reference}/notes", response={201: NoteOut, **WRITE_ERRORS}, summary="Add a note to a case"
)
def add_note(request: HttpRequest, reference: str, payload: NoteIn) -> Reply:
    user = _user(request)
    case = _load_case(user, reference, CasePermission.WRITE)
    note = actions.add_note(user, case, payload.text)
    return Reply(
        201,
        {
            "id": note.pk,
            "created_at": note.created_at,
            "author": user.get_username(),
            "text": note.text,
        },
    )


@router.post(
    "/cases/{reference}/referrals",
    response={201: ReferralOut, **WRITE_ERRORS},
    summary="Refer a case to another agency (with the consent record)",
    description=(
        "Give either `consent` (a new consent record, or a legal basis with its justification, recorded "
        "together with the referral: if the referral is refused, no consent record is kept) or `consent_id` "
        "(an existing consent record of the case, listed as `consents` on the case). Either must permit "
        "sharing."
    ),
)
def create_referral(request: HttpRequest, reference: str, payload: ReferralIn) -> Reply:
    user = _user(request)
    case = _load_case(user, reference, CasePermission.REFER)
    to_agency = Agency.objects.filter(code=payload.to_agency, active=True).first()
    if to_agency is None:
        raise DjangoValidationError(
            _("There is no active agency with the code %(code)s; GET /api/v1/agencies lists them.")
            % {"code": payload.to_agency}
        )
    given = payload.consent
    consent = None
    if given is None:
        consent = ConsentRecord.objects.filter(pk=payload.consent_id, case=case).first()
        if consent is None:
            raise DjangoValidationError(
                _("This case has no consent record with that id; GET /api/v1/cases/%(reference)s lists them.")
                % {"reference": case.reference}
            )
    referral = actions.refer_with_consent(
        user,
        case,
        to_agency,
        reason=payload.reason,
        consent=consent,
        new_consent=None
        if given is None
        else {
            "purpose": given.purpose,
            "child_consent": given.child_consent,
            "caregiver_consent": given.caregiver_consent,
            "legal_basis": given.legal_basis,
            "justification": given.justification,
        },
        shared_fields=list(dict.fromkeys(payload.shared_fields)),
        urgency=payload.urgency,
    )
    referral = Referral.objects.select_related("case", "from_agency", "to_agency", "consent").get(
        pk=referral.pk
    )
    return Reply(201, _referral(referral, show_reason=_has_identity_role(user)))


# --- referrals ---------------------------------------------------------------------------------


class ReferralFilters(Schema):
    direction: str = Field(
        "incoming",
        pattern="^(incoming|outgoing)$",
        description="incoming: referred to your agency; outgoing: made by your agency.",
    )
    status: ReferralStatus | None = None
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/referrals",
    response={200: ReferralPageOut, **COMMON_ERRORS},
    summary="Referrals made to or by your agency",
)
def list_referrals(request: HttpRequest, filters: Query[ReferralFilters]) -> dict[str, Any]:
    user = _user(request)
    _require_case_work(user)
    qs = Referral.objects.select_related("case", "from_agency", "to_agency", "consent").filter(
        case__in=Case.objects.filter(scope_q(user))
    )
    if filters.direction == "incoming":
        qs = qs.filter(to_agency_id=user.agency_id)
    else:
        qs = qs.filter(from_agency_id=user.agency_id)
    used = ["direction"]
    if filters.status:
        qs = qs.filter(status=filters.status)
        used.append("status")
    count, referrals, next_offset = _page(qs.order_by("-created_at", "id"), filters.limit, filters.offset)
    show_reason = _has_identity_role(user)
    audit.record_read(user, CaseAudit.REFERRAL_LIST, None, used)
    return {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "next_offset": next_offset,
        "items": [_referral(r, show_reason=show_reason) for r in referrals],
    }


def _load_referral(user: Any, referral_id: uuid.UUID) -> Referral:
    """A referral of the user's agency (sending or receiving), inside the user's scope; else 404."""
    _require_case_work(user)
    referral = get_referral_for_user(user, referral_id, CasePermission.LIST)
    if not in_scope(user, referral.case.province_id, referral.case.district_id):
        raise Http404
    return referral


def _fresh(referral: Referral) -> Referral:
    return Referral.objects.select_related("case", "from_agency", "to_agency", "consent").get(pk=referral.pk)


@router.post(
    "/referrals/{referral_id}/decision",
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Accept or decline a referral made to your agency",
    description="Declining needs a reason. Accepting gives your agency access to the shared sections.",
)
def decide_referral(request: HttpRequest, referral_id: uuid.UUID, payload: DecisionIn) -> dict[str, Any]:
    user = _user(request)
    referral = _load_referral(user, referral_id)
    if referral.to_agency_id != user.agency_id:
        raise PermissionDenied
    if referral.status != ReferralStatus.PENDING:
        raise DjangoValidationError(_("Only a pending referral can be accepted or declined."))
    actions.decide_referral(user, referral, accept=payload.accept, reason=payload.reason)
    return _referral(_fresh(referral), show_reason=_has_identity_role(user))


@router.post(
    "/referrals/{referral_id}/revoke",
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Revoke a referral your agency made",
    description="The receiving agency loses access to the case at once.",
)
def revoke_referral(request: HttpRequest, referral_id: uuid.UUID, payload: RevokeIn) -> dict[str, Any]:
    user = _user(request)
    referral = _load_referral(user, referral_id)
    if referral.from_agency_id != user.agency_id:
        raise PermissionDenied
    if referral.status not in (ReferralStatus.PENDING, ReferralStatus.ACCEPTED):
        raise DjangoValidationError(_("Only a pending or accepted referral can be revoked."))
    actions.revoke_referral(user, referral, reason=payload.reason)
    return _referral(_fresh(referral), show_reason=_has_identity_role(user))


api.add_router("/", router)
