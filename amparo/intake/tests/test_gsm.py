"""GSM-7 / UCS-2 detection, segmentation, folding and fitting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amparo.intake import gsm


def test_plain_ascii_is_gsm7_with_160_characters_in_one_part() -> None:
    assert gsm.segment("a" * 160) == gsm.Segmentation("gsm7", 160, 1)
    assert gsm.segment("a" * 161) == gsm.Segmentation("gsm7", 161, 2)
    assert gsm.segment("a" * 306).parts == 2
    assert gsm.segment("a" * 307).parts == 3


def test_extension_characters_count_twice() -> None:
    assert gsm.segment("€" * 80).units == 160
    assert gsm.segment("€" * 80).parts == 1
    assert gsm.segment("€" * 81).parts == 2


def test_portuguese_tilde_forces_ucs2_with_70_and_67_per_part() -> None:
    assert gsm.segment("ã" * 70) == gsm.Segmentation("ucs2", 70, 1)
    assert gsm.segment("ã" * 71).parts == 2
    assert gsm.segment("ã" * 134).parts == 2
    assert gsm.segment("ã" * 135).parts == 3


def test_emoji_counts_two_utf16_units() -> None:
    assert gsm.segment("😀" * 35).units == 70
    assert gsm.segment("😀" * 36).parts == 2


def test_fold_keeps_gsm_accents_and_replaces_the_others() -> None:
    assert gsm.fold("Denúncia à polícia, Moçambique: não!") == "Denuncia à policia, Mocambique: nao!"
    assert gsm.fold("“olá” – até…") == '"ola" - até...'
    assert gsm.is_gsm7(gsm.fold("😀 ação"))


def test_ussd_folding_drops_every_accent() -> None:
    assert gsm.fold_ussd("Português é à") == "Portugues e a"


@given(st.text(max_size=2000))
def test_folded_text_is_always_gsm7(text: str) -> None:
    assert gsm.is_gsm7(gsm.fold(text))


@given(st.text(max_size=600))
def test_ussd_screen_is_gsm7_and_at_most_182(text: str) -> None:
    screen = gsm.fold_ussd(text)
    assert gsm.is_gsm7(screen)
    assert len(screen) <= gsm.USSD_SCREEN_MAX


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=4))
def test_fit_never_exceeds_the_part_budget(text: str, parts: int) -> None:
    fitted = gsm.fit(text, parts)
    assert gsm.segment(fitted).parts <= parts
    if gsm.segment(text).parts <= parts:
        assert fitted == text
    else:
        assert fitted.endswith("...")
