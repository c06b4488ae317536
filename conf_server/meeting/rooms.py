"""Rooms and participants: the meeting roster as plain objects, no I/O.

A room that spans nodes (issue 17) holds, besides this node's own
participants, *mirrors* of the participants on the other nodes hosting it
(``Participant.node`` names their node): they are in the roster everybody
sees and get events through their socket on that node, but this node never
removes them, nor gives them media; their node's snapshots keep them current
(conf_server/meeting/room_span.py). A room exists here while it has at least
one participant of this node.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from conf_server.domain.resume_tokens import holder_of
from conf_server.errors import ConfServerError


def new_participant_id() -> str:
    return "p_" + secrets.token_hex(8)


def _token_of(participant: Participant) -> str:
    return participant.resume_token


class RoomFull(ConfServerError):
    code = "room_full"
    status = 409


@dataclass
class Participant:
    """One person (or device) in a room."""

    id: str
    name: str
    room: str
    sid: str | None
    joined_at: float
    resume_token: str
    audio_muted: bool = False
    video_muted: bool = False
    screen_sharing: bool = False
    connected: bool = True
    #: Mirrors of the meeting state (conf_server.domain.meeting_state), kept in step by
    #: the meeting service so the roster can be sent without a store read.
    role: str = "participant"
    mic_locked: bool = False
    #: "remote", "companion" (in a meeting room, on their own device) or "room"
    #: (the meeting room's own camera and speakerphone).
    mode: str = "remote"
    #: The physical room (acoustic zone) this participant sits in, if any.
    zone: str | None = None
    #: None: on this node. Else a mirror of a participant on that node (a room
    #: that spans nodes); ``sid`` is its socket there.
    node: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The Participant object of docs/protocol.md."""
        return {
            "id": self.id,
            "name": self.name,
            "joined_at": self.joined_at,
            "audio_muted": self.audio_muted,
            "video_muted": self.video_muted,
            "screen_sharing": self.screen_sharing,
            "connected": self.connected,
            "role": self.role,
            "mic_locked": self.mic_locked,
            "mode": self.mode,
            "zone": self.zone,
        }


@dataclass
class Room:
    """A room with its participants in join order (dicts keep insertion order)."""

    id: str
    meeting_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)
    participants: dict[str, Participant] = field(default_factory=dict)

    def roster(self) -> list[dict[str, Any]]:
        return [p.to_wire() for p in self.participants.values()]

    def local(self) -> list[Participant]:
        """This node's participants (not the mirrors of other nodes')."""
        return [p for p in self.participants.values() if p.node is None]

    def mirrors(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.node is not None]


