"""Where webhooks may go: an address policy against server-side request forgery.

A webhook URL is chosen by whoever holds an admin key, and the server POSTs to
it from inside the deployment's network. Without a policy such a URL could
reach what only the server can reach: its own loopback services, the cloud
metadata service (``169.254.169.254``), or machines on the private network.

The policy refuses every address that is not globally routable: loopback,
link-local (which holds the metadata services), private (RFC 1918, IPv6 ULA),
shared (``100.64.0.0/10``), unspecified, multicast, reserved and
documentation addresses, also when written as an IPv4-mapped, 6to4 or NAT64
IPv6 address. The networks of the ``webhook_allowed_networks`` setting are
allowed explicitly (e.g. ``10.20.0.0/16`` for a chat app on the LAN, or
``127.0.0.0/8`` in tests).

It is applied twice:

- at registration, to the URL's host as written (an address literal, or a
  ``localhost`` name); other names are not looked up then (the DNS answer may
  change anyway);
- at every delivery attempt, to every address the host name resolves to
  (:class:`CheckedResolver`); one refused address refuses the attempt, and
  the connection goes to the checked addresses only, so a name cannot resolve
  to an allowed address for the check and to another for the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from conf_server.errors import ConfServerError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: NAT64's well-known prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookAddressRefused(ConfServerError):
    """A webhook URL whose host is an address the policy does not allow."""

    code = "webhook_address_not_allowed"
    status = 400


class AddressRefused(OSError):
    """Raised by :class:`CheckedResolver`: the name resolves to a refused address.
    An ``OSError``, so aiohttp reports it like any other resolution failure."""


def parse_networks(networks: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``("10.0.0.0/8", "192.0.2.7")`` as networks (a bare address is a /32 or /128).
    Raises ValueError for anything else."""
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)


def _destinations(address: IPAddress) -> list[IPAddress]:
    """The addresses a connection to ``address`` really goes to: the IPv4 address
    of an IPv4-mapped one; an IPv6 address and the IPv4 address that a 6to4 or
    NAT64 address carries inside it."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    address = ipaddress.IPv6Address(address.packed)  # without a %zone
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    found: list[IPAddress] = [address]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(address.packed[-4:]))
    return found


def _kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (None: it is one)."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved or shared address"
    return None


class AddressPolicy:
    """Public addresses, plus the explicitly allowed networks."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = parse_networks(allowed)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a webhook may not go to ``address``; None if it may."""
        for destination in _destinations(address):
            if any(destination in network for network in self.allowed):
                continue
            kind = _kind(destination)
            if kind is not None:
                return f"{destination} is {kind}"
        return None

    def check_host(self, host: str) -> None:
        """At registration: refuse an address literal or a ``localhost`` name the
        policy does not allow (raises :class:`WebhookAddressRefused`)."""
        name = host.strip("[]").rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            # RFC 6761: these names always mean this machine.
            address: IPAddress = ipaddress.IPv4Address("127.0.0.1")
        else:
            numeric = _numeric_address(name)
            if numeric is None:
                return  # a name: checked after resolution, at every delivery
            address = numeric
        why = self.refusal(address)
        if why is not None:
            raise WebhookAddressRefused(_refusal_message(host, why))

    def check_resolved(self, host: str, addresses: Iterable[str]) -> None:
        """At delivery: raise :class:`AddressRefused` if any address ``host``
        resolved to is refused."""
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                raise AddressRefused(f"{host} resolved to {text!r}, not an address") from None
            why = self.refusal(address)
            if why is not None:
                raise AddressRefused(_refusal_message(host, why))


def _numeric_address(host: str) -> IPAddress | None:
    """The address a numeric host means, also in the legacy forms the C library
    accepts (``127.1``, ``2130706433``, ``0x7f.1``); None for a name. Never
    asks DNS (``AI_NUMERICHOST``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return ipaddress.ip_address(infos[0][4][0]) if infos else None


def _refusal_message(host: str, why: str) -> str:
    return (
        f"webhook host {host!r} refused: {why}; webhooks may not reach loopback, link-local, "
        "private or metadata addresses unless the webhook_allowed_networks setting "
        "allows them"
    )


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that answers only addresses the policy allows: the
    connector connects to exactly the addresses it returns (no second lookup)."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        self.policy.check_resolved(host, (result["host"] for result in results))
        return results

    async def close(self) -> None:
        await self._inner.close()


def refused_reason(exc: BaseException) -> str | None:
    """The policy's refusal inside an aiohttp connection error, if that is what it is."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AddressRefused):
            return str(current)
        current = getattr(current, "os_error", None) or current.__cause__
    return None
