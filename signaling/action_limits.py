"""The limits of Socket.IO messages: one table, applied to every message.

Every message a client sends is counted twice: against a budget of its own
socket and against a budget of its client address (a whole office can sit
behind one NAT address, so address budgets are far larger). Buckets are kept
by socket id and address, never by participant: leaving and joining again does
not refill them. Each message spends from the generic ``any`` budget (unknown
events and invalid payloads too) and from the budget of its class (below).
Wrong passcodes have budgets of their own per socket, address and room
(:class:`PasscodeGuard`). The table is documented in docs/protocol.md, *Rate
limits*; ``rate_limit_scale`` multiplies every burst and rate of this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from .client_address import address_key
from .rate_limit import Limit, RateLimited, RateLimiter

T = TypeVar("T")

#: Stale buckets of vanished addresses stay until the least recently used go;
#: this bounds their memory (some 300 bytes each) per class.
MAX_ADDRESS_KEYS = 20_000
#: Sockets' buckets are forgotten when the socket closes (forget_socket).
MAX_SOCKET_KEYS = 50_000


@dataclass(frozen=True)
class ActionLimit:
    """The budget of one class of messages: per socket and per client address."""

    socket: Limit
    address: Limit


def _limit(
    socket_burst: float, socket_rate: float, address_burst: float, address_rate: float
) -> ActionLimit:
    return ActionLimit(Limit(socket_rate, socket_burst), Limit(address_rate, address_burst))


#: Budget classes: burst, then rate per second, per socket and per address.
#: The per-socket values leave room for what the reference client does
#: (ICE trickle, paging the gallery, push-to-talk style mute toggling); the
#: per-address ones for a crowd behind one NAT address (200 people voting at
#: once, 100 people each sending a burst of chat messages).
LIMITS: dict[str, ActionLimit] = {
    "any": _limit(200, 50, 10_000, 1_000),
    "join": _limit(20, 1, 600, 10),
    "publish": _limit(10, 0.5, 300, 10),
    "ice": _limit(100, 20, 4_000, 400),
    "answer": _limit(30, 5, 1_000, 100),
    "view": _limit(60, 10, 2_000, 200),
    "mute": _limit(30, 5, 600, 60),
    "hands": _limit(30, 2, 600, 40),
    "chat": _limit(10, 2, 500, 20),
    "react": _limit(15, 3, 500, 30),
    "vote": _limit(10, 2, 1_000, 50),
    "polls": _limit(30, 3, 600, 60),
    "host": _limit(30, 3, 600, 60),
    "recording": _limit(10, 1, 200, 20),
    "export": _limit(10, 1, 200, 20),
}

#: The class of every message of protocol v1 (signaling.protocol.VALIDATORS).
ACTION_CLASSES: dict[str, str] = {
    "join": "join",
    "leave": "join",
    "publish": "publish",
    "publisher_ice": "ice",
    "subscriber_ice": "ice",
    "subscriber_answer": "answer",
    "set_view": "view",
    "mute": "mute",
    "raise_hand": "hands",
    "lower_hand": "hands",
    "chat_send": "chat",
    "react": "react",
    "poll_vote": "vote",
    # A sheet is one message however many questions it answers.
    "questionnaire_answer": "vote",
    **dict.fromkeys(
        ("poll_create", "poll_edit", "poll_delete", "poll_launch", "poll_close", "poll_share"),
        "polls",
    ),
    **dict.fromkeys(
        (
            "questionnaire_create",
            "questionnaire_edit",
            "questionnaire_delete",
            "questionnaire_launch",
            "questionnaire_close",
            "questionnaire_share",
        ),
        "polls",
    ),
    **dict.fromkeys(
        (
            "lower_all_hands",
            "next_hand",
            "mute_participant",
            "mute_all",
            "unlock_microphone",
            "stop_media",
            "remove_participant",
            "set_role",
            "lock_meeting",
            "configure_meeting",
            "admit",
            "deny",
            "end_meeting",
            "spotlight",
            "mark_decision",
            "remove_decision",
        ),
        "host",
    ),
    # Each may start a caption process: as dear as starting a recording.
    "recording": "recording",
    "set_captions": "recording",
    "captions": "recording",
    # Participation points: a setting like configure_meeting; the leaderboard
    # is computed at most every 2 s per room, but each answer is some KB.
    "set_participation": "host",
    "leaderboard": "export",
    "poll_export": "export",
    "questionnaire_export": "export",
    "recording_links": "export",
}

#: Wrong passcodes: per socket, per client address, per room (on this node).
#: Successful joins spend nothing. The room budget caps an attacker with many
#: addresses; while it is empty, joins that need no passcode (resume, host
#: key, invites) still pass (see PasscodeGuard).
PASSCODE_LIMITS: dict[str, Limit] = {
    "socket": Limit(0.2, 5),
    "address": Limit(0.1, 10),
    "room": Limit(0.2, 30),
}


def scaled(limit: Limit, scale: float) -> Limit:
    """``limit`` with burst and rate multiplied by ``scale`` (burst at least 1)."""
    return Limit(limit.rate * scale, max(1.0, limit.burst * scale))


def _wait(checks: list[tuple[RateLimiter, Hashable, float]]) -> float | None:
    """The longest wait any of ``(limiter, key, cost)`` asks for, or None."""
    waits = [w for limiter, key, cost in checks if (w := limiter.check(key, cost)) is not None]
    return max(waits) if waits else None


class ActionLimiter:
    """The table above, applied: :meth:`admit` each message before handling it."""

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError("rate_limit_scale must be positive")
        self._socket = {
            name: RateLimiter(scaled(limit.socket, scale), MAX_SOCKET_KEYS)
            for name, limit in LIMITS.items()
        }
        self._address = {
            name: RateLimiter(scaled(limit.address, scale), MAX_ADDRESS_KEYS)
            for name, limit in LIMITS.items()
        }

    def admit(self, sid: str, address: str, event: object) -> None:
        """Spend one message of ``event`` for this socket and address, or raise
        :class:`RateLimited`. The generic budget pays for every message, also
        refused ones; a class budget only for messages it lets through."""
        key = address_key(address)
        self._spend("any", sid, key, "too many messages; slow down")
        name = ACTION_CLASSES.get(event) if isinstance(event, str) else None
        if name is not None:
            self._spend(name, sid, key, f"too many {event!r} messages; slow down")

    def _spend(self, name: str, sid: str, address: str, message: str) -> None:
        socket, by_address = self._socket[name], self._address[name]
        # Check both first: a socket over its own budget spends nothing of
        # its address's, so it cannot starve the others behind that address.
        wait = _wait([(socket, sid, 1.0), (by_address, address, 1.0)])
        if wait is not None:
            raise RateLimited(message, wait)
        socket.take(sid)
        by_address.take(address)

    def forget_socket(self, sid: str) -> None:
        """Drop a closed socket's buckets (a new socket starts afresh anyway;
        its address's buckets stay)."""
        for limiter in self._socket.values():
            limiter.forget(sid)


