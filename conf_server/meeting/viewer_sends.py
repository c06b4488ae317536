"""Send one object to everyone in a room, as each of them sees it.

Polls and questionnaires look different by role (drafts and live results for
hosts and co-hosts) and carry each viewer's own fields (their vote, their
answers). The role's view is built once by the caller; only the personal
fields are added per viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conf_server.domain import Role
from conf_server.domain.meeting_state import MeetingState

from .meeting_context import RoomView


async def send_to_viewers(
    service: RoomView,
    state: MeetingState,
    event: str,
    field: str,
    by_role: dict[Role, dict[str, Any]],
    personal: Callable[[str], dict[str, Any]],
) -> None:
    """``event`` with ``{field: view}`` to every connected participant whose
    role has a view in ``by_role``, the view merged with ``personal(id)``."""
    for participant in service.participants(state.room):
        view = by_role.get(state.roles.role_of(participant.id))
        if participant.sid is not None and view is not None:
            payload = {field: {**view, **personal(participant.id)}}
            await service.events.to_client(participant.sid, event, payload)
