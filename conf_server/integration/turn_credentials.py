"""The ICE servers a participant is given, with short-lived TURN credentials.

coturn's TURN REST API convention (``use-auth-secret``; draft-uberti-behave-
turn-rest-00): the username is ``<expiry unix time>:<user>`` and the password
is base64(HMAC-SHA1(shared secret, username)). coturn checks both with the
same secret and refuses the username after its expiry time, so the server
hands each participant its own credentials without telling coturn anything,
and a credential that leaks stops working by itself. The secret never leaves
the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

#: What goes after the expiry in a username: an id, never a display name
#: (coturn logs usernames; ``:`` separates the expiry).
MAX_USER_LENGTH = 64


def turn_rest_credentials(secret: str, user: str, expires_at: int) -> tuple[str, str]:
    """``(username, password)`` for ``user`` valid until ``expires_at`` (unix seconds)."""
    if not user or ":" in user or len(user) > MAX_USER_LENGTH:
        raise ValueError("a TURN user is a short id without ':'")
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def client_ice_servers(
    urls: tuple[str, ...],
    *,
    user: str,
    now: float,
    turn_secret: str | None,
    lifetime_seconds: float,
    turn_username: str | None = None,
    turn_password: str | None = None,
) -> list[dict[str, Any]]:
    """The ``ice_servers`` list of a join acknowledgement (RTCIceServer dicts).

    STUN URLs go as they are; all turn:/turns: URLs share one entry with
    credentials (from ``turn_secret`` when set, else the fixed ones), so a
    browser tries each transport with the same allocation identity.
    """
    servers: list[dict[str, Any]] = [{"urls": url} for url in urls if url.startswith("stun")]
    turn = [url for url in urls if url.startswith(("turn:", "turns:"))]
    if not turn:
        return servers
    if turn_secret is not None:
        username, credential = turn_rest_credentials(turn_secret, user, int(now + lifetime_seconds))
    elif turn_username is not None and turn_password is not None:
        username, credential = turn_username, turn_password
    else:  # the settings refuse this; never hand out a TURN URL browsers reject
        return servers
    servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def server_ice_servers(urls: tuple[str, ...]) -> tuple[str, ...]:
    """The URLs the server's own ICE agent uses: STUN only. A server with a
    reachable address gains nothing from relaying its own side, and it would
    use one TURN allocation per peer connection."""
    return tuple(url for url in urls if url.startswith("stun"))
