"""The CyberTipline upload page keeps the package off the disk in clear and caps its size."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from amparo.cases.models import Case
from amparo.core.tests.test_web import sign_in
from amparo.intake import cybertip
from amparo.intake.tests import test_cybertip_import
from amparo.intake.tests.test_cybertip_import import EXAMPLE, assert_nothing_left

evidence_dir = test_cybertip_import.evidence_dir  # the fixture: a local vault

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MEDIA = (EXAMPLE / "Media" / "image_0001.jpg").read_bytes()


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def stored_zip(target: Path, padding: int = 0) -> bytes:
    """The example package zipped without compression (so that its media bytes appear as they are), with
    `padding` bytes of filler to push it past Django's in-memory upload limit."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(EXAMPLE.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(EXAMPLE).as_posix())
        if padding:
            archive.writestr("Notes/filler.txt", b"x" * padding)
    return target.read_bytes()


def _plaintext_files(root: Path) -> list[Path]:
    """Regular files (not symbolic links) under `root` that hold the media in clear."""
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink() and MEDIA[:4096] in path.read_bytes():
                found.append(path)
    return found


@pytest.mark.django_db
def test_an_uploaded_package_is_never_on_disk_in_clear(
    client,
    make_user,
    evidence_dir,
    tmp_path,
    settings,
    monkeypatch,  # noqa: ANN001
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(scratch)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[list[Path]] = []
    real_import = cybertip.import_package

    def watching_import(actor, path, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.append(_plaintext_files(scratch) + _plaintext_files(evidence_dir))
        return real_import(actor, path, **kwargs)

    monkeypatch.setattr(cybertip, "import_package", watching_import)
    body = stored_zip(tmp_path / "package.zip", padding=3 * 1024 * 1024)  # over Django's 2.5 MB in memory
    sign_in(client, make_user("intake_officer", agency="sernic"))
    response = client.post(
        reverse("intake:cybertip"), {"package": SimpleUploadedFile("package.zip", body)}, **EN
    )
    assert response.status_code == 200, response.content.decode()[-1500:]
    assert Case.objects.count() == 1
    assert seen == [[]]  # while the import ran, no plaintext copy existed in the temporary folders
    assert _plaintext_files(scratch) == []
    assert _plaintext_files(evidence_dir) == []  # the vault holds ciphertext only


@pytest.mark.django_db
@pytest.mark.parametrize(("limit", "padding"), [(4096, 0), (4096, 200_000)])
def test_a_package_over_the_limit_is_refused_with_what_to_do_and_nothing_is_kept(
    client,
    make_user,
    evidence_dir,
    tmp_path,
    monkeypatch,
    limit: int,
    padding: int,
) -> None:
    # Without padding the package is refused while it streams in (Content-Length is within the form's
    # overhead); with it, from Content-Length before anything is read.
    monkeypatch.setenv("AMPARO_CYBERTIP_MAX_BYTES", str(limit))
    body = stored_zip(tmp_path / "package.zip", padding=padding)
    assert len(body) > limit
    sign_in(client, make_user("intake_officer", agency="sernic"))
    response = client.post(
        reverse("intake:cybertip"), {"package": SimpleUploadedFile("package.zip", body)}, **EN
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "The package is larger than this page accepts" in page
    assert "amparo cybertip import" in page
    assert_nothing_left(evidence_dir)


@pytest.mark.django_db
def test_the_upload_page_still_checks_the_csrf_token(client, make_user, tmp_path) -> None:  # noqa: ANN001
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, make_user("intake_officer", agency="sernic"))
    body = stored_zip(tmp_path / "package.zip")
    response = strict.post(reverse("intake:cybertip"), {"package": SimpleUploadedFile("package.zip", body)})
    assert response.status_code == 403
    assert not Case.objects.exists()
