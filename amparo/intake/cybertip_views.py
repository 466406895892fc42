"""The staff page that imports an NCMEC CyberTipline package (a zip of the folder, or the report XML
alone) uploaded through the browser: the same import as `amparo cybertip import`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from amparo.core.policy import can
from amparo.intake import cybertip
from amparo.intake.permissions import IntakePermission
from amparo.lib.cybertip import CyberTipError


class CyberTipUploadForm(forms.Form):
    package = forms.FileField(
        label=_("Package (the zip downloaded from NCMEC, or its report XML)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xml,application/zip,text/xml"}),
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def cybertip_import(request: HttpRequest) -> HttpResponse:
    if not can(request.user, IntakePermission.CYBERTIP_IMPORT):
        raise PermissionDenied
    form = CyberTipUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["package"]
        suffix = ".xml" if (upload.name or "").lower().endswith(".xml") else ".zip"
        try:
            with tempfile.TemporaryDirectory(prefix="cybertip-") as folder:
                # A fixed name: the uploaded file's own name is never used as a path.
                path = Path(folder) / f"package{suffix}"
                with open(path, "wb") as handle:
                    for chunk in upload.chunks():
                        handle.write(chunk)
                result = cybertip.import_package(request.user, path)
        except CyberTipError as exc:
            form.add_error("package", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "intake/cybertip_done.html", {"result": result, "case": result.case})
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/cybertip_import.html", {"form": form}, status=status)
