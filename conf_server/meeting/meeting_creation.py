"""Creating a meeting ahead of time (``POST /api/v1/meetings``), and who may.

The model (docs/rest-api.md, docs/security.md):

- **With an API key** (integration or admin): any free room name, draft
  polls, kept :data:`SCHEDULED_MEETING_TTL` (7 days) until someone opens it.
- **Without a key** (the landing page's "Start a meeting"): a random room
  name only (a chosen name would let anyone hold ``/r/standup`` against its
  owners), no draft polls, kept ``anonymous_meeting_ttl_seconds`` (1 hour)
  until someone opens it; at most ``anonymous_meetings_per_hour`` per client
  address (IPv6: per /64, which one host usually has whole), and none while
  the store holds ``max_meetings`` meetings. So what anonymous callers can make
  the server hold is bounded: the count by the cap, each meeting's size by the
  fields allowed (a title and a passcode, about 1.5 KB).

Opening ``/r/<room>`` still starts an ad-hoc meeting in any free room: that is
the product (whoever opens an empty room hosts it), and it holds memory only
while people are in it and ``empty_meeting_ttl_seconds`` after.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from conf_server.domain import PollSpec
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.questionnaires import QuestionnaireSpec
from conf_server.errors import ConfServerError
from conf_server.settings import Settings
from signaling.client_address import address_key, client_address, parse_networks
from signaling.rate_limit import Limit, RateLimiter

from .meeting_context import MeetingBasics

#: Meetings created with a key that nobody opens are forgotten after this long.
SCHEDULED_MEETING_TTL = 7 * 24 * 3600.0
#: Anonymous creations one client address may make at once (then
#: ``anonymous_meetings_per_hour`` spread over the hour).
ANONYMOUS_BURST = 10
#: Client addresses whose anonymous-creation budget is remembered (the oldest
#: are forgotten first; each costs about 200 bytes).
MAX_TRACKED_ADDRESSES = 50_000
_ROOM_ALPHABET = "abcdefghijkmnopqrstuvwxyz"  # no "l": easy to read aloud


class RoomInUse(ConfServerError):
    code = "room_in_use"
    status = 409


class TooManyMeetings(ConfServerError):
    """The store holds ``max_meetings``: no more meetings without a key."""

    code = "too_many_meetings"
    status = 503
    retry_after = 60.0


class TooManyRequests(ConfServerError):
    """A client over a per-address limit; ``Retry-After`` says when to try again."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AnonymousCreationDisabled(ConfServerError):
    code = "unauthorized"
    status = 401


def random_room_name() -> str:
    """A readable room name such as ``kfp-wqzm-tcr`` (about 47 bits)."""
    letters = "".join(secrets.choice(_ROOM_ALPHABET) for _ in range(10))
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"


class AnonymousCreation:
    """The per-address budget of meetings created without a key."""

    def __init__(self, settings: Settings) -> None:
        per_hour = settings.anonymous_meetings_per_hour
        self._limiter = (
            RateLimiter(
                Limit(rate=per_hour / 3600.0, burst=min(ANONYMOUS_BURST, per_hour)),
                max_keys=MAX_TRACKED_ADDRESSES,
            )
            if per_hour > 0
            else None
        )
        self._trusted = parse_networks(settings.trusted_proxies)

    def admit(self, peer: str | None, forwarded_for: str | None) -> None:
        """Spend one creation of this client's budget, or raise
        :class:`AnonymousCreationDisabled` / :class:`TooManyRequests`."""
        if self._limiter is None:
            raise AnonymousCreationDisabled(
                "this server creates meetings only for API keys; open a room link instead"
            )
        address = client_address(peer, forwarded_for, self._trusted)
        wait = self._limiter.take(address_key(address))
        if wait is not None:
            raise TooManyRequests(
                f"too many meetings created from your address; try again in {wait:.0f} s",
                retry_after=wait,
            )


async def create_meeting(
    service: MeetingBasics,
    room: str | None = None,
    title: str = "",
    passcode: str | None = None,
    lobby_enabled: bool = False,
    polls: Sequence[PollSpec] = (),
    anonymous: bool = False,
    transcript: bool | None = None,
    language: str | None = None,
    questionnaires: Sequence[QuestionnaireSpec] = (),
    participation: Mapping[str, Any] | None = None,
) -> MeetingState:
    """Create a meeting ahead of time: its host is whoever opens the host
    link; draft polls and questionnaires may be prepared here. ``anonymous``: made without a key
    (random room only, the short expiry, refused at the ``max_meetings`` cap)."""
    settings = service.settings
    if anonymous and await service.store.count() >= settings.max_meetings:
        raise TooManyMeetings(
            "the server holds as many meetings as it may; try again later or open a room link"
        )
    state = MeetingState(room or random_room_name(), title=title, created_at=service.clock())
    state.access.set_passcode(passcode)
    state.access.set_lobby_enabled(lobby_enabled)
    # Checked by the caller (transcript_plan.meeting_language).
    state.transcript, state.language = transcript, language
    for poll in polls:
        state.polls.create(poll)
    for questionnaire in questionnaires:
        state.questionnaires.create(questionnaire)
    if participation is not None:  # enabled, visibility, weights (set_participation)
        state.participation.configure(**participation)
    stored, created = await service.store.create(state)
    if not created:
        raise RoomInUse(f"room {state.room!r} already has a meeting")
    ttl = settings.anonymous_meeting_ttl_seconds if anonymous else SCHEDULED_MEETING_TTL
    await service.store.expire(stored.room, ttl)
    return stored
