"""The industry API, /api/industry/v1/ (django-ninja), separate from the staff API (/api/v1/).

Internet and mobile providers and platforms:

- submit reports of apparent OCSEA (modelled on the CyberTipline report) and get Amparo's reference;
  sending the same `submission_id` again returns the first answer; files declared by hash may then be
  uploaded (the bytes must match a declared hash, or nothing is kept);
- read the preservation requests addressed to them and answer them;
- read the takedown notices addressed to them and answer them (time to removal is measured from the
  notice to the answer "removed");
- download the national URL block list.

Authentication: `Authorization: Bearer ampind_…`, a key per organisation (`amparo industry key create`),
stored as its SHA-256 only. Each key holds scopes (IndustryScope); an operation outside them answers 403.
Each key is rate-limited (AMPARO_INDUSTRY_RATE per minute, 429 with Retry-After). An organisation loads
only its own submissions, requests and notices: anything else is 404, exactly like something that does
not exist. Every write goes through amparo.intake.industry.actions (audited there); reads of requests
and notices are audited too. Errors are JSON `{"detail": …}` in the request's language.

The schema is at /api/industry/v1/openapi.json; there is no interactive page (it would need scripts the
CSP forbids).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import File, NinjaAPI, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.responses import Status as Reply
from ninja.security import HttpBearer
from pydantic import Field

from amparo.cases.models import PreservationRequest
from amparo.core import audit, ratelimit
from amparo.core.api import (
    COMMON_ERRORS,
    OBJECT_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    RateLimited,
    docs_for_staff_or_token,
    error,
    install_error_handlers,
)
from amparo.evidence import takedown
from amparo.evidence.models import TakedownNotice, TakedownStatus
from amparo.intake.industry import actions, conf, keys
from amparo.intake.industry.permissions import IndustryAudit
from amparo.intake.industry.schemas import (
    FileOut,
    OrganisationOut,
    PreservationAnswerIn,
    PreservationOut,
    ReportIn,
    SubmissionOut,
    SubmissionPage,
    TakedownAnswerIn,
    TakedownOut,
)
from amparo.intake.models import IndustryApiKey, IndustryOrganisation, IndustryScope, IndustrySubmission

API_VERSION = "1"
RATE_SCOPE = "api:industry_key"
MAX_PAGE_SIZE = 200


class MissingScope(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


class KeyAuth(HttpBearer):
    """An organisation's API key; `request.auth` is the key row (with its organisation)."""

    def authenticate(self, request: HttpRequest, token: str) -> IndustryApiKey | None:
        row = keys.verify(token)
        if row is None:
            return None
        retry_after = ratelimit.consume(
            RATE_SCOPE, str(row.pk), rate=conf.industry_rate_per_minute(), per_seconds=60
        )
        if retry_after:
            raise RateLimited(retry_after)
        return row


API_UNAUTHENTICATED = gettext_lazy(
    "A valid API key is needed: send 'Authorization: Bearer <key>'. Keys expire and can be "
    "revoked; ask the Amparo administrators for a new one."
)

api = NinjaAPI(
    title="Amparo industry API",
    version=API_VERSION,
    description=(
        "For internet and mobile providers and online platforms: report apparent online child sexual "
        "exploitation and abuse, answer preservation requests and takedown notices, and download the "
        "national URL block list. Authenticate with `Authorization: Bearer <key>`; each key has scopes."
    ),
    urls_namespace="api-industry-v1",
    auth=KeyAuth(),
    docs_url=None,
    docs_decorator=docs_for_staff_or_token(KeyAuth(), API_UNAUTHENTICATED),
)

install_error_handlers(
    api,
    too_many=gettext_lazy("Too many requests for this key. Wait %(seconds)d seconds and try again."),
    unauthenticated=API_UNAUTHENTICATED,
    realm="amparo-industry",
    not_found=gettext_lazy("Not found."),
)


def _error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return error(api, request, status, detail, **extra)


@api.exception_handler(MissingScope)
def _missing_scope(request: HttpRequest, exc: MissingScope) -> HttpResponse:
    return _error(
        request, 403, _("This API key may not do this (it lacks the scope %(scope)s).") % {"scope": exc.scope}
    )


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, _("Your organisation may not do this."))


# --- helpers -----------------------------------------------------------------------------------


def _organisation(request: HttpRequest, scope: IndustryScope) -> IndustryOrganisation:
    """The organisation behind the key, if the key holds `scope` (403 otherwise)."""
    row: IndustryApiKey = request.auth  # type: ignore[attr-defined]
    if scope not in (row.scopes or []):
        raise MissingScope(scope.value)
    return row.organisation


