"""Everyone's meeting actions: raised hands, chat, reactions and polls.

Like :mod:`conf_server.meeting.host_controls`, each handler acts for the participant of
the sending socket, checks permissions in the meeting state inside a store
transaction, and sends events only after the change is saved. See
docs/protocol.md, "Raised hands", "Chat and reactions", "Polls".
"""

from __future__ import annotations

import json
from typing import Any

from conf_server.domain import Action, Role, authorize
from conf_server.domain.errors import InvalidAction
from conf_server.domain.meeting_state import CHAT_LOG, CHAT_TRANSCRIPT, MeetingState
from conf_server.domain.polls import Poll, PollSpec

from .coalesced_sends import CoalescedSends
from .meeting_context import ActionHandler, MeetingContext
from .meeting_views import meeting_summary, personal_poll_fields, poll_view, visible_to
from .rooms import Participant
from .viewer_sends import send_to_viewers

Result = dict[str, Any] | None

#: Live poll results are sent at most this often per poll (200 people voting
#: within a second become a handful of updates, not 200 x 200 messages).
RESULTS_INTERVAL = 0.25


class Interaction:
    """Hands, chat, reactions and polls of every room on this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service
        self._coalesced = CoalescedSends(service, RESULTS_INTERVAL)

    def handlers(self) -> dict[str, ActionHandler]:
        return {
            "raise_hand": self.raise_hand,
            "lower_hand": self.lower_hand,
            "lower_all_hands": self.lower_all_hands,
            "next_hand": self.next_hand,
            "chat_send": self.chat_send,
            "react": self.react,
            "poll_create": self.poll_create,
            "poll_edit": self.poll_edit,
            "poll_delete": self.poll_delete,
            "poll_launch": self.poll_launch,
            "poll_close": self.poll_close,
            "poll_share": self.poll_share,
            "poll_vote": self.poll_vote,
            "poll_export": self.poll_export,
        }

    # -- raised hands -----------------------------------------------------------------

    async def _hands_changed(self, state: MeetingState) -> None:
        hands = state.hands.snapshot()
        await self._service.events.to_room(state.room, "hands_changed", {"hands": hands})
        self._service.note_timeline(state.room, "hands", {"hands": hands})

    async def raise_hand(self, actor: Participant) -> Result:
        # Stamped on arrival, before waiting for the store: the server's order is
        # the order in which raises reached it.
        at = self._service.clock()
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.RAISE_HAND)
            already_up = actor.id in state.hands
            position = state.hands.raise_hand(actor.id, at)
        if not already_up:
            await self._hands_changed(state)
        return {"position": position}

    async def lower_hand(self, actor: Participant, participant_id: str | None) -> Result:
        target = participant_id or actor.id
        async with self._service.store.update(actor.room) as state:
            if target == actor.id:
                authorize(state.roles, actor.id, Action.LOWER_OWN_HAND)
            else:
                authorize(state.roles, actor.id, Action.LOWER_ANY_HAND)
            lowered = state.hands.lower(target)
        if lowered:
            await self._hands_changed(state)
        return None

    async def lower_all_hands(self, actor: Participant) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.LOWER_ANY_HAND)
            lowered = state.hands.lower_all()
        if lowered:
            await self._hands_changed(state)
        return None

    async def next_hand(self, actor: Participant) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.HAND_NEXT)
            called = state.hands.next()
            if called is not None and called in state.members:
                # Participation points: calls are kept per person (identity).
                state.participation.note_call(state.members[called].identity)
        if called is not None:
            await self._hands_changed(state)
            await self._service.events.to_room(
                actor.room,
                "hand_called",
                {"participant_id": called, "name": state.name_of(called), "by": actor.name},
            )
        return {"participant_id": called}

    # -- chat and reactions -------------------------------------------------------------

    async def chat_send(self, actor: Participant, text: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.SEND_CHAT)
            message = state.chat.post(actor.id, actor.name, text, self._service.clock())
            if actor.id in state.members:  # participation points (capped per minute)
                state.participation.note_chat(state.members[actor.id].identity, message.sent_at)
            wire = message.to_dict()
            await self._service.store.append(actor.room, CHAT_LOG, wire, keep=CHAT_TRANSCRIPT)
        await self._service.events.to_room(actor.room, "chat_message", {"message": wire})
        self._service.note_timeline(actor.room, "chat.message", {"message": wire})
        member = state.members.get(actor.id)
        self._service.publisher.publish(
            "chat.message",
            {
                **meeting_summary(state),
                "message": {**wire, "user_id": member.user_id if member else None},
            },
        )
        return {"message": wire}

    async def react(self, actor: Participant, emoji: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.SEND_REACTION)
            reaction = state.reactions.react(actor.id, emoji, self._service.clock())
        await self._service.events.to_room(
            actor.room,
            "reaction",
            {"participant_id": actor.id, "emoji": reaction.emoji, "sent_at": reaction.sent_at},
        )
        return None

    # -- polls ------------------------------------------------------------------------

    async def _poll_changed(self, state: MeetingState, poll: Poll) -> None:
        """Send the poll to everyone who may see it, as each of them sees it: by
        role (drafts and live results for hosts and co-hosts) and with their own
        vote. The role's view is built once; only the personal fields differ."""
        by_role = {role: poll_view(poll, role) for role in Role if visible_to(poll, role)}
        await send_to_viewers(
            self._service,
            state,
            "poll_changed",
            "poll",
            by_role,
            lambda viewer: personal_poll_fields(poll, viewer),
        )

    def _results_moved(self, room: str, poll_id: str) -> None:
        """Coalesce result updates: one send per poll per RESULTS_INTERVAL."""
        self._coalesced.send_later((room, poll_id), lambda: self._send_results(room, poll_id))

    async def _send_results(self, room: str, poll_id: str) -> None:
        state = await self._service.store.get(room)
        if state is None:
            return
        poll = next((p for p in state.polls.polls() if p.id == poll_id), None)
        if poll is not None:
            await self._poll_changed(state, poll)

    async def poll_create(self, actor: Participant, **content: Any) -> Result:
        """``content``: the fields of a :class:`PollSpec` (signaling/meeting_messages.py)."""
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            poll = state.polls.create(PollSpec.from_dict(content))
        await self._poll_changed(state, poll)
        return {"poll": poll_view(poll, state.roles.role_of(actor.id), actor.id)}

    async def poll_edit(self, actor: Participant, poll_id: str, **content: Any) -> Result:
        """``content``: the fields of a :class:`PollSpec`, as for :meth:`poll_create`."""
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            poll = state.polls.edit(poll_id, PollSpec.from_dict(content))
        await self._poll_changed(state, poll)
        return {"poll": poll_view(poll, state.roles.role_of(actor.id), actor.id)}

    async def poll_delete(self, actor: Participant, poll_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            state.polls.delete(poll_id)
        await self._service.to_moderators(state, "poll_deleted", {"poll_id": poll_id})
        return None

    async def poll_launch(self, actor: Participant, poll_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            poll = state.polls.launch(poll_id, self._service.clock())
        await self._poll_changed(state, poll)
        self._service.note_timeline(actor.room, "poll.launched", {"poll": poll.describe()})
        return None

    async def poll_close(self, actor: Participant, poll_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            poll = state.polls.get(poll_id)
            changed = poll.close(self._service.clock())
        if changed:
            await self._poll_changed(state, poll)
            self._service.publish_poll_closed(state, poll)
        return None

    async def poll_share(self, actor: Participant, poll_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            poll = state.polls.share_results(poll_id)
        await self._poll_changed(state, poll)
        return None

    async def poll_vote(self, actor: Participant, poll_id: str, option_ids: list[str]) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.VOTE)
            poll = state.polls.vote(poll_id, actor.id, option_ids, state.is_member(actor.id))
        if self._service.moderator_sids(state) or poll.results_shared:
            self._results_moved(actor.room, poll_id)
        return {"poll": poll_view(poll, state.roles.role_of(actor.id), actor.id)}

    async def poll_export(self, actor: Participant, format: str, ballots: bool) -> Result:
        state = await self._service.store.get(actor.room)
        if state is None:
            raise InvalidAction("this meeting has no polls")
        authorize(state.roles, actor.id, Action.MANAGE_POLLS)
        stem = f"polls-{state.room}"
        if format == "json":
            export = state.polls.export()
            export["names"] = {pid: member.name for pid, member in state.members.items()}
            content = json.dumps(export, ensure_ascii=False, indent=2)
            return {
                "filename": f"{stem}.json",
                "content_type": "application/json",
                "content": content,
            }
        if ballots:
            names = {pid: member.name for pid, member in state.members.items()}
            content = state.polls.ballots_csv(names)
            stem += "-ballots"
        else:
            content = state.polls.results_csv()
        return {
            "filename": f"{stem}.csv",
            "content_type": "text/csv; charset=utf-8",
            "content": content,
        }
