"""Evidence pages: a case's items, one item (hashes, known-material labels, custody), the reveal flow
(blurred preview with a stated reason, then the full item with a fresh TOTP code), custody actions and
the custody report. Items are loaded only through amparo.evidence.access; writes go through actions."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.cases.access import get_case_for_user
from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.evidence import actions, pdq, reports, vault
from amparo.evidence.access import get_item_for_user
from amparo.evidence.models import EvidenceItem, LinkProposal
from amparo.evidence.permissions import EvidenceAudit, EvidencePermission
from amparo.evidence.policy import visible_items
from amparo.evidence.storage import get_storage


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    received_from = forms.CharField(
        label=gettext_lazy("Received from"),
        max_length=200,
        help_text=gettext_lazy("Who handed the file over, and how."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RevealForm(ReasonForm):
    code = forms.CharField(label=gettext_lazy("Code from your authenticator app"), max_length=8)
    download = forms.BooleanField(label=gettext_lazy("Download instead of viewing"), required=False)


class CustodyForm(ReasonForm):
    action = forms.ChoiceField(
        choices=[
            ("hold", gettext_lazy("Place under legal hold")),
            ("release", gettext_lazy("Release from legal hold")),
            ("share", gettext_lazy("Record sharing with another agency")),
            ("destroy", gettext_lazy("Destroy the stored file")),
        ]
    )
    agency = forms.ModelChoiceField(queryset=Agency.objects.filter(active=True), required=False)


class SealedUpload(UploadedFile):
    """What the form sees of an upload that went straight into the vault: name, type, size, and the
    `Sealed` record for amparo.evidence.actions.add_item. It has no readable content."""

    def __init__(self, name: str, content_type: str, sealed: vault.Sealed) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=sealed.size)
        self.sealed = sealed
        self.used = False

    def chunks(self, chunk_size: int | None = None):  # noqa: ANN201
        raise ValueError("a sealed upload has no readable content")


class VaultUploadHandler(FileUploadHandler):
    """Seals each uploaded file's chunks as they arrive: the plaintext never lands in a temporary file
    (Django's default for large uploads) nor sits whole in memory."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.sealer: vault.Sealer | None = vault.Sealer(uuid.uuid4())
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.sealer is not None:
            try:
                self.sealer.write(raw_data)
            except vault.TooLarge:
                self.sealer = None
                self.request.evidence_too_large = True  # type: ignore[union-attr]
        return

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.sealer is None:
            return None
        sealed = self.sealer.close()
        self.sealer = None
        return SealedUpload(self.file_name or "", self.content_type or "", sealed)

    def upload_interrupted(self) -> None:
        if getattr(self, "sealer", None) is not None:
            self.sealer.abort()
            self.sealer = None


def _discard_unused(request: HttpRequest) -> None:
    """Remove sealed uploads that no item took (a refused form, a CSRF failure)."""
    files = getattr(request, "_files", None)
    if files is None:
        return
    for _field, uploads in files.lists():
        for upload in uploads:
            if isinstance(upload, SealedUpload) and not upload.used:
                get_storage().delete(upload.sealed.storage_key)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@csrf_exempt  # only so that the upload handler can be set: the inner view checks the CSRF token
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def case_evidence(request: HttpRequest, reference: str) -> HttpResponse:
    # Access is checked before a single byte of the upload is read.
    case = get_case_for_user(request.user, reference)
    if not can(request.user, EvidencePermission.READ, case):
        raise PermissionDenied
    may_add = can(request.user, EvidencePermission.ADD, case)
    if request.method == "POST" and not may_add:
        raise PermissionDenied
    request.upload_handlers = [VaultUploadHandler(request)]
    try:
        return _case_evidence(request, case, may_add)
    finally:
        _discard_unused(request)


@csrf_protect
def _case_evidence(request: HttpRequest, case: Any, may_add: bool) -> HttpResponse:
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if getattr(request, "evidence_too_large", False):
            form.add_error(None, actions.too_large_message())
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if isinstance(upload, SealedUpload):
                upload.used = True
            try:
                actions.add_item(
                    request.user,
                    case,
                    upload,
                    original_name=upload.name or "",
                    declared_type=upload.content_type or "",
                    received_from=form.cleaned_data["received_from"],
                    channel="web",
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                messages.success(request, _("The file is in the vault. It is being hashed and checked."))
                return redirect("evidence:case", reference=case.reference)
    items = list(visible_items(request.user, case).prefetch_related("matches"))
    audit.record_read(request.user, EvidenceAudit.ITEM_LIST, case)
    links = LinkProposal.objects.filter(case_a=case) | LinkProposal.objects.filter(case_b=case)
    context = {
        "case": case,
        "items": items,
        "form": form,
        "may_add": may_add,
        "known_material": any(i.known_material for i in items),
        "link_count": links.count(),
    }
    return render(request, "evidence/case_evidence.html", context)


def _item_context(request: HttpRequest, item: EvidenceItem, **extra: object) -> dict:
    return {
        "item": item,
        "case": item.case,
        "matches": list(item.matches.select_related("hash_list")),
        "events": list(item.custody.select_related("counterpart").order_by("id")),
        "may_reveal": can(request.user, EvidencePermission.REVEAL, item),
        "may_custody": can(request.user, EvidencePermission.CUSTODY, item),
        "reason_form": ReasonForm(),
        "custody_form": CustodyForm(),
        **extra,
    }


@login_required
@never_cache
@require_GET
def item_detail(request: HttpRequest, item_id: str) -> HttpResponse:
    item = get_item_for_user(request.user, item_id)
    return _no_store(render(request, "evidence/item_detail.html", _item_context(request, item)))


@login_required
@never_cache
@require_POST
def item_preview(request: HttpRequest, item_id: str) -> HttpResponse:
    """Step 1: a small, blurred, greyscale rendering, made in memory and sent inline (never stored)."""
    item = get_item_for_user(request.user, item_id, EvidencePermission.REVEAL)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return render(
            request, "evidence/item_detail.html", _item_context(request, item, reason_form=form), status=400
        )
    try:
        png = actions.preview(request.user, item, form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("evidence:item", item_id=item.pk)
    except vault.IntegrityAlarm:
        return _integrity_page(request, item)
    context = {
        "item": item,
        "preview": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "form": RevealForm(initial={"reason": form.cleaned_data["reason"]}),
    }
    return _no_store(render(request, "evidence/reveal.html", context))


def _integrity_page(request: HttpRequest, item: EvidenceItem) -> HttpResponse:
    response = render(request, "evidence/integrity_alarm.html", {"item": item}, status=409)
    return _no_store(response)


@login_required
@never_cache
@require_POST
def item_reveal(request: HttpRequest, item_id: str) -> HttpResponse:
    """Step 2: the full item, with the reason and a fresh TOTP code."""
    item = get_item_for_user(request.user, item_id, EvidencePermission.REVEAL)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return render(request, "evidence/reveal.html", {"item": item, "form": form}, status=400)
    download = form.cleaned_data["download"]
    try:
        actions.reveal(
            request.user, item, form.cleaned_data["reason"], form.cleaned_data["code"], download=download
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return render(request, "evidence/reveal.html", {"item": item, "form": form}, status=400)
    except vault.IntegrityAlarm:
        return _integrity_page(request, item)
    chunks = vault.read_chunks(item)
    try:
        header = next(chunks, b"")[: pdq.HEADER_BYTES]
    finally:
        chunks.close()
    inline = not download and pdq.is_image(header)
    content_type = (
        item.declared_type
        if inline and item.declared_type.startswith("image/")
        else "application/octet-stream"
    )
    response = StreamingHttpResponse(vault.read_chunks(item), content_type=content_type)
    response["Content-Length"] = str(item.size)
    # The file name may identify a person: the download is named after the item, never the original.
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="evidence-{item.short_id}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _no_store(response)


@login_required
@never_cache
@require_POST
def item_custody(request: HttpRequest, item_id: str) -> HttpResponse:
    item = get_item_for_user(request.user, item_id, EvidencePermission.CUSTODY)
    form = CustodyForm(request.POST)
    if not form.is_valid():
        context = _item_context(request, item, custody_form=form)
        return render(request, "evidence/item_detail.html", context, status=400)
    reason, action = form.cleaned_data["reason"], form.cleaned_data["action"]
    try:
        if action == "hold":
            actions.place_legal_hold(request.user, item, reason)
        elif action == "release":
            actions.release_legal_hold(request.user, item, reason)
        elif action == "destroy":
            actions.destroy_item(request.user, item, reason)
        else:
            agency = form.cleaned_data["agency"]
            if agency is None:
                raise ValidationError(_("Choose the agency the item was shared with."))
            actions.share_item(request.user, item, agency, reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except vault.IntegrityAlarm:
        return _integrity_page(request, item)
    else:
        messages.success(request, _("Recorded in the chain of custody."))
    return redirect("evidence:item", item_id=item.pk)


@login_required
@never_cache
@require_GET
def custody_report(request: HttpRequest, item_id: str) -> HttpResponse:
    item = get_item_for_user(request.user, item_id)
    response = HttpResponse(reports.custody_pdf(request.user, item), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="custody-{item.case.reference}-{item.short_id}.pdf"'
    )
    return _no_store(response)
