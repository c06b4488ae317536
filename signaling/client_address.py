"""Who is on the other end: the client address that per-client limits use.

Behind a reverse proxy every request comes from the proxy, so the proxy's
``X-Forwarded-For`` header names the client; but anyone can send that header,
so it is believed only from configured trusted proxies (``trusted_proxies``),
and only as far back as the chain stays trusted: the rightmost address that is
not itself a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``trusted_proxies`` entries (addresses or CIDR networks) as networks."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...] = ()
) -> str:
    """The client's address: the TCP peer, or, when the peer is a trusted
    proxy, the rightmost untrusted address of ``X-Forwarded-For``."""
    address = (peer or "unknown").strip()
    if not forwarded_for or not trusted or not _is_trusted(address, trusted):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed chain: trust only what we saw
        if not _is_trusted(hop, trusted):
            return hop
    return address


def address_key(address: str) -> str:
    """What per-address limits count: the address itself, but an IPv6 client
    by its /64 network (one host or site usually holds a whole /64 and could
    otherwise take a fresh address per connection, as a NAT address holds an
    office). IPv4-mapped IPv6 addresses count as IPv4."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
