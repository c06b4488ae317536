"""Checks of the connectivity settings: ICE server URLs, TURN credentials, the
announced address and the media port range (docs/configuration.md)."""

from __future__ import annotations

import ipaddress
import re

from .errors import ConfigError

#: ``stun:host[:port]``, ``turn:host[:port][?transport=udp|tcp]``, ``turns:…``.
ICE_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)

#: A port range must leave room for a few peer connections, and stays out of
#: the privileged ports.
MIN_RTC_PORT = 1024


def parse_rtc_ports(text: str) -> tuple[int, int]:
    """``"40000-40100"`` -> ``(40000, 40100)``; ConfigError when malformed."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*", text)
    if match is None:
        raise ConfigError(f"rtc_ports must look like LOW-HIGH (e.g. 40000-40100), got {text!r}")
    low, high = int(match.group(1)), int(match.group(2))
    if not MIN_RTC_PORT <= low <= high <= 65535:
        raise ConfigError(
            f"rtc_ports must satisfy {MIN_RTC_PORT} <= LOW <= HIGH <= 65535, got {text!r}"
        )
    return low, high


def check_connectivity(
    *,
    ice_servers: tuple[str, ...],
    turn_secret: str | None,
    turn_username: str | None,
    turn_password: str | None,
    turn_credential_seconds: float,
    announced_address: str | None,
    rtc_ports: str | None,
) -> None:
    """Raise ConfigError for settings that would break media for every browser."""
    for url in ice_servers:
        match = ICE_URL.fullmatch(url)
        if match is None:
            raise ConfigError(
                f"ice server {url!r} must look like stun:HOST[:PORT] or "
                "turn:HOST[:PORT][?transport=udp|tcp] (turns: for TLS)"
            )
        if match.group("port") is not None and not 0 < int(match.group("port")) < 65536:
            raise ConfigError(f"ice server {url!r}: the port must be between 1 and 65535")
    if (turn_username is None) != (turn_password is None):
        raise ConfigError("turn_username and turn_password go together: set both or neither")
    has_turn = any(url.startswith(("turn:", "turns:")) for url in ice_servers)
    if has_turn and turn_secret is None and turn_username is None:
        raise ConfigError(
            "a turn:/turns: ice server needs credentials: set turn_secret (the secret shared "
            "with coturn's use-auth-secret) or turn_username and turn_password; browsers "
            "refuse a TURN server without them"
        )
    if turn_secret is not None and len(turn_secret) < 16:
        raise ConfigError("turn_secret must have at least 16 characters")
    if not 60 <= turn_credential_seconds <= 7 * 86_400:
        raise ConfigError("turn_credential_seconds must be between 60 and 604800 (a week)")
    if announced_address is not None:
        try:
            ipaddress.ip_address(announced_address)
        except ValueError:
            raise ConfigError(
                f"announced_address must be an IP address, got {announced_address!r}"
            ) from None
    if rtc_ports is not None:
        parse_rtc_ports(rtc_ports)
