"""The client's address behind a known number of reverse proxies (no Django).

Each proxy appends the address it received the connection from to `X-Forwarded-For`; the last proxy's
own address is the socket's peer (`REMOTE_ADDR`). With `trusted` proxies in front of us, the client is
the entry `trusted` places from the right of the chain (`X-Forwarded-For` entries, then `REMOTE_ADDR`).
Entries further left were written by the client or by proxies we do not run, and are never believed.
With no trusted proxy the header is ignored altogether: anyone on the internet can send it.
"""

from __future__ import annotations

import ipaddress


def _address(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(remote_addr: str, forwarded_for: str, trusted: int) -> str:
    """The client's address, or `remote_addr` when the chain is shorter than the trusted proxies
    (a request that did not come through them) or the entry there is not an address."""
    if trusted <= 0:
        return remote_addr
    chain = [part for part in forwarded_for.split(",") if part.strip()] + [remote_addr]
    if len(chain) <= trusted:
        return remote_addr
    return _address(chain[-(trusted + 1)]) or remote_addr


def parse_networks(cidrs: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks from CIDR strings ("196.201.214.0/24", a bare address is a /32 or /128); a malformed one
    raises ValueError naming it."""
    networks = []
    for raw in cidrs:
        try:
            networks.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{raw.strip()!r} is not an address or a network in CIDR form (e.g. 196.201.214.0/24)."
            ) from None
    return networks


def address_in(address: str, cidrs: list[str]) -> bool:
    """Whether `address` lies in one of `cidrs` (stored, already checked)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in parse_networks(cidrs) if net.version == ip.version)
