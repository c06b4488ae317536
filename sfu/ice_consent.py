"""ICE consent freshness (RFC 7675) that a late answer does not end.

aioice checks consent every 4-6 s with a binding request that it sends once
and gives up on after 0.5 s, and closes the connection after six such checks
in a row without an answer in time. So a peer whose answers take longer than
half a second (a congested uplink, a long path, a busy process: the server's
own loop or a client's during a join storm) loses its connection after about
30 s although it answers every check. Nothing then tells anyone: the closed
side stops sending and receiving, the other side's checks go unanswered and
it closes 30 s later, and the participant stays in the meeting without media
(docs/performance.md, *Hybrid meeting capacity*: a load generator's 50
participants lost most of their connections this way).

RFC 7675 asks for less: consent expires when no answer to any check sent in
the last 30 s has come. Here each check is one STUN transaction with
retransmissions (sent at 0, 0.5, 1.5 and 3.5 s, given up at 7.5 s), any
answer to any of them counts, and the connection closes once nothing has
answered for ``CONSENT_INTERVAL * CONSENT_FAILURES`` seconds (aioice's
constants, read at each check: 30 s). A peer that stopped answering is still
left within about 40 s.

:func:`install` replaces ``aioice.ice.Connection.query_consent`` once per
process (``sfu.aiortc_bridge.create_peer_connection`` calls it), so the
server's connections and every aiortc peer of the same process (tests, the
load generator) check consent the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import aioice.ice
from aioice import stun

logger = logging.getLogger(__name__)

#: Retransmissions of one check (RFC 5389 timing from a 0.5-s RTO): an answer
#: up to 7.5 s late still counts.
CHECK_RETRANSMISSIONS = 3


def expiry_seconds() -> float:
    """How long consent lasts without an answer (aioice's 6 x 5 s)."""
    return float(aioice.ice.CONSENT_INTERVAL * aioice.ice.CONSENT_FAILURES)


async def query_consent(self: Any) -> None:
    """``Connection.query_consent``, as RFC 7675 describes it (module docstring)."""
    assert self.remote_password is not None  # started by connect(), after the answer
    answered = time.monotonic()
    while True:
        interval = aioice.ice.CONSENT_INTERVAL
        await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=CHECK_RETRANSMISSIONS,
                )
            except stun.TransactionError:
                continue
            answered = time.monotonic()
        if time.monotonic() - answered >= expiry_seconds():
            logger.info("%s consent to send expired: no answer for %.0f s", self, expiry_seconds())
            self._query_consent_task = None
            await self.close()
            return


def install() -> None:
    """Make every aioice connection of this process check consent this way."""
    connection: Any = aioice.ice.Connection
    if connection.query_consent is not query_consent:
        connection.query_consent = query_consent
