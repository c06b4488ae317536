"""The media port range (``rtc_ports``): which UDP ports the server's ICE sockets bind.

A :class:`PortRange` hands out the ports of ``low..high`` in turn, skips ports
someone else holds (``EADDRINUSE``: another process, or a client socket the
kernel gave an ephemeral port in the range), and takes a port back as soon as
the socket bound to it is closed (aioice closes its sockets when a peer
connection closes; the range notices on its next count). There is one range per
``(low, high)`` in a process, shared by every router and transport, because
ports belong to the host, not to a room.

:class:`PortRange` knows nothing of aiortc: the bridge
(``aiortc_bridge.set_local_description``) binds through :meth:`PortRange.bind`,
and tells :func:`check_media_ports` how many addresses ICE gathers on.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Awaitable, Callable
from typing import TypeVar

from . import aiortc_bridge as bridge
from .errors import MediaPortsFull
from .settings import SfuSettings

T = TypeVar("T")

#: A participant's peer connections: one to publish, one to receive. Each binds
#: one port per ICE address (all m-sections share one transport: BUNDLE).
PEER_CONNECTIONS_PER_PARTICIPANT = 2


class PortRange:
    """The UDP ports ``low..high`` (both included), handed out one socket each."""

    def __init__(self, low: int, high: int) -> None:
        if not 0 < low <= high <= 65535:
            raise ValueError(f"not a port range: {low}-{high}")
        self.low = low
        self.high = high
        #: port -> "is its socket closed?"; None while the bind is under way.
        self._held: dict[int, Callable[[], bool] | None] = {}
        self._next = low

    @property
    def capacity(self) -> int:
        """How many ports the range has."""
        return self.high - self.low + 1

    @property
    def in_use(self) -> int:
        """Ports held by open sockets (or being bound right now)."""
        self._reclaim()
        return len(self._held)

    @property
    def free(self) -> int:
        return self.capacity - self.in_use

    def check_room_for_participant(self, addresses: int, participants: int) -> None:
        """Raise :class:`MediaPortsFull` unless one more participant fits
        beside ``participants`` (each binds ``PEER_CONNECTIONS_PER_PARTICIPANT``
        sockets on each of ``addresses``).

        Both must hold: the range's size holds them all (those admitted but not
        yet negotiating hold no port yet, and will), and the ports free right
        now hold the newcomer (someone outside may hold some of them).
        """
        each = PEER_CONNECTIONS_PER_PARTICIPANT * max(1, addresses)
        if (participants + 1) * each > self.capacity or self.free < each:
            raise MediaPortsFull(
                f"the server's media port range ({self.low}-{self.high}) is full: "
                "no room for another participant's media; try again later"
            )

    async def bind(
        self, open_port: Callable[[int], Awaitable[T]], is_closed: Callable[[T], bool]
    ) -> T:
        """``await open_port(port)`` on free ports in turn until one binds.

        A port whose bind fails with ``EADDRINUSE`` is skipped (someone outside
        this range holds it); any other ``OSError`` is raised as it is. The
        port counts as used until ``is_closed(result)`` says so. Raises
        :class:`MediaPortsFull` when no free port binds.
        """
        for port in self._free_ports():
            if port in self._held:
                continue  # taken by a concurrent bind meanwhile
            # Claimed before the await: a concurrent gathering must not pick it too.
            self._held[port] = None
            try:
                opened = await open_port(port)
            except OSError as exc:
                del self._held[port]
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            except BaseException:
                del self._held[port]
                raise
            self._held[port] = functools.partial(is_closed, opened)
            self._next = port + 1 if port < self.high else self.low
            return opened
        raise MediaPortsFull(f"no free UDP port in the media port range {self.low}-{self.high}")

    def _free_ports(self) -> list[int]:
        """Free ports, starting after the last one given: a port just closed is
        reused last, so late packets of an old connection meet no new one."""
        self._reclaim()
        order = [*range(self._next, self.high + 1), *range(self.low, self._next)]
        return [port for port in order if port not in self._held]

    def _reclaim(self) -> None:
        for port, closed in list(self._held.items()):
            if closed is not None and closed():
                del self._held[port]


_RANGES: dict[tuple[int, int], PortRange] = {}


def shared_port_range(bounds: tuple[int, int]) -> PortRange:
    """The process's one :class:`PortRange` for ``bounds`` (``SfuSettings.rtc_ports``)."""
    ports = _RANGES.get(bounds)
    if ports is None:
        ports = _RANGES[bounds] = PortRange(*bounds)
    return ports


def check_media_ports(settings: SfuSettings, participants: int) -> None:
    """Raise :class:`MediaPortsFull` (code ``media_ports_full``) when the
    deployment confines media to a port range that cannot hold one more
    participant beside the ``participants`` this server has; nothing when it
    does not confine them.

    Ask before admitting someone. Should the ports still run out when a
    participant negotiates (another process took some meanwhile), that
    negotiation fails with the same error.
    """
    if settings.rtc_ports is not None:
        addresses = bridge.host_address_count(settings.ice_addresses)
        shared_port_range(settings.rtc_ports).check_room_for_participant(addresses, participants)