def _submission_out(submission: IndustrySubmission) -> dict[str, Any]:
    files = submission.files or []
    return {
        "submission_id": submission.submission_id,
        "reference": submission.case.reference,
        "status": actions.plain_status(submission.case),
        "submitted_at": submission.submitted_at,
        "files_declared": len(files),
        "files_uploaded": sum(1 for f in files if f.get("uploaded")),
    }


def _load_submission(organisation: IndustryOrganisation, submission_id: str) -> IndustrySubmission:
    submission = actions.submissions_for(organisation).filter(submission_id=submission_id[:100]).first()
    if submission is None:
        raise Http404
    return submission


def _preservation_out(request: PreservationRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "number": request.number,
        "kind": request.kind,
        "identifiers": [line for line in (request.identifiers or "").splitlines() if line.strip()],
        "date_from": request.date_from,
        "date_to": request.date_to,
        "legal_basis": request.legal_basis,
        "status": request.status,
        "sent_at": request.sent_at,
        "deadline": request.deadline,
    }


def _load_preservation(organisation: IndustryOrganisation, request_id: uuid.UUID) -> PreservationRequest:
    request = actions.preservation_requests_addressed_to(organisation).filter(pk=request_id).first()
    if request is None:
        raise Http404
    return request


def _takedown_out(notice: TakedownNotice) -> dict[str, Any]:
    ttr = notice.time_to_removal
    return {
        "id": notice.pk,
        "url": notice.url,
        "platform": notice.platform,
        "requested_at": notice.requested_at,
        "status": notice.status,
        "removed_at": notice.removed_at,
        "time_to_removal_seconds": int(ttr.total_seconds()) if ttr is not None else None,
    }


def _load_notice(organisation: IndustryOrganisation, notice_id: uuid.UUID) -> TakedownNotice:
    notice = takedown.notices_for_organisation(organisation).filter(pk=notice_id).first()
    if notice is None:
        raise Http404
    return notice


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=1_000_000)


class TakedownQuery(PageQuery):
    status: TakedownStatus | None = Field(None, description="Only notices with this status (default: all).")


class BlocklistQuery(Schema):
    format: str = Field(
        "text", pattern="^(text|csv)$", description="text: one URL a line; csv: url,category,added_at"
    )


