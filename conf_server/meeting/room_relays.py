"""RoomRelays: the tracks of one room that cross between this node and the
other nodes hosting it (a room that spans nodes, issue 17).

Each track published on this node goes once to every other node hosting the
room that has participants (a :class:`~sfu.relay_tracks.RelayOut` per track
and node, over the node pair's relay link), whatever the number of its
subscribers there. Each track another node relays here becomes a producer of
this node's router (a :class:`~sfu.relay_tracks.RelayIn`): this node's
subscribers, speaker selection, zones, paging and the recorder take it like a
local one. Tracks relayed here are never relayed on.

Which tracks cross is agreed by snapshots (conf_server/meeting/room_span.py):
the sending node lists, per peer, the tracks it relays there
(:meth:`tracks_for`, each with its relay SSRCs and whether it is paused);
the receiving node makes its producers exactly those (:meth:`apply`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sfu import Producer, Router
from sfu.relay_link import RelayEndpoint
from sfu.relay_tracks import InvalidRelayedTrack, RelayedTrack, RelayIn, RelayOut

logger = logging.getLogger(__name__)


def is_relayed(producer: Producer) -> bool:
    """A producer fed by another node's relay (its publisher is not here)."""
    return "relayed_from" in producer.app_data


class RoomRelays:
    """One room's relayed tracks on this node (a router observer)."""

    def __init__(
        self,
        router: Router,
        endpoint: RelayEndpoint,
        node: str,
        changed: Callable[[str], None],
    ) -> None:
        self.router = router
        self.endpoint = endpoint
        self.node = node
        #: peer node -> producer id -> what this node sends it.
        self.outgoing: dict[str, dict[str, RelayOut]] = {}
        #: peer node -> producer id -> what it sends this node.
        self.incoming: dict[str, dict[str, RelayIn]] = {}
        #: Peers that have participants in the room (they get every track).
        self.targets: set[str] = set()
        #: ``changed(peer)``: the tracks this node relays to ``peer`` changed
        #: (the room's control plane sends it a snapshot).
        self._changed = changed
        self.closed = False
        router.add_observer(self)

    # -- what goes out ----------------------------------------------------------------

    def local_producers(self) -> list[Producer]:
        return [p for p in self.router.producers.values() if not is_relayed(p)]

    def want(self, peer: str, wanted: bool) -> bool:
        """``peer`` has participants in the room (it gets every track of this
        node's publishers) or has none (it gets nothing); True if what goes
        there changed."""
        if wanted:
            self.targets.add(peer)
            return self._relay_all(peer)
        self.targets.discard(peer)
        outs = self.outgoing.pop(peer, {})
        for out in outs.values():
            out._detach()
        return bool(outs)

    def refresh(self) -> set[str]:
        """Relay what is missing (a peer linked late, a peer that restarted
        with new keys): returns the peers whose tracks changed."""
        return {peer for peer in sorted(self.targets) if self._relay_all(peer)}

    def _relay_all(self, peer: str) -> bool:
        link = self.endpoint.peer(peer)
        outs = self.outgoing.setdefault(peer, {})
        changed = False
        for producer_id, out in list(outs.items()):
            if out.closed or out.peer is not link or producer_id not in self.router.producers:
                out._detach()  # a restarted peer: new keys, new SSRCs
                del outs[producer_id]
                changed = True
        if link is None:
            return changed  # not linked yet: the next heartbeat round tries again
        for producer in self.local_producers():
            if producer.id not in outs and not producer.closed:
                outs[producer.id] = self.router.relay_out(self.endpoint, link, producer, self.node)
                changed = True
        return changed

    def tracks_for(self, peer: str) -> list[dict[str, Any]]:
        """What this node relays to ``peer``, as the snapshot carries it."""
        return [
            {**out.track.to_dict(), "paused": out.producer.paused}
            for out in self.outgoing.get(peer, {}).values()
            if not out.closed
        ]

    # -- RouterObserver ---------------------------------------------------------------

    def producer_added(self, producer: Producer) -> None:
        if is_relayed(producer) or self.closed:
            return
        for peer in sorted(self.targets):
            if self._relay_all(peer):
                self._changed(peer)

    def producer_closed(self, producer: Producer) -> None:
        if is_relayed(producer):
            for ins in self.incoming.values():
                relayed = ins.get(producer.id)
                if relayed is not None and relayed.producer is producer:
                    del ins[producer.id]
            return
        for peer, outs in self.outgoing.items():
            if outs.pop(producer.id, None) is not None and not self.closed:
                self._changed(peer)

    def active_speaker_changed(self, producer: Producer | None) -> None:
        return None

    # -- what comes in ----------------------------------------------------------------

    async def apply(self, peer: str, tracks: list[dict[str, Any]]) -> None:
        """Make the producers relayed from ``peer`` exactly ``tracks``."""
        if self.closed:
            return
        link = self.endpoint.peer(peer)
        ins = self.incoming.setdefault(peer, {})
        wanted: dict[str, tuple[RelayedTrack, bool]] = {}
        for data in tracks:
            try:
                track = RelayedTrack.from_dict(data)
            except InvalidRelayedTrack as exc:
                logger.warning("relayed track from %s refused: %s", peer, exc)
                continue
            if track.origin != peer or "participant_id" not in track.app_data:
                logger.warning("relayed track from %s refused: origin or owner", peer)
                continue
            wanted[track.producer_id] = (track, bool(data.get("paused")))
        for producer_id, relayed in list(ins.items()):
            entry = wanted.get(producer_id)
            if entry is None or entry[0] != relayed.track or relayed.peer is not link:
                del ins[producer_id]
                await relayed.close()
        if link is None:
            return  # not linked yet: the next snapshot comes after the next heartbeat
        for producer_id, (track, paused) in wanted.items():
            if producer_id not in ins:
                try:
                    ins[producer_id] = self.router.relay_in(self.endpoint, link, track)
                except InvalidRelayedTrack as exc:
                    logger.warning("relayed track from %s refused: %s", peer, exc)
                    continue
            set_paused(ins[producer_id].producer, paused)

    async def drop_peer(self, peer: str) -> None:
        """``peer`` no longer hosts the room (or is gone): nothing crosses."""
        self.want(peer, False)
        for relayed in list(self.incoming.pop(peer, {}).values()):
            await relayed.close()

    # -- counts and the end -------------------------------------------------------------

    def tracks_out(self) -> int:
        return sum(1 for outs in self.outgoing.values() for out in outs.values() if not out.closed)

    def tracks_in(self) -> int:
        return sum(len(ins) for ins in self.incoming.values())

    async def close(self) -> None:
        self.closed = True
        self.router.remove_observer(self)
        for peer in list(self.outgoing):
            self.want(peer, False)
        for peer in list(self.incoming):
            for relayed in list(self.incoming.pop(peer).values()):
                await relayed.close()


def set_paused(producer: Producer, paused: bool) -> None:
    """Pause or resume a producer as ``RoomMedia.set_paused`` does: on resume
    its consumers start again from a keyframe."""
    if producer.paused == paused:
        return
    producer.paused = paused
    if not paused:
        for consumer in producer.consumers:
            consumer.resync()
