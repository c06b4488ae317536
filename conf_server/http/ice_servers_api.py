"""``GET /api/v1/ice-servers``: the ICE servers a browser may test before it joins.

The pre-join page's connectivity check (web_client/js/connectivity_check.js)
asks for them without a key: it runs before the person is in any meeting. The
answer is what a join acknowledgement holds (conf_server/integration/turn_credentials.py),
for a throwaway user ``check-<random>`` and with credentials that live at most
:data:`MAX_CHECK_LIFETIME` seconds.

What this hands out is no more than a join does: anyone may open an empty room
and join it, and gets TURN credentials for ``turn_credential_seconds`` (a day by
default). The per-address budget only keeps a script from minting credentials
in bulk (each is a separate coturn user in its logs and quotas).
"""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from conf_server.integration.turn_credentials import client_ice_servers
from conf_server.meeting.meeting_creation import TooManyRequests
from conf_server.settings import Settings
from signaling.client_address import Network, address_key, client_address, parse_networks
from signaling.rate_limit import Limit, RateLimiter

from .keys import SETTINGS

#: A check needs seconds; five minutes leaves room for a slow one and a retry.
MAX_CHECK_LIFETIME = 300.0
#: Checks one client address may start at once (a person clicking "Check
#: connection" again after changing networks), then :data:`PER_MINUTE`.
BURST = 5
PER_MINUTE = 4
#: Client addresses whose budget is remembered (the oldest are forgotten first).
MAX_TRACKED_ADDRESSES = 50_000


class CheckBudget:
    """The per-address budget of this route, made from the settings at its
    first use (the sub-application is built without them)."""

    def __init__(self) -> None:
        self._limiter = RateLimiter(
            Limit(rate=PER_MINUTE / 60.0, burst=BURST), max_keys=MAX_TRACKED_ADDRESSES
        )
        self._trusted: tuple[Network, ...] | None = None

    def admit(self, request: web.Request, settings: Settings) -> None:
        """Spend one check of this client's budget, or raise :class:`TooManyRequests`."""
        if self._trusted is None:
            self._trusted = parse_networks(settings.trusted_proxies)
        forwarded = request.headers.get("X-Forwarded-For")
        address = client_address(request.remote, forwarded, self._trusted)
        wait = self._limiter.take(address_key(address))
        if wait is not None:
            raise TooManyRequests(
                f"too many connectivity checks from your address; try again in {wait:.0f} s",
                retry_after=wait,
            )


BUDGET = web.AppKey("ice_servers_budget", CheckBudget)


async def get_ice_servers(request: web.Request) -> web.Response:
    settings: Settings = request.config_dict[SETTINGS]
    request.app[BUDGET].admit(request, settings)
    now = time.time()
    lifetime = min(settings.turn_credential_seconds, MAX_CHECK_LIFETIME)
    servers = client_ice_servers(
        settings.ice_servers,
        user=f"check-{secrets.token_hex(6)}",
        now=now,
        turn_secret=settings.turn_secret,
        lifetime_seconds=lifetime,
        turn_username=settings.turn_username,
        turn_password=settings.turn_password,
    )
    return web.json_response(
        {"ice_servers": servers, "expires_at": int(now + lifetime)},
        # Credentials: no proxy or browser cache may keep or share them.
        headers={"Cache-Control": "no-store"},
    )


def add_routes(api: web.Application) -> None:
    api[BUDGET] = CheckBudget()
    api.router.add_get("/ice-servers", get_ice_servers)
