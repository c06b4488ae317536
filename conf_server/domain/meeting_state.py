"""The shared state of one meeting: everything every node must see.

One :class:`MeetingState` per meeting holds the domain objects (roles, entry
rules and lobby, microphone locks, raised hands, polls, chat, reaction limits)
and the attendance list. It has no I/O: the store (:mod:`conf_server.cluster.store`)
keeps it as the JSON of :meth:`MeetingState.to_dict`, so the memory backend and
a Redis backend behave the same, and a change that raises is never saved.

Live connections (socket ids, peer connections) are not here: they belong to
the node that serves the room.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import ChatLog, HandQueue, MeetingAccess, MuteLocks, PollBook, Reactions, RoleBook
from .decisions import DecisionLog
from .participation import Participation
from .questionnaire_book import QuestionnaireBook


@dataclass
class Member:
    """Someone who was admitted to the meeting (attendance, and who may vote)."""

    participant_id: str
    name: str
    identity: str
    joined_at: float
    left_at: float | None = None
    mode: str = "remote"
    zone: str | None = None
    #: The person's user id in the chat app, when they came with an invite.
    user_id: str | None = None

    @property
    def present(self) -> bool:
        return self.left_at is None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able fields (what ``Member(**d)`` takes back).

        Every field is a str, float or None, so a shallow copy is the whole
        job; ``dataclasses.asdict`` deep-copies each value and was most of the
        cost of saving a meeting (every member is saved on every change).
        """
        return dict(vars(self))


#: Check-in codes: 6 characters without look-alikes (no 0/O, 1/I/L), ~30 bits;
#: short enough to type from a room's screen, and only good inside one meeting.
CHECKIN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECKIN_LENGTH = 6

#: The store log that holds a meeting's chat transcript (the newest
#: CHAT_TRANSCRIPT messages; late joiners see the newest ChatLog.max_history).
CHAT_LOG = "chat"
CHAT_TRANSCRIPT = 10_000


def new_host_key() -> str:
    """An unguessable key that makes whoever shows it a host (~190 bits)."""
    return secrets.token_urlsafe(24)