class PasscodeGuard:
    """Limits wrong passcodes per socket, client address and room.

    A join that carries a passcode is let through only while every bucket has
    a token for it and for each guess of the same key still being decided (so
    concurrent guesses cannot overrun a budget); a wrong passcode then spends
    one token of each. While a bucket is empty, the join goes on *without* the
    passcode: one that needs none (resume, host key, invite, no passcode set)
    succeeds, one that needs it is refused with ``rate_limited``, so no guess
    is ever evaluated over the limit.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self._limiters = {
            scope: RateLimiter(scaled(limit, scale), MAX_ADDRESS_KEYS)
            for scope, limit in PASSCODE_LIMITS.items()
        }
        self._pending: Counter[tuple[str, str]] = Counter()

    async def join(
        self, sid: str, address: str, room: str, join: Callable[[bool], Awaitable[T]]
    ) -> T:
        """Run ``join(with_passcode)`` under the passcode limits."""
        keys = {"socket": sid, "address": address_key(address), "room": room}
        wait = _wait(
            [
                (self._limiters[scope], key, 1.0 + self._pending[(scope, key)])
                for scope, key in keys.items()
            ]
        )
        if wait is not None:
            try:
                return await join(False)
            except Exception as exc:
                if getattr(exc, "code", None) == "wrong_passcode":
                    raise RateLimited("too many wrong passcodes; try again later", wait) from None
                raise
        pending = [(scope, key) for scope, key in keys.items()]
        self._pending.update(pending)
        wrong = False
        try:
            return await join(True)
        except Exception as exc:
            wrong = getattr(exc, "code", None) == "wrong_passcode"
            raise
        finally:
            self._pending.subtract(pending)
            for scope, key in pending:
                if self._pending[(scope, key)] <= 0:
                    del self._pending[(scope, key)]
                if wrong:
                    self._limiters[scope].take(key)

    def forget_socket(self, sid: str) -> None:
        """Drop a closed socket's bucket (its address and room buckets stay)."""
        self._limiters["socket"].forget(sid)
