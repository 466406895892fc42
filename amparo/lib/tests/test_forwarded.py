"""The client's address behind trusted proxies: X-Forwarded-For believed only as far as our proxies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amparo.lib.forwarded import client_address

PROXY = "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(PROXY, "203.0.113.9", 0) == PROXY


def test_one_trusted_proxy_gives_the_address_it_appended() -> None:
    assert client_address(PROXY, "203.0.113.9", 1) == "203.0.113.9"


def test_a_client_cannot_choose_its_address_by_sending_the_header_itself() -> None:
    # The client sent "198.51.100.1"; our proxy appended the real peer, 203.0.113.9.
    assert client_address(PROXY, "198.51.100.1, 203.0.113.9", 1) == "203.0.113.9"


def test_two_trusted_proxies_skip_both() -> None:
    assert client_address(PROXY, "198.51.100.1, 203.0.113.9, 10.0.0.4", 2) == "203.0.113.9"


@pytest.mark.parametrize(("header", "expected"), [("", PROXY), ("not-an-address", PROXY)])
def test_a_short_or_malformed_chain_falls_back_to_the_peer(header: str, expected: str) -> None:
    assert client_address(PROXY, header, 1) == expected


@pytest.mark.parametrize(
    ("entry", "expected"), [("[2001:db8::1]:443", "2001:db8::1"), ("192.0.2.7:55", "192.0.2.7")]
)
def test_ports_are_dropped(entry: str, expected: str) -> None:
    assert client_address(PROXY, entry, 1) == expected


@given(header=st.text(max_size=200), trusted=st.integers(min_value=0, max_value=4))
def test_any_header_gives_the_peer_or_an_address(header: str, trusted: int) -> None:
    result = client_address(PROXY, header, trusted)
    assert result == PROXY or ":" in result or result.count(".") == 3
