"""The staff page that imports an NCMEC CyberTipline package (a zip of the folder, or the report XML
alone) uploaded through the browser: the same import as `amparo cybertip import`.

The package holds the reported media in clear, so it never touches the disk unencrypted: the upload is
streamed into an anonymous in-memory file (`memfd_create`, never linked into any file system, gone when
closed) instead of Django's temporary upload file, capped at `AMPARO_CYBERTIP_MAX_BYTES` (refused from
`Content-Length` before reading and again while streaming), and the import then seals its media into the
encrypted vault as the command-line import does. The importer reads the package through a symbolic link,
in a private temporary folder, to `/proc/self/fd/<n>`: the link holds no data. (decision 0018)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from amparo.core.policy import can
from amparo.intake import cybertip
from amparo.intake.permissions import IntakePermission
from amparo.lib.cybertip import CyberTipError
from amparo.lib.env import env_int

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# What a multipart body may carry beyond the file itself (boundaries, headers, the CSRF token).
FORM_OVERHEAD_BYTES = 64 * 1024


def max_bytes() -> int:
    """Largest package the page accepts (AMPARO_CYBERTIP_MAX_BYTES, default 256 MiB): it is held in
    memory while it is imported. Larger packages go through `amparo cybertip import` on the server."""
    return env_int("AMPARO_CYBERTIP_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1024)


class InMemoryPackage(UploadedFile):
    """The uploaded package in an anonymous memory file; `path()` names it for the importer."""

    def __init__(self, handle: Any, name: str, size: int) -> None:
        super().__init__(handle, name=name, content_type="application/octet-stream", size=size)

    def path(self) -> Path:
        return Path(f"/proc/self/fd/{self.file.fileno()}")


class MemoryPackageUploadHandler(FileUploadHandler):
    """Streams the one uploaded file into `memfd_create` memory, never to disk, up to `limit` bytes;
    a larger file is skipped (the form then says why) and its memory released at once."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.handle: Any = None
        self.written = 0
        self.too_large = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.handle is not None:  # one package per upload: any further file is ignored
            raise SkipFile
        fd = os.memfd_create("amparo-cybertip", os.MFD_CLOEXEC)
        self.handle = os.fdopen(fd, "w+b")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.handle is None or self.handle.closed:
            return
        self.written += len(raw_data)
        if self.written > self.limit:
            self.too_large = True
            self.handle.close()
            raise SkipFile
        self.handle.write(raw_data)
        return

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.handle is None or self.handle.closed:
            return None
        self.handle.flush()
        self.handle.seek(0)
        return InMemoryPackage(self.handle, self.file_name or "package", file_size)


class CyberTipUploadForm(forms.Form):
    package = forms.FileField(
        label=gettext_lazy("Package (the zip downloaded from NCMEC, or its report XML)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xml,application/zip,text/xml"}),
    )


def _too_large_message(limit: int) -> str:
    return _(
        "The package is larger than this page accepts (%(megabytes)s MB). Import it on the server with "
        "`amparo cybertip import`, or ask the system administrator to raise AMPARO_CYBERTIP_MAX_BYTES."
    ) % {"megabytes": limit // (1024 * 1024)}


@csrf_exempt  # only so that the upload handler can be chosen before the body is read: checked below
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def cybertip_import(request: HttpRequest) -> HttpResponse:
    if not can(request.user, IntakePermission.CYBERTIP_IMPORT):
        raise PermissionDenied
    limit = max_bytes()
    if request.method == "POST":
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + FORM_OVERHEAD_BYTES:
            return _page(request, CyberTipUploadForm(), status=413, error=_too_large_message(limit))
        handler = MemoryPackageUploadHandler(request, limit)
        request.upload_handlers = [handler]
        return _checked_import(request, handler, limit)
    return _page(request, CyberTipUploadForm())


@csrf_protect
def _checked_import(request: HttpRequest, handler: MemoryPackageUploadHandler, limit: int) -> HttpResponse:
    form = CyberTipUploadForm(request.POST, request.FILES)
    try:
        if handler.too_large:
            return _page(request, CyberTipUploadForm(), status=413, error=_too_large_message(limit))
        if not form.is_valid():
            return _page(request, form, status=400)
        upload = form.cleaned_data["package"]
        suffix = ".xml" if (upload.name or "").lower().endswith(".xml") else ".zip"
        try:
            with tempfile.TemporaryDirectory(prefix="cybertip-") as folder:
                # A fixed name (the uploaded file's own name is never used as a path), linking to memory.
                link = Path(folder) / f"package{suffix}"
                link.symlink_to(upload.path())
                result = cybertip.import_package(request.user, link)
        except CyberTipError as exc:
            form.add_error("package", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "intake/cybertip_done.html", {"result": result, "case": result.case})
        return _page(request, form, status=400)
    finally:
        if handler.handle is not None:
            handler.handle.close()  # the memory is released now, not when the request is collected


def _page(
    request: HttpRequest, form: CyberTipUploadForm, *, status: int = 200, error: str = ""
) -> HttpResponse:
    context = {"form": form, "error": error, "max_bytes": max_bytes()}
    return render(request, "intake/cybertip_import.html", context, status=status)
