"""The announced address (``announced_address``): what the server's SDP says
its host candidates are, when the address it binds is not the one clients reach.

Behind a 1:1 NAT or in a container the server binds a private address, while
clients must send to the public one the NAT maps onto it (mediasoup's
``announcedAddress``, Janus's ``nat_1_1_mapping``). The server keeps binding
and checking connectivity on the private address (aioice's candidates stay as
they are: the NAT delivers packets for the public address to the private one);
only the SDP it sends is rewritten: every host candidate's address, and the
``c=`` lines that repeat a host candidate's address (aiortc puts the first
candidate there). Ports and every other byte stay as they were.
"""

from __future__ import annotations

import ipaddress
import re

#: ``a=candidate:foundation component transport priority ADDRESS port typ TYPE ...``
_CANDIDATE = re.compile(
    r"^(?P<head>a=candidate:\S+ \d+ \S+ \d+ )(?P<address>\S+)(?P<tail> \d+ typ (?P<type>\S+).*)$"
)
#: ``c=IN IP4 address`` (or IP6), as a whole line.
_CONNECTION = re.compile(r"^c=IN IP[46] (?P<address>\S+)$")


def announce_address(sdp: str, address: str) -> str:
    """``sdp`` with its host candidates' address replaced by ``address``.

    ``c=`` lines naming one of those host addresses name ``address`` too
    (``IN IP4`` or ``IN IP6`` after its family). Server-reflexive and relay
    candidates, and everything else, are left byte for byte.
    """
    family = "IP6" if ipaddress.ip_address(address).version == 6 else "IP4"
    lines = sdp.split("\n")  # a trailing "\r" stays on its line
    bound: set[str] = set()
    for index, line in enumerate(lines):
        body, end = _split_end(line)
        match = _CANDIDATE.match(body)
        if match is not None and match.group("type") == "host":
            bound.add(match.group("address"))
            lines[index] = f"{match.group('head')}{address}{match.group('tail')}{end}"
    for index, line in enumerate(lines):
        body, end = _split_end(line)
        match = _CONNECTION.match(body)
        if match is not None and match.group("address") in bound:
            lines[index] = f"c=IN {family} {address}{end}"
    return "\n".join(lines)


def _split_end(line: str) -> tuple[str, str]:
    return (line[:-1], "\r") if line.endswith("\r") else (line, "")
