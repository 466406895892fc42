"""The one clean-up of text for fpdf2's core fonts (amparo.lib.pdftext)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amparo.lib.pdftext import latin1


def test_portuguese_accents_are_kept() -> None:
    assert latin1("Informação à criança: não estás só.") == "Informação à criança: não estás só."


def test_typographic_punctuation_becomes_plain() -> None:
    assert latin1("“Ajuda” – já… ‘agora’ — 1\u202f000\u00a0MZN · SERNIC → PGR") == (
        "\"Ajuda\" - já... 'agora' - 1 000 MZN - SERNIC -> PGR"
    )


def test_other_characters_outside_latin1_become_a_question_mark() -> None:
    assert latin1("ok 😀 Ω") == "ok ? ?"


def test_anything_is_written_through_str() -> None:
    assert latin1(2026) == "2026"
    assert latin1(None) == "None"


@given(st.text())
def test_the_result_is_always_latin1(text: str) -> None:
    latin1(text).encode("latin-1")  # raises if anything outside latin-1 is left
