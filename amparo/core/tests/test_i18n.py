"""The catalogues are complete and current: Portuguese and English have every string, local
languages fall back to Portuguese string by string, and no source string is missing from a
catalogue (the check Warehouse's locale Makefile makes)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

ROOT = Path(settings.BASE_DIR)
CATALOGUES = sorted(ROOT.glob("**/locale/pt/LC_MESSAGES/django.po"))
LOCAL_LANGUAGES = ("vmw", "ts", "seh", "ny")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_every_app_with_user_facing_text_has_a_portuguese_catalogue():
    assert {p.relative_to(ROOT).parts[0] for p in CATALOGUES} >= {"core", "cases", "locale"}


@pytest.mark.parametrize("path", CATALOGUES, ids=_ids(CATALOGUES))
def test_portuguese_catalogue_is_complete(path: Path):
    po = polib.pofile(str(path))
    missing = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert missing == [], (
        f"{len(missing)} untranslated in {path.relative_to(ROOT)}; run `make messages` and translate"
    )
    assert fuzzy == [], f"{len(fuzzy)} fuzzy in {path.relative_to(ROOT)}"


@pytest.mark.parametrize("path", CATALOGUES, ids=_ids(CATALOGUES))
def test_english_catalogue_is_complete(path: Path):
    en = polib.pofile(str(path).replace("/pt/", "/en/"))
    assert [e.msgid for e in en.untranslated_entries()] == []


@pytest.mark.parametrize("path", CATALOGUES, ids=_ids(CATALOGUES))
def test_compiled_catalogue_matches_its_source(path: Path):
    for lang in ("pt", "en"):
        po_path = Path(str(path).replace("/pt/", f"/{lang}/"))
        mo = polib.mofile(str(po_path.with_suffix(".mo")))
        po = polib.pofile(str(po_path))
        compiled = {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in mo}
        source = {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in po.translated_entries()}
        assert compiled == source, (
            f"{po_path.with_suffix('.mo').relative_to(ROOT)} is stale: run `make messages`"
        )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_no_source_string_is_missing_from_the_catalogues(tmp_path: Path):
    """Extract afresh into a copy of the tree and compare the message ids with the committed ones."""
    copy = tmp_path / "amparo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    script = Path(settings.PROJECT_DIR) / "scripts" / "messages.sh"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "AMPARO_DATA_DIR": str(tmp_path / "var")}
    (tmp_path / "scripts").mkdir()
    shutil.copy(script, tmp_path / "scripts" / "messages.sh")
    shutil.copy(script.parent / "fill_catalogues.py", tmp_path / "scripts" / "fill_catalogues.py")
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", str(tmp_path / "scripts" / "messages.sh")],
        cwd=tmp_path,
        env={
            **env,
            "AMPARO": str(Path(sys.executable).parent / "amparo"),
            "PY": sys.executable,
            "PYTHONPATH": str(tmp_path),
        },
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for fresh in sorted(copy.glob("**/locale/pt/LC_MESSAGES/django.po")):
        committed = ROOT / fresh.relative_to(copy)
        assert committed.exists(), f"{committed.relative_to(ROOT)} is missing: run `make messages`"
        want = {(e.msgctxt, e.msgid) for e in polib.pofile(str(fresh))}
        have = {(e.msgctxt, e.msgid) for e in polib.pofile(str(committed))}
        assert want - have == set(), f"{committed.relative_to(ROOT)} lacks strings: run `make messages`"


@pytest.mark.parametrize("code", LOCAL_LANGUAGES)
def test_local_languages_are_offered_and_fall_back_to_portuguese(code: str):
    assert code in dict(settings.LANGUAGES)
    assert trans_real.check_for_language(code)
    with translation.override("pt"):
        portuguese = translation.gettext("Sign in")
    with translation.override(code):
        assert translation.gettext("Sign in") == portuguese
    assert portuguese != "Sign in"


def test_english_is_english_and_portuguese_is_the_default():
    assert settings.LANGUAGE_CODE == "pt"
    with translation.override("en"):
        assert translation.gettext("Sign in") == "Sign in"
