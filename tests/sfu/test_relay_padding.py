"""A publisher's padding-only packets (bandwidth probes on the stream's own
numbers) across a relay (issue 17, point 3): never forwarded as media, but
their numbers cross, so a subscriber on the other node sees no gap and
nothing is asked for again.

Two routers in one process stand for two nodes, linked by real relay
endpoints on loopback (tests/sfu/relay_nodes.py); the publisher is a real
Producer fed by hand on node A (tests/sfu/hand_fed_simulcast.py), and on node
B the relayed copy's consumer sends to a loopback socket standing in for the
subscriber.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from types import SimpleNamespace

from hand_fed_simulcast import Publisher, consumer_of, received
from relay_nodes import Node

from sfu.relay_tracks import RelayOut

#: Bound for the relay to carry a handful of packets: a hang, not a speed.
WAIT_S = 10.0


async def arrivals(sock: socket.socket, count: int) -> list[int]:
    """Sequence numbers of the packets that arrive, once ``count`` have (or
    the wait is over), and of any that come right after them."""
    numbers: list[int] = []
    for _ in range(int(WAIT_S / 0.05)):
        numbers += [seq for seq, _ in received(sock)]
        if len(numbers) >= count:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    return numbers + [seq for seq, _ in received(sock)]


async def test_probes_on_one_node_leave_no_gap_for_a_subscriber_on_the_other(
    nodes: tuple[Node, Node], receiver: socket.socket
) -> None:
    a, b = nodes
    publisher = Publisher()
    out = RelayOut(a.endpoint, a.peers["node-b"], publisher.producer, "node-a")
    copy = b.router.relay_in(b.endpoint, b.peers["node-a"], out.track).producer
    viewer = await consumer_of(SimpleNamespace(producer=copy), receiver)  # type: ignore[arg-type]
    viewer.set_target_layer(0)

    publisher.probes_between_frames(0)

    got = await arrivals(receiver, 4)
    assert len(got) == 4, f"the subscriber on node B got {got}"
    assert all((later - earlier) & 0xFFFF == 1 for earlier, later in itertools.pairwise(got)), (
        f"a gap where the probes were: {got}"
    )
    # Node B received every number (the probes' as padding): nothing lost,
    # nothing to ask node A for.
    stream = copy.layers[0].stream
    assert stream is not None and stream.packets_lost == 0
    assert out.retransmissions == 0
    assert a.endpoint.stats.rtp_sent == 6
