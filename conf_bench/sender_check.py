"""Why receivers miss media, as the load generator's own publishers see it.

A census that finds receivers short of video or voice says *that* media is
missing, not whether the publishers stopped sending (their connection
closed, their task died, the SFU's ``publish_layers`` paused them) or the
server stopped forwarding what arrived. The generator's census also reports
each client's publishers over the same second (``BenchClient.sending``:
packets sent, packets its send path refused, the publish connection's DTLS
and ICE states, the receive connection, the signaling socket), and this turns
that into reasons a failed step prints.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: Participant indices listed per reason; the rest are counted.
MOST_LISTED = 12


def _state(sender: dict[str, Any]) -> str:
    """The connections of one client, in a few words."""
    parts = [f"publish dtls {sender['dtls']}, ice {sender['ice']}"]
    if sender["subscribe"] != "connected":
        parts.append(f"receive {sender['subscribe']}")
    if sender["signaling"] != "up":
        parts.append(f"signaling {sender['signaling']}")
    parts += [f"task ended: {failure}" for failure in sender["failures"]]
    return "; ".join(parts)


def _silent(sender: dict[str, Any]) -> list[str]:
    """What of a client's publishers sent nothing over the census interval."""
    return [
        name
        for name, key in (("camera", "camera_sent"), ("microphone", "voice_sent"))
        if sender.get(key) == 0
    ]


def _participants(count: int) -> str:
    return f"{count} participant" + ("" if count == 1 else "s")


def _listed(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in sorted(indices)[:MOST_LISTED])
    more = len(indices) - MOST_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def sender_problems(
    senders: list[dict[str, Any]], index_of: dict[str, int], seconds: float
) -> list[str]:
    """Reasons, grouped: publishers that sent nothing over the census's
    ``seconds`` (with the state of their connections), refused sends, and
    clients whose connections are down although they sent."""
    silent: dict[tuple[str, str], list[int]] = defaultdict(list)
    refused: list[int] = []
    unwell: dict[str, list[int]] = defaultdict(list)
    for sender in senders:
        index = index_of.get(sender["participant_id"])
        if index is None:
            continue
        quiet = _silent(sender)
        state = _state(sender)
        if quiet:
            silent[(" and ".join(quiet), state)].append(index)
        elif sender["dtls"] not in (None, "connected") or "; " in state:
            unwell[state].append(index)
        if sender.get("refused"):
            refused.append(index)
    reasons = [
        f"load generator: the {what} of {_participants(len(indices))} sent nothing "
        f"in {seconds:g} s ({state}): {_listed(indices)}"
        for (what, state), indices in sorted(silent.items(), key=lambda kv: -len(kv[1]))
    ]
    reasons += [
        f"load generator: {_participants(len(indices))} {state}: {_listed(indices)}"
        for state, indices in sorted(unwell.items(), key=lambda kv: -len(kv[1]))
    ]
    if refused:
        reasons.append(
            f"load generator: the send path refused packets of {_participants(len(refused))} "
            f"(not connected or a full socket): {_listed(refused)}"
        )
    return reasons