@dataclass
class MeetingState:
    """One meeting, from creation until it ends (and a while after, for reports)."""

    room: str
    meeting_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    title: str = ""
    host_key: str = field(default_factory=new_host_key)
    created_at: float = 0.0
    #: Made by simply joining a room (not through the API): whoever opens the
    #: empty meeting becomes its host.
    ad_hoc: bool = False
    #: When the room last became empty (None while someone is in it).
    emptied_at: float | None = None
    roles: RoleBook = field(default_factory=RoleBook)
    access: MeetingAccess = field(default_factory=MeetingAccess)
    mic_locks: MuteLocks = field(default_factory=MuteLocks)
    hands: HandQueue = field(default_factory=HandQueue)
    polls: PollBook = field(default_factory=PollBook)
    questionnaires: QuestionnaireBook = field(default_factory=QuestionnaireBook)
    chat: ChatLog = field(default_factory=ChatLog)
    reactions: Reactions = field(default_factory=Reactions)
    members: dict[str, Member] = field(default_factory=dict)
    #: Check-in codes of room devices: code -> zone (see checkin_code_for).
    checkins: dict[str, str] = field(default_factory=dict)
    #: Who a host spotlighted for everyone (None: nobody).
    spotlight: str | None = None
    #: Made from a chat (POST /api/v1/escalations): the chat's id. Such a
    #: meeting is invite-only (``access``).
    chat_id: str | None = None
    #: Transcribe this meeting's recordings? None: as the deployment says
    #: (``transcript_enabled``); False turns it off for this meeting.
    transcript: bool | None = None
    #: The language spoken (a tag such as ``en-US``); None: the deployment's
    #: ``transcript_language``.
    language: str | None = None
    #: Live captions turned on by a host (each client still chooses to show them).
    captions: bool = False
    #: Decisions the hosts marked (the meeting's summary lists them).
    decisions: DecisionLog = field(default_factory=DecisionLog)
    #: Participation points: the host's setting and the counts it keeps.
    participation: Participation = field(default_factory=Participation)
    #: The meeting records (``{"state": "recording" | "paused", "started_at"}``)
    #: or not (None): the room-wide truth every node shows newcomers, and what
    #: a new owner of a room that spans nodes continues (in a new part).
    recording: dict[str, Any] | None = None
    #: A host stopped the recording: under the ``automatic`` policy it is not
    #: started again, by this node or by a new owner of the room.
    recording_stopped: bool = False

    @property
    def ended(self) -> bool:
        return self.access.ended

    def is_member(self, participant_id: str) -> bool:
        """True if ``participant_id`` is in the meeting now."""
        member = self.members.get(participant_id)
        return member is not None and member.present

    def present_ids(self) -> list[str]:
        """Participant ids in the meeting now, in join order."""
        return [pid for pid, member in self.members.items() if member.present]

    def name_of(self, participant_id: str) -> str:
        member = self.members.get(participant_id)
        return member.name if member else participant_id

    def checkin_code_for(self, zone: str) -> str:
        """The check-in code of ``zone`` (made on first use): people in that
        physical room enter it to join as its members."""
        for code, known in self.checkins.items():
            if known == zone:
                return code
        while True:
            code = "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(CHECKIN_LENGTH))
            if code not in self.checkins:
                self.checkins[code] = zone
                return code

    def zone_of_checkin(self, code: str) -> str | None:
        """The zone a check-in code stands for (codes are case-insensitive)."""
        return self.checkins.get(code.upper())

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "room": self.room,
            "meeting_id": self.meeting_id,
            "title": self.title,
            "host_key": self.host_key,
            "created_at": self.created_at,
            "ad_hoc": self.ad_hoc,
            "emptied_at": self.emptied_at,
            "roles": self.roles.to_dict(),
            "access": self.access.to_dict(),
            "mic_locks": self.mic_locks.to_dict(),
            "hands": self.hands.to_dict(),
            "polls": self.polls.to_dict(),
            "questionnaires": self.questionnaires.to_dict(),
            # The messages themselves live in the store's "chat" log (CHAT_LOG);
            # the state keeps the id counter and the rate limit.
            "chat": {**self.chat.to_dict(), "messages": []},
            "reactions": self.reactions.to_dict(),
            "members": [member.to_dict() for member in self.members.values()],
            "checkins": dict(self.checkins),
            "spotlight": self.spotlight,
            "chat_id": self.chat_id,
            "transcript": self.transcript,
            "language": self.language,
            "captions": self.captions,
            "decisions": self.decisions.to_dict(),
            "participation": self.participation.to_dict(),
            "recording": self.recording,
            "recording_stopped": self.recording_stopped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeetingState:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            room=data["room"],
            meeting_id=data["meeting_id"],
            title=data["title"],
            host_key=data["host_key"],
            created_at=float(data["created_at"]),
            ad_hoc=bool(data["ad_hoc"]),
            emptied_at=data["emptied_at"],
            roles=RoleBook.from_dict(data["roles"]),
            access=MeetingAccess.from_dict(data["access"]),
            mic_locks=MuteLocks.from_dict(data["mic_locks"]),
            hands=HandQueue.from_dict(data["hands"]),
            polls=PollBook.from_dict(data["polls"]),
            # Absent in states stored before questionnaires existed.
            questionnaires=QuestionnaireBook.from_dict(data["questionnaires"])
            if "questionnaires" in data
            else QuestionnaireBook(),
            chat=ChatLog.from_dict(data["chat"]),
            reactions=Reactions.from_dict(data["reactions"]),
            members={m["participant_id"]: Member(**m) for m in data["members"]},
            checkins=dict(data["checkins"]),
            spotlight=data["spotlight"],
            chat_id=data["chat_id"],
            # Absent in states stored before these settings existed.
            transcript=data.get("transcript"),
            language=data.get("language"),
            captions=bool(data.get("captions", False)),
            decisions=DecisionLog.from_dict(data["decisions"])
            if "decisions" in data
            else DecisionLog(),
            participation=Participation.from_dict(data["participation"])
            if "participation" in data
            else Participation(),
            recording=recording_status(data.get("recording")),
            recording_stopped=bool(data.get("recording_stopped", False)),
        )


def recording_status(data: Any) -> dict[str, Any] | None:
    """A stored recording status as :attr:`MeetingState.recording` holds it
    (None for anything else)."""
    if not isinstance(data, dict) or data.get("state") not in ("recording", "paused"):
        return None
    started_at = data.get("started_at")
    return {
        "state": data["state"],
        "started_at": float(started_at) if isinstance(started_at, int | float) else None,
    }