def _bounded_upload(view: Any) -> Any:
    """Refuse an upload whose declared length is over the file limit before its body is read (a
    multipart body adds a little to the file: 64 KiB of headroom)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = conf.industry_max_file_bytes()
        if length > limit + 64 * 1024:
            return _error(request, 413, _("The file is larger than %(limit)d bytes.") % {"limit": limit})
        return view(request, *args, **kwargs)

    return wrapped


router = Router()


# --- the key -----------------------------------------------------------------------------------


@router.get(
    "/me", response={200: OrganisationOut, **COMMON_ERRORS}, summary="The organisation behind the key"
)
def me(request: HttpRequest) -> dict[str, Any]:
    row: IndustryApiKey = request.auth  # type: ignore[attr-defined]
    organisation = row.organisation
    return {
        "code": organisation.code,
        "name": organisation.name,
        "kind": organisation.kind,
        "scopes": list(row.scopes or []),
        "key_prefix": row.prefix,
        "key_expires_at": row.expires_at,
    }


# --- reports -----------------------------------------------------------------------------------


@router.post(
    "/reports",
    response={200: SubmissionOut, 201: SubmissionOut, **WRITE_ERRORS},
    summary="Submit a report of apparent OCSEA",
    description=(
        "Opens a case and answers 201 with Amparo's reference. Sending the same submission_id again "
        "answers 200 with the first reference and changes nothing."
    ),
)
def submit_report(request: HttpRequest, payload: ReportIn) -> Reply:
    organisation = _organisation(request, IndustryScope.REPORTS_SUBMIT)
    result = actions.submit_report(organisation, payload)
    return Reply(201 if result.created else 200, _submission_out(result.submission))


@router.get(
    "/reports", response={200: SubmissionPage, **COMMON_ERRORS}, summary="Your organisation's reports"
)
def list_reports(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    organisation = _organisation(request, IndustryScope.REPORTS_SUBMIT)
    qs = actions.submissions_for(organisation).order_by("-submitted_at", "id")
    audit.record_read(
        actions.organisation_actor(organisation),
        IndustryAudit.SUBMISSIONS_READ,
        ("intake.industrysubmission", ""),
        ["submission_id", "case"],
    )
    return {
        "count": qs.count(),
        "items": [_submission_out(s) for s in qs[page.offset : page.offset + page.limit]],
    }


@router.get(
    "/reports/{submission_id}", response={200: SubmissionOut, **OBJECT_ERRORS}, summary="One of your reports"
)
def get_report(request: HttpRequest, submission_id: str) -> dict[str, Any]:
    organisation = _organisation(request, IndustryScope.REPORTS_SUBMIT)
    return _submission_out(_load_submission(organisation, submission_id))


@router.post(
    "/reports/{submission_id}/files",
    response={201: FileOut, 413: ErrorOut, **WRITE_ERRORS},
    summary="Upload a file the report declared",
    description=(
        "The file's hashes must match a declared file not uploaded yet; otherwise 400 and nothing is "
        "kept. The file is stored encrypted and never shown to anyone without a stated reason."
    ),
)
@decorate_view(_bounded_upload)
def upload_file(request: HttpRequest, submission_id: str, file: File[UploadedFile]) -> Reply:
    organisation = _organisation(request, IndustryScope.REPORTS_SUBMIT)
    submission = _load_submission(organisation, submission_id)
    item = actions.attach_file(organisation, submission, file, name=file.name or "")
    return Reply(201, {"submission_id": submission.submission_id, "sha256": item.sha256, "size": item.size})


# --- preservation requests ---------------------------------------------------------------------


@router.get(
    "/preservation-requests",
    response={200: list[PreservationOut], **COMMON_ERRORS},
    summary="Open preservation requests addressed to you",
)
def list_preservation(request: HttpRequest, page: Query[PageQuery]) -> list[dict[str, Any]]:
    organisation = _organisation(request, IndustryScope.PRESERVATION_READ)
    rows = list(actions.preservation_requests_for(organisation)[page.offset : page.offset + page.limit])
    audit.record_read(
        actions.organisation_actor(organisation),
        IndustryAudit.PRESERVATION_READ,
        ("cases.preservationrequest", ""),
        ["identifiers"],
    )
    return [_preservation_out(r) for r in rows]


@router.post(
    "/preservation-requests/{request_id}/answer",
    response={200: PreservationOut, **WRITE_ERRORS},
    summary="Answer a preservation request",
)
def answer_preservation(
    request: HttpRequest, request_id: uuid.UUID, payload: PreservationAnswerIn
) -> dict[str, Any]:
    organisation = _organisation(request, IndustryScope.PRESERVATION_ANSWER)
    row = _load_preservation(organisation, request_id)
    answered = actions.answer_preservation(organisation, row, status=payload.status, note=payload.note)
    return _preservation_out(answered)


# --- takedown notices --------------------------------------------------------------------------


@router.get(
    "/takedown-notices",
    response={200: list[TakedownOut], **COMMON_ERRORS},
    summary="Takedown notices addressed to you",
)
def list_takedown(request: HttpRequest, query: Query[TakedownQuery]) -> list[dict[str, Any]]:
    organisation = _organisation(request, IndustryScope.TAKEDOWN_READ)
    qs = takedown.notices_for_organisation(organisation)
    if query.status:
        qs = qs.filter(status=query.status)
    rows = list(qs[query.offset : query.offset + query.limit])
    audit.record_read(
        actions.organisation_actor(organisation),
        IndustryAudit.TAKEDOWN_READ,
        ("evidence.takedownnotice", ""),
        ["url"],
    )
    return [_takedown_out(n) for n in rows]


@router.post(
    "/takedown-notices/{notice_id}/answer",
    response={200: TakedownOut, **WRITE_ERRORS},
    summary="Confirm removal of, refuse or report not finding the material",
    description="Answer `removed` once the material is gone: the time to removal is measured from the notice.",
)
def answer_takedown(request: HttpRequest, notice_id: uuid.UUID, payload: TakedownAnswerIn) -> dict[str, Any]:
    organisation = _organisation(request, IndustryScope.TAKEDOWN_ANSWER)
    notice = _load_notice(organisation, notice_id)
    answered = actions.answer_takedown(organisation, notice, status=payload.status, note=payload.note)
    return _takedown_out(answered)


# --- the national block list -------------------------------------------------------------------

_TEXT_RESPONSES = {
    "200": {
        "description": "The current list.",
        "content": {"text/plain": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/blocklist",
    response={**COMMON_ERRORS},
    summary="Download the national URL block list",
    openapi_extra={"responses": _TEXT_RESPONSES},
)
def blocklist(request: HttpRequest, query: Query[BlocklistQuery]) -> HttpResponse:
    organisation = _organisation(request, IndustryScope.BLOCKLIST_READ)
    content_type, body = takedown.blocklist_download(actions.organisation_actor(organisation), query.format)
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


api.add_router("/", router)