class RoomDirectory:
    """Every room of this node, and who is where."""

    def __init__(self, max_participants: int = 100) -> None:
        self.rooms: dict[str, Room] = {}
        self._by_sid: dict[str, Participant] = {}
        self._max = max_participants

    def by_sid(self, sid: str) -> Participant | None:
        return self._by_sid.get(sid)

    def has_space(self, room_id: str) -> bool:
        """True if one more participant fits into ``room_id``."""
        room = self.rooms.get(room_id)
        return room is None or len(room.participants) < self._max

    def resume(
        self, room_id: str, name: str, sid: str, resume_token: str | None
    ) -> tuple[Participant, str] | None:
        """Give a participant back to whoever shows its resume token.

        Returns ``(participant, previous_sid)`` or None if the token matches
        nobody in the room: ``previous_sid`` is "" when the old socket is already
        gone, else the old socket's id (the owner came back before the server
        noticed the old connection die).
        """
        room = self.rooms.get(room_id)
        if not resume_token or room is None:
            return None
        participant = holder_of(room.local(), resume_token, _token_of)
        if participant is None:
            return None
        previous = participant.sid or ""
        self._by_sid.pop(previous, None)
        participant.sid = sid
        participant.name = name
        participant.connected = True
        self._by_sid[sid] = participant
        return participant, previous

    def join(
        self, room_id: str, name: str, sid: str, participant_id: str | None = None
    ) -> Participant:
        """Add a new participant (``participant_id`` if the caller chose one)."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id)
        if len(room.participants) >= self._max:
            raise RoomFull(f"room {room_id!r} is full ({self._max} participants)")
        participant = Participant(
            id=participant_id or new_participant_id(),
            name=name,
            room=room_id,
            sid=sid,
            joined_at=time.time(),
            resume_token=secrets.token_urlsafe(24),
        )
        room.participants[participant.id] = participant
        self._by_sid[sid] = participant
        return participant

    def find_mirror(self, room_id: str, resume_token: str) -> Participant | None:
        """The mirror (participant of another node) whose resume token this is."""
        room = self.rooms.get(room_id)
        if not resume_token or room is None:
            return None
        return holder_of(room.mirrors(), resume_token, _token_of)

    def set_mirrors(
        self, room_id: str, node: str, entries: list[dict[str, Any]]
    ) -> tuple[list[Participant], list[Participant]]:
        """Make the mirrors of ``node`` in ``room_id`` exactly ``entries`` (its
        participants, as its snapshot describes them); nothing if the room has
        no participant here. Returns (mirrors added or changed, mirrors gone).
        A participant of this node is never replaced by a mirror."""
        room = self.rooms.get(room_id)
        if room is None:
            return [], []
        changed: list[Participant] = []
        seen: set[str] = set()
        for entry in entries:
            participant_id = str(entry.get("id", ""))
            current = room.participants.get(participant_id)
            if not participant_id or (current is not None and current.node is None):
                continue
            seen.add(participant_id)
            mirror = mirror_of(entry, room_id, node)
            if current != mirror:
                room.participants[participant_id] = mirror
                changed.append(mirror)
        gone = [p for p in room.mirrors() if p.node == node and p.id not in seen]
        for participant in gone:
            del room.participants[participant.id]
        return changed, gone

    def take_over(self, mirror: Participant, sid: str) -> Participant:
        """A mirror's client came back to this node (its node is gone): it is
        a participant of this node from now on, on socket ``sid``."""
        mirror.node = None
        mirror.sid = sid
        mirror.connected = True
        self._by_sid[sid] = mirror
        return mirror

    def adopt(self, participant: Participant, meeting_id: str) -> None:
        """Add a participant taken over from another node (detached until its
        owner resumes with the resume token)."""
        room = self.rooms.get(participant.room)
        if room is None:
            room = self.rooms[participant.room] = Room(participant.room, meeting_id)
        room.participants[participant.id] = participant

    def detach(self, participant: Participant) -> None:
        """The participant's connection is gone but it keeps its place for now."""
        if participant.sid is not None:
            self._by_sid.pop(participant.sid, None)
        participant.sid = None
        participant.connected = False

    def remove(self, participant: Participant) -> Room | None:
        """Take the participant out; returns the room, or None if the room has
        no participant of this node left (it is gone from here, mirrors too)."""
        self.detach(participant)
        room = self.rooms.get(participant.room)
        if room is None:
            return None
        room.participants.pop(participant.id, None)
        if not room.local():
            del self.rooms[participant.room]
            return None
        return room


def mirror_of(entry: dict[str, Any], room_id: str, node: str) -> Participant:
    """A participant of ``node`` as its roster snapshot describes it."""
    zone = entry.get("zone")
    return Participant(
        id=str(entry["id"]),
        name=str(entry.get("name", "")),
        room=room_id,
        sid=str(entry["sid"]) if entry.get("sid") else None,
        joined_at=float(entry.get("joined_at", 0.0)),
        resume_token=str(entry.get("resume_token") or ""),
        audio_muted=bool(entry.get("audio_muted", False)),
        video_muted=bool(entry.get("video_muted", False)),
        screen_sharing=bool(entry.get("screen_sharing", False)),
        connected=bool(entry.get("connected", True)),
        role=str(entry.get("role", "participant")),
        mic_locked=bool(entry.get("mic_locked", False)),
        mode=str(entry.get("mode", "remote")),
        zone=str(zone) if zone is not None else None,
        node=node,
    )
