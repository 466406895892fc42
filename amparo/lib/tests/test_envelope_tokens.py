"""Sealed tokens (AES-256-GCM under an HKDF-derived key): unreadable, bound to a purpose, time-limited."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amparo.lib import envelope

KEY = envelope.derive_key("s" * 50, "tests")
NOW = 1_800_000_000


def test_derived_keys_differ_per_purpose_and_per_secret() -> None:
    assert len(KEY) == 32
    assert envelope.derive_key("s" * 50, "tests") == KEY
    assert envelope.derive_key("s" * 50, "other") != KEY
    assert envelope.derive_key("t" * 50, "tests") != KEY


@given(payload=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5))
def test_a_token_round_trips_within_its_age(payload: dict[str, str]) -> None:
    token = envelope.seal_token(KEY, payload, "form", NOW)
    assert envelope.open_token([KEY], token, "form", NOW + 60, max_age=60) == payload


def test_a_token_opens_only_for_its_purpose_its_key_and_its_time() -> None:
    token = envelope.seal_token(KEY, {"a": "b"}, "form", NOW)
    other_key = envelope.derive_key("t" * 50, "tests")
    assert envelope.open_token([KEY], token, "another form", NOW, 60) is None
    assert envelope.open_token([other_key], token, "form", NOW, 60) is None
    assert envelope.open_token([other_key, KEY], token, "form", NOW, 60) == {"a": "b"}
    assert envelope.open_token([KEY], token, "form", NOW + 61, 60) is None
    assert envelope.open_token([KEY], token, "form", NOW - 1, 60) is None  # stamped in the future


@given(garbage=st.text(max_size=300))
def test_any_text_that_is_not_a_token_opens_to_nothing(garbage: str) -> None:
    assert envelope.open_token([KEY], garbage, "form", NOW, 60) is None
    assert envelope.open_token([KEY], "e1." + garbage, "form", NOW, 60) is None
