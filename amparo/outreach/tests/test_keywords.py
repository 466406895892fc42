"""The campaign keyword parser against random text, emoji, accents and case (hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from amparo.outreach import keywords

ACCENTS = [
    "\u0301",
    "\u0300",
    "\u0302",
    "\u0303",
    "\u0308",
]  # combining acute, grave, circumflex, tilde, diaeresis


def _no_word(ch: str) -> bool:
    return not keywords.tokens(ch)


junk = st.text(
    alphabet=st.characters(categories=["So", "Po", "Ps", "Pe", "Zs", "Sm"]).filter(_no_word), max_size=6
)
emoji = st.sampled_from(["😀", "🙏", "👍🏽", "❤️", "!", "...", " ", "\n"])


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """`word` in random case with random accents on its letters."""
    out = []
    for ch in word:
        ch = ch.lower() if draw(st.booleans()) else ch
        if draw(st.integers(0, 3)) == 0:
            ch = unicodedata.normalize("NFC", ch + draw(st.sampled_from(ACCENTS)))
        out.append(ch)
    return "".join(out)


@given(st.sampled_from(sorted(keywords.SUBSCRIBE_WORDS)).flatmap(spelled), junk, junk, emoji)
def test_subscribe_keyword_is_recognised_whatever_the_case_accents_or_emoji(
    word: str, before: str, after: str, extra: str
) -> None:
    command = keywords.parse(before + word + after + extra)
    assert command is not None
    assert command.kind == "subscribe"
    assert command.language in {"pt", "en"}


@given(st.sampled_from(sorted(keywords.STOP_WORDS)).flatmap(spelled), junk, junk)
def test_stop_keyword_is_recognised_whatever_the_case_accents_or_emoji(
    word: str, before: str, after: str
) -> None:
    assert keywords.parse(before + word + after) == keywords.Command("stop")


@given(st.sampled_from(sorted(keywords.LANGUAGE_WORDS)).flatmap(spelled))
def test_subscribe_with_a_language_takes_that_language(language: str) -> None:
    command = keywords.parse(f"aprender {language}")
    assert command is not None
    assert command.language == keywords.LANGUAGE_WORDS[keywords.fold(language)]


@given(st.text(max_size=300))
def test_any_text_parses_without_error_and_only_keywords_are_commands(text: str) -> None:
    command = keywords.parse(text)
    words = keywords.tokens(text)
    if command is not None:
        assert 1 <= len(words) <= 2
        assert words[0] in keywords.SUBSCRIBE_WORDS or words[0] in keywords.STOP_WORDS


@given(st.text(alphabet=st.characters(categories=["Ll", "Lu", "Zs"]), min_size=1, max_size=40))
def test_a_keyword_inside_a_longer_sentence_is_not_a_command(text: str) -> None:
    sentence = f"eu nao quero parar de {text} agora mesmo"
    assert keywords.parse(sentence) is None


@given(st.integers(0, 99), junk)
def test_numbers_are_read_with_punctuation_around(n: int, after: str) -> None:
    assert keywords.number(f" {n}{after}") == n
